//! Translations end to end: the presenter switching language in place in a real pty (same
//! slide, a run in progress keeps going and stays on screen), the speaker window following the
//! switch (its notes come from the language on screen), the deck's own `<!-- duration -->`, the
//! audience clock key, and `check`'s report of translations that differ. Small tempfile decks,
//! private XDG directories, no servers.

mod common;

use common::{run, Pty};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// Slide 2 ticks for minutes, so a switch happens mid-run.
const EN: &str = "# English talk\n\nopening words\n\n<!-- translations: talk.de.md -->\n<!-- duration: 25m -->\n<!-- note: ENGLISH-NOTE-ONE -->\n====\n## Ticker slide\n\n```exec\nimport trio\nasync def main():\n    for i in range(1000):\n        print('tick', i)\n        await trio.sleep(0.2)\n```\n<!-- note: ENGLISH-NOTE-TWO -->\n====\n## Last slide\n\nthank you\n<!-- note: ENGLISH-NOTE-THREE -->\n";

const DE: &str = "# Deutscher Vortrag\n\neinleitende Worte\n\n<!-- note: DEUTSCHE-NOTIZ-EINS -->\n====\n## Zähler-Folie\n\n```exec\nimport trio\nasync def main():\n    for i in range(1000):\n        print('tick', i)\n        await trio.sleep(0.2)\n```\n<!-- note: DEUTSCHE-NOTIZ-ZWEI -->\n====\n## Letzte Folie\n\ndanke schön\n<!-- note: DEUTSCHE-NOTIZ-DREI -->\n";

struct Talk {
    dir: tempfile::TempDir,
}

