"""trio-present kernel harness: runs the code of one slide on a real trio runtime.

The presenter starts this program as ``python -c <this source>`` ahead of time (a warm "spare"),
so there is no ``__file__`` and the module is ``__main__``.  It imports trio, says ``ready``,
waits for one ``run`` command, runs the slide, reports everything it sees as JSON events and
exits.  Each interpreter runs exactly once: nothing a demo leaves behind (threads, sockets,
half-cancelled tasks) can leak into the next slide.

The file is meant to be read by a speaker whose demo just did something surprising.  It is
one module in six parts, each opened by its own docstring:

    1. Protocol          -- the two pipes, events out (fd 3) and commands in (fd 4)
    2. Output capture    -- print() becomes ``out`` events, tagged with the printing task
    3. Task tree         -- a trio Instrument that names tasks like the call in the source
    4. Patches           -- the only places where trio is touched (small, documented)
    5. Tracebacks        -- errors are shown with slide frames only
    6. Execution         -- set-up blocks, the slide's blocks, main(), stopping, ``done``

The contract with the presenter is docs/protocol.md.  Fields added here beyond it (the
presenter ignores unknown fields and events) are listed in that part's docstring.
"""

import ast
import builtins
import codecs
import collections.abc
import contextvars
import errno
import functools
import inspect
import io
import json
import linecache
import os
import signal
import socket
import sys
import threading
import time
import traceback
import types
import weakref

# First thing, before importing trio: the presenter started us in our own process group and
# will stop a demo with SIGINT to that group.  If our parent had SIGINT ignored, Python keeps
# it ignored; SIG_DFL would kill us without a word.  ``default_int_handler`` raises
# KeyboardInterrupt, which is also the handler trio looks for before it installs its own
# (so Ctrl-C semantics inside trio.run are trio's usual ones).  Between ``ready`` and the
# start of the run a gentler handler stands in (see _main).
signal.signal(signal.SIGINT, signal.default_int_handler)


try:
    import trio
except KeyboardInterrupt:  # the presenter is shutting the spare down while it warms up
    os._exit(0)
except Exception:  # e.g. trio 0.22 on Python 3.13: say so on stderr, which the presenter shows
    traceback.print_exc()
    sys.stderr.write("trio-present: %s cannot import trio\n" % sys.executable)
    sys.stderr.flush()
    os._exit(1)


# ============================================================================================
"""Part 1: Protocol.

Events go out on fd 3 as one JSON object per line, commands come in on fd 4, one per line
(see docs/protocol.md).  Every event except ``ready`` carries ``t``: seconds since the ``run``
command arrived, on the monotonic clock.

Events are written without Python-level buffering, so the presenter sees a print within
microseconds: an event is written at once with its own ``os.write``, unless the harness is in
the middle of a burst (more than DIRECT_WRITES events without a pause of BATCH_DELAY, i.e. a
flood of prints).  Then events wait in a batch, written as one ``os.write`` when it is full,
when it is BATCH_DELAY old (by a thread of its own), or at the end of the run.  A lone event
is never delayed; under a flood this saves most of the system calls and most of the
presenter's wake-ups (a flood of 100,000 prints runs twice as fast).

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

EVENTS_FD = int(os.environ.get("TRIO_PRESENT_EVENTS_FD", "3"))
COMMANDS_FD = int(os.environ.get("TRIO_PRESENT_COMMANDS_FD", "4"))
PIPE_BUF = 4096
BATCH_DELAY = 0.001  # the longest an event waits in a batch
DIRECT_WRITES = 10  # events of a burst written at once before batching starts

# One lock orders everything that touches the events pipe or the output buffers.  It is
# re-entrant because a KeyboardInterrupt can, in rare timing, leave a ``with`` half-done in the
# main thread, and the main thread must still be able to say ``done`` afterwards.
_lock = threading.RLock()
_t0 = time.monotonic()  # reset when ``run`` arrives
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
    wake = threading.Event()  # set while lines wait: the cue of the batch flusher thread


def _send_line(line, now):
    """Sends one encoded event line, at once or in the current batch (caller holds _lock)."""
    batch = _Batch
    if now - batch.last >= BATCH_DELAY:  # a quiet moment: whatever comes now is not a flood
        batch.direct = 0
    batch.last = now
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
            event["t"] = round(now - _t0, 6)
        event.update(fields)
        _send_line(_encode(json.dumps(event, ensure_ascii=False) + "\n"), now)


def _out_lines(task_id, stream, text, now):
    """The encoded ``out`` event lines for ``text`` (split to stay below PIPE_BUF)."""
    head = '{"ev":"out","t":%.6f,"task":%s,"stream":"%s","text":' % (
        now - _t0,
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


def _listen_for_commands():
    while True:
        if _read_command().get("cmd") == "cancel":
            _stop.request()


# ============================================================================================
"""Part 2: Output capture.

sys.stdout and sys.stderr are replaced by writers that turn text into ``out`` events, each
tagged with the harness id of the trio task that printed it (null outside trio, in plain
blocks and in worker threads).

print() is replaced too (see _print): the real one calls write() once per piece, which makes
a flood of prints twice as slow.  Text arrives in pieces anyway (``end=""``, direct write()
calls) and tasks interleave, so text is buffered per task and per stream and only whole lines
are sent.  A partial line (``print(x, end="")``) is sent when someone calls flush(), when its
task exits, at the end of the run, by the flusher thread once it is PARTIAL_DELAY old -- so
a progress-dots demo still shows its dots -- or at once when it holds PARTIAL_MAX characters
(a line that never ends stays bounded here; the presenter cuts long lines for display).

