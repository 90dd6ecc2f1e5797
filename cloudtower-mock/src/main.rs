//! `cloudtower-mock --listen 127.0.0.1:PORT` (feature `cli`): a mock CloudTower for trying the
//! SDK, its examples or your own scripts without a real tower.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use cloudtower_mock::{MockConfig, MockTower, MOCK_PASSWORD, MOCK_USERNAME};

#[derive(Parser)]
#[command(version, about = "A stateful mock SmartX CloudTower (HTTP, in memory)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// How long each task takes, in milliseconds.
    #[arg(long, default_value_t = 300)]
    task_ms: u64,
    /// Seed of the fault-injection generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Start without the sample inventory.
    #[arg(long)]
    empty: bool,
    /// Start an active/passive pair sharing one state: the first tower on `--listen`, the
    /// second on the next port (both on free ports with port 0); prints both URLs.
    #[arg(long)]
    pair: bool,
    /// What `GET /v2/api/get-version` answers (`none`: 404, as a tower older than 2.3.0).
    #[arg(long = "tower-version", default_value = cloudtower_mock::SPEC_VERSION)]
    tower_version: String,
    /// Refuse mutations of a VM or snapshot while a task is changing it (ResourceLocked).
    #[arg(long)]
    lock_resources: bool,
    /// Records to start with: a JSON object of resource types to lists of records
    /// (`{"Vm": [...]}`), each checked against the API's types.
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    fixtures: Option<PathBuf>,
    /// Start from FILE when it exists (as --fixtures), and save every record to it when
    /// stopped with Ctrl-C: a mock that keeps its state across runs.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = MockConfig {
        listen: args.listen,
        task_duration: Duration::from_millis(args.task_ms),
        seed: args.seed,
        seed_data: !args.empty,
        version: (args.tower_version != "none").then_some(args.tower_version),
        lock_resources_during_tasks: args.lock_resources,
        fixtures: args
            .fixtures
            .clone()
            .or_else(|| args.state.clone().filter(|path| path.exists())),
        ..MockConfig::default()
    };
    if args.pair {
        let pair = MockTower::start_pair_with(config).await?;
        println!("cloudtower-mock pair: active {}", pair.active_url());
        println!("cloudtower-mock pair: passive {}", pair.passive_url());
        println!("log in as {MOCK_USERNAME} / {MOCK_PASSWORD}; Ctrl-C stops");
        tokio::signal::ctrl_c().await?;
        if let Some(path) = &args.state {
            pair.towers()[0].save_state(path)?;
            println!("state saved to {}", path.display());
        }
        pair.shutdown().await;
    } else {
        let tower = MockTower::start_with(config).await?;
        println!("cloudtower-mock listening on {}", tower.url());
        println!("log in as {MOCK_USERNAME} / {MOCK_PASSWORD}; Ctrl-C stops");
        tokio::signal::ctrl_c().await?;
        if let Some(path) = &args.state {
            tower.save_state(path)?;
            println!("state saved to {}", path.display());
        }
        tower.shutdown().await;
    }
    Ok(())
}
