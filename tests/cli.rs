//! The command line as a user meets it: `render` output and every kind of bad input (one line
//! on stderr, exit status 2, never a panic).

mod common;

use common::{reference_deck, run};
use std::io::Write;

fn deck() -> String {
    reference_deck().to_str().unwrap().to_string()
}

fn assert_usage_error(args: &[&str], expect: &str) {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "args {args:?}: stderr {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(expect),
        "{stderr:?} should contain {expect:?}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn render_prints_the_frame() {
    let (code, out, _) = run(&["render", &deck(), "--slide", "1"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 30);
    assert!(out.contains("Trio"));
    assert!(out.contains("async programming for humans and snake people"));
    assert!(out.contains("1 / 57"));
    let (_, out, _) = run(&[
        "render",
        &deck(),
        "--slide",
        "12",
        "--width",
        "80",
        "--height",
        "24",
    ]);
    assert_eq!(out.lines().count(), 24);
    assert!(out
        .lines()
        .all(|l| unicode_width::UnicodeWidthStr::width(l) <= 80));
    assert!(out.contains("nursery.start_soon(sleepy, i)"));
    assert!(out.contains("12 / 57"));
}

#[test]
fn render_color_emits_ansi_and_no_color_is_honoured() {
    let (_, out, _) = run(&["render", &deck(), "--slide", "12", "--color"]);
    assert!(out.contains("\x1b["), "colour escapes expected");
    let out = std::process::Command::new(common::BIN)
        .args(["render", &deck(), "--slide", "12", "--color"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(";2;"), "no RGB colours under NO_COLOR");
}

#[test]
fn hidden_blocks_are_not_rendered() {
    let (_, out, _) = run(&["render", &deck(), "--slide", "52"]);
    assert!(out.contains("opened connection"));
    assert!(
        !out.contains("serve_tcp"),
        "the exechidden main is not shown:\n{out}"
    );
}

#[test]
fn version_and_help() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("trio-present "));
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("render") && out.contains("doctor"));
}

#[test]
fn bad_inputs_give_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_usage_error(
        &["render", "/no/such/deck.md", "--slide", "1"],
        "no such file",
    );
    assert_usage_error(
        &["render", d.to_str().unwrap(), "--slide", "1"],
        "is a directory",
    );

    let bad = d.join("latin1.md");
    std::fs::write(&bad, b"# caf\xe9\n").unwrap();
    assert_usage_error(
        &["render", bad.to_str().unwrap(), "--slide", "1"],
        "offset 5",
    );

    let empty = d.join("empty.md");
    std::fs::write(&empty, "\n\n====\n   \n").unwrap();
    assert_usage_error(
        &["render", empty.to_str().unwrap(), "--slide", "1"],
        "empty",
    );

    assert_usage_error(&["render", &deck(), "--slide", "0"], "slides 1 to 57");
    assert_usage_error(&["render", &deck(), "--slide", "58"], "slides 1 to 57");
    assert_usage_error(&[&deck(), "--slide", "99"], "slides 1 to 57");
    assert_usage_error(&["render", &deck()], "--slide");
    assert_usage_error(&["--bogus"], "--bogus");
    assert_usage_error(
        &["render", &deck(), "--slide", "1", "--theme", "nope"],
        "nope",
    );

    let huge = d.join("huge.md");
    let mut f = std::fs::File::create(&huge).unwrap();
    let chunk = "word ".repeat(1000) + "\n";
    for _ in 0..(50 * 1024 * 1024 / chunk.len() + 1) {
        f.write_all(chunk.as_bytes()).unwrap();
    }
    drop(f);
    assert_usage_error(
        &["render", huge.to_str().unwrap(), "--slide", "1"],
        "too large",
    );
}

#[test]
fn unreadable_file_is_reported() {
    // As root every permission check passes, so use a file whose read fails anyway.
    let dir = tempfile::tempdir().unwrap();
    let path = if unsafe { libc::geteuid() } == 0 {
        std::path::PathBuf::from("/proc/self/mem")
    } else {
        let p = dir.path().join("secret.md");
        std::fs::write(&p, "# x\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        p
    };
    let (code, _, stderr) = run(&["render", path.to_str().unwrap(), "--slide", "1"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn long_line_and_unclosed_fence_render_sensibly() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.md");
    std::fs::write(&long, format!("# Long\n\n{}\n", "x".repeat(100_000))).unwrap();
    let start = std::time::Instant::now();
    let (code, out, _) = run(&["render", long.to_str().unwrap(), "--slide", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("Long"));
    assert!(start.elapsed().as_secs() < 5);

    let unclosed = dir.path().join("unclosed.md");
    std::fs::write(
        &unclosed,
        "# A\n====\n```exec\nprint(1)\n====\nstill code\n",
    )
    .unwrap();
    let (code, out, _) = run(&["render", unclosed.to_str().unwrap(), "--slide", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains("still code"));
    assert!(
        out.contains("unclosed code fence opened at line 3"),
        "{out}"
    );
}

#[test]
fn present_without_a_terminal_says_how_to_render() {
    let (code, _, stderr) = run(&[&deck()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("render"), "{stderr}");
}

#[test]
fn theme_files_load_and_a_broken_one_names_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mine.toml");
    std::fs::write(&good, "base = \"light\"\nheading = \"#ff0000\"\n").unwrap();
    let (code, out, err) = run(&[
        "render",
        &deck(),
        "--slide",
        "1",
        "--theme",
        good.to_str().unwrap(),
        "--color",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("38;2;255;0;0"),
        "the heading uses the theme's colour"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "heading = \"#12\"\n").unwrap();
    let (code, _, err) = run(&[
        "render",
        &deck(),
        "--slide",
        "1",
        "--theme",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml") && err.contains("heading"), "{err}");
    for name in ["dark", "light", "high-contrast"] {
        let (code, _, err) = run(&["render", &deck(), "--slide", "12", "--theme", name]);
        assert_eq!(code, 0, "{name}: {err}");
    }
}

#[test]
fn run_without_trust_or_approval_refuses_in_one_line() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["run", &deck(), "--slide", "12"])
        .env("XDG_DATA_HOME", data.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing ran");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not been approved") && err.contains("--trust"),
        "{err}"
    );
}
