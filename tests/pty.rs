//! The presenter in a real pseudo-terminal: it starts, navigates, quits, and leaves the
//! terminal as it found it (also on SIGTERM and SIGHUP).

mod common;

use common::{reference_deck, Pty};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[test]
fn right_shows_slide_two_and_q_restores_the_terminal() {
    let deck = reference_deck();
    let mut pty = Pty::spawn(&["--trust", deck.to_str().unwrap()], 100, 30);
    pty.wait_for("async programming for humans", T);
    assert!(
        pty.alternate_screen(),
        "presenter uses the alternate screen"
    );
    assert!(pty.cursor_hidden());
    pty.send(b"\x1b[C");
    pty.wait_for("Oberländer", T);
    pty.wait_for("2 / 57", T);
    pty.send(b"q");
    let status = pty.wait_exit(T);
    assert!(status.success(), "{status:?}");
    assert!(!pty.alternate_screen(), "alternate screen left");
    assert!(!pty.cursor_hidden(), "cursor shown again");
    assert!(pty.cooked(), "raw mode left");
}

fn signal_restores(sig: i32) {
    let deck = reference_deck();
    let mut pty = Pty::spawn(&["--trust", deck.to_str().unwrap(), "--slide", "3"], 80, 24);
    pty.wait_for("Why Trio", T);
    unsafe { libc::kill(pty.child.id() as i32, sig) };
    pty.wait_exit(T);
    assert!(!pty.alternate_screen());
    assert!(!pty.cursor_hidden());
    assert!(pty.cooked());
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores(libc::SIGTERM);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores(libc::SIGHUP);
}

#[test]
fn jump_by_number_and_help_overlay() {
    let deck = reference_deck();
    let mut pty = Pty::spawn(&["--trust", deck.to_str().unwrap()], 100, 30);
    pty.wait_for("async programming", T);
    pty.send(b"33\r");
    pty.wait_for("33 / 57", T);
    pty.wait_for("def starter(nursery)", T);
    pty.send(b"?");
    pty.wait_for("previous slide", T);
    pty.send(b"\x1b");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

/// Pids of the direct children of `pid` (the interpreters the presenter started).
fn children(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // The fields after the parenthesised command: state, ppid, ...
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: u32 = rest.split(' ').nth(1).unwrap().parse().unwrap();
        if ppid == pid {
            out.push(p);
        }
    }
    out
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
        .unwrap_or(false)
}

#[test]
fn run_a_demo_stop_another_and_leave_no_process_behind() {
    let deck = reference_deck();
    let mut pty = Pty::spawn(
        &["--trust", deck.to_str().unwrap(), "--slide", "37"],
        100,
        30,
    );
    pty.wait_for("trio 0.", Duration::from_secs(60));
    pty.send(b"r");
    pty.wait_for("Sleeping for 10 seconds", T);
    pty.wait_for("All done", T);
    pty.wait_for("done in 3.0", T);

    // Slide 12 runs, then Esc stops it half-way.
    pty.send(b"12\r");
    pty.wait_for("12 / 57", T);
    pty.send(b"r");
    pty.wait_for("Slept 1 seconds", T);
    pty.send(b"\x1b");
    pty.wait_for("stopped", T);
    assert!(!pty.contents().contains("Slept 3 seconds"));

    // A run in progress when the speaker quits. (The stopped run's lines are still on screen,
    // so wait for the new run's state, not for its text.)
    pty.send(b"r");
    pty.wait_for("● running", T);
    // Looked for until seen, not sampled once: a process table read can miss a process.
    let deadline = std::time::Instant::now() + T;
    let mut kids = children(pty.child.id());
    while kids.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        kids = children(pty.child.id());
    }
    assert!(!kids.is_empty(), "a demo interpreter is running");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while kids.iter().any(|k| alive(*k)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for k in kids {
        assert!(!alive(k), "interpreter {k} outlived the presenter");
    }
}