Code that writes around Python (C extensions, subprocesses, ``os.write(1, ...)``,
``sys.__stdout__``) reaches the real fds 1/2, which the presenter shows untagged; fileno()
gives those fds so a subprocess inheriting "sys.stdout" does the same.
"""

PARTIAL_DELAY = 0.03
PARTIAL_MAX = 1 << 16  # characters of a partial line held back at most (then sent as is)


class _State:
    silent = False  # set-up blocks: discard their output
    wrote = False  # did the slide's own code print anything?
    setup_phase = False  # trio.run() calls in set-up blocks are skipped (see part 6)
    setup_at = None  # (slide, deck line) of the set-up statement running, for a stop
    trio_runs = 0  # trio runs started by the slide's own blocks
    expose = False  # the presenter's ``expose`` flag (see part 4)


_state = _State()


# The task that is printing.  trio runs every task in its own copy of the context, and
# ``_watched`` (part 4) stores the task there when it starts, so finding it costs one lookup
# instead of trio.lowlevel.current_task()'s RuntimeError outside trio.  Outside trio (plain
# blocks, threads of the demo) it is None; trio.to_thread workers run in a copy of the
# calling task's context, so what they print is attributed to that task.
_task_var = contextvars.ContextVar("trio_present_task", default=None)
_current_task = _task_var.get


class _OutWriter(io.TextIOBase):
    """sys.stdout / sys.stderr during a run: text in, ``out`` events out."""

    encoding = "utf-8"
    errors = "strict"
    newlines = None
    line_buffering = False
    mode = "w"

    def __init__(self, stream, fd):
        super().__init__()
        self.name = "<%s>" % stream
        self._stream = stream
        self._fd = fd
        # task (or None) -> [pieces of the pending partial line, time it started waiting,
        # task id for the event, characters in the pieces].  Pieces are joined when sent:
        # ``text += piece`` on a list item copies the whole text every time, which made a
        # demo printing dots with ``end=""`` quadratic.
        self._pending = {}
        self._closed = False
        self.buffer = _BinaryOut(self)

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if not s or _state.silent:
            return len(s)
        _state.wrote = True
        task = _current_task()
        with _lock:
            pending = self._pending.get(task)
            if "\n" not in s:  # print() writes its pieces one by one: just collect them
                if pending is None:
                    task_id = _tree.out_id(task) if task is not None else None
                    self._pending[task] = [[s], time.monotonic(), task_id, len(s)]
                else:
                    pending[0].append(s)
                    pending[3] += len(s)
                    if pending[3] >= PARTIAL_MAX:  # a line that does not end: send what is there
                        del self._pending[task]
                        self._send(pending[2], "".join(pending[0]))
                return len(s)
            if pending is None:
                text, task_id = s, _tree.out_id(task) if task is not None else None
            else:
                del self._pending[task]
                pending[0].append(s)
                text, task_id = "".join(pending[0]), pending[2]
            cut = text.rfind("\n") + 1
            self._send(task_id, text[:cut])
            if cut < len(text):
                self._pending[task] = [[text[cut:]], time.monotonic(), task_id, len(text) - cut]
        return len(s)

    def _send(self, task_id, text):
        """Sends whole lines (and at most one partial tail), one event per line."""
        now = time.monotonic()
        if text.count("\n") <= 1:  # the common case: one print, one line
            for line in _out_lines(task_id, self._stream, text, now):
                _send_line(line, now)
            return
        pieces = [piece + "\n" for piece in text.split("\n")]
        pieces[-1] = pieces[-1][:-1]  # the partial tail, "" if the text ends with a newline
        for piece in pieces:
            if piece:
                for line in _out_lines(task_id, self._stream, piece, now):
                    _send_line(line, now)

    def flush_task(self, task):
        with _lock:
            pending = self._pending.pop(task, None)
            if pending is not None:
                self._send(pending[2], "".join(pending[0]))

    def flush_older_than(self, deadline):
        with _lock:
            for task, pending in list(self._pending.items()):
                if pending[1] <= deadline:
                    del self._pending[task]
                    self._send(pending[2], "".join(pending[0]))

    def flush_all(self):
        self.flush_older_than(float("inf"))

    def flush(self):
        self.flush_task(_current_task())

    def close(self):
        # Demo code closing sys.stdout must not lose the stream for good: it stays open, and
        # the speaker is told once, in case the demo meant to show what closing does.
        self.flush()
        if not self._closed and not _state.silent:
            self._closed = True
            emit("info", text="the demo closed sys.%s; its output is still shown" % self._stream)

    def fileno(self):
        return self._fd

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False


class _BinaryOut:
    """``sys.stdout.buffer``: bytes are decoded as UTF-8 and printed like text."""

    def __init__(self, text_writer):
        self._text = text_writer
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def write(self, data):
        self._text.write(self._decoder.decode(bytes(data)))
        return len(data)

    def flush(self):
        self._text.flush()

    def fileno(self):
        return self._text.fileno()

    def isatty(self):
        return False

    def writable(self):
        return True


_stdout = _OutWriter("stdout", 1)
_stderr = _OutWriter("stderr", 2)
_builtin_print = builtins.print


@functools.wraps(_builtin_print)
def _print(*objects, sep=None, end=None, file=None, flush=False):
    """builtins.print during a run: the same text, in one write() instead of one per piece.

    print("line", i, "of the flood") calls write() six times; joining the pieces first makes
    a flood of prints about twice as fast.  Anything unusual (another file, a sep that is not
    a str) goes to the real print, which raises its own errors.
    """
    if file is None:
        file = sys.stdout
    if ((file is _stdout or file is _stderr) and (sep is None or type(sep) is str)
            and (end is None or type(end) is str)):
        file.write((" " if sep is None else sep).join(
            [o if type(o) is str else str(o) for o in objects]) + ("\n" if end is None else end))
        if flush:
            file.flush()
        return None
    return _builtin_print(*objects, sep=sep, end=end, file=file, flush=flush)


def _flush_partials_forever():
    while True:
        time.sleep(PARTIAL_DELAY / 2)
        deadline = time.monotonic() - PARTIAL_DELAY
        _stdout.flush_older_than(deadline)
        _stderr.flush_older_than(deadline)
        _tree.flush_states()


# ============================================================================================
"""Part 3: Task tree (a trio Instrument).

Every task the demo starts gets a small id in spawn order and a ``task`` event whose name is
the call as it reads in the source: ``main()``, ``sleepy(3)``, ``starter(<nursery>)``,
``trio.serve_tcp(handler, 1234)``, ``handler(<SocketStream>)``.  The arguments come from the
new coroutine's frame (its positional parameters), before it has run a single step.

Which tasks show up:
  * the run's root task (named after what it runs, e.g. ``main()``), and every task spawned,
    directly or not, by a task that is shown.  trio's system tasks (``<init>``, the
    run_sync_soon task, ...) are never descendants of the root task, so they are left out.
  * trio's private helper tasks (``_serve_one_listener`` in serve_tcp, the connection attempts
    in open_tcp_stream, ...) are hidden: their children and their output are attributed to the
    nearest shown ancestor.  trio's public functions started as tasks are shown as
    ``trio.name(...)`` (``trio.sleep(5)``), public methods by their class (``Event.wait()``);
    trio's per-connection ``_run_handler(stream, handler)`` is shown as the call it makes,
    ``handler(<SocketStream>)``.
  * Arguments are shown by repr, cut at 24 characters; nurseries as ``<nursery>``, functions
    and classes by name, and objects whose repr is ``<...>`` noise by type: ``<SocketStream>``.

``parent`` is the task owning the nursery the task runs in (the nursery's parent task, not
whoever called start_soon: a task started by ``starter`` in ``main``'s nursery is a child of
``main``).  ``nursery.start()`` first runs the child in a hidden nursery and later moves it
without telling instruments, so before each step the task's nursery is compared with the one
last reported and a corrected ``task`` event is sent when it changed.

How a task ended (``task_exit`` ``outcome``) is not visible to instruments: part 4 wraps every
spawned coroutine in ``_watched``, which records ok / cancelled / error before the task exits.

