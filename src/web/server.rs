//! The `--share` web server: serves the live page and its event stream (server-sent events)
//! on threads of its own. It is read-only by construction: it answers `GET`/`HEAD` of two
//! paths and nothing else, one request per connection, and has no way to reach the presenter's
//! channel; what it shows comes from the [`Hub`]. On loopback it is open; on any other address
//! every request must carry the session's random token (`?token=`), else `403` with no content.
//!
//! Why not an HTTP crate: tiny_http 0.12 (tried first) serves connections from a task pool
//! that queues a new connection whenever one pool thread is idle, and an event stream holds its
//! thread for as long as the viewer watches, so in a burst of viewers (a room opening the URL
//! at once) queued ones were never served. Two GET routes, no bodies, no keep-alive need little
//! HTTP: here each connection gets its own thread (small stack), a read timeout for its request
//! head (8 KB at most) and a send timeout, so a viewer that stops reading is dropped after
//! [`SEND_TIMEOUT`] instead of holding a thread forever; at most [`MAX_VIEWERS`] streams and
//! [`MAX_CONNECTIONS`] connections are open at once.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::hub::{Cursor, Hub, Publisher};
use super::page::{self, PageOptions};
use crate::app::App;
use crate::deck::Deck;
use crate::theme::Theme;

/// The address `--share` takes without one.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Event streams open at once; more get 503.
pub const MAX_VIEWERS: usize = 1000;
/// How long one write to a viewer may block before the viewer is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once (viewers and page loads); more are closed at once.
pub const MAX_CONNECTIONS: usize = MAX_VIEWERS + 64;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// A comment line keeps idle streams (and proxies) alive.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// A viewer sends at most this often, so a flood costs a few writes a second per viewer, not
/// one per line.
const COALESCE: Duration = Duration::from_millis(25);

/// A running share: what the presenter publishes into, and the URL to tell the audience.
pub struct Share {
    pub url: String,
    hub: Arc<Hub>,
    publisher: Publisher,
    viewers: Arc<AtomicUsize>,
}

impl Share {
    /// Event streams open now (people following the talk).
    pub fn viewers(&self) -> usize {
        self.viewers.load(Ordering::SeqCst)
    }

    /// What the status bar shows: the URL and how many follow.
    pub fn label(&self) -> String {
        match self.viewers() {
            0 => self.url.clone(),
            n => format!("{} · {n} watching", self.url),
        }
    }

    /// Called by the presenter's loop after each frame; never blocks on a viewer.
    pub fn publish(&mut self, app: &App) {
        self.publisher.publish(app);
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.hub.close();
    }
}

/// Starts serving `deck` on `spec` (`ADDR:PORT`; port 0 picks a free one). A non-loopback
/// address gets a token. Errors are one line for the speaker.
pub fn start(spec: &str, deck: &Deck, theme: &Theme) -> Result<Share, String> {
    let addr: SocketAddr = spec
        .to_socket_addrs()
        .map_err(|e| {
            format!(
                "--share {spec}: not an address ({e}); write e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
            )
        })?
        .next()
        .ok_or_else(|| format!("--share {spec}: the name has no address"))?;
    let token = if addr.ip().is_loopback() {
        None
    } else {
        Some(token().map_err(|e| format!("--share: no random token ({e})"))?)
    };
    let listener = TcpListener::bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!("--share {spec}: port {} is already in use; pick another (--share 127.0.0.1:0 picks a free one)", addr.port())
        } else {
            format!("--share {spec}: cannot listen ({e})")
        }
    })?;
    widen_backlog(&listener);
    let local = listener
        .local_addr()
        .map_err(|e| format!("--share {spec}: {e}"))?;
    let query = token
        .as_ref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    let html = page::build(
        deck,
        theme,
        &PageOptions {
            events: Some(format!("/events{query}")),
            ..PageOptions::default()
        },
    );
    let hub = Hub::new();
    let host = shown_host(local.ip());
    let url = format!("http://{host}:{}/{query}", local.port());
    let viewers = Arc::new(AtomicUsize::new(0));
    let ctx = Arc::new(Ctx {
        hub: hub.clone(),
        token,
        page: html,
        viewers: viewers.clone(),
    });
    std::thread::Builder::new()
        .name("share-accept".into())
        .spawn(move || accept(listener, ctx))
        .map_err(|e| format!("--share: {e}"))?;
    Ok(Share {
        url,
        publisher: Publisher::new(hub.clone(), theme.clone()),
        hub,
        viewers,
    })
}

