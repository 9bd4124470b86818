//! Hostile or broken demos: floods, escapes, runaway subprocesses, demos that ignore SIGINT,
//! close their stdout or block the trio loop. Each runs in the real presenter in a real
//! pseudo-terminal (real Python, real trio), which must stay responsive (keys answered within
//! 100 ms), keep its screen intact and its memory bounded, say in the output what happened,
//! and leave no process behind: after the run, after q, after SIGTERM and after a SIGKILL of
//! the presenter itself.
//!
//! The tests take a lock so they run one at a time: the latency and memory numbers are the
//! presenter's, not those of a neighbouring test competing for the machine's two cores.

mod common;

use common::{processes_with, status_kb, Pty};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);
/// First start: finding Python (and, on a fresh machine, installing trio) takes a while.
const READY: Duration = Duration::from_secs(120);
/// The issue's bound on answering a key, whatever the demo does.
const KEY_MS: u128 = 100;
/// The presenter's peak memory after a flood (generous: it is typically far below).
const HWM_LIMIT_KB: u64 = 150 * 1024;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A deck of one exec slide per code, in a fresh directory (kept alive by the returned guard).
/// Slides after the first run the earlier ones' blocks as set-up, so every hostile action
/// lives inside `main()` when a deck has several slides.
fn deck(codes: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.md");
    let slides: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| format!("# Hostile {}\n\n```exec\n{code}\n```\n", i + 1))
        .collect();
    std::fs::write(&path, slides.join("\n====\n\n")).unwrap();
    (dir, path)
}

/// The presenter on `deck` at slide `slide`, with Python warmed up (the status bar shows
/// trio's version once a spare interpreter said `ready`).
fn present(deck: &std::path::Path, slide: usize) -> Pty {
    let slide = slide.to_string();
    let pty = Pty::spawn(
        &["--trust", deck.to_str().unwrap(), "--slide", &slide],
        100,
        30,
    );
    pty.wait_for("trio 0.", READY);
    pty
}

/// Key latencies measured by toggling the help overlay `n` times (each open and each close is
/// one key), sorted.
fn help_latencies(pty: &mut Pty, n: usize) -> Vec<Duration> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(pty.key_latency(b"?", "first / last slide", T));
        all.push(pty.key_latency_gone(b"?", "first / last slide", T));
        // Spread over the run, so the samples see the flood at different moments.
        std::thread::sleep(Duration::from_millis(150));
    }
    all.sort();
    all
}

/// The median of sorted latencies must be within the issue's 100 ms. (The median, not the
/// maximum: on a loaded two-core CI machine one key in ten may wait for the scheduler, which
/// is not the presenter's doing.)
fn assert_responsive(what: &str, latencies: &[Duration]) {
    let median = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    eprintln!("{what}: key latency median {median:?}, max {max:?}");
    assert!(
        median.as_millis() < KEY_MS,
        "{what}: keys answered in {latencies:?} (median {median:?})"
    );
}

fn hwm_kb(pty: &Pty) -> u64 {
    status_kb(pty.child.id(), "VmHWM").expect("VmHWM of the presenter")
}

/// The frame is whole: the slide title at the top, the status bar at the bottom, still on the
/// alternate screen with the cursor hidden.
fn assert_screen_intact(pty: &Pty, title: &str) {
    let screen = pty.contents();
    assert!(screen.contains(title), "slide title gone:\n{screen}");
    assert!(pty.row(29).contains("? help"), "status bar gone:\n{screen}");
    assert!(pty.alternate_screen(), "left the alternate screen");
    assert!(pty.cursor_hidden(), "cursor shown");
}

