//! The web view end to end: real recordings (a rehearsal of the reference deck with real Python
//! and trio), the exported page loaded in headless Chromium (the Debian package; CI installs
//! it), and the presenter's `--share` server on loopback followed by a real SSE client and by
//! Chromium. Timing checks have generous tolerances and every wait has a deadline.

mod common;

use common::{reference_deck, Pty};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// The exported page of the reference deck (written once).
fn exported() -> &'static Path {
    static PAGE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &PAGE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let page = dir.path().join("talk.html");
            let deck = reference_deck();
            let (code, _, err) = common::run_with_data(
                common::rehearsed(),
                &[
                    "export",
                    deck.to_str().unwrap(),
                    "-o",
                    page.to_str().unwrap(),
                ],
            );
            assert_eq!(code, 0, "{err}");
            assert!(
                err.contains("2 of 11 exec slides with a recorded run"),
                "{err}"
            );
            (dir, page)
        })
        .1
}

/// Headless Chromium, or None (with a loud message) when it is not installed here. On CI it
/// must be there: .ci/run installs it.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
                return Some(PathBuf::from(p));
            }
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromium is not installed, but CI must run the browser tests (.ci/run installs it)"
    );
    eprintln!("\n!!!!! SKIPPED: chromium is not installed (apt-get install -y chromium) !!!!!\n");
    None
}

