//! Echo-server demos with real sockets on loopback: copies of the reference deck's slides 51–54
//! (port 0, so tests never collide), run headless; a Rust client talks to the reported port.

mod common;

use common::reference_deck;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

/// The reference deck with every `1234` replaced (port 0 = any free port) and `move_on_after(5)`
/// shortened to `timeout` seconds.
fn deck_copy(port: u16, timeout: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let text = std::fs::read_to_string(reference_deck()).unwrap();
    let text = text
        .replace("handler, 1234)", &format!("handler, {port})"))
        .replace("move_on_after(5)", &format!("move_on_after({timeout})"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.md");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// A headless run whose JSON events are read as they come.
struct Demo {
    child: Child,
    events: BufReader<ChildStdout>,
    seen: Vec<Value>,
    names: std::collections::HashMap<u64, String>,
}

impl Demo {
    fn start(deck: &std::path::Path, slide: usize) -> Demo {
        Self::start_with(deck, slide, &[])
    }

    fn start_with(deck: &std::path::Path, slide: usize, extra: &[&str]) -> Demo {
        let mut child = common::bin()
            .args([
                "run",
                "--trust",
                deck.to_str().unwrap(),
                "--slide",
                &slide.to_string(),
            ])
            .args(["--json", "--timeout", "60"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let events = BufReader::new(child.stdout.take().unwrap());
        Demo {
            child,
            events,
            seen: Vec::new(),
            names: Default::default(),
        }
    }

    /// Reads events until one satisfies `pred`; panics (with what was seen) at EOF.
    fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let mut line = String::new();
            let n = self.events.read_line(&mut line).unwrap();
            assert!(n > 0, "run ended before {what}: {:#?}", self.seen);
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["ev"] == "task" {
                self.names.insert(
                    v["id"].as_u64().unwrap(),
                    v["name"].as_str().unwrap().to_string(),
                );
            }
            self.seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    }

    fn port(&mut self) -> (String, u16) {
        let v = self.until("a listen event", |v| v["ev"] == "listen");
        (
            v["host"].as_str().unwrap().to_string(),
            v["port"].as_u64().unwrap() as u16,
        )
    }

    /// Waits for an output line containing `text`; returns the task name that printed it.
    fn output(&mut self, text: &str) -> String {
        let v = self.until(text, |v| {
            v["ev"] == "out" && v["text"].as_str().is_some_and(|t| t.contains(text))
        });
        v["task"]
            .as_u64()
            .and_then(|id| self.names.get(&id).cloned())
            .unwrap_or_default()
    }

    /// Stops the run like Ctrl-c and returns when it has ended.
    fn stop(mut self) -> Duration {
        let asked = Instant::now();
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait().unwrap();
        asked.elapsed()
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn echo_round_trip(s: &mut TcpStream, data: &[u8]) {
    let mut reader = s.try_clone().unwrap();
    let expected = data.to_vec();
    let check = std::thread::spawn(move || {
        let mut got = vec![0u8; expected.len()];
        reader.read_exact(&mut got).unwrap();
        assert!(got == expected, "echo differs");
    });
    for piece in data.chunks(7919) {
        s.write_all(piece).unwrap();
    }
    check.join().unwrap();
}

#[test]
fn slide_51_echoes_bytes_unchanged_on_loopback_only() {
    let (_d, deck) = deck_copy(0, 5);
    let mut demo = Demo::start(&deck, 51);
    let (host, port) = demo.port();
    assert_eq!(host, "127.0.0.1", "loopback only without --expose");
    assert_ne!(port, 0, "the real port is reported");
    let mut s = connect(port);
    echo_round_trip(&mut s, b"hello\n");
    echo_round_trip(&mut s, &[0xff, 0xfe, 0x00, 0x80, b'\n']);
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    echo_round_trip(&mut s, &big);
    drop(s);
    let took = demo.stop();
    assert!(took < Duration::from_millis(1500), "stop took {took:?}");
    // The port is free again at once.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "port {port} still busy after 1 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn slide_52_logs_connections_tagged_with_the_handler_and_serves_three_at_once() {
    let (_d, deck) = deck_copy(0, 5);
    let mut demo = Demo::start(&deck, 52);
    let (_, port) = demo.port();
    let mut clients: Vec<TcpStream> = (0..3).map(|_| connect(port)).collect();
    for _ in 0..3 {
        let task = demo.output("opened connection");
        assert!(task.starts_with("handler("), "{task}");
    }
    // All three are served concurrently: each gets its echo while the others stay open.
    for (i, c) in clients.iter_mut().enumerate() {
        echo_round_trip(c, format!("client {i}\n").as_bytes());
        let task = demo.output("sent data");
        assert!(task.starts_with("handler("), "{task}");
    }
    demo.stop();
}

#[test]
fn slide_53_reports_the_close_after_eof() {
    let (_d, deck) = deck_copy(0, 5);
    let mut demo = Demo::start(&deck, 53);
    let (_, port) = demo.port();
    let mut s = connect(port);
    echo_round_trip(&mut s, b"bye\n");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    demo.output("connection closed from");
    demo.stop();
}

#[test]
fn slide_54_times_out_a_silent_client() {
    let (_d, deck) = deck_copy(0, 1);
    let mut demo = Demo::start(&deck, 54);
    let (_, port) = demo.port();
    let _s = connect(port);
    demo.output("opened connection");
    let started = Instant::now();
    demo.output("timeout for");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800),
        "timed out after {took:?}"
    );
    demo.stop();
}

#[test]
fn a_busy_port_is_one_clear_line() {
    let blocker = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let (_d, deck) = deck_copy(port, 5);
    let out = common::bin()
        .args([
            "run",
            "--trust",
            deck.to_str().unwrap(),
            "--slide",
            "51",
            "--timeout",
            "30",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("port {port} is already in use")),
        "{text}"
    );
    assert!(!text.contains("Traceback"), "no traceback wall: {text}");
}

#[test]
fn expose_listens_on_every_interface() {
    let (_d, deck) = deck_copy(0, 5);
    let mut demo = Demo::start_with(&deck, 51, &["--expose"]);
    let (host, port) = demo.port();
    assert!(host == "0.0.0.0" || host == "::", "{host}");
    // Still reachable on loopback (the only address tests may use).
    let mut s = connect(port);
    echo_round_trip(&mut s, b"exposed\n");
    demo.stop();
}

#[test]
fn slide_52_binds_1234_right_after_slide_51() {
    common::wait_port_free(1234);
    let deck = reference_deck();
    let mut first = Demo::start(&deck, 51);
    assert_eq!(first.port().1, 1234);
    first.stop();
    let mut second = Demo::start(&deck, 52);
    assert_eq!(second.port().1, 1234, "the port was freed by the stop");
    let mut s = connect(1234);
    echo_round_trip(&mut s, b"again\n");
    second.stop();
}
