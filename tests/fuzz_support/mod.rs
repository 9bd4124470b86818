//! What one fuzz case checks, shared by the property tests (`tests/fuzz.rs`) and the
//! coverage-guided target (`fuzz/fuzz_targets/deck_render.rs`, which includes this file by
//! path), so both hold the parser, the layout and the frame draw to the same invariants.
//!
//! A case is the raw bytes of a deck file. It goes through `Deck::from_bytes` (what
//! `Deck::load` does after reading), `split_slides`, the layout of every slide at tiny to wide
//! widths, and a full-frame draw of every slide through the `App`, as `ui::draw` does it on a
//! terminal, bare and under each overlay (help, the consent prompt and its hidden-code view,
//! client panes fed the deck's text). Anything that panics, breaks an invariant or takes
//! longer than the budget fails.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use trio_present::app::clients::{self, ClientPane};
use trio_present::app::consent::ConsentPrompt;
use trio_present::app::output::RunOutput;
use trio_present::app::App;
use trio_present::deck::{split_slides, Deck, DeckError, Slide};
use trio_present::net::ClientEvent;
use trio_present::render::{layout_markdown, layout_slide, str_width, SlideLayout};
use trio_present::theme::Theme;
use trio_present::ui::render_frame;

/// Layout widths, from absurdly narrow to wider than any running text.
pub const WIDTHS: [u16; 6] = [1, 2, 5, 10, 80, 200];
/// Terminal sizes for the frame draw: below the "window too small" limit, tiny, usual, large.
pub const SIZES: [(u16, u16); 5] = [(9, 2), (10, 3), (40, 10), (80, 24), (120, 40)];
/// How long laying out one slide at one width, or drawing one frame, may take. Generous on
/// purpose: a debug build on a busy 2-core CI machine; real hangs or quadratic blow-ups on a
/// fuzz-sized input take far longer.
pub const STEP_BUDGET: Duration = Duration::from_secs(2);

/// Runs `f`, failing when it takes longer than [`STEP_BUDGET`]; `what` names the step.
fn timed<T>(what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took <= STEP_BUDGET, "{} took {took:?}", what());
    out
}

/// Everything one case goes through; panics (with the step named) on a broken invariant.
pub fn exercise(bytes: &[u8]) {
    let path = Path::new("fuzz.md");
    // Invalid UTF-8 is refused with the offset of the first bad byte; the rest of the pipeline
    // then sees the lossy text, as if the speaker had fixed the encoding.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(e) => {
            match Deck::from_bytes(path, bytes) {
                Err(DeckError::NotUtf8(_, offset)) => assert_eq!(offset, e.valid_up_to()),
                other => panic!("invalid UTF-8 accepted: {other:?}"),
            }
            String::from_utf8_lossy(bytes)
        }
    };
    let slides = check_split(&text);
    let deck = match Deck::parse(path, &text) {
        Ok(deck) => {
            assert_eq!(deck.slides, slides, "Deck::parse and split_slides disagree");
            assert!(!deck.title.trim().is_empty(), "empty title");
            if matches!(text, std::borrow::Cow::Borrowed(_)) {
                let from_bytes = Deck::from_bytes(path, bytes).expect("valid UTF-8 deck");
                assert_eq!(from_bytes, deck);
            }
            Some(deck)
        }
        Err(DeckError::Empty(_)) => {
            assert!(
                slides
                    .iter()
                    .all(|s| s.markdown.trim().is_empty() && s.blocks.is_empty()),
                "a deck with content was called empty"
            );
            None
        }
        Err(e) => panic!("unexpected error for text: {e}"),
    };

    let dark = Theme::load("dark").expect("built-in theme");
    let plain = dark.clone().without_color();
    for slide in &slides {
        for width in WIDTHS {
            let layout = timed(
                || format!("layout of slide {} at width {width}", slide.number),
                || layout_slide(slide, width, &dark),
            );
            check_layout(&layout, width);
        }
        // Without colour, code is not highlighted and marks become modifiers: another path.
        let layout = timed(
            || format!("no-colour layout of slide {}", slide.number),
            || layout_slide(slide, 80, &plain),
        );
        check_layout(&layout, 80);
    }
    // The renderer must also survive markdown the splitter never hands it (`====` lines as
    // setext headings, the whole deck at once).
    for width in [0, 3, 80] {
        let layout = timed(
            || format!("layout of the unsplit text at width {width}"),
            || layout_markdown(&text, width, &dark),
        );
        check_layout(&layout, width);
    }

    if let Some(deck) = deck {
        check_frames(deck, dark);
    }
}

