//! Probing an interpreter: one short child that reports its Python version and the trio it
//! imports — and, for the resolver, a provisioned trio when its own will not do.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proc::{last_line, run_limited};
use super::{python_command, PythonChoice, PythonError, PythonOrigin, MIN_TRIO};

const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Prefix of the probe's result line, so stray output from sitecustomize etc. is ignored.
const PROBE_MARK: &str = "@@trio-present-probe@@";

/// A Python version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PyVersion {
    pub major: u32,
    pub minor: u32,
    pub micro: u32,
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// A trio an interpreter can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrioInfo {
    pub version: String,
    /// `trio/__init__.py`.
    pub file: PathBuf,
}

impl TrioInfo {
    /// Whether this trio is new enough for us (>= 0.23).
    pub fn is_recent(&self) -> bool {
        version_tuple(&self.version) >= vec![MIN_TRIO.0, MIN_TRIO.1]
    }
}

/// What one run of the interpreter told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub version: PyVersion,
    /// `sys.executable` (may be empty for embedded interpreters).
    pub executable: PathBuf,
    /// The trio the interpreter imports (with `extra_path` on PYTHONPATH when given), if any.
    pub trio: Option<TrioInfo>,
    /// Why `import trio` failed, when it did.
    pub trio_error: Option<String>,
    /// Only from the resolver's combined probe: the trio imported from a provisioned directory
    /// after the user's own was found missing or too old.
    pub provisioned: Option<TrioInfo>,
}

impl Probe {
    /// Whether `import trio` gave a trio >= 0.23.
    pub fn trio_ok(&self) -> bool {
        self.trio.as_ref().is_some_and(TrioInfo::is_recent)
    }

    /// One line about the trio this probe saw, e.g. `trio 0.22.2 at /x/trio (too old, need 0.23+)`.
    pub fn trio_summary(&self) -> String {
        match &self.trio {
            Some(t) if t.is_recent() => {
                format!("trio {} at {}", t.version, package_dir(t).display())
            }
            Some(t) => format!(
                "trio {} at {} (too old, need {}.{}+)",
                t.version,
                package_dir(t).display(),
                MIN_TRIO.0,
                MIN_TRIO.1
            ),
            None => "no trio".to_string(),
        }
    }
}

/// The probe script. Argument `M.m=DIR` names the provisioned directory for Python M.m; when
/// the user's trio is missing or too old, the script tries that directory in the same process,
/// so the warm path costs one interpreter start whichever trio wins. Kept Python-2-parsable so
/// an ancient interpreter reports its version instead of a syntax error.
const PROBE_SCRIPT: &str = r#"
import sys, os, json
r = {"version": list(sys.version_info[:3]), "executable": sys.executable or "",
     "trio": None, "trio_error": None, "provisioned": None}
def vt(s):
    out = []
    for part in s.split(".")[:3]:
        d = ""
        for ch in part:
            if not ch.isdigit():
                break
            d += ch
        if not d:
            break
        out.append(int(d))
    return tuple(out)
MIN = (0, 23)
fb = None
want = "%d.%d=" % tuple(sys.version_info[:2])
for a in sys.argv[1:]:
    if a.startswith(want):
        fb = a[len(want):]
skip = False
if fb is not None:
    # The common warm case is an old or missing trio: read its version from the dist-info next
    # to it instead of importing it, so only the trio we will use is imported.
    try:
        import importlib.util
        spec = importlib.util.find_spec("trio")
        if spec is None:
            r["trio_error"] = "ModuleNotFoundError: No module named 'trio'"
            skip = True
        elif spec.origin:
            site = os.path.dirname(os.path.dirname(spec.origin))
            names = [n for n in os.listdir(site) if n.startswith("trio-") and n.endswith(".dist-info")]
            if len(names) == 1 and vt(names[0][5:-10]) < MIN:
                r["trio"] = {"version": names[0][5:-10], "file": spec.origin}
                skip = True
    except Exception:
        pass
before = set(sys.modules)
ok = False
if not skip:
    try:
        import trio
        r["trio"] = {"version": trio.__version__, "file": trio.__file__}
        ok = vt(trio.__version__) >= MIN
    except Exception as e:
        r["trio_error"] = "%s: %s" % (type(e).__name__, e)
if fb is not None and not ok:
    deps = ("trio", "outcome", "sniffio", "attr", "attrs", "idna", "sortedcontainers", "exceptiongroup")
    for name in list(sys.modules):
        if name not in before and name.split(".")[0] in deps:
            del sys.modules[name]
    # Where PYTHONPATH would put it: after the script's own directory entry.
    sys.path.insert(1 if sys.path and sys.path[0] == "" else 0, fb)
    try:
        import trio
        r["provisioned"] = {"version": trio.__version__, "file": trio.__file__}
    except Exception as e:
        pass
