//! Running slides for real: the headless `run` command on the reference deck and on a deck of
//! failure cases, with real Python and real trio (provisioned by the product's own code path).
//! Timing checks use the talk's own claims with generous tolerances.

mod common;

use common::reference_deck;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run's stream: events in order, plus task names by id.
struct Stream {
    events: Vec<Value>,
    names: HashMap<u64, String>,
    code: i32,
}

impl Stream {
    /// `(t, task name, text)` of every printed line.
    fn lines(&self) -> Vec<(f64, String, String)> {
        self.events
            .iter()
            .filter(|e| e["ev"] == "out")
            .map(|e| {
                let task = e["task"]
                    .as_u64()
                    .and_then(|id| self.names.get(&id).cloned())
                    .unwrap_or_default();
                let text = e["text"].as_str().unwrap().trim_end().to_string();
                (e["t"].as_f64().unwrap(), task, text)
            })
            .collect()
    }

    fn line(&self, text: &str) -> (f64, String) {
        let (t, task, _) = self
            .lines()
            .into_iter()
            .find(|(_, _, l)| l == text)
            .unwrap_or_else(|| panic!("no line {text:?} in {:#?}", self.lines()));
        (t, task)
    }

    fn index(&self, text: &str) -> usize {
        self.lines().iter().position(|(_, _, l)| l == text).unwrap()
    }

    fn of(&self, ev: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["ev"] == ev).collect()
    }
}

