"""Protocol: the two pipes, events out (fd 3) and commands in (fd 4).

Events go out on fd 3 as one JSON object per line, commands come in on fd 4, one per line
(see docs/protocol.md).  Every event except ``ready`` carries ``t``: seconds since the ``run``
command arrived, on the monotonic clock.

Events are written without Python-level buffering, so the presenter sees a print within
microseconds: an event is written at once with its own ``os.write``, unless the harness is in
the middle of a burst (more than DIRECT_WRITES events without a pause of BATCH_DELAY, i.e. a
flood of prints).  Then events wait in a batch, written as one ``os.write`` when it is full,
when it is BATCH_DELAY old (by a thread of its own), or at the end of the run.  A lone event
is never delayed; under a flood this saves most of the system calls and most of the
presenter's wake-ups (a flood of 100,000 prints runs twice as fast).  Printed lines are
counted apart from the other events, so the burst of task events a demo starts with never
holds its first prints back.

A write never exceeds PIPE_BUF (4096 bytes) when it carries printed text: writes of up to
PIPE_BUF bytes to a pipe are atomic, so a Ctrl-C that lands in the middle of a flood of prints
can drop lines but never tear one in half.  Longer printed lines are sent as several ``out``
events, all but the last without a trailing newline (the same shape as a partial line flushed
after a delay).

End of file on fd 4 (or a broken events pipe) means the presenter is gone: the harness
SIGKILLs its own process group, so the demo's subprocesses go too.  The presenter also starts
a watchdog process in our group (src/kernel/watchdog.rs) that does the same on the same
hang-up even while the demo holds the GIL.

Details docs/protocol.md leaves open, as this harness does them:
  * ``info`` texts: ``running main()``, ``stopped by presenter``, ``exited with code N``,
    ``the demo closed sys.stdout; its output is still shown`` (or sys.stderr).
  * ``task_exit`` has ``error`` only when ``outcome`` is ``error``.
  * ``state`` lists changes only: a task is running from its ``task`` event on.
  * ``scope`` for a bare ``trio.CancelScope()`` has ``kind`` ``CancelScope`` and ``arg`` "".
  * ``listen`` comes once per listening socket (serve_tcp opens one per address family).
"""

import errno
import io
import json
import os
import signal
import threading
import time

import trio

from .state import _lock, _state

EVENTS_FD = int(os.environ.get("TRIO_PRESENT_EVENTS_FD", "3"))
COMMANDS_FD = int(os.environ.get("TRIO_PRESENT_COMMANDS_FD", "4"))
PIPE_BUF = 4096
BATCH_DELAY = 0.001  # the longest an event waits in a batch
DIRECT_WRITES = 10  # events of a burst written at once before batching starts

_json_str = json.encoder.encode_basestring  # the C string encoder json.dumps uses


def _write(data):
    """Writes bytes to the events pipe; a dead presenter means there is nobody to run for."""
    try:
        while data:
            data = data[os.write(EVENTS_FD, data):]
        _write.worked = True
    except OSError as exc:
        if exc.errno == errno.EBADF and _write.worked:
            _say_and_exit("the demo closed fd %d (the events pipe): the run cannot report more"
                          % EVENTS_FD)
        if exc.errno == errno.EBADF:
            _no_pipes()
        if exc.errno == errno.EPIPE:
            _presenter_gone()
        raise


_write.worked = False  # once an event went out, a closed fd 3 is the demo's doing


def _say_and_exit(text):
    """Last words on stderr (shown by the presenter as the interpreter's own output)."""
    try:
        os.write(2, ("trio-present harness: %s\n" % text).encode())
    finally:
        os._exit(2)


def _presenter_gone():
    """A pipe to the presenter broke: it is gone, and what the demo started goes with us."""
    try:
        # Only a group of our own (as the presenter starts us) is ours to kill.
        if os.getpgrp() == os.getpid():
            _kill_descendants()
            os.killpg(0, signal.SIGKILL)
    finally:
        _real_exit(0)


_real_exit = os._exit
_HARNESS_PID = os.getpid()


