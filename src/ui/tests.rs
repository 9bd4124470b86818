//! Whole frames drawn into ratatui's TestBackend and compared as text snapshots; colours that
//! carry meaning (task colours, headings) are asserted explicitly.

use crate::app::tests::reference_app;
use crate::app::{App, Msg};
use crate::kernel::pool::KernelMsg;
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

fn frame(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::draw(app, f)).unwrap();
    t.backend().buffer().clone()
}

fn text(app: &App, w: u16, h: u16) -> String {
    super::buffer_text(&frame(app, w, h), false)
}

macro_rules! slide_snapshots {
    ($($name:ident: $slide:expr,)*) => {$(
        #[test]
        fn $name() {
            let app = reference_app($slide);
            insta::assert_snapshot!(concat!(stringify!($name), "_80x24"), text(&app, 80, 24));
            insta::assert_snapshot!(concat!(stringify!($name), "_120x40"), text(&app, 120, 40));
        }
    )*};
}

slide_snapshots! {
    title_slide: 1,
    list_slide: 3,
    quote_slide: 4,
    look_of_disapproval_slide: 9,
    exec_slide: 12,
    ascii_diagram_slide: 17,
}

#[test]
fn every_reference_slide_fits_without_panicking() {
    let mut app = reference_app(1);
    for i in 0..app.deck.slides.len() {
        app.current = i;
        for (w, h) in [(80, 24), (120, 40), (40, 12), (10, 3)] {
            let t = text(&app, w, h);
            assert_eq!(t.lines().count(), h as usize);
        }
    }
}

#[test]
fn ascii_diagram_keeps_every_space() {
    let app = reference_app(17);
    let t = text(&app, 80, 24);
    for line in app.deck.slides[16].blocks[0].source.lines() {
        if !line.trim().is_empty() {
            assert!(t.contains(line.trim_end()), "{line:?} missing in\n{t}");
        }
    }
}

#[test]
fn heading_uses_the_heading_colour_and_bold() {
    let app = reference_app(1);
    let buf = frame(&app, 80, 24);
    let area = buf.area;
    let cell = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "T" && buf[(x + 1, y)].symbol() == "r")
        .map(|p| buf[p].clone())
        .expect("title drawn");
    assert_eq!(cell.fg, app.theme.heading);
    assert!(cell.modifier.contains(ratatui::style::Modifier::BOLD));
}

/// A short run of slide 12 as the harness reports it (recorded from a real run).
fn recorded_run(app: &mut App) {
    app.update(Msg::RunStarted {
        slide: 12,
        result: Ok(1),
    });
    let events = [
        r#"{"ev":"info","t":0.0008,"text":"running main()"}"#,
        r#"{"ev":"task","id":1,"name":"main()","nursery":null,"parent":null,"t":0.0012}"#,
        r#"{"ev":"task","id":2,"name":"sleepy(0)","nursery":1,"parent":1,"t":0.0014}"#,
        r#"{"ev":"task","id":3,"name":"sleepy(1)","nursery":1,"parent":1,"t":0.0015}"#,
        r#"{"ev":"out","stream":"stdout","t":0.0016,"task":1,"text":"Started all tasks\n"}"#,
        r#"{"ev":"out","stream":"stdout","t":0.0017,"task":2,"text":"Sleeping for 0 seconds\n"}"#,
        r#"{"ev":"out","stream":"stdout","t":0.0018,"task":3,"text":"Sleeping for 1 seconds\n"}"#,
        r#"{"ev":"out","stream":"stdout","t":0.0021,"task":2,"text":"Slept 0 seconds\n"}"#,
        r#"{"ev":"out","stream":"stdout","t":1.0019,"task":3,"text":"Slept 1 seconds\n"}"#,
        r#"{"ev":"out","stream":"stdout","t":1.0023,"task":1,"text":"All done\n"}"#,
        r#"{"ev":"done","status":"ok","t":1.0025}"#,
    ];
    for e in events {
        let ev = Event::parse(e).unwrap();
        app.update(Msg::Kernel(KernelMsg::Child(1, ChildMsg::Event(ev))));
    }
}

#[test]
fn output_pane_after_a_run() {
    let mut app = reference_app(12);
    recorded_run(&mut app);
    insta::assert_snapshot!("output_pane_100x30", text(&app, 100, 30));
    insta::assert_snapshot!("output_pane_80x24", text(&app, 80, 24));
}

