//! The presenter's log file (`--log`): errors that must not interrupt a talk — a pipe that
//! broke, a socket option refused, a temporary file left behind — are written here instead of
//! being dropped, with the time and what was being done. Without `--log` they cost nothing.
//! The default place is `$XDG_STATE_HOME/trio-present/trio-present.log`
//! (`~/.local/state/trio-present/trio-present.log`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

static FILE: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

/// The default log file.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".local/state")))?;
    Some(base.join("trio-present").join("trio-present.log"))
}

/// Starts logging to `path` (appending); an error is one line for the caller to show.
pub fn init(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("log {}: {e}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("log {}: {e}", path.display()))?;
    let _ = FILE.set(Mutex::new(file));
    write(
        "log",
        &format!("trio-present {} started", env!("CARGO_PKG_VERSION")),
    );
    Ok(())
}

/// Writes one line (when logging); never fails, never blocks for long.
pub fn write(context: &str, text: &str) {
    let Some(file) = FILE.get() else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    if let Ok(mut f) = file.lock() {
        // The log's own failure has nowhere else to go.
        let _ = writeln!(
            f,
            "{}.{:03} {context}: {}",
            now.as_secs(),
            now.subsec_millis(),
            text.replace('\n', " ⏎ ")
        );
    }
}

/// `result.logged("what was being done")`: the error goes to the log, the value on.
pub trait Logged<T> {
    fn logged(self, context: &str) -> Option<T>;
}

impl<T, E: std::fmt::Display> Logged<T> for Result<T, E> {
    fn logged(self, context: &str) -> Option<T> {
        match self {
            Ok(v) => Some(v),
            Err(e) => {
                write(context, &e.to_string());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_written_with_their_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/trio-present.log");
        init(&path).unwrap();
        let r: Result<(), std::io::Error> = Err(std::io::Error::other("pipe\nbroke"));
        assert_eq!(r.logged("sending the harness"), None);
        assert_eq!(Ok::<u8, String>(3).logged("fine"), Some(3));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("started"), "{text}");
        assert!(text.contains("sending the harness: pipe ⏎ broke"), "{text}");
        assert!(!text.contains("fine"), "{text}");
    }
}
