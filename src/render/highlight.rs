//! Syntax highlighting with syntect. Owns the (lazily loaded) syntax and theme sets: loading
//! them costs tens of milliseconds, which the first frame must not pay, so nothing here runs
//! until a code slide is laid out or [`warm_up`] is called from a background thread.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, ThemeSet};
use syntect::parsing::SyntaxSet;

static SYNTAXES: OnceLock<SyntaxSet> = OnceLock::new();
static THEMES: OnceLock<ThemeSet> = OnceLock::new();

/// Lines longer than this (in bytes) are highlighted only up to what is visible: a 100 KB line
/// costs a few hundred milliseconds of regex matching, and the rest is clipped anyway.
const LONG_LINE: usize = 2048;

/// The syntaxes `build.rs` keeps from syntect's bundled set (Python, Rust, shell, JavaScript,
/// JSON, YAML, C, C++, Go, Java, SQL, HTML, CSS, XML, Markdown, Diff, Makefile and what they
/// embed), as an uncompressed dump: each syntax's contexts are compressed separately inside and
/// only unpacked when that syntax is first used.
static SYNTAX_DUMP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/syntaxes.packdump"));

fn syntaxes() -> &'static SyntaxSet {
    SYNTAXES.get_or_init(|| {
        syntect::dumps::from_uncompressed_data(SYNTAX_DUMP).expect("build.rs wrote a valid dump")
    })
}

fn themes() -> &'static ThemeSet {
    THEMES.get_or_init(ThemeSet::load_defaults)
}

/// Loads the syntax and theme sets now, and highlights a little Python: syntect compiles each
/// syntax's regexes on first use, which would otherwise land on the first exec slide.
pub fn warm_up() {
    const SAMPLE: &str = "async def f(x: int) -> None:\n    await trio.sleep(1)  # c\n    print(f\"{x!r} \\n\", [1, 2.0], {'a': None})\n";
    let lines: Vec<String> = SAMPLE.lines().map(str::to_string).collect();
    let _ = highlight(&lines, "python", "base16-ocean.dark", str::len);
}

/// Whether the sets are loaded (for tests and diagnostics).
pub fn is_loaded() -> bool {
    SYNTAXES.get().is_some() && THEMES.get().is_some()
}

/// Highlights `lines` (already tab-expanded, without newlines) as `lang` with the syntect theme
/// `theme_name`. Returns one list of `(style, text)` runs per line, foreground and font style
/// only (the box supplies the background), or `None` when the language is unknown.
/// Of a line longer than [`LONG_LINE`], only the first `visible(line)` bytes are highlighted;
/// the rest follows unstyled.
pub fn highlight(
    lines: &[String],
    lang: &str,
    theme_name: &str,
    visible: impl Fn(&str) -> usize,
) -> Option<Vec<Vec<(Style, String)>>> {
    if lang.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(lang)?;
    let themes = themes();
    let theme = themes
        .themes
        .get(theme_name)
        .or_else(|| themes.themes.get("base16-ocean.dark"))?;
    let mut hl = HighlightLines::new(syntax, theme);
    let mut out = Vec::with_capacity(lines.len());
    let mut buf = String::new();
    for line in lines {
        buf.clear();
        if line.len() > LONG_LINE {
            buf.push_str(&line[..visible(line)]);
        } else {
            buf.push_str(line);
        }
        buf.push('\n');
        let runs = hl.highlight_line(&buf, set).ok()?;
        let mut styled = Vec::with_capacity(runs.len());
        for (style, text) in runs {
            let text = text.strip_suffix('\n').unwrap_or(text);
            if text.is_empty() {
                continue;
            }
            styled.push((convert(style), text.to_string()));
        }
        if line.len() > LONG_LINE {
            let rest = &line[visible(line)..];
            if !rest.is_empty() {
                styled.push((Style::default(), rest.to_string()));
            }
        }
        out.push(styled);
    }
    Some(out)
}

fn convert(style: syntect::highlighting::Style) -> Style {
    let fg = style.foreground;
    let mut out = Style::default().fg(Color::Rgb(fg.r, fg.g, fg.b));
    if style.font_style.contains(FontStyle::BOLD) {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        out = out.add_modifier(Modifier::ITALIC);
    }
    if style.font_style.contains(FontStyle::UNDERLINE) {
        out = out.add_modifier(Modifier::UNDERLINED);
    }
    out
}
