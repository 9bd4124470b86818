//! The structure of one run, for the task tree and the timeline: nurseries (who opened them,
//! when they closed, their child tasks), the live state of each task (running / waiting), the
//! cancel scopes of slide code (entered, fired, exited), and per-task marks for the timeline
//! (when it printed, when a cancellation hit it).
//!
//! Fed by [`RunOutput`](super::output::RunOutput) with every event, after the output itself
//! took it; what the task's name, colour index, start and end are stays in
//! `RunOutput::tasks`. Everything here is bounded or proportional to the number of tasks,
//! nurseries and scopes, never to the output: output marks are merged per task once there are
//! more than [`MAX_MARKS`] of them.

use std::collections::{BTreeMap, HashMap};

use super::tasks::{Source, TaskInfo};
use crate::kernel::protocol::Event;

/// Output marks kept per task; past this, marks closer than a doubling time quantum merge.
pub const MAX_MARKS: usize = 256;
/// The finest time resolution of output marks (seconds).
const FIRST_QUANTUM: f64 = 0.001;
/// Fired and ended cancel scopes remembered per task (the tree shows the latest).
pub const SCOPES_KEPT: usize = 8;
/// Task names listed in a cancellation line before "and N more".
const NAMES_LISTED: usize = 4;

/// Where a task that has not ended stands, from `state` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Running,
    Waiting,
}

/// Times at which a task printed, bounded: when more than [`MAX_MARKS`] accumulate, the time
/// quantum doubles and marks in the same quantum merge (the first one stays).
#[derive(Debug, Clone, PartialEq)]
pub struct Marks {
    quantum: f64,
    times: Vec<f64>,
}

impl Default for Marks {
    fn default() -> Marks {
        Marks {
            quantum: FIRST_QUANTUM,
            times: Vec::new(),
        }
    }
}

impl Marks {
    pub fn push(&mut self, t: f64) {
        let bucket = |t: f64, q: f64| (t / q).floor() as i64;
        if let Some(&last) = self.times.last() {
            if bucket(last, self.quantum) == bucket(t, self.quantum) {
                return;
            }
        }
        self.times.push(t);
        while self.times.len() > MAX_MARKS {
            self.quantum *= 2.0;
            let q = self.quantum;
            self.times.dedup_by(|b, a| bucket(*a, q) == bucket(*b, q));
        }
    }

    pub fn times(&self) -> &[f64] {
        &self.times
    }
}

/// How a cancellation hit a task (for its timeline mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelMark {
    /// A deadline passed (`⏱`).
    Deadline,
    /// `cancel()` or anything else (`✖`).
    Other,
}

impl CancelMark {
    pub fn glyph(self) -> char {
        match self {
            CancelMark::Deadline => '⏱',
            CancelMark::Other => '✖',
        }
    }
}

/// What the tree knows about one task beyond `TaskInfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskNode {
    /// The nursery it runs in (its parent nursery), when known.
    pub nursery: Option<u64>,
    /// Running or waiting, from `state` events (None until the first one mentions it).
    pub live: Option<Live>,
    /// Nurseries it opened, in order.
    pub nurseries: Vec<u64>,
    /// Cancel scopes it entered, in order.
    pub scopes: Vec<u64>,
    /// When it printed.
    pub marks: Marks,
    /// When a firing cancel scope hit it.
    pub cancelled: Option<(f64, CancelMark)>,
}

/// A nursery of the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct NurseryInfo {
    pub id: u64,
    /// The task that opened it.
    pub owner: Option<u64>,
    pub opened: f64,
    pub closed: Option<f64>,
    /// Announced by a `nursery` event (not only inferred from a task's `nursery` field).
    pub announced: bool,
    /// Its child tasks, in start order.
    pub children: Vec<u64>,
}

/// A cancel scope firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub t: f64,
    pub reason: String,
    pub cancelled: Vec<u64>,
}

/// A cancel scope entered from slide code.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeInfo {
    pub id: u64,
    pub task: Option<u64>,
    pub kind: String,
    pub arg: String,
    pub entered: f64,
    pub deadline: Option<f64>,
    pub fired: Option<Fired>,
    /// `(time, cancelled_caught)` once its `with` block ended.
    pub exited: Option<(f64, bool)>,
}

impl ScopeInfo {
    /// The call as written: `move_on_after(3)`, `CancelScope()`.
    pub fn call(&self) -> String {
        let kind = if self.kind.is_empty() {
            "CancelScope"
        } else {
            &self.kind
        };
        format!("{kind}({})", self.arg)
    }

    pub fn mark(&self) -> CancelMark {
        match &self.fired {
            Some(f) if f.reason == "deadline" => CancelMark::Deadline,
            Some(_) => CancelMark::Other,
            None if self.deadline.is_some() => CancelMark::Deadline,
            None => CancelMark::Other,
        }
    }
}

