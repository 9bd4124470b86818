//! `trio-present check`, the rehearsal: the reference deck passes (its servers reported as
//! listening, each port freed for the next slide), and a deck with every kind of problem gets
//! each one named with its slide and line. Real Python, real trio, real sockets.
//!
//! The reference check binds port 1234 (the talk's own port): no other test in this file does.

mod common;

use common::reference_deck;
use serde_json::Value;
use std::time::{Duration, Instant};

fn check(args: &[&str]) -> (i32, String, String) {
    let out = common::bin()
        .arg("check")
        .args(args)
        .output()
        .expect("run trio-present check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn slide(report: &Value, n: u64) -> &Value {
    report["slides"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slide"] == n)
        .unwrap_or_else(|| panic!("slide {n} not in the report: {report:#}"))
}

#[test]
fn reference_deck_checks_ok_with_servers_listening() {
    common::wait_port_free(1234);
    let deck = reference_deck();
    let started = Instant::now();
    let (code, stdout, stderr) = check(&["--trust", "--json", deck.to_str().unwrap()]);
    let took = started.elapsed();
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {stderr}"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
    let checked: Vec<u64> = report["slides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slide"].as_u64().unwrap())
        .collect();
    assert_eq!(checked, vec![11, 12, 33, 37, 45, 46, 47, 51, 52, 53, 54]);
    for n in [11, 12, 33, 37, 45, 46, 47] {
        assert_eq!(slide(&report, n)["result"], "ok", "slide {n}");
    }
    // The talk's timings: slide 12 ends with "All done" after ~4 s, slide 37's move_on_after(3).
    assert_eq!(slide(&report, 12)["detail"], "All done");
    let t12 = slide(&report, 12)["seconds"].as_f64().unwrap();
    assert!((3.5..10.0).contains(&t12), "slide 12 took {t12} s");
    let t37 = slide(&report, 37)["seconds"].as_f64().unwrap();
    assert!((2.5..8.0).contains(&t37), "slide 37 took {t37} s");
    // Four servers on the same port in a row: each was stopped and its port freed in time.
    for n in [51, 52, 53, 54] {
        let s = slide(&report, n);
        assert_eq!(s["result"], "listening", "slide {n}: {s}");
        assert_eq!(s["detail"], "listening on 127.0.0.1:1234", "slide {n}");
    }
    // The issue's budget is 30 s (benchmarked in bench/run.sh); generous here for a loaded CI.
    assert!(took < Duration::from_secs(60), "check took {took:?}");
}

/// A deck with one of each problem.
const BAD_DECK: &str = r#"# Bad deck
====
```exec
import trio
x = 1
```
====
```exec
async def main():
    await trio.sleep(0)
    print(undefined_name)
```
====
```exec
async def main():
    await trio.sleep(100)
```
====
```exec
async def boom():
    raise ValueError("bad value")

async def main():
    async with trio.open_nursery() as n:
        n.start_soon(boom)
        n.start_soon(boom)
```
====
# Tall
TALL
====
```exec
async def main():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    await trio.sleep(0.3)
    raise RuntimeError("server crashed")
```
====
```exec
async def main():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    await trio.sleep_forever()
```
====
```exec
def broken(:
    pass
```
====
```python
never closed
"#;

#[test]
fn every_kind_of_problem_is_named_with_slide_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.md");
    let tall: Vec<String> = (0..40).map(|i| format!("- item {i}")).collect();
    std::fs::write(&path, BAD_DECK.replace("TALL", &tall.join("\n"))).unwrap();
    let (code, stdout, stderr) = check(&[
        "--trust",
        "--json",
        "--timeout",
        "2",
        "--size",
        "100x30",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], false);

    assert_eq!(slide(&report, 2)["result"], "ok");
    let name_error = slide(&report, 3);
    assert_eq!(name_error["result"], "error");
    assert_eq!(
        name_error["exception"],
        "NameError: name 'undefined_name' is not defined"
    );
    assert_eq!(
        name_error["line"], 11,
        "the deck line of print(undefined_name)"
    );
    let timeout = slide(&report, 4);
    assert_eq!(timeout["result"], "timeout");
    let t = timeout["seconds"].as_f64().unwrap();
    assert!((1.9..5.0).contains(&t), "timed out after {t} s");
    let group = slide(&report, 5);
    assert_eq!(group["result"], "error");
    assert_eq!(
        group["exception"],
        "ValueError: bad value (in an exception group)"
    );
    assert_eq!(group["line"], 21);
    // A server that dies after listening is not healthy.
    let crashed = slide(&report, 7);
    assert_eq!(crashed["result"], "error", "{crashed}");
    assert!(crashed["exception"]
        .as_str()
        .unwrap()
        .contains("RuntimeError: server crashed"));
    let healthy = slide(&report, 8);
    assert_eq!(healthy["result"], "listening", "{healthy}");
    assert!(healthy["detail"]
        .as_str()
        .unwrap()
        .starts_with("listening on 127.0.0.1:"));
    let syntax = slide(&report, 9);
    assert_eq!(syntax["result"], "error");
    assert_eq!(syntax["seconds"], 0.0, "not run");

    let problems: Vec<(String, u64, u64)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["slide"].as_u64().unwrap(),
                p["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            ("overflow".into(), 6, 29),
            ("syntax".into(), 9, 85),
            ("unclosed_fence".into(), 10, 89),
        ],
        "{report:#}"
    );
}

#[test]
fn syntax_errors_are_found_without_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let path = dir.path().join("deck.md");
    let deck = format!(
        "# d\n====\n```exec\nopen({:?}, 'w').write('x')\n```\n====\n```exec\nprint('ok'\n```\n",
        marker.to_str().unwrap()
    );
    std::fs::write(&path, deck).unwrap();
    let (code, stdout, _) = check(&["--trust", path.to_str().unwrap(), "--slides", "3"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("SyntaxError"), "{stdout}");
    assert!(stdout.contains("slide 3, line 8"), "{stdout}");
    assert!(stdout.contains("not run"), "{stdout}");
    assert!(
        !marker.exists(),
        "slide 2 ran as set-up of a slide that does not compile"
    );
    // The table: a header, the row, the problem, the summary.
    assert!(stdout.starts_with("check "), "{stdout}");
    assert!(
        stdout.contains("1 of 1 exec slides failed, 1 deck problem"),
        "{stdout}"
    );
}

#[test]
fn check_needs_trust_or_approval_and_good_arguments() {
    let data = tempfile::tempdir().unwrap();
    let deck = reference_deck();
    let deck = deck.to_str().unwrap();
    let out = common::bin()
        .args(["check", deck])
        .env("XDG_DATA_HOME", data.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--trust"), "{err}");
    assert!(out.stdout.is_empty());
    for (args, expect) in [
        (vec!["--slides", "99"], "outside the deck's slides 1 to 57"),
        (vec!["--slides", "a-b"], "not a slide number"),
        (vec!["--size", "100"], "expected COLUMNSxROWS"),
        (vec!["--timeout", "0"], "positive number"),
    ] {
        let mut all = vec!["--trust", deck];
        all.extend(args);
        let (code, stdout, stderr) = check(&all);
        assert_eq!(code, 2, "{all:?}: {stderr}");
        assert!(stdout.is_empty());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expect), "{stderr:?} lacks {expect:?}");
    }
}

#[test]
fn ctrl_c_stops_the_check_and_reports_what_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deck.md");
    // The slide leaves a file when it runs: Ctrl-C comes once check is surely running it,
    // not after a guessed delay that races check's own start-up.
    let mark = dir.path().join("started");
    let long = format!(
        "```exec\nimport trio\nasync def main():\n    open({:?}, 'w').close()\n    await trio.sleep(100)\n```\n",
        mark.to_str().unwrap()
    );
    std::fs::write(&path, format!("# d\n====\n{long}====\n{long}")).unwrap();
    let child = common::bin()
        .args(["check", "--trust", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !mark.exists() {
        assert!(std::time::Instant::now() < deadline, "slide 2 never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("STOPPED"), "{stdout}");
    assert!(
        !stdout.contains("    3  "),
        "slide 3 must not run: {stdout}"
    );
}

/// A deck where running side by side could go wrong: sleepers that would overlap, an error,
/// and two servers on the same fixed port (`PORT`), which must not run at once.
const SIDE_BY_SIDE: &str = r#"# Side by side
====
```exec
import trio

async def nap(name, seconds):
    await trio.sleep(seconds)
    print(name, "woke up")
```
====
```exec
async def main():
    await nap("first", 2)
```
====
```exec
async def main():
    await trio.open_tcp_listeners(PORT, host="127.0.0.1")
    await trio.sleep_forever()
```
====
```exec
async def main():
    await nap("second", 2)
```
====
```exec
async def main():
    await trio.sleep(0.2)
    raise ValueError("on purpose")
```
====
```exec
async def main():
    listeners = await trio.open_tcp_listeners(PORT, host="127.0.0.1")
    print("second server up")
    await trio.sleep_forever()
```
====
```exec
async def main():
    await nap("third", 2)
```
"#;

/// (slide, result, detail) of each row of a JSON report, in the report's order.
fn verdicts(report: &Value) -> Vec<(u64, String, String)> {
    report["slides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["slide"].as_u64().unwrap(),
                s["result"].as_str().unwrap().to_string(),
                s["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn slides_side_by_side_keep_slide_order_and_the_verdicts_of_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deck.md");
    // A port nothing else uses (not the talk's 1234), fixed in the deck for both servers.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(&path, SIDE_BY_SIDE.replace("PORT", &port.to_string())).unwrap();
    let deck = path.to_str().unwrap();
    let run = |jobs: &str| {
        let (code, stdout, stderr) = check(&["--trust", "--json", "--jobs", jobs, deck]);
        assert_eq!(
            code, 1,
            "the ValueError fails the check: {stdout}\n{stderr}"
        );
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {stderr}"));
        report
    };
    let alone = run("1");
    let expected = verdicts(&alone);
    let listening = format!("listening on 127.0.0.1:{port}");
    assert_eq!(
        expected,
        vec![
            (2, "ok".into(), "defined: trio, nap".into()),
            (3, "ok".into(), "first woke up".into()),
            (4, "listening".into(), listening.clone()),
            (5, "ok".into(), "second woke up".into()),
            (6, "error".into(), "ValueError: on purpose (line 30)".into()),
            (7, "listening".into(), listening),
            (8, "ok".into(), "third woke up".into()),
        ],
        "{alone:#}"
    );
    let side_by_side = run("4");
    assert_eq!(verdicts(&side_by_side), expected, "{side_by_side:#}");
    // Each slide's seconds lie within the check's own: had no two runs overlapped, they
    // could not add up to more than it.
    let total = side_by_side["seconds"].as_f64().unwrap();
    let sum: f64 = side_by_side["slides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seconds"].as_f64().unwrap())
        .sum();
    assert!(
        sum > total,
        "the runs did not overlap: {sum} s of slides in {total} s"
    );

    // The table too comes in slide order, each row as its verdict is known.
    let (_, table, _) = check(&["--trust", deck]);
    let rows: Vec<u64> = table
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5, 6, 7, 8], "{table}");
}

#[test]
fn ctrl_c_stops_every_slide_running_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deck.md");
    // Slide 2 touches a file, so it runs apart from slide 5 (which does too) but beside the
    // sleepers 3 and 4. It leaves its mark a second after it started, by when those have
    // most likely started too (the assertions hold either way).
    let mark = dir.path().join("started");
    let deck = format!(
        concat!(
            "# d\n====\n```exec\nimport trio\nasync def main():\n    await trio.sleep(1)\n",
            "    open({mark:?}, 'w').close()\n    await trio.sleep(100)\n```\n",
            "====\n```exec\nasync def main():\n    await trio.sleep(100)\n```\n",
            "====\n```exec\nasync def main():\n    await trio.sleep(100)\n```\n",
            "====\n```exec\nasync def main():\n    open({mark:?}).close()\n```\n",
        ),
        mark = mark.to_str().unwrap()
    );
    std::fs::write(&path, deck).unwrap();
    let child = common::bin()
        .args(["check", "--trust", "--jobs", "4", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "slide 2 never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    let rows: Vec<(u64, &str)> = stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let slide = words.next()?.parse().ok()?;
            Some((slide, l))
        })
        .collect();
    // Whatever had started was stopped (not left to time out), in slide order; slide 5,
    // which waits for slide 2, never ran.
    assert_eq!(rows.first().map(|r| r.0), Some(2), "{stdout}");
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{stdout}");
    assert!(rows.iter().all(|(_, l)| l.contains("STOPPED")), "{stdout}");
    assert!(
        rows.iter().all(|(n, _)| *n != 5),
        "slide 5 must not run: {stdout}"
    );
}
