//! Recordings end to end, with real Python and trio: a rehearsal (`check --record`) of the
//! reference deck's slides 12 and 37, then the presenter without Python replaying them in a
//! real pseudo-terminal at the talk's timings, `run --replay`, the asciicast export, and on a
//! small deck: a failed live run offering its recording, and a recording of edited code
//! offered with a warning. Each test has its own data directory (XDG_DATA_HOME).

mod common;

use common::{reference_deck, Pty};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

#[test]
fn the_rehearsal_is_listed_and_can_be_deleted() {
    let data = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        let status = Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    copy(&common::rehearsed().join("trio-present"), data.path());
    let deck = reference_deck();
    let deck = deck.to_str().unwrap();
    let (code, out, _) = common::run_with_data(data.path(), &["recordings", deck]);
    assert_eq!(code, 0);
    for slide in ["12", "37"] {
        let row = out
            .lines()
            .find(|l| l.trim_start().starts_with(slide))
            .unwrap_or_else(|| panic!("no row for {slide}: {out}"));
        assert!(
            row.contains("check") && row.contains(" ok ") && row.contains("current"),
            "{row}"
        );
    }
    assert!(out.contains("2 recordings"), "{out}");
    let (code, out, _) = common::run_with_data(
        data.path(),
        &["recordings", deck, "--slides", "37", "--delete"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("deleted 1 recordings"), "{out}");
    let (_, out, _) = common::run_with_data(data.path(), &["recordings", deck]);
    assert!(
        out.contains("1 recordings") && !out.contains("   37 "),
        "{out}"
    );
}

#[test]
fn without_python_the_presenter_replays_with_the_talks_timing() {
    let data = common::rehearsed();
    let deck = reference_deck();
    let mut pty = Pty::spawn_env(
        &[
            "--trust",
            deck.to_str().unwrap(),
            "--slide",
            "12",
            "--python",
            "/nonexistent/python3",
        ],
        100,
        30,
        &[("XDG_DATA_HOME", data.to_str().unwrap())],
    );
    pty.wait_for("12 / 57", T);
    pty.wait_for("no Python", T);
    let start = Instant::now();
    pty.send(b"r");
    pty.wait_for("REPLAY of", T);
    pty.wait_for("⟲ replay", T);
    // (`All done` is in the slide's code too: the run's end is `done in` on the pane.)
    pty.wait_for("done in 4.0", T);
    let all_done = start.elapsed().as_secs_f64();
    assert!(
        (3.5..6.0).contains(&all_done),
        "All done after {all_done:.2} s"
    );
    let screen = pty.contents();
    assert!(
        screen.contains("sleepy(4)") && screen.contains("main()"),
        "{screen}"
    );
    assert!(
        screen.contains("4.0"),
        "the recorded times are shown: {screen}"
    );

    // Slide 37: the cancellation at 3 s, in the output and the tree.
    pty.send(b"37\r");
    pty.wait_for("37 / 57", T);
    let start = Instant::now();
    pty.send(b"r");
    pty.wait_for("move_on_after(3) fired", T);
    let fired = start.elapsed().as_secs_f64();
    assert!((2.5..5.0).contains(&fired), "fired after {fired:.2} s");
    pty.wait_for("done in 3.0", T);

    // r restarts the replay; Esc stops it.
    pty.send(b"r");
    pty.wait_gone("done in", T);
    pty.wait_for("Sleeping for 10", T);
    pty.send(b"\x1b");
    pty.wait_for("replay stopped", T);
    pty.wait_for("stopped", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn run_replay_prints_the_recording_like_a_live_run() {
    let deck = reference_deck();
    let data = common::rehearsed();
    let start = Instant::now();
    let (code, out, err) = common::run_with_data(
        data,
        &["run", deck.to_str().unwrap(), "--slide", "12", "--replay"],
    );
    let took = start.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("⟲ replay of the run recorded"), "{out}");
    let done = out.lines().find(|l| l.ends_with("All done")).expect(&out);
    assert!(done.contains("main()"), "{done}");
    let t: f64 = done.split_whitespace().next().unwrap().parse().unwrap();
    assert!((3.9..4.3).contains(&t), "{done}");
    assert!(
        (3.5..7.0).contains(&took),
        "original timing: took {took:.2} s"
    );
    // Nothing recorded for slide 33: one line, exit 1.
    let (code, out, _) = common::run_with_data(
        common::rehearsed(),
        &["run", deck.to_str().unwrap(), "--slide", "33", "--replay"],
    );
    assert_eq!(code, 1);
    assert!(out.contains("no recording of slide 33"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn the_cast_of_slide_37_is_asciicast_v2_and_shows_the_cancellation_at_3_s() {
    let dir = tempfile::tempdir().unwrap();
    let cast = dir.path().join("s37.cast");
    let deck = reference_deck();
    let (code, out, err) = common::run_with_data(
        common::rehearsed(),
        &[
            "export",
            deck.to_str().unwrap(),
            "--slide",
            "37",
            "--cast",
            cast.to_str().unwrap(),
            "--size",
            "100x30",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&cast).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], 100);
    assert_eq!(header["height"], 30);
    let mut last = 0.0;
    let mut frames = Vec::new();
    for line in lines {
        let ev: serde_json::Value = serde_json::from_str(line).unwrap();
        let arr = ev.as_array().expect("event lines are arrays");
        assert_eq!(arr.len(), 3, "{line}");
        let t = arr[0].as_f64().expect("time");
        assert_eq!(arr[1], "o");
        let data = arr[2].as_str().expect("data").to_string();
        assert!(t >= last, "times never go back: {t} after {last}");
        last = t;
        frames.push((t, data));
    }
    let at = |what: &str| {
        frames
            .iter()
            .find(|(_, d)| d.contains(what))
            .unwrap_or_else(|| panic!("{what:?} never shown"))
            .0
    };
    let started = at("running");
    let fired = at("move_on_after(3) fired");
    assert!(
        (2.8..3.4).contains(&(fired - started)),
        "fired {:.2} s into the run",
        fired - started
    );
    assert!(at("✔ done") >= fired);
    // The frames are the presenter's: its slide text and status bar.
    assert!(at("37 / 57") <= started);

    // Several slides in one cast, in order; a slide with no recording is one line, exit 1.
    let (code, _, err) = common::run_with_data(
        common::rehearsed(),
        &[
            "export",
            deck.to_str().unwrap(),
            "--slides",
            "12,37",
            "--cast",
            cast.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&cast).unwrap();
    let twelve = text.find("12 / 57").unwrap();
    let thirty_seven = text.find("37 / 57").unwrap();
    assert!(twelve < thirty_seven);
    let (code, _, err) = common::run_with_data(
        common::rehearsed(),
        &[
            "export",
            deck.to_str().unwrap(),
            "--slides",
            "12,33",
            "--cast",
            cast.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no recording of slide 33"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

const SMALL: &str = "# Small\n====\n```exec\nimport os\nasync def main():\n    if os.environ.get('VENUE_BROKEN'):\n        raise RuntimeError('venue machine is broken')\n    print('hello from the rehearsal')\n```\n";

fn small_deck(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("small.md");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_failed_live_run_offers_the_recording_and_edited_code_warns() {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deck = small_deck(dir.path(), SMALL);
    let deck_s = deck.to_str().unwrap();
    let (code, out, err) =
        common::run_with_data(data.path(), &["run", "--trust", deck_s, "--slide", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    let env = [
        ("XDG_DATA_HOME", data.path().to_str().unwrap()),
        ("VENUE_BROKEN", "1"),
    ];
    let mut pty = Pty::spawn_env(&["--trust", deck_s, "--slide", "2"], 100, 30, &env);
    pty.wait_for("2 / 2", T);
    pty.wait_for("py ", T);
    pty.send(b"r");
    pty.wait_for("venue machine is broken", T);
    pty.wait_for("R plays it", T);
    pty.send(b"R");
    pty.wait_for("REPLAY of", T);
    pty.wait_for("hello from the rehearsal", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());

    // Edited since: offered with a warning, played only on a second R.
    std::fs::write(&deck, SMALL.replace("print('hello", "print('HELLO")).unwrap();
    let env = [("XDG_DATA_HOME", data.path().to_str().unwrap())];
    let mut pty = Pty::spawn_env(&["--offline", deck_s, "--slide", "2"], 100, 30, &env);
    pty.wait_for("offline", T);
    pty.send(b"r");
    pty.wait_for("older code", T);
    assert!(!pty.contents().contains("REPLAY"), "{}", pty.contents());
    pty.send(b"R");
    pty.wait_for("REPLAY of", T);
    pty.wait_for("the slide's code changed", T);
    pty.wait_for("hello from the rehearsal", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}
