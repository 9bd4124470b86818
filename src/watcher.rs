//! Hot reload: watches the deck file (through its directory, since editors often replace the
//! file by renaming) and re-reads it after changes settle, sending the result to the loop.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::deck::Deck;

/// Editors write in several steps; wait this long for quiet before re-reading.
const SETTLE: Duration = Duration::from_millis(60);

/// Starts watching `deck`; `send` receives every re-read (good or bad). The returned watcher
/// must be kept alive.
pub fn watch(
    deck: &Path,
    send: impl Fn(Result<Deck, String>) + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    let path: PathBuf = std::fs::canonicalize(deck).unwrap_or_else(|_| deck.to_path_buf());
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path.file_name().map(|n| n.to_os_string());
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(tx)?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let shown = deck.to_path_buf();
    std::thread::spawn(move || {
        let ours = |ev: &notify::Event| {
            !ev.kind.is_access()
                && ev
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
        };
        while let Ok(ev) = rx.recv() {
            if !ev.as_ref().is_ok_and(ours) {
                continue;
            }
            while rx.recv_timeout(SETTLE).is_ok() {}
            let result = Deck::load(&path).map_err(|e| e.to_string()).map(|mut d| {
                d.path = shown.clone();
                d
            });
            send(result);
        }
    });
    Ok(watcher)
}
