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

/// The file, in the cache directory (see [`file`]).
pub const FILE: &str = "interpreter.json";

/// Where the interpreter is remembered: beside the provisioned trio, which it may name.
pub fn file() -> PathBuf {
    super::cache_dir().join(FILE)
}

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

/// The interpreter remembered in `file` for `choice`, if the entry still holds.
pub fn recall(file: &Path, choice: &PythonChoice) -> Option<Interpreter> {
    let text = std::fs::read(file).ok()?;
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

/// Remembers `interp` in `file` as the answer for `choice`; `first` is the resolver's probe of
/// the user's environment. Best effort: a file that cannot be written only costs the next
/// start its probe.
pub fn remember(file: &Path, choice: &PythonChoice, interp: &Interpreter, first: Option<&Probe>) {
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
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Written aside and renamed, so that a concurrent reader never sees half a file.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let tmp = dir.join(format!(".tmp-{FILE}-{}-{nanos}", std::process::id()));
    if std::fs::write(&tmp, json).is_err() || std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Forgets the remembered interpreter (when it turned out wrong).
pub fn forget(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// Resolves like [`super::resolve_in`] (`cache` is where trio is provisioned, `file` where the
/// answer is remembered), answering through `answer`: at once with the
/// remembered interpreter when there is one that holds, then — after [`VERIFY_AFTER`] — again
/// only if a fresh probe disagrees (a changed interpreter, or none). Without a remembered one,
/// it probes at once and answers once. Progress lines are only reported for that first probe:
/// a verification runs silently behind a working interpreter.
pub fn resolve_remembered(
    cache: &Path,
    file: &Path,
    choice: &PythonChoice,
    verify_after: Duration,
    progress: &mut dyn FnMut(&str),
    answer: &mut dyn FnMut(Result<Interpreter, PythonError>),
) {
    let known = recall(file, choice);
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
            remember(file, choice, &fresh, Some(&first));
            if known.as_ref() != Some(&fresh) {
                answer(Ok(fresh));
            }
        }
        Err(e) => {
            forget(file);
            answer(Err(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{choose_python, PythonOrigin};
    use super::*;

    /// An interpreter as the resolver describes one, over files in `dir` (nothing runs it).
    fn described(dir: &Path) -> (PythonChoice, Interpreter) {
        let python = dir.join("python3");
        std::fs::write(&python, "an interpreter").unwrap();
        std::fs::create_dir_all(dir.join("trio")).unwrap();
        std::fs::write(dir.join("trio/__init__.py"), "__version__ = '0.30.0'\n").unwrap();
        let choice = PythonChoice {
            path: python.clone(),
            origin: PythonOrigin::Cli,
        };
        let interp = Interpreter {
            path: python,
            version: "3.12.1".into(),
            trio_version: "0.30.0".into(),
            trio_source: TrioSource::User {
                location: dir.join("trio"),
            },
            extra_path: None,
        };
        (choice, interp)
    }

    #[test]
    fn a_remembered_interpreter_holds_until_python_or_trio_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cache").join(FILE);
        let (choice, interp) = described(dir.path());
        assert_eq!(recall(&file, &choice), None, "nothing remembered yet");
        remember(&file, &choice, &interp, None);
        assert_eq!(recall(&file, &choice), Some(interp.clone()));

        // Another interpreter at the same path (an upgrade, a re-created virtualenv).
        std::fs::write(&choice.path, "another interpreter").unwrap();
        assert_eq!(recall(&file, &choice), None);
        remember(&file, &choice, &interp, None);
        assert_eq!(recall(&file, &choice), Some(interp.clone()));

        // Another trio.
        std::fs::write(
            dir.path().join("trio/__init__.py"),
            "__version__ = '0.31.0'\n",
        )
        .unwrap();
        assert_eq!(recall(&file, &choice), None);
        remember(&file, &choice, &interp, None);

        // Another choice, or the interpreter gone.
        let other = PythonChoice {
            origin: PythonOrigin::EnvVar,
            ..choice.clone()
        };
        assert_eq!(recall(&file, &other), None);
        std::fs::remove_file(&choice.path).unwrap();
        assert_eq!(recall(&file, &choice), None);

        // An unreadable file is no entry.
        std::fs::write(&file, "{not json").unwrap();
        assert_eq!(recall(&file, &choice), None);
        forget(&file);
        assert!(!file.exists());
    }

    /// The real interpreter: the first start probes and remembers, the next answers at once
    /// with the same interpreter (the verification agrees, so once), and a re-pointed symlink
    /// is a changed python.
    #[test]
    fn resolving_remembers_and_a_changed_python_is_probed_again() {
        let real = choose_python(None);
        assert_ne!(real.origin, PythonOrigin::NotOnPath, "tests need python3");
        let real_exe = std::fs::canonicalize(&real.path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let link = dir.path().join("python3");
        std::os::unix::fs::symlink(&real_exe, &link).unwrap();
        let choice = PythonChoice {
            path: link.clone(),
            origin: PythonOrigin::Cli,
        };
        let cache = super::super::cache_dir();
        let resolve = || {
            let mut answers = Vec::new();
            resolve_remembered(
                &cache,
                &file,
                &choice,
                Duration::ZERO,
                &mut |_| {},
                &mut |r| answers.push(r.expect("python3 with trio (or provisioned) works")),
            );
            answers
        };
        let first = resolve();
        assert_eq!(first.len(), 1);
        assert_eq!(recall(&file, &choice).as_ref(), Some(&first[0]));
        assert_eq!(resolve(), first, "remembered, and the verification agrees");

        // The same name re-pointed (here: to the same target, so the answer stays).
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&real_exe, &link).unwrap();
        assert_eq!(
            recall(&file, &choice),
            None,
            "a changed link is a changed python"
        );
        assert_eq!(resolve(), first);
        assert!(recall(&file, &choice).is_some());

        // A remembered answer that the probe contradicts (what a pyenv shim switched to
        // another version looks like): answered at once, then corrected, and remembered right.
        let wrong = Interpreter {
            trio_version: "0.0.1".into(),
            ..first[0].clone()
        };
        remember(&file, &choice, &wrong, None);
        assert_eq!(resolve(), vec![wrong, first[0].clone()]);
        assert_eq!(recall(&file, &choice).as_ref(), Some(&first[0]));
    }
}