#[test]
fn a_crashed_interpreter_is_reported_and_the_next_run_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.md");
    std::fs::write(
        &path,
        "# Crash\n====\n```exec\nimport os\nasync def main():\n    print('bye')\n    os._exit(3)\n```\n====\n```exec\nprint('fine')\n```\n",
    )
    .unwrap();
    let mut pty = Pty::spawn(
        &["--trust", path.to_str().unwrap(), "--slide", "2"],
        100,
        30,
    );
    pty.wait_for("trio 0.", Duration::from_secs(60));
    pty.send(b"r");
    pty.wait_for("interpreter exited with code 3", T);
    // Slide 3 runs slide 2's code as set-up (it only defines main), then its own.
    pty.send(b"\x1b[C");
    pty.wait_for("3 / 3", T);
    pty.send(b"r");
    pty.wait_for("done in", T);
    assert!(pty.contents().contains("fine"));
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn hot_reload_keeps_the_slide_and_survives_a_bad_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("talk.md");
    std::fs::write(&path, "# One\n====\n# Two\n====\n# Three\n").unwrap();
    let mut pty = Pty::spawn(&["--trust", path.to_str().unwrap(), "--slide", "2"], 80, 24);
    pty.wait_for("Two", T);
    std::thread::sleep(Duration::from_millis(200));

    std::fs::write(
        &path,
        "# One\n====\n# Two, edited\n====\n# Three\n====\n# Four\n",
    )
    .unwrap();
    let took = pty.wait_for("Two, edited", Duration::from_secs(5));
    assert!(took < Duration::from_secs(2), "reload took {took:?}");
    pty.wait_for("2 / 4", T);

    std::fs::write(&path, b"# One\n====\n# Tw\xff\n").unwrap();
    pty.wait_for("reload failed", Duration::from_secs(5));
    assert!(
        pty.contents().contains("Two, edited"),
        "old deck still shown"
    );

    // Shrinking the deck clamps the slide.
    pty.send(b"4\r");
    pty.wait_for("4 / 4", T);
    std::fs::write(&path, "# One\n====\n# Two\n").unwrap();
    pty.wait_for("2 / 2", Duration::from_secs(5));
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn without_python_slides_work_and_running_explains() {
    let deck = reference_deck();
    // An empty data directory: no recording stands in for the run.
    let data = tempfile::tempdir().unwrap();
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
        &[("XDG_DATA_HOME", data.path().to_str().unwrap())],
    );
    pty.wait_for("12 / 57", T);
    pty.wait_for("no Python", T);
    pty.send(b"r");
    pty.wait_for("cannot run", T);
    assert!(
        pty.contents().contains("/nonexistent/python3"),
        "{}",
        pty.contents()
    );
    pty.send(b"\x1b[C");
    pty.wait_for("13 / 57", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn echo_demo_with_the_built_in_client() {
    let text = std::fs::read_to_string(reference_deck())
        .unwrap()
        .replace("handler, 1234)", "handler, 0)");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.md");
    std::fs::write(&path, text).unwrap();
    let mut pty = Pty::spawn(
        &["--trust", path.to_str().unwrap(), "--slide", "53"],
        120,
        40,
    );
    pty.wait_for("trio 0.", Duration::from_secs(60));
    pty.send(b"r");
    pty.wait_for("listening on 127.0.0.1:", T);
    pty.wait_for("loopback only", T);
    pty.send(b"c");
    pty.wait_for("connected", T);
    pty.wait_for("typing into client 1", T);
    pty.send(b"hello trio\r");
    pty.wait_for("< hello trio", T);
    pty.wait_for("opened connection", T);
    pty.send(b"\x04"); // Ctrl-d: EOF, like nc
    pty.wait_for("connection closed from", T);
    pty.wait_for("closed by server", T);
    pty.send(b"\x1b");
    pty.wait_gone("typing into client", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

/// Consent: the first run of an unapproved deck asks (and shows hidden code on request); `y`
/// runs and remembers; the next start runs at once; an edit to the code asks again;
/// `--no-exec` never runs.
#[test]
fn consent_is_asked_once_per_code_and_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let path = dir.path().join("deck.md");
    let deck = "# Workshop\n\n```exechidden\nsecret = 'from-hidden'\n```\n====\n# Demo\n\n```exec\nprint('ran', secret)\n```\n";
    std::fs::write(&path, deck).unwrap();
    let args = [path.to_str().unwrap(), "--slide", "2"];
    let env = [("XDG_DATA_HOME", data)];

    let mut pty = Pty::spawn_env(&args, 100, 30, &env);
    pty.wait_for("Demo", T);
    pty.send(b"r");
    pty.wait_for("run this deck's code?", T);
    pty.wait_for("1 hidden block (exechidden) on slide 1", T);
    pty.send(b"h");
    pty.wait_for("secret = 'from-hidden'", T);
    pty.send(b"n");
    pty.wait_for("nothing ran", T);
    assert!(!pty.contents().contains("ran from-hidden"));
    pty.send(b"r");
    pty.wait_for("run this deck's code?", T);
    pty.send(b"y");
    pty.wait_for("ran from-hidden", Duration::from_secs(30));
    pty.send(b"q");
    pty.wait_exit(T);

    // Approved: the headless command needs no --trust now either.
    let out = common::bin()
        .args(["run", path.to_str().unwrap(), "--slide", "2"])
        .env("XDG_DATA_HOME", data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ran from-hidden"));

    // Approved: a new presenter runs at once.
    let mut pty = Pty::spawn_env(&args, 100, 30, &env);
    pty.wait_for("Demo", T);
    pty.send(b"r");
    pty.wait_for("ran from-hidden", Duration::from_secs(30));
    assert!(!pty.contents().contains("run this deck's code?"));

    // The hidden code changes under the running presenter: the next run asks again.
    std::fs::write(
        &path,
        deck.replace("from-hidden", "edited")
            .replace("# Demo", "# Demo edited"),
    )
    .unwrap();
    pty.wait_for("Demo edited", T);
    pty.send(b"r");
    pty.wait_for("run this deck's code?", T);
    pty.send(b"q");
    pty.wait_exit(T);

    // And so does a new presenter on the edited deck.
    let mut pty = Pty::spawn_env(&args, 100, 30, &env);
    pty.wait_for("Demo", T);
    pty.send(b"r");
    pty.wait_for("run this deck's code?", T);
    pty.send(b"q");
    pty.wait_exit(T);

    let mut no_exec = args.to_vec();
    no_exec.push("--no-exec");
    let mut pty = Pty::spawn_env(&no_exec, 100, 30, &env);
    pty.wait_for("Demo", T);
    pty.send(b"r");
    pty.wait_for("running code is off (--no-exec)", T);
    assert!(!pty.contents().contains("run this deck's code?"));
    pty.send(b"q");
    pty.wait_exit(T);
}

#[test]
fn keys_rebound_in_the_config_file_work_and_the_help_shows_them() {
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("trio-present")).unwrap();
    std::fs::write(
        config.path().join("trio-present/config.toml"),
        "[keys]\nnext = [\"x\", \"Right\"]\ntoggle_help = \"F1\"\n",
    )
    .unwrap();
    let deck = reference_deck();
    let mut pty = Pty::spawn_env(
        &["--no-exec", deck.to_str().unwrap()],
        100,
        30,
        &[("XDG_CONFIG_HOME", config.path().to_str().unwrap())],
    );
    pty.wait_for("async programming for humans", T);
    pty.send(b"x");
    pty.wait_for(" 2 / 57 ", T);
    pty.send(b"\x1bOP"); // F1
    pty.wait_for("keys · any key closes", T);
    pty.wait_for("x →", T);
    pty.send(b"q");
    pty.wait_gone("keys · any key closes", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn log_writes_to_the_given_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/talk.log");
    let deck = reference_deck();
    let mut pty = Pty::spawn(
        &[
            "--no-exec",
            "--log",
            log.to_str().unwrap(),
            deck.to_str().unwrap(),
        ],
        100,
        30,
    );
    pty.wait_for("async programming for humans", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("trio-present") && text.contains("started"),
        "{text}"
    );
}

/// A generated deck of 5,000 slides opens (in parts, see `Deck::open`) and pages like a small
/// one: next, last, a jump by number, and a start in the middle.
#[test]
fn a_five_thousand_slide_deck_opens_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.md");
    let mut slides = vec!["# Big deck\n\nthe very first slide".to_string()];
    for i in 2..=5000 {
        slides.push(format!("## Slide {i}\n\n```python\nprint({i})\n```\n"));
    }
    std::fs::write(&path, slides.join("\n====\n")).unwrap();
    let deck = path.to_str().unwrap();
    let mut pty = Pty::spawn(&["--no-exec", deck], 100, 30);
    pty.wait_for("the very first slide", T);
    pty.wait_for("1 / 5000", T);
    pty.send(b"\x1b[C");
    pty.wait_for("2 / 5000", T);
    pty.wait_for("print(2)", T);
    pty.send(b"G");
    pty.wait_for("5000 / 5000", T);
    pty.wait_for("print(5000)", T);
    pty.send(b"4321\r");
    pty.wait_for("4321 / 5000", T);
    pty.wait_for("Slide 4321", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());

    let mut pty = Pty::spawn(&["--no-exec", deck, "--slide", "2500"], 100, 30);
    pty.wait_for("2500 / 5000", T);
    pty.wait_for("print(2500)", T);
    pty.send(b"\x1b[D");
    pty.wait_for("2499 / 5000", T);
    pty.wait_for("print(2499)", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

/// A large deck opened in parts whose bad byte lies after the slide shown: once the rest is
/// read, the presenter stops with the one-line error a small deck gets, exit 2, and gives the
/// terminal back as it found it.
#[test]
fn a_bad_byte_late_in_a_large_deck_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.md");
    let mut text = vec!["# Big deck\n\nthe very first slide".to_string()];
    text.extend((2..=5000).map(|i| format!("## Slide {i}")));
    let mut bytes = text.join("\n====\n").into_bytes();
    assert!(bytes.len() >= trio_present::deck::OPEN_IN_PARTS_FROM);
    let at = bytes.len() + 6;
    bytes.extend_from_slice(b"\n====\n\xffbad\n");
    std::fs::write(&path, bytes).unwrap();
    let mut pty = Pty::spawn(&["--no-exec", path.to_str().unwrap()], 100, 30);
    pty.wait_for(&format!("first bad byte at offset {at}"), T);
    let status = pty.wait_exit(T);
    assert_eq!(status.code(), Some(2), "{}", pty.contents());
    assert!(!pty.alternate_screen() && !pty.cursor_hidden() && pty.cooked());
}