The same class feeds the tree and the timeline with (docs/protocol.md, "Structured-concurrency
events"):
  * ``nursery`` / ``nursery_exit``: a nursery opened by a shown task (or a hidden one: then
    ``task`` is its nearest shown ancestor), reported by the ``trio.open_nursery`` patch in
    part 4.  Nurseries that trio opens for itself (the system nursery, ...) belong to no demo
    task and are left out.  A nursery the patch did not see (opened through a trio-internal
    path) is still announced, lazily, before its first child's ``task`` event.
  * ``state``: which shown tasks became *running* (scheduled or stepping) or *waiting*
    (blocked at a checkpoint).  A task is waiting when its step ends without trio having
    rescheduled it (``task_scheduled`` during its own step means ``await sleep(0)``), and
    running again when trio schedules it.  A new task is running from its ``task`` event on;
    after that only changes are sent, at most every STATE_INTERVAL, in one event (the flusher
    thread of part 2 sends what is still pending when trio goes quiet).  A hook costs a dict
    lookup when nothing changed, so a flood of steps stays cheap.
  * ``scope`` / ``scope_fired`` / ``scope_exit``: cancel scopes entered from slide code
    (``with trio.move_on_after(3):``), reported by the CancelScope patches in part 4.
    ``scope_fired`` is sent when trio cancels the scope -- its deadline passing is noticed by
    trio's run loop, which cancels the scope before it wakes the tasks up, so the event
    precedes its effects (``task_exit`` cancelled, ``scope_exit``).  It lists the shown tasks
    inside the scope at that moment (part 4, "trio internals").  A scope cancelled before it
    was entered (``move_on_after(0)``) fires right after its ``scope`` event; if the
    cancellation hook is missing (see part 4), a cancelled scope fires when it exits.
"""

STATE_INTERVAL = 0.05


class _Record:
    __slots__ = ("id", "out_id", "nursery", "nurseries")

    def __init__(self, task_id, out_id, nursery):
        self.id = task_id  # None for hidden tasks
        self.out_id = task_id if task_id is not None else out_id  # who "owns" its output
        self.nursery = nursery
        self.nurseries = []  # nurseries this task owns, to forget their ids with it


class _TaskTree(trio.abc.Instrument):
    enabled = True  # False if the patches in part 4 could not be installed

    def __init__(self):
        self.records = {}  # task -> _Record, for shown and hidden demo tasks alive now
        self.outcomes = {}  # task -> (outcome, error type name), filled by _watched
        self._next_task_id = 1
        self._nursery_ids = {}
        self._next_nursery_id = 1
        self._scopes = {}  # open cancel scope of the slide -> [its id, fired yet?]
        self._next_scope_id = 1
        # Scheduling state for ``state`` events.  Only trio's thread writes ``_state`` (without
        # the lock: each write is one atomic dict operation); sending compares a snapshot of
        # it with ``_sent`` under _lock, in trio's thread or in the flusher thread.
        self._stepping = None  # the task in its step right now
        self._rescheduled = False  # ... and whether trio rescheduled it during that step
        self._state = {}  # shown task id -> "running" / "waiting"
        self._changed = False  # _state changed since the last comparison
        self._sent = {}  # shown task id -> the state the presenter knows
        self._last_state = float("-inf")  # when _state was last compared

    def out_id(self, task):
        record = self.records.get(task)
        return record.out_id if record is not None else None

    # -- nurseries --------------------------------------------------------------------------

    def _nursery_id(self, nursery, owner):
        nursery_id = self._nursery_ids.get(nursery)
        if nursery_id is None:
            nursery_id = self._nursery_ids[nursery] = self._next_nursery_id
            self._next_nursery_id += 1
            owner.nurseries.append(nursery)
            emit("nursery", id=nursery_id, task=owner.out_id)
        return nursery_id

    # The reports below come from the patches in part 4, i.e. from inside the demo's own
    # calls (and trio's run loop): like trio's hooks, they must never raise.

    def nursery_opened(self, nursery):
        try:
            owner = self.records.get(nursery.parent_task)
            if owner is not None:
                self._nursery_id(nursery, owner)
        except Exception:
            pass

    def nursery_closed(self, nursery):
        try:
            nursery_id = self._nursery_ids.pop(nursery, None)
            if nursery_id is not None:
                emit("nursery_exit", id=nursery_id)
        except Exception:
            pass

    def _placement(self, task):
        """(parent id, nursery id, nearest shown ancestor id) of a demo task, or None."""
        nursery = task.parent_nursery
        parent = self.records.get(nursery.parent_task) if nursery is not None else None
        if parent is None:
            return None
        return parent.out_id, self._nursery_id(nursery, parent), parent.out_id

    # -- cancel scopes ----------------------------------------------------------------------

    def scope_entered(self, scope, kind, arg):
        try:
            record = self.records.get(trio.lowlevel.current_task())
            if record is None:
                return
            scope_id = self._next_scope_id
            self._next_scope_id += 1
            self._scopes[scope] = [scope_id, False]
            deadline = scope.deadline
            if deadline == float("inf"):
                deadline = None
            else:  # trio's clock has its own origin: convert to seconds since the run started
                deadline = round(deadline - trio.current_time() + time.monotonic() - _t0, 6)
            emit("scope", id=scope_id, task=record.out_id, kind=kind, arg=arg, deadline=deadline)
            if scope.cancel_called:  # cancelled already: move_on_after(0), a past deadline
                self.scope_fired(scope, None)
        except Exception:
            pass

    def watches(self, scope):
        """Is ``scope`` a slide's scope not reported fired yet?  (Cheap: called on every
        cancellation, also of the scopes inside trio.sleep.)"""
        entry = self._scopes.get(scope)
        return entry is not None and not entry[1]

    def scope_fired(self, scope, reason):
        """Reports a cancellation of a slide's scope; ``reason`` None means "work it out"."""
        try:
            entry = self._scopes.get(scope)
            if entry is None or entry[1]:
                return
            entry[1] = True
            if reason is None:
                reason = _guess_reason(scope)
            emit("scope_fired", id=entry[0], reason=reason,
                 cancelled=_tasks_reached(scope, self.records))
        except Exception:
            pass

    def scope_exited(self, scope):
        try:
            entry = self._scopes.get(scope)
            if entry is None:
                return
            if not entry[1] and scope.cancel_called:  # the cancellation hook missed it
                self.scope_fired(scope, None)
            del self._scopes[scope]
            emit("scope_exit", id=entry[0], cancelled_caught=bool(scope.cancelled_caught))
        except Exception:
            pass

    # -- running / waiting ------------------------------------------------------------------

    def _set_state(self, task_id, state):
        """Called on every step: a dict lookup, and a clock read when something changed."""
        states = self._state
        if states.get(task_id) is state:
            return
        states[task_id] = state
        self._changed = True
        now = time.monotonic()
        if now - self._last_state >= STATE_INTERVAL:
            with _lock:
                self._send_states(now)

    def _send_states(self, now):
        """Sends the tasks whose state differs from what was sent (caller holds _lock)."""
        self._last_state = now
        self._changed = False  # before the snapshot: a change after it sets it again
        running, waiting = [], []
        for task_id, state in list(self._state.items()):  # (one atomic copy)
            if self._sent.get(task_id) is not state:
                self._sent[task_id] = state
                (running if state == "running" else waiting).append(task_id)
        if running or waiting:
            emit("state", running=sorted(running), waiting=sorted(waiting))

    def flush_states(self):
        """Called by the flusher thread: sends changes that waited for STATE_INTERVAL."""
        if self._changed:
            with _lock:
                now = time.monotonic()
                if self._changed and now - self._last_state >= STATE_INTERVAL:
                    self._send_states(now)

    # -- trio's hooks -----------------------------------------------------------------------
    # They run inside trio's scheduler and must never raise (trio would disable the
    # instrument and log to stderr), so each one swallows its own surprises.

    def task_spawned(self, task):
        try:
            if _is_root(task.coro):
                placement = (None, None, None)
            else:
                placement = self._placement(task)
                if placement is None:
                    return  # a trio system task
            name = _task_label(task)
            task_id = None
            if name is not None:
                task_id = self._next_task_id
                self._next_task_id += 1
            self.records[task] = _Record(task_id, placement[2], task.parent_nursery)
            if task_id is not None:
                with _lock:
                    self._sent[task_id] = "running"
                    self._state[task_id] = "running"
                emit("task", id=task_id, name=name, parent=placement[0], nursery=placement[1])
        except Exception:
            pass

    def task_scheduled(self, task):
        if task is self._stepping:
            self._rescheduled = True
            return
        record = self.records.get(task)
        if record is not None and record.id is not None:
            try:
                self._set_state(record.id, "running")
            except Exception:
                pass

    def before_task_step(self, task):
        self._stepping, self._rescheduled = task, False
        record = self.records.get(task)
        if record is None or record.nursery is task.parent_nursery:
            return
        try:  # moved by nursery.start(): tell the presenter where it lives now
            record.nursery = task.parent_nursery
            placement = self._placement(task)
            if placement is None:
                return
            if record.id is None:
                record.out_id = placement[2]
            else:
                emit("task", id=record.id, name=_task_label(task) or "?",
                     parent=placement[0], nursery=placement[1])
        except Exception:
            pass

    def after_task_step(self, task):
        self._stepping = None
        if self._rescheduled:
            return
        record = self.records.get(task)  # gone if the task just exited
        if record is not None and record.id is not None:
            try:
                self._set_state(record.id, "waiting")
            except Exception:
                pass

    def task_exited(self, task):
        try:
            record = self.records.pop(task, None)
            outcome, error = self.outcomes.pop(task, None) or ("ok", None)
            if record is None:
                return
            for nursery in record.nurseries:  # normally closed already (part 4)
                self.nursery_closed(nursery)
            _stdout.flush_task(task)
            _stderr.flush_task(task)
            if record.id is not None:
                self._state.pop(record.id, None)
                with _lock:
                    self._sent.pop(record.id, None)
                fields = {"id": record.id, "outcome": outcome}
                if error is not None:
                    fields["error"] = error
                emit("task_exit", **fields)
        except Exception:
            pass


