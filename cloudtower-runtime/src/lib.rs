//! The hand-written runtime of [`cloudtower-api`](https://docs.rs/cloudtower-api): the client
//! and its transport, authentication, task waits, pagination, errors and the JSON codec.
//!
//! # The contract with generated code
//!
//! CloudTower fleets run many versions at once, and each version's crate is generated from
//! that version's spec. This crate is the part that stays the same: it names **no generated
//! type, field or variant**. That is checked by the compiler, since this crate cannot see the
//! generated code at all. The generated code plugs in through these traits, which the
//! generator implements from what the spec says:
//!
//! | trait | implemented for | what the runtime does with it |
//! |---|---|---|
//! | [`codec::Decode`], [`codec::Encode`] | every generated type, in the direction it is used | decode answers, encode requests |
//! | `serde::{Serialize, Deserialize}` (feature `serde`) | every generated type with a codec, through `impl_serde!` | `serde_bridge`: any serde format, through the codec |
//! | [`LoginRequest`] | the `login` operation's body | [`Client::sign_in_with`]: log in and again after a 401 |
//! | [`TaskModel`] | the `get-tasks` item | [`Client::wait_tasks_as`], [`WaitForTasks`] |
//! | [`ListRequest`] | every list operation's body (`first`/`after` paging, items with an `id`) | [`Client::paginate`] |
//! | [`CountRequest`] | list bodies whose module has a `*-connection` operation | [`Client::count`] |
//! | [`RereadById`] | one list item type per resource | [`Client::reread`] |
//! | [`Resolve`] | the re-read item types whose filter has `id`, `local_id` and/or `name` | [`Client::resolve`]: one resource by id, local id or name |
//! | [`AsyncStatus`] | the re-read item types with an `entityAsyncStatus` | [`Client::wait_until_idle`] |
//! | [`TaskClient`] | the generated client | [`WaitForTasks::wait`] on any mutation's answer |
//!
//! The workflow traits ([`ListRequest`], [`CountRequest`], [`RereadById`], [`Resolve`],
//! [`AsyncStatus`]) have a `DynamicType`, given to the functions that name the resource or
//! build its request: `()` for generated types, whose type says it all, and a value for a
//! resource known only at run time (the command line's, read from the API table), given to
//! the client's `*_with` methods ([`Client::resolve_with`], [`Client::reread_with`],
//! [`Client::paginate_with`], [`Client::count_with`], [`Client::wait_until_idle_with`]).
//!
//! Every request the generated methods send is an [`ApiRequest`] that says whether the
//! operation is a read ([`ApiRequest::is_read`]: only reads are retried) and whether it is
//! sent without credentials. The generated code reaches this crate only through one table of
//! paths in the generator (`codegen/src/runtime.rs`), so a runtime item is renamed in one
//! place. Helpers built on operations that a spec may lack (VNC, uploads, watching changes)
//! live in `cloudtower-api` behind cfg macros that the generator emits only when the spec has
//! those operations: an older spec compiles them out instead of breaking them.

// docs.rs (`--cfg docsrs`, nightly) labels feature-gated items with their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod client;
pub mod codec;
pub mod contract;
pub mod dynamic;
pub mod error;
pub mod idle;
pub mod pagination;
pub mod resolve;
#[cfg(feature = "serde")]
pub mod serde_bridge;
pub mod tasks;
pub mod time;
pub mod union;

pub use auth::PasswordLogin;
pub use client::{
    ApiRequest, ApiResponse, Authenticator, BoxError, CallFuture, Client, ClientBuilder,
    EndpointAnswer, EndpointHealth, FailoverStrategy, FilePart, HttpService, Language, LockedRetry,
    MultipartField, RetryPolicy, Secret, ServerVersion,
};
pub use codec::{Nullable, Related, WithTask};
pub use contract::{
    find_operation, HeaderInfo, HttpMethod, LoginRequest, OperationInfo, Since, TaskClient,
    TaskModel, TaskState,
};
pub use error::{
    Context, Error, ErrorBody, ErrorKind, LockedResource, RawBody, TaskFailure, TaskFailureKind,
    TransportError,
};
pub use idle::AsyncStatus;
pub use pagination::{CountRequest, ListRequest, Paginator, RereadById};
pub use resolve::{Resolve, ResolveKey};
#[cfg(feature = "serde")]
pub use serde_bridge::{from_value, to_value};
pub use tasks::{OnPaused, WaitForTasks, WaitOptions, WaitProgress};
