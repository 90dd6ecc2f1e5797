//! What every command shares while it runs: the connection options, the output, how to wait
//! for tasks and, once connected, the client.

use cloudtower_api::{Client, WaitOptions};

use crate::failure::{Failure, Result};
use crate::output::{Format, Printer};
use crate::session::{self, Global};

/// What every command shares: the options, the output and, once connected, the client.
pub struct Context {
    pub global: Global,
    pub printer: Printer,
    /// `-o`, when given.
    pub format: Option<Format>,
    pub no_wait: bool,
    pub wait: WaitOptions,
    client: Option<Client>,
}

impl Context {
    /// A context for one command of the command line, not yet connected.
    pub fn new(
        global: Global,
        printer: Printer,
        format: Option<Format>,
        no_wait: bool,
        wait: WaitOptions,
    ) -> Context {
        Context {
            global,
            printer,
            format,
            no_wait,
            wait,
            client: None,
        }
    }

    /// A context for one call of a long-running server (`cloudtower mcp`) that is already
    /// connected: it prints nothing and never waits on its own.
    pub fn connected(global: Global, client: Client, wait: WaitOptions) -> Context {
        Context {
            global,
            printer: Printer::stdout(true),
            format: None,
            no_wait: true,
            wait,
            client: Some(client),
        }
    }

    /// The client, signed in on first use.
    pub async fn client(&mut self) -> Result<Client> {
        if self.client.is_none() {
            self.client = Some(session::connect(&self.global).await?);
        }
        Ok(self.client.clone().expect("just connected"))
    }

    /// `-o`, else `default`.
    pub fn format_or(&self, default: Format) -> Format {
        self.format.clone().unwrap_or(default)
    }

    /// A failed call as the user should read it (a refused stored session says what to do).
    pub fn failure(&self, error: cloudtower_api::Error) -> Failure {
        session::session_refused(&self.global, error)
    }
}
