//! Plumbing shared by the examples: connecting to a real tower (`--endpoint`, `--username`,
//! `--password`, or `CLOUDTOWER_ENDPOINT`/`_USERNAME`/`_PASSWORD`; both endpoints of an
//! active/passive pair as `--endpoint A --endpoint B` or `CLOUDTOWER_ENDPOINT=A,B`) or,
//! without an endpoint, to an embedded `cloudtower-mock` tower; printing steps; a few lookups.
#![allow(dead_code)] // each example uses its own part of these helpers

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use cloudtower_api::models::{
    Cluster, GetClustersRequestBody, GetVlansRequestBody, GetVmsRequestBody, NetworkType, Vlan,
    VlanWhereInput, Vm, VmWhereInput,
};
use cloudtower_api::{Client, PasswordLogin, WaitOptions};
use cloudtower_mock::{MockTower, MOCK_PASSWORD, MOCK_USERNAME};

pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where to run: a real tower, or an embedded mock when no endpoint is given.
#[derive(clap::Args, Clone, Debug)]
pub struct Connection {
    /// CloudTower endpoint (`https://tower.example.com`); give it twice (or comma-separated)
    /// for the two towers of an active/passive pair. Without it the example starts an
    /// embedded mock tower and runs against that.
    #[arg(long, env = "CLOUDTOWER_ENDPOINT", value_delimiter = ',')]
    pub endpoint: Vec<String>,
    /// Username on the tower (a LOCAL user).
    #[arg(long, env = "CLOUDTOWER_USERNAME", default_value = "")]
    pub username: String,
    /// Password of that user.
    #[arg(
        long,
        env = "CLOUDTOWER_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub password: String,
    /// Accept the tower's certificate even if it is self-signed.
    #[arg(long)]
    pub insecure: bool,
}

/// A signed-in client, and the mock tower behind it when there is one.
pub struct Session {
    pub client: Client,
    /// How to wait for tasks (quick polling against the mock).
    pub wait: WaitOptions,
    pub mock: Option<MockTower>,
}

impl Session {
    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }
}

/// Signs in to the tower of `connection`, or starts a mock tower and signs in to it.
pub async fn connect(connection: &Connection) -> Result<Session> {
    match connection.endpoint.split_first() {
        Some((endpoint, others)) => {
            if connection.username.is_empty() {
                return Err(
                    "--username (or CLOUDTOWER_USERNAME) is required with --endpoint".into(),
                );
            }
            step(format!(
                "signing in to {} as {}",
                connection.endpoint.join(" / "),
                connection.username
            ));
            let client = others
                .iter()
                .fold(Client::builder(endpoint.as_str()), |builder, other| {
                    builder.endpoint(other.as_str())
                })
                .danger_accept_invalid_certs(connection.insecure)
                .build()?;
            client
                .sign_in(PasswordLogin::new(
                    connection.username.as_str(),
                    connection.password.as_str(),
                ))
                .await?;
            detail(format!(
                "active endpoint {}, CloudTower {}",
                client.active_endpoint().unwrap_or("unknown"),
                client
                    .server_version()
                    .map_or("of unknown version".to_owned(), |v| v.to_string())
            ));
            Ok(Session {
                client,
                wait: WaitOptions::default(),
                mock: None,
            })
        }
        None => {
            let tower = MockTower::start().await?;
            step(format!(
                "no --endpoint given: started an embedded mock CloudTower at {}",
                tower.url()
            ));
            step(format!("signing in as {MOCK_USERNAME}"));
            let client = Client::new(&tower.url())?;
            client
                .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
                .await?;
            Ok(Session {
                client,
                wait: WaitOptions {
                    interval: Duration::from_millis(100),
                    backoff: 1.0,
                    ..WaitOptions::default()
                },
                mock: Some(tower),
            })
        }
    }
}

/// Runs an example's body and turns an error into a message and exit status 1.
pub fn run<F: Future<Output = Result>>(body: F) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(()) => {
            step("done");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints one step of the workflow.
pub fn step(text: impl Display) {
    println!("==> {text}");
}

/// Prints a detail under the current step.
pub fn detail(text: impl Display) {
    println!("    {text}");
}

pub fn vm_named(name: &str) -> VmWhereInput {
    VmWhereInput {
        name: name.into(),
        ..Default::default()
    }
}

pub fn vms_with_ids(ids: &[String]) -> VmWhereInput {
    VmWhereInput {
        id_in: ids.to_vec().into(),
        ..Default::default()
    }
}

/// The VM named `name`; an error when there is none.
pub async fn find_vm(client: &Client, name: &str) -> Result<Vm> {
    let vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: vm_named(name).into(),
            first: 1.into(),
            ..Default::default()
        })
        .await?;
    vms.into_iter()
        .next()
        .ok_or_else(|| format!("no VM is named {name:?}").into())
}

/// The VM with id `id`, as it is now.
pub async fn reload_vm(client: &Client, id: &str) -> Result<Vm> {
    let vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: VmWhereInput {
                id: id.into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?;
    vms.into_iter()
        .next()
        .ok_or_else(|| format!("VM {id} is gone").into())
}

/// The first cluster (by name), or the one named `name`.
pub async fn find_cluster(client: &Client, name: Option<&str>) -> Result<Cluster> {
    let mut request = GetClustersRequestBody {
        first: 1.into(),
        ..Default::default()
    };
    if let Some(name) = name {
        request.r#where = cloudtower_api::models::ClusterWhereInput {
            name: name.into(),
            ..Default::default()
        }
        .into();
    }
    let clusters = client.get_clusters(&request).await?;
    clusters
        .into_iter()
        .next()
        .ok_or_else(|| "the tower has no cluster".into())
}

/// A VM network of `cluster` to connect NICs to.
pub async fn find_vm_network(client: &Client) -> Result<Vlan> {
    let vlans = client
        .get_vlans(&GetVlansRequestBody {
            r#where: VlanWhereInput {
                r#type: NetworkType::Vm.into(),
                ..Default::default()
            }
            .into(),
            first: 1.into(),
            ..Default::default()
        })
        .await?;
    vlans
        .into_iter()
        .next()
        .ok_or_else(|| "the tower has no VM network".into())
}

pub fn gib(bytes: i64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}
