//! The traits that generated code implements so that the runtime's workflows (logging in,
//! waiting for tasks) work with whatever shape a spec version gives the types involved.
//! Pagination's traits live in [`crate::pagination`]; the codec's in [`crate::codec`].

use std::fmt;
use std::future::Future;

use crate::client::{ApiRequest, ApiResponse, Client, MultipartField};
use crate::codec::{Decode, Encode};
pub use crate::error::Since;
use crate::pagination::RereadById;
use crate::tasks::WaitOptions;
use crate::{Error, PasswordLogin, Secret};

/// What one API operation is: the generated table (`OPERATIONS`, one `static` per operation
/// in `models::operations`) holds one per operation, and every call of it is built from it
/// ([`OperationInfo::json`] and its siblings), by the generated methods, the command line and
/// `Client::call_operation` alike. So whether a call is retried (a read), sent with
/// credentials, refused by a tower too old for it, or may carry a header parameter is decided
/// once, by the generator, for all of them.
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
    /// `POST`, or `GET` (`get-version`, `resource-changes`).
    pub http_method: HttpMethod,
    /// It changes nothing on the tower, so a transient failure may be retried.
    pub read: bool,
    /// The spec's security scheme for it (`Authorization`, `Basic`): the session's credentials
    /// go in the `Authorization` header. `None`: sent without credentials (login, version).
    pub auth: Option<&'static str>,
    /// Its header parameters besides `content-language` (`external-cloudtower-id` since
    /// CloudTower 4.8.0). Only these may be sent with it.
    pub headers: &'static [HeaderInfo],
    /// It declares the `content-language` header.
    pub content_language: bool,
}

/// The HTTP method of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// A header parameter of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeaderInfo {
    /// Lower case, as the spec names it (`external-cloudtower-id`).
    pub name: &'static str,
    /// Every call must send it.
    pub required: bool,
}

impl OperationInfo {
    /// Whether the session's credentials go with it.
    pub fn authenticated(&self) -> bool {
        self.auth.is_some()
    }

    /// Whether it takes the header parameter `name` (case-insensitive).
    pub fn takes_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// A call of it with a JSON body.
    pub fn json<T: Encode + ?Sized>(&'static self, body: &T) -> ApiRequest {
        ApiRequest::json(self.path, body).described_by(self)
    }

    /// A call of it without a body (`GET` without query parameters for a `GET` operation).
    pub fn empty(&'static self) -> ApiRequest {
        match self.http_method {
            HttpMethod::Get => self.query(Vec::new()),
            HttpMethod::Post => ApiRequest::empty(self.path).described_by(self),
        }
    }

    /// A `GET` call of it with query parameters.
    pub fn query(&'static self, query: Vec<(&'static str, String)>) -> ApiRequest {
        ApiRequest::get(self.path, query).described_by(self)
    }

    /// A call of it with a `multipart/form-data` body.
    pub fn multipart(&'static self, fields: Vec<MultipartField>) -> ApiRequest {
        ApiRequest::multipart(self.path, fields).described_by(self)
    }
}

/// The entry of `operations` (a generated `OPERATIONS` table) for `path` (`get-vms`).
pub fn find_operation(
    operations: &'static [&'static OperationInfo],
    path: &str,
) -> Option<&'static OperationInfo> {
    operations.iter().copied().find(|o| o.path == path)
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

/// An item of `get-tasks`: what a task wait reads of it. A task type is known when the code
/// is built (its [`DynamicType`](RereadById::DynamicType) is `()` in generated code).
pub trait TaskModel: RereadById<DynamicType: Default> + Decode + Clone + fmt::Debug + Sync {
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
