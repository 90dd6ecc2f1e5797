//! Uploading an ISO or disk image in chunks, with progress.
//!
//! Against the embedded mock, without `--file`, it uploads a generated 2.5 MiB file in
//! 1 MiB chunks (the last chunk is the remaining 0.5 MiB).
//!
//! ```sh
//! cargo run -p cloudtower-api --example upload_image             # embedded mock tower
//! cargo run -p cloudtower-api --example upload_image -- --file ubuntu.iso \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cloudtower_api::models::{ElfImageWhereInput, GetElfImagesRequestBody};
use cloudtower_api::upload::{ElfImageUpload, DEFAULT_CHUNK_SIZE};
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Upload an image in chunks")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The file to upload (required with --endpoint).
    #[arg(long)]
    file: Option<PathBuf>,
    /// The image's name (default: the file name).
    #[arg(long)]
    name: Option<String>,
    /// The cluster to upload to (default: the first one).
    #[arg(long)]
    cluster: Option<String>,
    /// Bytes per request (default 8 MiB; 1 MiB for the generated file).
    #[arg(long)]
    chunk_size: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(upload(args))
}

async fn upload(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;

    let (path, chunk_size, _generated) = match &args.file {
        Some(path) => (
            path.clone(),
            args.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE),
            None,
        ),
        None if session.is_mock() => {
            let dir =
                std::env::temp_dir().join(format!("cloudtower-upload-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("example-image.iso");
            let bytes: Vec<u8> = (0..(5usize << 19)).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, bytes)?;
            step(format!("no --file: generated {} (2.5 MiB)", path.display()));
            (path, args.chunk_size.unwrap_or(1 << 20), Some(TempDir(dir)))
        }
        None => return Err("--file is required with --endpoint".into()),
    };
    let name = match &args.name {
        Some(name) => name.clone(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or("the file has no name")?,
    };
    let cluster = common::find_cluster(client, args.cluster.as_deref()).await?;

    step(format!(
        "uploading {} as {name:?} to {} in chunks of {chunk_size} bytes",
        path.display(),
        cluster.name
    ));
    let upload = ElfImageUpload::new(cluster.id.clone(), name.clone())
        .description("uploaded by the cloudtower-rs upload_image example")
        .chunk_size(chunk_size)
        .wait(Duration::from_secs(600), session.wait.interval)
        .on_progress(|p| {
            detail(format!(
                "chunk {}/{}: {} of {} bytes ({:.0}%)",
                p.chunk,
                p.chunks,
                p.sent,
                p.total,
                p.sent as f64 * 100.0 / p.total as f64
            ))
        });
    let task = client.upload_elf_image_file(&path, upload).await?;
    step(format!("upload task {} ended {}", task.id, task.status));

    let images = client
        .get_elf_images(&GetElfImagesRequestBody {
            r#where: ElfImageWhereInput {
                name: name.as_str().into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?;
    let image = images.first().ok_or("the uploaded image is not listed")?;
    detail(format!(
        "image {} ({}), {} bytes",
        image.name, image.id, image.size
    ));
    Ok(())
}

/// Removes the generated file's directory when the example ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