_tree = _TaskTree()
_TRIO_DIR = os.path.dirname(trio.__file__) + os.sep
_NURSERY_TYPES = tuple(
    t for t in (getattr(trio, "Nursery", None), getattr(trio.lowlevel, "Nursery", None)) if t
)
_CO_VARARGS = inspect.CO_VARARGS
_ARG_REPR_LIMIT = 24
_ARG_SHORT = 16  # a longer argument repr is labelled with its parameter name instead
_NAME_LIMIT = 80


def _tidy_name(qualname):
    """``main.<locals>.worker`` -> ``worker``; ``Server.handle`` stays."""
    return qualname.rsplit(".<locals>.", 1)[-1].rsplit("<locals>.", 1)[-1]


def _short(value):
    """A short, source-like repr of one argument."""
    if _NURSERY_TYPES and isinstance(value, _NURSERY_TYPES):
        return "<nursery>"
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)):
        return _tidy_name(getattr(value, "__qualname__", None) or value.__name__)
    if isinstance(value, functools.partial):
        return "partial(%s)" % _short(value.func)
    if type(value) is float:  # 0.30000000000000004 -> 0.3, trio.current_time() + 3 -> 161215
        text = "%.6g" % value
        return text if any(c in text for c in ".einf") else text + ".0"
    try:
        text = repr(value)
    except Exception:
        text = "<"
    # "<trio.SocketStream object at 0x7f...>" says less than "<SocketStream>".
    if text.startswith("<") or " at 0x" in text:
        return "<%s>" % type(value).__name__
    if len(text) > _ARG_REPR_LIMIT:
        text = text[:_ARG_REPR_LIMIT - 1] + "…"
    return text


def _arg_label(value, param):
    """One argument of a task label: its short repr (``3``, ``'hi'``, ``<nursery>``), or the
    callee's parameter name (``chan``, ``conn``) when the repr would be long or an opaque
    ``<SomeType>`` -- ``sender(chan)`` reads better on a projector than
    ``sender(<MemorySendChannel>)``."""
    text = _short(value)
    if param and text != "<nursery>" and (text.startswith("<") or len(text) > _ARG_SHORT):
        return param
    return text


def _params(fn):
    """The names of a function's positional parameters ([] when it has no Python code)."""
    code = getattr(inspect.unwrap(fn), "__code__", None) if callable(fn) else None
    return list(code.co_varnames[:code.co_argcount]) if code is not None else []


def _labels(args, params):
    return ", ".join(_arg_label(a, params[i] if i < len(params) else None)
                     for i, a in enumerate(args))


def _call_label(fn, args):
    """``sleepy(3)`` for a callable and its arguments (used for trio.run's root task)."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    if isinstance(fn, functools.partial):
        name, args = getattr(fn.func, "__qualname__", "partial"), tuple(fn.args) + tuple(args)
        fn = fn.func
    label = "%s(%s)" % (_tidy_name(name), _labels(args, _params(fn)))
    return label if len(label) <= _NAME_LIMIT else label[:_NAME_LIMIT - 2] + "…)"


def _task_label(task):
    """The task's name as a call, or None for a trio helper task that stays hidden."""
    coro = task.coro
    if getattr(coro, "cr_code", None) is _watched.__code__:
        coro = coro.cr_frame.f_locals["coro"]
    code = getattr(coro, "cr_code", None)
    frame = getattr(coro, "cr_frame", None)
    if code is None or frame is None:  # not a plain Python coroutine
        return _tidy_name(task.name.rsplit(".", 1)[-1]) + "(…)"
    local = frame.f_locals
    if code is _root.__code__:
        return local["label"]
    qualname = getattr(coro, "__qualname__", code.co_name)
    name = _tidy_name(qualname)
    if code.co_filename.startswith(_TRIO_DIR):
        if code.co_name == "_run_handler":  # serve_listeners' wrapper around the handler
            handler = local.get("handler")
            return "%s(%s)" % (_short(handler), _labels([local.get("stream")], _params(handler)))
        if getattr(getattr(trio, code.co_name, None), "__code__", None) is code:
            name = "trio." + code.co_name  # e.g. start_soon(trio.serve_tcp, ...)
        elif code.co_name.startswith("_") or "<locals>" in qualname:
            return None  # trio's own helper task
    params = list(code.co_varnames[:code.co_argcount])
    args = [local.get(p) for p in params]
    if params and params[0] in ("self", "cls") and "." in name:
        params, args = params[1:], args[1:]
    if params and params[-1] == "task_status":
        args = args[:-1]
    if code.co_flags & _CO_VARARGS:
        args.extend(local.get(code.co_varnames[code.co_argcount + code.co_kwonlyargcount], ()))
    label = "%s(%s)" % (name, _labels(args, params))
    return label if len(label) <= _NAME_LIMIT else label[:_NAME_LIMIT - 2] + "…)"


# ============================================================================================
"""Part 4: Patches -- the only places where trio itself is touched.

  * ``Nursery.start_soon`` / ``Nursery.start`` wrap the task function in a *plain* function
    that calls it and wraps the coroutine it returns in ``_watched`` (which notes how the task
    ended, for ``task_exit``).  The wrapper is deliberately not ``async def``: trio calls it
    and inspects the result, so ``start_soon(some_sync_function)`` still gets trio's own
    "appears to be synchronous" error, and ``start_soon(sleepy(3))`` (a coroutine object, not
    a function) is passed through untouched for trio's "got a coroutine object" error.
    The task name trio derives is unchanged (``name`` defaults to the original function).
  * ``trio.run`` called by slide code gets the same treatment as the harness's own runs: the
    task tree instrument and a root cancel scope, so the stop button and the tree also work
    for slides that end with ``trio.run(main)``.  During set-up blocks (earlier slides,
    replayed only for their definitions) it does nothing and returns None: otherwise every
    later slide would re-run each earlier demo, servers included.
  * ``trio.open_tcp_listeners`` (which ``trio.serve_tcp`` looks up when called) listens on
    127.0.0.1 instead of every interface when no host is given, unless the presenter sent
    ``expose: true`` (then trio's default, every interface, stays).  Not ``localhost``: that
    name gives two listeners (127.0.0.1 and ::1), and with port 0 each gets its own port.
    Each listening socket is reported as a ``listen`` event with its real port (also for
    port 0).  A bind failing with "address already in use" gets the busy address attached
    to the OSError, for the one-line error of part 5.
  * ``trio.open_nursery()`` returns trio's context manager in a wrapper that reports
    ``nursery`` / ``nursery_exit``.
  * ``CancelScope.__enter__`` / ``__exit__`` report ``scope`` / ``scope_exit`` for scopes
    entered from slide code.  ``trio.move_on_after`` & co. remember which call made the
    scope, so the tree says ``move_on_after(3)`` rather than ``CancelScope``.
  * ``scope_fired`` needs trio internals, kept in one place at the end of this part
    ("trio internals").

If trio moved something (a future version), the patch in question is skipped with a line on
stderr: the slides still run and print, only the tree (or that nicety) is missing.
"""

