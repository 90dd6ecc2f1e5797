//! Shared by the benchmarks: the deterministic `get-vms` payload, a local HTTP server, reading
//! criterion's estimates back to print ratios, and writing each bench's figures to a results
//! file.
#![allow(dead_code)]

mod payload;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use payload::*;
use serde_json::Value;

/// Where criterion keeps its reports (`<target>/criterion`, its default).
pub fn criterion_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("criterion")
}

/// A configured criterion writing to [`criterion_dir`], honouring the command line.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args()
}

/// The mean time per iteration, in seconds, criterion measured for `group/function` in this
/// run (`None` when it did not measure, e.g. under `cargo test`).
pub fn mean_secs(group: &str, function: &str, since: std::time::SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < since {
        return None; // left from an earlier run
    }
    let estimates: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1e9)
}

/// Figures of one bench, printed and written to `$CLOUDTOWER_BENCH_RESULTS/<name>.json`
/// (default `<target>/bench-results/`) for `scripts/bench-all.sh` and the Python comparison.
#[derive(Default)]
pub struct Report {
    lines: String,
    figures: serde_json::Map<String, Value>,
}

impl Report {
    pub fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.lines, "{}", text.as_ref());
    }
    pub fn figure(&mut self, key: &str, value: impl Into<Value>) {
        self.figures.insert(key.to_owned(), value.into());
    }
    pub fn finish(self, name: &str) {
        println!("\n=== {name}: figures of this run ===\n{}", self.lines);
        let dir = results_dir();
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_vec_pretty(&Value::Object(self.figures)).expect("JSON");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
        }
    }
}

pub fn results_dir() -> PathBuf {
    std::env::var_os("CLOUDTOWER_BENCH_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .expect("target dir")
                .join("bench-results")
        })
}

/// Whether criterion runs in `--test` mode (`cargo test --benches`): every bench once.
pub fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

pub fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

/// An axum app served on 127.0.0.1 by its own thread and one-thread runtime, so that it does
/// not share the measured runtime; stopped when dropped.
pub struct Server {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(app: axum::Router) -> Server {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Server {
            addr: addr.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
