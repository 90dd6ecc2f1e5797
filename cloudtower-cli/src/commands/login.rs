//! `cloudtower login`: sign in and store the session for the profile.

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::context::Context;
use crate::failure::Result;
use crate::session::{self, PasswordSource};

pub const NAME: &str = "login";

flag_ids! {
    PASSWORD_STDIN = "password-stdin";
    SAVE_PASSWORD = "save-password";
}

pub fn command() -> Command {
    Command::new(NAME)
        .about("Sign in and store the session for the profile")
        .long_about(
            "Sign in and store the session for the profile (--profile, default `default`).\n\n\
             The endpoints and options go to config.toml, the token (or API key) to the OS \
             keyring where there is one, else to credentials.toml, readable by its owner \
             only; both files in $CLOUDTOWER_CONFIG_DIR, else $XDG_CONFIG_HOME/cloudtower, \
             else ~/.config/cloudtower. The password is asked \
             for when not given, and kept only with --save-password (to log in again when \
             the session expires).",
        )
        .after_help(
            "Examples:\n  cloudtower login --endpoint https://tower.example.com --username admin\n  \
             cloudtower login --profile lab --endpoint https://a.example.com,https://b.example.com \
             --api-key \"$KEY\"\n  echo \"$PASSWORD\" | cloudtower login --username admin --password-stdin",
        )
        .arg(
            Arg::new(PASSWORD_STDIN)
                .long(PASSWORD_STDIN)
                .action(ArgAction::SetTrue)
                .help("Read the password from the first line of stdin"),
        )
        .arg(
            Arg::new(SAVE_PASSWORD)
                .long(SAVE_PASSWORD)
                .action(ArgAction::SetTrue)
                .help("Keep the password with the session, to log in again when it expires"),
        )
}

pub struct Options {
    pub password_stdin: bool,
    pub save_password: bool,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            password_stdin: matches.get_flag(PASSWORD_STDIN),
            save_password: matches.get_flag(SAVE_PASSWORD),
        }
    }
}

pub async fn run(context: &Context, options: Options) -> Result<()> {
    let source = if options.password_stdin {
        PasswordSource::Stdin
    } else {
        PasswordSource::Prompt
    };
    let message = session::login(&context.global, source, options.save_password).await?;
    eprintln!("{message}");
    Ok(())
}