_original_trio_run = trio.run
try:
    from trio._util import coroutine_or_error as _coroutine_or_error
except Exception:  # private helper moved: lose only trio's nicer "not an async function" errors
    def _coroutine_or_error(async_fn, *args):
        return async_fn(*args)


async def _watched(coro):
    """Runs a task's coroutine and notes how it ended, for the ``task_exit`` event."""
    task = trio.lowlevel.current_task()
    _task_var.set(task)  # this task's own context: see _current_task
    try:
        result = await coro
    except BaseException as exc:
        if _only(exc, trio.Cancelled):
            _tree.outcomes[task] = ("cancelled", None)
        else:
            _tree.outcomes[task] = ("error", type(exc).__name__)
        raise
    _tree.outcomes[task] = ("ok", None)
    return result


def _watch(async_fn):
    """The plain (not async) wrapper handed to trio instead of ``async_fn``."""
    if not callable(async_fn) or isinstance(async_fn, collections.abc.Coroutine):
        return async_fn

    @functools.wraps(async_fn)
    def call_and_watch(*args, **kwargs):
        coro = async_fn(*args, **kwargs)
        if isinstance(coro, collections.abc.Coroutine):
            return _watched(coro)
        return coro  # let trio complain about it in its own words

    return call_and_watch


async def _root(fn, args, label):
    """The root task of every trio run: the presenter's cancel scope around the real work.

    ``label`` is what the task tree shows for this task (``main()``, ``<slide 12>``).
    """
    with trio.CancelScope() as scope:
        _stop.attach(scope)
        try:
            return await _watched(_coroutine_or_error(fn, *args))
        finally:
            _stop.detach()


def _is_root(coro):
    return getattr(coro, "cr_code", None) is _root.__code__


def _run_in_trio(fn, args, label, **run_kwargs):
    """trio.run(fn, *args) with the task tree and the stop button."""
    instruments = tuple(run_kwargs.pop("instruments", None) or ())
    if _tree.enabled:
        instruments += (_tree,)
    return _original_trio_run(_root, fn, args, label, instruments=instruments, **run_kwargs)


def _install_patches():
    try:
        nursery_type = trio.Nursery
        original_start_soon = nursery_type.start_soon
        original_start = nursery_type.start

        def start_soon(self, async_fn, *args, name=None):
            return original_start_soon(
                self, _watch(async_fn), *args, name=async_fn if name is None else name)

        def start(self, async_fn, *args, name=None):
            return original_start(
                self, _watch(async_fn), *args, name=async_fn if name is None else name)

        functools.update_wrapper(start_soon, original_start_soon)
        functools.update_wrapper(start, original_start)
        if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+: still "async" to inspect
            inspect.markcoroutinefunction(start)
        nursery_type.start_soon = start_soon
        nursery_type.start = start
    except Exception as exc:  # without outcomes the tree would lie: no tree at all
        _tree.enabled = False
        os.write(2, ("trio-present: no task tree (%r)\n" % exc).encode())

    @functools.wraps(_original_trio_run)
    def run(async_fn, *args, **kwargs):
        if _state.setup_phase:
            return None
        _state.trio_runs += 1
        if not callable(async_fn) or isinstance(async_fn, collections.abc.Coroutine):
            return _original_trio_run(async_fn, *args, **kwargs)  # trio explains the mistake
        return _run_in_trio(async_fn, args, _call_label(async_fn, args), **kwargs)

    trio.run = run

    try:
        original_open = trio.open_tcp_listeners

        @functools.wraps(original_open)
        async def open_tcp_listeners(port, *, host=None, backlog=None):
            if host is None and not _state.expose:
                host = "127.0.0.1"  # not "localhost": that is two listeners, on two ports for 0
            try:
                listeners = await original_open(port, host=host, backlog=backlog)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:  # part 5 turns it into one line
                    exc.trio_present_busy = _busy_address(host, port)
                raise
            for listener in listeners:
                _report_listener(listener)
            return listeners

        trio.open_tcp_listeners = open_tcp_listeners
    except Exception as exc:
        os.write(2, ("trio-present: listeners not kept on loopback (%r)\n" % exc).encode())

    for patch, loss in ((_patch_open_nursery, "nurseries are reported late"),
                        (_patch_cancel_scopes, "no cancel-scope events")):
        try:
            patch()
        except Exception as exc:  # the demo still runs: only these tree events suffer
            os.write(2, ("trio-present: %s (%r)\n" % (loss, exc)).encode())


def _report_listener(listener):
    try:
        sock = listener.socket
        address = sock.getsockname()
        family = "ipv6" if sock.family == socket.AF_INET6 else "ipv4"
        emit("listen", host=str(address[0]), port=int(address[1]), family=family)
    except Exception:
        pass


def _busy_address(host, port):
    """The address whose bind failed, as ``127.0.0.1:1234`` / ``[::1]:1234``.

    For an IP address that is just host and port.  For a name or None (``--expose``: trio
    binds 0.0.0.0 and ::), each address is bound again the way trio binds it, and the first
    one that is taken is named.
    """
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE | socket.AI_NUMERICHOST)
        if len(infos) == 1:
            return _address_text(infos[0][0], infos[0][4])
    except (OSError, UnicodeError):
        pass
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        infos = []
    for family, kind, proto, _, address in infos:
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:
            continue
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return _address_text(family, address)
        finally:
            probe.close()
    return "%s:%s" % (host or "0.0.0.0", port)  # freed meanwhile: still say which port


def _address_text(family, address):
    if family == socket.AF_INET6:
        return "[%s]:%s" % (address[0], address[1])
    return "%s:%s" % (address[0], address[1])


# -- KeyboardInterrupt protection ------------------------------------------------------------
# trio defers a Ctrl-C that lands inside its own bookkeeping (entering a cancel scope, opening a
# nursery) so that it never leaves half-done state behind.  The wrappers below stand where
# trio's protected methods stood, so they are marked the same way (public API).  On older trio
# (0.22) the mark on a plain function is an extra wrapper frame; _from_slide skips it.

_WRAPPER_CODES = set()


def _ki_protected(fn):
    try:
        protected = trio.lowlevel.enable_ki_protection(fn)
    except Exception:
        return fn
    code = getattr(protected, "__code__", None)
    if code is not None and code is not fn.__code__ and not inspect.iscoroutinefunction(fn):
        _WRAPPER_CODES.add(code)
    return protected


def _from_slide(depth=2):
    """Was the function calling ours called from slide code (a file named ``slide ...``)?"""
    frame = sys._getframe(depth)
    while frame.f_code in _WRAPPER_CODES:
        frame = frame.f_back
    return frame.f_code.co_filename.startswith("slide ")


# -- nurseries -------------------------------------------------------------------------------

