//! The `--share` web server: serves the live page and its event stream (server-sent events)
//! with tiny_http on threads of its own. It is read-only by construction: it answers `GET` of
//! two paths and nothing else, and has no way to reach the presenter's channel; what it shows
//! comes from the [`Hub`]. On loopback it is open; on any other address every request must
//! carry the session's random token (`?token=`), else `403` with no content.
//!
//! Each viewer gets a thread (small stack) that follows the hub. The listening socket gets a
//! send timeout, which Linux copies to every accepted socket: a viewer that stops reading is
//! dropped after [`SEND_TIMEOUT`] instead of holding a thread forever, and at most
//! [`MAX_VIEWERS`] streams are open at once.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
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
    set_send_timeout(&listener, SEND_TIMEOUT);
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
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| format!("--share {spec}: {e}"))?;
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
        .spawn(move || {
            for req in server.incoming_requests() {
                handle(&ctx, req);
            }
        })
        .map_err(|e| format!("--share: {e}"))?;
    Ok(Share {
        url,
        publisher: Publisher::new(hub.clone(), theme.clone()),
        hub,
        viewers,
    })
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

fn set_send_timeout(listener: &TcpListener, timeout: Duration) {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: setsockopt reads `tv` for the given length; the fd is the listener's own.
    unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
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

fn handle(ctx: &Arc<Ctx>, req: tiny_http::Request) {
    use tiny_http::{Header, Method, Response};
    let header = |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
    // No content, whatever the reason: nothing about the talk leaks to a refused request.
    let empty = |code: u16| Response::empty(code);
    let (path, query) = req.url().split_once('?').unwrap_or((req.url(), ""));
    let path = path.to_string();
    if let Some(token) = &ctx.token {
        let given = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .unwrap_or("");
        if !same(given, token) {
            let _ = req.respond(empty(403));
            return;
        }
    }
    if !matches!(req.method(), Method::Get | Method::Head) {
        let _ = req.respond(empty(405));
        return;
    }
    match path.as_str() {
        "/" | "/index.html" => {
            let mut resp = Response::from_string(ctx.page.clone());
            for (k, v) in [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
            ] {
                if let Some(h) = header(k, v) {
                    resp.add_header(h);
                }
            }
            let _ = req.respond(resp);
        }
        "/events" => {
            if ctx.viewers.fetch_add(1, Ordering::SeqCst) >= MAX_VIEWERS {
                ctx.viewers.fetch_sub(1, Ordering::SeqCst);
                let _ = req.respond(empty(503));
                return;
            }
            let ctx2 = ctx.clone();
            let spawned = std::thread::Builder::new()
                .name("share-viewer".into())
                .stack_size(128 * 1024)
                .spawn(move || {
                    stream(&ctx2.hub, req.into_writer());
                    ctx2.viewers.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                ctx.viewers.fetch_sub(1, Ordering::SeqCst);
            }
        }
        _ => {
            let _ = req.respond(empty(404));
        }
    }
}

/// One viewer's event stream, until it goes away, stalls past the send timeout, or the
/// presenter quits.
fn stream(hub: &Hub, mut w: Box<dyn Write + Send>) {
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