#[test]
fn each_task_has_its_own_stable_colour() {
    let mut app = reference_app(12);
    recorded_run(&mut app);
    let buf = frame(&app, 100, 30);
    let colour_of = |label: &str| {
        let area = buf.area;
        // From the bottom: the slide's own code above also says `main()`.
        (0..area.height)
            .rev()
            .find_map(|y| {
                let row: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
                row.find(label).map(|col| {
                    let x = row[..col].chars().count() as u16;
                    buf[(x, y)].fg
                })
            })
            .unwrap_or_else(|| panic!("{label} not drawn"))
    };
    let main = colour_of("main()");
    let s0 = colour_of("sleepy(0)");
    let s1 = colour_of("sleepy(1)");
    assert_eq!(main, app.theme.task_color(0));
    assert_eq!(s0, app.theme.task_color(1));
    assert_eq!(s1, app.theme.task_color(2));
    assert!(main != s0 && s0 != s1);
}

#[test]
fn tall_slide_shows_a_scroll_indicator() {
    let mut app = reference_app(54);
    let t = text(&app, 80, 14);
    assert!(t.contains("more (j)"), "{t}");
    app.scroll = 100;
    let t = text(&app, 80, 14);
    assert!(t.contains("▲"), "{t}");
    assert!(t.contains("return"), "scrolled to the end:\n{t}");
}

#[test]
fn client_pane_shows_transcript_state_and_typing_mode() {
    use crate::net::ClientEvent;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = reference_app(53);
    app.update(Msg::RunStarted {
        slide: 53,
        result: Ok(9),
    });
    let ev =
        Event::parse(r#"{"ev":"listen","t":0.01,"host":"127.0.0.1","port":1234,"family":"ipv4"}"#)
            .unwrap();
    app.update(Msg::Kernel(KernelMsg::Child(9, ChildMsg::Event(ev))));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::NONE,
    )));
    app.update(Msg::Client(1, ClientEvent::Connected));
    for c in "hello".chars() {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    app.update(Msg::Client(1, ClientEvent::Data(b"hello\n".to_vec())));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('w'),
        KeyModifiers::NONE,
    )));
    let t = text(&app, 120, 40);
    assert!(t.contains("client 1 → 127.0.0.1:1234 · connected"), "{t}");
    assert!(t.contains("> hello") && t.contains("< hello"), "{t}");
    assert!(t.contains("› w"), "input line shows typing: {t}");
    assert!(t.contains("typing into client 1"), "mode is obvious: {t}");
    assert!(t.contains("loopback only"), "{t}");
    assert!(t.contains("listening on 127.0.0.1:1234"), "{t}");
}

/// A deck with hidden set-up code, as a workshop might hand out.
fn hidden_deck_app() -> App {
    let deck = crate::deck::Deck::parse(
        std::path::Path::new("workshop.md"),
        "# Workshop\n\n```exechidden\nimport os\nos.system(\"echo hi\")\n```\n====\n# Demo\n\n```exec\nprint(1)\n```\n",
    )
    .unwrap();
    App::new(deck, crate::theme::Theme::load("dark").unwrap(), 2)
}

#[test]
fn consent_prompt_summarises_and_shows_hidden_code() {
    let mut app = hidden_deck_app();
    app.consent = Some(crate::app::consent::ConsentPrompt::new(2));
    let summary = text(&app, 80, 24);
    insta::assert_snapshot!("consent_prompt_80x24", summary);
    assert!(summary.contains("1 hidden block (exechidden) on slide 1"));
    app.consent.as_mut().unwrap().view_hidden = true;
    let hidden = text(&app, 80, 24);
    assert!(hidden.contains("slide 1, line 4:"), "{hidden}");
    assert!(hidden.contains("os.system(\"echo hi\")"));
    // Hidden code is drawn in the prompt only, never on the slide.
    app.consent = None;
    app.current = 0;
    assert!(!text(&app, 80, 24).contains("os.system"));
}

