//! Layout tests: wrapping by cells, lists, quotes, code boxes, clipping, robustness, and
//! snapshots of reference-deck slides.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

use super::wrap::{clip_spans, wrap, Piece};
use super::*;
use crate::deck::Deck;

fn deck() -> &'static Deck {
    static DECK: OnceLock<Deck> = OnceLock::new();
    DECK.get_or_init(|| {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/slides/trio.md"));
        Deck::load(path).expect("reference deck loads")
    })
}

fn dark() -> Theme {
    Theme::load("dark").unwrap()
}

fn slide(n: usize) -> &'static Slide {
    &deck().slides[n - 1]
}

fn md(markdown: &str, width: u16) -> SlideLayout {
    let layout = layout_markdown(markdown, width, &dark());
    check(&layout, width);
    layout
}

fn texts(layout: &SlideLayout) -> Vec<String> {
    layout
        .lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

/// Every invariant the UI relies on.
fn check(layout: &SlideLayout, max_width: u16) {
    let widest = layout.lines.iter().map(|l| l.width()).max().unwrap_or(0);
    assert_eq!(usize::from(layout.width), widest);
    assert!(layout.width <= max_width, "{} > {max_width}", layout.width);
    for line in &layout.lines {
        assert_eq!(line.alignment, Some(ratatui::layout::Alignment::Left));
    }
}

/// Snapshot text: the plain text with trailing spaces trimmed (they are padding, and trailing
/// whitespace in snapshot files does not survive editors).
fn snapshot_text(layout: &SlideLayout) -> String {
    let body: Vec<String> = texts(layout)
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    format!("width {}\n{}", layout.width, body.join("\n"))
}

fn plain(text: &str) -> Piece {
    Piece::Text(text.to_string(), Style::default())
}

fn wrapped(pieces: &[Piece], width: usize) -> Vec<String> {
    wrap(pieces, width)
        .into_iter()
        .map(|spans| spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

// ---------------------------------------------------------------- wrapping

#[test]
fn wrap_at_word_boundaries() {
    let lines = wrapped(
        &[plain("the quick  brown\tfox jumps over the lazy dog")],
        10,
    );
    assert_eq!(
        lines,
        ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
    );
    assert_eq!(wrapped(&[plain("   ")], 10), Vec::<String>::new());
    assert_eq!(
        wrapped(&[plain("a"), Piece::Break, plain("b")], 10),
        ["a", "b"]
    );
}

#[test]
fn wrap_measures_cells_not_chars() {
    // ಠ is one cell, 漢 and 🎉 are two.
    let lines = wrapped(&[plain("ಠ_ಠ ಠ_ಠ ಠ_ಠ")], 7);
    assert_eq!(lines, ["ಠ_ಠ ಠ_ಠ", "ಠ_ಠ"]);
    let lines = wrapped(&[plain("漢字 漢字 漢字")], 9);
    assert_eq!(lines, ["漢字 漢字", "漢字"]);
    let lines = wrapped(&[plain("漢字 漢字 漢字")], 8);
    assert_eq!(lines, ["漢字", "漢字", "漢字"]);
    let lines = wrapped(&[plain("🎉🎉 party 🎉")], 8);
    assert_eq!(lines, ["🎉🎉", "party 🎉"]);
    for width in 1..12 {
        for line in wrap(
            &[plain("漢字漢字 ಠ_ಠ 🎉🎉🎉 e\u{301}e\u{301}e\u{301}")],
            width,
        ) {
            assert!(
                wrap::spans_width(&line) <= width.max(2),
                "{line:?} at {width}"
            );
        }
    }
}

#[test]
fn long_words_break_by_cells() {
    // A wide character never straddles the edge: 5 cells hold two of them.
    assert_eq!(
        wrapped(&[plain("漢字漢字漢字")], 5),
        ["漢字", "漢字", "漢字"]
    );
    assert_eq!(wrapped(&[plain("abcdefghij")], 4), ["abcd", "efgh", "ij"]);
    // Combining accents stay with their letter.
    assert_eq!(
        wrapped(&[plain("e\u{301}e\u{301}e\u{301}")], 2),
        ["e\u{301}e\u{301}", "e\u{301}"]
    );
    assert_eq!(wrapped(&[plain("ab abcdefgh")], 4), ["ab", "abcd", "efgh"]);
}

#[test]
fn wrap_keeps_styles_across_words() {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let pieces = [
        plain("plain "),
        Piece::Text("bold words".into(), bold),
        plain("tail"),
    ];
    let lines = wrap(&pieces, 40);
    assert_eq!(lines.len(), 1);
    let spans = &lines[0];
    assert_eq!(spans[0].content, "plain ");
    assert_eq!(spans[1].content, "bold words");
    assert_eq!(spans[1].style, bold);
    assert_eq!(spans[2].content, "tail");
}

#[test]
fn clipping_marks_the_last_cell() {
    let spans = vec![Span::raw("漢字漢字")];
    let (out, cut) = clip_spans(spans, 6, Some(Span::raw("›")));
    assert!(cut);
    let text: String = out.iter().map(|s| s.content.as_ref()).collect();
    // Two wide chars (4) + a gap the third cannot fill + the marker = 6 cells.
    assert_eq!(text, "漢字 ›");
    let (out, cut) = clip_spans(vec![Span::raw("abc")], 3, Some(Span::raw("›")));
    assert!(!cut);
    assert_eq!(out[0].content, "abc");
}

#[test]
fn paragraphs_wrap_at_text_width() {
    let long = "word ".repeat(60);
    let layout = md(&long, 200);
    // 14 words of 4 cells and their spaces: 69 cells; a 15th would pass 72.
    assert_eq!(layout.width, 69);
    assert!(texts(&layout).iter().all(|l| l.starts_with("word")));
    let layout = md(&long, 30);
    assert!(layout.width <= 30);
}

#[test]
fn soft_and_hard_breaks() {
    assert_eq!(texts(&md("one\ntwo", 40)), ["one two"]);
    assert_eq!(texts(&md("one  \ntwo", 40)), ["one", "two"]);
    assert_eq!(texts(&md("one\\\ntwo", 40)), ["one", "two"]);
}

// ---------------------------------------------------------------- blocks

#[test]
fn headings_and_spacing() {
    let layout = md("# Title\n\nsome text that is longer\n\n## Sub\n\nmore", 60);
    assert_eq!(
        texts(&layout),
        [
            "         Title",
            "         ─────",
            "",
            "some text that is longer",
            "",
            "Sub",
            "",
            "more"
        ]
    );
}

#[test]
fn h1_is_bold_heading_colour() {
    let theme = dark();
    let layout = layout_slide(slide(3), 76, &theme);
    let title = layout.lines[0]
        .spans
        .iter()
        .find(|s| s.content.contains("Why Trio"))
        .expect("title span");
    assert_eq!(title.style.fg, Some(theme.heading));
    assert!(title.style.add_modifier.contains(Modifier::BOLD));
    // Centred by padding within the block.
    let pad = layout.lines[0].spans[0].content.len();
    assert_eq!(pad, (usize::from(layout.width) - "Why Trio".len()) / 2);
    let h2 = md("## Sub", 40);
    let span = &h2.lines[0].spans[0];
    assert_eq!(span.style.fg, Some(theme.accent));
    assert!(span.style.add_modifier.contains(Modifier::BOLD));
}

#[test]
fn inline_styles() {
    let theme = dark();
    let layout = md("**b** *i* ***bi*** `code` ~~s~~", 60);
    let spans = &layout.lines[0].spans;
    let find = |text: &str| spans.iter().find(|s| s.content == text).expect(text).style;
    assert!(find("b").add_modifier.contains(Modifier::BOLD));
    assert!(find("i").add_modifier.contains(Modifier::ITALIC));
    assert!(find("bi")
        .add_modifier
        .contains(Modifier::BOLD | Modifier::ITALIC));
    assert_eq!(find("code").bg, Some(theme.code_bg));
    assert!(find("s").add_modifier.contains(Modifier::CROSSED_OUT));
    assert_eq!(find("b").fg, Some(theme.text));
}

#[test]
fn links() {
    let theme = dark();
    assert_eq!(
        texts(&md("[site](https://x.org/a)", 60)),
        ["site (https://x.org/a)"]
    );
    assert_eq!(
        texts(&md("[https://x.org/](https://x.org)", 60)),
        ["https://x.org/"]
    );
    assert_eq!(texts(&md("<https://x.org>", 60)), ["https://x.org"]);
    let layout = md("[@me@example.social]()", 60);
    assert_eq!(texts(&layout), ["@me@example.social"]);
    let span = &layout.lines[0].spans[0];
    assert_eq!(span.style.fg, Some(theme.link));
    assert!(span.style.add_modifier.contains(Modifier::UNDERLINED));
    let layout = md("[site](https://x.org)", 60);
    let url = layout.lines[0].spans.last().unwrap();
    assert_eq!(url.style.fg, Some(theme.dim));
}

#[test]
fn lists_nested() {
    let text = "- one\n  - two\n    - three\n      - four\n- five";
    assert_eq!(
        texts(&md(text, 60)),
        ["• one", "  ◦ two", "    ▪ three", "      • four", "• five"]
    );
    let text = "3. three\n4. four\n   1. sub\n";
    assert_eq!(texts(&md(text, 60)), ["3. three", "4. four", "   1. sub"]);
    let ten: String = (1..=10).map(|i| format!("{i}. item\n")).collect();
    let lines = texts(&md(&ten, 60));
    assert_eq!(lines[0], " 1. item");
    assert_eq!(lines[9], "10. item");
}

#[test]
fn list_items_hang_indent() {
    let layout = md("- alpha beta gamma delta\n  - epsilon zeta eta theta", 14);
    assert_eq!(
        texts(&layout),
        [
            "• alpha beta",
            "  gamma delta",
            "  ◦ epsilon",
            "    zeta eta",
            "    theta"
        ]
    );
    // Reference slide 15 wraps its first item at 72 cells.
    let lines = texts(&layout_slide(slide(15), 116, &dark()));
    assert!(
        lines.iter().any(|l| l.starts_with("  function calls")),
        "{lines:#?}"
    );
}

#[test]
fn quote_bar_on_every_line() {
    let theme = dark();
    let layout = layout_slide(slide(4), 40, &theme);
    let lines = texts(&layout);
    assert!(lines.len() >= 4, "{lines:#?}");
    for (line, text) in layout.lines.iter().zip(&lines) {
        assert!(text.starts_with("▌ "), "{text:?}");
        assert_eq!(line.spans[0].style.fg, Some(theme.quote));
        assert!(line.width() <= 40);
    }
    let body = layout.lines[0]
        .spans
        .iter()
        .find(|s| s.content.contains("Trio"))
        .unwrap();
    assert!(body.style.add_modifier.contains(Modifier::ITALIC));
    // Blank lines between paragraphs inside a quote keep the bar; nested quotes stack.
    let lines = texts(&md("> one\n>\n> two\n>> deep", 40));
    assert_eq!(lines, ["▌ one", "▌ ", "▌ two", "▌ ", "▌ ▌ deep"]);
}

#[test]
fn horizontal_rule_spans_the_block() {
    let lines = texts(&md("short\n\n---\n\nsomewhat longer", 60));
    assert_eq!(lines[2], "─".repeat("somewhat longer".len()));
    let lines = texts(&md("---", 60));
    assert_eq!(lines, ["─".repeat(60)]);
    let lines = texts(&md("---", 100));
    assert_eq!(lines, ["─".repeat(usize::from(TEXT_WIDTH))]);
}

// ---------------------------------------------------------------- code

#[test]
fn hidden_blocks_are_not_shown() {
    let theme = dark();
    let eleven = layout_slide(slide(11), 76, &theme);
    let text = eleven.plain_text();
    assert!(!text.contains("import trio"), "{text}");
    assert!(text.contains("async def sleepy"));
    assert!(
        text.starts_with(' '),
        "no blank line for the hidden block: {text:?}"
    );
    let only_hidden = md("```exechidden\nimport trio\n```\n", 76);
    assert!(only_hidden.lines.is_empty());
    assert_eq!(only_hidden.width, 0);
}

#[test]
fn exec_box_has_label_and_background() {
    let theme = dark();
    let layout = layout_slide(slide(12), 76, &theme);
    let lines = texts(&layout);
    assert!(lines[0].trim_end().ends_with(EXEC_LABEL), "{:?}", lines[0]);
    // A box: every row the same width, fitted to the code, background everywhere.
    let longest = slide(12).blocks[0]
        .source
        .lines()
        .map(str_width)
        .max()
        .unwrap();
    assert_eq!(usize::from(layout.width), longest + 4);
    for line in &layout.lines {
        assert_eq!(line.width(), usize::from(layout.width));
        for span in &line.spans {
            assert_eq!(span.style.bg, Some(theme.code_bg), "{span:?}");
        }
    }
    // Highlighted: Python gets more than one foreground colour.
    let colours: std::collections::HashSet<_> = layout
        .lines
        .iter()
        .flat_map(|l| l.spans.iter())
        .filter_map(|s| s.style.fg)
        .collect();
    assert!(colours.len() > 3, "{colours:?}");
}

#[test]
fn language_label_and_plain_fallback() {
    let lines = texts(&md("```rust\nfn main() {}\n```", 76));
    assert!(lines[0].trim_end().ends_with("rust"));
    // An unknown language is still shown, verbatim.
    let lines = texts(&md("```klingon\nQapla'  !\n```", 76));
    assert!(lines[0].trim_end().ends_with("klingon"));
    assert_eq!(lines[1], "  Qapla'  !  ");
}

#[test]
fn diagram_kept_verbatim() {
    let seventeen = slide(17);
    let layout = layout_slide(seventeen, 76, &dark());
    let lines = texts(&layout);
    let source: Vec<&str> = seventeen.blocks[0].source.lines().collect();
    let inner = source.iter().map(|l| str_width(l)).max().unwrap();
    assert_eq!(lines.len(), source.len() + 2);
    for (line, src) in lines[1..].iter().zip(&source) {
        assert_eq!(*line, format!("  {src:<inner$}  "));
    }
    // Verbatim means one colour: no highlighting.
    let theme = dark();
    for line in &layout.lines {
        for span in &line.spans {
            assert!(span.style.fg.is_none() || span.style.fg == Some(theme.text));
        }
    }
}

#[test]
fn tabs_and_control_characters() {
    let lines = texts(&md("```\na\tb\n\tc\n```", 40));
    assert_eq!(lines[1].trim_end(), "  a   b");
    assert_eq!(lines[2].trim_end(), "      c");
    let layout = md("esc \u{1b}[31m here\n\n```\n\u{1b}[2J\u{7}\n```", 40);
    let text = layout.plain_text();
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains('␛'));
}

#[test]
fn wide_code_is_clipped_with_notice() {
    let code = format!("```\n{}\nshort\n```", "x".repeat(120));
    let layout = md(&code, 96);
    assert_eq!(layout.width, 96);
    assert_eq!(
        layout.notices,
        ["code block clipped: 120 columns wide, 94 visible"]
    );
    let lines = texts(&layout);
    assert!(lines[1].ends_with("› "), "{:?}", lines[1]);
    assert!(!lines[2].contains('›'));
    // At a comfortable width, nothing is clipped.
    let layout = md(&code, 130);
    assert!(layout.notices.is_empty());
    assert_eq!(layout.width, 124);
}

#[test]
fn reference_deck_fits_76_without_clipping() {
    let theme = dark();
    for s in &deck().slides {
        let layout = layout_slide(s, 76, &theme);
        assert!(
            layout.notices.is_empty(),
            "slide {}: {:?}",
            s.number,
            layout.notices
        );
    }
    // Slide 54 is 71 columns of code: clipped on a narrow terminal.
    let layout = layout_slide(slide(54), 60, &theme);
    assert_eq!(layout.notices.len(), 1, "{:?}", layout.notices);
}

// ---------------------------------------------------------------- colour off

#[test]
fn no_color_uses_modifiers_only() {
    let theme = dark().without_color();
    for n in [1, 3, 4, 12, 17, 20] {
        let layout = layout_slide(slide(n), 76, &theme);
        for span in layout.lines.iter().flat_map(|l| l.spans.iter()) {
            for c in [span.style.fg, span.style.bg].into_iter().flatten() {
                assert_eq!(c, Color::Reset, "slide {n}: {span:?}");
            }
        }
    }
    let layout = layout_markdown("# T\n\nuse `await`", 40, &theme);
    let title = layout.lines[0]
        .spans
        .iter()
        .find(|s| s.content == "T")
        .unwrap();
    assert!(title.style.add_modifier.contains(Modifier::BOLD));
    let code = layout.lines[3]
        .spans
        .iter()
        .find(|s| s.content == "await")
        .unwrap();
    assert!(code.style.add_modifier.contains(Modifier::REVERSED));
}

// ---------------------------------------------------------------- robustness

#[test]
fn empty_and_blank_slides() {
    for text in ["", "\n\n", "   \n", "<!-- speaker note -->\n"] {
        let layout = md(text, 80);
        assert!(
            layout.lines.is_empty(),
            "{text:?}: {:?}",
            layout.plain_text()
        );
        assert_eq!(layout.width, 0);
    }
    assert!(layout_markdown("# x", 0, &dark()).lines.is_empty());
}

#[test]
fn huge_line_is_fast_and_safe() {
    warm_up();
    let long = "x".repeat(100_000);
    let cjk = "漢".repeat(100_000);
    let words = "word ".repeat(20_000);
    for text in [
        long.clone(),
        cjk.clone(),
        words,
        format!("```\n{long}\n```"),
        format!("```python\n{long}\n```"),
        format!("```exec\nx = '{cjk}'\n```"),
        format!("> - {long}"),
    ] {
        let start = Instant::now();
        let layout = md(&text, 96);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "{took:?} for {}",
            &text[..20]
        );
        assert!(!layout.lines.is_empty());
    }
}

#[test]
fn weird_markdown_does_not_panic() {
    let deep_quote = format!("{} deep", ">".repeat(300));
    let deep_list: String = (0..100)
        .map(|i| format!("{}- level {i}\n", "  ".repeat(i)))
        .collect();
    let cases = [
        "[",
        "]()",
        "![alt](img.png)",
        "<div>\nraw\n</div>",
        "|a|b|\n|-|-|\n|1|2|",
        "* * *",
        "```",
        "```exec",
        "~~~\nunclosed tilde",
        "    indented code\n\tand tab",
        "1. \n2.",
        "- ",
        ">",
        "#",
        "######",
        "a\r\nb",
        "\u{feff}bom",
        "\u{200d}\u{301}",
        "e\u{301}\u{301}\u{301}",
        "🇩🇪🇫🇷 👨‍👩‍👧 ❤\u{fe0f}",
        "[x]: http://y\n[x]",
        "***",
        "__a__b__",
        "\u{0}\u{1}\u{7f}\u{9b}",
        "```\n```",
        "<!-- a",
        "- a\n\n  b\n\n- c",
        &deep_quote,
        &deep_list,
    ];
    for text in cases {
        for width in [1, 2, 3, 5, 10, 40, 200] {
            md(text, width);
        }
    }
}

/// Found while fuzzing: markdown nests as deep as it is long. 30 000 levels of `- ` or `> `
/// (60 KB) overflowed the stack in the layout's recursion, and a paragraph under 1000 levels
/// (4 KB) took a second per layout at any width (each of its rows carried a prefix span per
/// level, inserted at the front: cubic). Levels beyond `MAX_NESTING` are laid out at that level.
#[test]
fn absurdly_deep_nesting_is_bounded() {
    let cases = [
        "- ".repeat(100_000) + "x",
        "> ".repeat(100_000) + "x",
        "> 1. ".repeat(40_000) + "x",
        "- ".repeat(1000) + "x" + &" y".repeat(1000),
        "> ".repeat(1000) + "x\n" + &"y\n".repeat(1000),
    ];
    for text in &cases {
        for width in [1, 80, 200] {
            let start = Instant::now();
            let layout = md(text, width);
            let took = start.elapsed();
            assert!(
                took < Duration::from_secs(2),
                "{took:?} for {:?} at {width}",
                &text[..12]
            );
            assert!(!layout.lines.is_empty());
        }
    }
}

#[test]
fn nesting_beyond_the_limit_is_shown_at_the_limit() {
    let limit = super::markdown::MAX_NESTING;
    for (level, text) in [("- ", "x"), ("> ", "x"), ("1. ", "x\n\n  y")] {
        let at_limit = texts(&md(&(level.repeat(limit) + text), 200));
        let beyond = texts(&md(&(level.repeat(limit + 7) + text), 200));
        assert_eq!(beyond, at_limit, "{level:?}");
        assert!(at_limit[0].trim_end().ends_with('x'), "{at_limit:?}");
    }
    // Up to the limit each level adds its bar ("▌ "), then no more.
    let width = |levels: usize| md(&("> ".repeat(levels) + "x"), 200).width;
    assert_eq!(width(limit), width(limit - 1) + 2);
    assert_eq!(width(limit + 1), width(limit));
}

#[test]
fn whole_deck_at_every_width() {
    let themes = [
        dark(),
        Theme::load("light").unwrap(),
        dark().without_color(),
    ];
    for s in &deck().slides {
        for width in (0..=130).step_by(3) {
            for theme in &themes {
                let layout = layout_slide(s, width, theme);
                check(&layout, width);
            }
        }
    }
}

#[test]
fn layout_timing() {
    let theme = dark();
    let start = Instant::now();
    let first = layout_slide(slide(1), 116, &theme);
    let cold = start.elapsed();
    std::hint::black_box(first);
    let start = Instant::now();
    warm_up();
    let warm = start.elapsed();
    assert!(is_warm());
    if std::env::var_os("LAYOUT_TIMING").is_some() {
        // Only meaningful when this test runs alone (other tests may have warmed up already).
        eprintln!("slide 1 before warm-up: {cold:?}; warm_up: {warm:?}");
    }
    let mut worst = (Duration::ZERO, 0);
    let mut total = Duration::ZERO;
    for s in &deck().slides {
        for width in [76, 116] {
            let start = Instant::now();
            let layout = layout_slide(s, width, &theme);
            let took = start.elapsed();
            std::hint::black_box(layout);
            if std::env::var_os("LAYOUT_TIMING").is_some() {
                eprintln!("slide {:2} width {width}: {took:?}", s.number);
            }
            total += took;
            worst = worst.max((took, s.number));
        }
    }
    eprintln!(
        "layout_slide: {} layouts in {total:?}, slowest slide {} took {:?}",
        deck().slides.len() * 2,
        worst.1,
        worst.0
    );
    assert!(worst.0 < Duration::from_millis(100), "{worst:?}");
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshots_reference_deck() {
    let theme = dark();
    for n in [1, 3, 9, 12, 17] {
        for width in [76, 116] {
            let layout = layout_slide(slide(n), width, &theme);
            check(&layout, width);
            insta::assert_snapshot!(format!("slide{n:02}_w{width}"), snapshot_text(&layout));
        }
    }
    // Narrow screens: a wrapped quote, a list wrapped with hanging indents, clipped code.
    for (n, width) in [(4, 40), (15, 40), (54, 60)] {
        let layout = layout_slide(slide(n), width, &theme);
        check(&layout, width);
        let notices = layout.notices.join("\n");
        insta::assert_snapshot!(
            format!("slide{n:02}_w{width}"),
            format!("{}\nnotices: {notices}", snapshot_text(&layout))
        );
    }
}

#[test]
fn drawn_box_fills_its_width_with_wide_characters() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::widgets::{Paragraph, Widget};

    let theme = dark();
    let text = "```\nಠ_ಠ\n漢字 ok\n🎉 x\n```";
    let layout = layout_markdown(text, 40, &theme);
    let area = Rect::new(0, 0, layout.width, layout.height());
    let mut buf = Buffer::empty(area);
    Paragraph::new(layout.lines.clone()).render(area, &mut buf);
    for y in 0..area.height {
        for x in 0..area.width {
            // ratatui resets the cell hidden under the right half of a wide character.
            let hidden = x > 0 && str_width(buf[(x - 1, y)].symbol()) == 2;
            if !hidden {
                assert_eq!(buf[(x, y)].bg, theme.code_bg, "cell {x},{y}");
            }
        }
        // The last cell of every row is box padding: nothing spilled over or fell short.
        assert_eq!(buf[(area.width - 1, y)].symbol(), " ");
    }
    assert_eq!(buf[(2, 1)].symbol(), "ಠ");
    assert_eq!(buf[(4, 1)].symbol(), "ಠ");
}
