//! Watching resource changes: a stream over `/resource-changes` that tracks the revision,
//! backs off on errors and reports a compacted start revision as an error.
//!
//! Against the embedded mock, the example starts and stops a VM in the background so that
//! there is something to see.
//!
//! ```sh
//! cargo run -p cloudtower-api --example watch                        # embedded mock tower
//! cargo run -p cloudtower-api --example watch -- --count 10 --seconds 60 \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cloudtower_api::models::{VmOperateParams, VmStartParams};
use cloudtower_api::watch::WatchOptions;
use cloudtower_api::WaitForTasks;
use common::{detail, step, Connection};
use futures_util::StreamExt;

#[derive(Parser)]
#[command(about = "Print resource changes as they happen")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// Only changes of this resource type (`Vm`, …).
    #[arg(long)]
    resource_type: Option<String>,
    /// Stop after this many changes.
    #[arg(long, default_value_t = 2)]
    count: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(watch(args))
}

async fn watch(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;

    let options = WatchOptions {
        resource_type: args.resource_type.clone(),
        poll_interval: if session.is_mock() {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        },
        ..Default::default()
    };
    step(format!(
        "watching {} changes from now on (at most {} changes or {} s)",
        args.resource_type.as_deref().unwrap_or("all"),
        args.count,
        args.seconds
    ));
    let mut changes = pin!(client.watch_resource_changes(options));

    // Against the mock, change something while watching (in this task: the request
    // futures are not `Send`-checked for `tokio::spawn`).
    let mock = session.is_mock();
    let activity = async {
        if !mock {
            return Ok::<_, cloudtower_api::Error>(());
        }
        // Give the watch its first poll, then change something.
        tokio::time::sleep(Duration::from_millis(300)).await;
        step("(meanwhile) starting and stopping web-2");
        let vm = common::vm_named("web-2");
        let started = client
            .start_vm(&VmStartParams {
                r#where: vm.clone(),
                ..Default::default()
            })
            .await?;
        started.wait_with(client, session.wait.clone()).await?;
        let stopped = client
            .shut_down_vm(&VmOperateParams { r#where: vm })
            .await?;
        stopped.wait_with(client, session.wait.clone()).await?;
        Ok(())
    };
    let watching = async {
        let deadline = tokio::time::sleep(Duration::from_secs(args.seconds));
        let mut deadline = pin!(deadline);
        let mut seen = 0;
        while seen < args.count {
            tokio::select! {
                change = changes.next() => match change {
                    Some(Ok(event)) => {
                        seen += 1;
                        detail(format!(
                            "revision {}: {} {} {}",
                            event.revision,
                            event.action.as_deref().unwrap_or("?"),
                            event.resource_type.as_deref().unwrap_or("?"),
                            event.resource_id.as_deref().unwrap_or("?"),
                        ));
                    }
                    Some(Err(error)) if error.is_transient() => {
                        detail(format!("transient error: {error}"));
                    }
                    Some(Err(error)) => return Err(error),
                    None => break,
                },
                _ = &mut deadline => {
                    step("time is up");
                    break;
                }
            }
        }
        Ok(seen)
    };
    let (activity, seen) = tokio::join!(activity, watching);
    activity?;
    let seen = seen?;
    step(format!("saw {seen} change(s)"));
    if mock && seen == 0 {
        return Err("the mock tower reported no change".into());
    }
    Ok(())
}
