//! The data directory's lock: one process at a time runs the commands that fetch and send.
//!
//! `once`, `fetch` and `run` take an exclusive lock on `data_dir/lock` before they open the
//! database and hold it until they exit; a second such command on the same data dir stops
//! at once with a message naming the holder. The kernel drops the lock when its process
//! dies, even by `kill -9`, so a crash never leaves the data dir locked. The lock file's
//! text (pid, command, start time) is only for that message.
//!
//! The lock is the first guard against a member mailed twice; the second is that each
//! delivery is claimed in the database before it is sent ([`crate::store`]), which also
//! holds for processes the lock cannot see (another machine on the same database).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;

/// The held lock; dropping it releases the data dir.
#[derive(Debug)]
pub struct DataDirLock {
    // Held open for the lock's lifetime; closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another feedbrief is using the data directory {dir} ({holder}); wait for it to finish or stop it. \
         `run` fetches and sends by itself: a cron'd `once` beside it is not needed"
    )]
    Busy {
        /// The data directory.
        dir: String,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock the data directory {dir}: {source}; check that it exists and is writable")]
    Io {
        /// The data directory.
        dir: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl DataDirLock {
    /// Takes the exclusive lock on `data_dir` (created if missing) for `command`, or says
    /// who holds it. Never waits.
    pub fn acquire(data_dir: &Path, command: &str) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            dir: data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let path = data_dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder writes its line right after locking; an empty read means it
                // is between the two.
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Busy {
                    dir: data_dir.display().to_string(),
                    holder: if holder.is_empty() {
                        "a process that is starting".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let line = format!(
            "pid {}, `{command}`, since {}\n",
            std::process::id(),
            Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        // Best effort: the text only explains a refusal; the lock itself is what counts.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(line.as_bytes()));
        Ok(Self { _file: file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let first = DataDirLock::acquire(&data, "once").expect("first lock");
        assert!(first.path().ends_with("lock"));
        let err = DataDirLock::acquire(&data, "once").expect_err("second lock refused");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())) && msg.contains("`once`"),
            "{msg}"
        );
        drop(first);
        DataDirLock::acquire(&data, "run").expect("free again after the first lets go");
    }
}
