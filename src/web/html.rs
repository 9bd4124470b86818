//! Small HTML helpers of the web view: escaping, terminal colours as CSS colours, and styled
//! terminal text (ratatui spans and buffers, as the presenter's own panels draw them) as HTML.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;

/// Text escaped for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A terminal colour as CSS, or `None` for `Reset` (the terminal's own colour: the page picks).
pub fn css_color(c: Color) -> Option<String> {
    let rgb = |r: u8, g: u8, b: u8| Some(format!("#{r:02x}{g:02x}{b:02x}"));
    match c {
        Color::Reset => None,
        Color::Rgb(r, g, b) => rgb(r, g, b),
        Color::Indexed(i) => {
            let (r, g, b) = xterm(i);
            rgb(r, g, b)
        }
        named => {
            let i = match named {
                Color::Black => 0,
                Color::Red => 1,
                Color::Green => 2,
                Color::Yellow => 3,
                Color::Blue => 4,
                Color::Magenta => 5,
                Color::Cyan => 6,
                Color::Gray => 7,
                Color::DarkGray => 8,
                Color::LightRed => 9,
                Color::LightGreen => 10,
                Color::LightYellow => 11,
                Color::LightBlue => 12,
                Color::LightMagenta => 13,
                Color::LightCyan => 14,
                _ => 15,
            };
            let (r, g, b) = xterm(i);
            rgb(r, g, b)
        }
    }
}

/// The xterm 256-colour palette.
fn xterm(i: u8) -> (u8, u8, u8) {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 49, 49),
        (13, 188, 121),
        (229, 229, 16),
        (36, 114, 200),
        (188, 63, 188),
        (17, 168, 205),
        (204, 204, 204),
        (118, 118, 118),
        (241, 76, 76),
        (35, 209, 139),
        (245, 245, 67),
        (59, 142, 234),
        (214, 112, 214),
        (41, 184, 219),
        (255, 255, 255),
    ];
    match i {
        0..=15 => BASE[i as usize],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

/// The inline CSS of a terminal style (foreground, bold, italic, dim).
fn style_css(style: Style) -> String {
    let mut css = String::new();
    if let Some(c) = style.fg.and_then(css_color) {
        css.push_str(&format!("color:{c};"));
    }
    if style.add_modifier.contains(Modifier::BOLD) {
        css.push_str("font-weight:bold;");
    }
    if style.add_modifier.contains(Modifier::ITALIC) {
        css.push_str("font-style:italic;");
    }
    if style.add_modifier.contains(Modifier::DIM) {
        css.push_str("opacity:.7;");
    }
    css
}

fn push_run(out: &mut String, style: Style, text: &str) {
    let css = style_css(style);
    if css.is_empty() {
        out.push_str(&escape(text));
    } else {
        out.push_str(&format!("<span style=\"{css}\">{}</span>", escape(text)));
    }
}

/// Styled lines (the task tree panel's) as HTML, one line per `\n`.
pub fn lines_html(lines: &[Line<'_>]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for span in &line.spans {
            push_run(&mut out, line.style.patch(span.style), &span.content);
        }
    }
    out
}

/// A drawn buffer (the timeline's) as HTML: runs of cells of one style become one span; rows
/// end in `\n` with their trailing blanks cut.
pub fn buffer_html(buf: &Buffer) -> String {
    let area = buf.area;
    let mut rows = Vec::new();
    for y in area.top()..area.bottom() {
        let mut row = String::new();
        let mut run = String::new();
        let mut run_style = Style::default();
        for x in area.left()..area.right() {
            let cell = &buf[(x, y)];
            let style = Style::default().fg(cell.fg).add_modifier(cell.modifier);
            if style != run_style && !run.is_empty() {
                push_run(&mut row, run_style, &run);
                run.clear();
            }
            run_style = style;
            run.push_str(cell.symbol());
        }
        let trimmed = run.trim_end();
        if !trimmed.is_empty() {
            push_run(&mut row, run_style, trimmed);
        }
        rows.push(row);
    }
    while rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    rows.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn colours_become_css() {
        assert_eq!(css_color(Color::Rgb(1, 2, 255)).as_deref(), Some("#0102ff"));
        assert_eq!(css_color(Color::Reset), None);
        assert_eq!(css_color(Color::Indexed(196)).as_deref(), Some("#ff0000"));
        assert_eq!(css_color(Color::Indexed(232)).as_deref(), Some("#080808"));
    }
}
