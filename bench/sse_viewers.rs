//! `cargo run --release --example sse_viewers -- ADDR VIEWERS SLIDE LINES [RUNS]`: many
//! server-sent event viewers of `trio-present --share`, for bench/web.sh. Each viewer connects
//! (retrying until the presenter listens), follows the stream, and checks that each run on
//! SLIDE reaches it whole and in order: output lines `line 00001 …` to `line LINES …`. Prints
//! one line of results when every viewer has RUNS (default 1) such runs, or its stream ended,
//! or after 300 s.
//!
//! The viewers stand in for attendees' own machines, yet share the presenter's cores here: they
//! are tasks on one thread (tokio), not a thread each, and they scan the `lines` events rather
//! than parse them, so that the benchmark measures the presenter and its server, not them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Default, Debug)]
struct Viewer {
    /// Runs received whole and in order.
    whole: usize,
    /// Runs that started but came with a line missing or out of order.
    broken: usize,
    skipped: u64,
    /// Since the first line of the first run, until the last line of the last whole one.
    first_line: Option<Instant>,
    last_line: Option<Instant>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(5..=6).contains(&args.len()) {
        eprintln!("usage: sse_viewers ADDR VIEWERS SLIDE LINES [RUNS]");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let n: usize = args[2].parse().expect("VIEWERS");
    let slide: u64 = args[3].parse().expect("SLIDE");
    let expect: usize = args[4].parse().expect("LINES");
    let runs: usize = args.get(5).map_or(1, |r| r.parse().expect("RUNS"));
    let connected = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<Viewer>>> = Arc::new(Mutex::new(Vec::new()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..n {
            let (addr, connected, results) = (addr.clone(), connected.clone(), results.clone());
            handles.push(tokio::spawn(async move {
                let v = view(&addr, slide, expect, runs, &connected).await;
                results.lock().unwrap().push(v);
            }));
        }
        for h in handles {
            let _ = h.await;
        }
    });
    let results = results.lock().unwrap();
    let complete = results
        .iter()
        .filter(|v| v.whole >= runs && v.broken == 0)
        .count();
    let whole: usize = results.iter().map(|v| v.whole).sum();
    let broken: usize = results.iter().map(|v| v.broken).sum();
    let skipped: u64 = results.iter().map(|v| v.skipped).sum();
    let first = results.iter().filter_map(|v| v.first_line).min();
    let last = results.iter().filter_map(|v| v.last_line).max();
    let spread = match (first, last) {
        (Some(a), Some(b)) => format!("{:.0}", (b - a).as_secs_f64() * 1000.0),
        _ => "-".into(),
    };
    println!(
        "viewers={n} connected={} complete_in_order={complete} runs={runs} whole_runs={whole} broken_runs={broken} skipped_lines={skipped} first_line_to_last_viewer_done_ms={spread}",
        connected.load(Ordering::SeqCst),
    );
}

async fn view(
    addr: &str,
    slide: u64,
    expect: usize,
    runs: usize,
    connected: &AtomicUsize,
) -> Viewer {
    let mut v = Viewer::default();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut stream = loop {
        match TcpStream::connect(addr).await {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(_) => return v,
        }
    };
    let request = format!("GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return v;
    }
    connected.fetch_add(1, Ordering::SeqCst);
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut event = String::new();
    let mut line = String::new();
    let mut run_id = None;
    // The current run: the last line number seen, and whether all came in order.
    let (mut lines, mut in_order) = (0usize, true);
    let prefix = format!("{{\"slide\":{slide},");
    while v.whole < runs {
        line.clear();
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, reader.read_line(&mut line)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(_)) => {}
        }
        let l = line.trim_end();
        if let Some(e) = l.strip_prefix("event: ") {
            event = e.to_string();
            continue;
        }
        let Some(data) = l.strip_prefix("data: ") else {
            continue;
        };
        if event == "lines" {
            if !data.starts_with(&prefix) {
                continue;
            }
            let id = data
                .split_once("\"id\":")
                .and_then(|(_, r)| r.split(',').next())
                .and_then(|n| n.parse::<u64>().ok());
            if id != run_id {
                continue;
            }
            for (at, _) in data.match_indices("\"line ") {
                let Some(num) = data
                    .get(at + 6..at + 11)
                    .and_then(|t| t.parse::<usize>().ok())
                else {
                    continue;
                };
                v.first_line.get_or_insert_with(Instant::now);
                in_order &= num == lines + 1;
                lines = num;
            }
            if lines == expect {
                if in_order {
                    v.whole += 1;
                    v.last_line = Some(Instant::now());
                } else {
                    v.broken += 1;
                }
                lines = 0;
                run_id = None;
            }
            continue;
        }
        let d: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
        if d["slide"].as_u64() != Some(slide) {
            continue;
        }
        match event.as_str() {
            "run" => {
                if lines > 0 {
                    v.broken += 1; // a run that never reached its last line
                }
                run_id = d["id"].as_u64();
                (lines, in_order) = (0, true);
            }
            "skip" => v.skipped += d["n"].as_u64().unwrap_or(0),
            _ => {}
        }
    }
    v
}