impl Talk {
    fn new(files: &[(&str, &str)]) -> Talk {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["run", "data"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Talk { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// A private runtime dir (the speaker sockets) and data dir (recordings, approvals).
    fn spawn(&self, args: &[&str]) -> Pty {
        let run = self.path("run");
        let data = self.path("data");
        let env = [
            ("XDG_RUNTIME_DIR", run.as_str()),
            ("XDG_DATA_HOME", data.as_str()),
        ];
        Pty::spawn_env(args, 100, 30, &env)
    }
}

/// The status bar (last row) of a 30-row pty.
fn status(pty: &Pty) -> String {
    pty.row(29)
}

fn wait_status(pty: &Pty, text: &str) {
    let start = std::time::Instant::now();
    while !status(pty).contains(text) {
        assert!(
            start.elapsed() < T,
            "{text:?} not on the status bar:\n{}",
            pty.contents()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn l_switches_language_on_the_same_slide_and_back() {
    let talk = Talk::new(&[("talk.en.md", EN), ("talk.de.md", DE)]);
    // Both decks on the command line (the comment is then not read; same result here).
    let mut aud = talk.spawn(&[
        "--no-exec",
        &talk.path("talk.en.md"),
        &talk.path("talk.de.md"),
    ]);
    aud.wait_for("opening words", T);
    wait_status(&aud, " en ");
    aud.send(b"G");
    aud.wait_for("thank you", T);
    aud.send(b"L");
    aud.wait_for("danke schön", T);
    aud.wait_for("3 / 3", T);
    wait_status(&aud, " de ");
    assert!(!aud.contents().contains("thank you"));
    aud.send(b"h");
    aud.wait_for("Zähler-Folie", T);
    aud.send(b"L");
    aud.wait_for("Ticker slide", T);
    aud.wait_for("2 / 3", T);
    wait_status(&aud, " en ");
    // Notes stay off the audience screen in every language.
    assert!(!aud.contents().contains("NOTE") && !aud.contents().contains("NOTIZ"));
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
}

#[test]
fn a_run_in_progress_keeps_going_and_stays_on_screen_across_a_switch() {
    let talk = Talk::new(&[("talk.en.md", EN), ("talk.de.md", DE)]);
    // The translation comes from the deck's own comment this time.
    let mut aud = talk.spawn(&["--trust", "--slide", "2", &talk.path("talk.en.md")]);
    aud.wait_for("Ticker slide", T);
    aud.send(b"r");
    aud.wait_for("tick 2", Duration::from_secs(60));
    aud.send(b"L");
    aud.wait_for("Zähler-Folie", T);
    wait_status(&aud, " de ");
    let screen = aud.contents();
    assert!(screen.contains("tick 2"), "the output stayed:\n{screen}");
    assert!(screen.contains("● running"), "the run goes on:\n{screen}");
    // It keeps printing into the translated slide.
    aud.wait_for("tick 8", T);
    aud.send(b"L");
    aud.wait_for("Ticker slide", T);
    aud.wait_for("tick 10", T);
    aud.send(b"\x1b");
    aud.wait_for("stopped", T);
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
}

#[test]
fn the_speaker_window_follows_the_language_and_the_deck_duration() {
    let talk = Talk::new(&[("talk.en.md", EN), ("talk.de.md", DE)]);
    let mut aud = talk.spawn(&["--no-exec", &talk.path("talk.en.md")]);
    aud.wait_for("opening words", T);
    // Opened on the German file, the window finds the presenter and shows its language.
    let mut spk = talk.spawn(&["speaker", &talk.path("talk.de.md")]);
    spk.wait_for("● following", T);
    spk.wait_for("ENGLISH-NOTE-ONE", T);
    // `<!-- duration: 25m -->` paces the talk without --duration.
    spk.wait_for("/ 25:00", T);

    aud.send(b"L");
    aud.wait_for("einleitende Worte", T);
    spk.wait_for("DEUTSCHE-NOTIZ-EINS", T);
    spk.wait_gone("ENGLISH-NOTE-ONE", T);
    spk.send(b"l");
    aud.wait_for("Zähler-Folie", T);
    spk.wait_for("DEUTSCHE-NOTIZ-ZWEI", T);

    // `L` in the speaker window switches both screens back.
    spk.send(b"L");
    aud.wait_for("Ticker slide", T);
    wait_status(&aud, " en ");
    spk.wait_for("ENGLISH-NOTE-TWO", T);
    spk.wait_for("notes · slide 2", T);

    // `C` (from either window) takes the clock off the projector and puts it back.
    wait_status(&aud, "? help  00:");
    spk.send(b"C");
    let start = std::time::Instant::now();
    while status(&aud).contains("? help  00:") {
        assert!(
            start.elapsed() < T,
            "clock still shown:\n{}",
            aud.contents()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    aud.send(b"C");
    wait_status(&aud, "? help  00:");

    spk.send(b"q");
    assert!(spk.wait_exit(T).success());
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
}

fn check(args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["check", "--trust"];
    full.extend_from_slice(args);
    run(&full)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_reports_translations_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let en = write(
        dir.path(),
        "talk.en.md",
        "# T\n<!-- translations: talk.de.md talk.ro.md -->\n====\n```exec\nprint('one')\n```\n====\n```exec\nprint('two')\n```\n",
    );
    // Slide 2's code translated (it should not be), one slide too many.
    write(
        dir.path(),
        "talk.de.md",
        "# T\n====\n```exec\nprint('eins')\n```\n====\n```exec\nprint('two')\n```\n====\nExtra\n",
    );
    // The same code, other prose: fine.
    let ro = write(
        dir.path(),
        "talk.ro.md",
        "# T ro\n\ntext\n====\n```exec\nprint('one')\n```\n====\nalt\n```exec\nprint('two')\n```\n",
    );
    let (code, out, err) = check(&[en.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("  talk.de.md: 4 slides, talk.en.md has 3"),
        "{out}"
    );
    assert!(
        out.contains("  slide 2: exec code differs from talk.en.md (talk.de.md line 3)"),
        "{out}"
    );
    assert!(!out.contains("talk.ro.md"), "{out}");
    assert!(out.contains("2 deck problems"), "{out}");

    // Given on the command line instead: only those are compared.
    let (code, out, err) = check(&[en.to_str().unwrap(), ro.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("no deck problems"), "{out}");

    // JSON names the kind.
    let (_, out, _) = check(&["--json", en.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["translation", "translation"]);
}

#[test]
fn missing_translations_are_reported_not_fatal_unless_given_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let en = write(
        dir.path(),
        "talk.en.md",
        "# T\n<!-- translations: talk.xx.md -->\n====\n```exec\nprint(1)\n```\n",
    );
    let (code, out, _) = check(&[en.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("translation named in") && out.contains("talk.xx.md: no such file"),
        "{out}"
    );
    let missing = dir.path().join("talk.yy.md");
    let (code, _, err) = check(&[en.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("talk.yy.md: no such file"), "{err}");
}

#[test]
fn hot_reload_follows_each_language_file() {
    let talk = Talk::new(&[("talk.en.md", EN), ("talk.de.md", DE)]);
    let mut aud = talk.spawn(&["--no-exec", &talk.path("talk.en.md")]);
    aud.wait_for("opening words", T);
    aud.send(b"L");
    aud.wait_for("einleitende Worte", T);
    // The language on screen reloads in place.
    std::fs::write(talk.path("talk.de.md"), DE.replace("einleitende", "neue")).unwrap();
    aud.wait_for("neue Worte", T);
    // The other one is kept for the next switch, not shown.
    std::fs::write(talk.path("talk.en.md"), EN.replace("opening", "edited")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(aud.contents().contains("neue Worte"), "{}", aud.contents());
    aud.send(b"L");
    aud.wait_for("edited words", T);
    wait_status(&aud, " en ");
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
}

#[test]
fn consent_is_asked_once_for_every_language() {
    let talk = Talk::new(&[("talk.en.md", EN), ("talk.de.md", DE)]);
    let mut aud = talk.spawn(&["--slide", "2", &talk.path("talk.en.md")]);
    aud.wait_for("Ticker slide", T);
    aud.send(b"r");
    aud.wait_for("run this deck's code?", T);
    aud.send(b"y");
    aud.wait_for("tick 1", Duration::from_secs(60));
    aud.send(b"\x1b");
    aud.wait_for("stopped", T);
    // The German deck's code was approved with it: a run there does not ask.
    aud.send(b"L");
    aud.wait_for("Zähler-Folie", T);
    aud.send(b"r");
    aud.wait_for("● running", T);
    assert!(!aud.contents().contains("run this deck's code?"));
    aud.send(b"\x1b");
    aud.wait_for("stopped", T);
    aud.send(b"q");
    assert!(aud.wait_exit(T).success());
    // Each deck keeps its own approval, so the German deck alone runs at once too.
    let mut de = talk.spawn(&["--slide", "2", &talk.path("talk.de.md")]);
    de.wait_for("Zähler-Folie", T);
    de.send(b"r");
    de.wait_for("● running", Duration::from_secs(60));
    assert!(!de.contents().contains("run this deck's code?"));
    de.send(b"\x1b");
    de.wait_for("stopped", T);
    de.send(b"q");
    assert!(de.wait_exit(T).success());
}
