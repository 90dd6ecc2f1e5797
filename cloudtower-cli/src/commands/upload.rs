//! `cloudtower elf-image upload FILE --cluster …`: an ISO or disk image uploaded in chunks
//! (the SDK's `upload` helper; compiled only where the regenerated crate has it,
//! `cloudtower_api::cfg_upload_helper!`).

use std::path::PathBuf;

use clap::{value_parser, Arg, ArgMatches, Command};
use cloudtower_schema::ResourceSchema;
use serde_json::json;

use crate::context::Context;
use crate::failure::{Failure, Result};
use crate::output::Format;
use crate::schema::api;
use crate::selection::resolve_one;

pub const NAME: &str = "upload";

flag_ids! {
    FILE = "file";
    CLUSTER = "cluster";
    IMAGE_NAME = "name";
    DESCRIPTION = "description";
}

/// Images are uploaded.
pub fn offered(resource: &ResourceSchema) -> bool {
    resource.name == "ElfImage"
}

pub fn command(module: &str, _resource: &'static ResourceSchema) -> Command {
    Command::new(NAME)
        .about("Upload an ISO or disk image in chunks (upload-elf-image)")
        .after_help(format!(
            "Examples:\n  cloudtower {module} upload ubuntu.iso --cluster CLUSTER"
        ))
        .args([
            Arg::new(FILE)
                .required(true)
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("The image file"),
            Arg::new(CLUSTER)
                .long(CLUSTER)
                .required(true)
                .value_name("ID|LOCAL_ID|NAME")
                .help("The cluster to upload to"),
            Arg::new(IMAGE_NAME)
                .long(IMAGE_NAME)
                .value_name("NAME")
                .help("The image's name [default: the file name]"),
            Arg::new(DESCRIPTION)
                .long(DESCRIPTION)
                .value_name("TEXT"),
        ])
}

pub struct Options {
    pub file: PathBuf,
    pub cluster: String,
    pub name: Option<String>,
    pub description: Option<String>,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            file: matches.get_one::<PathBuf>(FILE).expect("required").clone(),
            cluster: matches.get_one::<String>(CLUSTER).expect("required").clone(),
            name: matches.get_one::<String>(IMAGE_NAME).cloned(),
            description: matches.get_one::<String>(DESCRIPTION).cloned(),
        }
    }
}

pub async fn run(
    context: &mut Context,
    _resource: &'static ResourceSchema,
    options: Options,
) -> Result<()> {
    let path = &options.file;
    let clusters = api()
        .resource("Cluster")
        .ok_or_else(|| Failure::Other("this spec lists no clusters".into()))?;
    let cluster = resolve_one(context, clusters, &options.cluster).await?;
    let client = context.client().await?;
    let name = options.name.clone().unwrap_or_else(|| {
        path.file_name()
            .map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned())
    });
    let size = std::fs::metadata(path)
        .map_err(|error| Failure::Usage(format!("{}: {error}", path.display())))?
        .len();
    let bar = indicatif::ProgressBar::new(size);
    let progress = bar.clone();
    let mut upload = cloudtower_api::upload::ElfImageUpload::new(cluster.id(), name)
        .wait(context.wait.timeout, std::time::Duration::from_secs(1))
        .on_progress(move |p| progress.set_position(p.sent));
    if let Some(description) = &options.description {
        upload = upload.description(description.clone());
    }
    let task = client.upload_elf_image_file(path, upload).await;
    bar.finish_and_clear();
    let task = task.map_err(|e| context.failure(e))?;
    let value = json!({ "id": task.id, "status": task.status.to_string() });
    let format = context.format_or(Format::Table);
    context.printer.print(&value, &format, None)
}