class _ReportedNursery:
    """What ``trio.open_nursery()`` returns during a run: trio's own context manager, with its
    opening and closing reported (``nursery`` / ``nursery_exit``).  trio's own error for
    ``with open_nursery()`` (without ``async``) is kept."""

    __slots__ = ("_manager", "_nursery")

    def __init__(self, manager):
        self._manager, self._nursery = manager, None

    @_ki_protected
    async def __aenter__(self):
        self._nursery = await self._manager.__aenter__()
        _tree.nursery_opened(self._nursery)
        return self._nursery

    @_ki_protected
    async def __aexit__(self, *exc_info):
        try:
            return await self._manager.__aexit__(*exc_info)
        finally:
            _tree.nursery_closed(self._nursery)

    def __enter__(self):
        return self._manager.__enter__()

    def __exit__(self, *exc_info):
        return self._manager.__exit__(*exc_info)


def _patch_open_nursery():
    original = trio.open_nursery

    @functools.wraps(original)
    def open_nursery(*args, **kwargs):
        return _ReportedNursery(original(*args, **kwargs))

    trio.open_nursery = open_nursery


# -- cancel scopes ---------------------------------------------------------------------------

class _LabeledTimeout:
    """What ``trio.fail_after(3)`` returns when called from slide code: trio's own context
    manager, entered with a note saying which call the cancel scope inside it comes from
    (fail_after enters a scope from trio's code, which would not count as the slide's)."""

    def __init__(self, manager, label):
        self._manager, self._label = manager, label

    def __enter__(self):
        _scopes_pending.append(self._label)
        try:
            return self._manager.__enter__()
        finally:
            if _scopes_pending and _scopes_pending[-1] is self._label:
                _scopes_pending.pop()

    def __exit__(self, *exc_info):
        return self._manager.__exit__(*exc_info)


_scopes_pending = []  # labels for the next scope entered (see _LabeledTimeout)
_scope_labels = weakref.WeakKeyDictionary()  # scope -> label, for move_on_after & co.


def _patch_cancel_scopes():
    """``scope`` / ``scope_exit`` from CancelScope.__enter__ / __exit__ (public methods), for
    scopes entered from slide code -- every trio.sleep enters a scope of its own, so the
    caller's file name decides.  ``scope_fired`` needs trio internals: see below."""
    scope_type = trio.CancelScope
    original_enter, original_exit = scope_type.__enter__, scope_type.__exit__

    @_ki_protected
    def __enter__(self):
        label = _scopes_pending.pop() if _scopes_pending else None
        made_by = _scope_labels.pop(self, None)
        result = original_enter(self)
        if label is None:
            label = made_by
        if label is None and _from_slide():
            label = ("CancelScope", "")
        if label is not None:
            _tree.scope_entered(self, *label)
        return result

    @_ki_protected
    def __exit__(self, *exc_info):
        try:
            return original_exit(self, *exc_info)
        finally:
            _tree.scope_exited(self)

    scope_type.__enter__ = functools.update_wrapper(__enter__, original_enter)
    scope_type.__exit__ = functools.update_wrapper(__exit__, original_exit)

    def timeout(name, makes_scope):
        original = getattr(trio, name)

        @functools.wraps(original)
        def labeled(arg, *args, **kwargs):
            result = original(arg, *args, **kwargs)
            if _from_slide():
                label = (name, _short(arg))
                if makes_scope:
                    _scope_labels[result] = label
                else:
                    result = _LabeledTimeout(result, label)
            return result

        setattr(trio, name, labeled)

    for name, makes_scope in (("move_on_after", True), ("move_on_at", True),
                              ("fail_after", False), ("fail_at", False)):
        timeout(name, makes_scope)

    try:
        _watch_cancellations(scope_type)
    except Exception as exc:  # scope_fired then comes late, at the scope's exit
        os.write(2, ("trio-present: cancellations seen late (%r)\n" % exc).encode())


# -- trio internals, all in this one place ---------------------------------------------------
# Two things the task tree shows are not in trio's public API.  Both are used read-only or
# wrap a method without changing what it does, and both degrade quietly if trio moves them:
#
#  1. *When* a scope is cancelled.  A deadline passing is no method call anyone can observe:
#     trio's run loop notices it and cancels the scope.  On trio >= 0.31 every cancellation
#     goes through the private ``CancelScope._cancel(reason)``, whose CancelReason says why
#     (deadline / explicit / nursery / KeyboardInterrupt); wrapping it reports the firing
#     before trio wakes the tasks up.  Older trio has no reasons, and its run loop calls the
#     public ``cancel()`` on an expired deadline, so wrapping that is enough; the reason is
#     inferred (deadline passed: ``deadline``, otherwise ``explicit``).  If neither can be
#     wrapped, a cancelled scope is reported when it exits (late, with an empty task list).
#  2. *Which* tasks a cancellation reaches.  Each task's ``_cancel_status`` chain (one
#     CancelStatus per scope it is inside, linked through ``_parent``) either passes through
#     the scope's own ``_cancel_status`` -- the task is cancelled -- or not; a shielded scope
#     on the way stops it.  On any surprise the list is empty.

def _watch_cancellations(scope_type):
    if callable(getattr(scope_type, "_cancel", None)):  # trio >= 0.31
        original = scope_type._cancel

        def _cancel(self, *args, **kwargs):
            if _tree.watches(self):
                reason = args[0] if args else kwargs.get("cancel_reason")
                source = getattr(reason, "source", None)
                _tree.scope_fired(self, source if isinstance(source, str) else "unknown")
            return original(self, *args, **kwargs)

        scope_type._cancel = functools.update_wrapper(_cancel, original)
    else:
        original = scope_type.cancel

        def cancel(self, *args, **kwargs):
            if _tree.watches(self):
                _tree.scope_fired(self, None)  # inferred: see _guess_reason
            return original(self, *args, **kwargs)

        scope_type.cancel = functools.update_wrapper(cancel, original)


def _guess_reason(scope):
    """Why a scope was cancelled, on trio versions that do not record it."""
    try:
        return "deadline" if scope.deadline <= trio.current_time() else "explicit"
    except Exception:
        return "unknown"


def _tasks_reached(scope, records):
    """Ids of the shown tasks (``records``: task -> _Record) a cancellation of ``scope``
    reaches (see 2. above)."""
    try:
        status = scope._cancel_status
        if status is None:
            return []
        inside = []
        for task, record in records.items():
            if record.id is None:
                continue
            chain = task._cancel_status
            while chain is not None:
                if chain is status:
                    inside.append(record.id)
                    break
                if chain._scope.shield:
                    break
                chain = chain._parent
        return sorted(inside)
    except Exception:
        return []

_install_patches()


# ============================================================================================
"""Part 5: Tracebacks.

A traceback from slide code is mostly harness and trio internals; the audience wants the slide.
Every exception in the error (exception-group members, ``__cause__``, ``__context__``) keeps only
the frames whose file name starts with ``slide `` (the names blocks are compiled with).  If
that leaves nothing, the innermost frame that is not the harness's own is kept (an OSError
from a bind inside trio.serve_tcp points at trio's bind line).  The result is then formatted
by Python itself, so exception groups look exactly as they would in a terminal, all members
included (on Python < 3.11 via the exceptiongroup backport that trio depends on).

One error gets a sentence instead: a listener (trio.serve_tcp, trio.open_tcp_listeners) whose
port is taken -- the usual "the previous demo is still running" -- becomes
``port 1234 is already in use (127.0.0.1:1234): stop the other program or pick another port``.
(A bind on a plain socket in slide code keeps its traceback, which shows the address.)
"""

