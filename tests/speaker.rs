//! The speaker window and the presenter as two real processes in two real pseudo-terminals,
//! meeting over the deck's socket in a private XDG_RUNTIME_DIR: navigation both ways, run and
//! stop from the speaker window, blanking, several windows, reconnecting after either side is
//! killed, notes never on the audience screen, overview search.

mod common;

use common::Pty;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

const DECK: &str = "# Speaker test deck\n\nopening words\n\n<!-- note: SECRET-ONE welcome the room -->\n====\n## Second slide\n\nvisible two\n\n<!--\nspeaker_note: |\n  SECRET-TWO draw the diagram\n-->\n====\n## Third slide\n\nvisible three <!-- note: SECRET-THREE inline -->\n====\n## Pelican facts\n\nlast one\n";

struct Talk {
    dir: tempfile::TempDir,
    deck: String,
}

impl Talk {
    fn new(text: &str) -> Talk {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let deck = dir.path().join("talk.md");
        std::fs::write(&deck, text).unwrap();
        Talk {
            deck: deck.to_str().unwrap().to_string(),
            dir,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![(
            "XDG_RUNTIME_DIR",
            self.dir.path().join("run").to_str().unwrap().to_string(),
        )]
    }

    fn spawn(&self, args: &[&str]) -> Pty {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Pty::spawn_env(args, 100, 30, &env)
    }

    fn presenter(&self, extra: &[&str]) -> Pty {
        let mut args = extra.to_vec();
        args.push(&self.deck);
        self.spawn(&args)
    }

    fn speaker(&self) -> Pty {
        self.spawn(&["speaker", &self.deck])
    }
}

fn no_secret(pty: &Pty) {
    let screen = pty.contents();
    assert!(
        !screen.contains("SECRET"),
        "a note reached the audience screen:\n{screen}"
    );
}

#[test]
fn navigation_both_ways_blank_and_notes_only_on_the_speaker_window() {
    let talk = Talk::new(DECK);
    let mut aud = talk.presenter(&["--no-exec"]);
    aud.wait_for("opening words", T);
    let mut spk = talk.speaker();
    spk.wait_for("● following", T);
    spk.wait_for("SECRET-ONE welcome the room", T);
    no_secret(&aud);

    // Speaker → audience.
    let took = Instant::now();
    spk.send(b"\x1b[C");
    aud.wait_for("2 / 4", T);
    eprintln!("speaker key → audience screen {:?}", took.elapsed());
    aud.wait_for("visible two", T);
    spk.wait_for("SECRET-TWO draw the diagram", T);
    spk.wait_for("notes · slide 2", T);
    no_secret(&aud);

    // Audience → speaker.
    let took = Instant::now();
    aud.send(b"l");
    spk.wait_for("notes · slide 3", T);
    eprintln!("audience key → speaker window {:?}", took.elapsed());
    spk.wait_for("SECRET-THREE inline", T);
    aud.wait_for("visible three", T);
    no_secret(&aud);

    // Jump by number from the speaker window.
    spk.send(b"1\r");
    aud.wait_for("1 / 4", T);
    spk.wait_for("notes · slide 1", T);

    // Blank from the speaker window, and back.
    spk.send(b"b");
    aud.wait_gone("opening words", T);
    spk.wait_for("BLANK", T);
    assert!(!aud.contents().contains("1 / 4"), "blank means blank");
    spk.send(b"b");
    aud.wait_for("opening words", T);
    spk.wait_gone("BLANK", T);
    // And from the audience screen with `.`.
    aud.send(b".");
    spk.wait_for("BLANK", T);
    aud.wait_gone("opening words", T);
    aud.send(b".");
    spk.wait_gone("BLANK", T);

    spk.send(b"q");
    assert!(spk.wait_exit(T).success());
    assert!(spk.cooked() && !spk.alternate_screen());
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
    no_secret(&aud);
}

#[test]
fn several_windows_follow_and_either_side_reconnects_after_being_killed() {
    let talk = Talk::new(DECK);
    let mut aud = talk.presenter(&["--no-exec"]);
    aud.wait_for("opening words", T);
    let mut one = talk.speaker();
    let two = talk.speaker();
    one.wait_for("● following", T);
    two.wait_for("● following", T);
    one.send(b"\x1b[C");
    aud.wait_for("2 / 4", T);
    two.wait_for("notes · slide 2", T);

    // The presenter dies without cleaning up; the windows wait, then follow the new one.
    unsafe { libc::kill(aud.child.id() as i32, libc::SIGKILL) };
    aud.wait_exit(T);
    one.wait_for("waiting for the presenter", T);
    two.wait_for("waiting for the presenter", T);
    let mut aud = talk.presenter(&["--no-exec", "--slide", "3"]);
    aud.wait_for("visible three", T);
    let took = one.wait_for("notes · slide 3", T);
    two.wait_for("● following", T);
    eprintln!("speaker window found the restarted presenter in {took:?}");

    // A speaker window killed and started again follows at once.
    unsafe { libc::kill(one.child.id() as i32, libc::SIGKILL) };
    one.wait_exit(T);
    let mut one = talk.speaker();
    one.wait_for("notes · slide 3", T);
    one.send(b"\x1b[D");
    aud.wait_for("visible two", T);
    two.wait_for("notes · slide 2", T);

    // Without a presenter the window still navigates its notes by itself.
    aud.send(b"q");
    aud.wait_exit(T);
    one.wait_for("waiting for the presenter", T);
    one.send(b"l");
    one.wait_for("notes · slide 3", T);
    one.send(b"q");
    assert!(one.wait_exit(T).success());
}

#[test]
fn overview_search_jumps_in_both_windows() {
    let talk = Talk::new(DECK);
    let mut aud = talk.presenter(&["--no-exec"]);
    aud.wait_for("opening words", T);
    let mut spk = talk.speaker();
    spk.wait_for("● following", T);

    // On the audience screen: `/` searches; notes are searched but never shown there.
    aud.send(b"/diagram");
    aud.wait_for("1 of 4 slides", T);
    aud.wait_for("Second slide", T);
    no_secret(&aud);
    aud.send(b"\r");
    aud.wait_for("2 / 4", T);
    spk.wait_for("notes · slide 2", T);

    // In the speaker window: `o`, then `/` and a query; the matching note line is shown.
    spk.send(b"o");
    spk.wait_for("overview", T);
    spk.send(b"/inline");
    spk.wait_for("note: SECRET-THREE inline", T);
    spk.send(b"\r");
    aud.wait_for("visible three", T);
    spk.wait_for("notes · slide 3", T);
    no_secret(&aud);
    aud.send(b"q");
    aud.wait_exit(T);
}

#[test]
fn run_and_stop_from_the_speaker_window() {
    let talk = Talk::new(
        "# Run test\n====\n## Ticker\n```exec\nimport trio\nasync def main():\n    for i in range(1000):\n        print('tick', i)\n        await trio.sleep(0.2)\n```\n<!-- note: press r -->\n",
    );
    let mut aud = talk.presenter(&["--trust", "--slide", "2"]);
    aud.wait_for("Ticker", T);
    let mut spk = talk.speaker();
    spk.wait_for("● following", T);
    spk.wait_for("press r", T);
    spk.send(b"r");
    aud.wait_for("tick 2", Duration::from_secs(60));
    spk.wait_for("● running", T);
    spk.wait_for("tick 2", T);
    spk.send(b"\x1b");
    aud.wait_for("stopped", T);
    spk.wait_for("■ stopped", T);
    // Ctrl-c in the speaker window with nothing running closes it, not the presenter.
    spk.send(b"\x03");
    assert!(spk.wait_exit(T).success());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        aud.child.try_wait().unwrap().is_none(),
        "the presenter still runs"
    );
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
}
