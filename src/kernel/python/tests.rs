//! Tests against this machine's real `python3` (and its pip, for provisioning): probing,
//! provisioning, and resolving end to end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::choose::venv_python;
use super::provision::provision_spec;
use super::*;

/// The real interpreter of this machine, as the presenter would pick it.
fn real_python() -> PathBuf {
    let choice = choose_python(None);
    assert_ne!(
        choice.origin,
        PythonOrigin::NotOnPath,
        "tests need python3 on PATH"
    );
    // As the resolver does: the interpreter itself (sys.executable), not a pyenv shim, whose
    // `python -m pip install` rehashes the shims and fails when another install holds the lock.
    match probe(&choice.path, None) {
        Ok(p) if p.executable.is_absolute() && p.executable.is_file() => p.executable,
        _ => choice.path,
    }
}

fn no_tmp_left(cache: &Path) -> bool {
    std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".tmp-"))
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