/// The structure of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    pub nodes: HashMap<u64, TaskNode>,
    pub nurseries: BTreeMap<u64, NurseryInfo>,
    pub scopes: BTreeMap<u64, ScopeInfo>,
    /// Tasks in no known nursery (the root, `main()`), in start order.
    pub roots: Vec<u64>,
    /// Nurseries whose owner is unknown, drawn at the top level.
    pub loose: Vec<u64>,
    /// Every task, in start order (the timeline's rows).
    pub order: Vec<u64>,
    /// Whether any structured-concurrency event arrived (an older harness sends none).
    pub structured: bool,
}

impl Tree {
    /// Folds one event in (after `RunOutput` handled it, so `tasks` is current). Returns a line
    /// to add to the output, if the event deserves one (a scope firing, a caught cancellation).
    pub fn apply(
        &mut self,
        ev: &Event,
        tasks: &HashMap<u64, TaskInfo>,
    ) -> Option<(Source, String)> {
        match ev {
            Event::Out {
                t, task: Some(id), ..
            } => {
                if let Some(node) = self.nodes.get_mut(id) {
                    node.marks.push(*t);
                }
            }
            Event::Task {
                t,
                id,
                parent,
                nursery,
                ..
            } => self.task(*t, *id, *parent, *nursery),
            Event::TaskExit { t, id, .. } => {
                let nurseries = self
                    .nodes
                    .get_mut(id)
                    .map(|n| {
                        n.live = None;
                        n.nurseries.clone()
                    })
                    .unwrap_or_default();
                // A task cannot outlive its nurseries: close any whose exit was not reported.
                for n in nurseries {
                    if let Some(n) = self.nurseries.get_mut(&n) {
                        n.closed.get_or_insert(*t);
                    }
                }
            }
            Event::Nursery { t, id, task } => {
                self.structured = true;
                self.nursery(*t, *id, *task).announced = true;
            }
            Event::NurseryExit { t, id } => {
                self.structured = true;
                if let Some(n) = self.nurseries.get_mut(id) {
                    n.closed = Some(*t);
                }
            }
            Event::State {
                running, waiting, ..
            } => {
                self.structured = true;
                for (ids, live) in [(running, Live::Running), (waiting, Live::Waiting)] {
                    for id in ids {
                        let ended = tasks.get(id).is_some_and(|t| t.ended.is_some());
                        if let (Some(node), false) = (self.nodes.get_mut(id), ended) {
                            node.live = Some(live);
                        }
                    }
                }
            }
            Event::Scope {
                t,
                id,
                task,
                kind,
                arg,
                deadline,
            } => {
                self.structured = true;
                if let Some(node) = task.and_then(|task| self.nodes.get_mut(&task)) {
                    if !node.scopes.contains(id) {
                        node.scopes.push(*id);
                    }
                }
                self.scopes.insert(
                    *id,
                    ScopeInfo {
                        id: *id,
                        task: *task,
                        kind: kind.clone(),
                        arg: arg.clone(),
                        entered: *t,
                        deadline: *deadline,
                        fired: None,
                        exited: None,
                    },
                );
            }
            Event::ScopeFired {
                t,
                id,
                reason,
                cancelled,
            } => {
                self.structured = true;
                let scope = self.scopes.entry(*id).or_insert_with(|| ScopeInfo {
                    id: *id,
                    task: None,
                    kind: String::new(),
                    arg: String::new(),
                    entered: *t,
                    deadline: None,
                    fired: None,
                    exited: None,
                });
                if scope.fired.is_some() {
                    return None;
                }
                scope.fired = Some(Fired {
                    t: *t,
                    reason: reason.clone(),
                    cancelled: cancelled.clone(),
                });
                let mark = scope.mark();
                let line = fired_line(scope, tasks);
                for task in cancelled {
                    if let Some(node) = self.nodes.get_mut(task) {
                        node.cancelled.get_or_insert((*t, mark));
                    }
                }
                return Some((Source::Cancel, line));
            }
            Event::ScopeExit {
                t,
                id,
                cancelled_caught,
            } => {
                self.structured = true;
                let scope = self.scopes.get_mut(id)?;
                scope.exited = Some((*t, *cancelled_caught));
                let note = cancelled_caught.then(|| {
                    (
                        Source::Info,
                        format!("{}: cancelled_caught = True", scope.call()),
                    )
                });
                let task = scope.task;
                self.forget_old_scopes(task);
                return note;
            }
            _ => {}
        }
        None
    }

