use super::*;
use crate::kernel::process::ChildMsg;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn reference_app(slide: usize) -> App {
    let deck = Deck::parse(
        std::path::Path::new("slides/trio.md"),
        include_str!("../../slides/trio.md"),
    )
    .unwrap();
    App::new(deck, Theme::load("dark").unwrap(), slide)
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

#[test]
fn navigation_keys() {
    let mut app = reference_app(1);
    for code in [
        KeyCode::Right,
        KeyCode::Char(' '),
        KeyCode::Char('l'),
        KeyCode::Char('n'),
        KeyCode::PageDown,
    ] {
        key(&mut app, code);
    }
    assert_eq!(app.slide_number(), 6);
    for code in [
        KeyCode::Left,
        KeyCode::Backspace,
        KeyCode::Char('h'),
        KeyCode::Char('p'),
    ] {
        key(&mut app, code);
    }
    assert_eq!(app.slide_number(), 2);
    key(&mut app, KeyCode::PageUp);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.slide_number(), 1, "clamped at the first slide");
    key(&mut app, KeyCode::End);
    assert_eq!(app.slide_number(), 57);
    key(&mut app, KeyCode::Right);
    assert_eq!(app.slide_number(), 57, "clamped at the last slide");
    key(&mut app, KeyCode::Home);
    assert_eq!(app.slide_number(), 1);
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.slide_number(), 57);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.slide_number(), 1);
}

#[test]
fn number_then_enter_jumps() {
    let mut app = reference_app(1);
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.typed, "33");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.slide_number(), 33);
    key(&mut app, KeyCode::Char('9'));
    key(&mut app, KeyCode::Char('9'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.slide_number(), 33);
    assert!(app.notice.as_deref().unwrap().contains("no slide 99"));
}

#[test]
fn run_keys_only_run_exec_slides() {
    let mut app = reference_app(12);
    assert_eq!(key(&mut app, KeyCode::Char('r')), vec![Effect::Run(12)]);
    assert_eq!(ctrl(&mut app, 'e'), vec![Effect::Run(12)]);
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Run(12)]);
    let mut app = reference_app(13);
    assert!(key(&mut app, KeyCode::Char('r')).is_empty());
    assert!(app.notice.is_some());
}

fn start_run(app: &mut App, slide: usize, child: u64) {
    app.update(Msg::RunStarted {
        slide,
        result: Ok(child),
    });
}

#[test]
fn ctrl_c_stops_a_run_and_quits_when_idle() {
    let mut app = reference_app(12);
    start_run(&mut app, 12, 7);
    assert!(app.is_running());
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Stop]);
    assert!(!app.quit);
    app.update(Msg::Kernel(KernelMsg::Child(
        7,
        ChildMsg::Exited {
            code: None,
            signal: Some(9),
            done: false,
        },
    )));
    assert!(!app.is_running());
    assert_eq!(app.current_output().unwrap().status, RunStatus::Stopped);
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn leaving_a_slide_stops_its_run_and_keeps_its_output() {
    let mut app = reference_app(12);
    start_run(&mut app, 12, 3);
    app.update(Msg::Kernel(KernelMsg::Child(
        3,
        ChildMsg::Event(Event::Out {
            t: 0.01,
            task: None,
            stream: "stdout".into(),
            text: "hello\n".into(),
        }),
    )));
    assert_eq!(key(&mut app, KeyCode::Right), vec![Effect::Stop]);
    assert!(app.current_output().is_none());
    key(&mut app, KeyCode::Left);
    assert_eq!(app.current_output().unwrap().lines[0].text, "hello");
}

#[test]
fn events_of_a_replaced_run_are_ignored() {
    let mut app = reference_app(12);
    start_run(&mut app, 12, 1);
    start_run(&mut app, 12, 2);
    app.update(Msg::Kernel(KernelMsg::Child(
        1,
        ChildMsg::Event(Event::Info {
            t: 0.0,
            text: "old".into(),
        }),
    )));
    assert!(app.current_output().unwrap().lines.is_empty());
}