/// Found while fuzzing: a slide of 65534 rows (a long code block) overflowed the `u16` row
/// count when a run's output pane had to share the screen with it, and more than 65535 rows
/// wrapped around (the slide claimed to have a few rows and could not be scrolled).
#[test]
fn slide_taller_than_u16_rows_draws() {
    for code_lines in [65532, 65534, 70000] {
        let markdown = format!("```\n{}```\n", "x\n".repeat(code_lines));
        let deck = crate::deck::Deck::parse(std::path::Path::new("tall.md"), &markdown).unwrap();
        let mut app = App::new(deck, crate::theme::Theme::load("dark").unwrap(), 1);
        let t = text(&app, 80, 24);
        assert!(t.contains("more (j)"), "{code_lines}: {t}");
        app.scroll = u16::MAX;
        let t = text(&app, 80, 24);
        assert!(
            t.contains("▲ k") && !t.contains("more (j)"),
            "{code_lines}: {t}"
        );
        app.scroll = 0;
        app.outputs
            .insert(1, crate::app::output::RunOutput::new(1, 1));
        let t = text(&app, 80, 24);
        assert_eq!(t.lines().count(), 24);
    }
}

/// The status row of a frame.
fn status_row(app: &App, w: u16, h: u16) -> String {
    text(app, w, h).lines().last().unwrap().to_string()
}

/// Slide 53 running its echo server, with a client typed into, as on stage.
fn echo_app_with_client() -> App {
    use crate::net::ClientEvent;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let mut app = reference_app(53);
    app.update(Msg::RunStarted {
        slide: 53,
        result: Ok(9),
    });
    let ev =
        Event::parse(r#"{"ev":"listen","t":0.01,"host":"127.0.0.1","port":1234,"family":"ipv4"}"#)
            .unwrap();
    app.update(Msg::Kernel(KernelMsg::Child(9, ChildMsg::Event(ev))));
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('c'))));
    app.update(Msg::Client(1, ClientEvent::Connected));
    app.kernel = crate::app::KernelState::Ready {
        python: "3.11.2".into(),
        trio: "0.35.0".into(),
    };
    app
}

/// At 100 columns with a client open, the bar used to cut `loopback only` and `? help` into
/// `loopback on ? help`: whole items go instead, the least useful first.
#[test]
fn status_bar_drops_whole_items_when_narrow() {
    let app = echo_app_with_client();
    let wide = status_row(&app, 200, 30);
    let items = [
        "Trio",
        "53 / 57",
        "typing into client 1",
        "· Esc back to slides",
        "loopback only",
        "running",
        "Esc stops",
        "py 3.11.2 · trio 0.35.0",
        "? help",
        "00:00",
    ];
    for item in items {
        assert!(wide.contains(item), "{item} missing at 200 columns: {wide}");
    }
    for w in (20..=200).rev() {
        let row = status_row(&app, w, 30);
        // An item is on the row whole or not at all. Below 64 columns the items that are never
        // dropped (slide number, client, run state) no longer fit and are clipped at the edge.
        for item in items {
            let first = item.split_whitespace().next().unwrap();
            let whole = row.contains(item) || !row.contains(&format!("{first} "));
            let kept = ["53 / 57", "typing into client 1", "running", "Esc stops"];
            assert!(
                whole || (w < 64 && kept.contains(&item)),
                "{item} cut at {w}: {row:?}"
            );
        }
        // What matters on stage stays longest: where keys go and the run state.
        if w >= 64 {
            assert!(row.contains("typing into client 1"), "{w}: {row:?}");
            assert!(row.contains("● running 0.0 s  Esc stops"), "{w}: {row:?}");
        }
    }
    insta::assert_snapshot!("status_bar_client_100", status_row(&app, 100, 30));
    insta::assert_snapshot!("status_bar_client_80", status_row(&app, 80, 30));
}

#[test]
fn a_long_notice_is_shortened_not_cut_mid_item() {
    let mut app = reference_app(12);
    app.notice = Some("reload failed, showing the last good deck: line 3: unclosed fence".into());
    let row = status_row(&app, 80, 24);
    assert!(row.contains("12 / 57"), "{row}");
    assert!(row.contains('…'), "{row}");
    assert!(row.contains("reload failed"), "{row}");
}

