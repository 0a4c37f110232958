//! One writer at a time per repository.
//!
//! Two `render` runs on one repository used to share the temporary
//! siblings of its directories and swap over each other, losing specs.
//! Every command that writes cluster directories takes an exclusive lock
//! on the repository (its root folder; with `--out` outside it, also the
//! folder above the output); commands that read them (`render --check`,
//! `diff`, `validate`, `publish`) take a shared one, so they never see a
//! fleet half swapped. The lock is `flock(2)` on the folder itself: no
//! file is created, and the kernel releases it when the process ends,
//! however it ends.

use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::OpsError;

/// How long a command waits for another one's lock by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// How often a waiting command tries again.
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads the directories: any number at once, no writer meanwhile.
    Shared,
    /// Writes them: alone.
    Exclusive,
}

/// Held while a command works on the directories; released on drop.
#[derive(Debug)]
pub struct RepoLock {
    _fd: rustix::fd::OwnedFd,
}

/// How long to wait and whom to tell.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub timeout: Duration,
    /// Called once, with what is being waited for, when the lock is taken.
    pub waiting: Option<fn(&str)>,
}

impl Default for Wait {
    fn default() -> Self {
        Wait { timeout: DEFAULT_TIMEOUT, waiting: None }
    }
}

/// Locks `dir` (shown as `shown` in messages), waiting up to
/// `wait.timeout` while another catalyst run holds it. `None` when `dir`
/// does not exist and only reading was asked for: there is nothing to
/// protect.
pub fn acquire(dir: &Path, shown: &str, access: Access, wait: Wait) -> Result<Option<RepoLock>, OpsError> {
    let io = |source: std::io::Error| OpsError::Io { context: format!("cannot lock {shown}"), source };
    if access == Access::Exclusive {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let fd = match rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) if access == Access::Shared => return Ok(None),
        Err(e) => return Err(io(e.into())),
    };
    let op = match access {
        Access::Shared => FlockOperation::NonBlockingLockShared,
        Access::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    let start = Instant::now();
    let mut told = false;
    loop {
        match rustix::fs::flock(&fd, op) {
            Ok(()) => return Ok(Some(RepoLock { _fd: fd })),
            Err(rustix::io::Errno::WOULDBLOCK) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(io(e.into())),
        }
        if start.elapsed() >= wait.timeout {
            return Err(OpsError::Locked(format!(
                "another catalyst run is {} {shown}, and it is still busy after {} s; \
                 try again once it has finished, or wait longer with --lock-timeout SECONDS",
                if access == Access::Shared { "writing" } else { "using" },
                wait.timeout.as_secs()
            )));
        }
        if !told {
            told = true;
            if let Some(say) = wait.waiting {
                say(&format!(
                    "waiting for another catalyst run on {shown} to finish (at most {} s)",
                    wait.timeout.as_secs()
                ));
            }
        }
        std::thread::sleep(POLL.min(wait.timeout.saturating_sub(start.elapsed())).max(Duration::from_millis(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(ms: u64) -> Wait {
        Wait { timeout: Duration::from_millis(ms), waiting: None }
    }

    #[test]
    fn readers_share_and_a_writer_is_alone() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("clusters");
        assert!(acquire(&d, "clusters", Access::Shared, wait(0)).unwrap().is_none(), "nothing to read yet");
        let w = acquire(&d, "clusters", Access::Exclusive, wait(0)).unwrap().unwrap();
        let e = acquire(&d, "clusters", Access::Shared, wait(100)).unwrap_err().to_string();
        assert!(e.contains("another catalyst run is writing clusters") && e.contains("--lock-timeout"), "{e}");
        assert!(acquire(&d, "clusters", Access::Exclusive, wait(0)).is_err());
        drop(w);
        let r1 = acquire(&d, "clusters", Access::Shared, wait(0)).unwrap();
        let r2 = acquire(&d, "clusters", Access::Shared, wait(0)).unwrap();
        assert!(acquire(&d, "clusters", Access::Exclusive, wait(0)).is_err(), "a writer waits for readers");
        drop((r1, r2));
        assert!(acquire(&d, "clusters", Access::Exclusive, wait(0)).is_ok());
    }

    /// A waiting run takes the lock as soon as it is free, and says it
    /// waited.
    #[test]
    fn a_waiting_run_proceeds_when_the_lock_is_released() {
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let t = tempfile::tempdir().unwrap();
        let d = t.path().to_path_buf();
        let held = acquire(&d, "x", Access::Exclusive, wait(0)).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
        });
        let w = Wait { timeout: Duration::from_secs(30), waiting: Some(|s| SAID.lock().unwrap().push(s.to_string())) };
        assert!(acquire(&d, "x", Access::Exclusive, w).unwrap().is_some());
        releaser.join().unwrap();
        assert_eq!(SAID.lock().unwrap().len(), 1, "{:?}", SAID.lock().unwrap());
        assert!(SAID.lock().unwrap()[0].starts_with("waiting for another catalyst run on x"));
    }
}