    /// Keeps the scopes of a task bounded (a loop may enter thousands): a scope that ended
    /// without firing is never drawn, so it goes; of those that fired and ended, the latest
    /// [`SCOPES_KEPT`] stay.
    fn forget_old_scopes(&mut self, task: Option<u64>) {
        let Some(node) = task.and_then(|t| self.nodes.get_mut(&t)) else {
            return;
        };
        let scopes = &mut self.scopes;
        let over = |s: &ScopeInfo| s.exited.is_some();
        node.scopes.retain(|id| match scopes.get(id) {
            Some(s) if over(s) && s.fired.is_none() => {
                scopes.remove(id);
                false
            }
            Some(_) => true,
            None => false,
        });
        let ended: Vec<u64> = node
            .scopes
            .iter()
            .copied()
            .filter(|id| scopes.get(id).is_some_and(over))
            .collect();
        if ended.len() > SCOPES_KEPT {
            let drop = &ended[..ended.len() - SCOPES_KEPT];
            node.scopes.retain(|id| !drop.contains(id));
            for id in drop {
                scopes.remove(id);
            }
        }
    }

    fn task(&mut self, t: f64, id: u64, parent: Option<u64>, nursery: Option<u64>) {
        let known = self.nodes.contains_key(&id);
        if !known {
            self.order.push(id);
        }
        let old = self.nodes.get(&id).map(|n| n.nursery);
        if old == Some(nursery) {
            return;
        }
        // Take it out of where it was (a task started with `nursery.start()` moves).
        match old {
            Some(Some(n)) => {
                if let Some(n) = self.nurseries.get_mut(&n) {
                    n.children.retain(|c| *c != id);
                }
            }
            Some(None) => self.roots.retain(|c| *c != id),
            None => {}
        }
        self.nodes.entry(id).or_default().nursery = nursery;
        match nursery {
            Some(n) => {
                let nursery = self.nursery(t, n, parent);
                if !nursery.children.contains(&id) {
                    nursery.children.push(id);
                }
            }
            None => self.roots.push(id),
        }
    }

    /// The nursery `id`, created (owned by `owner`) the first time it is mentioned.
    fn nursery(&mut self, t: f64, id: u64, owner: Option<u64>) -> &mut NurseryInfo {
        if !self.nurseries.contains_key(&id) {
            match owner.and_then(|o| self.nodes.get_mut(&o)) {
                Some(node) => node.nurseries.push(id),
                None => self.loose.push(id),
            }
            self.nurseries.insert(
                id,
                NurseryInfo {
                    id,
                    owner,
                    opened: t,
                    closed: None,
                    announced: false,
                    children: Vec::new(),
                },
            );
        }
        self.nurseries.get_mut(&id).expect("just inserted")
    }

    /// Whether nursery `id` is worth drawing: announced by the harness, or holding tasks (an
    /// inferred nursery left empty is the hidden one `nursery.start()` runs a task in first).
    pub fn shows_nursery(&self, id: u64) -> bool {
        self.nurseries
            .get(&id)
            .is_some_and(|n| n.announced || !n.children.is_empty())
    }

    /// Scopes of task `id` worth drawing in the tree: those still active and those that
    /// fired, the latest `max` of them.
    pub fn shown_scopes(&self, id: u64, max: usize) -> Vec<&ScopeInfo> {
        let Some(node) = self.nodes.get(&id) else {
            return vec![];
        };
        let mut shown: Vec<&ScopeInfo> = node
            .scopes
            .iter()
            .rev()
            .filter_map(|s| self.scopes.get(s))
            .filter(|s| s.exited.is_none() || s.fired.is_some())
            .take(max)
            .collect();
        shown.reverse();
        shown
    }
}

/// `⏱ move_on_after(3) fired at 3.00 s: cancelled sleepy(10)`. The scope's own task is named
/// only when nothing else was inside (it is interrupted, but it goes on after the scope).
fn fired_line(scope: &ScopeInfo, tasks: &HashMap<u64, TaskInfo>) -> String {
    let fired = scope.fired.as_ref().expect("called once fired");
    let why = match fired.reason.as_str() {
        "deadline" | "" | "unknown" => String::new(),
        "explicit" => " by cancel()".into(),
        "nursery" => " by its nursery".into(),
        "KeyboardInterrupt" => " by KeyboardInterrupt".into(),
        other => format!(" ({other})"),
    };
    let mut line = format!(
        "{} {}{why} fired at {:.2} s",
        scope.mark().glyph(),
        scope.call(),
        fired.t
    );
    let mut victims: Vec<u64> = fired
        .cancelled
        .iter()
        .copied()
        .filter(|id| Some(*id) != scope.task)
        .collect();
    if victims.is_empty() {
        victims = fired.cancelled.clone();
    }
    let names: Vec<&str> = victims
        .iter()
        .take(NAMES_LISTED)
        .map(|id| tasks.get(id).map_or("?", |t| t.name.as_str()))
        .collect();
    if !names.is_empty() {
        line.push_str(": cancelled ");
        line.push_str(&names.join(", "));
        if victims.len() > NAMES_LISTED {
            line.push_str(&format!(" and {} more", victims.len() - NAMES_LISTED));
        }
    }
    line
}

#[cfg(test)]
#[path = "tree_tests.rs"]
pub(crate) mod tests;
