//! Set-up re-creates the definitions of earlier slides and never replays their demos: a
//! workshop deck whose slides are standalone top-level demos (an endless loop, a long sleep, a
//! flood, `os._exit`, a subprocess) runs every slide in any order, quickly; `exec replay`
//! forces a block whole; set-up output never reaches the run; `check` blames the set-up
//! slide; a slow set-up is visible in the presenter and Esc stops it, naming slide and line.
//! Real Python, real trio, the real binary (headless, and in a real pty for the screen).

mod common;

use common::{processes_with, Pty};
use serde_json::Value;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// Writes a deck of one exec block per slide (with optional extra info-string words).
fn deck(slides: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workshop.md");
    let text: Vec<String> = slides
        .iter()
        .enumerate()
        .map(|(i, (words, code))| format!("# Step {}\n\n```exec{words}\n{code}\n```\n", i + 1))
        .collect();
    std::fs::write(&path, text.join("\n====\n\n")).unwrap();
    (dir, path)
}

/// `run --json` of one slide: (exit code, events, stderr, wall time).
fn run(deck: &std::path::Path, slide: usize, timeout: &str) -> (i32, Vec<Value>, String, Duration) {
    let start = Instant::now();
    let (code, out, err) = common::run(&[
        "run",
        "--trust",
        deck.to_str().unwrap(),
        "--slide",
        &slide.to_string(),
        "--json",
        "--timeout",
        timeout,
    ]);
    let events = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (code, events, err, start.elapsed())
}

fn printed(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["ev"] == "out" || e["ev"] == "raw")
        .filter_map(|e| e["text"].as_str())
        .collect()
}

/// Seconds from the first `setup` event to the one that ends set-up.
fn setup_seconds(events: &[Value]) -> f64 {
    let setups: Vec<&Value> = events.iter().filter(|e| e["ev"] == "setup").collect();
    if setups.is_empty() {
        return 0.0; // the first slide has nothing to set up
    }
    let first = setups.first().and_then(|e| e["t"].as_f64()).unwrap_or(0.0);
    let end = setups
        .iter()
        .find(|e| e["slide"].is_null())
        .and_then(|e| e["t"].as_f64())
        .expect("set-up ended");
    end - first
}

const MARK: &str = "987601";

fn workshop() -> Vec<(&'static str, String)> {
    vec![
        ("", "import os, subprocess, time\nprint('step one')".into()),
        (
            "",
            "def helper():\n    return 41\nwhile True:\n    pass".into(),
        ),
        ("", "time.sleep(300)\ncounter = helper() + 1".into()),
        ("", "for i in range(300000):\n    print(i)\nbig = 1".into()),
        (
            "",
            "import trio\nasync def main():\n    print('counter is', counter)\ntrio.run(main)"
                .into(),
        ),
        ("", "print('exiting')\nos._exit(3)".into()),
        (
            "",
            format!("subprocess.Popen(['sleep', '{MARK}'])\nsizes: list = [1, 2]"),
        ),
        (
            "",
            "leaked = os.write(1, b'set-up wrote to fd 1\\n')\nos.write(2, b'fd 2 too\\n')".into(),
        ),
        (" replay", "print('replayed whole')\nwhole = 7".into()),
        (
            "",
            "print('last', counter, helper(), big, sizes, whole, leaked)".into(),
        ),
    ]
}

