//! The trio console (`>`), in a real pseudo-terminal with real Python and trio: top-level
//! await in the slide's namespace, a nursery in the task tree, Ctrl-c on an endless loop with
//! the console still usable after, a syntax error inline, history kept per deck.

mod common;

use common::{reference_deck, word_after, Pty};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
/// Finding Python and warming the first interpreter.
const START: Duration = Duration::from_secs(60);

fn wait_until(pty: &Pty, what: &str, cond: impl Fn(&str) -> bool) {
    let start = Instant::now();
    while !cond(&pty.contents()) {
        assert!(
            start.elapsed() < T,
            "{what}: not within {T:?}:\n{}",
            pty.contents()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn console_on_slide_12_awaits_cancels_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("trio.md");
    std::fs::copy(reference_deck(), &deck).unwrap();
    let data = dir.path().join("data");
    let mut pty = Pty::spawn_env(
        &["--trust", deck.to_str().unwrap()],
        120,
        50,
        &[("XDG_DATA_HOME", data.to_str().unwrap())],
    );
    pty.wait_for("trio 0.", START);
    pty.send(b"12\r");
    pty.wait_for("12 / ", T);
    pty.send(b">");
    pty.wait_for("trio console on slide 12", T);

    // Top-level await of a function the deck defined on an earlier slide.
    pty.send(b"await sleepy(1)\r");
    let start = Instant::now();
    pty.wait_for("Sleeping for 1 seconds", T);
    pty.wait_for("Slept 1 seconds", T);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900), "slept only {took:?}");
    assert!(pty.contents().contains("sleepy(1)"), "{}", pty.contents());

    // A nursery of three sleepies: their tasks show in the tree.
    pty.send(b"async with trio.open_nursery() as n:\r");
    pty.send(b"for i in range(3):\r");
    pty.send(b"n.start_soon(sleepy, i + 2)\r");
    pty.send(b"\r");
    pty.wait_for("Sleeping for 4 seconds", T);
    wait_until(&pty, "three sleepies in the tree", |s| {
        s.contains("sleepy(2)") && s.contains("sleepy(3)") && s.contains("sleepy(4)")
    });
    pty.wait_for("Slept 4 seconds", T);

    // An endless loop, stopped by Ctrl-c; the console's state stays.
    pty.send(b"answer = 42\r");
    pty.send(b"while True: pass\r");
    std::thread::sleep(Duration::from_millis(500));
    pty.send(b"\x03");
    pty.wait_for("cancelled", T);
    pty.send(b"answer + 1\r");
    pty.wait_for("43", T);

    // A syntax error, inline with its position.
    pty.send(b"1 +\r");
    pty.wait_for("SyntaxError", T);

    // ↑ brings back the last input; Ctrl-u clears it, Ctrl-d closes the console.
    pty.send(b"\x1b[A");
    pty.wait_for(">>> 1 +", T);
    pty.send(b"\x15\x04");
    pty.wait_gone("trio console on slide 12", T);

    // History is kept per deck, under the data dir.
    let dir = data.join("trio-present").join("console-history");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(text.contains("await sleepy(1)"), "{text}");
    assert!(text.contains("\"answer + 1\""), "{text}");

    pty.send(b"q");
    pty.wait_exit(T);
}

/// Seconds since boot, as /proc counts them.
fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap()
}

/// When process `pid` started, in seconds since boot.
fn started(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // Field 22 of stat (starttime) is the 20th after the command's closing parenthesis.
    let ticks: f64 = fields[19].parse().unwrap();
    // SAFETY: sysconf only reads a constant.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

#[test]
fn a_console_on_a_prepared_slide_opens_on_a_warm_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("prepared");
    let deck = dir.path().join("talk.md");
    std::fs::write(
        &deck,
        format!(
            "# One\n\n```exec\nimport os\n_ = open({:?}, 'a').write('set up')\n```\n\n====\n\n# Two\n\n```exec\nasync def main():\n    print('two')\n```\n",
            log.to_str().unwrap()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut pty = Pty::spawn_env(
        &["--trust", deck.to_str().unwrap(), "--slide", "2"],
        100,
        30,
        &[("XDG_DATA_HOME", data.to_str().unwrap())],
    );
    // Slide 2's run is prepared (its set-up ran) and a spare is warmed beside it.
    let deadline = Instant::now() + START;
    while !log.exists() {
        assert!(Instant::now() < deadline, "slide 2 was never prepared");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let pressed = uptime();
    pty.send(b">");
    pty.wait_for("trio console on slide 2", T);
    pty.send(b"print('pid', os.getpid())\r");
    wait_until(&pty, "the console's pid", |s| s.contains("pid "));
    let screen = pty.contents();
    let pid: i32 = word_after(&screen, "pid ").unwrap_or_else(|| panic!("no pid in:\n{screen}"));
    let age = pressed - started(pid);
    assert!(
        age > 0.2,
        "the console's interpreter started {age:.2} s before the key: not a warm one"
    );
    pty.send(b"\x04");
    pty.wait_gone("trio console on slide 2", T);
    pty.send(b"q");
    pty.wait_exit(T);
}
