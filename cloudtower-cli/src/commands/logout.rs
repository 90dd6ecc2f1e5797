//! `cloudtower logout`: forget the profile's session (its endpoints stay).

use clap::Command;

use crate::context::Context;
use crate::failure::Result;
use crate::session;

pub const NAME: &str = "logout";

pub fn command() -> Command {
    Command::new(NAME).about("Forget the session stored for the profile")
}

pub fn run(context: &Context) -> Result<()> {
    let message = session::logout(&context.global)?;
    eprintln!("{message}");
    Ok(())
}
