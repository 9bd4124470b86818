//! Prepared runs, in a real pty with real Python and trio: landing on an exec slide hands its
//! set-up to the warm interpreter at once, showing nothing; `r` then starts that very
//! interpreter, with the run's clock starting at the key; leaving the slide kills it, and a
//! fresh one is prepared on coming back.

mod common;

use common::{word_after, zombie, Pty};
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// Pids the set-up of slide 1 wrote to `log`, one per interpreter that did it.
fn pids(log: &Path) -> Vec<i32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Waits until `log` holds `n` pids; returns them.
fn wait_pids(log: &Path, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + T;
    loop {
        let found = pids(log);
        if found.len() >= n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{n} set-ups never happened: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_dead(pid: i32) {
    let deadline = Instant::now() + T;
    while !zombie(pid) {
        assert!(
            Instant::now() < deadline,
            "prepared interpreter {pid} outlived its slide"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_run_is_prepared_on_landing_started_by_r_and_dropped_on_leaving() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pids");
    let deck = dir.path().join("prepared.md");
    let slide1 = format!(
        "import os, time\nBORN = time.monotonic()\n_ = open({:?}, 'a').write('%d\\n' % os.getpid())\nprint('slide one demo')",
        log.to_str().unwrap()
    );
    let slide2 = "import os, time\n\nasync def main():\n    print('pid', os.getpid(), 'age %.1f' % (time.monotonic() - BORN))";
    let text = format!(
        "# Step 1\n\n```exec\n{slide1}\n```\n\n====\n\n# Step 2\n\n```exec\n{slide2}\n```\n\n====\n\n# Step 3\n\nno code\n"
    );
    std::fs::write(&deck, text).unwrap();

    let mut pty = Pty::spawn(
        &["--trust", deck.to_str().unwrap(), "--slide", "2"],
        100,
        30,
    );
    pty.wait_for("Step 2", T);
    let first = wait_pids(&log, 1)[0];
    // Prepared, and nothing of it on screen: no output, no set-up progress.
    let screen = pty.contents();
    assert!(
        !screen.contains("pid ") && !screen.contains("set-up"),
        "{screen}"
    );
    assert!(
        !zombie(first),
        "the prepared interpreter {first} is not alive"
    );

    // Leaving the slide throws it away; coming back prepares a fresh one.
    pty.send(b"\x1b[C");
    pty.wait_for("Step 3", T);
    wait_dead(first);
    pty.send(b"\x1b[D");
    pty.wait_for("Step 2", T);
    let second = wait_pids(&log, 2)[1];
    assert_ne!(first, second);
    let prepared_at = Instant::now();
    // The set-up is older than the key by at least this pause.
    std::thread::sleep(Duration::from_millis(1500));
    pty.send(b"r");
    pty.wait_for(&format!("pid {second} age"), T);
    let row = pty
        .contents()
        .lines()
        .find(|l| l.contains(&format!("pid {second} age")))
        .unwrap()
        .to_string();
    let age: f64 = word_after(&row, "age ").unwrap_or_else(|| panic!("no age in {row:?}"));
    assert!(
        age >= 1.4 && age <= prepared_at.elapsed().as_secs_f64() + 1.0,
        "set-up {age} s before the output: {row:?}"
    );
    // The run's clock starts at `r`, not when it was prepared: the line's time tag is small.
    let tag: f64 = row
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no time tag in {row:?}"));
    assert!(tag < 1.0, "time tag {tag} counts the preparation: {row:?}");
    assert!(!pty.contents().contains("slide one demo"));

    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    for pid in pids(&log) {
        wait_dead(pid);
    }
}
