//! How a wait for an asynchronous task ended without success.

use std::fmt;

/// Why waiting for an asynchronous task did not give a successful task.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskFailure {
    pub kind: TaskFailureKind,
    pub task_id: String,
    /// The last status seen (`FAILED`, `PAUSED`, `EXECUTING`, …), if the task was seen.
    pub status: Option<String>,
    /// The last progress seen, if the task was seen.
    pub progress: Option<f64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// How a task wait ended without success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskFailureKind {
    /// The task ended with status `FAILED`.
    Failed,
    /// The task is `PAUSED` and the wait was told not to wait for paused tasks.
    Paused,
    /// The tower did not know the task during the whole grace period.
    NotFound,
    /// The task had not ended when the wait's timeout ran out.
    TimedOut,
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.task_id;
        match self.kind {
            TaskFailureKind::Failed => write!(f, "task {id} failed")?,
            TaskFailureKind::Paused => write!(f, "task {id} is paused")?,
            TaskFailureKind::NotFound => write!(f, "task {id} was not found")?,
            TaskFailureKind::TimedOut => write!(
                f,
                "task {id} did not end in time (last status {}, progress {})",
                self.status.as_deref().unwrap_or("unknown"),
                self.progress.map_or("unknown".into(), |p| p.to_string()),
            )?,
        }
        match (&self.error_code, &self.error_message) {
            (Some(code), Some(message)) => write!(f, ": {code}: {message}"),
            (None, Some(text)) | (Some(text), None) => write!(f, ": {text}"),
            (None, None) => Ok(()),
        }
    }
}

impl TaskFailure {
    /// A failure of `kind` for the task `task_id`; the details of the task as last seen are
    /// filled in by whoever saw it.
    pub fn new(kind: TaskFailureKind, task_id: impl Into<String>) -> Self {
        TaskFailure {
            kind,
            task_id: task_id.into(),
            status: None,
            progress: None,
            error_code: None,
            error_message: None,
        }
    }
}
