//! Draws the speaker window (`trio-present speaker DECK`), a pure function of
//! [`Speaker`]: a header (slide n / N, connection, blank, talk timer and pace, wall clock), the
//! notes of the current slide as markdown, the current slide small, the next slide's first
//! lines, the demo's state and last output lines, and a footer with the keys and notices.
//! Below 90 columns the current slide is left out and the rest stacks.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::status::clock;
use crate::render::{layout_markdown, layout_slide};
use crate::speaker::app::{Speaker, HELP};
use crate::speaker::pace::pace;

/// From this width on, the current slide is drawn beside the notes.
const WIDE: u16 = 90;

pub fn draw(s: &Speaker, frame: &mut Frame) {
    let area = frame.area();
    if area.width < 20 || area.height < 6 {
        frame.render_widget(Paragraph::new("window too small"), area);
        return;
    }
    let theme = &s.theme;
    frame
        .buffer_mut()
        .set_style(area, Style::default().bg(theme.background).fg(theme.text));
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header(s, frame, head);
    footer(s, frame, foot);

    let demo_rows = demo_height(s, body.height);
    if body.width >= WIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        let [now, next, run_area] = Layout::vertical([
            Constraint::Min(4),
            Constraint::Length(6),
            Constraint::Length(demo_rows),
        ])
        .areas(right);
        notes(s, frame, left);
        slide_box(s, frame, now, s.current, "now");
        slide_box(s, frame, next, s.current + 1, "next");
        demo(s, frame, run_area);
    } else {
        let [n, next, d] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(5),
            Constraint::Length(demo_rows),
        ])
        .areas(body);
        notes(s, frame, n);
        slide_box(s, frame, next, s.current + 1, "next");
        demo(s, frame, d);
    }
    if let Some(ov) = &s.overview {
        super::overview::draw(theme, &s.deck, ov, s.current, true, frame, body);
    }
    if s.help {
        help(s, frame, area);
    }
}

fn demo_height(s: &Speaker, body: u16) -> u16 {
    let lines = s
        .remote
        .as_ref()
        .and_then(|r| r.run.as_ref())
        .map_or(1, |r| r.lines.len().max(1)) as u16;
    (lines + 2).clamp(3, (body / 3).max(3))
}

fn panel(s: &Speaker, frame: &mut Frame, area: Rect, title: Line<'static>) -> Rect {
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(s.theme.dim))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    )
}

fn header(s: &Speaker, frame: &mut Frame, area: Rect) {
    let theme = &s.theme;
    let base = Style::default().fg(theme.status_fg).bg(theme.status_bg);
    let bold = base.add_modifier(Modifier::BOLD);
    let alert = Style::default()
        .fg(theme.background)
        .bg(theme.error)
        .add_modifier(Modifier::BOLD);
    let total = s.deck.slides.len();
    let mut left = vec![
        Span::styled(" SPEAKER ", bold.add_modifier(Modifier::REVERSED)),
        Span::styled(format!(" {} / {total} ", s.current + 1), bold),
    ];
    if let Some(lang) = s.remote.as_ref().and_then(|r| r.lang.as_ref()) {
        left.push(Span::styled(
            format!(" {lang} "),
            bold.add_modifier(Modifier::REVERSED),
        ));
    }
    match &s.remote {
        None => left.push(Span::styled(
            " ○ waiting for the presenter (trio-present DECK) ",
            base.add_modifier(Modifier::ITALIC),
        )),
        Some(r) => {
            let following = if area.width >= 100 {
                " ● following "
            } else {
                " ● "
            };
            left.push(Span::styled(following, base));
            if r.blank {
                left.push(Span::styled(" ■ BLANK (b) ", alert));
            }
            left.push(Span::styled(
                format!(
                    " ⏱ {}{}{} ",
                    clock(r.timer_s),
                    r.duration_s
                        .map(|d| format!(" / {}", clock(d)))
                        .unwrap_or_default(),
                    if r.paused { " paused" } else { "" }
                ),
                bold,
            ));
            if let Some(p) = pace(&s.deck, s.current, r.timer_s, r.duration_s) {
                if p.over() {
                    left.push(Span::styled(
                        format!(" ⚠ OVERTIME {} ", clock(p.left.unsigned_abs())),
                        alert,
                    ));
                } else {
                    let pace = match p.behind {
                        0 => "on time".to_string(),
                        b if b > 0 => format!("{} behind", clock(b as u64)),
                        b => format!("{} ahead", clock(b.unsigned_abs())),
                    };
                    left.push(Span::styled(format!(" {pace} "), base));
                    let left_text = format!(" {} left ", clock(p.left as u64));
                    left.push(Span::styled(left_text, if p.warn() { alert } else { base }));
                }
            }
        }
    }
    frame.buffer_mut().set_style(area, base);
    let wall = format!(" {} ", s.wall);
    let w = wall.chars().count() as u16;
    let used: usize = left.iter().map(Span::width).sum();
    // The talk's own clock and pace matter more than the time of day: it goes when short.
    let fits = used + w as usize <= area.width as usize;
    frame.render_widget(Paragraph::new(Line::from(left)), area);
    if fits {
        let r = Rect::new(area.x + area.width - w, area.y, w, 1);
        frame.render_widget(Paragraph::new(Span::styled(wall, bold)), r);
    }
}

