//! Splitting deck text into slides at `====` lines, tracking fenced code blocks so that a
//! separator inside a fence stays code. Fences follow CommonMark: up to three spaces of indent,
//! three or more backticks or tildes, closed by the same character at least as many times.

use super::{BlockKind, CodeBlock, Slide};

/// An open fence while scanning.
struct Fence {
    ch: char,
    len: usize,
    indent: usize,
    lang: String,
    /// `replay` among the info string's later words (see [`CodeBlock::replay`]).
    replay: bool,
    line: usize,
    code: String,
    /// Byte offset of the first code line, for taking the code as one slice (see `slices`).
    start: usize,
}

/// `(char, run length, indent, rest)` when `line` opens or could close a fence.
fn fence_marker(line: &str) -> Option<(char, usize, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.len() - rest.trim_start_matches(ch).len();
    if len < 3 {
        return None;
    }
    Some((ch, len, indent, &rest[len..]))
}

fn is_separator(line: &str) -> bool {
    line.trim_end() == "===="
}

/// Splits deck text into slides; returns them with warnings (e.g. unclosed fences).
pub fn split_slides(text: &str) -> (Vec<Slide>, Vec<String>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Without carriage returns a slide's markdown (and an unindented block's code) is a slice
    // of the text as it stands: copied once instead of line by line (a 5,000-slide deck opens
    // in a third of the time).
    split(text, !text.contains('\r'))
}

/// [`split_slides`]; `slices` says that no line ends in `\r`, so text is copied by slices.
/// Both ways give the same slides (a test compares them).
fn split(text: &str, slices: bool) -> (Vec<Slide>, Vec<String>) {
    let mut slides = Vec::new();
    let mut warnings = Vec::new();
    let mut markdown = String::new();
    let mut blocks: Vec<CodeBlock> = Vec::new();
    let mut first_line = 1;
    // Byte offset where the current slide's text starts.
    let mut slide_start = 0;
    let mut fence: Option<Fence> = None;
    let sliced = |f: &Fence| slices && f.indent == 0;

    let finish = |fence: Fence, slide: usize, unclosed: bool| CodeBlock {
        slide,
        kind: match fence.lang.as_str() {
            "exec" => BlockKind::Exec,
            "exechidden" => BlockKind::Hidden,
            _ => BlockKind::Display,
        },
        lang: fence.lang,
        replay: fence.replay,
        source: fence.code,
        fence_line: fence.line,
        unclosed,
    };

    let mut offset = 0;
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line_start = offset;
        offset += raw.len() + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let slide_no = slides.len() + 1;
        match fence.as_mut() {
            Some(f) => {
                let closes = fence_marker(line).is_some_and(|(ch, len, _, rest)| {
                    ch == f.ch && len >= f.len && rest.trim().is_empty()
                });
                if closes {
                    let mut done = fence.take().expect("fence is open");
                    if sliced(&done) {
                        done.code = text[done.start..line_start].to_string();
                    }
                    blocks.push(finish(done, slide_no, false));
                } else if !sliced(f) {
                    // CommonMark removes up to the fence's own indentation from code lines.
                    let strip = line.len() - line.trim_start_matches(' ').len();
                    f.code.push_str(&line[strip.min(f.indent)..]);
                    f.code.push('\n');
                }
            }
            None if is_separator(line) => {
                let markdown = match slices {
                    true => text[slide_start..line_start].to_string(),
                    false => std::mem::take(&mut markdown),
                };
                slides.push(Slide {
                    number: slide_no,
                    notes: super::notes::extract(&markdown),
                    markdown,
                    first_line,
                    blocks: std::mem::take(&mut blocks),
                });
                first_line = line_no + 1;
                slide_start = offset;
                continue;
            }
            None => {
                if let Some((ch, len, indent, rest)) = fence_marker(line) {
                    // A backtick fence's info string may not contain backticks (then it is
                    // inline code, not a fence).
                    if !(ch == '`' && rest.contains('`')) {
                        fence = Some(Fence {
                            ch,
                            len,
                            indent,
                            lang: rest.split_whitespace().next().unwrap_or("").to_string(),
                            replay: rest.split_whitespace().skip(1).any(|w| w == "replay"),
                            line: line_no,
                            code: String::new(),
                            start: offset,
                        });
                    }
                }
            }
        }
        if !slices {
            markdown.push_str(line);
            markdown.push('\n');
        }
    }
    // Every line and a newline after it, as the line-by-line way builds it (none when the
    // text ended with the separator line).
    if slices && slide_start <= text.len() {
        markdown = format!("{}\n", &text[slide_start..]);
    }
    let slide_no = slides.len() + 1;
    if let Some(mut f) = fence.take() {
        warnings.push(format!(
            "unclosed code fence opened at line {} (slide {slide_no}): it runs to the end of the deck",
            f.line
        ));
        if sliced(&f) && f.start <= text.len() {
            f.code = format!("{}\n", &text[f.start..]);
        }
        // Drop the trailing empty line that `split` yields after a final newline.
        if text.ends_with('\n') && f.code.ends_with("\n\n") {
            f.code.pop();
        }
        blocks.push(finish(f, slide_no, true));
    }
    if text.ends_with('\n') {
        markdown.pop();
    }
    slides.push(Slide {
        number: slide_no,
        notes: super::notes::extract(&markdown),
        markdown,
        first_line,
        blocks,
    });
    (slides, warnings)
}