/// Splits the text and checks the slides' numbering, positions and blocks.
pub fn check_split(text: &str) -> Vec<Slide> {
    let (slides, warnings) = timed(|| "split_slides".into(), || split_slides(text));
    assert!(!slides.is_empty(), "no slides");
    let lines = text.split('\n').count();
    let mut unclosed = 0;
    for (i, slide) in slides.iter().enumerate() {
        assert_eq!(slide.number, i + 1, "slide numbers");
        // A slide's text spans its markdown's lines; the next slide starts after the `====`.
        let own_lines = slide.markdown.matches('\n').count() + 1;
        if let Some(next) = slides.get(i + 1) {
            assert!(
                slide.markdown.is_empty() || slide.markdown.ends_with('\n'),
                "slide {} text",
                slide.number
            );
            assert_eq!(
                next.first_line,
                slide.first_line + own_lines,
                "slide {} starts where slide {} ends",
                next.number,
                slide.number
            );
        }
        assert!(slide.first_line >= 1 && slide.first_line <= lines + 1);
        for block in &slide.blocks {
            assert_eq!(block.slide, slide.number, "block slide number");
            assert!(
                (1..=slides.len()).contains(&block.slide),
                "block slide number in range"
            );
            assert!(
                block.fence_line >= slide.first_line
                    && block.fence_line < slide.first_line + own_lines,
                "block at line {} outside slide {} (lines {}..{})",
                block.fence_line,
                slide.number,
                slide.first_line,
                slide.first_line + own_lines
            );
            assert!(block.source.is_empty() || block.source.ends_with('\n'));
            if block.unclosed {
                unclosed += 1;
                assert_eq!(slide.number, slides.len(), "unclosed fence before the end");
            }
        }
        let mut fence_lines: Vec<usize> = slide.blocks.iter().map(|b| b.fence_line).collect();
        fence_lines.dedup();
        assert_eq!(fence_lines.len(), slide.blocks.len(), "blocks out of order");
        assert!(slide
            .blocks
            .windows(2)
            .all(|w| w[0].fence_line < w[1].fence_line));
    }
    assert!(slides.windows(2).all(|w| w[0].first_line < w[1].first_line));
    assert_eq!(warnings.len(), unclosed, "one warning per unclosed fence");
    slides
}

/// The invariants the UI relies on: nothing wider than asked, the width field telling the
/// truth, and no control character that could reach the terminal.
pub fn check_layout(layout: &SlideLayout, width: u16) {
    let widest = layout.lines.iter().map(|l| l.width()).max().unwrap_or(0);
    assert_eq!(
        usize::from(layout.width),
        widest,
        "layout.width is not the widest line"
    );
    assert!(
        widest <= usize::from(width),
        "a line is {widest} cells wide at width {width}:\n{}",
        layout.plain_text()
    );
    if width == 0 {
        assert!(layout.lines.is_empty(), "lines at width 0");
    }
    for line in &layout.lines {
        for span in &line.spans {
            assert!(
                !span.content.chars().any(char::is_control),
                "control character in {:?}",
                span.content
            );
        }
    }
}

