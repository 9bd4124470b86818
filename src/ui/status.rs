//! The status bar: deck title, slide n / N with a progress bar, the run state, the interpreter,
//! transient notices, and the talk clock.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::output::RunStatus;
use crate::app::{App, KernelState};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Formats a duration in seconds as `h:mm:ss` or `mm:ss`.
pub fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// One item of the bar. Items never share a cell with a cut word: when the bar is too narrow,
/// whole items go, the least useful first (`drop` rank 1 goes first; `None` is never dropped),
/// and only the notice, the one item that is a sentence, is shortened with `…` instead.
struct Item {
    text: String,
    style: Style,
    right: bool,
    drop: Option<u8>,
    /// The notice: shortened rather than dropped.
    shrink: bool,
}

/// Lower ranks are dropped first.
const DROP_KERNEL: u8 = 1;
const DROP_TITLE: u8 = 2;
/// The web view's URL is for the audience: it outlasts the title and the interpreter.
const DROP_SHARE: u8 = 3;
const DROP_PROGRESS: u8 = 4;
const DROP_LOOPBACK: u8 = 5;
const DROP_HELP: u8 = 6;
const DROP_CLOCK: u8 = 7;
const DROP_CLIENT_HINT: u8 = 8;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let base = Style::default()
        .fg(app.theme.status_fg)
        .bg(app.theme.status_bg);
    frame.buffer_mut().set_style(area, base);
    let items = fit(items(app, base), usize::from(area.width));
    let (right, left): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|i| i.right);
    let spans = |items: Vec<Item>| -> Vec<Span<'static>> {
        items
            .into_iter()
            .map(|i| Span::styled(i.text, i.style))
            .collect()
    };
    let right = Line::from(spans(right));
    let right_w = super::cells(right.width()).min(area.width);
    frame.render_widget(
        Paragraph::new(Line::from(spans(left))),
        Rect {
            width: area.width - right_w,
            ..area
        },
    );
    let r = Rect::new(area.x + area.width - right_w, area.y, right_w, 1);
    frame.render_widget(Paragraph::new(right), r);
}