#[test]
fn help_toggles_and_any_key_closes_it() {
    let mut app = reference_app(1);
    key(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    key(&mut app, KeyCode::Right);
    assert!(!app.help);
    assert_eq!(app.slide_number(), 2, "the key still acts");
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Esc);
    assert!(!app.help);
}

#[test]
fn reload_keeps_the_slide_clamped_and_bad_reload_keeps_the_deck() {
    let mut app = reference_app(40);
    let small = Deck::parse(std::path::Path::new("x.md"), "# a\n====\nb\n").unwrap();
    app.update(Msg::DeckReloaded(Ok(small)));
    assert_eq!(app.slide_number(), 2);
    app.update(Msg::DeckReloaded(Err("x.md: not valid UTF-8".into())));
    assert_eq!(app.deck.slides.len(), 2);
    assert!(app.notice.as_deref().unwrap().contains("reload failed"));
}

#[test]
fn run_that_cannot_start_says_why() {
    let mut app = reference_app(12);
    app.update(Msg::RunStarted {
        slide: 12,
        result: Err("python3 not found on PATH".into()),
    });
    let out = app.current_output().unwrap();
    assert!(out.lines[0].text.contains("python3 not found"));
    assert!(!app.is_running());
}

fn listen(app: &mut App, child: u64, port: u16) {
    app.update(Msg::Kernel(KernelMsg::Child(
        child,
        ChildMsg::Event(Event::Listen {
            t: 0.01,
            host: "127.0.0.1".into(),
            port,
            family: "ipv4".into(),
        }),
    )));
}

#[test]
fn client_keys_go_to_the_client_until_esc() {
    use crate::app::clients::{ConnState, Said};
    use crate::net::ClientEvent;
    let mut app = reference_app(51);
    assert!(
        key(&mut app, KeyCode::Char('c')).is_empty(),
        "nothing listens yet"
    );
    start_run(&mut app, 51, 4);
    listen(&mut app, 4, 40123);
    assert!(app.current_output().unwrap().lines[0]
        .text
        .contains("listening on 127.0.0.1:40123"));
    let fx = key(&mut app, KeyCode::Char('c'));
    assert_eq!(
        fx,
        vec![Effect::Connect {
            id: 1,
            addr: "127.0.0.1:40123".into()
        }]
    );
    app.update(Msg::Client(1, ClientEvent::Connected));
    // Typing goes to the client, not to navigation ('n' would be next slide).
    for c in "no".chars() {
        assert!(key(&mut app, KeyCode::Char(c)).is_empty());
    }
    assert_eq!(app.slide_number(), 51);
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        vec![Effect::ClientSend {
            id: 1,
            bytes: b"no\n".to_vec()
        }]
    );
    app.update(Msg::Client(1, ClientEvent::Data(b"no\n".to_vec())));
    assert_eq!(
        app.clients[0].transcript,
        vec![Said::Sent("no".into()), Said::Received("no".into())]
    );
    assert_eq!(ctrl(&mut app, 'd'), vec![Effect::ClientEof { id: 1 }]);
    assert_eq!(app.clients[0].state, ConnState::HalfClosed);
    // A second client; Tab switches between them.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.client_focus, None);
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.client_focus, Some(1));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.client_focus, Some(0));
    assert_eq!(ctrl(&mut app, 'w'), vec![Effect::ClientClose { id: 1 }]);
    assert_eq!(app.clients.len(), 1);
    key(&mut app, KeyCode::Esc);
    // Leaving the slide closes the remaining client and stops the server.
    let fx = key(&mut app, KeyCode::Right);
    assert!(fx.contains(&Effect::ClientClose { id: 2 }), "{fx:?}");
    assert!(fx.contains(&Effect::Stop), "{fx:?}");
}

#[test]
fn esc_and_a_key_merged_into_alt_key_leave_the_client_first() {
    let mut app = reference_app(51);
    start_run(&mut app, 51, 4);
    listen(&mut app, 4, 40123);
    key(&mut app, KeyCode::Char('c'));
    assert!(app.client_focus.is_some());
    let fx = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::ALT,
    )));
    assert_eq!(app.client_focus, None);
    assert!(fx.contains(&Effect::Quit), "{fx:?}");
}

