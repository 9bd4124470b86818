//! The web page of a deck: one self-contained HTML document (styles and script inline, a strict
//! Content-Security-Policy, nothing fetched) with every slide rendered by pulldown-cmark's HTML
//! writer and code highlighted by syntect's class-based HTML, in the deck theme's colours. The
//! export embeds the recorded runs as JSON for the player; the live view instead names the
//! event stream to follow. Speaker notes never reach the page unless asked for (`--notes`):
//! every HTML comment is dropped from the slide text, and raw HTML in slides is shown as text,
//! as the terminal does, so nothing in a deck can add a script to the page.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::html::{css_color, escape};
use crate::deck::{BlockKind, Deck};
use crate::render::highlight;
use crate::theme::Theme;

const CSS: &str = include_str!("assets/page.css");
const JS: &str = include_str!("assets/player.js");

/// What goes into a page besides the slides.
#[derive(Debug, Default)]
pub struct PageOptions {
    /// Show each slide's speaker notes under it.
    pub notes: bool,
    /// Recorded runs by slide (see [`super::runs::recording_json`]); the export's player.
    pub runs: serde_json::Map<String, Value>,
    /// The live view: the URL of the event stream (with its token, if any).
    pub events: Option<String>,
}

/// The whole page.
pub fn build(deck: &Deck, theme: &Theme, opts: &PageOptions) -> String {
    let total = deck.slides.len();
    let mut slides = String::new();
    for slide in &deck.slides {
        let n = slide.number;
        let exec = slide.is_exec();
        slides.push_str(&format!(
            "<section class=\"slide\" id=\"s{n}\" data-n=\"{n}\"{}>\n<div class=\"content\">\n",
            if exec { " data-exec=\"1\"" } else { "" }
        ));
        slides.push_str(&markdown_html(&slide.markdown));
        slides.push_str("</div>\n");
        if exec {
            slides.push_str(&run_panel(n, opts));
        }
        if opts.notes && !slide.notes.notes.is_empty() {
            slides.push_str("<aside class=\"notes\"><h4>Speaker notes</h4>\n");
            for note in &slide.notes.notes {
                slides.push_str(&markdown_html(note));
            }
            slides.push_str("</aside>\n");
        }
        slides.push_str(&format!(
            "<footer class=\"foot\"><span>{}</span><span>{n} / {total}</span></footer>\n</section>\n",
            escape(&deck.title)
        ));
    }
    let runs = serde_json::to_string(&Value::Object(opts.runs.clone()))
        .unwrap_or_else(|_| "{}".into())
        // Inside <script>, "</script>" or "<!--" in a string would end or confuse the element.
        .replace('<', "\\u003c");
    let script_hash = base64(&Sha256::digest(JS.as_bytes()));
    let connect = if opts.events.is_some() {
        "'self'"
    } else {
        "'none'"
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
         script-src 'sha256-{script_hash}'; connect-src {connect}; base-uri 'none'; form-action 'none'"
    );
    let events_attr = opts
        .events
        .as_deref()
        .map(|u| format!(" data-events=\"{}\"", escape(u)))
        .unwrap_or_default();
    let mode = if opts.events.is_some() {
        "live"
    } else {
        "export"
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"trio-present {version}\">\n\
<title>{title}</title>\n<style>\n{vars}\n{CSS}\n{syntax}\n</style>\n</head>\n\
<body data-mode=\"{mode}\" data-total=\"{total}\"{events_attr}>\n<main id=\"deck\">\n{slides}</main>\n\
<nav id=\"bar\"><span class=\"title\">{title}</span><span id=\"live\"></span><span id=\"typed\"></span>\
<span id=\"pos\"></span><span class=\"keys\">→ ← Space · 12 Enter · r plays</span></nav>\n\
<script type=\"application/json\" id=\"runs\">{runs}</script>\n<script>{JS}</script>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(&deck.title),
        vars = theme_css(theme),
        syntax = highlight::html_css(&theme.syntect_theme),
    )
}

/// The run panel of an exec slide: a play control (export) or the live state, the output,
/// the task tree beside it and the timeline under it.
fn run_panel(n: usize, opts: &PageOptions) -> String {
    let (control, status) = if opts.events.is_some() {
        (String::new(), "not run yet")
    } else if opts.runs.contains_key(&n.to_string()) {
        (
            "<button class=\"play\" type=\"button\">▶ play the recorded run</button>".to_string(),
            "",
        )
    } else {
        (
            String::new(),
            "no recording of this slide exists (record one with: trio-present check --record DECK)",
        )
    };
    format!(
        "<div class=\"run\" data-slide=\"{n}\">\n<div class=\"run-bar\">{control}\
<span class=\"run-status\">{status}</span></div>\n<div class=\"run-body\"><div class=\"out\"></div>\
<pre class=\"tree\"></pre></div>\n<pre class=\"timeline\"></pre>\n</div>\n"
    )
}