def _kill_descendants():
    """SIGKILLs every process below this interpreter, also those in other sessions.

    The presenter makes the interpreter a child subreaper (PR_SET_CHILD_SUBREAPER), so an
    orphan of the demo (double fork, ``setsid``) is re-parented to us instead of to init, and
    this walk of /proc finds it.  A killed process's children move up to us: walk again.
    """
    me = os.getpid()
    if me != _HARNESS_PID or os.getpgrp() != me:
        return  # a fork of the demo's (it inherited os._exit), or started by hand

    for _ in range(8):
        children = {}
        try:
            names = os.listdir("/proc")
        except OSError:
            return
        for name in names:
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            if len(fields) > 1 and fields[0] != b"Z":
                children.setdefault(int(fields[1]), []).append(int(name))
        found, stack = [], [me]
        while stack:
            kids = children.get(stack.pop(), ())
            found.extend(kids)
            stack.extend(kids)
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _exit_with_descendants(status):
    """``os._exit`` for slide code: what the demo started must not outlive it."""
    try:
        _kill_descendants()
    finally:
        _real_exit(status)


def _no_pipes():
    """Started by hand, without the presenter's pipes: say so instead of a traceback."""
    _say_and_exit("fds %d/%d are not open (the presenter runs this)" % (EVENTS_FD, COMMANDS_FD))


def _encode(text):
    # A lone surrogate (from a surrogate-escaped file name, say) is not valid UTF-8: the
    # presenter would reject the whole line, so it becomes "?" instead.
    return text.encode("utf-8", "replace")


class _Batch:
    """Event lines waiting to be written together (touched only under _lock)."""

    lines = []
    size = 0  # bytes in ``lines``
    since = 0.0  # when the first of them was queued
    last = float("-inf")  # when the previous event was sent or queued (or its write ended)
    direct = 0  # events written at once since the last quiet moment
    direct_prints = 0  # of them, printed lines (``out``)
    wake = threading.Event()  # set while lines wait: the cue of the batch flusher thread


class _Held:
    """Events of a prepared run, kept back until ``go`` (see execute.py's ``prepare``).

    While ``lines`` is a list, nothing reaches the presenter: it must not see the set-up of a
    run the speaker has not started.  ``go`` re-stamps them at ``t`` 0 and sends them.
    """

    lines = None


def _hold():
    """From now on, events wait in ``_Held`` instead of going out (caller holds _lock)."""
    _Held.lines = []


def _release():
    """``go``: the run's clock starts now, and what waited goes out, at ``t`` 0."""
    with _lock:
        _state.t0 = time.monotonic()
        lines, _Held.lines = _Held.lines or [], None
        restamped = []
        for line in lines:
            event = json.loads(line)
            if "t" in event:
                event["t"] = 0.0
            restamped.append(_encode(json.dumps(event, ensure_ascii=False) + "\n"))
        # In as few writes as fit, and not counted as a burst: the run's own first events
        # must still go out at once.
        _write_lines(restamped)


def _send_line(line, now, printed=False):
    """Sends one encoded event line, at once or in the current batch (caller holds _lock).

    ``printed`` lines are counted on their own: the burst of task events with which a demo
    starts must not make its first prints wait in a batch, so the first DIRECT_WRITES prints
    after a quiet moment go out at once (taking any waiting batch along, in order)."""
    if _Held.lines is not None:
        _Held.lines.append(line)
        return
    batch = _Batch
    if now - batch.last >= BATCH_DELAY:  # a quiet moment: whatever comes now is not a flood
        batch.direct = batch.direct_prints = 0
    batch.last = now
    if printed and batch.direct_prints < DIRECT_WRITES and len(line) <= PIPE_BUF:
        batch.direct_prints += 1
        if batch.lines:
            batch.lines.append(line)
            batch.size += len(line)
            _flush_events()
        else:
            _write(line)
        return
    if batch.lines:
        if batch.size + len(line) <= PIPE_BUF and now - batch.since < BATCH_DELAY:
            batch.lines.append(line)
            batch.size += len(line)
            return
        _flush_events()
    if batch.direct < DIRECT_WRITES or len(line) > PIPE_BUF:
        batch.direct += 1
        _write(line)
        return
    batch.lines, batch.size, batch.since = [line], len(line), now
    batch.wake.set()


def _flush_events():
    """Writes the waiting event lines, if any (caller holds _lock)."""
    batch = _Batch
    if batch.lines:
        lines, batch.lines, batch.size = batch.lines, [], 0
        _write_lines(lines)
        # A write that waited for a slow reader is not a quiet moment.
        batch.last = time.monotonic()


def _flush_batches_forever():
    """The batch flusher thread: writes a batch nobody else flushed once it is BATCH_DELAY old.

    (While the demo computes without printing, this thread gets the GIL only at the next
    switch interval, 5 ms: the last lines of a flood can wait that long, a lone line never.)
    """
    batch = _Batch
    while True:
        batch.wake.wait()
        with _lock:
            delay = batch.since + BATCH_DELAY - time.monotonic() if batch.lines else 0
            if delay <= 0:
                _flush_events()
                batch.wake.clear()
                continue
        time.sleep(delay)


