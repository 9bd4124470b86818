//! The registry of live interpreter process groups, so that every exit path of the presenter
//! (quit, panic hook, SIGTERM/SIGHUP) can kill them all: no demo outlives the presenter.

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

/// Kills every registered group (used on quit and from the panic/signal paths).
pub fn kill_all() {
    for pgid in live().iter() {
        kill_group(*pgid);
    }
}
