//! The `--share` web server: serves the live page and its event stream (server-sent events).
//!
//! HTTP is hyper's (HTTP/1.1, one request per connection) on a tokio current-thread runtime
//! that runs on **one** thread of its own, at the lowest priority: every connection and every
//! viewer's stream is a task there, so two hundred viewers cost one thread, not two hundred,
//! and when the presenter (its key handling, its terminal) wants the CPU it gets it first.
//!
//! It is read-only by construction: it answers `GET`/`HEAD` of two paths and nothing else
//! (`405`/`404`), and has no way to reach the presenter's channel; what it shows comes from the
//! [`Hub`]. On loopback it is open; on any other address every request must carry the
//! session's random token (`?token=`), else `403` with no content.
//!
//! Limits, so that no client can hold more than its share: a request head must arrive within
//! [`READ_TIMEOUT`] and fit in [`MAX_REQUEST`] bytes; a page or error response must be sent
//! within [`RESPONSE_TIMEOUT`]; a viewer whose stream stops draining is dropped after the send
//! timeout ([`SEND_TIMEOUT`]); at most [`MAX_VIEWERS`] streams and [`MAX_CONNECTIONS`]
//! connections are open at once. What a viewer holds in memory is bounded (one batch waiting
//! for hyper, hyper's write buffer, the socket's), whatever it does.
//!
//! (A first version used tiny_http, whose task pool left viewers of a burst unserved while
//! earlier streams held its threads; a second gave each connection a thread of its own, and
//! two hundred threads waking on each slide change cost the presenter a few milliseconds per key
//! on two cores.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{mpsc, Notify};

use super::hub::{self, Cursor, Hub, Publisher, Updates};
use super::page::{self, PageOptions};
use crate::app::edit::{shown_deck, BlockKey};
use crate::app::App;
use crate::deck::Deck;
use crate::theme::Theme;

/// The address `--share` takes without one.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Event streams open at once; more get 503.
pub const MAX_VIEWERS: usize = 1000;
/// How long a viewer's stream may stay full (nothing drained) before the viewer is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Tests shorten [`SEND_TIMEOUT`] with this (milliseconds); not a user option.
const SEND_TIMEOUT_ENV: &str = "TRIO_PRESENT_SHARE_SEND_TIMEOUT_MS";
/// Connections open at once (viewers and page loads); more are closed at once.
pub const MAX_CONNECTIONS: usize = MAX_VIEWERS + 64;
/// How long a client may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a page (or an error) may take to reach its client, head read included.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request head read (hyper's smallest buffer; more gets 431).
const MAX_REQUEST: usize = 8 * 1024;
/// The kernel's send buffer of a connection (it doubles it for its own bookkeeping). Fixed
/// rather than grown by the kernel up to megabytes per socket, so what a stalled viewer holds in
/// the kernel is bounded too, and a stall fills it (and is noticed) soon. Ample for text on
/// any network a talk is given on.
const SEND_BUFFER: libc::c_int = 128 * 1024;
/// A comment line keeps idle streams (and proxies) alive.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// A running share: what the presenter publishes into, and the URL to tell the audience.
pub struct Share {
    pub url: String,
    publisher: Publisher,
    viewers: Arc<AtomicUsize>,
    /// What the page is built of, the speaker's unsaved edits in place: a reloaded deck or an
    /// edit gets a new page (see [`Share::publish`]).
    deck: Deck,
    /// The edits the page was last built with.
    edits: HashMap<BlockKey, String>,
    /// Where the deck's slides lived when last looked at: a reload replaces them, so a change
    /// of address is the cheap sign to compare the decks.
    slides_at: usize,
    theme: Theme,
    query: String,
    page_version: u64,
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

