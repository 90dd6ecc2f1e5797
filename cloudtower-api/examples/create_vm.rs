//! Creating VMs: a blank VM with a new volume, a CD-ROM and a NIC; then a VM from a
//! content-library template, configured by cloud-init.
//!
//! ```sh
//! cargo run -p cloudtower-api --example create_vm          # embedded mock tower
//! cargo run -p cloudtower-api --example create_vm -- --endpoint https://tower.example.com \
//!     --username admin --password '…' --cluster cluster-1 --template ubuntu-cloud
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use cloudtower_api::models::{
    Bus, ByteUnit, ContentLibraryVmTemplateWhereInput, ElfImageWhereInput,
    GetContentLibraryVmTemplatesRequestBody, GetElfImagesRequestBody, MountNewCreateDisksParams,
    MountNewCreateDisksParamsVmVolume, TemplateCloudInit, VmCdRomParams,
    VmCreateVmFromContentLibraryTemplateParams, VmCreationParams, VmDiskParams, VmFirmware,
    VmNicParams, VmStatus, VmVolumeElfStoragePolicyType,
};
use cloudtower_api::WaitForTasks;
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Create a blank VM and a VM from a cloud-init template")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The cluster to create the VMs in (default: the first one).
    #[arg(long)]
    cluster: Option<String>,
    /// The content-library template (default: the first that supports cloud-init).
    #[arg(long)]
    template: Option<String>,
    /// Prefix of the new VMs' names.
    #[arg(long, default_value = "sdk-example")]
    prefix: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(create(args))
}

async fn create(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;

    step("finding a cluster, a VM network and an ISO image");
    let cluster = common::find_cluster(client, args.cluster.as_deref()).await?;
    let vlan = common::find_vm_network(client).await?;
    let image = client
        .get_elf_images(&GetElfImagesRequestBody {
            r#where: ElfImageWhereInput {
                name_ends_with: ".iso".into(),
                ..Default::default()
            }
            .into(),
            first: 1.into(),
            ..Default::default()
        })
        .await?
        .into_iter()
        .next();
    detail(format!("cluster {} ({})", cluster.name, cluster.id));
    detail(format!("network {} ({})", vlan.name, vlan.id));
    detail(match &image {
        Some(image) => format!("ISO {} ({})", image.name, image.id),
        None => "no ISO image: the CD-ROM stays empty".to_owned(),
    });

    let name = format!("{}-blank", args.prefix);
    step(format!(
        "creating blank VM {name:?}: 2 vCPU, 4 GiB, a 20 GiB volume, a CD-ROM, a NIC"
    ));
    // `new` takes every field the spec requires, in the spec's order; the optional ones are
    // set with struct update syntax.
    let volume = MountNewCreateDisksParamsVmVolume {
        size_unit: Some(ByteUnit::Gb),
        elf_replica_storage_policy: Some(VmVolumeElfStoragePolicyType::Replica2ThinProvision),
        ..MountNewCreateDisksParamsVmVolume::new(
            20, // size
            format!("{name}-disk-0"),
        )
    };
    let disks = VmDiskParams {
        mount_new_create_disks: Some(vec![MountNewCreateDisksParams::new(volume, Bus::Virtio, 0)]),
        mount_cd_roms: Some(vec![VmCdRomParams {
            elf_image_id: image.as_ref().map(|i| i.id.clone()),
            ..VmCdRomParams::new(1) // boot order
        }]),
        ..Default::default()
    };
    let nics = vec![VmNicParams {
        connect_vlan_id: Some(vlan.id.clone()),
        enabled: Some(true),
        ..Default::default()
    }];
    let params = VmCreationParams {
        description: Some("created by the cloudtower-rs create_vm example".into()),
        vcpu: Some(2),
        memory_unit: Some(ByteUnit::Gb),
        ..VmCreationParams::new(
            VmStatus::Stopped,
            VmFirmware::Bios,
            true, // ha
            nics,
            disks,
            4, // memory (GiB, memory_unit)
            2, // cpu_cores
            1, // cpu_sockets
            name.clone(),
            cluster.id.clone(),
        )
    };
    let created = client.create_vm(&[params]).await?;
    step("waiting for the creation task");
    let vm = created
        .wait_with(client, session.wait.clone())
        .await?
        .into_iter()
        .next()
        .ok_or("the tower answered with no VM")?;
    let vm = common::reload_vm(client, &vm.id).await?;
    detail(format!(
        "{} ({}): {}, {} disk(s)/CD-ROM(s), {} NIC(s)",
        vm.name,
        vm.id,
        vm.status,
        vm.vm_disks.as_ref().map_or(0, Vec::len),
        vm.vm_nics.as_ref().map_or(0, Vec::len)
    ));

    step("finding a content-library template that supports cloud-init");
    let mut filter = ContentLibraryVmTemplateWhereInput {
        cloud_init_supported: true.into(),
        ..Default::default()
    };
    if let Some(template) = &args.template {
        filter.name = template.as_str().into();
    }
    let template = client
        .get_content_library_vm_templates(&GetContentLibraryVmTemplatesRequestBody {
            r#where: filter.into(),
            first: 1.into(),
            ..Default::default()
        })
        .await?
        .into_iter()
        .next()
        .ok_or("no content-library template supports cloud-init")?;
    detail(format!("template {} ({})", template.name, template.id));

    let name = format!("{}-cloud-init", args.prefix);
    step(format!(
        "creating VM {name:?} from the template, with cloud-init"
    ));
    let params = VmCreateVmFromContentLibraryTemplateParams {
        status: Some(VmStatus::Running),
        cloud_init: Some(TemplateCloudInit {
            hostname: Some(name.clone()),
            default_user_password: Some("change-me".into()),
            nameservers: Some(vec!["192.0.2.53".into()]),
            ..Default::default()
        }),
        vm_nics: Some(vec![VmNicParams {
            connect_vlan_id: Some(vlan.id.clone()),
            ..Default::default()
        }]),
        ..VmCreateVmFromContentLibraryTemplateParams::new(
            false, // is_full_copy
            template.id.clone(),
            name.clone(),
            cluster.id.clone(),
        )
    };
    let created = client
        .create_vm_from_content_library_template(&[params])
        .await?;
    step("waiting for the creation task");
    let vm = created
        .wait_with(client, session.wait.clone())
        .await?
        .into_iter()
        .next()
        .ok_or("the tower answered with no VM")?;
    let vm = common::reload_vm(client, &vm.id).await?;
    detail(format!(
        "{} ({}): {}, hostname {}, {} vCPU, {}",
        vm.name,
        vm.id,
        vm.status,
        vm.hostname.as_deref().unwrap_or("(not reported yet)"),
        vm.vcpu,
        common::gib(vm.memory)
    ));
    Ok(())
}
