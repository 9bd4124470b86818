//! `trio-present export DECK --cast out.cast`: an asciicast v2 file (the asciinema player's
//! format: a JSON header line, then `[seconds, "o", text]` lines) of the presenter showing
//! each chosen slide while its recording plays. The frames are our own renderer's: the app is
//! fed the recording's messages on a virtual clock (the same `update` as on stage), drawn with
//! `ui::draw` into an off-screen buffer at the recorded times, and only the rows that changed
//! are written, as ANSI text.
//!
//! Per slide: the slide alone for [`LEAD`] seconds (the speaker pressing `r`), the run at its
//! recorded times (at most [`FPS`] frames a second, and every 0.1 s so the clock moves), then
//! the end for [`HOLD`] seconds.

use std::io::Write;
use std::path::Path;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::app::{App, KernelState, Msg};
use crate::deck::Deck;
use crate::kernel::pool::KernelMsg;
use crate::record::{Found, Recording, Store};
use crate::theme::Theme;

/// Seconds a slide is shown before its run starts.
pub const LEAD: f64 = 1.0;
/// Seconds the end of a run stays on screen.
pub const HOLD: f64 = 2.0;
/// Most frames per second.
pub const FPS: f64 = 30.0;

/// Writes the cast of `slides`; returns the exit status.
pub fn export(
    deck: &Deck,
    slides: &[usize],
    path: &Path,
    size: (u16, u16),
    theme: Theme,
) -> anyhow::Result<i32> {
    let store = Store::for_user()
        .ok_or_else(|| anyhow::anyhow!("no data directory (set XDG_DATA_HOME): no recordings"))?;
    let mut chosen: Vec<(usize, Box<Recording>)> = Vec::new();
    let mut missing = Vec::new();
    for &slide in slides {
        match store.find(deck, slide) {
            Found::Exact(rec, _) => chosen.push((slide, rec)),
            Found::Other(rec, _) => {
                eprintln!(
                    "trio-present: slide {slide}: its code changed since its recording of {}; \
                     exporting that older run",
                    rec.header.date
                );
                chosen.push((slide, rec));
            }
            Found::None(problems) => {
                for p in problems.iter().take(1) {
                    eprintln!("trio-present: {p}");
                }
                missing.push(slide);
            }
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|n| n.to_string()).collect();
        anyhow::bail!(
            "no recording of slide{} {}; record with: trio-present check --record --trust {} --slides {}",
            if missing.len() > 1 { "s" } else { "" },
            list.join(", "),
            deck.path.display(),
            list.join(",")
        );
    }
    let file = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    let mut cast = Cast::new(std::io::BufWriter::new(file), size);
    let first = &chosen[0].1.header;
    let shown: Vec<String> = chosen.iter().map(|(n, _)| n.to_string()).collect();
    let header = serde_json::json!({
        "version": 2,
        "width": size.0,
        "height": size.1,
        "timestamp": first.unix as u64,
        "title": format!("{} · slide{} {} · recorded {}", deck.title,
            if shown.len() > 1 { "s" } else { "" }, shown.join(", "), first.date),
        "env": {"TERM": "xterm-256color", "SHELL": "/bin/sh"},
    });
    writeln!(cast.out, "{header}")?;

    let mut app = App::new(deck.clone(), theme, chosen[0].0);
    app.show_timeline = false;
    let mut clock = 0.0;
    for (i, (slide, rec)) in chosen.iter().enumerate() {
        app.kernel = KernelState::Ready {
            python: rec.header.python.clone(),
            trio: rec.header.trio.clone(),
        };
        app.current = slide - 1;
        app.scroll = 0;
        app.output_scroll = 0;
        clock = play(
            &mut app,
            &mut cast,
            rec,
            clock,
            crate::record::replay::FIRST_ID + i as u64,
        )?;
    }
    cast.out.flush()?;
    eprintln!(
        "trio-present: wrote {} ({} frames, {:.1} s, {}x{})",
        path.display(),
        cast.frames,
        clock,
        size.0,
        size.1
    );
    Ok(0)
}

/// Plays one recording into the cast from `start` (cast seconds); returns the end time.
fn play<W: Write>(
    app: &mut App,
    cast: &mut Cast<W>,
    rec: &Recording,
    start: f64,
    id: u64,
) -> anyhow::Result<f64> {
    let tick = |app: &mut App, t: f64| {
        app.update(Msg::Tick {
            talk: std::time::Duration::from_secs_f64(t.max(0.0)),
        })
    };
    tick(app, start);
    cast.frame(start, app)?;
    let run_start = start + LEAD;
    tick(app, run_start);
    app.update(Msg::RunStarted {
        slide: app.slide_number(),
        result: Ok(id),
    });
    cast.frame(run_start, app)?;
    let end = rec.events.iter().map(|e| e.t).fold(0.0, f64::max);
    // Frame times: each event's, rounded up to the frame rate, and a tenth-second grid.
    let mut points: Vec<f64> = rec
        .events
        .iter()
        .map(|e| (e.t.max(0.0) * FPS).ceil() / FPS)
        .collect();
    let steps = ((end + HOLD) * 10.0).ceil() as usize;
    points.extend((1..=steps).map(|k| k as f64 / 10.0));
    points.sort_by(f64::total_cmp);
    points.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let mut next = 0;
    for p in points {
        while next < rec.events.len() && rec.events[next].t <= p + 1e-9 {
            let msg = rec.events[next].msg.clone();
            app.update(Msg::Kernel(KernelMsg::Child(id, msg)));
            next += 1;
        }
        tick(app, run_start + p);
        cast.frame(run_start + p, app)?;
    }
    Ok(run_start + end.max(0.0) + HOLD)
}

/// The cast being written: the previous frame's rows, to write only what changed.
struct Cast<W: Write> {
    out: W,
    terminal: Terminal<TestBackend>,
    rows: Vec<String>,
    frames: usize,
}

impl<W: Write> Cast<W> {
    fn new(out: W, size: (u16, u16)) -> Cast<W> {
        Cast {
            out,
            terminal: Terminal::new(TestBackend::new(size.0, size.1)).expect("test backend"),
            rows: Vec::new(),
            frames: 0,
        }
    }

    /// Draws the app and writes the rows that changed as one output event at `t`.
    fn frame(&mut self, t: f64, app: &App) -> std::io::Result<()> {
        self.terminal
            .draw(|f| crate::ui::draw(app, f))
            .expect("drawing into memory cannot fail");
        let text = crate::ui::buffer_text(self.terminal.backend().buffer(), true);
        let rows: Vec<String> = text.lines().map(str::to_string).collect();
        let mut data = String::new();
        if self.rows.is_empty() {
            // Cursor hidden, screen cleared, as the presenter starts.
            data.push_str("\x1b[?25l\x1b[H\x1b[2J");
        }
        for (y, row) in rows.iter().enumerate() {
            if self.rows.get(y) != Some(row) {
                data.push_str(&format!("\x1b[{};1H{row}", y + 1));
            }
        }
        self.rows = rows;
        if data.is_empty() {
            return Ok(());
        }
        self.frames += 1;
        let t = (t * 1e6).round() / 1e6;
        writeln!(self.out, "{}", serde_json::json!([t, "o", data]))
    }
}