#[test]
fn every_slide_of_a_workshop_deck_runs_in_any_order_with_quick_set_up() {
    let slides = workshop();
    let refs: Vec<(&str, &str)> = slides.iter().map(|(w, c)| (*w, c.as_str())).collect();
    let (_dir, path) = deck(&refs);
    // Later slides first: each replays every earlier one as set-up.
    for slide in [10, 9, 8, 7, 6, 5, 1] {
        let (code, events, err, took) = run(&path, slide, "20");
        let text = printed(&events);
        let setup = setup_seconds(&events);
        eprintln!("slide {slide}: exit {code}, {took:?}, set-up {setup:.3} s");
        assert!(
            took < Duration::from_secs(15),
            "slide {slide} took {took:?}: {text}\n{err}"
        );
        // Generous: the claim (< 100 ms) is measured by the bench, not here.
        assert!(setup < 2.0, "slide {slide}: set-up took {setup} s");
        // What each slide prints itself is not a leak.
        let own = |leak: &str| match slide {
            1 => leak == "step one",
            8 => leak != "step one" && leak != "replayed whole",
            9 => leak == "replayed whole",
            _ => false,
        };
        for leak in [
            "step one",
            "set-up wrote to fd 1",
            "fd 2 too",
            "replayed whole",
        ] {
            assert!(
                own(leak) || !text.contains(leak),
                "slide {slide}: set-up output {leak:?} reached the run: {text}"
            );
        }
        match slide {
            10 => assert!(text.contains("last 42 41 1 [1, 2] 7 21"), "{text}"),
            5 => assert!(text.contains("counter is 42"), "{text}"),
            6 => assert!(text.contains("exiting"), "{text}"),
            _ => {}
        }
    }
    // Slide 7's own Popen ran in its own run only, and is gone with it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with(MARK).is_empty() {
        assert!(Instant::now() < deadline, "slide 7's subprocess survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_hanging_set_up_is_stopped_naming_its_slide_and_line() {
    let (_dir, path) = deck(&[
        ("", "import time\nready = True\npause = time.sleep(300)"),
        ("", "print('never printed')"),
    ]);
    // The timeout leaves room for a slow start (a loaded CI machine takes seconds to import
    // trio): the hang must be in set-up when the stop comes.
    let (code, events, err, took) = run(&path, 2, "8");
    let infos: Vec<&str> = events
        .iter()
        .filter(|e| e["ev"] == "info")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(code, 124, "{infos:?}\n{err}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    // The deck line of `pause = ...`: "# Step 1", "", "```exec", "import time", ... line 6.
    assert!(
        infos.contains(&"stopped during set-up of slide 1 (line 6)"),
        "{infos:?}"
    );
    assert!(!printed(&events).contains("never printed"));
}

#[test]
fn check_blames_the_set_up_slide_and_marks_the_slide_not_run() {
    let (_dir, path) = deck(&[
        ("", "import time\npause = time.sleep(300)"),
        ("", "print('two')"),
        ("", "oops = 1 / 0"),
        ("", "print('four')"),
    ]);
    let (code, out, err) = common::run(&[
        "check",
        "--trust",
        path.to_str().unwrap(),
        "--slides",
        "2,4",
        "--timeout",
        "8",
        "--json",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let rows = report["slides"].as_array().unwrap();
    for row in rows {
        assert_eq!(row["result"], "not_run", "{row}");
        assert_eq!(row["setup_slide"], 1, "{row}");
        let detail = row["detail"].as_str().unwrap();
        assert!(
            detail.contains("set-up of slide 1 did not finish"),
            "{detail}"
        );
    }
    // Once slide 1 is fixed, slide 4 is blamed on slide 3's error; slide 3 is its own error.
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("time.sleep(300)", "1"),
    )
    .unwrap();
    let (code, out, err) = common::run(&["check", "--trust", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}\n{err}");
    let row = |n: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(n))
            .unwrap_or_else(|| panic!("no row {n}: {out}"))
            .to_string()
    };
    assert!(row("1 ").contains("ok"), "{out}");
    assert!(row("2 ").contains("ok"), "{out}");
    assert!(row("3 ").contains("ERROR"), "{out}");
    let four = row("4 ");
    assert!(four.contains("NOT RUN"), "{out}");
    assert!(
        four.contains("set-up of slide 3 failed: ZeroDivisionError"),
        "{out}"
    );
}

#[test]
fn a_slow_set_up_is_shown_in_the_presenter_and_esc_stops_it() {
    let (_dir, path) = deck(&[
        ("", "import time\nwarm = time.sleep(300)"),
        ("", "print('slide', 'two ran')"),
    ]);
    let mut pty = Pty::spawn(
        &["--trust", path.to_str().unwrap(), "--slide", "2"],
        100,
        30,
    );
    pty.wait_for("Step 2", T);
    pty.send(b"r");
    pty.wait_for("set-up: slide 1", T);
    pty.wait_for("Esc stops", T);
    pty.send(b"\x1b");
    pty.wait_for("stopped during set-up of slide 1 (line 5)", T);
    assert!(!pty.contents().contains("slide two ran"));
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn an_earlier_input_demo_defines_its_name_without_waiting_or_failing() {
    let (_dir, path) = deck(&[
        ("", "name = input('name? ')\nprint('hi', name)"),
        ("", "print('later slide sees', repr(name))"),
    ]);
    let (code, events, err, took) = run(&path, 2, "20");
    let text = printed(&events);
    assert_eq!(code, 0, "{text}\n{err}");
    assert!(text.contains("later slide sees ''"), "{text}");
    assert!(!text.contains("name?"), "set-up's prompt leaked: {text}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}