/// What the first bytes of a deck say about where slide `upto` ends (see [`head_end`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Head {
    /// Slide `upto` ends at this byte offset, the start of the separator line after it. The
    /// slides up to it are those of the whole deck, whatever follows: a separator is one only
    /// outside a fence, and whether a fence is open there is decided by the lines before it.
    Ends(usize),
    /// The whole lines of these bytes do not reach the end of slide `upto`: read more.
    More,
    /// Only the whole parse can tell: slide `upto` is an empty first slide (an empty text
    /// parses as one slide of its own), or a line is not UTF-8 (an error that the whole read
    /// reports with its offset).
    Whole,
}

/// Where slide `upto` (1-based) ends in the first `bytes` of a deck, found without building
/// any slide: the presenter's first frame of a large deck needs only its first slides. Only
/// whole lines count (the last one may go on in bytes not read yet), so each longer prefix of
/// a deck gives `More` or the same answer as the whole text.
pub(super) fn head_end(bytes: &[u8], upto: usize) -> Head {
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let base = bytes.len() - body.len();
    // The open fence's character and length.
    let mut fence: Option<(char, usize)> = None;
    let mut slides = 1;
    let mut offset = 0;
    for nl in memchr::memchr_iter(b'\n', body) {
        let (start, raw) = (offset, &body[offset..nl]);
        offset = nl + 1;
        // Only a line that starts with one of these can open or close a fence or separate
        // slides (see fence_marker and is_separator): the others cost one look.
        if !matches!(raw.first(), Some(b' ' | b'`' | b'~' | b'=')) {
            continue;
        }
        let Ok(raw) = std::str::from_utf8(raw) else {
            return Head::Whole;
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match fence {
            Some((ch, len)) => {
                if fence_marker(line)
                    .is_some_and(|(c, l, _, rest)| c == ch && l >= len && rest.trim().is_empty())
                {
                    fence = None;
                }
            }
            None if is_separator(line) => {
                if slides == upto {
                    return match start {
                        0 => Head::Whole,
                        _ => Head::Ends(base + start),
                    };
                }
                slides += 1;
            }
            None => {
                if let Some((ch, len, _, rest)) = fence_marker(line) {
                    if !(ch == '`' && rest.contains('`')) {
                        fence = Some((ch, len));
                    }
                }
            }
        }
    }
    Head::More
}

#[cfg(test)]
mod tests {
    use super::{head_end, split, split_slides, Head};
    use proptest::prelude::*;

    /// Lines that make decks interesting to split: separators, fences of both kinds and
    /// lengths, indented fences, unclosed ones, notes, blank lines.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("====".to_string()),
            Just("==== ".to_string()),
            Just("```exec".to_string()),
            Just("```python replay".to_string()),
            Just("```".to_string()),
            Just("````".to_string()),
            Just("~~~".to_string()),
            Just("  ```".to_string()),
            Just("   ```exec".to_string()),
            Just("    ```".to_string()),
            Just("``` `x`".to_string()),
            Just(String::new()),
            Just("<!-- note: hi -->".to_string()),
            Just("# Title".to_string()),
            "[ a-z()]{0,12}",
            "  [a-z]{0,6}",
        ]
    }

    /// The case the property test below first found: an empty first slide has no text
    /// before its separator, and an empty text parses as one slide of its own ("\n"), so
    /// such a deck is not opened in parts.
    #[test]
    fn an_empty_first_slide_is_left_to_the_whole_parse() {
        assert_eq!(head_end(b"====\n```exec\n```\n", 1), Head::Whole);
        assert_eq!(head_end("\u{feff}====\nb\n".as_bytes(), 1), Head::Whole);
        assert_eq!(head_end(b"a\n====\nb\n", 1), Head::Ends(2));
        assert_eq!(head_end(b"a\n====\nb\n", 2), Head::More, "the last slide");
        // A separator line not yet ended may still go on ("=====" is text).
        assert_eq!(head_end(b"a\n====", 1), Head::More);
        assert_eq!(head_end(b"a\n\xff\n====\n", 1), Head::Ends(4));
        assert_eq!(head_end(b"a\n ```\xff\n====\n", 1), Head::Whole);
    }

    proptest! {
        /// Slices of the text and lines copied one by one give the same deck.
        #[test]
        fn slices_and_lines_agree(lines in prop::collection::vec(line(), 0..40), nl in any::<bool>()) {
            let mut text = lines.join("\n");
            if nl {
                text.push('\n');
            }
            prop_assert_eq!(split(&text, true), split(&text, false));
        }

        /// The head agrees with the whole parse: the text before the end of slide `upto`
        /// parses into the same first slides, and every prefix of the text (as the presenter
        /// reads it, a chunk at a time) says `More` or the same.
        #[test]
        fn the_head_agrees_with_the_parse(
            lines in prop::collection::vec(line(), 0..40),
            nl in any::<bool>(),
            bom in any::<bool>(),
            upto in 1usize..6,
        ) {
            let mut text = lines.join("\n");
            if nl {
                text.push('\n');
            }
            if bom {
                text.insert(0, '\u{feff}');
            }
            let (whole, _) = split_slides(&text);
            let head = head_end(text.as_bytes(), upto);
            match head {
                Head::Ends(end) => {
                    prop_assert!(upto < whole.len());
                    let (first, warnings) = split_slides(&text[..end]);
                    prop_assert!(warnings.is_empty());
                    prop_assert_eq!(&first[..], &whole[..upto]);
                }
                Head::More => prop_assert!(upto >= whole.len() - usize::from(!nl)),
                Head::Whole => prop_assert!(upto == 1 && whole[0].markdown.is_empty()),
            }
            for cut in 0..text.len() {
                let part = head_end(&text.as_bytes()[..cut], upto);
                prop_assert!(part == Head::More || part == head, "{:?} at {}", part, cut);
            }
        }
    }
}
