//! Tests of the task tree, the timeline and the run area's layout: widgets drawn into
//! ratatui's TestBackend from recorded event streams (`src/ui/testdata/*.jsonl`, replayed
//! through `Event::parse`, times rounded to 0.1 s), compared as text snapshots; colours that
//! carry meaning asserted explicitly.

use super::*;
use crate::app::output::RunOutput;
use crate::app::tests::reference_app;
use crate::app::tree::tests::{feed, replay};
use crate::app::Msg;
use crate::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::Terminal;

fn theme() -> Theme {
    Theme::load("dark").unwrap()
}

fn draw_with(w: u16, h: u16, f: impl Fn(&mut Frame, Rect)) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|frame| {
        let area = frame.area();
        f(frame, area)
    })
    .unwrap();
    t.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    crate::ui::buffer_text(buf, false)
}

fn tree_text(out: &RunOutput, w: u16, h: u16) -> String {
    let theme = theme();
    text(&draw_with(w, h, |f, a| tree::draw(&theme, out, f, a)))
}

fn timeline_text(out: &RunOutput, w: u16, h: u16) -> String {
    let theme = theme();
    text(&draw_with(w, h, |f, a| {
        timeline::draw(&theme, out, f, a, false)
    }))
}

/// The app on `slide` with `out` as that slide's run.
fn app_with(slide: usize, mut out: RunOutput) -> App {
    let mut app = reference_app(slide);
    out.slide = slide;
    app.outputs.insert(slide, out);
    app
}

fn screen(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| crate::ui::draw(app, f)).unwrap();
    t.backend().buffer().clone()
}

/// Where `needle` starts in the buffer: (x, y) of its first cell, searching rows from `from_y`.
fn find(buf: &Buffer, needle: &str, from_y: u16) -> Option<(u16, u16)> {
    let area = buf.area;
    (from_y..area.height).find_map(|y| {
        let cells: Vec<&str> = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        let row: String = cells.concat();
        row.find(needle).map(|byte| {
            // Cells up to the byte offset (every cell here is one char).
            let x = cells
                .iter()
                .scan(0, |acc, s| {
                    *acc += s.len();
                    Some(*acc)
                })
                .position(|end| end > byte)
                .unwrap() as u16;
            (x, y)
        })
    })
}

// ---- the tree ---------------------------------------------------------------------------

#[test]
fn tree_of_slide12_after_the_run() {
    let out = replay("slide12.jsonl", None);
    insta::assert_snapshot!("tree_slide12_done", tree_text(&out, 40, 10));
}

#[test]
fn tree_of_slide33_while_starter_is_done_and_the_nursery_open() {
    let out = replay("slide33.jsonl", Some(2.5));
    let t = tree_text(&out, 44, 14);
    insta::assert_snapshot!("tree_slide33_at_2_5s", t);
    // The seven sleepers are siblings of starter (one guide column deep), not its children.
    for line in t.lines().filter(|l| l.contains("sleepy(")) {
        assert!(
            line.starts_with("│    ├─ ") || line.starts_with("│    └─ "),
            "{line}"
        );
    }
    let starter = t.lines().find(|l| l.contains("starter")).unwrap();
    assert!(starter.contains("✔ done"), "{starter}");
    assert!(t.lines().any(|l| l.contains("nursery  open")), "{t}");
}

#[test]
fn tree_of_slide33_after_the_run() {
    let out = replay("slide33.jsonl", None);
    insta::assert_snapshot!("tree_slide33_done", tree_text(&out, 44, 14));
}

#[test]
fn tree_of_slide37_before_and_after_the_deadline() {
    let before = replay("slide37.jsonl", Some(2.0));
    let t = tree_text(&before, 44, 8);
    insta::assert_snapshot!("tree_slide37_at_2s", t);
    let after = replay("slide37.jsonl", None);
    let t = tree_text(&after, 48, 8);
    insta::assert_snapshot!("tree_slide37_done", t);
    assert!(t.contains("✖ cancelled"), "{t}");
    assert!(
        t.contains("⏱ move_on_after(3)  fired 3.00 s · caught"),
        "{t}"
    );
    // Narrower, the scope keeps its call and says less.
    let t = tree_text(&after, 36, 8);
    assert!(t.contains("⏱ move_on_after(3)  caught"), "{t}");
}