/// Accepts connections, one thread each (small stacks; a viewer's lives as long as it watches).
fn accept(listener: TcpListener, ctx: Arc<Ctx>) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors or the like: breathe, do not spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue; // dropped: the OS closes it
        }
        open.fetch_add(1, Ordering::SeqCst);
        let (ctx, open2) = (ctx.clone(), open.clone());
        let spawned = std::thread::Builder::new()
            .name("share-conn".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                connection(&ctx, stream);
                open2.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Ctx {
    hub: Arc<Hub>,
    token: Option<String>,
    page: String,
    viewers: Arc<AtomicUsize>,
}

/// 128 random bits from the OS, as hex.
fn token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The host to print: the address itself, or for a wildcard the address of the interface that
/// routes outwards (a UDP "connect" only picks a route, nothing is sent).
fn shown_host(ip: IpAddr) -> String {
    let ip = if ip.is_unspecified() {
        UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
            .and_then(|s| s.local_addr())
            .map(|a| a.ip())
            .unwrap_or(ip)
    } else {
        ip
    };
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

/// A room of people opening the URL at once must not overflow the accept queue (std listens
/// with a small backlog; a dropped SYN costs its client a second or more). Linux lets
/// `listen` be called again to change it.
fn widen_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen on the listener's own fd, already bound and listening.
    unsafe {
        libc::listen(listener.as_raw_fd(), 1024);
    }
}

/// Whether two strings are equal, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One connection: one request (at most [`MAX_REQUEST`] bytes of head, read within
/// [`READ_TIMEOUT`]), one response, then the connection closes. Only `GET` and `HEAD` exist.
fn connection(ctx: &Arc<Ctx>, mut stream: TcpStream) {
    // Viewers yield the CPU to the presenter: on two cores, two hundred streams catching up on
    // a flood must not delay the speaker's next slide.
    // SAFETY: gettid and setpriority on this thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 15);
    }
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(SEND_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_REQUEST {
            return respond(&mut stream, 431, "text/plain", b"", true);
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some(token) = &ctx.token {
        let given = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .unwrap_or("");
        if !same(given, token) {
            // No content, whatever the reason: nothing about the talk leaks to a refused request.
            return respond(&mut stream, 403, "text/plain", b"", true);
        }
    }
    let with_body = method == "GET";
    if !with_body && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", b"", true);
    }
    match path {
        "/" | "/index.html" => respond(
            &mut stream,
            200,
            "text/html; charset=utf-8",
            ctx.page.as_bytes(),
            with_body,
        ),
        "/events" if with_body => {
            if ctx.viewers.fetch_add(1, Ordering::SeqCst) >= MAX_VIEWERS {
                ctx.viewers.fetch_sub(1, Ordering::SeqCst);
                return respond(&mut stream, 503, "text/plain", b"", true);
            }
            events(&ctx.hub, stream);
            ctx.viewers.fetch_sub(1, Ordering::SeqCst);
        }
        _ => respond(&mut stream, 404, "text/plain", b"", true),
    }
}

fn respond(stream: &mut TcpStream, code: u16, kind: &str, body: &[u8], with_body: bool) {
    let reason = match code {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if with_body {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
}

/// One viewer's event stream, until it goes away, stalls past the send timeout, or the
/// presenter quits.
fn events(hub: &Hub, mut w: TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
                Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n\
                retry: 1000\n\n";
    if w.write_all(head.as_bytes())
        .and_then(|_| w.flush())
        .is_err()
    {
        return;
    }
    let mut cursor = Cursor::default();
    loop {
        let Some(frames) = hub.next_frames(&mut cursor, KEEPALIVE) else {
            return;
        };
        let data = if frames.is_empty() {
            ": keep-alive\n\n".to_string()
        } else {
            frames
        };
        if w.write_all(data.as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            return;
        }
        std::thread::sleep(COALESCE);
    }
}
