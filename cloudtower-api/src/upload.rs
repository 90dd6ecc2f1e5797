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
    CancelUploadTaskParams, CreateElfImageRequestBody, GetUploadTasksRequestBody, UploadTask,
    UploadTaskStatus, UploadTaskWhereInput,
};
use crate::{Client, Error, FilePart};

/// The default chunk size: 8 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 8 * 1024 * 1024;

/// The default time one chunk's request may take: 10 min, an 8 MiB chunk at about
/// 110 kbit/s. The client's own timeout (60 s by default) is meant for API calls, not for
/// sending megabytes.
pub const DEFAULT_CHUNK_TIMEOUT: Duration = Duration::from_secs(600);

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
    chunk_timeout: Duration,
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
            .field("chunk_timeout", &self.chunk_timeout)
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
            chunk_timeout: DEFAULT_CHUNK_TIMEOUT,
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

    /// How long one chunk's request may take, from connecting to the tower's answer (default
    /// [`DEFAULT_CHUNK_TIMEOUT`]); it replaces the client's timeout for the chunks.
    pub fn chunk_timeout(mut self, timeout: Duration) -> Self {
        self.chunk_timeout = timeout;
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
        let io = |what: &str, source| Error::io(format!("cannot {what} {}", path.display()), source);
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| io("open", e))?;
        let size = file.metadata().await.map_err(|e| io("read", e))?.len();
        self.upload_elf_image(file, size, upload).await
    }

    /// Uploads `size` bytes from `reader` as an ELF image, chunk after chunk, threading the
    /// upload task's id through the requests; then waits until the tower has finished the
    /// upload task and returns it (`SUCCESSED`).
    ///
    /// A chunk that fails is not sent again (uploads are mutations, and the tower may have
    /// taken it); the error ends the upload, and the upload task, if one was started, is
    /// cancelled (`cancel-upload-task`, best effort) so that it does not linger on the tower:
    /// also when the wait for it times out, and when this future is dropped before it ends
    /// (the cancel is then spawned on the current tokio runtime).
    /// A reader that fails or ends before `size` bytes is an [`IoError`](crate::error::IoError). A `FAILED`
    /// upload task is an [`WorkflowError::Task`](crate::error::WorkflowError::Task).
    pub async fn upload_elf_image<R: AsyncRead + Unpin + Send>(
        &self,
        reader: R,
        size: u64,
        upload: ElfImageUpload,
    ) -> Result<UploadTask, Error> {
        let mut started = CancelOnDrop {
            client: self.clone(),
            task_id: None,
        };
        let result = self
            .send_chunks(reader, size, upload, &mut started.task_id)
            .await;
        let task_id = started.task_id.take();
        if let (Err(error), Some(task_id)) = (&result, task_id) {
            // A task that FAILED has nothing left to cancel.
            let failed = error
                .task_failure()
                .is_some_and(|f| f.kind == TaskFailureKind::Failed);
            if !failed {
                self.cancel_upload(task_id).await;
            }
        }
        result
    }

    /// Cancels an upload task that will never get its remaining chunks.
    async fn cancel_upload(&self, task_id: String) {
        #[allow(clippy::needless_update)]
        let params = CancelUploadTaskParams {
            r#where: UploadTaskWhereInput {
                id: task_id.clone().into(),
                ..Default::default()
            },
            ..Default::default()
        };
        if let Err(error) = self.cancel_upload_task(&params).await {
            tracing::warn!(%error, task_id, "cancelling the failed upload's task failed");
        }
    }

    /// The chunks of [`Client::upload_elf_image`], then the wait; `started` receives the upload
    /// task's id as soon as the tower gives one.
    async fn send_chunks<R: AsyncRead + Unpin + Send>(
        &self,
        mut reader: R,
        size: u64,
        mut upload: ElfImageUpload,
        started: &mut Option<String>,
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
        let chunk_client = self.with_timeout(upload.chunk_timeout);
        for chunk in 0..chunks {
            let len = chunk_size.min(size - sent) as usize;
            // A fresh buffer per chunk, handed over as `Bytes` without a copy.
            let mut buffer = vec![0; len];
            reader
                .read_exact(&mut buffer)
                .await
                .map_err(|source| {
                    Error::io(
                        format!("cannot read the upload source after {sent} of {size} bytes"),
                        source,
                    )
                })?;
            let first = task.is_none();
            // Fields a newer spec adds keep their defaults (codegen/src/helpers.rs).
            #[allow(clippy::needless_update)]
            let body = CreateElfImageRequestBody {
                file: FilePart::new(file_name.clone(), buffer),
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
                ..Default::default()
            };
            let answers = chunk_client.create_elf_image(&body).await?;
            let answer = this_upload(answers, started.as_deref(), chunk + 1)?;
            started.get_or_insert_with(|| answer.id.clone());
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
        let deadline = cloudtower_runtime::time::deadline_after(started, timeout);
        loop {
            match task.status {
                UploadTaskStatus::Successed => return Ok(task),
                UploadTaskStatus::Failed => {
                    return Err(upload_failure(TaskFailureKind::Failed, task))
                }
                _ if Instant::now() >= deadline => {
                    return Err(upload_failure(TaskFailureKind::TimedOut, task))
                }
                _ => {}
            }
            tokio::time::sleep(poll_interval.min(deadline - Instant::now())).await;
            let request = GetUploadTasksRequestBody {
                r#where: UploadTaskWhereInput {
                    id: task.id.clone().into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            };
            // The timeout bounds a poll in flight too.
            let Ok(polled) = tokio::time::timeout_at(deadline, self.get_upload_tasks(&request)).await
            else {
                return Err(upload_failure(TaskFailureKind::TimedOut, task));
            };
            match polled {
                Ok(found) => match found.into_iter().find(|found| found.id == task.id) {
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

/// Cancels the upload task when the upload's future is dropped before it ended.
struct CancelOnDrop {
    client: Client,
    // The upload task started, until the upload ends.
    task_id: Option<String>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(task_id) = self.task_id.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let client = self.client.clone();
                runtime.spawn(async move { client.cancel_upload(task_id).await });
            }
            Err(_) => {
                tracing::warn!(task_id, "upload dropped outside a tokio runtime; its task stays");
            }
        }
    }
}

/// The upload task of this upload in a chunk's answer: the one with the id of the first
/// chunk's task (`started`), or for the first chunk the first one the tower names.
fn this_upload(
    answers: Vec<UploadTask>,
    started: Option<&str>,
    chunk: u64,
) -> Result<UploadTask, Error> {
    let ids: Vec<String> = answers.iter().map(|task| task.id.clone()).collect();
    let found = answers.into_iter().find(|task| match started {
        Some(started) => task.id == started,
        None => !task.id.is_empty(),
    });
    found.ok_or_else(|| {
        let reason = match started {
            Some(started) => format!(
                "the tower answered chunk {chunk} with upload task(s) {ids:?}, not this \
                 upload's {started:?}"
            ),
            None => "the tower answered the first chunk with no upload task".into(),
        };
        Error::protocol("upload-elf-image", reason)
    })
}

fn upload_failure(kind: TaskFailureKind, task: UploadTask) -> Error {
    let mut failure = TaskFailure::new(kind, task.id.clone());
    failure.status = Some(task.status.as_str().to_owned());
    failure.error_message = task
        .args
        .get("error")
        .and_then(|e| e.as_str())
        .map(str::to_owned);
    failure.into()
}