/// Draws every slide, at every size, as the presenter would; scrolled to the top and as far
/// down as it goes; and with the output pane of a run (which takes its rows from the slide's).
pub fn check_frames(deck: Deck, theme: Theme) {
    let mut app = App::new(deck, theme, 1);
    for index in 0..app.deck.slides.len() {
        app.current = index;
        app.scroll = 0;
        let number = index + 1;
        app.outputs.insert(number, RunOutput::new(number, 1));
        for (w, h) in [SIZES[2], SIZES[3], SIZES[4]] {
            let frame = timed(
                || format!("frame of slide {number} with output at {w}x{h}"),
                || render_frame(&app, w, h, false),
            );
            check_frame(&frame, w, h);
        }
        check_overlays(&mut app, number);
        app.outputs.clear();
        // Scrolled past the end: the draw must clamp it. One size is enough for that.
        let scrolled = [(0, &SIZES[..]), (u16::MAX, &SIZES[2..3])];
        for (scroll, sizes) in scrolled {
            app.scroll = scroll;
            for &(w, h) in sizes {
                let frame = timed(
                    || format!("frame of slide {} at {w}x{h}", index + 1),
                    || render_frame(&app, w, h, false),
                );
                check_frame(&frame, w, h);
            }
        }
    }
}

/// The overlays over slide `number` (whose run output is shown): help, the consent prompt (the
/// summary, then the hidden code scrolled from the top to past the end), and client panes
/// whose transcripts and input are the deck's own text. The app is left without overlays.
fn check_overlays(app: &mut App, number: usize) {
    let sizes = [SIZES[1], SIZES[2], SIZES[3]];
    let draw_all = |app: &App, what: &str| {
        for (w, h) in sizes {
            let frame = timed(
                || format!("frame of slide {number} with {what} at {w}x{h}"),
                || render_frame(app, w, h, false),
            );
            check_frame(&frame, w, h);
        }
    };
    app.help = true;
    draw_all(app, "help");
    app.help = false;

    let mut prompt = ConsentPrompt::new(number);
    app.consent = Some(prompt.clone());
    draw_all(app, "the consent prompt");
    prompt.view_hidden = true;
    for scroll in [0, 3, u16::MAX] {
        prompt.scroll = scroll;
        app.consent = Some(prompt.clone());
        draw_all(app, &format!("the hidden code scrolled by {scroll}"));
    }
    app.consent = None;

    // Client panes show what a demo server sends back: arbitrary bytes, here the deck's.
    let text = app.deck.slides[number - 1].markdown.clone();
    app.clients = (1..=3)
        .map(|id| {
            let mut pane = ClientPane::new(id, format!("127.0.0.1:{}", 1000 + id));
            pane.apply(ClientEvent::Connected);
            // Typed (as keys, the way the speaker types) and echoed back, line by line; the
            // last line stays in the input.
            for line in text.lines().take(20) {
                for c in line.chars() {
                    clients::key(&mut pane, KeyEvent::from(KeyCode::Char(c)));
                }
                clients::key(&mut pane, KeyEvent::from(KeyCode::Enter));
                pane.apply(ClientEvent::Data(format!("{line}\n").into_bytes()));
            }
            for c in text.lines().next().unwrap_or_default().chars() {
                clients::key(&mut pane, KeyEvent::from(KeyCode::Char(c)));
            }
            if id == 3 {
                pane.apply(ClientEvent::ClosedByServer);
            }
            pane
        })
        .collect();
    app.clients_slide = number;
    for focus in [None, Some(0), Some(2)] {
        app.client_focus = focus;
        draw_all(app, &format!("client panes, focus {focus:?}"));
    }
    app.client_focus = None;
    app.clients.clear();
}

fn check_frame(frame: &str, w: u16, h: u16) {
    assert_eq!(frame.lines().count(), usize::from(h), "rows in\n{frame}");
    for line in frame.lines() {
        assert!(
            str_width(line) <= usize::from(w),
            "row wider than {w}: {line:?}"
        );
        assert!(
            !line.chars().any(char::is_control),
            "control character drawn: {line:?}"
        );
    }
}
