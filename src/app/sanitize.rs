//! Making a demo's text safe to draw: escape sequences and control characters are removed,
//! tabs become spaces, bidi controls and zero-width characters are spelled out. Used for
//! everything a demo (or a server a client talks to) sends before it reaches the screen.

/// [`sanitize`] for text that may span lines: each line is cleaned, the newlines stay.
pub fn sanitize_keep_newlines(text: &str) -> String {
    text.split('\n')
        .map(sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Makes child output safe to draw: escape sequences (colours included, for now) and control
/// characters are removed, tabs become spaces, so nothing the demo prints can move our cursor,
/// clear the screen, set the title or touch the clipboard; bidi controls and zero-width
/// characters are spelled out (`<U+202E>`).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\t' => out.push_str("    "),
            '\u{9b}' => skip_csi(&mut chars),
            // Bidi overrides and isolates reorder what follows them, zero-width characters
            // hide in plain sight: shown as what they are, never passed to the terminal.
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            '\u{90}' | '\u{9d}' | '\u{9e}' | '\u{9f}' | '\u{98}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | '_' | '^' | 'X') => skip_string(chars),
        // Two- and three-byte escapes (ESC c, ESC ( B, ...).
        Some('(' | ')' | '*' | '+' | '#' | '%') => {
            chars.next();
        }
        _ => {}
    }
}

fn skip_csi(chars: &mut Chars) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// Skips an OSC/DCS/APC/PM/SOS string up to BEL or ST (ESC \).
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}
