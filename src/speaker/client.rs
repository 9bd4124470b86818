//! The speaker window's end of the socket: a thread that connects to the presenter, turns each
//! state line into a message for the window's loop, and when the presenter goes away (quit,
//! killed, restarted) tries again every [`RETRY`] until it is back.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::app::SMsg;
use super::protocol::{Cmd, State};

/// How often a window without a presenter looks for one.
pub const RETRY: Duration = Duration::from_millis(150);

/// Where requests go while connected.
#[derive(Clone, Default)]
pub struct Link {
    writer: Arc<Mutex<Option<UnixStream>>>,
}

impl Link {
    /// Sends a request; false when no presenter is connected.
    pub fn send(&self, cmd: &Cmd) -> bool {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(stream) = w.as_mut() else {
            return false;
        };
        let mut line = serde_json::to_string(cmd).unwrap_or_default();
        line.push('\n');
        if stream.write_all(line.as_bytes()).is_err() {
            *w = None;
            return false;
        }
        true
    }
}

/// Starts following the presenter at `path`.
pub fn spawn(path: PathBuf, tx: mpsc::Sender<SMsg>) -> Link {
    let link = Link::default();
    let writer = link.writer.clone();
    std::thread::Builder::new()
        .name("speaker-link".into())
        .spawn(move || loop {
            if let Ok(stream) = UnixStream::connect(&path) {
                if super::path::same_user(&stream) {
                    if let Ok(w) = stream.try_clone() {
                        let _ = w.set_write_timeout(Some(Duration::from_millis(500)));
                        *writer.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
                        if follow(stream, &tx).is_err() {
                            return;
                        }
                        *writer.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        if tx.send(SMsg::Disconnected).is_err() {
                            return;
                        }
                    }
                }
            }
            std::thread::sleep(RETRY);
        })
        .expect("spawn the speaker link thread");
    link
}

/// Reads states until the presenter goes away; `Err` when the window's loop has ended.
fn follow(stream: UnixStream, tx: &mpsc::Sender<SMsg>) -> Result<(), ()> {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if let Ok(state) = serde_json::from_str::<State>(&line) {
            tx.send(SMsg::State(Box::new(state))).map_err(|_| ())?;
        }
    }
    Ok(())
}
