//! The registry of live interpreter process groups, so that every exit path of the presenter
//! (quit, panic hook, SIGTERM/SIGHUP) can kill them all: no demo outlives the presenter; and
//! killing one interpreter's whole process *tree*, not only its group.
//!
//! A demo's process can leave the interpreter's group (`os.setsid()`,
//! `start_new_session=True`, a double fork into a new session), so a group kill misses it. The
//! interpreter is therefore made a child subreaper (`PR_SET_CHILD_SUBREAPER`, set between fork
//! and exec, see `process.rs`): every process a demo starts stays below it in the process
//! tree, even an orphan, for as long as the interpreter lives. Killing that tree before the
//! interpreter itself reaches all of them.

use std::sync::Mutex;

static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<i32>> {
    // A panic elsewhere must not stop us from cleaning up.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records a process group (its leader's pid) as ours.
pub fn register(pgid: i32) {
    live().push(pgid);
}

/// Forgets a process group once it has been reaped.
pub fn unregister(pgid: i32) {
    live().retain(|p| *p != pgid);
}

/// SIGKILLs a process group; a group that is already gone is fine.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: plain syscall; pgid is one of our children's groups.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
    }
}

/// SIGKILLs a live interpreter's descendants (see the module doc), then its process group
/// (it leads it). Only for an interpreter not yet reaped: its pid cannot have been reused.
pub fn kill_tree(pid: i32) {
    if pid > 1 {
        kill_descendants(pid);
        kill_group(pid);
    }
}

/// SIGKILLs every live process below `pid`. A killed process's children move up to the
/// subreaper, so the walk repeats until it finds nobody (a demo forking in a loop is outrun
/// within a few rounds).
pub fn kill_descendants(pid: i32) {
    for _ in 0..8 {
        let found = descendants(pid);
        if found.is_empty() {
            return;
        }
        for p in found {
            // SAFETY: plain syscall; p was below our own child a moment ago.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
}

/// The live (not zombie) processes below `pid`, read from `/proc`.
pub fn descendants(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: std::collections::HashMap<i32, Vec<i32>> = Default::default();
    for entry in dir.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some((state, ppid)) = std::fs::read(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|stat| parse_stat(&stat))
        {
            if state != b'Z' {
                children.entry(ppid).or_default().push(p);
            }
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Some(kids) = children.get(&p) {
            found.extend_from_slice(kids);
            stack.extend_from_slice(kids);
        }
    }
    found
}

/// `(state, ppid)` from a `/proc/PID/stat` line. The command name is in parentheses and may
/// itself contain spaces and parentheses, so the fields are counted from the last `)`.
fn parse_stat(stat: &[u8]) -> Option<(u8, i32)> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Kills every registered interpreter's tree (used on quit and from the panic/signal paths).
pub fn kill_all() {
    for pgid in live().iter() {
        kill_tree(*pgid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        assert_eq!(parse_stat(b"42 (a) b) c) S 7 42 42 0"), Some((b'S', 7)));
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[test]
    fn descendants_include_grandchildren() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while descendants(pid).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the sleep never appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        kill_descendants(pid);
        assert!(descendants(pid).is_empty());
        let _ = child.kill();
        let _ = child.wait();
    }
}
