//! Talking to the demo, in a real pseudo-terminal with real Python and trio: typing into a
//! running demo's input(), editing a block (in the presenter and in $EDITOR) and running the
//! edit, reverting it, writing it back into the deck, and running one picked block.

mod common;

use common::{reference_deck, Pty};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
/// Finding Python and warming the first interpreter.
const START: Duration = Duration::from_secs(60);

/// A copy of the reference deck in a temp dir, so that nothing here can change the real one.
fn deck_copy() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trio.md");
    let bytes = std::fs::read(reference_deck()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    (dir, path, bytes)
}

fn deck_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deck.md");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Waits until `cond` holds for the screen; panics with the screen after [`T`].
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

/// The seconds in `... fired at 1.00 s` on screen.
fn fired_at(pty: &Pty, scope: &str) -> f64 {
    let screen = pty.contents();
    let at = screen.find(&format!("{scope} fired at ")).unwrap() + scope.len() + 10;
    screen[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn input_in_a_demo_receives_a_typed_line_and_async_stdin_gets_eof() {
    // input() first in the deck would break the set-up of the slides after it (set-up reads
    // end of file), so the async slide comes first.
    let (_dir, deck) = deck_file(
        "# input\n\n```exec\nimport sys\nimport trio\n\nasync def main():\n\
         \x20   stdin = trio.wrap_file(sys.stdin)\n\
         \x20   while line := await stdin.readline():\n        print(\"got\", line.strip())\n\
         \x20   print(\"end of input\")\n```\n\n====\n\n\
         ```exec\nname = input(\"name? \")\nprint(f\"hello {name}!\")\n```\n",
    );
    let mut pty = Pty::spawn(&["--trust", deck.to_str().unwrap()], 100, 30);
    pty.wait_for("trio 0.", START);
    pty.send(b"r");
    pty.wait_for("● running", T);
    pty.send(b"i");
    pty.wait_for("typing into the demo", T);
    pty.send(b"one\r");
    pty.wait_for("got one", T);
    pty.send(b"\x04"); // Ctrl-d: end of file
    pty.wait_for("end of input", T);
    pty.wait_for("✔ done", T);

    pty.send(b"\x1b[C");
    pty.wait_for("2 / 2", T);
    pty.send(b"r");
    pty.wait_for("● running", T);
    // The prompt has no newline: it shows in the output while input() waits.
    wait_until(&pty, "the prompt in the output", |s| {
        s.matches("name?").count() == 2
    });
    pty.send(b"i");
    pty.wait_for("typing into the demo", T);
    pty.send(b"Ada");
    pty.wait_for("stdin ▸ Ada", T);
    pty.send(b"\r");
    pty.wait_for("hello Ada!", T);
    pty.wait_for("name? Ada", T);
    // The run is over: the typing mode ends with it.
    pty.wait_for("✔ done", T);
    pty.wait_gone("typing into the demo", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn slide_37_edited_in_editor_cancels_at_one_second_and_revert_leaves_the_deck_unchanged() {
    let (_dir, deck, original) = deck_copy();
    let mut pty = Pty::spawn_env(
        &["--trust", deck.to_str().unwrap(), "--slide", "37"],
        100,
        30,
        &[
            // Read by the shell, like git does: quotes work, arguments may follow.
            ("EDITOR", "sed -i 's/move_on_after(3)/move_on_after(1)/'"),
            ("VISUAL", ""),
        ],
    );
    pty.wait_for("trio 0.", START);
    pty.send(b"E");
    pty.wait_for("✎ edited", T);
    pty.wait_for("move_on_after(1)", T);
    assert!(pty.alternate_screen(), "back in the presenter's screen");
    assert!(!pty.cooked(), "back in raw mode");

    pty.send(b"r");
    pty.wait_for("move_on_after(1) fired at", T);
    let t = fired_at(&pty, "move_on_after(1)");
    assert!((0.9..1.6).contains(&t), "cancel at {t} s");
    pty.wait_for("All done", T);
    pty.wait_for("✔ done 1.", T);

    pty.send(b"u");
    pty.wait_for("move_on_after(3)", T);
    pty.wait_gone("✎ edited", T);
    assert_eq!(
        std::fs::read(&deck).unwrap(),
        original,
        "the deck file is unchanged"
    );
    // Reverted: the deck's code runs again.
    pty.send(b"r");
    pty.wait_for("move_on_after(3) fired at", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    assert!(pty.cooked() && !pty.alternate_screen());
}

#[test]
fn the_built_in_editor_edits_runs_and_writes_back_only_that_block() {
    let (_dir, deck, original) = deck_copy();
    let mut pty = Pty::spawn(
        &["--trust", deck.to_str().unwrap(), "--slide", "37"],
        100,
        30,
    );
    pty.wait_for("trio 0.", START);
    pty.send(b"e");
    pty.wait_for("Ctrl-z undo", T);
    // To the 3 of move_on_after(3): down, End, three left; delete it, type 1.
    pty.send(b"\x1b[B");
    pty.send(b"\x1b[F");
    pty.send(b"\x1b[D\x1b[D\x1b[D");
    pty.send(b"\x1b[3~");
    pty.send(b"1");
    pty.wait_for("move_on_after(1)", T);
    // Ctrl-e runs the edit with the editor still open; the output shows under it.
    pty.send(b"\x05");
    pty.wait_for("move_on_after(1) fired at", T);
    assert!(pty.contents().contains("Ctrl-z undo"), "editor still open");
    // Ctrl-s writes the block into the deck; hot reload then has the new code.
    pty.send(b"\x13");
    let start = Instant::now();
    let expected = String::from_utf8(original.clone()).unwrap().replacen(
        "move_on_after(3)",
        "move_on_after(1)",
        1,
    );
    while std::fs::read_to_string(&deck).unwrap() != expected {
        assert!(start.elapsed() < T, "deck file not rewritten");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Esc closes the editor; after the reload the code is the deck's, so nothing is edited.
    std::thread::sleep(Duration::from_millis(100));
    pty.send(b"\x1b");
    pty.wait_gone("Ctrl-z undo", T);
    pty.wait_for("the deck file has the edit now", T);
    pty.wait_gone("✎ edited", T);
    pty.wait_for("move_on_after(1)", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn a_picked_block_runs_alone_with_earlier_blocks_as_set_up() {
    let (_dir, deck) = deck_file(
        "# pick\n\n```exec\nprint(\"one\")\nx = 41\n```\n\n```exec\nprint(\"two\", x + 1)\n```\n\n\
         ```exec\nprint(\"three\")\n```\n",
    );
    let mut pty = Pty::spawn(&["--trust", deck.to_str().unwrap()], 100, 30);
    pty.wait_for("trio 0.", START);
    pty.send(b"}");
    pty.wait_for("block 1/3", T);
    pty.send(b"}");
    pty.wait_for("block 2/3", T);
    pty.send(b"r");
    pty.wait_for("two 42", T);
    pty.wait_for("✔ done", T);
    // Only the picked block printed: the output pane has no `one` and no `three` line.
    let screen = pty.contents();
    let printed = |word: &str| {
        screen
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(word))
    };
    assert!(!printed("one") && !printed("three"), "{screen}");
    // Back to all blocks.
    pty.send(b"}");
    pty.wait_gone("block 2/3", T);
    pty.send(b"r");
    pty.wait_for("three", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn headless_run_passes_its_stdin_to_the_demo() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let (_dir, deck) = deck_file(
        "# input\n\n```exec\nimport sys\nname = input(\"name? \")\nprint(f\"hello {name}!\")\n\
         print(\"rest\", repr(sys.stdin.read()))\n```\n",
    );
    let mut child = Command::new(common::BIN)
        .args(["run", "--trust", deck.to_str().unwrap(), "--slide", "1"])
        .args(["--timeout", "30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Ada\nmore\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("name? hello Ada!"), "{text}");
    assert!(text.contains("rest 'more\\n'"), "{text}");
}

#[test]
fn editor_ctrl_c_is_the_editors_and_a_failing_editor_is_one_line() {
    let (_dir, deck, original) = deck_copy();
    let args = ["--trust", deck.to_str().unwrap(), "--slide", "37"];
    // A Ctrl-c typed in the editor reaches the whole foreground group, the presenter too:
    // it must not quit the talk.
    let editor = "trap '' INT; kill -INT 0; sed -i 's/move_on_after(3)/move_on_after(2)/'";
    let mut pty = Pty::spawn_env(&args, 100, 30, &[("EDITOR", editor), ("VISUAL", "")]);
    pty.wait_for("37 / 57", START);
    pty.send(b"E");
    pty.wait_for("✎ edited", T);
    pty.wait_for("move_on_after(2)", T);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        pty.child.try_wait().unwrap().is_none(),
        "presenter still runs"
    );
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    assert!(pty.cooked() && !pty.alternate_screen());

    let mut pty = Pty::spawn_env(&args, 100, 30, &[("EDITOR", "false"), ("VISUAL", "")]);
    pty.wait_for("37 / 57", START);
    pty.send(b"E");
    pty.wait_for("false failed", T);
    assert!(
        pty.alternate_screen() && !pty.cooked(),
        "the presenter has the terminal again"
    );
    assert!(!pty.contents().contains("✎ edited"));
    pty.wait_for("move_on_after(3)", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    assert_eq!(std::fs::read(&deck).unwrap(), original);
}