_BaseExceptionGroup = getattr(builtins, "BaseExceptionGroup", None)
_format_exception = traceback.format_exception
if _BaseExceptionGroup is None:
    try:
        import exceptiongroup

        _BaseExceptionGroup = exceptiongroup.BaseExceptionGroup
        _format_exception = exceptiongroup.format_exception
    except Exception:
        pass
# (trio.MultiError, deprecated since trio 0.22, is a BaseExceptionGroup subclass there.)
_GROUP_TYPES = (_BaseExceptionGroup,) if isinstance(_BaseExceptionGroup, type) else ()


def _members(exc):
    if _GROUP_TYPES and isinstance(exc, _GROUP_TYPES):
        return list(getattr(exc, "exceptions", ()))
    return []


def _contains(exc, kind):
    """Is ``kind`` anywhere in ``exc`` (walking exception groups)?"""
    if isinstance(exc, kind):
        return True
    return any(_contains(member, kind) for member in _members(exc))


def _only(exc, kind):
    """Is ``exc`` a ``kind``, or a group of nothing but ``kind``?"""
    if isinstance(exc, kind):
        return True
    members = _members(exc)
    return bool(members) and all(_only(member, kind) for member in members)


def _slide_frames(tb):
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    # Slide frames only, at every level of an exception group: an exception raised inside
    # trio (a fail_after's TooSlowError, a member raised by the nursery machinery) keeps no
    # frame at all rather than one showing trio's files under the interpreter cache.
    keep = [e for e in entries if e.tb_frame.f_code.co_filename.startswith("slide ")]
    trimmed = None
    for entry in reversed(keep):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return trimmed


def _trim(exc, seen):
    if exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    exc.__traceback__ = _slide_frames(exc.__traceback__)
    for member in _members(exc):
        _trim(member, seen)
    _trim(exc.__cause__, seen)
    _trim(exc.__context__, seen)


def _busy_port_message(exc, seen):
    """The one-line report for a listener whose port is taken (see part 4), or None."""
    if exc is None or id(exc) in seen:
        return None
    seen.add(id(exc))
    address = getattr(exc, "trio_present_busy", None)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE and address:
        return ("port %s is already in use (%s): stop the other program or pick another port"
                % (address.rsplit(":", 1)[1], address))
    # Exception-group members only: an error the demo raised *while handling* the busy port
    # (__context__) is the demo's own and keeps its traceback.
    for inner in _members(exc):
        message = _busy_port_message(inner, seen)
        if message:
            return message
    return None


def _without_home(text):
    """Shows the home directory as ``~``: a projected traceback must not spell out whose
    machine this is (an exception message may still name a file under it)."""
    home = os.path.expanduser("~")
    if len(home) > 1:
        text = text.replace(home + os.sep, "~" + os.sep)
    return text


