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

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Oldest Python we support.
pub const MIN_PYTHON: (u32, u32) = (3, 9);
/// Oldest trio we accept from the user's own environment.
pub const MIN_TRIO: (u32, u32) = (0, 23);
/// The marker written last into a provisioned directory: its presence means "complete".
pub const MARKER: &str = ".complete";

const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const PIP_TIMEOUT: Duration = Duration::from_secs(180);
/// Leftover temporary directories older than this belong to dead presenters (pip is limited
/// to 180 s), so they are removed when we next provision.
const STALE_AFTER: Duration = Duration::from_secs(3600);
/// Prefix of the probe's result line, so stray output from sitecustomize etc. is ignored.
const PROBE_MARK: &str = "@@trio-present-probe@@";

/// The trio release we install for a given Python (trio 0.32 dropped Python 3.9).
pub fn pin_for(major: u32, minor: u32) -> &'static str {
    if (major, minor) >= (3, 10) {
        "0.35.0"
    } else {
        "0.31.0"
    }
}

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

// ---------------------------------------------------------------------------------------------
// Choosing

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

fn venv_python(venv: &Path) -> PathBuf {
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

// ---------------------------------------------------------------------------------------------
// Cache directory

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

// ---------------------------------------------------------------------------------------------
// Running children with a time limit

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

struct Ran {
    /// `None` when the time limit killed it.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to completion with its output captured, killing its whole process group after
/// `limit` (pip may start children of its own).
fn run_limited(cmd: &mut Command, limit: Duration) -> io::Result<Ran> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own group: killable as a whole, and a Ctrl-C in the terminal is ours to handle.
        cmd.process_group(0);
    }
    let mut child = cmd.spawn()?;
    let (tx, rx) = mpsc::channel::<(usize, Vec<u8>)>();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    let mut open = 0;
    for (i, pipe) in pipes.into_iter().enumerate() {
        if let Some(mut pipe) = pipe {
            open += 1;
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                let _ = tx.send((i, buf));
            });
        }
    }
    drop(tx);
    let deadline = Instant::now() + limit;
    let mut bufs = [Vec::new(), Vec::new()];
    let mut timed_out = false;
    // Waiting on the pipes' EOF (not polling) keeps the fast path fast.
    while open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, b)) => {
                bufs[i] = b;
                open -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // The pipes are closed, so the child has (almost always) exited; a daemonising child that
    // closed its output still gets the remaining time.
    let status = loop {
        if timed_out {
            kill_tree(&mut child);
            let _ = child.wait();
            break None;
        }
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if Instant::now() >= deadline {
            timed_out = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(Ran {
        status,
        stdout: text(&bufs[0]),
        stderr: text(&bufs[1]),
    })
}

fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: plain syscall on the group we created for this child.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
    }
    let _ = child.kill();
}

/// The last line worth showing from a child's stderr (skipping pip's warnings and notices).
fn last_line(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .rfind(|l| !l.starts_with("WARNING:") && !l.starts_with("[notice]"))
        .or_else(|| lines().next_back())
        .unwrap_or("no error output")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Probing

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
/// to PYTHONPATH, as [`Interpreter::command`] would.
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

fn package_dir(t: &TrioInfo) -> PathBuf {
    t.file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| t.file.clone())
}

// ---------------------------------------------------------------------------------------------
// Provisioning

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
fn provision_spec(
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
    let result = pip_install(python, &tmp, requirement);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if !tmp.join("trio").join("__init__.py").is_file() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(PythonError::PipFailed {
            path: python.to_path_buf(),
            hint: "",
            detail: "pip reported success but trio/__init__.py is missing".to_string(),
        });
    }
    // The marker goes in last: a directory with it is complete by construction.
    let marker = format!("{requirement}\npython {version}\n");
    if let Err(e) = std::fs::write(tmp.join(MARKER), marker) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(cache_err(e));
    }
    publish(&tmp, &final_dir, cache).map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        cache_err(e)
    })?;
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

// ---------------------------------------------------------------------------------------------
// Resolving

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

