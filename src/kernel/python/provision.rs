//! The private trio: a pinned copy installed with the interpreter's own pip into the user cache
//! directory, for when the user's own trio is missing or too old.
//!
//! Lock-free and crash-safe: pip installs into a per-process temporary directory, a marker file
//! is written last, and the directory is renamed into place; a loser of a race simply uses the
//! winner's copy.

use crate::log::Logged;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::proc::{last_line, run_limited};
use super::{Probe, PyVersion, PythonError};

/// The marker written last into a provisioned directory: its presence means "complete".
pub const MARKER: &str = ".complete";

const PIP_TIMEOUT: Duration = Duration::from_secs(180);
/// Leftover temporary directories older than this belong to dead presenters (pip is limited
/// to 180 s), so they are removed when we next provision.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The trio release we install for a given Python (trio 0.32 dropped Python 3.9).
pub fn pin_for(major: u32, minor: u32) -> &'static str {
    if (major, minor) >= (3, 10) {
        "0.35.0"
    } else {
        "0.31.0"
    }
}

/// `$XDG_CACHE_HOME/trio-present`, else the platform cache dir, else `/tmp/trio-present-$UID`.
pub fn cache_dir() -> PathBuf {
    cache_dir_from(std::env::var_os("XDG_CACHE_HOME"))
}

fn cache_dir_from(xdg: Option<OsString>) -> PathBuf {
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(x) = xdg.map(PathBuf::from).filter(|x| x.is_absolute()) {
        return x.join("trio-present");
    }
    if let Some(b) = directories::BaseDirs::new() {
        return b.cache_dir().join("trio-present");
    }
    std::env::temp_dir().join(format!("trio-present-{}", uid()))
}

#[cfg(unix)]
fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn uid() -> u32 {
    0
}

/// `~/...` instead of the home directory, for progress lines.
fn tilde(p: &Path) -> String {
    if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) {
        if let Ok(rest) = p.strip_prefix(&home) {
            return format!("~/{}", rest.display());
        }
    }
    p.display().to_string()
}

/// The directory name for a Python version: `py3.11-trio0.35.0`.
pub fn provision_dir_name(version: PyVersion) -> String {
    format!(
        "py{}.{}-trio{}",
        version.major,
        version.minor,
        pin_for(version.major, version.minor)
    )
}

/// Whether `dir` is a finished provisioned directory (marker written last).
pub fn is_complete(dir: &Path) -> bool {
    dir.join(MARKER).is_file() && dir.join("trio").join("__init__.py").is_file()
}

