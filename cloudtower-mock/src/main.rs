//! `cloudtower-mock --listen 127.0.0.1:PORT` (feature `cli`): a mock CloudTower for trying the
//! SDK, its examples or your own scripts without a real tower.

use std::net::SocketAddr;
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
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let tower = MockTower::start_with(MockConfig {
        listen: args.listen,
        task_duration: Duration::from_millis(args.task_ms),
        seed: args.seed,
        seed_data: !args.empty,
    })
    .await?;
    println!("cloudtower-mock listening on {}", tower.url());
    println!("log in as {MOCK_USERNAME} / {MOCK_PASSWORD}; Ctrl-C stops");
    tokio::signal::ctrl_c().await?;
    tower.shutdown().await;
    Ok(())
}
