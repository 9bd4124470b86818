//! The trio console (`>`), in a real pseudo-terminal with real Python and trio: top-level
//! await in the slide's namespace, a nursery in the task tree, Ctrl-c on an endless loop with
//! the console still usable after, a syntax error inline, history kept per deck.

mod common;

use common::{reference_deck, Pty};
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
