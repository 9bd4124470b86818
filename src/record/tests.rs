use super::recorder::{Meta, Recorder};
use super::*;
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn deck(dir: &Path, text: &str) -> Deck {
    let path = dir.join("talk.md");
    std::fs::write(&path, text).unwrap();
    Deck::load(&path).unwrap()
}

fn out(t: f64, text: &str) -> ChildMsg {
    ChildMsg::Event(Event::Out {
        t,
        task: Some(1),
        stream: "stdout".into(),
        text: text.into(),
    })
}

fn end(t: f64) -> Vec<ChildMsg> {
    vec![
        ChildMsg::Event(Event::Done {
            t,
            status: "ok".into(),
        }),
        ChildMsg::Exited {
            code: Some(0),
            signal: None,
            done: true,
        },
    ]
}

/// Records `msgs` as a run of slide 1 of `d` and waits for the file.
fn record(store: &Store, d: &Deck, msgs: &[ChildMsg], warnings: Arc<Mutex<Vec<String>>>) {
    let rec = Recorder::new(Some(store.clone()), move |w| {
        warnings.lock().unwrap().push(w)
    });
    let meta = Meta::new(d, 1, None, "run");
    rec.begin(7, meta, Instant::now());
    for m in msgs {
        rec.observe(7, m);
    }
    rec.flush(Duration::from_secs(5));
}

#[test]
fn a_run_round_trips_and_is_found_by_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = deck(dir.path(), "```exec\nprint('hi')\n```\n");
    let store = Store::at(dir.path().join("rec"));
    let mut msgs = vec![
        out(0.5, "hi\n"),
        ChildMsg::Raw {
            stream: "stderr",
            text: "raw\n".into(),
        },
    ];
    msgs.extend(end(1.0));
    record(&store, &d, &msgs, Default::default());
    let Found::Exact(rec, problems) = store.find(&d, 1) else {
        panic!("not found")
    };
    assert!(problems.is_empty());
    assert_eq!(rec.header.status, "ok");
    assert_eq!(rec.header.version, VERSION);
    assert_eq!(rec.events.len(), 4);
    assert_eq!(rec.events[0].msg, msgs[0]);
    assert!(matches!(
        rec.events[1].msg,
        ChildMsg::Raw {
            stream: "stderr",
            ..
        }
    ));
    assert!(matches!(
        rec.events[3].msg,
        ChildMsg::Exited { done: true, .. }
    ));
    // Edited code: the recording is only offered as other code.
    let edited = deck(dir.path(), "```exec\nprint('bye')\n```\n");
    assert!(matches!(store.find(&edited, 1), Found::Other(..)));
}

