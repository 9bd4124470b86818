//! Choosing the Python interpreter and making sure trio is importable from it.
//!
//! This module owns: which interpreter runs slide code (`--python`, `$TRIO_PRESENT_PYTHON`, the
//! active virtualenv, `python3` on PATH), probing it (one short child that reports its version
//! and its trio), and — when the user's own trio is missing or older than 0.23 — a private,
//! pinned copy of trio installed with the interpreter's own pip into the user cache directory.
//! The result is an [`Interpreter`], whose [`Interpreter::command`] every child is built from.
//!
//! Provisioning is lock-free and crash-safe: pip installs into a per-process temporary
//! directory, a marker file is written last, and the directory is renamed into place; a loser
//! of a race simply uses the winner's copy.
//!
//! Layout: `choose` picks the interpreter ([`choose_python`]), `probe` asks it about itself
//! ([`probe()`]), `provision` installs the private trio ([`provision()`]), `proc` runs a child
//! with a time limit, and [`resolve`] here ties them together. `known` remembers the answer
//! between starts of the presenter ([`known::resolve_remembered`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod choose;
pub mod known;
mod probe;
mod proc;
mod provision;
#[cfg(test)]
mod tests;

pub use choose::{choose_python, choose_python_from, PythonChoice, PythonOrigin};
pub(crate) use probe::probe_choice;
pub use probe::{probe, Probe, PyVersion, TrioInfo};
pub use provision::{
    cache_dir, is_complete, pin_for, provision, provision_dir_name, provision_into, MARKER,
};

use probe::package_dir;
use provision::provisioned_candidates;

/// Oldest Python we support.
pub const MIN_PYTHON: (u32, u32) = (3, 9);
/// Oldest trio we accept from the user's own environment.
pub const MIN_TRIO: (u32, u32) = (0, 23);

/// Where the trio in use comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrioSource {
    /// The user's own environment; `location` is the trio package directory.
    User { location: PathBuf },
    /// Our private copy; `dir` is what goes on PYTHONPATH.
    Provisioned { dir: PathBuf },
}

impl fmt::Display for TrioSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrioSource::User { location } => {
                write!(f, "user environment at {}", location.display())
            }
            TrioSource::Provisioned { dir } => write!(f, "provisioned at {}", dir.display()),
        }
    }
}

/// A working interpreter with a usable trio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The executable (`sys.executable`, so pyenv shims and the like are skipped).
    pub path: PathBuf,
    /// e.g. `3.11.7`.
    pub version: String,
    pub trio_version: String,
    pub trio_source: TrioSource,
    /// Prepended to PYTHONPATH for every child.
    pub extra_path: Option<PathBuf>,
}

impl Interpreter {
    /// A command for this interpreter with the environment every child needs: the provisioned
    /// trio first on PYTHONPATH, unbuffered UTF-8 stdio.
    pub fn command(&self) -> Command {
        python_command(&self.path, self.extra_path.as_deref())
    }
}

/// [`Interpreter::command`] for any interpreter path (the probe runs one before there is an
/// [`Interpreter`]).
fn python_command(python: &Path, extra_path: Option<&Path>) -> Command {
    let mut cmd = Command::new(python);
    if let Some(extra) = extra_path {
        let mut parts = vec![extra.to_path_buf()];
        if let Some(old) = std::env::var_os("PYTHONPATH").filter(|v| !v.is_empty()) {
            parts.extend(std::env::split_paths(&old));
        }
        // join_paths only fails if a part contains the separator; then our dir alone is better
        // than nothing.
        let joined = std::env::join_paths(&parts).unwrap_or_else(|_| extra.as_os_str().into());
        cmd.env("PYTHONPATH", joined);
    }
    cmd.env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8");
    cmd
}

/// Why there is no usable interpreter. Every message is one actionable line.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    #[error("{}", not_found_message(.path, *.origin))]
    NotFound {
        path: PathBuf,
        origin: Option<PythonOrigin>,
    },
    #[error("cannot run {}: {detail}; pass --python with a working Python 3.9+ interpreter", .path.display())]
    NotRunnable { path: PathBuf, detail: String },
    #[error("{} is Python {version}, but trio-present needs Python 3.9+; install a newer Python or pass --python PATH", .path.display())]
    TooOld { path: PathBuf, version: PyVersion },
    #[error("{} failed to report its version: {detail}; check that it is a working Python 3.9+ or pass --python PATH", .path.display())]
    ProbeFailed { path: PathBuf, detail: String },
    #[error("{} has no pip, so trio cannot be installed automatically; install pip for it (e.g. 'apt install python3-pip') or install trio>=0.23 yourself, or pass --python", .path.display())]
    PipMissing { path: PathBuf },
    #[error("could not install trio with {} -m pip{hint}: {detail}; install it yourself with '{} -m pip install trio' or pass --python", .path.display(), .path.display())]
    PipFailed {
        path: PathBuf,
        /// e.g. ` (no network?)`.
        hint: &'static str,
        detail: String,
    },
    #[error("cannot write the cache directory {}: {detail}; set XDG_CACHE_HOME to a writable directory", .dir.display())]
    Cache { dir: PathBuf, detail: String },
    #[error("the private trio in {} does not import ({detail}); delete that directory and try again", .dir.display())]
    Broken { dir: PathBuf, detail: String },
    #[error("{} has {found}; run 'trio-present doctor --install' to install a private trio, or install trio>=0.23 yourself", .path.display())]
    NotInstalled { path: PathBuf, found: String },
}