#[test]
fn tree_names_carry_the_colour_of_their_output_lines() {
    let app = app_with(12, replay("slide12.jsonl", None));
    let buf = screen(&app, 120, 40);
    let out_top = find(&buf, " output ", 0).unwrap().1;
    let tree_x = find(&buf, " tasks ", out_top).unwrap().0;
    for (name, printed, index) in [
        ("main()", "Started all tasks", 0),
        ("sleepy(0)", "Slept 0", 1),
        ("sleepy(3)", "Slept 3", 4),
    ] {
        // Its label in the output pane (left of the tree) and its node in the tree.
        let label = (out_top..40)
            .find_map(|y| {
                let row: String = (0..tree_x).map(|x| buf[(x, y)].symbol()).collect();
                if !row.contains(printed) {
                    return None;
                }
                row.find(name).map(|b| (row[..b].chars().count() as u16, y))
            })
            .unwrap_or_else(|| panic!("{name} not in the output"));
        let node = (out_top..40)
            .find_map(|y| {
                let row: String = (tree_x..120).map(|x| buf[(x, y)].symbol()).collect();
                row.find(name)
                    .map(|b| (tree_x + row[..b].chars().count() as u16, y))
            })
            .unwrap_or_else(|| panic!("{name} not in the tree"));
        let expected = app.theme.task_color(index);
        assert_eq!(buf[label].fg, expected, "{name} in the output");
        assert_eq!(buf[node].fg, expected, "{name} in the tree");
    }
}

#[test]
fn tree_states_have_their_colours() {
    let theme = theme();
    let out = replay("slide37.jsonl", None);
    let buf = draw_with(44, 8, |f, a| tree::draw(&theme, &out, f, a));
    let (x, y) = find(&buf, "✖ cancelled", 0).unwrap();
    assert_eq!(buf[(x, y)].fg, theme.accent);
    let (x, y) = find(&buf, "✔ done", 0).unwrap();
    assert_eq!(buf[(x, y)].fg, theme.dim);
    let failed = feed(&[
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#,
        r#"{"ev":"task_exit","t":0.5,"id":1,"outcome":"error","error":"ValueError"}"#,
    ]);
    let buf = draw_with(30, 4, |f, a| tree::draw(&theme, &failed, f, a));
    let (x, y) = find(&buf, "✖ ValueError", 0).expect("the exception name");
    assert_eq!(buf[(x, y)].fg, theme.error);
}

