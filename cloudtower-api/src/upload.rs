//! Chunked uploads of ELF images (ISOs and disk images) through `upload-elf-image`.
//!
//! CloudTower takes large files in chunks: the first request carries the total size and the
//! image's name and cluster and answers with an upload task; every later chunk names that
//! task (`upload_task_id`). [`Client::upload_elf_image_file`] and
//! [`Client::upload_elf_image`] do the whole exchange, then wait for the upload task to end.
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use cloudtower_api::upload::ElfImageUpload;
//!
//! let upload = ElfImageUpload::new("cluster-id", "ubuntu-22.04.iso")
//!     .on_progress(|p| println!("{}/{} bytes", p.sent, p.total));
//! let task = client.upload_elf_image_file("ubuntu-22.04.iso", upload).await?;
//! println!("upload task {} ended {}", task.id, task.status);
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use crate::error::{TaskFailure, TaskFailureKind};
use crate::models::{
    CreateElfImageRequestBody, GetUploadTasksRequestBody, UploadTask, UploadTaskStatus,
    UploadTaskWhereInput,
};
use crate::{Client, Error, FilePart};

/// The default chunk size: 8 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 8 * 1024 * 1024;

/// How far an upload has come, passed to the progress callback after every chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    /// Bytes sent so far.
    pub sent: u64,
    /// Bytes in all.
    pub total: u64,
    /// Chunks sent so far (1-based after the first chunk).
    pub chunk: u64,
    /// Chunks in all.
    pub chunks: u64,
}

type Progress = Box<dyn FnMut(UploadProgress) + Send>;

/// What to upload an ELF image as, and how.
#[must_use]
pub struct ElfImageUpload {
    cluster_id: String,
    name: String,
    description: Option<String>,
    chunk_size: usize,
    timeout: Duration,
    poll_interval: Duration,
    progress: Option<Progress>,
}

impl fmt::Debug for ElfImageUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElfImageUpload")
            .field("cluster_id", &self.cluster_id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("chunk_size", &self.chunk_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ElfImageUpload {
    /// An image named `name` in the cluster `cluster_id`, sent in 8 MiB chunks.
    pub fn new(cluster_id: impl Into<String>, name: impl Into<String>) -> Self {
        ElfImageUpload {
            cluster_id: cluster_id.into(),
            name: name.into(),
            description: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(1),
            progress: None,
        }
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Bytes per request (at least 1; default [`DEFAULT_CHUNK_SIZE`]). The last chunk is
    /// exactly the bytes that remain.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// How long to wait, after the last chunk, for the tower to finish the upload task
    /// (default 600 s), and how often to look (default 1 s).
    pub fn wait(mut self, timeout: Duration, poll_interval: Duration) -> Self {
        self.timeout = timeout;
        self.poll_interval = poll_interval;
        self
    }

    /// Called after every chunk the tower accepted.
    pub fn on_progress(mut self, progress: impl FnMut(UploadProgress) + Send + 'static) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }
}

impl Client {
    /// Uploads the file at `path` as an ELF image; see [`Client::upload_elf_image`].
    pub async fn upload_elf_image_file(
        &self,
        path: impl AsRef<Path>,
        upload: ElfImageUpload,
    ) -> Result<UploadTask, Error> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::config(format!("cannot open {}", path.display()), e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| Error::config(format!("cannot read {}", path.display()), e))?
            .len();
        self.upload_elf_image(file, size, upload).await
    }

    /// Uploads `size` bytes from `reader` as an ELF image, chunk after chunk, threading the
    /// upload task's id through the requests; then waits until the tower has finished the
    /// upload task and returns it (`SUCCESSED`).
    ///
    /// A chunk that fails is not sent again (uploads are mutations, and the tower may have
    /// taken it); the error ends the upload. A reader that ends before `size` bytes is an
    /// [`Error::Config`]. A `FAILED` upload task is an [`Error::Task`].
    pub async fn upload_elf_image<R: AsyncRead + Unpin + Send>(
        &self,
        mut reader: R,
        size: u64,
        mut upload: ElfImageUpload,
    ) -> Result<UploadTask, Error> {
        if size == 0 {
            return Err(Error::config(
                "cannot upload an empty image",
                "the source has no bytes",
            ));
        }
        let chunk_size = upload.chunk_size as u64;
        let chunks = size.div_ceil(chunk_size);
        let file_name = upload.name.clone();
        let mut sent = 0u64;
        let mut task: Option<UploadTask> = None;
        let mut buffer = Vec::new();
        for chunk in 0..chunks {
            let len = chunk_size.min(size - sent) as usize;
            buffer.resize(len, 0);
            reader.read_exact(&mut buffer).await.map_err(|e| {
                Error::config(
                    format!("the upload source ended after {sent} of {size} bytes"),
                    e,
                )
            })?;
            let first = task.is_none();
            let body = CreateElfImageRequestBody {
                file: FilePart::new(file_name.clone(), buffer.clone()),
                cluster_id: Some(upload.cluster_id.clone()),
                name: Some(upload.name.clone()),
                size: Some(size.to_string()),
                size_unit: Some("B".to_owned()),
                description: if first {
                    upload.description.clone()
                } else {
                    None
                },
                upload_task_id: task.as_ref().map(|t| t.id.clone()),
            };
            let answer = self.create_elf_image(&body).await?.into_iter().next();
            let Some(answer) = answer else {
                return Err(Error::config(
                    "unexpected answer to upload-elf-image",
                    "the tower answered with no upload task",
                ));
            };
            if answer.status == UploadTaskStatus::Failed {
                return Err(upload_failure(TaskFailureKind::Failed, answer));
            }
            sent += len as u64;
            task = Some(answer);
            if let Some(progress) = &mut upload.progress {
                progress(UploadProgress {
                    sent,
                    total: size,
                    chunk: chunk + 1,
                    chunks,
                });
            }
        }
        let task = task.expect("at least one chunk");
        self.wait_upload_task(task, upload.timeout, upload.poll_interval)
            .await
    }

    async fn wait_upload_task(
        &self,
        mut task: UploadTask,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<UploadTask, Error> {
        let started = Instant::now();
        loop {
            match task.status {
                UploadTaskStatus::Successed => return Ok(task),
                UploadTaskStatus::Failed => {
                    return Err(upload_failure(TaskFailureKind::Failed, task))
                }
                _ if started.elapsed() >= timeout => {
                    return Err(upload_failure(TaskFailureKind::TimedOut, task))
                }
                _ => {}
            }
            tokio::time::sleep(poll_interval.min(timeout.saturating_sub(started.elapsed()))).await;
            let request = GetUploadTasksRequestBody {
                r#where: UploadTaskWhereInput {
                    id: task.id.clone().into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            };
            match self.get_upload_tasks(&request).await {
                Ok(found) => match found.into_iter().next() {
                    Some(found) => task = found,
                    None => return Err(upload_failure(TaskFailureKind::NotFound, task)),
                },
                Err(error) if error.is_retryable() => {
                    tracing::warn!(%error, "polling the upload task failed; polling again");
                }
                Err(error) => return Err(error),
            }
        }
    }
}

fn upload_failure(kind: TaskFailureKind, task: UploadTask) -> Error {
    let mut failure = TaskFailure::new(kind, task.id.clone());
    failure.status = Some(task.status.as_str().to_owned());
    failure.error_message = task
        .args
        .get("error")
        .and_then(|e| e.as_str())
        .map(str::to_owned);
    Error::Task(Box::new(failure))
}