/// Installs the pinned trio for `python` into [`cache_dir()`] (or reuses an existing copy) and
/// returns the directory to put on PYTHONPATH.
pub fn provision(
    python: &Path,
    probe: &Probe,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, PythonError> {
    provision_into(&cache_dir(), python, probe, progress)
}

/// [`provision`] into an explicit cache directory.
pub fn provision_into(
    cache: &Path,
    python: &Path,
    probe: &Probe,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, PythonError> {
    let pin = pin_for(probe.version.major, probe.version.minor);
    provision_spec(
        cache,
        python,
        probe.version,
        &format!("trio=={pin}"),
        progress,
    )
    .map(|(dir, _installed)| dir)
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The provisioning machinery with the requirement passed in; also says whether pip ran.
pub(super) fn provision_spec(
    cache: &Path,
    python: &Path,
    version: PyVersion,
    requirement: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(PathBuf, bool), PythonError> {
    let final_dir = cache.join(provision_dir_name(version));
    if is_complete(&final_dir) {
        return Ok((final_dir, false));
    }
    let cache_err = |e: io::Error| PythonError::Cache {
        dir: cache.to_path_buf(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(cache).map_err(cache_err)?;
    remove_stale_tmp(cache);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // Unique per process *and* per call, so two threads of one process cannot collide either.
    let tmp = cache.join(format!(
        ".tmp-{}-{}-{}",
        std::process::id(),
        nanos,
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let pinned = requirement.rsplit("==").next().unwrap_or(requirement);
    progress(&format!(
        "installing trio {pinned} for Python {}.{} into {} (one-time, ~1 s)",
        version.major,
        version.minor,
        tilde(&final_dir)
    ));
    let started = Instant::now();
    let built = pip_install(python, &tmp, requirement)
        .and_then(|()| {
            if tmp.join("trio").join("__init__.py").is_file() {
                Ok(())
            } else {
                Err(PythonError::PipFailed {
                    path: python.to_path_buf(),
                    hint: "",
                    detail: "pip reported success but trio/__init__.py is missing".to_string(),
                })
            }
        })
        // The marker goes in last: a directory with it is complete by construction.
        .and_then(|()| {
            let marker = format!("{requirement}\npython {version}\n");
            std::fs::write(tmp.join(MARKER), marker).map_err(cache_err)
        })
        .and_then(|()| publish(&tmp, &final_dir, cache).map_err(cache_err));
    if built.is_err() {
        std::fs::remove_dir_all(&tmp).logged("provisioning: removing a temporary directory");
    }
    built?;
    progress(&format!(
        "installed trio {pinned} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok((final_dir, true))
}

/// Moves the finished `tmp` to `final_dir`. rename(2) is atomic and refuses to replace a
/// non-empty directory, so with a concurrent presenter exactly one rename wins and the other
/// side finds a complete directory.
fn publish(tmp: &Path, final_dir: &Path, cache: &Path) -> io::Result<()> {
    for _ in 0..3 {
        match std::fs::rename(tmp, final_dir) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if is_complete(final_dir) {
                    // Someone else won the race; theirs is as good as ours.
                    let _ = std::fs::remove_dir_all(tmp);
                    return Ok(());
                }
                if !final_dir.exists() {
                    return Err(e);
                }
                // An incomplete directory in the way (not made by us: we only rename complete
                // ones). Move it aside atomically, then delete it, then try again.
                let aside = cache.join(format!(
                    ".tmp-stale-{}-{}",
                    std::process::id(),
                    TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
                ));
                if std::fs::rename(final_dir, &aside).is_ok() {
                    let _ = std::fs::remove_dir_all(&aside);
                }
            }
        }
    }
    if is_complete(final_dir) {
        let _ = std::fs::remove_dir_all(tmp);
        return Ok(());
    }
    Err(io::Error::other(format!(
        "could not move the new trio into {}",
        final_dir.display()
    )))
}

/// Removes temporary directories left by presenters that died mid-install.
fn remove_stale_tmp(cache: &Path) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn pip_install(python: &Path, target: &Path, requirement: &str) -> Result<(), PythonError> {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-warn-script-location",
        "--target",
    ])
    .arg(target)
    .arg(requirement)
    // User settings that conflict with --target or refuse outside a venv; --target installs
    // into a private directory, so none of them apply.
    .env("PIP_USER", "0")
    .env("PIP_REQUIRE_VIRTUALENV", "0")
    .env("PIP_ROOT_USER_ACTION", "ignore")
    .env_remove("PIP_TARGET")
    .env_remove("PIP_PREFIX")
    .env_remove("PIP_ROOT");
    let ran = run_limited(&mut cmd, PIP_TIMEOUT).map_err(|e| PythonError::PipFailed {
        path: python.to_path_buf(),
        hint: "",
        detail: e.to_string(),
    })?;
    match ran.status {
        Some(st) if st.success() => Ok(()),
        None => Err(PythonError::PipFailed {
            path: python.to_path_buf(),
            hint: " (no network?)",
            detail: format!("no result within {} s", PIP_TIMEOUT.as_secs()),
        }),
        Some(_) => {
            if ran.stderr.contains("No module named pip") {
                return Err(PythonError::PipMissing {
                    path: python.to_path_buf(),
                });
            }
            let detail = last_line(&ran.stderr);
            let lower = ran.stderr.to_lowercase();
            let offline = [
                "no matching distribution",
                "connection",
                "network",
                "temporary failure in name resolution",
                "timed out",
                "proxy",
            ]
            .iter()
            .any(|w| lower.contains(w));
            Err(PythonError::PipFailed {
                path: python.to_path_buf(),
                hint: if offline { " (no network?)" } else { "" },
                detail,
            })
        }
    }
}

/// Complete provisioned directories in `cache`, for the combined probe. Reading one directory
/// is cheap next to starting an interpreter.
pub(super) fn provisioned_candidates(cache: &Path) -> Vec<(u32, u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("py") else {
            continue;
        };
        let Some((ver, pin)) = rest.split_once("-trio") else {
            continue;
        };
        let Some((major, minor)) = ver.split_once('.') else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u32>(), minor.parse::<u32>()) else {
            continue;
        };
        // Only the current pin: a directory from an older trio-present release is ignored.
        if pin == pin_for(major, minor) && is_complete(&entry.path()) {
            out.push((major, minor, entry.path()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_rules() {
        assert_eq!(
            cache_dir_from(Some("/x/cache".into())),
            PathBuf::from("/x/cache/trio-present")
        );
        // Relative XDG values are invalid and ignored.
        assert_ne!(
            cache_dir_from(Some("rel".into())),
            PathBuf::from("rel/trio-present")
        );
        assert!(cache_dir_from(None).ends_with("trio-present"));
    }

    #[test]
    fn pins_and_dir_names() {
        assert_eq!(pin_for(3, 9), "0.31.0");
        assert_eq!(pin_for(3, 13), "0.35.0");
        let v = PyVersion {
            major: 3,
            minor: 11,
            micro: 7,
        };
        assert_eq!(provision_dir_name(v), "py3.11-trio0.35.0");
    }
}
