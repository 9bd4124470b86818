//! The interpreter found last time, remembered in the cache directory, so that a start of the
//! presenter can warm its spare at once instead of first probing Python (an interpreter start
//! plus `import trio`: most of the wait when `r` is pressed right after start-up).
//!
//! An entry holds for the same choice (path and origin), working directory and environment
//! variables that change what Python imports, and only while the files it depends on are
//! unchanged: the chosen path (and its symlink), the executable, the trio in use and the one
//! the user's environment offered. Anything else that could change the answer (a pyenv shim
//! switched to another version, a trio installed beside an old one) is caught by
//! [`resolve_remembered`]'s verification, which probes as before once the spare is warm and
//! replaces the remembered interpreter if the answer differs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{resolve_detailed, Interpreter, Probe, PythonChoice, PythonError, TrioSource};

/// The file in the cache directory.
pub const FILE: &str = "interpreter.json";

/// How long a verification waits before probing, so that the spare it checks gets the CPU
/// first (both are an interpreter start and `import trio`; the machine may have two cores).
pub const VERIFY_AFTER: Duration = Duration::from_millis(1500);

/// Environment variables that change which interpreter or which trio a child gets.
const ENV_KEYS: &[&str] = &[
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
    "PYENV_VERSION",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
];

/// What a file looked like when the entry was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    path: PathBuf,
    /// Whether `path` itself (not its target) is stamped.
    link: bool,
    /// Nanoseconds since the epoch; with size and inode, a rewrite or a replacement shows.
    mtime_ns: u128,
    size: u64,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path, link: bool) -> Option<Stamp> {
        let meta = if link {
            std::fs::symlink_metadata(path)
        } else {
            std::fs::metadata(path)
        }
        .ok()?;
        let mtime_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Some(Stamp {
            path: path.to_path_buf(),
            link,
            mtime_ns,
            size: meta.len(),
            inode: inode(&meta),
        })
    }

    fn holds(&self) -> bool {
        Stamp::of(&self.path, self.link).as_ref() == Some(self)
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// What the entry is valid for: the same question must get the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    /// trio-present's version: another release may pin another trio.
    release: String,
    choice: PathBuf,
    origin: String,
    cwd: Option<PathBuf>,
    /// `(name, value)` of each of [`ENV_KEYS`] that is set.
    env: Vec<(String, OsString)>,
}

impl Key {
    fn now(choice: &PythonChoice) -> Key {
        Key {
            release: env!("CARGO_PKG_VERSION").to_string(),
            choice: choice.path.clone(),
            origin: format!("{:?}", choice.origin),
            cwd: std::env::current_dir().ok(),
            env: ENV_KEYS
                .iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Source {
    User { location: PathBuf },
    Provisioned { dir: PathBuf },
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    key: Key,
    stamps: Vec<Stamp>,
    path: PathBuf,
    version: String,
    trio_version: String,
    source: Source,
    extra_path: Option<PathBuf>,
}

impl Entry {
    fn interpreter(self) -> Interpreter {
        Interpreter {
            path: self.path,
            version: self.version,
            trio_version: self.trio_version,
            trio_source: match self.source {
                Source::User { location } => TrioSource::User { location },
                Source::Provisioned { dir } => TrioSource::Provisioned { dir },
            },
            extra_path: self.extra_path,
        }
    }
}

/// The files whose change means the entry no longer holds.
fn stamps(choice: &PythonChoice, interp: &Interpreter, first: Option<&Probe>) -> Vec<Stamp> {
    let mut files = vec![(choice.path.clone(), true), (choice.path.clone(), false)];
    files.push((interp.path.clone(), false));
    match &interp.trio_source {
        TrioSource::User { location } => files.push((location.join("__init__.py"), false)),
        TrioSource::Provisioned { dir } => {
            files.push((dir.join(super::MARKER), false));
            files.push((dir.join("trio").join("__init__.py"), false));
        }
    }
    // The user's own (too old) trio: upgrading it changes the answer.
    if let Some(t) = first.and_then(|p| p.trio.as_ref()) {
        files.push((t.file.clone(), false));
    }
    files.dedup();
    files
        .into_iter()
        .filter_map(|(p, link)| Stamp::of(&p, link))
        .collect()
}

/// The interpreter remembered in `cache` for `choice`, if the entry still holds.
pub fn recall(cache: &Path, choice: &PythonChoice) -> Option<Interpreter> {
    let text = std::fs::read(cache.join(FILE)).ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    if entry.key != Key::now(choice) || !entry.stamps.iter().all(Stamp::holds) {
        return None;
    }
    // The chosen path and the executable are always stamped: an entry without them is not
    // one we wrote.
    if entry.stamps.len() < 3 {
        return None;
    }
    Some(entry.interpreter())
}

/// Remembers `interp` as the answer for `choice`; `first` is the resolver's probe of the
/// user's environment. Best effort: a cache that cannot be written only costs the next start
/// its probe.
pub fn remember(cache: &Path, choice: &PythonChoice, interp: &Interpreter, first: Option<&Probe>) {
    let entry = Entry {
        key: Key::now(choice),
        stamps: stamps(choice, interp, first),
        path: interp.path.clone(),
        version: interp.version.clone(),
        trio_version: interp.trio_version.clone(),
        source: match &interp.trio_source {
            TrioSource::User { location } => Source::User {
                location: location.clone(),
            },
            TrioSource::Provisioned { dir } => Source::Provisioned { dir: dir.clone() },
        },
        extra_path: interp.extra_path.clone(),
    };
    let Ok(json) = serde_json::to_vec(&entry) else {
        return;
    };
    if std::fs::create_dir_all(cache).is_err() {
        return;
    }
    // Written aside and renamed, so that a concurrent reader never sees half a file.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let tmp = cache.join(format!(".tmp-{FILE}-{}-{nanos}", std::process::id()));
    if std::fs::write(&tmp, json).is_err() || std::fs::rename(&tmp, cache.join(FILE)).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Forgets the remembered interpreter (when it turned out wrong).
pub fn forget(cache: &Path) {
    let _ = std::fs::remove_file(cache.join(FILE));
}

/// Resolves like [`super::resolve_in`], answering through `answer`: at once with the
/// remembered interpreter when there is one that holds, then — after [`VERIFY_AFTER`] — again
/// only if a fresh probe disagrees (a changed interpreter, or none). Without a remembered one,
/// it probes at once and answers once. Progress lines are only reported for that first probe:
/// a verification runs silently behind a working interpreter.
pub fn resolve_remembered(
    cache: &Path,
    choice: &PythonChoice,
    verify_after: Duration,
    progress: &mut dyn FnMut(&str),
    answer: &mut dyn FnMut(Result<Interpreter, PythonError>),
) {
    let known = recall(cache, choice);
    if let Some(k) = &known {
        answer(Ok(k.clone()));
        std::thread::sleep(verify_after);
    }
    let mut quiet = |_: &str| {};
    let progress: &mut dyn FnMut(&str) = if known.is_some() {
        &mut quiet
    } else {
        progress
    };
    match resolve_detailed(cache, choice, true, progress) {
        Ok((fresh, first)) => {
            // Also on the same answer: the stamps are refreshed (a file touched, not changed).
            remember(cache, choice, &fresh, Some(&first));
            if known.as_ref() != Some(&fresh) {
                answer(Ok(fresh));
            }
        }
        Err(e) => {
            forget(cache);
            answer(Err(e));
        }
    }
}