fn footer(s: &Speaker, frame: &mut Frame, area: Rect) {
    let dim = Style::default().fg(s.theme.dim);
    let mut spans = vec![Span::styled(
        " ? keys · o overview · / search · r run · Esc stop · b blank · s timer ",
        dim,
    )];
    let notice = s
        .notice
        .clone()
        .or_else(|| s.remote.as_ref().and_then(|r| r.notice.clone()));
    if let Some(n) = notice {
        spans.push(Span::styled(
            format!(" {n}"),
            Style::default()
                .fg(s.theme.accent)
                .add_modifier(Modifier::ITALIC),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn notes(s: &Speaker, frame: &mut Frame, area: Rect) {
    let slide = &s.deck.slides[s.current];
    let title = Line::styled(
        format!(" notes · slide {} ", slide.number),
        Style::default().fg(s.theme.accent),
    );
    let inner = panel(s, frame, area, title);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if slide.notes.notes.is_empty() {
        let line = Line::styled(
            "no notes on this slide (<!-- note: … --> adds one)",
            Style::default().fg(s.theme.dim),
        );
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    let md = slide.notes.notes.join("\n\n");
    let layout = layout_markdown(&md, inner.width, &s.theme);
    let total = layout.height();
    let scroll = s.notes_scroll.min(total.saturating_sub(inner.height));
    let lines: Vec<Line> = layout
        .lines
        .into_iter()
        .skip(scroll as usize)
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if scroll + inner.height < total {
        let more = format!("▼ {} more (j)", total - scroll - inner.height);
        let w = more.chars().count() as u16;
        let r = Rect::new(
            (inner.x + inner.width).saturating_sub(w),
            inner.y + inner.height - 1,
            w.min(inner.width),
            1,
        );
        frame.render_widget(
            Paragraph::new(Span::styled(more, Style::default().fg(s.theme.dim))),
            r,
        );
    }
}

/// Slide `index` laid out for the box and cut to it (its top is what identifies it).
fn slide_box(s: &Speaker, frame: &mut Frame, area: Rect, index: usize, what: &str) {
    let accent = Style::default().fg(s.theme.accent);
    let Some(slide) = s.deck.slides.get(index) else {
        let inner = panel(s, frame, area, Line::styled(format!(" {what} "), accent));
        let end = Line::styled("end of the deck", Style::default().fg(s.theme.dim));
        frame.render_widget(Paragraph::new(end), inner);
        return;
    };
    let exec = if slide.is_exec() { " · ⚙ exec" } else { "" };
    let title = Line::styled(format!(" {what} · {}{exec} ", slide.number), accent);
    let inner = panel(s, frame, area, title);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let layout = layout_slide(slide, inner.width, &s.theme);
    let lines: Vec<Line> = layout
        .lines
        .into_iter()
        .skip_while(|l| l.width() == 0 || l.spans.iter().all(|sp| sp.content.trim().is_empty()))
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn demo(s: &Speaker, frame: &mut Frame, area: Rect) {
    let theme = &s.theme;
    let dim = Style::default().fg(theme.dim);
    let run = s.remote.as_ref().and_then(|r| r.run.as_ref());
    let (title, style) = match run {
        Some(r) => {
            let t = match r.status.as_str() {
                "starting" => "◌ starting".to_string(),
                "running" => format!("● running {:.1} s · Esc stops", r.secs),
                "done" => format!("✔ done {:.1} s", r.secs),
                "error" => "✖ error".to_string(),
                "stopped" => "■ stopped".to_string(),
                _ => "✖ interpreter died".to_string(),
            };
            let style = if matches!(r.status.as_str(), "error" | "died") {
                Style::default().fg(theme.error)
            } else {
                Style::default().fg(theme.accent)
            };
            (t, style)
        }
        None => ("demo".to_string(), Style::default().fg(theme.accent)),
    };
    let inner = panel(
        s,
        frame,
        area,
        Line::styled(format!(" {title} "), style.add_modifier(Modifier::BOLD)),
    );
    let exec = s.deck.slides[s.current].is_exec();
    let lines: Vec<Line> = match (run, &s.remote) {
        (Some(r), _) => {
            let skip = r.lines.len().saturating_sub(inner.height as usize);
            r.lines
                .iter()
                .skip(skip)
                .map(|l| Line::raw(l.clone()))
                .collect()
        }
        (None, Some(r)) if r.consent => vec![Line::styled(
            "the audience screen asks whether this deck's code may run: answer there (y)",
            Style::default().fg(theme.error),
        )],
        (None, Some(_)) if exec => vec![Line::styled("▶ r runs it on the audience screen", dim)],
        (None, None) if exec => vec![Line::styled("exec slide (runs on the presenter)", dim)],
        _ => vec![Line::styled("no code on this slide", dim)],
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

fn help(s: &Speaker, frame: &mut Frame, area: Rect) {
    let key_w = HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line<'static>> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<key_w$}  "),
                    Style::default()
                        .fg(s.theme.accent)
                        .add_modifier(Modifier::BOLD),
                ),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    super::overlay(
        &s.theme,
        frame,
        area,
        " speaker keys · any key closes ",
        lines,
        0,
    );
}

#[cfg(test)]
mod tests {
    use crate::deck::Deck;
    use crate::speaker::app::Speaker;
    use crate::speaker::protocol::{RunState, State};
    use crate::theme::Theme;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    const DECK: &str = "# Talk\n\nhello\n<!-- time: 2m -->\n====\n## Demo\n```exec\nimport trio\nasync def main():\n    print('tick')\n```\n<!-- note: Press **r**; it prints one tick.\n\n- then explain cancel scopes -->\n====\n## Questions\n\nThank you!\n";

    fn text(s: &Speaker, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| super::draw(s, f)).unwrap();
        crate::ui::buffer_text(t.backend().buffer(), false)
    }

    fn speaker() -> Speaker {
        let deck = Deck::parse(std::path::Path::new("talk.md"), DECK).unwrap();
        let theme = Theme::load("dark").unwrap().without_color();
        let mut s = Speaker::new(deck, theme);
        s.wall = "14:05:09".into();
        s
    }

    #[test]
    fn following_a_running_demo() {
        let mut s = speaker();
        s.update(crate::speaker::app::SMsg::State(Box::new(State {
            slide: 2,
            total: 3,
            blank: true,
            timer_s: 185,
            paused: false,
            duration_s: Some(600),
            consent: false,
            notice: None,
            run: Some(RunState {
                status: "running".into(),
                secs: 2.1,
                lines: vec!["  0.01  main()  tick".into()],
            }),
            ..State::default()
        })));
        insta::assert_snapshot!("speaker_running_100x30", text(&s, 100, 30));
        insta::assert_snapshot!("speaker_running_80x24", text(&s, 80, 24));
    }

    #[test]
    fn waiting_for_the_presenter() {
        let s = speaker();
        insta::assert_snapshot!("speaker_waiting_100x30", text(&s, 100, 30));
    }
}