/// `h` in the consent prompt shows the hidden code in a box sized from its widest line and its
/// line count: a line of 65,532+ cells or 65,534+ lines overflowed the `u16` sums (a panic in
/// a debug build, a wrong box in a release build).
#[test]
fn hidden_code_wider_or_longer_than_u16_draws() {
    let cases = [
        (65_532, 1),
        (65_535, 1),
        (70_000, 2),
        (3, 65_534),
        (3, 70_000),
    ];
    for (cells, lines) in cases {
        let line = format!("{}\n", "x".repeat(cells));
        let markdown = format!(
            "# Workshop\n\n```exechidden\n{}```\n====\n# Demo\n\n```exec\nprint(1)\n```\n",
            line.repeat(lines)
        );
        let deck = crate::deck::Deck::parse(std::path::Path::new("huge.md"), &markdown).unwrap();
        let mut app = App::new(deck, crate::theme::Theme::load("dark").unwrap(), 2);
        let mut prompt = crate::app::consent::ConsentPrompt::new(2);
        prompt.view_hidden = true;
        for scroll in [0, 100, u16::MAX] {
            prompt.scroll = scroll;
            app.consent = Some(prompt.clone());
            for (w, h) in [(80, 24), (10, 3)] {
                let t = text(&app, w, h);
                assert_eq!(t.lines().count(), usize::from(h), "{cells}x{lines}");
                if w == 80 {
                    // The box is as tall as the screen when the code is longer, as wide when
                    // a line is wider.
                    let rows: Vec<&str> = t.lines().collect();
                    let top = rows.iter().position(|r| r.contains('╭')).expect("a box");
                    if lines > 24 {
                        assert!(top == 0 && rows[23].contains('╰'), "{t}");
                    }
                    if cells > 80 {
                        assert!(rows[top].starts_with('╭') && rows[top].ends_with('╮'));
                    }
                }
            }
        }
    }
}

#[test]
fn help_overlay_lists_every_key_on_a_small_screen_too() {
    for (w, h) in [(80, 24), (200, 24), (100, 30)] {
        let mut app = reference_app(1);
        app.help = true;
        let t = text(&app, w, h);
        for (keys, what) in app.keymap.help() {
            // On a small screen a long description is shortened; its keys never are.
            let start: String = what.chars().take(8).collect();
            assert!(
                t.contains(&keys) && t.contains(&start),
                "{w}x{h}: {keys} / {what} missing\n{t}"
            );
        }
    }
}

/// The first frame of a deck opened in parts (only its first slides, see `Deck::open`) shows
/// no count and an empty bar; the whole deck brings the count, and a warning from its end.
#[test]
fn a_deck_opened_in_parts_is_counted_once_whole() {
    let path = std::path::Path::new("big.md");
    let text = format!("# Big\n\nfirst\n{}", "\n====\n## more\n".repeat(40));
    let partial = || {
        let mut head = crate::deck::Deck::parse(path, "# Big\n\nfirst\n").unwrap();
        head.partial = true;
        App::new(head, crate::theme::Theme::load("dark").unwrap(), 1)
    };
    let mut app = partial();
    let first = text_of_status(&app);
    assert!(first.contains(" 1 / … "), "{first}");
    assert!(first.contains(&"░".repeat(12)), "{first}");
    app.complete_deck(crate::deck::Deck::parse(path, &text).unwrap());
    let then = text_of_status(&app);
    assert!(then.contains(" 1 / 41 █░░░░░░░░░░░"), "{then}");

    let mut app = partial();
    let fence = format!("{text}\n====\n```exec\nprint(1)\n");
    app.complete_deck(crate::deck::Deck::parse(path, &fence).unwrap());
    let then = text_of_status(&app);
    assert!(
        then.contains(" 1 / 42 ") && then.contains("unclosed code fence"),
        "the warning from the deck's end is shown: {then}"
    );
}

/// The bottom line of a 100x20 frame.
fn text_of_status(app: &App) -> String {
    text(app, 100, 20).lines().last().unwrap().to_string()
}

/// The slides beside the current one are laid out at the width a frame draws them at: paging
/// to one lays out nothing more.
#[test]
fn warmed_neighbours_are_the_layouts_the_next_frame_uses() {
    let mut app = reference_app(12);
    for (w, h) in [(100, 30), (160, 45)] {
        frame(&app, w, h);
        let before = app.cached_layouts();
        super::warm_neighbours(&app, ratatui::layout::Rect::new(0, 0, w, h));
        assert_eq!(app.cached_layouts(), before + 2);
        for index in [app.current + 1, app.current - 1] {
            app.current = index;
            frame(&app, w, h);
            assert_eq!(app.cached_layouts(), before + 2, "slide {}", index + 1);
        }
        app.current = 11;
    }
    // The last slide has no next one.
    let last = reference_app(57);
    super::warm_neighbours(&last, ratatui::layout::Rect::new(0, 0, 100, 30));
    assert_eq!(last.cached_layouts(), 1);
}
