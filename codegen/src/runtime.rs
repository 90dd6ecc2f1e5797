//! The one table of what generated code needs from the hand-written runtime crate
//! (`cloudtower-runtime`): every runtime path the emitters write, the operations the runtime's
//! workflows are built on, and the helpers of `cloudtower-api` that need particular operations.
//!
//! Renaming or moving a runtime item means changing this table only.

use proc_macro2::TokenStream;
use quote::quote;

/// A runtime item that generated code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeType {
    Client,
    ClientBuilder,
    ApiRequest,
    ApiResponse,
    CallFuture,
    MultipartField,
    FilePart,
    Error,
    Nullable,
    Related,
    WithTask,
    Decode,
    Decoder,
    DecodeError,
    Encode,
    Encoder,
    DecodeFn,
    EncodeFn,
    SingleField,
    OperationInfo,
    HttpMethod,
    HeaderInfo,
    Since,
    ListRequest,
    CountRequest,
    RereadById,
    Resolve,
    ResolveKey,
    AsyncStatus,
    LoginRequest,
    PasswordLogin,
    Secret,
    TaskModel,
    TaskState,
    TaskClient,
    WaitOptions,
    /// Named by documentation links only.
    WaitForTasks,
    Language,
    UnionJson,
    UnionShape,
    DynamicCall,
    CallWithJson,
    CallWithoutBody,
    UnsupportedCall,
    TaskFailure,
    /// The macro writing `Serialize`/`Deserialize` through the codec (feature `serde`).
    ImplSerde,
}

/// The crate generated code reaches the runtime through.
pub const RUNTIME_CRATE: &str = "cloudtower_runtime";

impl RuntimeType {
    /// The item's path inside the runtime crate.
    fn path_in_crate(self) -> &'static str {
        match self {
            RuntimeType::Client => "Client",
            RuntimeType::ClientBuilder => "ClientBuilder",
            RuntimeType::ApiRequest => "ApiRequest",
            RuntimeType::ApiResponse => "ApiResponse",
            RuntimeType::CallFuture => "CallFuture",
            RuntimeType::MultipartField => "MultipartField",
            RuntimeType::FilePart => "FilePart",
            RuntimeType::Error => "Error",
            RuntimeType::Nullable => "Nullable",
            RuntimeType::Related => "Related",
            RuntimeType::WithTask => "WithTask",
            RuntimeType::Decode => "codec::Decode",
            RuntimeType::Decoder => "codec::Decoder",
            RuntimeType::DecodeError => "codec::DecodeError",
            RuntimeType::Encode => "codec::Encode",
            RuntimeType::Encoder => "codec::Encoder",
            RuntimeType::DecodeFn => "codec::decode",
            RuntimeType::EncodeFn => "codec::encode",
            RuntimeType::SingleField => "codec::SingleField",
            RuntimeType::OperationInfo => "OperationInfo",
            RuntimeType::HttpMethod => "HttpMethod",
            RuntimeType::HeaderInfo => "HeaderInfo",
            RuntimeType::Since => "Since",
            RuntimeType::ListRequest => "ListRequest",
            RuntimeType::CountRequest => "CountRequest",
            RuntimeType::RereadById => "RereadById",
            RuntimeType::Resolve => "Resolve",
            RuntimeType::ResolveKey => "ResolveKey",
            RuntimeType::AsyncStatus => "AsyncStatus",
            RuntimeType::LoginRequest => "LoginRequest",
            RuntimeType::PasswordLogin => "PasswordLogin",
            RuntimeType::Secret => "Secret",
            RuntimeType::TaskModel => "TaskModel",
            RuntimeType::TaskState => "TaskState",
            RuntimeType::TaskClient => "TaskClient",
            RuntimeType::WaitOptions => "WaitOptions",
            RuntimeType::WaitForTasks => "WaitForTasks",
            RuntimeType::Language => "Language",
            RuntimeType::UnionJson => "union::UnionJson",
            RuntimeType::UnionShape => "union::Shape",
            RuntimeType::DynamicCall => "dynamic::DynamicCall",
            RuntimeType::CallWithJson => "dynamic::call_with_json",
            RuntimeType::CallWithoutBody => "dynamic::call_without_body",
            RuntimeType::UnsupportedCall => "dynamic::unsupported",
            RuntimeType::TaskFailure => "TaskFailure",
            RuntimeType::ImplSerde => "impl_serde",
        }
    }

    /// The path an intra-doc link takes (`cloudtower_runtime::Client`), with `member`
    /// (`paginate`) appended when given.
    pub fn doc_link(self, member: Option<&str>) -> String {
        let path = format!("{RUNTIME_CRATE}::{}", self.path_in_crate());
        match member {
            Some(member) => format!("{path}::{member}"),
            None => path,
        }
    }

    /// The fully qualified path (`::cloudtower_runtime::codec::Decode`).
    pub fn path(self) -> TokenStream {
        let path = format!("::{RUNTIME_CRATE}::{}", self.path_in_crate());
        path.parse().expect("a runtime path is a valid Rust path")
    }
}

/// Where the generated types live in the crate that includes them.
pub const MODELS_PATH: &str = "crate::models";

/// [`MODELS_PATH`] as tokens.
pub fn models_path() -> TokenStream {
    MODELS_PATH
        .parse()
        .expect("the models path is a valid Rust path")
}

/// The path of the `login` operation, whose body implements `LoginRequest`.
pub const LOGIN_OPERATION: &str = "login";

/// The path of the `get-tasks` operation, whose item implements `TaskModel`.
pub const TASKS_OPERATION: &str = "get-tasks";

/// The operations (by operationId) the runtime's workflows call: compiled whatever features
/// are chosen.
pub const CONTRACT_OPERATIONS: &[&str] = &["Login", "GetTasks"];

/// How `TaskModel::state` reads a task's status value (`get-tasks`' `status` enum); any
/// other value is a task still running.
pub const TASK_STATES: &[(&str, TaskStateName)] = &[
    ("SUCCESSED", TaskStateName::Succeeded),
    ("SUCCEEDED", TaskStateName::Succeeded),
    ("FAILED", TaskStateName::Failed),
    ("PAUSED", TaskStateName::Paused),
];

/// The runtime's `TaskState` variants that [`TASK_STATES`] maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStateName {
    Succeeded,
    Failed,
    Paused,
}

impl TaskStateName {
    pub fn tokens(self) -> TokenStream {
        let state = RuntimeType::TaskState.path();
        match self {
            TaskStateName::Succeeded => quote!(#state::Succeeded),
            TaskStateName::Failed => quote!(#state::Failed),
            TaskStateName::Paused => quote!(#state::Paused),
        }
    }
}

impl quote::ToTokens for RuntimeType {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.path());
    }
}
