//! Which interpreter runs slide code: `--python PATH`, else `$TRIO_PRESENT_PYTHON`, else the
//! active virtualenv's python, else `python3` on PATH.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the interpreter choice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythonOrigin {
    /// `--python PATH`.
    Cli,
    /// `$TRIO_PRESENT_PYTHON`.
    EnvVar,
    /// `$VIRTUAL_ENV/bin/python`.
    VirtualEnv,
    /// `python3` found on PATH.
    Path,
    /// `python3` was not found on PATH; the path is just the bare name.
    NotOnPath,
}

impl fmt::Display for PythonOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PythonOrigin::Cli => "--python",
            PythonOrigin::EnvVar => "$TRIO_PRESENT_PYTHON",
            PythonOrigin::VirtualEnv => "the active virtualenv ($VIRTUAL_ENV)",
            PythonOrigin::Path => "python3 on PATH",
            PythonOrigin::NotOnPath => "python3 on PATH (not found)",
        })
    }
}

/// The interpreter to use and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonChoice {
    pub path: PathBuf,
    pub origin: PythonOrigin,
}

/// Picks the interpreter: `--python PATH`, else `$TRIO_PRESENT_PYTHON`, else the active
/// virtualenv's python, else `python3` on PATH.
pub fn choose_python(cli: Option<&Path>) -> PythonChoice {
    choose_python_from(
        cli,
        std::env::var_os("TRIO_PRESENT_PYTHON"),
        std::env::var_os("VIRTUAL_ENV"),
        std::env::var_os("PATH"),
    )
}

/// [`choose_python`] with the environment passed in (testable without touching the process
/// environment). Empty variables count as unset.
pub fn choose_python_from(
    cli: Option<&Path>,
    env_python: Option<OsString>,
    virtual_env: Option<OsString>,
    path_var: Option<OsString>,
) -> PythonChoice {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    if let Some(p) = cli {
        return PythonChoice {
            path: p.to_path_buf(),
            origin: PythonOrigin::Cli,
        };
    }
    if let Some(p) = set(env_python) {
        return PythonChoice {
            path: PathBuf::from(p),
            origin: PythonOrigin::EnvVar,
        };
    }
    if let Some(venv) = set(virtual_env) {
        // A stale $VIRTUAL_ENV (deleted venv) should not stop us from finding python3.
        let candidate = venv_python(Path::new(&venv));
        if candidate.is_file() {
            return PythonChoice {
                path: candidate,
                origin: PythonOrigin::VirtualEnv,
            };
        }
    }
    match set(path_var).and_then(|p| search_path(&p, "python3")) {
        Some(path) => PythonChoice {
            path,
            origin: PythonOrigin::Path,
        },
        None => PythonChoice {
            path: PathBuf::from("python3"),
            origin: PythonOrigin::NotOnPath,
        },
    }
}

/// The interpreter inside a virtualenv.
pub(super) fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn search_path(path_var: &OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn fake_exe(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    #[cfg(unix)]
    fn choose_python_precedence() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let on_path = fake_exe(&bin, "python3");
        let venv = tmp.path().join("venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        let venv_py = fake_exe(&venv.join("bin"), "python");
        let path_var = std::env::join_paths([tmp.path().join("nothing"), bin.clone()]).unwrap();
        let s = |x: &str| Some(OsString::from(x));

        let c = choose_python_from(
            Some(Path::new("/cli/py")),
            s("/env/py"),
            Some(venv.clone().into()),
            Some(path_var.clone()),
        );
        assert_eq!(
            c,
            PythonChoice {
                path: "/cli/py".into(),
                origin: PythonOrigin::Cli
            }
        );

        let c = choose_python_from(
            None,
            s("/env/py"),
            Some(venv.clone().into()),
            Some(path_var.clone()),
        );
        assert_eq!(
            c,
            PythonChoice {
                path: "/env/py".into(),
                origin: PythonOrigin::EnvVar
            }
        );

        // Empty counts as unset.
        let c = choose_python_from(
            None,
            s(""),
            Some(venv.clone().into()),
            Some(path_var.clone()),
        );
        assert_eq!(
            c,
            PythonChoice {
                path: venv_py,
                origin: PythonOrigin::VirtualEnv
            }
        );

        // A stale virtualenv falls through to PATH.
        let c = choose_python_from(None, None, s("/no/such/venv"), Some(path_var.clone()));
        assert_eq!(
            c,
            PythonChoice {
                path: on_path,
                origin: PythonOrigin::Path
            }
        );

        let c = choose_python_from(None, None, None, Some(tmp.path().join("nothing").into()));
        assert_eq!(
            c,
            PythonChoice {
                path: "python3".into(),
                origin: PythonOrigin::NotOnPath
            }
        );
        let c = choose_python_from(None, None, None, None);
        assert_eq!(c.origin, PythonOrigin::NotOnPath);
    }
}