#[test]
fn a_million_lines_keep_keys_fast_and_memory_bounded() {
    let _serial = serial();
    // (What the test waits for is spelled differently in the source, which is on screen too.)
    let (_dir, path) = deck(&["import time\n\
         t0 = time.monotonic()\n\
         for i in range(1_000_000):\n    print('flood', 'line', i)\n\
         print('flood', 'over in %.1f s' % (time.monotonic() - t0))"]);
    let mut pty = present(&path, 1);
    let started = Instant::now();
    pty.send(b"r");
    pty.wait_for("flood line", T);
    let latencies = help_latencies(&mut pty, 5);
    pty.wait_for("flood over in", Duration::from_secs(60));
    let took = started.elapsed();
    pty.wait_for("done in", T);
    eprintln!("1,000,000 lines: {took:?} to the last one on screen");
    assert_responsive("1M-line flood", &latencies);
    assert_screen_intact(&pty, "Hostile 1");
    assert!(pty.contents().contains("flood line 999999"));
    assert!(pty.contents().contains("earlier lines dropped"));
    let hwm = hwm_kb(&pty);
    eprintln!("1M-line flood: presenter VmHWM {hwm} kB");
    assert!(hwm < HWM_LIMIT_KB, "presenter peaked at {hwm} kB");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn a_ten_megabyte_line_is_cut_with_a_note_and_memory_stays_bounded() {
    let _serial = serial();
    let (_dir, path) = deck(&["print('x' * 10_000_000)\nprint('after', 'the long line')"]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    let latencies = help_latencies(&mut pty, 3);
    pty.wait_for("after the long line", T);
    pty.wait_for("done in", T);
    assert_responsive("10 MB line", &latencies);
    pty.wait_for("[line of 10,000,000 characters cut to 2,000]", T);
    assert_screen_intact(&pty, "Hostile 1");
    let hwm = hwm_kb(&pty);
    eprintln!("10 MB line: presenter VmHWM {hwm} kB");
    assert!(hwm < HWM_LIMIT_KB, "presenter peaked at {hwm} kB");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

/// The number in the cut marker of the line on screen (`[line of 1,234 characters ...`).
fn cut_length(screen: &str) -> Option<u64> {
    let start = screen.rfind("[line of ")? + "[line of ".len();
    let digits: String = screen[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn output_without_a_newline_is_shown_and_bounded() {
    let _serial = serial();
    // One huge write, then dots for ever, never a newline, never an await.
    let (_dir, path) = deck(&["import sys\n\
         sys.stdout.write('z' * 5_000_000)\n\
         while True:\n    print('.', end='')"]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for("zzzzzzzzzz", T);
    pty.wait_for("characters cut to 2,000]", T);
    let latencies = help_latencies(&mut pty, 5);
    let first = cut_length(&pty.contents()).expect("a cut marker");
    std::thread::sleep(Duration::from_millis(300));
    let later = cut_length(&pty.contents()).expect("a cut marker");
    assert!(
        first > 5_000_000 && later > first,
        "the line keeps growing: {first} then {later}"
    );
    assert_responsive("endless line", &latencies);
    assert_screen_intact(&pty, "Hostile 1");
    let hwm = hwm_kb(&pty);
    eprintln!("endless line: {later} characters so far, presenter VmHWM {hwm} kB");
    assert!(hwm < HWM_LIMIT_KB, "presenter peaked at {hwm} kB");
    pty.send(b"\x1b");
    pty.wait_for("stopped by presenter", T);
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn escapes_and_invalid_utf8_never_reach_the_terminal() {
    let _serial = serial();
    // Every payload is split in the source ('LE' 'AK'), so only a leak shows it whole.
    let code = r#"import os, subprocess, sys
leak = 'LE' + 'AK'
nasty = [
    '\x1b[2J', '\x1b[H', '\x1b[3J', '\x1b[?1049l', '\x1b[10;10H', '\x1b[5A', '\x1b[?25h',
    '\x1b]0;title' + leak + '\x07', '\x1b]2;title' + leak + '\x1b\\',
    '\x1b]52;c;' + 'cHduZWQ=' + leak + '\x07', '\x07', '\x1bc', '\x1bP1$r' + leak + '\x1b\\',
    '\x9b2J', '\x9d0;c1' + leak + '\x9c', '\x1b[31m' + 'red' + '\x1b[0m', '\r\b\x0c\x0b\x00',
]
for s in nasty:
    print('<' + s + '>')
# 8-bit C1 bytes and invalid UTF-8 (a UTF-8 terminal would show what follows them as text)
raw = ''.join(nasty).encode() + b'\x9b2J\x9d0;raw\x07\xff\xfe\xc3(\n'
os.write(1, raw)
sys.stdout.buffer.write(raw)
sys.stdout.flush()
subprocess.run(['printf', '\\033]0;sub' + leak + '\\007\\033[?1049l\\033c\\n'])
print('escapes', 'done')"#;
    let (_dir, path) = deck(&[code]);
    let mut pty = present(&path, 1);
    pty.record_raw();
    pty.send(b"r");
    pty.wait_for("escapes done", T);
    pty.wait_for("done in", T);
    let latencies = help_latencies(&mut pty, 2);
    assert_responsive("escapes", &latencies);
    assert_screen_intact(&pty, "Hostile 1");
    let screen = pty.contents();
    assert!(!screen.contains("LEAK"), "a payload leaked:\n{screen}");
    assert!(screen.contains("<red>"), "plain text stays:\n{screen}");
    let raw = pty.raw();
    let text = String::from_utf8_lossy(&raw);
    // (Checked in the bytes: the vt100 emulator of these tests does not keep U+FFFD cells.)
    assert!(
        text.contains("red\u{fffd}2J"),
        "invalid UTF-8 is drawn as �"
    );
    for (what, seq) in [
        ("BEL", "\x07"),
        ("OSC (title, clipboard)", "\x1b]"),
        ("DCS", "\x1bP"),
        ("reset", "\x1bc"),
        ("leaving the alternate screen", "\x1b[?1049l"),
        ("showing the cursor", "\x1b[?25h"),
    ] {
        assert!(!text.contains(seq), "{what} reached the terminal");
    }
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "a C1 control reached the terminal"
    );
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

/// Code that starts 50 sleeping subprocesses, a shell with a grandchild, a background
/// process through `os.system` (re-parented away at once), and [`ESCAPED`] processes that
/// leave the interpreter's process group and session (`start_new_session=True`, and a double
/// fork through `setsid`), all with `mark` on their command line, then prints
/// `children started`.
fn spawner(mark: u32) -> String {
    format!(
        "import os, subprocess\n\
         for i in range(50):\n    subprocess.Popen(['sleep', '{mark}'])\n\
         subprocess.Popen(['sh', '-c', 'sleep {mark} & wait'])\n\
         os.system('sleep {mark} &')\n\
         subprocess.Popen(['sleep', '{mark}'], start_new_session=True)\n\
         if os.fork() == 0:\n\
         \x20   os.setsid()\n\
         \x20   if os.fork() == 0:\n\
         \x20       os.execvp('sleep', ['sleep', '{mark}'])\n\
         \x20   os._exit(0)\n\
         print('children', 'started')\n"
    )
}

/// How many marked processes [`spawner`] starts in the interpreter's group, and outside it.
const IN_GROUP: usize = 52;
const ESCAPED: usize = 2;

/// Waits until at least `n` processes carry `mark` (a process just started may not show its
/// command line yet, so one look is not enough); returns how many there are.
fn wait_marked(mark: u32, n: usize) -> usize {
    let deadline = Instant::now() + T;
    loop {
        let found = processes_with(&mark.to_string()).len();
        if found >= n || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until no process with `mark` on its command line is left; returns how long that
/// took, or panics with the survivors after `limit`.
fn all_gone(mark: u32, limit: Duration) -> Duration {
    let start = Instant::now();
    let mark = mark.to_string();
    loop {
        let left = processes_with(&mark);
        if left.is_empty() {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            let cmds: Vec<String> = left
                .iter()
                .map(|p| {
                    let c = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                    format!("{p}: {}", String::from_utf8_lossy(&c).replace('\0', " "))
                })
                .collect();
            panic!("{} processes survived:\n{}", left.len(), cmds.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every live process in the process groups led by the presenter's children (the
/// interpreters, their watchdogs and whatever the demo started in the group).
fn interpreter_groups(presenter: u32) -> Vec<i32> {
    let mut stats = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the parenthesised command: state, ppid, pgrp, ...
        let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let (ppid, pgrp): (i32, i32) = (rest[1].parse().unwrap(), rest[2].parse().unwrap());
        stats.push((pid, ppid, pgrp));
    }
    let leaders: Vec<i32> = stats
        .iter()
        .filter(|(pid, ppid, pgrp)| *ppid == presenter as i32 && pid == pgrp)
        .map(|(pid, ..)| *pid)
        .collect();
    stats
        .iter()
        .filter(|(pid, _, pgrp)| leaders.contains(pgrp) && !common::zombie(*pid))
        .map(|(pid, ..)| *pid)
        .collect()
}

/// How a test ends the presenter.
#[derive(Clone, Copy)]
enum End {
    Quit,
    Signal(i32),
}

/// Runs a demo that starts `mark`ed subprocesses and then `block`s, ends the presenter, and
/// checks that nothing it started survives it by more than 2 s.
fn nothing_survives(mark: u32, block: &str, end: End, what: &str) {
    let _serial = serial();
    let code = format!("{}{block}", spawner(mark));
    let (_dir, path) = deck(&[&code]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for("children started", T);
    let marked = wait_marked(mark, IN_GROUP + ESCAPED);
    assert!(
        marked >= IN_GROUP + ESCAPED,
        "only {marked} marked processes started"
    );
    let deadline = Instant::now() + T;
    let mut group = interpreter_groups(pty.child.id());
    while group.len() < IN_GROUP && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        group = interpreter_groups(pty.child.id());
    }
    assert!(
        group.len() >= IN_GROUP,
        "the interpreters' groups: {group:?}"
    );
    let start = Instant::now();
    match end {
        End::Quit => pty.send(b"q"),
        End::Signal(sig) => unsafe {
            libc::kill(pty.child.id() as i32, sig);
        },
    }
    let took = all_gone(mark, Duration::from_secs(2));
    let limit = Duration::from_secs(2);
    while group.iter().any(|p| !common::zombie(*p)) && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
    let all = start.elapsed();
    let left: Vec<i32> = group
        .iter()
        .copied()
        .filter(|p| !common::zombie(*p))
        .collect();
    eprintln!(
        "{what}: {marked} marked processes gone after {took:?}, the whole group after {all:?}"
    );
    assert!(left.is_empty(), "{what}: survivors {left:?}");
    let status = pty.wait_exit(T);
    if matches!(end, End::Quit) {
        assert!(status.success(), "{status:?}");
    }
}

#[test]
fn nothing_survives_q() {
    let block = "import trio\nasync def main():\n    await trio.sleep(1000)";
    nothing_survives(987_651, block, End::Quit, "q");
}

#[test]
fn nothing_survives_sigterm() {
    // The trio loop is blocked in time.sleep.
    let block = "import time\nasync def main():\n    time.sleep(1000)";
    nothing_survives(987_652, block, End::Signal(libc::SIGTERM), "SIGTERM");
}

#[test]
fn nothing_survives_a_sigkilled_presenter() {
    // The demo holds the GIL in C code, so the harness's own threads cannot run: its watchdog
    // process notices that the presenter is gone.
    let block = "sum(range(10**13))";
    nothing_survives(987_653, block, End::Signal(libc::SIGKILL), "SIGKILL");
}

#[test]
fn nothing_survives_a_sigkilled_presenter_while_trio_sleeps() {
    // The ordinary case: the harness's command listener sees the end of file itself.
    let block = "import trio\nasync def main():\n    await trio.sleep(1000)";
    nothing_survives(987_654, block, End::Signal(libc::SIGKILL), "SIGKILL (trio)");
}

#[test]
fn subprocesses_die_with_the_run_when_it_ends_and_when_it_is_stopped() {
    let _serial = serial();
    // Two slides; the spawning happens in main(), so slide 2 does not replay slide 1's.
    let ends = format!(
        "async def main():\n{}",
        indent(&format!("{}print('run', 'over')", spawner(987_655)))
    );
    let stopped = format!(
        "import trio\nasync def main():\n{}",
        indent(&format!("{}await trio.sleep(1000)", spawner(987_656)))
    );
    let (_dir, path) = deck(&[&ends, &stopped]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for("run over", T);
    pty.wait_for("done in", T);
    let took = all_gone(987_655, Duration::from_secs(2));
    eprintln!("run over: its subprocesses gone after {took:?}");

    pty.send(b"\x1b[C");
    pty.wait_for("Hostile 2", T);
    pty.send(b"r");
    pty.wait_for("children started", T);
    let marked = wait_marked(987_656, IN_GROUP + ESCAPED);
    assert!(marked >= IN_GROUP + ESCAPED, "only {marked} started");
    pty.send(b"\x1b");
    pty.wait_for("stopped by presenter", T);
    let took = all_gone(987_656, Duration::from_secs(2));
    eprintln!("run stopped: its subprocesses gone after {took:?}");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

fn indent(code: &str) -> String {
    code.lines().map(|l| format!("    {l}\n")).collect()
}

/// Runs a one-slide deck, waits for `started`, checks that keys are answered while it runs,
/// presses Esc and returns how long until `verdict` is on screen.
fn stop_and_wait(code: &str, started: &str, verdict: &str, what: &str) -> (Pty, Duration) {
    let (dir, path) = deck(&[code]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for(started, T);
    assert_responsive(what, &help_latencies(&mut pty, 3));
    let start = Instant::now();
    pty.send(b"\x1b");
    pty.wait_for(verdict, T);
    let took = start.elapsed();
    eprintln!("{what}: {verdict:?} {took:?} after Esc");
    assert_screen_intact(&pty, "Hostile 1");
    drop(dir);
    (pty, took)
}

#[test]
fn a_demo_that_ignores_sigint_is_killed_after_the_grace_second() {
    let _serial = serial();
    let code = "import signal, time\n\
                async def main():\n\
                \x20   signal.signal(signal.SIGINT, signal.SIG_IGN)\n\
                \x20   print('deaf', 'to SIGINT')\n\
                \x20   while True:\n\
                \x20       time.sleep(0.01)";
    let (mut pty, took) = stop_and_wait(
        code,
        "deaf to SIGINT",
        "stopped by presenter (killed)",
        "ignores SIGINT",
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn a_demo_that_blocks_the_trio_loop_with_time_sleep_stops() {
    let _serial = serial();
    let code = "import time\n\
                async def main():\n\
                \x20   print('blocking', 'the loop')\n\
                \x20   time.sleep(1000)";
    let (mut pty, took) = stop_and_wait(
        code,
        "blocking the loop",
        "stopped by presenter",
        "time.sleep in main()",
    );
    // SIGINT interrupts time.sleep: a graceful stop, no SIGKILL needed.
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(!pty.contents().contains("(killed)"));
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn a_demo_that_closes_its_stdout_is_told_and_keeps_its_output() {
    let _serial = serial();
    let code = "import os, subprocess, sys, time\n\
                sys.stdout.close()\n\
                print('still', 'printing')\n\
                os.close(1)\n\
                time.sleep(0.5)\n\
                subprocess.run(['echo', 'lost'])\n\
                print('closed', 'but alive')";
    let (_dir, path) = deck(&[code]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for("closed but alive", T);
    pty.wait_for("done in", T);
    // The note about fd 1 comes from the pipe's reader and may follow `done` by a moment.
    for line in [
        "the demo closed sys.stdout; its output is still shown",
        "still printing",
        "the demo closed its stdout (fd 1)",
        "echo: write error: Bad file descriptor",
    ] {
        pty.wait_for(line, T);
    }
    assert_screen_intact(&pty, "Hostile 1");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

#[test]
fn a_demo_that_exits_half_way_through_a_line_shows_the_half_and_why() {
    let _serial = serial();
    let code = "import os\n\
                print('half', 'a li', end='', flush=True)\n\
                os.write(1, b'raw ' + b'half')\n\
                os._exit(3)";
    let (_dir, path) = deck(&[code]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for("interpreter exited with code 3", T);
    let screen = pty.contents();
    assert!(screen.contains("half a li"), "{screen}");
    assert!(screen.contains("raw half"), "{screen}");
    assert_screen_intact(&pty, "Hostile 1");
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_server_that_never_ends_gives_its_port_back() {
    let _serial = serial();
    let port = free_port();
    let code = format!(
        "import trio\n\
         async def handler(stream):\n\
         \x20   await stream.send_all(b'hi')\n\
         async def main():\n\
         \x20   await trio.serve_tcp(handler, {port}, host='127.0.0.1')"
    );
    let listening = format!("listening on 127.0.0.1:{port}");
    let (_dir, path) = deck(&[&code]);
    let mut pty = present(&path, 1);
    pty.send(b"r");
    pty.wait_for(&listening, T);
    assert_responsive("server", &help_latencies(&mut pty, 3));
    pty.send(b"\x1b");
    pty.wait_for("stopped by presenter", T);
    // Run again at once: the port must be free (the old interpreter is gone).
    pty.send(b"r");
    pty.wait_for("● running", T);
    pty.wait_for(&listening, T);
    assert!(!pty.contents().contains("already in use"));
    let start = Instant::now();
    pty.send(b"q");
    assert!(pty.wait_exit(T).success());
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "port {port} still taken after q"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_process_that_escaped_the_group_ends_with_the_run_after_the_last_output() {
    let _serial = serial();
    // A process in a session of its own escapes the group kill but not the tree kill (the
    // interpreter is a subreaper): it must be gone when the run is, and every line written
    // before the end comes before `exited`.
    let code = "import subprocess\n\
                subprocess.Popen(['sh', '-c', 'echo early words; exec sleep 987657'],\n\
                \x20                start_new_session=True)\n\
                subprocess.run(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo raw $i; i=$((i+1)); done'])\n\
                import time; time.sleep(0.3)\n\
                print('python', 'done')";
    let (_dir, path) = deck(&[code]);
    let start = Instant::now();
    let (status, out, err) = common::run(&[
        "run",
        "--trust",
        path.to_str().unwrap(),
        "--slide",
        "1",
        "--json",
        "--timeout",
        "20",
    ]);
    let took = start.elapsed();
    let survivors = processes_with("987657");
    for pid in &survivors {
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(
        survivors.is_empty(),
        "escaped processes survived: {survivors:?}"
    );
    assert_eq!(status, 0, "{out}\n{err}");
    // Generous: the claim is that the run ends at all (it did not before), not how fast a
    // loaded machine gets there.
    assert!(took < Duration::from_secs(20), "{took:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.last().unwrap().contains("\"exited\""), "{out}");
    assert!(out.contains("raw 2999"), "{out}");
    assert!(out.contains("early words"), "{out}");
    eprintln!("escaped session: run over in {took:?}");
}