#[test]
fn bad_files_are_one_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = deck(dir.path(), "```exec\nprint('hi')\n```\n");
    let store = Store::at(dir.path().join("rec"));
    let mut msgs = vec![out(0.5, "hi\n")];
    msgs.extend(end(1.0));
    record(&store, &d, &msgs, Default::default());
    let good = store.files(&d.path, 1).pop().unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    let slide_dir = good.parent().unwrap();
    let digest = &code_digest(&d, 1)[..12];
    let name = |n: u64| slide_dir.join(format!("{n:013}-{digest}.jsonl"));
    // Newer than the good one, so each is tried first.
    let truncated = name(9_999_999_999_991);
    std::fs::write(&truncated, &text[..text.rfind("{\"ev\"").unwrap()]).unwrap();
    let corrupt = name(9_999_999_999_992);
    std::fs::write(&corrupt, text.replace("\"ev\":\"out\"", "\"ev\":\"out\",,")).unwrap();
    let future = name(9_999_999_999_993);
    std::fs::write(&future, text.replace("\"version\":1", "\"version\":99")).unwrap();
    let garbage = name(9_999_999_999_994);
    std::fs::write(&garbage, [0xff, 0x00, 0x12]).unwrap();
    for (path, expect) in [
        (&truncated, "truncated"),
        (&corrupt, "damaged at line 2"),
        (&future, "newer trio-present"),
        (&garbage, "damaged"),
    ] {
        let e = load(path).unwrap_err();
        assert!(e.contains(expect), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    match store.find(&d, 1) {
        Found::Exact(rec, problems) => {
            assert_eq!(rec.path, good);
            assert_eq!(problems.len(), 4, "{problems:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flood_is_stored_truncated_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let d = deck(dir.path(), "```exec\nprint('x')\n```\n");
    let store = Store::at(dir.path().join("rec"));
    let line = "x".repeat(60_000) + "\n";
    let mut msgs: Vec<ChildMsg> = (0..150).map(|i| out(i as f64 * 0.01, &line)).collect();
    msgs.extend(end(2.0));
    record(&store, &d, &msgs, Default::default());
    let Found::Exact(rec, _) = store.find(&d, 1) else {
        panic!()
    };
    assert!(rec.header.truncated);
    let size = std::fs::metadata(&rec.path).unwrap().len() as usize;
    assert!(size < MAX_BYTES + 100_000, "{size}");
    assert!(rec.events.iter().any(|e| matches!(&e.msg,
        ChildMsg::Event(Event::Info { text, .. }) if text.contains("recording stops here"))));
    // The end of the run is kept.
    assert!(matches!(
        rec.events.last().unwrap().msg,
        ChildMsg::Exited { .. }
    ));
    assert_eq!(rec.header.status, "ok");
}

#[test]
fn an_unwritable_store_costs_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = deck(dir.path(), "```exec\nprint('x')\n```\n");
    // A file where the folder should be: every write fails, like a full disk.
    let blocker = dir.path().join("rec");
    std::fs::write(&blocker, "").unwrap();
    let store = Store::at(blocker);
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let mut msgs = vec![out(0.1, "x\n")];
    msgs.extend(end(0.2));
    record(&store, &d, &msgs, warnings.clone());
    record(&store, &d, &msgs, warnings.clone());
    let w = warnings.lock().unwrap();
    assert_eq!(w.len(), 2, "one per recorder (a session): {w:?}");
    assert!(
        w[0].contains("not saved") && w[0].contains("unaffected"),
        "{w:?}"
    );
}

#[test]
fn old_recordings_are_pruned_but_the_good_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let d = deck(dir.path(), "```exec\nprint('x')\n```\n");
    let store = Store::at(dir.path().join("rec"));
    let mut good = vec![out(0.1, "x\n")];
    good.extend(end(0.2));
    record(&store, &d, &good, Default::default());
    let failed = vec![ChildMsg::Exited {
        code: Some(1),
        signal: None,
        done: false,
    }];
    for _ in 0..KEEP + 2 {
        std::thread::sleep(Duration::from_millis(2));
        record(&store, &d, &failed, Default::default());
    }
    let files = store.files(&d.path, 1);
    assert_eq!(files.len(), KEEP + 1);
    let Found::Exact(rec, _) = store.find(&d, 1) else {
        panic!()
    };
    assert_eq!(rec.header.status, "ok", "the good run is preferred");
}

#[test]
fn replay_sends_events_at_their_times() {
    let dir = tempfile::tempdir().unwrap();
    let d = deck(dir.path(), "```exec\nprint('x')\n```\n");
    let store = Store::at(dir.path().join("rec"));
    let mut msgs = vec![out(0.0, "a\n"), out(0.3, "b\n")];
    msgs.extend(end(0.3));
    record(&store, &d, &msgs, Default::default());
    let Found::Exact(rec, _) = store.find(&d, 1) else {
        panic!()
    };
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let start = Instant::now();
    let player = replay::Player::start(
        &rec,
        vec!["intro".into()],
        Arc::new(move |_, m| g.lock().unwrap().push((start.elapsed(), m))),
    );
    while !player.is_finished() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let got = got.lock().unwrap();
    let b = got
        .iter()
        .find(|(_, m)| format!("{m:?}").contains("\"b\\n\""))
        .unwrap();
    assert!(
        b.0 >= Duration::from_millis(280) && b.0 < Duration::from_millis(800),
        "{:?}",
        b.0
    );
    assert!(matches!(got.last().unwrap().1, ChildMsg::Exited { .. }));
}