    /// Called by the presenter's loop after each frame; never blocks on the web side. When the
    /// deck was reloaded or the speaker edited (or reverted) a block, a new page is built on a
    /// thread of its own and the viewers' pages then load it. Returns whether lines are left
    /// for the next call (they go in slices).
    pub fn publish(&mut self, app: &App) -> bool {
        let more = self.publisher.publish(app);
        if app.deck.slides.as_ptr() as usize != self.slides_at || app.edits != self.edits {
            self.slides_at = app.deck.slides.as_ptr() as usize;
            self.edits.clone_from(&app.edits);
            let shown = shown_deck(&app.deck, &app.edits);
            if *shown != self.deck {
                self.deck = shown.into_owned();
                self.page_version += 1;
                let (deck, theme, query) =
                    (self.deck.clone(), self.theme.clone(), self.query.clone());
                let (version, sink) = (self.page_version, self.publisher.pages());
                let _ = std::thread::Builder::new()
                    .name("share-page".into())
                    .spawn(move || {
                        lowest_priority();
                        sink.send(version, build_page(&deck, &theme, &query, version));
                    });
            }
        }
        more
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.publisher.close();
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
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("--share {spec}: {e}"))?;
    let query = token
        .as_ref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    let (hub, publisher, updates) = hub::hub(theme.clone(), build_page(deck, theme, &query, 0));
    let host = shown_host(local.ip());
    let url = format!("http://{host}:{}/{query}", local.port());
    let viewers = Arc::new(AtomicUsize::new(0));
    let send_timeout = std::env::var(SEND_TIMEOUT_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(SEND_TIMEOUT, Duration::from_millis);
    let ctx = Arc::new(Ctx {
        hub,
        token,
        viewers: viewers.clone(),
        send_timeout,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("--share: {e}"))?;
    std::thread::Builder::new()
        .name("share".into())
        .spawn(move || {
            lowest_priority();
            runtime.block_on(serve(listener, ctx, updates));
        })
        .map_err(|e| format!("--share: {e}"))?;
    Ok(Share {
        url,
        publisher,
        viewers,
        deck: deck.clone(),
        edits: HashMap::new(),
        slides_at: deck.slides.as_ptr() as usize,
        theme: theme.clone(),
        query,
        page_version: 0,
    })
}

/// The live page, version `version`: its event stream says which version it shows (`v=`), so
/// that a page loaded just before a reload is told to load the new one.
fn build_page(deck: &Deck, theme: &Theme, query: &str, version: u64) -> Bytes {
    let events = match query {
        "" => format!("/events?v={version}"),
        q => format!("/events{q}&v={version}"),
    };
    let html = page::build(
        deck,
        theme,
        &PageOptions {
            events: Some(events),
            ..PageOptions::default()
        },
    );
    Bytes::from(html)
}

/// The server's thread yields to every other thread of the presenter: nice 19 (the kernel
/// then gives it the CPU only when the presenter does not want it, and preempts it the moment
/// the presenter wakes). Not SCHED_IDLE: on a machine busy with other work a SCHED_IDLE thread
/// can wait for seconds, and viewers would see the slide change that late.
fn lowest_priority() {
    // SAFETY: gettid and setpriority on this thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
    }
}

struct Ctx {
    hub: Arc<Hub>,
    token: Option<String>,
    viewers: Arc<AtomicUsize>,
    send_timeout: Duration,
}

/// Accepts connections (each a task) and runs the hub's distribution, until the process ends.
async fn serve(listener: TcpListener, ctx: Arc<Ctx>, updates: Updates) {
    let hub = ctx.hub.clone();
    tokio::spawn(async move { hub.distribute(updates).await });
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(_) => return,
    };
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or the like: breathe, do not spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue; // dropped: closed at once
        }
        let slot = Slot::take(&open);
        tokio::spawn(connection(stream, ctx.clone(), slot));
    }
}

