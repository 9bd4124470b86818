//! Model tests: event streams (recorded runs of the reference deck in `src/ui/testdata/`, and
//! small hand-made ones) folded into a `RunOutput`, then the tree, states, scopes and the
//! inserted cancellation lines checked.

use super::*;
use crate::app::output::{RunOutput, RunStatus};
use crate::kernel::process::ChildMsg;

/// Replays a recorded stream from `src/ui/testdata/` up to harness time `until` (everything
/// when None). Times are rounded to 0.1 s first: they vary from run to run by milliseconds, and
/// the snapshots must not. A run cut short is left running with its clock at `until`.
pub(crate) fn replay(name: &str, until: Option<f64>) -> RunOutput {
    let path = format!("{}/src/ui/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = RunOutput::new(1, 1);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        for key in ["t", "deadline"] {
            if let Some(t) = v.get(key).and_then(|t| t.as_f64()) {
                v[key] = serde_json::json!((t * 10.0).round() / 10.0);
            }
        }
        if until.is_some_and(|u| v["t"].as_f64().unwrap_or(0.0) > u) {
            out.wall = until.unwrap();
            return out;
        }
        let ev = Event::parse(&v.to_string()).expect("an event");
        out.apply(&ChildMsg::Event(ev));
    }
    out
}

/// Feeds hand-made event lines.
pub(crate) fn feed(lines: &[&str]) -> RunOutput {
    let mut out = RunOutput::new(1, 1);
    for l in lines {
        out.apply(&ChildMsg::Event(Event::parse(l).unwrap()));
    }
    out
}

fn id_of(out: &RunOutput, name: &str) -> u64 {
    *out.tasks
        .iter()
        .find(|(_, t)| t.name == name)
        .unwrap_or_else(|| panic!("no task {name}"))
        .0
}

fn children_names(out: &RunOutput, nursery: u64) -> Vec<String> {
    out.tree.nurseries[&nursery]
        .children
        .iter()
        .map(|c| out.tasks[c].name.clone())
        .collect()
}

fn texts(out: &RunOutput) -> Vec<String> {
    out.lines.iter().map(|l| l.text.clone()).collect()
}

#[test]
fn slide12_five_sleepers_under_mains_nursery_all_done() {
    let out = replay("slide12.jsonl", None);
    let main = id_of(&out, "main()");
    assert_eq!(out.tree.roots, vec![main]);
    let nurseries = &out.tree.nodes[&main].nurseries;
    assert_eq!(nurseries.len(), 1);
    let n = nurseries[0];
    assert_eq!(out.tree.nurseries[&n].owner, Some(main));
    assert!(out.tree.nurseries[&n].closed.is_some());
    assert_eq!(
        children_names(&out, n),
        (0..5).map(|i| format!("sleepy({i})")).collect::<Vec<_>>()
    );
    for c in &out.tree.nurseries[&n].children {
        let (end, outcome, _) = out.tasks[c].ended.clone().expect("ended");
        assert_eq!(outcome, "ok");
        let i = out.tasks[c].name[7..8].parse::<f64>().unwrap();
        assert!((end - out.tasks[c].started - i).abs() < 0.15, "{end}");
    }
    assert_eq!(out.status, RunStatus::Ok);
}

#[test]
fn slide33_sleepers_hang_under_mains_nursery_not_under_starter() {
    let out = replay("slide33.jsonl", None);
    let main = id_of(&out, "main()");
    let starter = id_of(&out, "starter(<nursery>)");
    let n = out.tree.nodes[&main].nurseries[0];
    let kids = children_names(&out, n);
    assert_eq!(kids.len(), 8, "{kids:?}");
    assert_eq!(kids[0], "starter(<nursery>)");
    for i in 0..7 {
        let s = id_of(&out, &format!("sleepy({i})"));
        assert_eq!(out.tree.nodes[&s].nursery, Some(n));
        assert_eq!(out.tasks[&s].parent, Some(main));
    }
    assert!(out.tree.nodes[&starter].nurseries.is_empty());
    // starter ends first, while the nursery stays open for six seconds more.
    let starter_end = out.tasks[&starter].ended.as_ref().unwrap().0;
    for (id, t) in &out.tasks {
        if *id != starter {
            assert!(t.ended.as_ref().unwrap().0 >= starter_end);
        }
    }
    let mid = replay("slide33.jsonl", Some(2.5));
    assert!(mid.tasks[&starter].ended.is_some());
    assert!(
        mid.tree.nurseries[&n].closed.is_none(),
        "nursery still open"
    );
    let sleepy6 = id_of(&mid, "sleepy(6)");
    assert!(mid.tasks[&sleepy6].ended.is_none());
    assert!(mid.tree.structured);
    assert_eq!(mid.tree.nodes[&sleepy6].live, Some(Live::Waiting));
}