def emit(ev, **fields):
    """Sends one event.  Every event except ``ready`` gets ``t``."""
    with _lock:
        now = time.monotonic()
        event = {"ev": ev}
        if ev != "ready":
            event["t"] = round(now - _state.t0, 6)
        event.update(fields)
        _send_line(_encode(json.dumps(event, ensure_ascii=False) + "\n"), now)


def _out_lines(task_id, stream, text, now):
    """The encoded ``out`` event lines for ``text`` (split to stay below PIPE_BUF)."""
    head = '{"ev":"out","t":%.6f,"task":%s,"stream":"%s","text":' % (
        now - _state.t0,
        "null" if task_id is None else task_id,
        stream,
    )
    if len(text) <= PIPE_BUF:  # (longer text cannot fit: its JSON is at least as long)
        line = _encode(head + _json_str(text) + "}\n")
        if len(line) <= PIPE_BUF:
            return [line]
    # 600 characters stay below PIPE_BUF even if every one is escaped as \u00XX.
    return [_encode(head + _json_str(text[i:i + 600]) + "}\n") for i in range(0, len(text), 600)]


def _write_lines(lines):
    """Writes several event lines, packed into as few atomic writes as possible."""
    batch, size = [], 0
    for line in lines:
        if size + len(line) > PIPE_BUF and batch:
            _write(b"".join(batch))
            batch, size = [], 0
        batch.append(line)
        size += len(line)
    if batch:
        _write(b"".join(batch))


# The pipes are the harness's: a subprocess of the demo (``os.system``, ``subprocess`` with
# ``close_fds=False``) must not inherit them.  One that held the events pipe would keep the
# presenter from seeing end of file when we exit.
for _fd in (EVENTS_FD, COMMANDS_FD):
    try:
        os.set_inheritable(_fd, False)
    except OSError:  # not open: reported below or at the first event
        pass

# Commands: the main thread reads the ``run`` line, then a listener thread keeps reading the
# same buffered file (two readers would each swallow what the other needs).
try:
    _commands = io.open(COMMANDS_FD, "rb", closefd=False)
except OSError:
    _no_pipes()


def _read_command():
    """The next command (a dict).  End of file means the presenter is gone: exit at once, and
    take the demo's subprocesses along."""
    while True:
        line = _commands.readline()
        if not line:
            _presenter_gone()
        try:
            command = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(command, dict):
            return command


class _Stop:
    """The presenter's stop button.

    ``cancel`` arrives on the listener thread while the main thread runs the demo.  Inside
    trio, the run's root cancel scope is cancelled through the run's TrioToken (the only
    thread-safe way into a trio run): tasks get Cancelled at their next checkpoint.  Outside
    trio (plain blocks) there is nothing to cancel, so the harness sends itself the SIGINT the
    presenter sends along anyway.  A task that never reaches a checkpoint (``while True:``
    without await) is stopped by the presenter's SIGINT too.  The flag is also checked before
    each block and before main().
    """

    def __init__(self):
        self.requested = False
        self._lock = threading.Lock()
        self._scope = None
        self._token = None

    def request(self):
        with self._lock:
            self.requested = True
            scope, token = self._scope, self._token
        if scope is not None:
            try:
                token.run_sync_soon(scope.cancel)
                return
            except Exception:  # trio.RunFinishedError: the run ended meanwhile
                pass
        os.kill(os.getpid(), signal.SIGINT)  # ignored once the run is being reported

    def attach(self, scope):
        """Called inside a fresh trio run with its root cancel scope."""
        with self._lock:
            self._scope, self._token = scope, trio.lowlevel.current_trio_token()
            if self.requested:
                scope.cancel()

    def detach(self):
        with self._lock:
            self._scope = self._token = None


_stop = _Stop()


# Set by ``go``: the prepared run may start (execute.py waits for it).
_go = threading.Event()
# Called (on the listener thread) right after ``go``: how a run that already waits inside trio
# is woken (tree.py's ``_until_go``).
_go_hooks = []


def _listen_for_commands():
    while True:
        cmd = _read_command().get("cmd")
        if cmd == "cancel":
            _stop.request()
        elif cmd == "go" and not _go.is_set():
            _release()
            _go.set()
            for hook in list(_go_hooks):
                hook()