fn not_found_message(path: &Path, origin: Option<PythonOrigin>) -> String {
    let shown = path.display();
    match origin {
        Some(PythonOrigin::Cli) => {
            format!("--python {shown}: no such file; pass the path of a Python 3.9+ interpreter")
        }
        Some(PythonOrigin::EnvVar) => format!(
            "TRIO_PRESENT_PYTHON={shown}: no such file; fix or unset it, or pass --python PATH"
        ),
        Some(PythonOrigin::VirtualEnv) => format!(
            "the virtualenv's {shown} does not exist; re-create the virtualenv or pass --python PATH"
        ),
        _ if path.components().count() <= 1 => {
            format!("{shown} not found on PATH; install Python 3.9+ or pass --python PATH")
        }
        _ => format!("{shown}: no such file; pass --python with a Python 3.9+ interpreter"),
    }
}

/// Finds a working interpreter with trio >= 0.23, provisioning trio if needed. On the warm path
/// (user trio fine, or already provisioned) this is a single interpreter start.
pub fn resolve(
    choice: &PythonChoice,
    progress: &mut dyn FnMut(&str),
) -> Result<Interpreter, PythonError> {
    resolve_in(&cache_dir(), choice, progress)
}

/// [`resolve`] with an explicit cache directory.
pub fn resolve_in(
    cache: &Path,
    choice: &PythonChoice,
    progress: &mut dyn FnMut(&str),
) -> Result<Interpreter, PythonError> {
    resolve_detailed(cache, choice, true, progress).map(|(interp, _)| interp)
}

/// The resolver, also returning the first probe (the user's own environment, as far as it was
/// looked at) for the doctor. With `allow_install` false, a missing trio is
/// [`PythonError::NotInstalled`] instead of a pip run.
pub(crate) fn resolve_detailed(
    cache: &Path,
    choice: &PythonChoice,
    allow_install: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<(Interpreter, Probe), PythonError> {
    let first = probe_choice(choice, &provisioned_candidates(cache))?;
    if (first.version.major, first.version.minor) < MIN_PYTHON {
        return Err(PythonError::TooOld {
            path: choice.path.clone(),
            version: first.version,
        });
    }
    // Children run sys.executable directly: a pyenv shim costs ~100 ms per start.
    let exe = if first.executable.is_absolute() && first.executable.is_file() {
        first.executable.clone()
    } else {
        choice.path.clone()
    };
    let version = first.version.to_string();
    if let Some(t) = first.trio.as_ref().filter(|t| t.is_recent()) {
        let interp = Interpreter {
            path: exe,
            version,
            trio_version: t.version.clone(),
            trio_source: TrioSource::User {
                location: package_dir(t),
            },
            extra_path: None,
        };
        return Ok((interp, first));
    }
    let dir = cache.join(provision_dir_name(first.version));
    let provisioned = |t: &TrioInfo| Interpreter {
        path: exe.clone(),
        version: version.clone(),
        trio_version: t.version.clone(),
        trio_source: TrioSource::Provisioned { dir: dir.clone() },
        extra_path: Some(dir.clone()),
    };
    let from_dir = |t: &TrioInfo| t.is_recent() && t.file.starts_with(&dir);
    if let Some(t) = first.provisioned.as_ref().filter(|t| from_dir(t)) {
        return Ok((provisioned(t), first));
    }
    if !is_complete(&dir) {
        if !allow_install {
            return Err(PythonError::NotInstalled {
                path: exe,
                found: first.trio_summary(),
            });
        }
        provision_into(cache, &exe, &first, progress)?;
    }
    // Confirm exactly as children will run: the directory on PYTHONPATH.
    let check = probe(&exe, Some(&dir))?;
    match check.trio.as_ref() {
        Some(t) if from_dir(t) => Ok((provisioned(t), first)),
        Some(t) => Err(PythonError::Broken {
            dir: dir.clone(),
            detail: format!(
                "imported trio {} from {} instead",
                t.version,
                t.file.display()
            ),
        }),
        None => Err(PythonError::Broken {
            dir: dir.clone(),
            detail: check
                .trio_error
                .unwrap_or_else(|| "import trio failed".to_string()),
        }),
    }
}