#[test]
fn every_recorded_event_is_understood() {
    for name in ["slide12", "slide33", "slide37", "slide47"] {
        let path = format!(
            "{}/src/ui/testdata/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let ev = v["ev"].as_str().unwrap().to_string();
            // `exited` is the runner's own line about the process, not a harness event.
            if ev != "exited" {
                assert_ne!(Event::parse(line).unwrap(), Event::Unknown, "{line}");
            }
            kinds.insert(ev);
        }
        for needed in [
            "task",
            "task_exit",
            "nursery",
            "nursery_exit",
            "state",
            "out",
        ] {
            assert!(kinds.contains(needed), "{name} has no {needed} event");
        }
        if name == "slide37" {
            for needed in ["scope", "scope_fired", "scope_exit"] {
                assert!(kinds.contains(needed), "{name} has no {needed} event");
            }
        }
    }
}

#[test]
fn slide37_move_on_after_fires_at_three_seconds_and_is_caught() {
    let out = replay("slide37.jsonl", None);
    let sleepy = id_of(&out, "sleepy(10)");
    assert_eq!(out.tasks[&sleepy].ended.as_ref().unwrap().1, "cancelled");
    let scope = out.tree.scopes.values().next().expect("a scope");
    assert_eq!(scope.call(), "move_on_after(3)");
    let fired = scope.fired.as_ref().expect("fired");
    assert!((fired.t - 3.0).abs() < 0.15, "{}", fired.t);
    assert_eq!(fired.reason, "deadline");
    assert!(fired.cancelled.contains(&sleepy));
    assert_eq!(scope.exited.map(|e| e.1), Some(true));
    assert!(out.tree.nodes[&sleepy].cancelled.is_some());

    let lines = texts(&out);
    let fired_at = lines
        .iter()
        .position(|l| l == "⏱ move_on_after(3) fired at 3.00 s: cancelled sleepy(10)")
        .unwrap_or_else(|| panic!("no cancel line in {lines:?}"));
    assert_eq!(out.lines[fired_at].source, Source::Cancel);
    let caught = lines
        .iter()
        .position(|l| l == "move_on_after(3): cancelled_caught = True")
        .expect("caught line");
    assert_eq!(out.lines[caught].source, Source::Info);
    let done = lines.iter().position(|l| l == "All done").unwrap();
    assert!(fired_at < caught && caught < done, "{lines:?}");
    // The headless runner labels it.
    let printed = crate::headless::format_line(&out, &out.lines[fired_at]);
    assert_eq!(
        printed,
        "  3.00  [cancel]  ⏱ move_on_after(3) fired at 3.00 s: cancelled sleepy(10)"
    );

    let before = replay("slide37.jsonl", Some(2.0));
    let scope = before.tree.scopes.values().next().unwrap();
    assert!(scope.fired.is_none() && scope.exited.is_none());
    assert!((scope.deadline.unwrap() - 3.0).abs() < 0.15);
}

#[test]
fn slide47_receiver_starts_at_two_seconds() {
    let out = replay("slide47.jsonl", None);
    let receiver = id_of(&out, "receiver(chan)");
    let sender = id_of(&out, "sender(chan)");
    assert!((out.tasks[&receiver].started - 2.0).abs() < 0.15);
    assert!(out.tasks[&sender].started < 0.1);
    assert_eq!(out.tree.order.len(), 3);
    // sender printed before and after the receiver came.
    let marks = out.tree.nodes[&sender].marks.times();
    assert!(
        marks.first().unwrap() < &0.1 && marks.last().unwrap() > &1.9,
        "{marks:?}"
    );
}

#[test]
fn nurseries_are_inferred_without_structured_events() {
    let out = feed(&[
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#,
        r#"{"ev":"task","t":0.1,"id":2,"name":"a()","parent":1,"nursery":7}"#,
        r#"{"ev":"task_exit","t":0.2,"id":2,"outcome":"ok"}"#,
        r#"{"ev":"task_exit","t":0.3,"id":1,"outcome":"ok"}"#,
    ]);
    assert!(!out.tree.structured);
    assert_eq!(out.tree.nodes[&1].nurseries, vec![7]);
    assert_eq!(out.tree.nurseries[&7].children, vec![2]);
    assert!(!out.tree.nurseries[&7].announced);
    assert_eq!(
        out.tree.nurseries[&7].closed,
        Some(0.3),
        "closed with its owner"
    );
}

#[test]
fn a_task_moved_by_nursery_start_changes_nursery_and_leaves_no_phantom() {
    let out = feed(&[
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#,
        r#"{"ev":"nursery","t":0.0,"id":1,"task":1}"#,
        r#"{"ev":"task","t":0.1,"id":2,"name":"server()","parent":1,"nursery":2}"#,
        r#"{"ev":"task","t":0.2,"id":2,"name":"server()","parent":1,"nursery":1}"#,
    ]);
    assert_eq!(out.tree.nurseries[&1].children, vec![2]);
    assert!(out.tree.nurseries[&2].children.is_empty());
    assert!(out.tree.shows_nursery(1));
    assert!(!out.tree.shows_nursery(2), "the hidden start nursery");
    assert_eq!(out.tree.order, vec![1, 2]);
    assert_eq!(out.tasks[&2].index, 1, "one colour, not a new one");
}

