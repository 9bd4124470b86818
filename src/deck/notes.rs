//! Speaker notes and per-slide time budgets, read from HTML comments so that they stay invisible
//! wherever else the markdown is shown (GitHub, editors, the audience screen):
//!
//! - `<!-- note: … -->` (one or several per slide, one or many lines), and presenterm's
//!   `<!-- speaker_note: … -->` (also its `speaker_note: |` block form);
//! - `<!-- time: 2m -->` (or `90s`, `1m30s`, `1.5m`): how long the slide should take.
//!
//! Comments inside code fences are code, not notes: the markdown parser tells them apart.

use std::time::Duration;

/// What a slide says to the speaker only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlideNotes {
    /// Each note's markdown, in deck order.
    pub notes: Vec<String>,
    /// The slide's time budget, if it gives one.
    pub budget: Option<Duration>,
}

/// Reads the notes and budget of one slide's markdown.
pub fn extract(markdown: &str) -> SlideNotes {
    let mut out = SlideNotes::default();
    for body in comments(markdown) {
        comment(&body, &mut out);
    }
    out
}

/// The bodies of the HTML comments of `markdown` (outside code), in order. Also read by
/// [`super::settings`] for the deck's own settings in its first slide.
pub fn comments(markdown: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Parser};
    let mut found = Vec::new();
    if !markdown.contains("<!--") {
        return found;
    }
    // An HTML block arrives as several `Html` events (one per line); inline comments as one
    // `InlineHtml`. Joined in order, every comment is whole again.
    let mut html = String::new();
    for ev in Parser::new(markdown) {
        match ev {
            Event::Html(t) | Event::InlineHtml(t) => html.push_str(&t),
            _ => html.push('\u{0}'),
        }
    }
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<!--") {
        let after = &rest[start + 4..];
        let Some(end) = after.find("-->") else { break };
        found.push(after[..end].to_string());
        rest = &after[end + 3..];
    }
    found
}

fn comment(body: &str, out: &mut SlideNotes) {
    let trimmed = body.trim();
    let lower = trimmed.to_ascii_lowercase();
    for key in ["speaker_note:", "note:", "notes:"] {
        if lower.starts_with(key) {
            let text = block_scalar(&trimmed[key.len()..]);
            if !text.is_empty() {
                out.notes.push(text);
            }
            return;
        }
    }
    if lower.starts_with("time:") {
        out.budget = parse_duration(&trimmed[5..]);
    }
}

/// The note's text: `| ` (YAML's literal block, as presenterm writes multi-line notes) and the
/// common indentation of the continuation lines are removed.
fn block_scalar(text: &str) -> String {
    let text = text.trim_start_matches([' ', '\t']);
    let text = text.strip_prefix('|').unwrap_or(text);
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    let indent = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(l.get(indent..).unwrap_or(l.trim_start()));
        } else {
            out.push_str(l.trim());
        }
    }
    // A first line that was only `|` leaves the block's indentation on every line.
    let min_all = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    if min_all > 0 {
        out = out
            .lines()
            .map(|l| l.get(min_all..).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
    }
    out.trim_end().to_string()
}

/// Parses `30m`, `90s`, `1m30s`, `1h`, `1.5m`, `2` (minutes). `None` if it is not a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim().to_ascii_lowercase();
    if text.is_empty() {
        return None;
    }
    if let Ok(minutes) = text.parse::<f64>() {
        return secs(minutes * 60.0);
    }
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '0'..='9' | '.' => number.push(c),
            ' ' => {}
            'h' | 'm' | 's' => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                // `min`, `sec`, `hours`: only the first letter counts.
                while chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    chars.next();
                }
                total += n * match c {
                    'h' => 3600.0,
                    'm' => 60.0,
                    _ => 1.0,
                };
            }
            _ => return None,
        }
    }
    if !number.is_empty() {
        return None;
    }
    secs(total)
}

fn secs(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0 && s < 1e7).then(|| Duration::from_secs_f64(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_of_both_syntaxes_one_and_many_lines() {
        let md = "# Title\n\n<!-- note: say hello -->\n\ntext <!-- note: inline *one* -->\n\n<!--\nspeaker_note: |\n  first line\n  - a list\n-->\n\n<!-- note:\n  two\n  lines\n-->\n";
        let n = extract(md);
        assert_eq!(
            n.notes,
            vec![
                "say hello".to_string(),
                "inline *one*".into(),
                "first line\n- a list".into(),
                "two\nlines".into()
            ]
        );
        assert_eq!(n.budget, None);
    }

    #[test]
    fn comments_in_code_are_not_notes_and_plain_comments_are_ignored() {
        let md =
            "```html\n<!-- note: code -->\n```\n<!-- just a comment -->\n<!-- time: 1m30s -->\n";
        let n = extract(md);
        assert!(n.notes.is_empty(), "{n:?}");
        assert_eq!(n.budget, Some(Duration::from_secs(90)));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 5min"), Some(Duration::from_secs(3900)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("-3m"), None);
    }
}

#[cfg(test)]
mod never_on_the_slide {
    /// Whatever form a note takes, the audience's rendering of the slide does not contain it.
    #[test]
    fn notes_are_not_rendered() {
        let theme = crate::theme::Theme::load("dark").unwrap();
        let md = "# Title\n\nshown <!-- note: SECRET1 --> too\n\nand <!-- note: SECRET2\nacross lines --> after\n\n<!--\nspeaker_note: |\n  SECRET3\n-->\n\n<!-- time: 2m -->\nend\n";
        let text = crate::render::layout_markdown(md, 80, &theme).plain_text();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("time:"), "{text}");
        assert!(text.contains("shown") && text.contains("after") && text.contains("end"));
        assert_eq!(super::extract(md).notes.len(), 3);
    }
}
