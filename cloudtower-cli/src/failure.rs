//! Why a command failed, and the exit code that tells it (documented in `--help`).

use std::error::Error as _;
use std::fmt;
use std::process::ExitCode;

use cloudtower_api::error::{ConstructionError, ErrorKind, WorkflowError};
use cloudtower_api::TaskFailure;

/// Exit codes: 0 success.
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_AUTH: u8 = 3;
pub const EXIT_NOT_FOUND: u8 = 4;

/// The help text's list of exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  the call or one of its tasks failed (the tower's error code and message are printed)
  2  bad usage or an invalid request: nothing was sent
  3  not signed in, or the tower refused the credentials (run `cloudtower login`)
  4  no resource matches the id, local id or name given";

#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or a request that does not fit the operation: nothing was sent.
    Usage(String),
    /// No usable credentials, or the tower refused them.
    Auth(String),
    /// The call failed.
    Api(cloudtower_api::Error),
    /// Tasks ended without success (each printed with its error code and message).
    Tasks(Vec<TaskFailure>),
    /// Anything else (local files, the terminal).
    Other(String),
    /// A failure about one field of a request (a `*_id` that names nothing).
    At {
        /// The field's JSON pointer in the request.
        pointer: String,
        failure: Box<Failure>,
    },
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        if let Failure::At { failure, .. } = self {
            return failure.exit_code();
        }
        ExitCode::from(match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Auth(_) => EXIT_AUTH,
            Failure::Api(error) if error.is_unauthorized() => EXIT_AUTH,
            Failure::Api(error) => match error.kind() {
                ErrorKind::Workflow(WorkflowError::NotFound { .. }) => EXIT_NOT_FOUND,
                ErrorKind::Construction(
                    ConstructionError::InvalidRequest { .. } | ConstructionError::Encode { .. },
                )
                | ErrorKind::Workflow(WorkflowError::Ambiguous { .. }) => EXIT_USAGE,
                _ => EXIT_FAILED,
            },
            Failure::Tasks(_) | Failure::Other(_) | Failure::At { .. } => EXIT_FAILED,
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message) | Failure::Auth(message) | Failure::Other(message) => {
                f.write_str(message)
            }
            Failure::Api(error) => write_chain(f, error),
            Failure::At { pointer, failure } => write!(f, "at `{pointer}`: {failure}"),
            Failure::Tasks(failures) => {
                for (i, failure) in failures.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{failure}")?;
                }
                Ok(())
            }
        }
    }
}

/// An error and its causes, each cause only when its text adds something to what was
/// printed before it (errors that embed their source in their own message are common).
fn write_chain(f: &mut fmt::Formatter<'_>, error: &cloudtower_api::Error) -> fmt::Result {
    let mut printed = error.to_string();
    f.write_str(&printed)?;
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !printed.contains(&text) {
            write!(f, "\n  caused by: {text}")?;
            printed.push_str(&text);
        }
        source = cause.source();
    }
    Ok(())
}

impl From<cloudtower_api::Error> for Failure {
    fn from(error: cloudtower_api::Error) -> Self {
        match error.into_task_failure() {
            Ok(failure) => Failure::Tasks(vec![failure]),
            Err(other) => Failure::Api(other),
        }
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;
