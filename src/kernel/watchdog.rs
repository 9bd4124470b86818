//! The watchdog beside each interpreter: a tiny process in the interpreter's process group
//! that waits for the presenter to go away and then SIGKILLs the whole group (the interpreter,
//! the demo, everything it started).
//!
//! The presenter holds the only write end of the interpreter's commands pipe (fd 4), so a
//! hang-up there means the presenter is gone, also when it was SIGKILLed and could clean up
//! nothing. The harness notices the same end of file in a thread, but only when that thread
//! gets the GIL, and a demo stuck in C code can hold the GIL for minutes: the watchdog is a
//! process of its own. It is this binary again (`trio-present` with one secret argument),
//! started between fork and exec of the interpreter, so it costs a few hundred KB rather than
//! a forked Python's megabytes, and nothing a demo does can delay it.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};

/// The argument that turns this binary into a watchdog.
const ARG: &str = "__trio_present_watchdog";

/// Only the `trio-present` binary can play the watchdog; a library user (or a test binary)
/// that never called [`enable`] simply gets none.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Called first thing by `main`: becomes the watchdog when asked to (never returns then), and
/// otherwise records that this binary can start watchdogs.
pub fn run_if_asked() {
    if std::env::args_os().nth(1).is_some_and(|a| a == ARG) {
        watch(super::protocol::COMMANDS_FD)
    }
    ENABLED.store(true, Ordering::SeqCst);
}

/// Waits for the hang-up of `fd`, then kills the interpreter's process tree and our process
/// group (ourselves included).
fn watch(fd: i32) -> ! {
    // SAFETY: plain syscalls on our own fds and process group.
    unsafe {
        let mut pfd = libc::pollfd {
            fd,
            events: 0, // no data wanted: waiting commands must not wake us, only the hang-up
            revents: 0,
        };
        loop {
            let rc = libc::poll(&mut pfd, 1, -1);
            if rc > 0 || (rc < 0 && *libc::__errno_location() != libc::EINTR) {
                break;
            }
        }
        // The interpreter leads our group and is a subreaper: what left the group through
        // a new session is still below it (reaper.rs).
        super::reaper::kill_descendants(libc::getpgrp());
        libc::killpg(0, libc::SIGKILL);
        libc::_exit(0)
    }
}

/// What the pre-exec hook needs, prepared before the fork (nothing may allocate after it).
pub struct Launcher {
    exe: CString,
    arg: CString,
    devnull: CString,
}

impl Launcher {
    /// `None` unless this is the `trio-present` binary (see [`run_if_asked`]).
    pub fn new() -> Option<Launcher> {
        ENABLED.load(Ordering::SeqCst).then(|| Launcher {
            // The running binary even if it was rebuilt or deleted meanwhile.
            exe: CString::new("/proc/self/exe").expect("no NUL"),
            arg: CString::new(ARG).expect("no NUL"),
            devnull: CString::new("/dev/null").expect("no NUL"),
        })
    }

    /// In the interpreter's child before exec, with fd 4 in place and the child leading its
    /// own process group: starts the watchdog as a grandchild-of-a-grandchild (double fork),
    /// so that it is nobody's child a demo could `os.wait()` for.
    ///
    /// # Safety
    /// Only between fork and exec; uses async-signal-safe calls only.
    pub unsafe fn launch(&self) -> std::io::Result<()> {
        let middle = libc::fork();
        if middle < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if middle > 0 {
            let mut status = 0;
            while libc::waitpid(middle, &mut status, 0) < 0
                && *libc::__errno_location() == libc::EINTR
            {}
            return Ok(());
        }
        if libc::fork() != 0 {
            libc::_exit(0);
        }
        // The watchdog: it must not hold the interpreter's output pipes (the presenter waits
        // for their end of file) nor die of the SIGINT that a stop sends to the group.
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        let null = libc::open(self.devnull.as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        for fd in 3..1024 {
            if fd != super::protocol::COMMANDS_FD {
                libc::close(fd);
            }
        }
        let argv = [self.exe.as_ptr(), self.arg.as_ptr(), std::ptr::null()];
        libc::execv(self.exe.as_ptr(), argv.as_ptr());
        libc::_exit(127)
    }
}