/// One unit of a counter, given back when dropped (a connection, a viewer).
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(counter: &Arc<AtomicUsize>) -> Slot {
        counter.fetch_add(1, Ordering::SeqCst);
        Slot(counter.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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

/// One connection: one request (its head within [`READ_TIMEOUT`], at most [`MAX_REQUEST`]
/// bytes), one response, then the connection closes. It also ends when its viewer stalls
/// (`kill`), or when a response that is not a stream is not through after
/// [`RESPONSE_TIMEOUT`].
async fn connection(stream: tokio::net::TcpStream, ctx: Arc<Ctx>, _slot: Slot) {
    let _ = stream.set_nodelay(true);
    set_send_buffer(&stream);
    let kill = Arc::new(Notify::new());
    let streaming = Arc::new(AtomicBool::new(false));
    let service = {
        let (kill, streaming) = (kill.clone(), streaming.clone());
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let response = respond(&ctx, &req, &kill, &streaming);
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT)
        .keep_alive(false)
        .max_buf_size(MAX_REQUEST)
        .serve_connection(TokioIo::new(stream), service);
    let limit = tokio::time::sleep(RESPONSE_TIMEOUT);
    tokio::pin!(conn, limit);
    let mut limit_passed = false;
    loop {
        tokio::select! {
            _ = &mut conn => return,
            _ = kill.notified() => return,
            _ = &mut limit, if !limit_passed => {
                if !streaming.load(Ordering::SeqCst) {
                    return;
                }
                limit_passed = true;
            }
        }
    }
}

fn set_send_buffer(stream: &tokio::net::TcpStream) {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt on the stream's own fd, with a c_int option of the right size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&SEND_BUFFER as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

type Reply = Response<BoxBody<Bytes, Infallible>>;

/// The response to one request; an event stream starts its viewer's task.
fn respond(
    ctx: &Arc<Ctx>,
    req: &Request<Incoming>,
    kill: &Arc<Notify>,
    streaming: &AtomicBool,
) -> Reply {
    let param = |name: &str| {
        req.uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    if let Some(token) = &ctx.token {
        if !same(param("token").unwrap_or(""), token) {
            // No content, whatever the reason: nothing about the talk leaks to a refused request.
            return plain(StatusCode::FORBIDDEN);
        }
    }
    let get = req.method() == Method::GET;
    if !get && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED);
    }
    match req.uri().path() {
        "/" | "/index.html" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Full::new(ctx.hub.page().1).boxed(),
        ),
        "/events" if get => {
            let viewer = Slot::take(&ctx.viewers);
            if ctx.viewers.load(Ordering::SeqCst) > MAX_VIEWERS {
                return plain(StatusCode::SERVICE_UNAVAILABLE);
            }
            streaming.store(true, Ordering::SeqCst);
            // One batch waits here while hyper writes the one before: that, hyper's buffer and
            // the socket's are all a viewer can hold.
            let (tx, rx) = mpsc::channel(1);
            // Without a version (not our page), the viewer is taken to have the current one.
            let page = param("v")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| ctx.hub.page().0);
            tokio::spawn(feed(ctx.clone(), tx, kill.clone(), viewer, page));
            let mut r = reply(
                StatusCode::OK,
                "text/event-stream; charset=utf-8",
                EventStream(rx).boxed(),
            );
            r.headers_mut()
                .insert("x-accel-buffering", HeaderValue::from_static("no"));
            r
        }
        _ => plain(StatusCode::NOT_FOUND),
    }
}

fn reply(code: StatusCode, kind: &'static str, body: BoxBody<Bytes, Infallible>) -> Reply {
    let mut r = Response::new(body);
    *r.status_mut() = code;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

/// A status with an empty body.
fn plain(code: StatusCode) -> Reply {
    reply(code, "text/plain", Full::new(Bytes::new()).boxed())
}

/// A viewer's stream as hyper pulls it: the batches its [`feed`] task makes.
struct EventStream(mpsc::Receiver<Bytes>);

impl Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// One viewer: whatever it has not had yet, as one batch per wake-up, until it goes away, its
/// stream stays full for the send timeout (then `kill` closes the connection), or the
/// presenter quits.
async fn feed(ctx: Arc<Ctx>, tx: mpsc::Sender<Bytes>, kill: Arc<Notify>, _viewer: Slot, page: u64) {
    let send = |data: Bytes| {
        let (tx, kill, limit) = (&tx, &kill, ctx.send_timeout);
        async move {
            match tokio::time::timeout(limit, tx.send(data)).await {
                Ok(sent) => sent.is_ok(),
                Err(_) => {
                    kill.notify_one();
                    false
                }
            }
        }
    };
    if !send(Bytes::from_static(b"retry: 1000\n\n")).await {
        return;
    }
    let mut changes = ctx.hub.subscribe();
    let mut cursor = Cursor::new(page);
    loop {
        changes.borrow_and_update();
        let Some(frames) = ctx.hub.frames(&mut cursor) else {
            return;
        };
        if !frames.is_empty() && !send(Bytes::from(frames)).await {
            return;
        }
        if cursor.caught_up() {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tx.closed() => return,
                _ = tokio::time::sleep(KEEPALIVE) => {
                    if !send(Bytes::from_static(b": keep-alive\n\n")).await {
                        return;
                    }
                }
            }
        }
    }
}