def format_error(exc):
    """The text of an ``error`` event's ``traceback``."""
    try:
        busy = _busy_port_message(exc, set())
        if busy:
            return busy
        _trim(exc, set())
        text = "".join(_format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")
        return _without_home(text)
    except Exception:  # a broken __str__ in demo code must not take the report with it
        try:
            return "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
        except Exception:
            return type(exc).__name__


# ============================================================================================
"""Part 6: Execution.

All blocks share one namespace (a fresh ``__main__``).  In order:

  1. Set-up blocks (``setup: true``: earlier slides) re-create their *definitions*, silently,
     and never replay their demos.  The rule, per top-level statement of each block:
       - run: ``import``/``from``, ``def``/``async def``, ``class``, assignments (plain,
         annotated, augmented), ``pass``/``global``, and ``if``/``try`` whose bodies (every
         branch, handler and ``finally``) hold only such statements;
       - skip: everything else -- expression statements (calls, prints, ``trio.run(main)``),
         loops, ``with``/``async with``, ``del``, ``assert``, ``raise``, ``match``, and any
         statement with a top-level ``await``.
     A block whose fence says ``exec replay`` (or ``exechidden replay``) runs whole instead.
     ``trio.run`` called while setting up still returns None at once (an assignment such as
     ``result = trio.run(main)`` would otherwise replay a demo).  Before each set-up block and
     each statement it runs, a ``setup`` event names the slide and deck line; ``setup`` with
     ``slide: null`` ends set-up.  Output is discarded at the file-descriptor level: fds 1 and 2 point at
     /dev/null while set-up runs, so ``os.write(1, ...)`` and subprocesses it starts are
     silent too.  If a statement raises, the run ends: ``error`` (``setup: true``, its slide)
     then ``done error``.  A stop during set-up says which slide and line it interrupted.
  2. The slide's own blocks run visibly.  A block with top-level ``await`` (compiled with
     PyCF_ALLOW_TOP_LEVEL_AWAIT, so its code object is a coroutine) runs inside trio.run, as
     task ``<slide N>``; a block calling trio.run itself just runs (trio.run is patched to
     add the tree and the stop button).
  3. If those blocks defined ``main`` (an ``async def``) and did not run trio themselves, the
     harness runs ``trio.run(main)``, announced by ``info`` ``running main()``.
  4. If they printed nothing and defined no main: ``defined`` with the new or rebound names.
  5. ``done`` with ``ok``, ``error`` (after an ``error`` event) or ``stopped`` (after ``info``
     ``stopped by presenter``), then os._exit: a non-daemon thread left by the demo must not
     keep the interpreter alive.

Stopping: ``cancel`` cancels the root cancel scope of the trio run in progress (and prevents
anything after it from starting); the presenter's SIGINT raises KeyboardInterrupt (inside
trio possibly wrapped in an exception group) -- both end as ``stopped``, never as a traceback.
``sys.exit(n)`` in slide code ends the run: ``ok`` for 0/None, otherwise an error.
"""


class _Failure(Exception):
    """Carries a user error from the runner to the final report."""

    harness = False

    def __init__(self, slide, setup, exc):
        super().__init__(slide, setup, exc)
        self.slide, self.setup, self.exc = slide, setup, exc


class _Stopped(Exception):
    pass


def _filename(block):
    if int(block.get("of", 1)) > 1:
        return "slide %s (block %s)" % (block.get("slide"), block.get("index"))
    return "slide %s" % block.get("slide")


def _compile(block):
    source = block.get("source") or ""
    name = _filename(block)
    # mtime None: linecache.checkcache() keeps the entry, so tracebacks show the source lines.
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    return compile(source, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def _guarded(slide, setup, action, *args):
    """Runs user code; turns what it raises into _Stopped / _Failure (or an exit status)."""
    try:
        return action(*args)
    except SystemExit as exc:
        if exc.code in (None, 0):
            raise _Exit("ok", exc.code)
        raise _Failure(slide, setup, exc)
    except BaseException as exc:
        if _contains(exc, KeyboardInterrupt) or (_stop.requested and _only(exc, trio.Cancelled)):
            raise _Stopped()
        raise _Failure(slide, setup, exc)


# Statements that only define names; ``if``/``try`` qualify when every body does.
_DEFINING = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
             ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Pass, ast.Global, ast.Nonlocal)
if hasattr(ast, "TypeAlias"):  # ``type X = ...`` (Python 3.12+)
    _DEFINING += (ast.TypeAlias,)
_TRIES = (ast.Try,) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


def _defines_only(stmt):
    """Whether a top-level statement re-creates definitions (run it in set-up)."""
    if isinstance(stmt, _DEFINING):
        return True
    if isinstance(stmt, ast.If):
        return all(map(_defines_only, stmt.body + stmt.orelse))
    if isinstance(stmt, _TRIES):
        bodies = stmt.body + stmt.orelse + stmt.finalbody
        for handler in stmt.handlers:
            bodies = bodies + handler.body
        return all(map(_defines_only, bodies))
    return False


def _set_up(block, namespace):
    """Re-creates one earlier block's definitions in ``namespace`` (the set-up rule above)."""
    slide = block.get("slide")
    first_line = int(block.get("line") or 1)
    if _stop.requested:
        raise _Stopped()
    _state.setup_at = (slide, first_line)
    emit("setup", slide=slide, line=first_line)
    _guarded(slide, True, _compile, block)  # a syntax error is reported as it is
    name = _filename(block)
    tree = ast.parse(block.get("source") or "", name)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    for stmt in tree.body:
        if not (block.get("replay") or _defines_only(stmt)):
            continue
        code = compile(ast.Module(body=[stmt], type_ignores=[]), name, "exec",
                       flags=flags, dont_inherit=True)
        if code.co_flags & inspect.CO_COROUTINE:
            continue  # a top-level await is a demo, even inside an assignment
        if _stop.requested:
            raise _Stopped()
        line = first_line + stmt.lineno - 1
        if _state.setup_at != (slide, line):
            _state.setup_at = (slide, line)
            emit("setup", slide=slide, line=line)
        _guarded(slide, True, exec, code, namespace)


class _fds_silenced:
    """Points fds 1 and 2 at /dev/null for a while (set-up), then puts them back.

    What set-up code writes around Python (``os.write(1, ...)``, C code, subprocesses that
    inherit the fds) must not reach the slide's output.  The presenter's pipes stay open on
    saved copies, marked close-on-exec so that no subprocess holds them.
    """

    def __enter__(self):
        self._saved = []
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            return self
        # fd 0 too: input() in set-up (``name = input()`` is an assignment, so it runs) must
        # get end of file at once, not wait for a line nobody is asked for.
        for fd in (0, 1, 2):
            try:
                saved = os.dup(fd)  # os.dup's copies are not inheritable
            except OSError:
                continue  # the fd is closed: nothing to silence
            os.dup2(null, fd)
            self._saved.append((fd, saved))
        os.close(null)
        return self

    def __exit__(self, *exc_info):
        for fd, saved in self._saved:
            try:
                os.dup2(saved, fd)
                os.close(saved)
            except OSError:
                pass
        return False


class _Exit(Exception):
    def __init__(self, status, code):
        super().__init__(status, code)
        self.status, self.code = status, code


def _run_slide(command):
    slide = command.get("slide")
    blocks = command.get("blocks") or []
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    _state.expose = bool(command.get("expose", False))

    setup = [b for b in blocks if b.get("setup")]
    if setup:
        with _fds_silenced():
            _state.silent = _state.setup_phase = True
            try:
                for block in setup:
                    _set_up(block, namespace)
            finally:
                _state.silent = _state.setup_phase = False
        _state.setup_at = None  # kept above when set-up failed or was stopped: it is reported
        emit("setup", slide=None, line=None)

    before = dict(namespace)
    _state.wrote = False
    runs_before = _state.trio_runs
    for block in (b for b in blocks if not b.get("setup")):
        if _stop.requested:
            raise _Stopped()
        code = _guarded(block.get("slide"), False, _compile, block)
        if code.co_flags & inspect.CO_COROUTINE:
            _state.trio_runs += 1
            label = "<%s>" % _filename(block)
            _guarded(block.get("slide"), False, _run_in_trio,
                     functools.partial(eval, code, namespace), (), label)
        else:
            _guarded(block.get("slide"), False, exec, code, namespace)

    if _stop.requested:
        raise _Stopped()
    main = namespace.get("main")
    if (main is not before.get("main") and inspect.iscoroutinefunction(main)
            and _state.trio_runs == runs_before):
        emit("info", text="running main()")
        _guarded(slide, False, _run_in_trio, main, (), "main()")
    elif not _state.wrote:
        names = [name for name, value in namespace.items()
                 if not name.startswith("__") and before.get(name, before) is not value]
        emit("defined", names=names)
    if _stop.requested:
        raise _Stopped()


def _run(command):
    """Runs the slide; returns (status, failure or None, info note or None)."""
    try:
        try:
            _run_slide(command)
        except KeyboardInterrupt:  # landed between two pieces of demo code
            raise _Stopped()
    except _Stopped:
        return "stopped", None, None
    except _Failure as failure:
        return "error", failure, None
    except _Exit as exit_:
        return exit_.status, None, "exited with code %s" % (exit_.code or 0)
    except BaseException as exc:
        if _contains(exc, KeyboardInterrupt):
            return "stopped", None, None
        failure = _Failure(command.get("slide"), False, exc)
        failure.harness = True  # a bug in this file: show the traceback whole
        return "error", failure, None
    return ("stopped" if _stop.requested else "ok"), None, None


def _finish(status, failure, note):
    """Reports the end of the run and leaves, whatever the demo left running."""
    # From here on a late Ctrl-C must not cut the report short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _state.silent = False
    for stream in (_stdout, _stderr):
        stream.flush_all()
    if failure is not None and failure.harness:
        emit("error", slide=failure.slide, setup=False,
             traceback="trio-present harness error:\n" + "".join(traceback.format_exception(
                 type(failure.exc), failure.exc, failure.exc.__traceback__)).rstrip("\n"))
    elif failure is not None and failure.setup and _state.setup_at is not None:
        emit("error", slide=failure.slide, setup=True, line=_state.setup_at[1],
             traceback=format_error(failure.exc))
    elif failure is not None:
        emit("error", slide=failure.slide, setup=failure.setup,
             traceback=format_error(failure.exc))
    if note:
        emit("info", text=note)
    if status == "stopped" and _state.setup_at is not None:
        slide, line = _state.setup_at
        emit("info", text="stopped during set-up of slide %s (line %s)" % (slide, line))
    elif status == "stopped":
        emit("info", text="stopped by presenter")
    emit("done", status=status)
    with _lock:
        _flush_events()
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    _exit_with_descendants(0)


def _note_early_sigint(signum, frame):
    # Until the run is set up, a Ctrl-C only marks the run as stopped: raised here, it could
    # land between reading ``run`` and being ready to report, and the run would end silently.
    _stop.requested = True


def _main():
    global _t0
    signal.signal(signal.SIGINT, _note_early_sigint)
    emit("ready", python="%d.%d.%d" % sys.version_info[:3], trio=trio.__version__,
         pid=os.getpid())
    command = _read_command()
    while command.get("cmd") != "run":  # a stray cancel before the run: nothing to stop
        command = _read_command()
    _t0 = time.monotonic()
    result = ("stopped", None, None)  # what a Ctrl-C slipping through the cracks means
    try:
        threading.Thread(target=_listen_for_commands, name="trio-present commands",
                         daemon=True).start()
        threading.Thread(target=_flush_partials_forever, name="trio-present output",
                         daemon=True).start()
        threading.Thread(target=_flush_batches_forever, name="trio-present events",
                         daemon=True).start()
        sys.stdout, sys.stderr = _stdout, _stderr
        builtins.print = _print
        os._exit = _exit_with_descendants
        signal.signal(signal.SIGINT, signal.default_int_handler)  # trio looks for this one
        result = _run(command)  # (stops at once if a Ctrl-C came early)
    finally:
        while True:  # _finish never returns; a Ctrl-C landing before it ignores SIGINT retries
            try:
                _finish(*result)
            except KeyboardInterrupt:
                pass


_main()