/// The items of the bar in their order on screen, left ones then right ones.
fn items(app: &App, base: Style) -> Vec<Item> {
    let left = |text: String, style: Style, drop: Option<u8>| Item {
        text,
        style,
        right: false,
        drop,
        shrink: false,
    };
    let n = app.slide_number();
    let total = app.deck.slides.len();
    let bar_len = 12usize;
    // The first frame of a large deck comes before its slides are counted (the next frame,
    // a millisecond later, has the count): no count, an empty bar.
    let (filled, total) = match app.deck.partial {
        true => (0, "…".to_string()),
        false => (
            (n * bar_len).div_ceil(total).min(bar_len),
            total.to_string(),
        ),
    };
    let mut items = vec![
        left(
            format!(" {} ", app.deck.title),
            base.add_modifier(Modifier::BOLD),
            Some(DROP_TITLE),
        ),
        left(format!(" {n} / {total} "), base, None),
        left(
            format!("{}{} ", "█".repeat(filled), "░".repeat(bar_len - filled)),
            base,
            Some(DROP_PROGRESS),
        ),
    ];
    if let Some(lang) = app.languages.label() {
        items.push(left(
            format!(" {lang} "),
            base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            None,
        ));
    }
    if !app.typed.is_empty() {
        items.push(left(
            format!(" go to {}⏎ ", app.typed),
            base.add_modifier(Modifier::REVERSED),
            None,
        ));
    }
    if let Some(i) = app.client_focus {
        let id = app.clients.get(i).map(|c| c.id).unwrap_or(0);
        let style = base.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        items.push(left(format!(" ⌨ typing into client {id} "), style, None));
        items.push(left(
            "· Esc back to slides ".into(),
            style,
            Some(DROP_CLIENT_HINT),
        ));
    }
    // The editor's marks (typing into the demo, edited, picked block) are never dropped.
    for span in super::editor::status_spans(app, base) {
        items.push(left(span.content.into_owned(), span.style, None));
    }
    if app
        .current_output()
        .is_some_and(|o| !o.listeners.is_empty())
    {
        // Exposure is a warning and stays; loopback is reassurance and can go.
        let (scope, drop) = if app.expose {
            ("⚠ exposed to the network", None)
        } else {
            ("loopback only", Some(DROP_LOOPBACK))
        };
        items.push(left(format!(" {scope} "), base, drop));
    }
    if let Some(out) = app.current_output() {
        let (text, m) = match &out.status {
            _ if out.setup_progress().is_some() => (
                format!("◌ {}", out.setup_progress().unwrap_or_default()),
                Modifier::BOLD,
            ),
            RunStatus::Starting => ("◌ starting".to_string(), Modifier::BOLD),
            RunStatus::Running => (
                format!("● running {:.1} s  Esc stops", out.elapsed()),
                Modifier::BOLD,
            ),
            RunStatus::Ok => (format!("✔ done {:.2} s", out.last_t), Modifier::empty()),
            RunStatus::Error => ("✖ error".to_string(), Modifier::BOLD),
            RunStatus::Stopped => ("■ stopped".to_string(), Modifier::empty()),
            // `interpreter died (signal 9)` or `interpreter exited with code 3`.
            RunStatus::Died(why) => (format!("✖ {why}"), Modifier::BOLD),
        };
        // A replay says so next to its state, so nobody takes it for a live run.
        let text = match &out.replay {
            Some(_) => format!("⟲ replay · {text}"),
            None => text,
        };
        items.push(left(format!(" {text} "), base.add_modifier(m), None));
    } else if app.deck.slides[app.current].is_exec() && app.gate != crate::consent::Gate::Disabled {
        items.push(left(" ▶ r runs ".into(), base, None));
    }
    if let Some(url) = &app.share {
        items.push(left(format!(" ⇄ {url} "), base, Some(DROP_SHARE)));
    }
    if let Some(notice) = &app.notice {
        items.push(Item {
            shrink: true,
            ..left(
                format!(" {notice} "),
                base.add_modifier(Modifier::ITALIC),
                None,
            )
        });
    }

    let kernel = match &app.kernel {
        KernelState::Resolving(p) => format!("{p} "),
        KernelState::Ready { python, trio } => format!("py {python} · trio {trio} "),
        KernelState::Unavailable(_) if app.offline => "offline: r plays recordings ".to_string(),
        KernelState::Unavailable(_) => "no Python: r plays a recording ".to_string(),
        KernelState::NotLooked => String::new(),
    };
    let right = |text: String, drop: u8| Item {
        text,
        style: base,
        right: true,
        drop: Some(drop),
        shrink: false,
    };
    if !kernel.is_empty() {
        items.push(right(kernel, DROP_KERNEL));
    }
    items.push(right(" ? help ".into(), DROP_HELP));
    // The clock is the speaker's: `C` takes it off the projector.
    if app.show_clock {
        items.push(right(
            format!(" {} ", clock(app.timer.elapsed(app.talk_clock).as_secs())),
            DROP_CLOCK,
        ));
    }
    items
}

/// Drops whole items, lowest rank first, until the bar fits `width`; if it still does not, the
/// notice is shortened. Whatever is left past that is clipped at the edge.
fn fit(mut items: Vec<Item>, width: usize) -> Vec<Item> {
    let total = |items: &[Item]| -> usize { items.iter().map(|i| i.text.width()).sum() };
    while total(&items) > width {
        let Some(victim) = items
            .iter()
            .enumerate()
            .filter_map(|(k, i)| i.drop.map(|d| (d, k)))
            .min()
            .map(|(_, k)| k)
        else {
            break;
        };
        items.remove(victim);
    }
    let over = total(&items).saturating_sub(width);
    if over > 0 {
        if let Some(notice) = items.iter_mut().find(|i| i.shrink) {
            let keep = notice.text.width().saturating_sub(over + 1);
            notice.text = format!("{}…", cut(&notice.text, keep));
        }
    }
    items
}

/// The longest prefix of `s` at most `w` cells wide.
fn cut(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.width().unwrap_or(0);
        if used > w {
            return &s[..i];
        }
    }
    s
}