#[test]
fn state_events_set_running_and_waiting_but_not_after_exit() {
    let out = feed(&[
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#,
        r#"{"ev":"task","t":0.0,"id":2,"name":"a()","parent":1,"nursery":1}"#,
        r#"{"ev":"task_exit","t":0.1,"id":2,"outcome":"ok"}"#,
        r#"{"ev":"state","t":0.1,"running":[1],"waiting":[2, 99]}"#,
    ]);
    assert_eq!(out.tree.nodes[&1].live, Some(Live::Running));
    assert_eq!(out.tree.nodes[&2].live, None);
    let out2 = feed(&[
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#,
        r#"{"ev":"state","t":0.1,"waiting":[1]}"#,
    ]);
    assert_eq!(out2.tree.nodes[&1].live, Some(Live::Waiting));
}

#[test]
fn explicit_cancel_names_the_reason_and_limits_the_list() {
    let mut lines = vec![
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#.to_string(),
    ];
    for i in 2..9 {
        lines.push(format!(
            r#"{{"ev":"task","t":0.0,"id":{i},"name":"w({i})","parent":1,"nursery":1}}"#
        ));
    }
    lines.push(
        r#"{"ev":"scope","t":0.0,"id":5,"task":1,"kind":"CancelScope","arg":"","deadline":null}"#
            .into(),
    );
    lines.push(
        r#"{"ev":"scope_fired","t":1.5,"id":5,"reason":"explicit","cancelled":[1,2,3,4,5,6,7,8]}"#
            .into(),
    );
    lines.push(r#"{"ev":"scope_fired","t":1.6,"id":5,"reason":"explicit","cancelled":[1]}"#.into());
    lines.push(r#"{"ev":"scope_exit","t":1.7,"id":5,"cancelled_caught":false}"#.into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = feed(&refs);
    let t = texts(&out);
    assert_eq!(
        t,
        vec!["✖ CancelScope() by cancel() fired at 1.50 s: cancelled w(2), w(3), w(4), w(5) and 3 more"],
        "one line per firing, none for an uncaught exit"
    );
    assert_eq!(out.tree.nodes[&3].cancelled, Some((1.5, CancelMark::Other)));
}

#[test]
fn a_scope_that_only_interrupts_its_own_task_names_it() {
    let out = feed(&[
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#,
        r#"{"ev":"scope","t":0.0,"id":1,"task":1,"kind":"fail_after","arg":"1","deadline":1.0}"#,
        r#"{"ev":"scope_fired","t":1.0,"id":1,"reason":"deadline","cancelled":[1]}"#,
    ]);
    assert_eq!(
        texts(&out),
        vec!["⏱ fail_after(1) fired at 1.00 s: cancelled main()"]
    );
}

#[test]
fn output_marks_stay_bounded_under_a_flood() {
    let mut out =
        feed(&[r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#]);
    let n = 100_000;
    for i in 0..n {
        let t = i as f64 * 1e-4; // 10 s of output, every 0.1 ms
        out.apply(&ChildMsg::Event(Event::Out {
            t,
            task: Some(1),
            stream: "stdout".into(),
            text: "x\n".into(),
        }));
    }
    let marks = out.tree.nodes[&1].marks.times();
    assert!(
        marks.len() <= MAX_MARKS && marks.len() >= MAX_MARKS / 4,
        "{}",
        marks.len()
    );
    assert_eq!(marks[0], 0.0);
    assert!(marks.windows(2).all(|w| w[0] < w[1]));
    assert!(*marks.last().unwrap() > 9.9, "marks cover the whole run");
    // The largest gap between kept marks stays a small part of the run.
    let gap = marks.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(gap < 10.0 / 64.0, "{gap}");
}

#[test]
fn scopes_entered_in_a_loop_stay_bounded() {
    let mut lines = vec![
        r#"{"ev":"task","t":0.0,"id":1,"name":"main()","parent":null,"nursery":null}"#.to_string(),
    ];
    for i in 0..1000 {
        let t = i as f64 * 0.01;
        lines.push(format!(
            r#"{{"ev":"scope","t":{t},"id":{i},"task":1,"kind":"move_on_after","arg":"0.5","deadline":{}}}"#,
            t + 0.5
        ));
        if i % 100 == 0 {
            lines.push(format!(
                r#"{{"ev":"scope_fired","t":{t},"id":{i},"reason":"deadline","cancelled":[1]}}"#
            ));
        }
        lines.push(format!(
            r#"{{"ev":"scope_exit","t":{t},"id":{i},"cancelled_caught":{}}}"#,
            i % 100 == 0
        ));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = feed(&refs);
    assert_eq!(out.tree.scopes.len(), SCOPES_KEPT);
    assert_eq!(out.tree.nodes[&1].scopes.len(), SCOPES_KEPT);
    assert_eq!(out.tree.scopes.keys().last(), Some(&900));
    assert_eq!(out.tree.shown_scopes(1, 2).len(), 2);
    // Ten firings, ten caught: one line each.
    assert_eq!(out.lines.len(), 20);
}