fn run_json(deck: &std::path::Path, slide: usize, extra: &[&str]) -> Stream {
    let out = common::bin()
        .args([
            "run",
            "--trust",
            deck.to_str().unwrap(),
            "--slide",
            &slide.to_string(),
            "--json",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run trio-present");
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names = events
        .iter()
        .filter(|e| e["ev"] == "task")
        .map(|e| {
            (
                e["id"].as_u64().unwrap(),
                e["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    Stream {
        events,
        names,
        code: out.status.code().unwrap_or(-1),
    }
}

fn near(t: f64, want: f64, tol: f64) -> bool {
    (t - want).abs() <= tol
}

#[test]
fn slide_12_sleepers_run_concurrently() {
    let s = run_json(&reference_deck(), 12, &[]);
    assert_eq!(s.code, 0);
    for i in 0..5 {
        let (t, task) = s.line(&format!("Sleeping for {i} seconds"));
        assert!(t < 0.3, "sleeping line {i} at {t}");
        assert_eq!(task, format!("sleepy({i})"));
        let (t, task) = s.line(&format!("Slept {i} seconds"));
        assert!(near(t, i as f64, 0.3), "slept {i} at {t}");
        assert_eq!(task, format!("sleepy({i})"));
        assert!(s.index("Started all tasks") < s.index(&format!("Slept {i} seconds")));
    }
    let (t, task) = s.line("All done");
    assert!(near(t, 4.0, 0.3), "All done at {t}");
    assert_eq!(task, "main()");
    assert_eq!(s.lines().last().unwrap().2, "All done");
    assert_eq!(s.of("done")[0]["status"], "ok");
}

#[test]
fn slide_33_dynamic_spawning() {
    let s = run_json(&reference_deck(), 33, &[]);
    assert_eq!(s.code, 0);
    let (t, task) = s.line("starter done");
    assert!(t < 0.3);
    assert_eq!(task, "starter(<nursery>)");
    let sleepers = s
        .names
        .values()
        .filter(|n| n.starts_with("sleepy("))
        .count();
    assert_eq!(sleepers, 7);
    // Every sleeper hangs under main's nursery, not under starter.
    let main_nursery = s
        .of("nursery")
        .into_iter()
        .find(|n| s.names[&n["task"].as_u64().unwrap()] == "main()")
        .expect("main opens a nursery")["id"]
        .clone();
    for t in s.of("task") {
        if t["name"].as_str().unwrap().starts_with("sleepy(") {
            assert_eq!(t["nursery"], main_nursery, "{t}");
            assert_eq!(s.names[&t["parent"].as_u64().unwrap()], "main()");
        }
    }
    let (t, _) = s.line("all done");
    assert!(near(t, 6.0, 0.3), "all done at {t}");
    assert_eq!(s.lines().last().unwrap().2, "all done");
}

#[test]
fn slide_37_move_on_after_cancels_the_sleeper() {
    let s = run_json(&reference_deck(), 37, &[]);
    assert_eq!(s.code, 0);
    s.line("Sleeping for 10 seconds");
    let (t, _) = s.line("All done");
    assert!(near(t, 3.0, 0.3), "All done at {t}");
    assert!(t >= 2.9);
    assert!(!s.lines().iter().any(|(_, _, l)| l == "Slept 10 seconds"));
    let cancelled = s.of("task_exit").into_iter().any(|e| {
        e["outcome"] == "cancelled" && s.names[&e["id"].as_u64().unwrap()] == "sleepy(10)"
    });
    assert!(cancelled, "sleepy(10) ends cancelled");
    // The cancel scope is an event, not a silence: entered, fired at ~3 s, caught.
    let scope = s.of("scope")[0];
    assert_eq!(scope["kind"], "move_on_after");
    let fired = s.of("scope_fired")[0];
    assert_eq!(fired["id"], scope["id"]);
    assert_eq!(fired["reason"], "deadline");
    assert!(near(fired["t"].as_f64().unwrap(), 3.0, 0.3), "{fired}");
    let ids: Vec<String> = fired["cancelled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| s.names[&id.as_u64().unwrap()].clone())
        .collect();
    assert!(ids.contains(&"sleepy(10)".to_string()), "{ids:?}");
    assert_eq!(s.of("scope_exit")[0]["cancelled_caught"], true);
}

#[test]
fn slide_47_channel_backpressure() {
    let s = run_json(&reference_deck(), 47, &[]);
    assert_eq!(s.code, 0);
    assert!(s.line("sent 0").0 < 0.3);
    assert!(s.line("sent 1").0 < 0.3);
    let (t, task) = s.line("received 0");
    assert!(near(t, 2.0, 0.3), "received 0 at {t}");
    assert!(task.starts_with("receiver("), "{task}");
    s.line("received 1");
    s.line("received 2");
}

#[test]
fn slide_46_says_what_it_defined() {
    let s = run_json(&reference_deck(), 46, &[]);
    assert_eq!(s.code, 0);
    let defined = s.of("defined");
    assert_eq!(defined[0]["names"], serde_json::json!(["receiver"]));
}

#[test]
fn text_output_has_time_task_and_text() {
    let out = common::bin()
        .args([
            "run",
            "--trust",
            reference_deck().to_str().unwrap(),
            "--slide",
            "37",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.ends_with("sleepy(10)  Sleeping for 10 seconds")),
        "{text}"
    );
    assert!(text.contains("[run]  running main()"), "{text}");
}

/// `trio-present run DECK --slide 2 --timeout SECS`, to be completed and started.
fn slide_2(deck: &std::path::Path, timeout: &str) -> Command {
    let mut cmd = common::bin();
    cmd.args([
        "run",
        "--trust",
        deck.to_str().unwrap(),
        "--slide",
        "2",
        "--timeout",
        timeout,
    ]);
    cmd
}

/// A deck whose slide 2 is `code` (each failure case gets its own deck: a slide runs every
/// earlier slide's code first, so one deck of failures would fail in set-up).
fn deck_with(code: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.md");
    let deck = format!("# Case\n====\n```exechidden\nimport trio\n```\n```exec\n{code}\n```\n");
    std::fs::write(&path, deck).unwrap();
    (dir, path)
}

#[test]
fn name_error_shows_a_traceback_naming_slide_and_line() {
    let (_d, deck) = deck_with("async def main():\n    print(\"about to fail\")\n    foo()");
    let s = run_json(&deck, 2, &[]);
    assert_eq!(s.code, 1);
    let tb = s.of("error")[0]["traceback"].as_str().unwrap().to_string();
    assert!(tb.contains("File \"slide 2 (block 2)\", line 3"), "{tb}");
    assert!(tb.contains("NameError"), "{tb}");
    assert!(!tb.contains("harness"), "no harness frames: {tb}");
    assert_eq!(s.of("done")[0]["status"], "error");
}

#[test]
fn exception_groups_are_shown_whole() {
    let (_d, deck) = deck_with(
        "async def boom(x):\n    raise ValueError(x)\nasync def main():\n    async with trio.open_nursery() as n:\n        n.start_soon(boom, 1)\n        n.start_soon(boom, 2)",
    );
    let s = run_json(&deck, 2, &[]);
    assert_eq!(s.code, 1);
    let tb = s.of("error")[0]["traceback"].as_str().unwrap().to_string();
    assert!(
        tb.contains("ValueError: 1") && tb.contains("ValueError: 2"),
        "{tb}"
    );
}

/// Starts a headless run, waits for `ready_text`, sends SIGINT and measures how long the run
/// takes to end.
fn interrupt_after(
    deck: &std::path::Path,
    slide: usize,
    ready_text: &str,
) -> (Duration, i32, String) {
    use std::io::Read;
    let mut child = common::bin()
        .args([
            "run",
            "--trust",
            deck.to_str().unwrap(),
            "--slide",
            &slide.to_string(),
        ])
        .args(["--timeout", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains(ready_text) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "ended before {ready_text:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let asked = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let took = asked.elapsed();
    stdout.read_to_string(&mut seen).unwrap();
    (took, status.code().unwrap_or(-1), seen)
}

#[test]
fn busy_loop_stops_within_a_second_and_a_half() {
    let (_d, deck) = deck_with("print(\"spinning\")\nwhile True:\n    pass");
    let (took, code, out) = interrupt_after(&deck, 2, "spinning");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(code, 130);
    assert!(out.contains("stopped"), "{out}");
}

#[test]
fn blocking_sleep_stops_within_a_second_and_a_half() {
    let (_d, deck) = deck_with("import time\nprint(\"napping\")\ntime.sleep(100)");
    let (took, code, _) = interrupt_after(&deck, 2, "napping");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(code, 130);
}

#[test]
fn os_exit_and_segfault_are_reported_as_an_exit_and_a_death() {
    for (code, said) in [
        (
            "import os\nprint(\"bye\")\nos._exit(3)",
            "interpreter exited with code 3",
        ),
        ("import ctypes\nctypes.string_at(0)", "interpreter died"),
    ] {
        let (_d, deck) = deck_with(code);
        let out = common::bin()
            .args([
                "run",
                "--trust",
                deck.to_str().unwrap(),
                "--slide",
                "2",
                "--timeout",
                "20",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(said), "{code}: {text}");
    }
}

#[test]
fn os_exit_0_is_a_normal_exit_not_a_death() {
    let (_d, deck) = deck_with("import os\nprint(\"bye\")\nos._exit(0)");
    let out = common::bin()
        .args(["run", "--trust", deck.to_str().unwrap(), "--slide", "2"])
        .args(["--timeout", "20"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bye"), "{text}");
    assert!(text.contains("interpreter exited with code 0"), "{text}");
    assert!(!text.contains("died"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn reading_stdin_gets_eof_instead_of_hanging() {
    let (_d, deck) = deck_with("print(\"got\", repr(input()))");
    let s = run_json(&deck, 2, &["--timeout", "10"]);
    assert_eq!(s.code, 1);
    let tb = s.of("error")[0]["traceback"].as_str().unwrap().to_string();
    assert!(tb.contains("EOFError"), "{tb}");
}

#[test]
fn a_flood_of_200k_lines_finishes() {
    let (_d, deck) =
        deck_with("for i in range(200000):\n    print(\"line\", i)\nprint(\"flood done\")");
    let start = Instant::now();
    let out = slide_2(&deck, "60").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text.lines().filter(|l| l.contains("  line ")).count(),
        200_000
    );
    assert!(text.contains("flood done"));
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn partial_lines_and_top_level_await() {
    let (_d, deck) =
        deck_with("print(\"partial\", end=\"\")\nawait trio.sleep(0.3)\nprint(\" line\")");
    let s = run_json(&deck, 2, &["--timeout", "20"]);
    assert_eq!(s.code, 0, "{:?}", s.events);
    let first = s.of("out")[0];
    assert_eq!(
        first["text"], "partial",
        "partial line flushed before the await ends"
    );
    assert!(first["t"].as_f64().unwrap() < 0.25);
    let texts: String = s.lines().iter().map(|l| l.2.clone()).collect();
    assert_eq!(texts, "partial line");
}

#[test]
fn timeout_stops_with_124() {
    let s = run_json(&reference_deck(), 37, &["--timeout", "0.5"]);
    assert_eq!(s.code, 124);
}

#[test]
fn output_from_subprocesses_appears_untagged() {
    let (_d, deck) = deck_with(
        "import os, sys\nprint(\"from python\")\nsys.stdout.flush()\nos.system(\"echo from-a-shell; echo to-stderr 1>&2\")",
    );
    let s = run_json(&deck, 2, &["--timeout", "20"]);
    assert_eq!(s.code, 0);
    let raw: String = s
        .of("raw")
        .iter()
        .map(|e| format!("{}:{}", e["stream"], e["text"]))
        .collect();
    assert!(raw.contains("\"stdout\":\"from-a-shell\\n\""), "{raw}");
    assert!(raw.contains("\"stderr\":\"to-stderr\\n\""), "{raw}");
    s.line("from python");
}

#[test]
// The child is reaped by wait4 (for its rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn a_flood_keeps_memory_bounded() {
    let (_d, deck) = deck_with(
        "for i in range(200000):\n    print(\"line\", i, \"x\" * 60)\nprint(\"flood done\")",
    );
    let child = slide_2(&deck, "60").stdout(Stdio::null()).spawn().unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // wait4 reports the peak RSS of the run command and the interpreter it reaped.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert_eq!(libc::WEXITSTATUS(status), 0);
    let peak_mb = usage.ru_maxrss / 1024;
    assert!(peak_mb < 100, "peak RSS {peak_mb} MB");
}

/// The oldest trio the presenter uses from a speaker's own environment (0.23) still gets the
/// whole picture: tasks, nurseries and the cancel scope firing, through the harness's
/// version-dependent internals.
#[test]
fn oldest_supported_trio_from_the_users_environment() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("site");
    let pip = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--target", target.to_str().unwrap(), "trio==0.23.2"])
        .output()
        .expect("python3 -m pip");
    assert!(
        pip.status.success(),
        "pip install trio==0.23.2 failed: {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let out = common::bin()
        .args([
            "run",
            "--trust",
            reference_deck().to_str().unwrap(),
            "--slide",
            "37",
            "--json",
        ])
        .env("PYTHONPATH", &target)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(events[0]["trio"], "0.23.2", "the user's own trio is used");
    let fired = events
        .iter()
        .find(|e| e["ev"] == "scope_fired")
        .unwrap_or_else(|| panic!("no scope_fired: {text}"));
    assert!(near(fired["t"].as_f64().unwrap(), 3.0, 0.3), "{fired}");
    assert!(events
        .iter()
        .any(|e| e["ev"] == "task_exit" && e["outcome"] == "cancelled"));
    assert!(events.iter().any(|e| e["ev"] == "nursery"));
    assert!(text.contains("All done"));
}

#[test]
fn removed_control_codes_are_mentioned_once() {
    let (_d, deck) =
        deck_with("print('\\x1b[31mred\\x1b[0m')\nprint('\\x1b]0;title\\x07bell')\nprint('plain')");
    let out = slide_2(&deck, "20").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let notes = text
        .lines()
        .filter(|l| l.contains("[run]  terminal control codes in the demo's output"))
        .count();
    assert_eq!(notes, 1, "{text}");
    assert!(text.lines().any(|l| l.ends_with("red")), "{text}");
    assert!(text.lines().any(|l| l.ends_with("bell")), "{text}");
}