#[test]
fn a_tall_tree_folds_finished_tasks_then_cuts() {
    let mut lines = vec![
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#.to_string(),
        r#"{"ev":"nursery","t":0.0,"id":1,"task":1}"#.to_string(),
    ];
    for i in 2..40 {
        lines.push(format!(
            r#"{{"ev":"task","t":0.0,"id":{i},"name":"worker({i})","parent":1,"nursery":1}}"#
        ));
    }
    for i in 2..30 {
        lines.push(format!(
            r#"{{"ev":"task_exit","t":1.0,"id":{i},"outcome":"ok"}}"#
        ));
    }
    lines.push(r#"{"ev":"task_exit","t":1.0,"id":30,"outcome":"cancelled"}"#.into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = feed(&refs);
    let t = tree_text(&out, 40, 9);
    insta::assert_snapshot!("tree_folded", t);
    assert!(t.contains("✔ 28 done · ✖ 1 cancelled"), "{t}");
    assert!(t.contains("… 5 more"), "{t}");
    assert_eq!(t.lines().count(), 9);
}

#[test]
fn the_strip_lists_tasks_with_their_state_and_counts_the_rest() {
    let theme = theme();
    let out = replay("slide33.jsonl", Some(2.5));
    let buf = draw_with(60, 1, |f, a| {
        f.render_widget(Paragraph::new(tree::strip(&theme, &out, 60)), a)
    });
    let t = text(&buf);
    assert!(
        t.starts_with("tasks main()◌ starter(<nursery>)✔ sleepy(0)✔"),
        "{t}"
    );
    assert!(t.trim_end().ends_with("+5"), "{t}");
    assert!(t.chars().count() <= 60);
}

// ---- the timeline -----------------------------------------------------------------------

#[test]
fn timelines_of_the_reference_demos() {
    for (name, w, h) in [
        ("slide12", 64, 10),
        ("slide33", 64, 13),
        ("slide37", 64, 6),
        ("slide47", 64, 7),
    ] {
        let out = replay(&format!("{name}.jsonl"), None);
        insta::assert_snapshot!(format!("timeline_{name}"), timeline_text(&out, w, h));
    }
}

#[test]
fn timeline_bars_of_live_tasks_reach_now() {
    let out = replay("slide33.jsonl", Some(2.5));
    let t = timeline_text(&out, 64, 13);
    insta::assert_snapshot!("timeline_slide33_at_2_5s", t);
    let row = t
        .lines()
        .find(|l| l.trim_start().starts_with("sleepy(6)"))
        .unwrap();
    assert!(row.trim_end().ends_with('━'), "{row}");
    let row = t
        .lines()
        .find(|l| l.trim_start().starts_with("sleepy(0)"))
        .unwrap();
    assert!(!row.trim_end().ends_with('━'), "{row}");
}

#[test]
fn timeline_of_slide47_shows_the_receiver_starting_at_two_seconds() {
    let theme = theme();
    let out = replay("slide47.jsonl", None);
    let buf = draw_with(64, 7, |f, a| timeline::draw(&theme, &out, f, a, false));
    let t = text(&buf);
    let axis = t.lines().last().unwrap();
    let two = axis.find("2s").expect("a 2 s label");
    let receiver = t
        .lines()
        .find(|l| l.trim_start().starts_with("receiver"))
        .unwrap();
    let bar = receiver.find(['━', '•']).unwrap();
    // Same column (in chars) as the 2 s label, give or take one.
    let col = |s: &str, byte: usize| s[..byte].chars().count() as i64;
    assert!((col(receiver, bar) - col(axis, two)).abs() <= 1, "\n{t}");
    // Row label and bar in the task's colour; output marks bold.
    let (x, y) = find(&buf, "receiver", 0).unwrap();
    let colour = theme.task_color(out.tasks[&3].index);
    assert_eq!(buf[(x, y)].fg, colour);
    let (x, y) = find(&buf, "•", y).unwrap();
    assert_eq!(buf[(x, y)].fg, colour);
}

#[test]
fn timeline_marks_the_cancellation_in_the_accent_colour() {
    let theme = theme();
    let out = replay("slide37.jsonl", None);
    let buf = draw_with(64, 6, |f, a| timeline::draw(&theme, &out, f, a, false));
    let (x, y) = find(&buf, "sleepy(10)", 0).unwrap();
    let (mx, my) = find(&buf, "⏱", y).expect("a deadline mark");
    assert_eq!(my, y);
    assert!(mx > x);
    assert_eq!(buf[(mx, my)].fg, theme.accent);
}

#[test]
fn timeline_of_a_flood_draws_from_bounded_marks() {
    let mut out =
        feed(&[r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#]);
    for i in 0..100_000 {
        out.apply(&crate::kernel::process::ChildMsg::Event(
            crate::kernel::protocol::Event::Out {
                t: i as f64 * 1e-4,
                task: Some(1),
                stream: "stdout".into(),
                text: "x\n".into(),
            },
        ));
    }
    assert!(out.tree.nodes[&1].marks.times().len() <= crate::app::tree::MAX_MARKS);
    let t = timeline_text(&out, 60, 5);
    let row = t
        .lines()
        .find(|l| l.trim_start().starts_with("main()"))
        .unwrap();
    assert!(row.matches('•').count() > 40, "dense marks:\n{t}");
}

// ---- layout -----------------------------------------------------------------------------

#[test]
fn panels_lay_out_by_size() {
    let r = |w, h| Rect::new(0, 0, w, h);
    // No tasks: only the output.
    let p = panes(true, true, 0, r(120, 30));
    assert_eq!(p.output, Some(r(120, 30)));
    assert!(p.tree.is_none() && p.timeline.is_none() && p.strip.is_none());
    // Wide: the tree on the right, 35 %.
    let p = panes(true, false, 6, r(120, 20));
    assert_eq!(p.tree, Some(Rect::new(78, 0, 42, 20)));
    assert_eq!(p.output, Some(r(78, 20)));
    // ... at least 28 columns.
    let p = panes(true, false, 6, r(90, 20));
    assert_eq!(p.tree.unwrap().width, 31);
    let p = panes(true, false, 6, r(100, 20));
    assert_eq!(p.tree.unwrap().width, 35);
    // Wide and short: the timeline takes the side panel instead of the tree.
    let p = panes(true, true, 6, r(120, 14));
    assert!(p.tree.is_none());
    assert_eq!(p.timeline, Some((Rect::new(66, 0, 54, 14), true)));
    // Wide and tall: the timeline under the output, the tree beside the output.
    let p = panes(true, true, 6, r(120, 30));
    assert_eq!(p.timeline, Some((Rect::new(0, 21, 120, 9), false)));
    assert_eq!(p.tree.unwrap().height, 21);
    // Narrow: the tree folds to one row; the timeline replaces the output.
    let p = panes(true, false, 6, r(80, 13));
    assert_eq!(p.strip, Some(Rect::new(0, 12, 80, 1)));
    assert_eq!(p.output, Some(r(80, 12)));
    let p = panes(true, true, 6, r(80, 13));
    assert_eq!(p.output, None);
    assert_eq!(p.timeline, Some((r(80, 13), false)));
    // Both off.
    let p = panes(false, false, 6, r(120, 30));
    assert_eq!(p.output, Some(r(120, 30)));
}

fn press(app: &mut App, c: char) {
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

#[test]
fn keys_toggle_tree_and_timeline_and_the_help_lists_them() {
    let mut app = app_with(33, replay("slide33.jsonl", Some(2.5)));
    assert!(app.show_tree && !app.show_timeline);
    let help: Vec<String> = app.keymap.help().into_iter().map(|(k, _)| k).collect();
    assert!(help.iter().any(|k| k == "t / T / v"), "{help:?}");

    let t = text(&screen(&app, 120, 40));
    insta::assert_snapshot!("screen_slide33_tree_120x40", t);
    press(&mut app, 'v');
    assert!(app.show_timeline);
    let t = text(&screen(&app, 120, 40));
    insta::assert_snapshot!("screen_slide33_tree_timeline_120x40", t);
    press(&mut app, 'T');
    assert!(!app.show_tree);
    let t = text(&screen(&app, 120, 40));
    assert!(!t.contains(" tasks "), "{t}");
    assert!(t.contains(" timeline "), "{t}");
    press(&mut app, 'v');
    press(&mut app, 'T');
    assert!(app.show_tree && !app.show_timeline);
}

#[test]
fn small_terminals_fold_the_panels() {
    let mut app = app_with(33, replay("slide33.jsonl", Some(2.5)));
    let t = text(&screen(&app, 80, 24));
    insta::assert_snapshot!("screen_slide33_80x24", t);
    assert!(t.contains("tasks main()◌"), "the one-row tree:\n{t}");
    assert!(!t.contains(" tasks ·"), "no crushed panel:\n{t}");
    press(&mut app, 'v');
    let t = text(&screen(&app, 80, 24));
    insta::assert_snapshot!("screen_slide33_timeline_80x24", t);
    assert!(
        !t.contains("Sleeping for"),
        "the timeline replaces the output:\n{t}"
    );
    assert!(t.contains("sleepy(6)"), "{t}");
}

#[test]
fn every_size_draws_without_panicking() {
    let mut app = app_with(37, replay("slide37.jsonl", None));
    for (tree, timeline) in [(true, false), (true, true), (false, true)] {
        app.show_tree = tree;
        app.show_timeline = timeline;
        for w in [10, 20, 40, 60, 80, 89, 90, 91, 120, 200] {
            for h in [3, 5, 8, 12, 24, 40] {
                let buf = screen(&app, w, h);
                assert_eq!(text(&buf).lines().count(), h as usize);
            }
        }
    }
}

#[test]
fn no_colour_theme_still_draws_marks() {
    let theme = theme().without_color();
    let out = replay("slide37.jsonl", None);
    let buf = draw_with(64, 6, |f, a| timeline::draw(&theme, &out, f, a, false));
    assert!(text(&buf).contains('⏱'));
    let (x, y) = find(&buf, "⏱", 0).unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Reset);
}

#[test]
fn a_finished_timeline_ends_at_the_last_event_not_the_wall_clock() {
    let mut out = replay("slide37.jsonl", None);
    out.wall = 3.4; // the presenter's clock also counted the interpreter starting
    let t = timeline_text(&out, 64, 6);
    assert!(t.starts_with(" timeline · 3.00 s"), "{t}");
    let row = t
        .lines()
        .find(|l| l.trim_start().starts_with("main()"))
        .unwrap();
    assert!(row.trim_end().ends_with('⏱'), "{t}");
}
