//! The presenter's end: a listening socket whose accept thread hands each speaker window's
//! requests to the app's one channel, and [`Server::publish`], called once per loop turn, which
//! sends the state to the windows when it changed. With no window connected it only checks an
//! empty list: a presenter nobody follows pays nothing.

use crate::log::Logged;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::protocol::{Cmd, State};
use crate::app::{App, Msg};

/// A request line longer than this is not ours; the connection is dropped.
const MAX_LINE: u64 = 64 * 1024;

/// A window that is stuck (suspended, not reading) is dropped rather than stall the talk.
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);

#[derive(Default)]
struct Conns {
    live: Vec<UnixStream>,
    /// Connected since the last publish: they get the state even if it did not change.
    new: Vec<UnixStream>,
}

/// The presenter's socket and the windows connected to it.
/// Where requests go: the presenter's input lane; false once the presenter is gone.
pub type Post = Arc<dyn Fn(Msg) -> bool + Send + Sync>;

pub struct Server {
    /// One socket per deck of the talk (its languages), removed when the presenter ends.
    paths: Vec<PathBuf>,
    conns: Arc<Mutex<Conns>>,
    last: String,
}

impl Server {
    /// Listens for speaker windows of `deck`. `None` when another presenter of the same deck
    /// already does (a rehearsal copy, a test): the windows stay with the first one, and this
    /// presenter says nothing about it, since its status bar is for the talk.
    pub fn start(deck: &Path, tx: Post) -> Result<Option<Server>, String> {
        Self::start_all(&[deck.to_path_buf()], tx)
    }

    /// Listens on the socket of each of `decks` (a talk's languages), so a speaker window
    /// opened on any of them finds this presenter. `None` when every one is taken.
    pub fn start_all(decks: &[PathBuf], tx: Post) -> Result<Option<Server>, String> {
        let conns = Arc::new(Mutex::new(Conns::default()));
        let mut paths = Vec::new();
        for deck in decks {
            let path = super::path::socket_for(deck)?;
            if paths.contains(&path) {
                continue;
            }
            let listener = match UnixListener::bind(&path) {
                Ok(l) => l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    if UnixStream::connect(&path).is_ok() {
                        continue;
                    }
                    // Left behind by a presenter that was killed.
                    let _ = std::fs::remove_file(&path);
                    UnixListener::bind(&path)
                        .map_err(|e| format!("speaker socket {}: {e}", path.display()))?
                }
                Err(e) => return Err(format!("speaker socket {}: {e}", path.display())),
            };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .logged("speaker socket: making it private");
            let accepted = conns.clone();
            let tx = tx.clone();
            std::thread::Builder::new()
                .name("speaker-accept".into())
                .spawn(move || accept(listener, accepted, tx))
                .map_err(|e| e.to_string())?;
            paths.push(path);
        }
        Ok((!paths.is_empty()).then(|| Server {
            paths,
            conns,
            last: String::new(),
        }))
    }

    /// Sends the app's state to every window if it changed, and to new windows anyway.
    pub fn publish(&mut self, app: &App) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.live.is_empty() && conns.new.is_empty() {
            return;
        }
        let mut line = serde_json::to_string(&State::of(app)).unwrap_or_default();
        line.push('\n');
        if line != self.last {
            conns
                .live
                .retain_mut(|s| s.write_all(line.as_bytes()).is_ok());
            self.last = line;
        }
        let new: Vec<UnixStream> = conns.new.drain(..).collect();
        for mut s in new {
            if s.write_all(self.last.as_bytes()).is_ok() {
                conns.live.push(s);
            }
        }
    }

    /// Windows connected right now.
    pub fn followers(&self) -> usize {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.live.len() + conns.new.len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn accept(listener: UnixListener, conns: Arc<Mutex<Conns>>, tx: Post) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if !super::path::same_user(&stream) {
            continue;
        }
        let Ok(reader) = stream.try_clone() else {
            continue;
        };
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .new
            .push(stream);
        if !tx(Msg::Remote(Cmd::Joined)) {
            return;
        }
        let tx = tx.clone();
        let _ = std::thread::Builder::new()
            .name("speaker-read".into())
            .spawn(move || read_requests(reader, tx));
    }
}

fn read_requests(stream: UnixStream, tx: Post) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match Read::take(&mut reader, MAX_LINE).read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if !line.ends_with('\n') => break,
            Ok(_) => {}
        }
        // An unknown request (a newer window) is skipped, not fatal.
        if let Ok(cmd) = serde_json::from_str::<Cmd>(&line) {
            if !tx(Msg::Remote(cmd)) {
                break;
            }
        }
    }
    let _ = reader.get_ref().shutdown(std::net::Shutdown::Both);
}