/// Complete provisioned directories in `cache`, for the combined probe. Reading one directory
/// is cheap next to starting an interpreter.
fn provisioned_candidates(cache: &Path) -> Vec<(u32, u32, PathBuf)> {
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
    if first.version
        < (PyVersion {
            major: MIN_PYTHON.0,
            minor: MIN_PYTHON.1,
            micro: 0,
        })
    {
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
        let interp = provisioned(t);
        return Ok((interp, first));
    }
    if !is_complete(&dir) {
        if !allow_install {
            return Err(PythonError::NotInstalled {
                path: exe,
                found: first.trio_summary(),
            });
        }
        provision_spec(
            cache,
            &exe,
            first.version,
            &format!(
                "trio=={}",
                pin_for(first.version.major, first.version.minor)
            ),
            progress,
        )?;
    }
    // Confirm exactly as children will run: the directory on PYTHONPATH.
    let check = probe(&exe, Some(&dir))?;
    match check.trio.as_ref() {
        Some(t) if from_dir(t) => {
            let interp = provisioned(t);
            Ok((interp, first))
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// The real interpreter of this machine, as the presenter would pick it.
    fn real_python() -> PathBuf {
        let choice = choose_python(None);
        assert_ne!(
            choice.origin,
            PythonOrigin::NotOnPath,
            "tests need python3 on PATH"
        );
        choice.path
    }

    fn no_tmp_left(cache: &Path) -> bool {
        std::fs::read_dir(cache)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".tmp-"))
    }

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
    fn versions_and_pins() {
        assert_eq!(version_tuple("0.22.2"), vec![0, 22, 2]);
        assert_eq!(version_tuple("0.23.0rc1"), vec![0, 23, 0]);
        let t = |v: &str| TrioInfo {
            version: v.into(),
            file: "/x/trio/__init__.py".into(),
        };
        assert!(!t("0.22.2").is_recent());
        assert!(t("0.23.0").is_recent());
        assert!(t("1.0").is_recent());
        assert_eq!(pin_for(3, 9), "0.31.0");
        assert_eq!(pin_for(3, 13), "0.35.0");
        let v = PyVersion {
            major: 3,
            minor: 11,
            micro: 7,
        };
        assert_eq!(provision_dir_name(v), "py3.11-trio0.35.0");
    }

    #[test]
    fn last_line_skips_pip_noise() {
        let err =
            "ERROR: No matching distribution found for trio==9\nWARNING: Running pip as root\n";
        assert_eq!(
            last_line(err),
            "ERROR: No matching distribution found for trio==9"
        );
        assert_eq!(last_line(""), "no error output");
    }

    #[test]
    fn missing_interpreter_is_one_actionable_line() {
        let e = probe(Path::new("/no/such/python3"), None).unwrap_err();
        assert!(matches!(e, PythonError::NotFound { .. }), "{e:?}");

        let tmp = tempfile::tempdir().unwrap();
        let choice = choose_python_from(None, None, None, Some(tmp.path().into()));
        let e = resolve_in(tmp.path(), &choice, &mut |_| {}).unwrap_err();
        let msg = e.to_string();
        assert_eq!(
            msg,
            "python3 not found on PATH; install Python 3.9+ or pass --python PATH"
        );

        let choice = choose_python_from(Some(Path::new("/no/such/py")), None, None, None);
        let msg = resolve_in(tmp.path(), &choice, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("--python /no/such/py") && !msg.contains('\n'),
            "{msg}"
        );
    }

    #[test]
    fn probe_reports_version_and_trio() {
        let p = probe(&real_python(), None).unwrap();
        assert!(
            p.version
                >= PyVersion {
                    major: 3,
                    minor: 9,
                    micro: 0
                }
        );
        assert!(p.executable.is_absolute());
        assert!(p.trio.is_some() || p.trio_error.is_some());
    }

    #[test]
    fn provision_installs_then_reuses() {
        let python = real_python();
        let cache = tempfile::tempdir().unwrap();
        let first = probe(&python, None).unwrap();
        let mut lines = Vec::new();
        let t0 = Instant::now();
        let (dir, installed) = provision_spec(
            cache.path(),
            &python,
            first.version,
            &format!(
                "trio=={}",
                pin_for(first.version.major, first.version.minor)
            ),
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
        let cold = t0.elapsed();
        assert!(installed);
        assert!(is_complete(&dir));
        assert!(lines[0].starts_with("installing trio "), "{lines:?}");
        let check = probe(&python, Some(&dir)).unwrap();
        let t = check.trio.expect("trio imports from the provisioned dir");
        assert!(t.file.starts_with(&dir), "{t:?}");
        assert_eq!(t.version, pin_for(first.version.major, first.version.minor));

        let t1 = Instant::now();
        let again = provision_into(cache.path(), &python, &first, &mut |l| panic!("{l}")).unwrap();
        assert_eq!(again, dir);
        assert!(t1.elapsed() < Duration::from_millis(100));
        assert!(no_tmp_left(cache.path()));
        eprintln!("provision cold {:?}, reuse {:?}", cold, t1.elapsed());
    }

    #[test]
    fn concurrent_provisioning_leaves_one_valid_dir() {
        let python = real_python();
        let first = probe(&python, None).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (python, first, barrier) = (python.clone(), first.clone(), barrier.clone());
                let cache = cache.path().to_path_buf();
                std::thread::spawn(move || {
                    barrier.wait();
                    provision_into(&cache, &python, &first, &mut |_| {})
                })
            })
            .collect();
        let dirs: Vec<PathBuf> = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect();
        assert_eq!(dirs[0], dirs[1]);
        assert!(is_complete(&dirs[0]));
        assert!(no_tmp_left(cache.path()));
        let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
        assert_eq!(entries.len(), 1);
        let t = probe(&python, Some(&dirs[0])).unwrap().trio.unwrap();
        assert!(t.file.starts_with(&dirs[0]));
    }

    #[test]
    fn resolve_cold_then_warm() {
        let choice = choose_python(None);
        let cache = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let cold = resolve_in(cache.path(), &choice, &mut |l| eprintln!("progress: {l}")).unwrap();
        let cold_t = t0.elapsed();
        let t1 = Instant::now();
        let warm = resolve_in(cache.path(), &choice, &mut |l| panic!("{l}")).unwrap();
        let warm_t = t1.elapsed();
        eprintln!("resolve cold {cold_t:?}, warm {warm_t:?}: {warm:?}");
        assert_eq!(cold, warm);
        assert!(warm.path.is_absolute());
        // The interpreter's command really imports the trio we reported.
        let out = warm
            .command()
            .args([
                "-c",
                "import trio, sys; sys.stdout.write(trio.__version__ + ' ' + trio.__file__)",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(&warm.trio_version), "{text}");
        match &warm.trio_source {
            TrioSource::Provisioned { dir } => {
                assert!(text.contains(dir.to_str().unwrap()), "{text}");
                assert_eq!(warm.extra_path.as_ref(), Some(dir));
            }
            TrioSource::User { .. } => assert!(warm.extra_path.is_none()),
        }
    }

    #[test]
    fn not_installed_without_permission() {
        let choice = choose_python(None);
        if probe(&choice.path, None).unwrap().trio_ok() {
            return; // This machine's own trio is fine; nothing would be installed.
        }
        let cache = tempfile::tempdir().unwrap();
        let e = resolve_detailed(cache.path(), &choice, false, &mut |l| panic!("{l}")).unwrap_err();
        assert!(matches!(e, PythonError::NotInstalled { .. }), "{e:?}");
        assert!(e.to_string().contains("trio-present doctor --install"));
    }

    #[test]
    fn pip_failure_is_one_line() {
        let python = real_python();
        let first = probe(&python, None).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let e = provision_spec(
            cache.path(),
            &python,
            first.version,
            "trio==0.0.0.dev999",
            &mut |_| {},
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, PythonError::PipFailed { .. }), "{e:?}");
        assert!(
            msg.starts_with("could not install trio with ") && !msg.contains('\n'),
            "{msg}"
        );
        assert!(
            msg.contains("-m pip install trio' or pass --python"),
            "{msg}"
        );
        assert!(no_tmp_left(cache.path()));
    }

    #[test]
    fn missing_pip_is_reported() {
        let python = real_python();
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("venv");
        let ok = Command::new(&python)
            .args(["-m", "venv", "--without-pip"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipping: cannot create a virtualenv");
            return;
        }
        let vpy = venv_python(&venv);
        let first = probe(&vpy, None).unwrap();
        let e = provision_into(&tmp.path().join("cache"), &vpy, &first, &mut |_| {}).unwrap_err();
        assert!(matches!(e, PythonError::PipMissing { .. }), "{e:?}");
        assert!(!e.to_string().contains('\n'));
    }
}