/// CSS custom properties from the theme; colours the terminal leaves to itself (`reset`) get
/// the page's defaults for a dark or light background.
fn theme_css(theme: &Theme) -> String {
    let light = css_color(theme.background).is_some_and(|c| is_light(&c));
    let pick = |c, dark: &str, bright: &str| {
        css_color(c).unwrap_or_else(|| if light { bright } else { dark }.to_string())
    };
    let mut css = String::from(":root {\n");
    let vars = [
        ("bg", pick(theme.background, "#1c1f26", "#ffffff")),
        ("fg", pick(theme.text, "#dfe1e8", "#1c1f26")),
        ("heading", pick(theme.heading, "#8fc1e3", "#1c4f7a")),
        ("accent", pick(theme.accent, "#ebcb8b", "#8a5a00")),
        ("quote", pick(theme.quote, "#a7adba", "#555555")),
        ("code-bg", pick(theme.code_bg, "#2b303b", "#f0f0f0")),
        ("link", pick(theme.link, "#96b5b4", "#1c4f7a")),
        ("dim", pick(theme.dim, "#7a8290", "#777777")),
        ("error", pick(theme.error, "#ef6f6c", "#b00020")),
        ("status-fg", pick(theme.status_fg, "#1c1f26", "#ffffff")),
        ("status-bg", pick(theme.status_bg, "#8fc1e3", "#1c4f7a")),
    ];
    for (name, value) in vars {
        css.push_str(&format!("  --{name}: {value};\n"));
    }
    css.push_str("}\n");
    for (i, c) in theme.task_colors.iter().enumerate() {
        if let Some(c) = css_color(*c) {
            css.push_str(&format!(".tc{i} {{ color: {c}; }}\n"));
        }
    }
    css
}

fn is_light(hex: &str) -> bool {
    let v = |i: usize| u32::from_str_radix(hex.get(i..i + 2).unwrap_or("0"), 16).unwrap_or(0);
    v(1) * 299 + v(3) * 587 + v(5) * 114 > 128_000
}

/// One slide's (or note's) markdown as HTML. Fences are classified as the deck classifies them:
/// `exec` shown with its label and highlighted as Python, `exechidden` left out, other
/// languages highlighted, a bare fence verbatim. HTML comments (notes) are dropped; other raw
/// HTML is shown as text.
pub fn markdown_html(markdown: &str) -> String {
    let mut events: Vec<Event> = Vec::new();
    let mut code: Option<(String, String)> = None;
    let mut in_html_block = false;
    let mut html_block = String::new();
    for ev in Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    ) {
        if let Some((_, text)) = code.as_mut() {
            match ev {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (info, text) = code.take().unwrap_or_default();
                    events.push(Event::Html(code_html(&info, &text).into()));
                }
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((info, String::new()));
            }
            Event::Start(Tag::HtmlBlock) => {
                in_html_block = true;
                html_block.clear();
            }
            Event::End(TagEnd::HtmlBlock) => {
                in_html_block = false;
                let text = strip_comments(&html_block);
                let text = text.trim();
                if !text.is_empty() {
                    events.push(Event::Html(
                        format!("<p class=\"html\">{}</p>\n", escape(text)).into(),
                    ));
                }
            }
            Event::Html(t) | Event::Text(t) if in_html_block => html_block.push_str(&t),
            Event::InlineHtml(t) | Event::Html(t) => {
                let text = strip_comments(&t);
                if !text.is_empty() {
                    events.push(Event::Text(text.into()));
                }
            }
            other => events.push(other),
        }
    }
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    out
}

/// `text` without HTML comments (an unclosed one runs to the end).
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// A code block as HTML, classified by its info string as in the deck.
fn code_html(info: &str, text: &str) -> String {
    let lang = info.split_whitespace().next().unwrap_or("");
    let kind = crate::render::markdown::block_kind(lang);
    let (label, syntax) = match kind {
        BlockKind::Hidden => return String::new(),
        BlockKind::Exec => (crate::render::code::EXEC_LABEL.to_string(), "python"),
        BlockKind::Display => (lang.to_string(), lang),
    };
    let body = highlight::html_classed(text, syntax).unwrap_or_else(|| escape(text));
    let class = if kind == BlockKind::Exec {
        "code exec"
    } else {
        "code"
    };
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("<span class=\"label\">{}</span>", escape(&label))
    };
    format!("<div class=\"{class}\">{label}<pre><code>{body}</code></pre></div>\n")
}

/// Standard base64 (for the script's CSP hash).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn notes_and_raw_html_never_reach_the_page() {
        let md = "# Title\n\nText <b>bold?</b>\n\n<!-- note: secret plan -->\n\n<script>alert(1)</script>\n\n```exechidden\nsecret_setup()\n```\n";
        let html = markdown_html(md);
        assert!(!html.contains("secret"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
    }

    #[test]
    fn exec_code_is_labelled_and_highlighted_by_syntect() {
        let html = markdown_html("```exec\nimport trio\n```\n\n```\n  a   b\n```\n");
        assert!(html.contains("▶ exec"), "{html}");
        assert!(html.contains("class=\"sy-"), "{html}");
        assert!(html.contains("  a   b"), "{html}");
    }
}
