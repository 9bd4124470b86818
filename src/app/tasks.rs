//! The vocabulary the run's output and its task tree share: who printed a line ([`Source`])
//! and what is known about a trio task ([`TaskInfo`]). A leaf module, so that the output
//! (which owns a tree) and the tree (which reads tasks) do not depend on each other.

/// Who a line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Printed by slide code, in a trio task (id) or outside trio (None).
    Task { task: Option<u64>, stderr: bool },
    /// Written to fd 1/2 around Python (C code, subprocesses).
    Raw { stderr: bool },
    /// A message about the run itself ("defined: sleepy", "stopped by presenter").
    Info,
    /// A traceback or a failure of the run.
    Error,
    /// A cancel scope fired (`⏱ move_on_after(3) fired at 3.00 s: cancelled sleepy(10)`).
    Cancel,
    /// A line the speaker typed into the demo's stdin (`i`), echoed.
    Input,
}

/// What is known about a trio task of the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    pub name: String,
    /// Index in spawn order, for its stable colour.
    pub index: usize,
    pub parent: Option<u64>,
    pub started: f64,
    /// `(time, outcome, error)` once it ended.
    pub ended: Option<(f64, String, Option<String>)>,
}
