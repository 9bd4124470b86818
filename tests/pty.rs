//! The presenter in a real pseudo-terminal: it starts, navigates, quits, and leaves the
//! terminal as it found it (also on SIGTERM and SIGHUP).

mod common;

use common::{reference_deck, Pty};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[test]
fn right_shows_slide_two_and_q_restores_the_terminal() {
    let deck = reference_deck();
    let mut pty = Pty::spawn(&[deck.to_str().unwrap()], 100, 30);
    pty.wait_for("async programming for humans", T);
    assert!(pty.alternate_screen(), "presenter uses the alternate screen");
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
    let mut pty = Pty::spawn(&[deck.to_str().unwrap(), "--slide", "3"], 80, 24);
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
    let mut pty = Pty::spawn(&[deck.to_str().unwrap()], 100, 30);
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
