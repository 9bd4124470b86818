//! The block editor pane, the picked block and typing into a demo, drawn into TestBackend.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;
use ratatui::Terminal;

use crate::app::tests::reference_app;
use crate::app::{App, Effect, Msg};
use crate::kernel::pool::KernelMsg;
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;

fn frame(app: &App, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::draw(app, f)).unwrap();
    t.backend().buffer().clone()
}

fn text(app: &App, w: u16, h: u16) -> String {
    super::buffer_text(&frame(app, w, h), false)
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn event(app: &mut App, child: u64, json: &str) {
    let ev = Event::parse(json).unwrap();
    app.update(Msg::Kernel(KernelMsg::Child(child, ChildMsg::Event(ev))));
}

#[test]
fn editor_pane_edits_slide_37_and_marks_the_cursor() {
    let mut app = reference_app(37);
    key(&mut app, KeyCode::Char('e'));
    // To the `3` of move_on_after(3): down one line, end, three left.
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::End);
    for _ in 0..3 {
        key(&mut app, KeyCode::Left);
    }
    key(&mut app, KeyCode::Delete);
    key(&mut app, KeyCode::Char('1'));
    insta::assert_snapshot!("editor_slide37_80x24", text(&app, 80, 24));
    // The cursor is a reversed cell, after the typed 1 (on the `)`).
    let buf = frame(&app, 80, 24);
    let area = buf.area;
    let cursor: Vec<_> = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .filter(|&p| buf[p].modifier.contains(Modifier::REVERSED))
        .filter(|&(_, y)| y + 1 < area.height)
        .map(|p| buf[p].symbol().to_string())
        .collect();
    assert_eq!(cursor, vec![")"]);
    // Esc keeps the edit: the slide shows it and is marked edited; u goes back.
    key(&mut app, KeyCode::Esc);
    let t = text(&app, 80, 24);
    assert!(
        t.contains("move_on_after(1)") && t.contains("✎ edited"),
        "{t}"
    );
    assert_eq!(key(&mut app, KeyCode::Char('r')), vec![Effect::Run(37)]);
    key(&mut app, KeyCode::Char('u'));
    let t = text(&app, 80, 24);
    assert!(
        t.contains("move_on_after(3)") && !t.contains("edited"),
        "{t}"
    );
}

#[test]
fn a_syntax_error_is_marked_on_its_line() {
    let mut app = reference_app(37);
    key(&mut app, KeyCode::Char('e'));
    key(&mut app, KeyCode::Char('('));
    assert_eq!(ctrl(&mut app, 'e'), vec![Effect::Run(37)]);
    app.update(Msg::RunStarted {
        slide: 37,
        result: Ok(5),
    });
    event(
        &mut app,
        5,
        r#"{"ev":"error","t":0.01,"slide":37,"setup":false,"traceback":"  File \"slide 37\", line 1\n    (async def main():\n     ^^^^^\nSyntaxError: invalid syntax"}"#,
    );
    event(&mut app, 5, r#"{"ev":"done","t":0.01,"status":"error"}"#);
    insta::assert_snapshot!("editor_syntax_error_80x24", text(&app, 80, 24));
}

#[test]
fn the_picked_block_is_marked_and_named_in_the_status_bar() {
    let mut app = reference_app(11);
    let n = crate::app::edit::runnable(&app.deck.slides[10]).len();
    assert!(n >= 2, "slide 11 has a hidden and a shown block");
    key(&mut app, KeyCode::Char('}'));
    key(&mut app, KeyCode::Char('}'));
    let t = text(&app, 100, 40);
    assert!(t.contains(&format!("▸ block 2/{n}")), "{t}");
    assert!(t.contains('▌'), "{t}");
}

#[test]
fn typing_into_a_demo_shows_the_line_and_echoes_it_after_the_prompt() {
    let mut app = reference_app(12);
    app.update(Msg::RunStarted {
        slide: 12,
        result: Ok(3),
    });
    event(
        &mut app,
        3,
        r#"{"ev":"out","t":0.01,"task":null,"stream":"stdout","text":"name? "}"#,
    );
    key(&mut app, KeyCode::Char('i'));
    for c in "Ada".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let t = text(&app, 100, 30);
    assert!(t.contains("stdin ▸ Ada"), "{t}");
    assert!(t.contains("typing into the demo"), "{t}");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        vec![Effect::Input(b"Ada\n".to_vec())]
    );
    let t = text(&app, 100, 30);
    assert!(t.contains("name? Ada"), "{t}");
    assert_eq!(ctrl(&mut app, 'd'), vec![Effect::InputEof]);
    assert!(!app.stdin_focus);
}
