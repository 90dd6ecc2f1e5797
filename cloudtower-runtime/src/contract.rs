//! The traits that generated code implements so that the runtime's workflows (logging in,
//! waiting for tasks) work with whatever shape a spec version gives the types involved.
//! Pagination's traits live in [`crate::pagination`]; the codec's in [`crate::codec`].

use std::fmt;
use std::future::Future;

use crate::client::{ApiRequest, ApiResponse, Client};
use crate::codec::Decode;
use crate::pagination::RereadById;
use crate::tasks::WaitOptions;
use crate::{Error, PasswordLogin, Secret};

/// One API operation, as listed in the generated `OPERATIONS` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// The spec's `operationId` (`GetVms`).
    pub operation_id: &'static str,
    /// The path under `/v2/api/` (`get-vms`).
    pub path: &'static str,
    /// The client method (`get_vms`).
    pub method: &'static str,
    /// The spec module (tag) it belongs to, in snake_case (`vm`).
    pub module: &'static str,
    /// Since which published CloudTower version it exists (from the version history the
    /// generator read, `spec/history.txt`).
    pub since: Since,
}

/// Since which CloudTower version an operation exists, as the published specs tell it.
///
/// Not every published version's spec can be obtained (1.9.0, 4.4.0, 4.4.1 and 4.5.0 cannot),
/// so an operation first seen in one version may have been added in an unobtainable version
/// before it: `last_absent` is the newest obtainable version known to lack it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Since {
    /// The oldest obtainable published version whose spec has the operation.
    pub first_seen: &'static str,
    /// The newest obtainable published version before `first_seen` whose spec lacks it;
    /// `None` when the oldest spec obtainable has it (so its real first version is unknown).
    pub last_absent: Option<&'static str>,
}

/// The body of the `login` operation: built from [`PasswordLogin`], answered with a token.
///
/// Generated from the spec's login schema: older specs require `source` and lack `mfa_type`
/// and `auth_config_id`, so only the generated code knows which fields to fill.
pub trait LoginRequest: Sized {
    /// The request for these credentials. Fails (nothing sent) when an option given to
    /// [`PasswordLogin`] has no field in this spec version.
    fn request(login: &PasswordLogin) -> Result<ApiRequest, Error>;
    /// The session token in the login's answer.
    fn token(response: ApiResponse) -> Result<Secret, Error>;
}

/// Where a task is in its life, as the runtime needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Not ended yet (pending, executing, or a status this version does not know).
    Running,
    /// Ended successfully.
    Succeeded,
    /// Ended with a failure.
    Failed,
    /// Stopped until someone resumes it.
    Paused,
}

/// An item of `get-tasks`: what a task wait reads of it.
pub trait TaskModel: RereadById + Decode + Clone + fmt::Debug + Sync {
    fn id(&self) -> &str;
    fn state(&self) -> TaskState;
    /// The status as sent (`EXECUTING`, `SUCCESSED`, …).
    fn status(&self) -> &str;
    fn progress(&self) -> Option<f64>;
    fn error_code(&self) -> Option<&str>;
    fn error_message(&self) -> Option<&str>;
}

/// A client that knows its API's task type, so that a mutation's answer can be waited for
/// with [`WaitForTasks::wait`](crate::WaitForTasks::wait). The generated client implements it.
pub trait TaskClient: Send + Sync {
    /// The task type of `get-tasks`.
    type Task: TaskModel;
    /// The runtime client underneath.
    fn runtime(&self) -> &Client;
    /// Waits until every task succeeds (see [`Client::wait_tasks_as`]).
    fn wait_for(
        &self,
        task_ids: &[String],
        options: &WaitOptions,
    ) -> impl Future<Output = Result<Vec<Self::Task>, Error>> + Send {
        self.runtime()
            .wait_tasks_as::<Self::Task>(task_ids, options)
    }
}
