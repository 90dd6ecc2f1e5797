//! Starting and stopping Stoplight Prism (its own process group, killed whole on drop).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prism {
    child: Child,
    pub port: u16,
    pub label: String,
    pub log: PathBuf,
    pub started_in: Duration,
}

impl Prism {
    /// Starts `prism mock` (server number `index`, static unless a request asks for a
    /// dynamic answer) on 127.0.0.1 and waits until it answers HTTP.
    pub async fn start(
        prism_dir: &Path,
        spec: &Path,
        index: usize,
        log_dir: &Path,
        ready_timeout: Duration,
    ) -> Result<Prism, String> {
        let cli = prism_dir.join("node_modules/@stoplight/prism-cli/dist/index.js");
        if !cli.exists() {
            return Err(format!(
                "{} is missing: run `npm ci` in {}",
                cli.display(),
                prism_dir.display()
            ));
        }
        let port = free_port()?;
        let label = format!("server {index}");
        let log = log_dir.join(format!("prism-{index}.log"));
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new("node");
        cmd.arg(&cli)
            .args([
                "mock",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-v",
                "warn",
            ])
            .arg(spec)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        // Its own process group, so that stopping it stops whatever node started too.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // And it dies with us even if we are killed without a chance to stop it.
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting node (Prism): {e}"))?;
        let mut prism = Prism {
            child,
            port,
            label,
            log,
            started_in: Duration::ZERO,
        };
        let t0 = Instant::now();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        loop {
            if let Ok(Some(status)) = prism.child.try_wait() {
                return Err(format!(
                    "Prism ({}) exited during start-up ({status}); see {}",
                    prism.label,
                    prism.log.display()
                ));
            }
            let url = format!("http://127.0.0.1:{port}/v2/api/get-version");
            if http.get(&url).send().await.is_ok() {
                break;
            }
            if t0.elapsed() > ready_timeout {
                return Err(format!(
                    "Prism ({}) not ready after {:?}; see {}",
                    prism.label,
                    ready_timeout,
                    prism.log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        prism.started_in = t0.elapsed();
        Ok(prism)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Resident memory of the Prism process group's node process, in MiB (Linux).
    pub fn rss_mib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024)
    }

    /// Stops the whole process group: SIGTERM, then SIGKILL.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; the group may already be gone.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
