//! The status bar: deck title, slide n / N with a progress bar, the run state, the interpreter,
//! transient notices, and the talk clock.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::output::RunStatus;
use crate::app::{App, KernelState};

/// Formats a duration in seconds as `h:mm:ss` or `mm:ss`.
pub fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let base = Style::default()
        .fg(app.theme.status_fg)
        .bg(app.theme.status_bg);
    let n = app.slide_number();
    let total = app.deck.slides.len();
    let mut left = vec![
        Span::styled(
            format!(" {} ", app.deck.title),
            base.add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" {n} / {total} "), base),
    ];
    let bar_len = 12usize;
    let filled = (n * bar_len).div_ceil(total).min(bar_len);
    left.push(Span::styled(
        format!("{}{} ", "█".repeat(filled), "░".repeat(bar_len - filled)),
        base,
    ));
    if !app.typed.is_empty() {
        left.push(Span::styled(
            format!(" go to {}⏎ ", app.typed),
            base.add_modifier(Modifier::REVERSED),
        ));
    }
    if let Some(i) = app.client_focus {
        let id = app.clients.get(i).map(|c| c.id).unwrap_or(0);
        left.push(Span::styled(
            format!(" ⌨ typing into client {id} · Esc back to slides "),
            base.add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
    }
    if app
        .current_output()
        .is_some_and(|o| !o.listeners.is_empty())
    {
        let scope = if app.expose {
            "⚠ exposed to the network"
        } else {
            "loopback only"
        };
        left.push(Span::styled(format!(" {scope} "), base));
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
            RunStatus::Died(_) => ("✖ interpreter died".to_string(), Modifier::BOLD),
        };
        // A replay says so next to its state, so nobody takes it for a live run.
        let text = match &out.replay {
            Some(_) => format!("⟲ replay · {text}"),
            None => text,
        };
        left.push(Span::styled(format!(" {text} "), base.add_modifier(m)));
    } else if app.deck.slides[app.current].is_exec() && app.gate != crate::consent::Gate::Disabled {
        left.push(Span::styled(" ▶ r runs ", base));
    }
    if let Some(url) = &app.share {
        left.push(Span::styled(format!(" ⇄ {url} "), base));
    }
    if let Some(notice) = &app.notice {
        left.push(Span::styled(
            format!(" {notice} "),
            base.add_modifier(Modifier::ITALIC),
        ));
    }

    let kernel = match &app.kernel {
        KernelState::Resolving(p) => format!("{p} "),
        KernelState::Ready { python, trio } => format!("py {python} · trio {trio} "),
        KernelState::Unavailable(_) if app.offline => "offline: r plays recordings ".to_string(),
        KernelState::Unavailable(_) => "no Python: r plays a recording ".to_string(),
    };
    let time = clock(app.timer.elapsed(app.talk_clock).as_secs());
    let left_w_needed: usize = left.iter().map(Span::width).sum();
    let mut right = format!("{kernel} ? help  {time} ");
    // On a narrow screen the run state matters more than the interpreter's versions.
    if left_w_needed + unicode_width::UnicodeWidthStr::width(right.as_str()) > area.width as usize {
        right = format!(" ? help  {time} ");
    }
    let right_w = unicode_width::UnicodeWidthStr::width(right.as_str()) as u16;

    frame.buffer_mut().set_style(area, base);
    let left_w = area.width.saturating_sub(right_w);
    frame.render_widget(
        Paragraph::new(Line::from(left)),
        Rect {
            width: left_w,
            ..area
        },
    );
    if right_w <= area.width {
        let r = Rect::new(area.x + area.width - right_w, area.y, right_w, 1);
        frame.render_widget(Paragraph::new(Span::styled(right, base)), r);
    }
}
