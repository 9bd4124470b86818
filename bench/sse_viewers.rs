//! `cargo run --release --example sse_viewers -- ADDR VIEWERS SLIDE LINES`: many server-sent
//! event viewers of `trio-present --share`, for bench/web.sh. Each viewer connects (retrying
//! until the presenter listens), follows the stream, and checks that the run on SLIDE reaches
//! it whole and in order: output lines `line 00001 …` to `line LINES …`. Prints one line of
//! results when every viewer has the last line (or after 120 s).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default, Debug)]
struct Viewer {
    in_order: bool,
    lines: usize,
    skipped: u64,
    first_line: Option<Instant>,
    last_line: Option<Instant>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: sse_viewers ADDR VIEWERS SLIDE LINES");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let n: usize = args[2].parse().expect("VIEWERS");
    let slide: u64 = args[3].parse().expect("SLIDE");
    let expect: usize = args[4].parse().expect("LINES");
    let connected = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<Viewer>>> = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for _ in 0..n {
        let (addr, connected, results) = (addr.clone(), connected.clone(), results.clone());
        handles.push(
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let v = view(&addr, slide, expect, &connected);
                    results.lock().unwrap().push(v);
                })
                .unwrap(),
        );
    }
    for h in handles {
        let _ = h.join();
    }
    let results = results.lock().unwrap();
    let complete = results
        .iter()
        .filter(|v| v.in_order && v.lines == expect)
        .count();
    let skipped: u64 = results.iter().map(|v| v.skipped).sum();
    let first = results.iter().filter_map(|v| v.first_line).min();
    let last = results.iter().filter_map(|v| v.last_line).max();
    let spread = match (first, last) {
        (Some(a), Some(b)) => format!("{:.0}", (b - a).as_secs_f64() * 1000.0),
        _ => "-".into(),
    };
    println!(
        "viewers={} connected={} complete_in_order={} skipped_lines={} first_line_to_last_viewer_done_ms={}",
        n,
        connected.load(Ordering::SeqCst),
        complete,
        skipped,
        spread
    );
}

fn view(addr: &str, slide: u64, expect: usize, connected: &AtomicUsize) -> Viewer {
    let mut v = Viewer {
        in_order: true,
        ..Viewer::default()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let stream = loop {
        match TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => return v,
        }
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut w = stream.try_clone().unwrap();
    if write!(w, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").is_err() {
        return v;
    }
    connected.fetch_add(1, Ordering::SeqCst);
    let mut reader = BufReader::new(stream);
    let mut event = String::new();
    let mut line = String::new();
    let mut run_id = None;
    while Instant::now() < deadline && v.lines < expect {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => break,
        }
        let l = line.trim_end();
        if let Some(e) = l.strip_prefix("event: ") {
            event = e.to_string();
            continue;
        }
        let Some(data) = l.strip_prefix("data: ") else {
            continue;
        };
        let d: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
        if d["slide"].as_u64() != Some(slide) {
            continue;
        }
        match event.as_str() {
            "run" => {
                run_id = d["id"].as_u64();
                v.lines = 0;
            }
            "skip" => v.skipped += d["n"].as_u64().unwrap_or(0),
            "lines" if d["id"].as_u64() == run_id => {
                for l in d["lines"].as_array().into_iter().flatten() {
                    let text = l[4].as_str().unwrap_or("");
                    let Some(num) = text
                        .strip_prefix("line ")
                        .and_then(|t| t.get(..5))
                        .and_then(|t| t.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    v.first_line.get_or_insert_with(Instant::now);
                    if num != v.lines + 1 {
                        v.in_order = false;
                    }
                    v.lines = num;
                }
                if v.lines == expect {
                    v.last_line = Some(Instant::now());
                }
            }
            _ => {}
        }
    }
    v
}
