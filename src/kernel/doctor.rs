//! `trio-present doctor [--install]`: shows which interpreter and which trio the presenter would
//! use and where they come from, optionally installs the private trio, and proves the result
//! works with a one-second trio smoke test in a real child interpreter.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::python::{self, Interpreter, PythonChoice, PythonError};

/// Two tasks sleeping 0.5 s in one nursery: finishes in ~0.5 s only if they run concurrently.
const SMOKE_SCRIPT: &str = r#"
import time, trio
async def task(name):
    await trio.sleep(0.5)
    print("task %s done" % name)
async def main():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(task, "a")
        nursery.start_soon(task, "b")
t0 = time.monotonic()
trio.run(main)
print("nursery done in %.3f" % (time.monotonic() - t0))
"#;

/// Runs the doctor, writing its report to `out`; returns the process exit code (0 = all good).
pub fn run(python_cli: Option<&Path>, install: bool, out: &mut dyn Write) -> i32 {
    let choice = python::choose_python(python_cli);
    run_with(&python::cache_dir(), &choice, install, out)
}

/// [`run`] with the cache directory and the interpreter choice passed in.
pub(crate) fn run_with(
    cache: &Path,
    choice: &PythonChoice,
    install: bool,
    out: &mut dyn Write,
) -> i32 {
    // A broken `out` (closed pipe) must not turn into a panic; the exit code still tells.
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    // The user's own environment first, so the report says what we found before acting on it.
    let own = match python::probe_choice(choice, &[]) {
        Ok(p) => p,
        Err(e) => {
            say!(
                "python:  {} (from {})",
                choice.path.display(),
                choice.origin
            );
            say!("FAIL: {e}");
            return 1;
        }
    };
    let exe = if own.executable.is_absolute() {
        own.executable.clone()
    } else {
        choice.path.clone()
    };
    let via = if exe != choice.path {
        format!(", via {}", choice.path.display())
    } else {
        String::new()
    };
    say!(
        "python:  {} (Python {}, from {}{via})",
        exe.display(),
        own.version,
        choice.origin
    );
    say!("cache:   {}", cache.display());
    let resolved = python::resolve_detailed(cache, choice, install, &mut |line| {
        let _ = writeln!(out, "         {line}");
    });
    let interp = match resolved {
        Ok((interp, _)) => interp,
        Err(e @ PythonError::NotInstalled { .. }) => {
            say!(
                "trio:    missing; your environment has {}",
                own.trio_summary()
            );
            say!("FAIL: {e}");
            return 1;
        }
        Err(e) => {
            say!("FAIL: {e}");
            return 1;
        }
    };
    say!("trio:    {} ({})", interp.trio_version, interp.trio_source);
    if matches!(interp.trio_source, python::TrioSource::Provisioned { .. }) {
        say!("         your environment has {}", own.trio_summary());
    }
    match smoke_test(&interp) {
        Ok(elapsed) => {
            say!("smoke:   PASS (two 0.5 s tasks in one nursery finished in {elapsed:.2} s)");
            0
        }
        Err(why) => {
            say!("smoke:   FAIL ({why})");
            1
        }
    }
}

/// Runs [`SMOKE_SCRIPT`] with the resolved environment; returns trio's own elapsed time.
fn smoke_test(interp: &Interpreter) -> Result<f64, String> {
    let started = Instant::now();
    let mut child = interp
        .command()
        .args(["-c", SMOKE_SCRIPT])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", interp.path.display()))?;
    // Bounded wait: a hung interpreter must not hang the doctor.
    let limit = Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no result within {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    }
    // The script's output is a few lines, far below a pipe buffer, so reading after exit is safe.
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "exited with {}: {}",
            output.status,
            last.unwrap_or("no error output").trim()
        ));
    }
    for needed in ["task a done", "task b done"] {
        if !stdout.contains(needed) {
            return Err(format!("missing {needed:?} in output"));
        }
    }
    let elapsed: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("nursery done in "))
        .and_then(|s| s.trim().parse().ok())
        .ok_or("missing \"nursery done\" in output")?;
    // Sequential tasks would take 1.0 s; allow scheduling slack on a busy machine.
    if !(0.45..=1.5).contains(&elapsed) {
        return Err(format!("took {elapsed:.2} s, expected about 0.5 s"));
    }
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_on_this_machine_passes() {
        let mut out = Vec::new();
        let code = run(None, true, &mut out);
        let text = String::from_utf8(out).unwrap();
        eprintln!("{text}");
        assert_eq!(code, 0, "{text}");
        let probe = python::probe(&python::choose_python(None).path, None).unwrap();
        assert!(
            text.contains(&format!("Python {}", probe.version)),
            "{text}"
        );
        assert!(text.contains("PASS"), "{text}");
    }

    #[test]
    fn doctor_without_install_says_how() {
        let choice = python::choose_python(None);
        if python::probe(&choice.path, None).unwrap().trio_ok() {
            return; // The user's trio is fine here; nothing to install.
        }
        let cache = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let code = run_with(cache.path(), &choice, false, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("trio-present doctor --install"), "{text}");
        // Without --install nothing is provisioned: the cache stays empty.
        let left: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "doctor wrote {left:?}");
    }

    #[test]
    fn doctor_reports_missing_python() {
        let cache = tempfile::tempdir().unwrap();
        let choice =
            python::choose_python_from(Some(Path::new("/no/such/python")), None, None, None);
        let mut out = Vec::new();
        assert_eq!(run_with(cache.path(), &choice, false, &mut out), 1);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("FAIL: --python /no/such/python: no such file"),
            "{text}"
        );
    }
}