#[test]
fn consent_prompt_asks_then_approves_and_runs() {
    let mut app = reference_app(12);
    app.gate = Gate::Ask;
    assert_eq!(key(&mut app, KeyCode::Char('r')), vec![]);
    assert_eq!(app.consent.as_ref().map(|c| c.slide), Some(12));
    // Navigation keys do not reach the slides while the question is open.
    key(&mut app, KeyCode::Right);
    assert_eq!(app.slide_number(), 12);
    key(&mut app, KeyCode::Char('h'));
    assert!(app.consent.as_ref().unwrap().view_hidden);
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.consent.as_ref().unwrap().scroll, 1);
    let effects = key(&mut app, KeyCode::Char('y'));
    assert_eq!(effects, vec![Effect::Approve, Effect::Run(12)]);
    assert!(app.consent.is_none());
    assert_eq!(app.gate, Gate::Allowed);
    // Approved: the next run goes straight through.
    assert_eq!(key(&mut app, KeyCode::Char('r')), vec![Effect::Run(12)]);
}

#[test]
fn consent_prompt_declined_runs_nothing() {
    let mut app = reference_app(12);
    app.gate = Gate::Ask;
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(key(&mut app, KeyCode::Esc), vec![]);
    assert!(app.consent.is_none());
    assert_eq!(app.gate, Gate::Ask);
    assert!(app.notice.as_deref().unwrap().contains("nothing ran"));
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(key(&mut app, KeyCode::Char('n')), vec![]);
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(
        ctrl(&mut app, 'c'),
        vec![],
        "Ctrl-c answers no, it does not quit"
    );
    assert!(!app.quit);
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
}

#[test]
fn no_exec_refuses_with_a_notice() {
    let mut app = reference_app(12);
    app.gate = Gate::Disabled;
    assert_eq!(key(&mut app, KeyCode::Char('r')), vec![]);
    assert!(app.consent.is_none());
    assert!(app.notice.as_deref().unwrap().contains("--no-exec"));
}

#[test]
fn the_layout_cache_stays_bounded_while_the_window_is_resized() {
    let app = reference_app(1);
    for width in 20..400u16 {
        for index in [0, 11, 36] {
            let layout = app.layout(index, width);
            assert!(layout.width <= width, "width {width}");
        }
        assert!(app.cached_layouts() <= LAYOUT_CACHE_MAX);
    }
    // The width in use stays cached: the same layout comes back.
    let a = app.layout(11, 100);
    let b = app.layout(11, 100);
    assert!(Rc::ptr_eq(&a, &b));
}

#[test]
fn a_run_queued_before_python_is_ready_starts_then_or_is_cancelled_by_the_speaker() {
    let resolved = || Msg::Kernel(KernelMsg::Resolved(Err("no python here".into())));
    // Queued, then Python's answer: the run starts (and meets the answer).
    let mut app = reference_app(12);
    app.update(Msg::RunQueued(12));
    assert!(app.notice.as_deref().unwrap().contains("starting Python"));
    assert_eq!(app.update(resolved()), vec![Effect::Run(12)]);
    // Esc while queued: nothing starts later.
    let mut app = reference_app(12);
    app.update(Msg::RunQueued(12));
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert!(app.notice.as_deref().unwrap().contains("cancelled"));
    assert!(app.update(resolved()).is_empty());
    // Left the slide: nothing starts.
    let mut app = reference_app(12);
    app.update(Msg::RunQueued(12));
    key(&mut app, KeyCode::Right);
    assert!(app.update(resolved()).is_empty());
    // Progress lines keep it queued.
    let mut app = reference_app(12);
    app.update(Msg::RunQueued(12));
    app.update(Msg::Kernel(KernelMsg::Progress("installing trio…".into())));
    assert_eq!(app.update(resolved()), vec![Effect::Run(12)]);
}
