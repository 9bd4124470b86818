//! Off-screen frames as text: the app drawn into a memory buffer ([`render_frame`]), and a
//! buffer turned into text, plain (trailing spaces trimmed) for tests and scripts, or with
//! ANSI SGR colours for `render --color`.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

/// The buffer's rows as lines of text.
pub fn buffer_text(buf: &Buffer, color: bool) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut row = String::new();
        let mut current: Option<Style> = None;
        let mut skip = 0usize;
        for x in area.left()..area.right() {
            let cell = &buf[(x, y)];
            // A wide character occupies two cells; the second holds an empty symbol.
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if color {
                let style = cell.style();
                if current != Some(style) {
                    row.push_str(&sgr(style));
                    current = Some(style);
                }
            }
            let sym = cell.symbol();
            row.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        if color {
            row.push_str("\x1b[0m");
        } else {
            row.truncate(row.trim_end().len());
        }
        out.push_str(&row);
        out.push('\n');
    }
    out
}

fn sgr(style: Style) -> String {
    let mut codes = vec!["0".to_string()];
    let m = style.add_modifier;
    for (flag, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::REVERSED, "7"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if m.contains(flag) {
            codes.push(code.into());
        }
    }
    if let Some(c) = style.fg.and_then(|c| color_code(c, false)) {
        codes.push(c);
    }
    if let Some(c) = style.bg.and_then(|c| color_code(c, true)) {
        codes.push(c);
    }
    format!("\x1b[{}m", codes.join(";"))
}

fn color_code(c: Color, bg: bool) -> Option<String> {
    let base = if bg { 40 } else { 30 };
    let bright = if bg { 100 } else { 90 };
    Some(match c {
        Color::Reset => return None,
        Color::Black => format!("{base}"),
        Color::Red => format!("{}", base + 1),
        Color::Green => format!("{}", base + 2),
        Color::Yellow => format!("{}", base + 3),
        Color::Blue => format!("{}", base + 4),
        Color::Magenta => format!("{}", base + 5),
        Color::Cyan => format!("{}", base + 6),
        Color::Gray => format!("{}", base + 7),
        Color::DarkGray => format!("{bright}"),
        Color::LightRed => format!("{}", bright + 1),
        Color::LightGreen => format!("{}", bright + 2),
        Color::LightYellow => format!("{}", bright + 3),
        Color::LightBlue => format!("{}", bright + 4),
        Color::LightMagenta => format!("{}", bright + 5),
        Color::LightCyan => format!("{}", bright + 6),
        Color::White => format!("{}", bright + 7),
        Color::Indexed(i) => format!("{};5;{i}", if bg { 48 } else { 38 }),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", if bg { 48 } else { 38 }),
    })
}

/// Draws the app into an off-screen buffer and returns it as text (ANSI colours optional).
pub fn render_frame(app: &crate::app::App, width: u16, height: u16, color: bool) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("test backend");
    terminal
        .draw(|f| super::draw(app, f))
        .expect("drawing into memory cannot fail");
    buffer_text(terminal.backend().buffer(), color)
}
