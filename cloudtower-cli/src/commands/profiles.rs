//! `cloudtower profiles`: each profile's endpoints and user, and whether it holds a session.

use clap::Command;

use crate::context::Context;
use crate::failure::Result;
use crate::output::Format;
use crate::session;

pub const NAME: &str = "profiles";

pub fn command() -> Command {
    Command::new(NAME)
        .about("List the profiles: their endpoints, user, and whether a session is stored")
}

pub fn run(context: &mut Context) -> Result<()> {
    let profiles = session::profiles()?;
    let format = context.format_or(Format::Table);
    context.printer.print(&profiles, &format, Some("Profile"))
}