/// Runs headless Chromium on `url` with `extra` flags; returns its stdout. One at a time: a
/// browser is heavy on two cores, and the tests' timings are the page's, not the machine's.
fn browse(chrome: &Path, url: &str, extra: &[&str]) -> String {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,800",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = String::new();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The attribute `name` of an HTML tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// The section of slide `n` in a DOM dump.
fn section(dom: &str, n: usize) -> &str {
    let start = dom
        .find(&format!("id=\"s{n}\""))
        .unwrap_or_else(|| panic!("no slide {n}"));
    let end = dom[start..].find("</section>").unwrap() + start;
    &dom[start..end]
}

/// The output lines in a piece of DOM: (data-t, data-shown, text of the line).
fn dom_lines(html: &str) -> Vec<(i64, i64, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<div class=\"line ") {
        rest = &rest[i..];
        let tag_end = rest.find('>').unwrap();
        let tag = &rest[..tag_end];
        let t = attr(tag, "data-t").unwrap().parse().unwrap();
        let shown = attr(tag, "data-shown").unwrap().parse().unwrap();
        let end = rest.find("</div>").unwrap();
        let text = strip_tags(&rest[tag_end + 1..end]);
        out.push((t, shown, text));
        rest = &rest[end..];
    }
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

#[test]
fn export_is_self_contained_and_keeps_notes_out_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("talk.md");
    std::fs::write(
        &deck,
        "# My talk\n\nHello <!-- note: SECRET-NOTE -->\n\n====\n\n## Code\n\n```exec\nprint('hi')\n```\n",
    )
    .unwrap();
    let page = dir.path().join("talk.html");
    let (code, _, err) = common::run_with_data(
        dir.path(),
        &[
            "export",
            deck.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no recording of slide 2"), "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("SECRET-NOTE"),
        "a note leaked into the export"
    );
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("connect-src 'none'"));
    for fetch in ["<link", "src=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    assert!(html.contains("no recording of this slide exists"));
    assert!(
        html.contains("class=\"sy-"),
        "code not highlighted by syntect"
    );
    let (code, _, err) = common::run_with_data(
        dir.path(),
        &[
            "export",
            deck.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
            "--notes",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("SECRET-NOTE"));
    // Without any output the command says what it needs, in one line.
    let (code, _, err) = common::run_with_data(dir.path(), &["export", deck.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("-o talk.html") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn browser_shows_the_slides_and_navigates_by_fragment() {
    let Some(chrome) = chromium() else { return };
    let url = format!("file://{}#3", exported().display());
    let dom = browse(&chrome, &url, &["--virtual-time-budget=1000", "--dump-dom"]);
    assert!(
        dom.contains("<title>Trio</title>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    assert!(
        dom.contains("class=\"slide current\" id=\"s3\""),
        "slide 3 is not the one shown"
    );
    assert!(dom.contains("3 / 57"));
    // Every slide's text is in the page, the code highlighted.
    assert!(section(&dom, 12).contains("open_nursery"));
}

#[test]
fn browser_plays_a_recorded_run_at_its_recorded_times() {
    let Some(chrome) = chromium() else { return };
    let url = format!("file://{}?autoplay#12", exported().display());
    let dom = browse(
        &chrome,
        &url,
        &["--virtual-time-budget=15000", "--dump-dom"],
    );
    let s12 = section(&dom, 12);
    assert!(
        s12.contains("data-state=\"done\""),
        "the run did not finish playing"
    );
    let lines = dom_lines(s12);
    let texts: Vec<&str> = lines.iter().map(|l| l.2.as_str()).collect();
    let pos = |needle: &str| {
        texts
            .iter()
            .position(|t| t.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not shown: {texts:#?}"))
    };
    assert!(pos("Started all tasks") < pos("Slept 0 seconds"));
    for k in 0..4 {
        assert!(pos(&format!("Slept {k} seconds")) < pos(&format!("Slept {} seconds", k + 1)));
    }
    assert!(pos("Slept 4 seconds") < pos("All done"));
    assert!(
        texts[pos("Slept 2 seconds")].contains("sleepy(2)"),
        "task tag missing"
    );
    let mut last = 0;
    for (t, shown, text) in &lines {
        assert!(*t >= last, "lines out of recorded order at {text:?}");
        last = *t;
        assert!(
            (shown - t).abs() <= 100,
            "{text:?} recorded at {t} ms was shown at {shown} ms"
        );
    }
    // The task tree and the timeline are there at the end.
    assert!(
        s12.contains("sleepy(4)</span>") && s12.contains("done"),
        "no task tree"
    );
    let timeline = &s12[s12.find("class=\"timeline\"").unwrap()..];
    assert!(timeline.contains("━"), "no timeline bars");
}

#[test]
fn browser_shows_the_cancellation_lines_of_a_recorded_run() {
    let Some(chrome) = chromium() else { return };
    let url = format!("file://{}?autoplay#37", exported().display());
    let dom = browse(
        &chrome,
        &url,
        &["--virtual-time-budget=15000", "--dump-dom"],
    );
    let s37 = section(&dom, 37);
    assert!(s37.contains("data-state=\"done\""));
    let lines = dom_lines(s37);
    assert!(
        lines
            .iter()
            .any(|l| l.2.contains("move_on_after(3)") && l.2.contains("cancel")),
        "{lines:#?}"
    );
}

/// A server-sent-events client: every event as (when it arrived, name, data).
fn sse(addr: &str, path: &str) -> mpsc::Receiver<(Instant, String, String)> {
    let (tx, rx) = mpsc::channel();
    let mut stream = TcpStream::connect(addr).expect("connect to the share");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 200 "), "{status}");
        let (mut name, mut data) = (String::new(), String::new());
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if let Some(v) = l.strip_prefix("event: ") {
                name = v.to_string();
            } else if let Some(v) = l.strip_prefix("data: ") {
                data = v.to_string();
            } else if l.is_empty() && !name.is_empty() {
                let ev = (
                    Instant::now(),
                    std::mem::take(&mut name),
                    std::mem::take(&mut data),
                );
                if tx.send(ev).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Waits for an event named `name` whose data satisfies `ok`; returns it.
fn wait_event(
    rx: &mpsc::Receiver<(Instant, String, String)>,
    name: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
    seen: &mut Vec<(String, serde_json::Value)>,
) -> (Instant, serde_json::Value) {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (at, n, d) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {name} event within {T:?}; seen: {seen:?}"));
        let v: serde_json::Value = serde_json::from_str(&d).unwrap();
        seen.push((n.clone(), v.clone()));
        if n == name && ok(&v) {
            return (at, v);
        }
    }
}

/// Reads a whole HTTP response: (status code, body).
fn get(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// Starts the presenter with `--share` and reads the URL off its status bar.
fn presenter(args: &[&str]) -> (Pty, String) {
    let deck = reference_deck();
    let mut all = vec!["--offline"];
    all.extend_from_slice(args);
    all.push(deck.to_str().unwrap());
    let data = common::rehearsed().to_str().unwrap();
    let pty = Pty::spawn_env(&all, 200, 40, &[("XDG_DATA_HOME", data)]);
    let url = share_url(&pty);
    (pty, url)
}

/// Waits for the share's URL in the presenter's status bar and reads it.
fn share_url(pty: &Pty) -> String {
    pty.wait_for("⇄ http://", T);
    let screen = pty.contents();
    let at = screen.find("⇄ http://").unwrap() + "⇄ ".len();
    screen[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn live_view_follows_the_speaker_and_streams_runs_to_late_joiners_too() {
    let (mut pty, url) = presenter(&["--share", "127.0.0.1:0", "--slide", "11"]);
    assert!(!url.contains("token"), "loopback needs no token: {url}");
    let addr = host_port(&url);
    let (code, page) = get(&addr, "GET", "/");
    assert_eq!(code, 200);
    assert!(page.contains("data-events=\"/events?v=0\"") && page.contains("open_nursery"));
    let rx = sse(&addr, "/events");
    let mut seen = Vec::new();
    wait_event(&rx, "slide", |v| v["n"] == 11, &mut seen);
    // The speaker's slide change reaches the viewer within 200 ms.
    pty.wait_for("11 / 57", T);
    let sent = Instant::now();
    pty.send(b"\x1b[C");
    let (at, _) = wait_event(&rx, "slide", |v| v["n"] == 12, &mut seen);
    let latency = at.duration_since(sent);
    assert!(
        latency < Duration::from_millis(200),
        "slide change took {latency:?}"
    );
    // Offline, r plays the rehearsal through the presenter: the viewer gets it as it streams.
    pty.send(b"r");
    wait_event(&rx, "run", |v| v["slide"] == 12, &mut seen);
    wait_event(&rx, "end", |v| v["status"] == "ok", &mut seen);
    let lines = |seen: &[(String, serde_json::Value)]| -> Vec<String> {
        seen.iter()
            .filter(|(n, _)| n == "lines")
            .flat_map(|(_, v)| v["lines"].as_array().unwrap().clone())
            .map(|l| format!("{} {}", l[3].as_str().unwrap(), l[4].as_str().unwrap()))
            .collect()
    };
    let live = lines(&seen);
    let expected = [
        "main() Started all tasks",
        "sleepy(0) Slept 0 seconds",
        "sleepy(1) Slept 1 seconds",
        "sleepy(2) Slept 2 seconds",
        "sleepy(3) Slept 3 seconds",
        "sleepy(4) Slept 4 seconds",
        "main() All done",
    ];
    let mut at = 0;
    for e in expected {
        at += live[at..]
            .iter()
            .position(|l| l == e)
            .unwrap_or_else(|| panic!("{e:?} missing or out of order: {live:#?}"));
    }
    // Someone joining now gets the slide and the whole run from its start.
    let late = sse(&addr, "/events");
    let mut seen_late = Vec::new();
    wait_event(&late, "slide", |v| v["n"] == 12, &mut seen_late);
    wait_event(&late, "end", |_| true, &mut seen_late);
    assert_eq!(lines(&seen_late), live);
    assert!(seen_late
        .iter()
        .any(|(n, v)| n == "tree" && v["html"].as_str().unwrap().contains("sleepy(4)")));
    // Nothing a browser sends moves the slides or runs anything.
    for (method, path) in [("POST", "/"), ("PUT", "/events"), ("DELETE", "/")] {
        assert_eq!(get(&addr, method, path).0, 405);
    }
    assert_eq!(get(&addr, "GET", "/next").0, 404);
    pty.send(b"q");
    pty.wait_exit(T);
}

#[test]
fn browser_live_view_follows_the_presenter() {
    let Some(chrome) = chromium() else { return };
    let (mut pty, url) = presenter(&["--share", "127.0.0.1:0", "--slide", "5"]);
    // Chromium's virtual time only runs out once the event stream ends: it loads the page,
    // follows while the presenter moves, and dumps the page when the presenter quits.
    let browser = std::thread::spawn(move || {
        browse(&chrome, &url, &["--virtual-time-budget=3000", "--dump-dom"])
    });
    pty.wait_for("1 watching", Duration::from_secs(60));
    pty.send(b"9\r");
    pty.wait_for("9 / 57", T);
    // The presenter stays on slide 9 well past the 200 ms the stream needs (the SSE test
    // measures that latency precisely), then quits, which ends the stream.
    std::thread::sleep(Duration::from_millis(1000));
    pty.send(b"q");
    pty.wait_exit(T);
    let dom = browser.join().unwrap();
    assert!(
        dom.contains("class=\"slide current\" id=\"s9\""),
        "the live page did not follow to slide 9: {}",
        dom.lines()
            .filter(|l| l.contains("current"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        dom.contains("data-live="),
        "the page never opened the event stream"
    );
}

#[test]
fn beyond_loopback_a_token_is_required() {
    let (mut pty, url) = presenter(&["--share", "0.0.0.0:0", "--no-exec"]);
    let token = url
        .split_once("?token=")
        .map(|(_, t)| t.to_string())
        .expect("no token in the URL");
    assert_eq!(token.len(), 32, "{url}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let port = host_port(&url).rsplit(':').next().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    for path in [
        "/",
        "/events",
        "/?token=",
        "/events?token=0123456789abcdef0123456789abcdef",
    ] {
        let (code, body) = get(&addr, "GET", path);
        assert_eq!((code, body.as_str()), (403, ""), "{path}");
    }
    let (code, page) = get(&addr, "GET", &format!("/?token={token}"));
    assert_eq!(code, 200);
    assert!(page.contains(&format!("/events?token={token}")));
    let rx = sse(&addr, &format!("/events?token={token}"));
    wait_event(&rx, "slide", |v| v["n"] == 1, &mut Vec::new());
    pty.send(b"q");
    pty.wait_exit(T);
}

#[test]
fn a_busy_share_port_is_one_line_and_a_failure() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = taken.local_addr().unwrap().to_string();
    let deck = reference_deck();
    let mut pty = Pty::spawn(&["--share", &spec, deck.to_str().unwrap()], 120, 30);
    let status = pty.wait_exit(T);
    assert!(!status.success());
    let screen = pty.contents();
    assert!(screen.contains("already in use"), "{screen}");
}

#[test]
fn a_room_opening_the_url_at_once_is_served_whole() {
    let (mut pty, url) = presenter(&["--share", "127.0.0.1:0", "--no-exec", "--slide", "4"]);
    let addr = host_port(&url);
    // 150 viewers connect in the same instant; every one must get the slide.
    let streams: Vec<_> = (0..150).map(|_| sse(&addr, "/events")).collect();
    for rx in &streams {
        wait_event(rx, "slide", |v| v["n"] == 4, &mut Vec::new());
    }
    pty.wait_for("150 watching", T);
    drop(streams);
    pty.send(b"q");
    pty.wait_exit(T);
}

/// A viewer that opens the stream and never reads: a socket with a tiny receive buffer (set
/// before connecting, so the window it offers stays small).
fn stalled_viewer(addr: &str) -> TcpStream {
    use std::os::fd::FromRawFd;
    let sa: std::net::SocketAddrV4 = addr.parse().unwrap();
    // SAFETY: a fresh socket we own, options of the right size, a sockaddr_in built here.
    let mut stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: sa.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*sa.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect to the share");
        TcpStream::from_raw_fd(fd)
    };
    write!(stream, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    stream
}

#[test]
fn a_stalled_viewer_is_dropped_while_the_others_get_every_line() {
    // 8,000 lines of 300 characters (2.4 MB of events): far more than a stalled viewer's
    // buffers hold, fewer than a run's log keeps (so a viewer that reads misses none).
    const LINES: usize = 8_000;
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("flood.md");
    std::fs::write(
        &deck,
        format!(
            "# Flood\n\n```exec\nfor i in range(1, {}):\n    print(f\"line {{i:05}} \" + \"x\" * 289)\n```\n",
            LINES + 1
        ),
    )
    .unwrap();
    let mut pty = Pty::spawn_env(
        &["--trust", "--share", "127.0.0.1:0", deck.to_str().unwrap()],
        160,
        30,
        // The server's internal knob: a stalled stream is dropped after 1 s, not 10.
        &[("TRIO_PRESENT_SHARE_SEND_TIMEOUT_MS", "1000")],
    );
    let url = share_url(&pty);
    pty.wait_for("trio 0.", Duration::from_secs(60));
    let addr = host_port(&url);
    let reader = sse(&addr, "/events");
    let mut stalled = stalled_viewer(&addr);
    pty.wait_for("2 watching", T);
    pty.send(b"r");
    // The viewer that reads gets every line, in order, then the end.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut next = 1;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, name, data) = reader
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("the reading viewer stopped at line {next}"));
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        match name.as_str() {
            "skip" => panic!("the reading viewer skipped lines: {v}"),
            "lines" => {
                for l in v["lines"].as_array().unwrap() {
                    let text = l[4].as_str().unwrap();
                    if let Some(n) = text.strip_prefix("line ") {
                        assert_eq!(n[..5].parse::<usize>().unwrap(), next, "out of order");
                        next += 1;
                    }
                }
            }
            "end" => break,
            _ => seen.push(name),
        }
    }
    assert_eq!(next, LINES + 1, "lines missing");
    // The stalled one is dropped once its stream has stayed full for the timeout...
    pty.wait_for("1 watching", T);
    // ...and its connection is closed: what the buffers held, then the end of the stream.
    stalled.set_read_timeout(Some(T)).unwrap();
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + T;
    loop {
        assert!(
            Instant::now() < deadline,
            "the stalled viewer's stream never closed"
        );
        match stalled.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    assert!(
        got < LINES * 300,
        "the stalled viewer was not stalled: it got all {got} bytes"
    );
    // The presenter's memory stayed bounded: the run's log (2.4 MB of lines, twice: the
    // presenter's scrollback and the viewers' JSON) on top of its usual size, nothing per
    // viewer stream.
    let peak = common::status_kb(pty.child.id(), "VmHWM").unwrap_or(0);
    eprintln!("presenter peak RSS {peak} kB; the stalled viewer got {got} bytes before its end");
    assert!(peak < 100_000, "presenter peak RSS {peak} kB");
    pty.send(b"q");
    pty.wait_exit(T);
}

/// The presenter sharing `deck` on a free port (`--no-exec`, environment `env`), with the
/// share's URL.
fn sharing(deck: &Path, env: &[(&str, &str)]) -> (Pty, String) {
    let args = [
        "--no-exec",
        "--share",
        "127.0.0.1:0",
        deck.to_str().unwrap(),
    ];
    let pty = Pty::spawn_env(&args, 160, 30, env);
    let url = share_url(&pty);
    (pty, url)
}

/// The presenter sharing a deck whose first slide says "First version" (the tests then write
/// a second), with the deck's path and the share's URL.
fn sharing_a_two_version_deck(dir: &Path) -> (Pty, PathBuf, String) {
    let deck = dir.join("talk.md");
    std::fs::write(&deck, "# First version\n\n====\n\n# Two\n").unwrap();
    let (pty, url) = sharing(&deck, &[]);
    (pty, deck, url)
}

#[test]
fn a_changed_deck_reloads_the_viewers_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pty, deck, url) = sharing_a_two_version_deck(dir.path());
    let addr = host_port(&url);
    let (_, page) = get(&addr, "GET", "/");
    assert!(page.contains("First version") && page.contains("data-events=\"/events?v=0\""));
    let rx = sse(&addr, "/events?v=0");
    let mut seen = Vec::new();
    wait_event(&rx, "slide", |v| v["n"] == 1, &mut seen);
    std::fs::write(&deck, "# Second version\n\n====\n\n# Two\n").unwrap();
    pty.wait_for("Second version", T);
    // The viewer is told to load the page again, and the page is the new deck's.
    wait_event(&rx, "reload", |_| true, &mut seen);
    let (_, page) = get(&addr, "GET", "/");
    assert!(page.contains("Second version") && page.contains("/events?v=1"));
    // A page loaded just before the change and connecting after it is told at once.
    let late = sse(&addr, "/events?v=0");
    wait_event(&late, "reload", |_| true, &mut Vec::new());
    pty.send(b"q");
    pty.wait_exit(T);
}

/// The local ports of the connections open to `port` on loopback (from /proc/net/tcp), i.e.
/// the clients of the share: an event stream that reconnects shows up as a new port.
fn clients_of(port: u16) -> Vec<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let mut ports: Vec<u16> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (local, remote, state) = (f.get(1)?, f.get(2)?, f.get(3)?);
            let rport = u16::from_str_radix(remote.rsplit(':').next()?, 16).ok()?;
            // 01: established.
            (rport == port && *state == "01")
                .then(|| u16::from_str_radix(local.rsplit(':').next()?, 16).ok())
                .flatten()
        })
        .collect();
    ports.sort_unstable();
    ports
}

#[test]
fn browser_live_page_loads_the_changed_deck() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut pty, deck, url) = sharing_a_two_version_deck(dir.path());
    let port: u16 = host_port(&url).rsplit(':').next().unwrap().parse().unwrap();
    let browser = std::thread::spawn(move || {
        browse(&chrome, &url, &["--virtual-time-budget=3000", "--dump-dom"])
    });
    pty.wait_for("1 watching", Duration::from_secs(60));
    // Besides the event stream, Chromium may hold a spare connection it opened ahead of need;
    // the share closes such an idle one after its header timeout (5 s), so only a stream
    // stays open longer than that.
    let before = clients_of(port);
    std::fs::write(&deck, "# Second version\n\n====\n\n# Two\n").unwrap();
    pty.wait_for("Second version", T);
    // The page reloads: its stream closes and the new page's opens (a connection from another
    // port; the viewer count may not even blink). A new connection that outlives the header
    // timeout is that stream.
    let long = Duration::from_secs(6);
    let mut since: std::collections::HashMap<u16, Instant> = Default::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = clients_of(port);
        since.retain(|p, _| now.contains(p));
        for p in now.iter().filter(|p| !before.contains(p)) {
            since.entry(*p).or_insert_with(Instant::now);
        }
        if since.values().any(|t| t.elapsed() >= long) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page did not reconnect: {before:?} then {now:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pty.send(b"q");
    pty.wait_exit(T);
    let dom = browser.join().unwrap();
    assert!(
        dom.contains("Second version") && !dom.contains("First version"),
        "the live page did not load the changed deck"
    );
}

#[test]
fn an_edit_on_stage_reaches_the_viewers_pages_and_a_revert_too() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("talk.md");
    let original = "# Edits\n\n```exec\nprint('first version')\n```\n";
    std::fs::write(&deck, original).unwrap();
    let (mut pty, url) = sharing(
        &deck,
        &[
            ("EDITOR", "sed -i 's/first version/edited on stage/'"),
            ("VISUAL", ""),
        ],
    );
    let addr = host_port(&url);
    let rx = sse(&addr, "/events?v=0");
    let mut seen = Vec::new();
    wait_event(&rx, "slide", |v| v["n"] == 1, &mut seen);
    pty.send(b"E");
    pty.wait_for("edited on stage", T);
    // The scratch edit is what the room sees on the projector: the viewers get it too.
    wait_event(&rx, "reload", |_| true, &mut seen);
    let (_, page) = get(&addr, "GET", "/");
    assert!(page.contains("edited on stage") && !page.contains("first version"));
    assert_eq!(
        std::fs::read_to_string(&deck).unwrap(),
        original,
        "not written"
    );
    // Reverted: the page is the deck's again.
    let rx = sse(&addr, "/events?v=1");
    wait_event(&rx, "slide", |v| v["n"] == 1, &mut seen);
    pty.send(b"u");
    pty.wait_for("first version", T);
    wait_event(&rx, "reload", |_| true, &mut seen);
    let (_, page) = get(&addr, "GET", "/");
    assert!(page.contains("first version") && page.contains("/events?v=2"));
    pty.send(b"q");
    pty.wait_exit(T);
}

#[test]
fn a_closed_viewer_is_no_longer_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pty, _deck, url) = sharing_a_two_version_deck(dir.path());
    let addr = host_port(&url);
    let mut viewers: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
            s
        })
        .collect();
    pty.wait_for("2 watching", T);
    // A browser tab closed while nothing is being sent: its connection ends, no write fails.
    drop(viewers.pop());
    pty.wait_for("1 watching", T);
    drop(viewers.pop());
    pty.wait_gone("watching", T);
    pty.send(b"q");
    pty.wait_exit(T);
}