sys.stdout.write("\n@@trio-present-probe@@" + json.dumps(r) + "\n")
"#;

#[derive(serde::Deserialize)]
struct RawProbe {
    version: Vec<u32>,
    executable: String,
    trio: Option<RawTrio>,
    trio_error: Option<String>,
    provisioned: Option<RawTrio>,
}

#[derive(serde::Deserialize)]
struct RawTrio {
    version: String,
    file: String,
}

impl From<RawTrio> for TrioInfo {
    fn from(t: RawTrio) -> Self {
        TrioInfo {
            version: t.version,
            file: PathBuf::from(t.file),
        }
    }
}

/// Runs the interpreter once and reports its version and its trio. `extra_path` is prepended
/// to PYTHONPATH, as [`Interpreter::command`](super::Interpreter::command) would.
pub fn probe(python: &Path, extra_path: Option<&Path>) -> Result<Probe, PythonError> {
    probe_with(python, extra_path, &[])
}

/// `candidates` are `(major, minor, dir)` provisioned directories to try when the
/// interpreter's own trio will not do.
fn probe_with(
    python: &Path,
    extra_path: Option<&Path>,
    candidates: &[(u32, u32, PathBuf)],
) -> Result<Probe, PythonError> {
    let mut cmd = python_command(python, extra_path);
    cmd.arg("-c").arg(PROBE_SCRIPT);
    for (major, minor, dir) in candidates {
        let mut arg = OsString::from(format!("{major}.{minor}="));
        arg.push(dir);
        cmd.arg(arg);
    }
    let ran = run_limited(&mut cmd, PROBE_TIMEOUT).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => PythonError::NotFound {
            path: python.to_path_buf(),
            origin: None,
        },
        _ => PythonError::NotRunnable {
            path: python.to_path_buf(),
            detail: e.to_string(),
        },
    })?;
    let failed = |detail: String| PythonError::ProbeFailed {
        path: python.to_path_buf(),
        detail,
    };
    match ran.status {
        None => {
            return Err(failed(format!(
                "no answer within {} s",
                PROBE_TIMEOUT.as_secs()
            )))
        }
        Some(st) if !st.success() => return Err(failed(last_line(&ran.stderr))),
        Some(_) => {}
    }
    let line = ran
        .stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(PROBE_MARK))
        .ok_or_else(|| {
            failed(match ran.stdout.trim() {
                "" => "it printed nothing".to_string(),
                _ => format!("unexpected output: {}", last_line(&ran.stdout)),
            })
        })?;
    let raw: RawProbe =
        serde_json::from_str(line).map_err(|e| failed(format!("unreadable probe answer ({e})")))?;
    let v = |i: usize| raw.version.get(i).copied().unwrap_or(0);
    Ok(Probe {
        version: PyVersion {
            major: v(0),
            minor: v(1),
            micro: v(2),
        },
        executable: PathBuf::from(raw.executable),
        trio: raw.trio.map(Into::into),
        trio_error: raw.trio_error,
        provisioned: raw.provisioned.map(Into::into),
    })
}

/// [`probe`] for a choice, so that "not found" can say where the path came from.
pub(crate) fn probe_choice(
    choice: &PythonChoice,
    candidates: &[(u32, u32, PathBuf)],
) -> Result<Probe, PythonError> {
    if choice.origin == PythonOrigin::NotOnPath {
        // Spawning the bare name would search *our* PATH, which the choice already did.
        return Err(PythonError::NotFound {
            path: choice.path.clone(),
            origin: Some(choice.origin),
        });
    }
    probe_with(&choice.path, None, candidates).map_err(|e| match e {
        PythonError::NotFound { path, .. } => PythonError::NotFound {
            path,
            origin: Some(choice.origin),
        },
        other => other,
    })
}

/// Numeric prefix of each dotted component: `0.23.0rc1` -> `[0, 23, 0]`.
fn version_tuple(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.split('.').take(3) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse() {
            Ok(n) => out.push(n),
            Err(_) => break,
        }
    }
    out
}

/// The trio package directory (`file` is its `__init__.py`).
pub(super) fn package_dir(t: &TrioInfo) -> PathBuf {
    t.file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| t.file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trio_versions() {
        assert_eq!(version_tuple("0.22.2"), vec![0, 22, 2]);
        assert_eq!(version_tuple("0.23.0rc1"), vec![0, 23, 0]);
        let t = |v: &str| TrioInfo {
            version: v.into(),
            file: "/x/trio/__init__.py".into(),
        };
        assert!(!t("0.22.2").is_recent());
        assert!(t("0.23.0").is_recent());
        assert!(t("1.0").is_recent());
    }
}
