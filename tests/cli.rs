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
    let out = common::bin()
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
    let out = common::bin()
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

/// A still frame cannot resolve "finding Python…": it says nothing about Python at all.
#[test]
fn render_says_nothing_about_python() {
    for slide in ["1", "12"] {
        let (code, out, _) = run(&["render", &deck(), "--slide", slide]);
        assert_eq!(code, 0);
        let bar = out.lines().last().unwrap();
        assert!(bar.contains(&format!("{slide} / 57")), "{bar}");
        assert!(bar.contains("? help"), "{bar}");
        for word in ["Python", "finding", "py ", "trio 0."] {
            assert!(!bar.contains(word), "{word:?} in {bar:?}");
        }
    }
}

/// Every argument of every command says what it is in `--help`.
#[test]
fn every_argument_is_described_in_help() {
    for command in [&["render"][..], &["doctor"], &["run"], &["check"], &[]] {
        let mut args = command.to_vec();
        args.push("--help");
        let (code, out, _) = run(&args);
        assert_eq!(code, 0, "{args:?}");
        // Argument lines look like `  --slide <SLIDE>  The slide …` or `  <DECK>  The deck …`:
        // the name, then at least two spaces, then the description on the same line (a bare
        // `[default: 100]` is not one).
        let section = |l: &str| l.ends_with(':') && !l.starts_with(' ');
        let mut in_args = false;
        for line in out.lines() {
            if section(line) {
                in_args = matches!(line, "Arguments:" | "Options:");
                continue;
            }
            let trimmed = line.trim_start();
            if in_args && (trimmed.starts_with('-') || trimmed.starts_with('<')) {
                let described = trimmed
                    .split_once("  ")
                    .is_some_and(|(_, d)| !d.trim().is_empty() && !d.trim().starts_with('['));
                assert!(described, "{args:?}: undescribed {line:?}\n{out}");
            }
        }
    }
}

/// `run` on a slide without code says so in one line and exits 2 (it used to print an empty
/// `defined:` list and exit 0, as if something had run).
#[test]
fn run_on_a_slide_without_code_says_so() {
    assert_usage_error(
        &["run", "--trust", &deck(), "--slide", "1"],
        "slide 1 has no code to run",
    );
}

/// The README opens with its title, one sentence, then exactly the two commands a newcomer
/// types; it names the real cache location and how to get `trio-present` on PATH.
#[test]
fn readme_starts_with_title_sentence_and_two_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    assert_eq!(lines[0], "# trio-present");
    assert_eq!(lines[1], "");
    assert!(
        lines[2].ends_with('.') && lines[3].is_empty(),
        "{}",
        lines[2]
    );
    assert_eq!(
        &lines[4..8],
        [
            "```sh",
            "cargo run --release -- slides/trio.md",
            "cargo test",
            "```"
        ]
    );
    for needed in [
        "few minutes",
        "Python package index (PyPI)",
        "cargo install --path .",
        "$XDG_CACHE_HOME/trio-present",
    ] {
        assert!(readme.contains(needed), "README lacks {needed:?}");
    }
}

/// A config directory holding `text` as trio-present's config file.
fn config_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("trio-present")).unwrap();
    std::fs::write(dir.path().join("trio-present/config.toml"), text).unwrap();
    dir
}

#[test]
fn a_bad_config_file_is_one_line_naming_the_line_and_key() {
    let dir = config_dir("theme = \"light\"\n\n[keys]\nfly = [\"f\"]\n");
    let out = common::bin()
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["render", reference_deck().to_str().unwrap(), "--slide", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("config.toml:4:") && err.contains("unknown action `fly`"),
        "{err}"
    );
    // doctor still starts, and shows the problem.
    let out = common::bin()
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["doctor", "--python", "/nonexistent/python3"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unknown action `fly`"), "{text}");
}

#[test]
fn doctor_shows_the_effective_config_and_where_each_value_came_from() {
    let dir = config_dir("theme = \"light\"\nexpose = true\n[keys]\nrun = [\"F5\"]\n");
    let out = common::bin()
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["doctor", "--python", "/nonexistent/python3"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("theme  light (from "), "{text}");
    assert!(text.contains("config.toml:1)"), "{text}");
    assert!(text.contains("expose true (from "), "{text}");
    assert!(text.contains("keys   run = F5 (from "), "{text}");
}

#[test]
fn the_config_theme_applies_unless_a_flag_says_otherwise() {
    let deck = reference_deck();
    let render = |config: Option<&std::path::Path>, extra: &[&str]| {
        let mut cmd = common::bin();
        if let Some(c) = config {
            cmd.env("XDG_CONFIG_HOME", c);
        }
        let out = cmd
            .args(["render", deck.to_str().unwrap(), "--slide", "1", "--color"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dir = config_dir("theme = \"light\"\n");
    let light = render(None, &["--theme", "light"]);
    let dark = render(None, &[]);
    assert_ne!(light, dark, "the themes differ");
    assert_eq!(
        render(Some(dir.path()), &[]),
        light,
        "the config file's theme"
    );
    assert_eq!(
        render(Some(dir.path()), &["--theme", "dark"]),
        dark,
        "a flag overrides the config file"
    );
}
