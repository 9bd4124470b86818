//! The speaker window's event loop, shaped like the presenter's: one channel fed by the keys,
//! the link to the presenter, the deck watcher and signals; one update per message; one draw
//! per batch. It runs no code itself: runs happen on the presenter and are reported here.

use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};

use super::app::{SMsg, Speaker};
use crate::deck::Deck;
use crate::theme::Theme;
use crate::{terminal as term, ui, watcher};

/// Follows the presenter of `deck` until the speaker closes the window.
pub fn run(deck: Deck, theme: Theme) -> anyhow::Result<()> {
    let socket = super::path::socket_for(&deck.path).map_err(anyhow::Error::msg)?;
    let deck_path = deck.path.clone();
    let mut speaker = Speaker::new(deck, theme);
    speaker.wall = wall_clock();
    let mut terminal = term::init()?;
    let _guard = term::Guard;
    draw(&mut terminal, &speaker)?;

    let (tx, rx) = mpsc::channel::<SMsg>();
    spawn_input(tx.clone());
    spawn_signals(tx.clone())?;
    let watch = |path: &std::path::Path| {
        let reload_tx = tx.clone();
        watcher::watch(path, move |r| {
            let _ = reload_tx.send(SMsg::DeckReloaded(r));
        })
        .ok()
    };
    let mut watched = deck_path.clone();
    let mut _watcher = watch(&watched);
    let link = super::client::spawn(socket, tx.clone());

    while !speaker.quit {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis());
        let wait = Duration::from_millis(1000 - u64::from(ms) + 2);
        let mut batch = Vec::new();
        match rx.recv_timeout(wait) {
            Ok(m) => batch.push(m),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        batch.extend(rx.try_iter().take(1000));
        batch.push(SMsg::Tick(wall_clock()));
        for msg in batch {
            for cmd in speaker.update(msg) {
                if !link.send(&cmd) {
                    speaker.notice = Some("the presenter went away; reconnecting…".into());
                }
            }
        }
        // The presenter switched language: watch that file now, for hot reload.
        if speaker.deck.path != watched {
            watched = speaker.deck.path.clone();
            _watcher = watch(&watched);
        }
        if !speaker.quit {
            draw(&mut terminal, &speaker)?;
        }
    }
    Ok(())
}

fn draw(terminal: &mut term::Term, speaker: &Speaker) -> std::io::Result<()> {
    term::draw(terminal, |f| ui::speaker::draw(speaker, f))
}

/// The local time of day, `14:05:09`.
fn wall_clock() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid; localtime_r is the thread-safe variant.
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return String::new();
    }
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

fn spawn_input(tx: mpsc::Sender<SMsg>) {
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => SMsg::Key(k),
            Ok(TermEvent::Resize(..)) => SMsg::Resize,
            Ok(_) => continue,
            Err(_) => SMsg::Terminate,
        };
        if tx.send(msg).is_err() {
            break;
        }
    });
}

fn spawn_signals(tx: mpsc::Sender<SMsg>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(SMsg::Terminate);
        }
    });
    Ok(())
}
