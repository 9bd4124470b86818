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
import sys
import threading
import time
import traceback
import types

# First thing, before importing trio: the presenter started us in our own process group and
# will stop a demo with SIGINT to that group.  If our parent had SIGINT ignored, Python keeps
# it ignored; SIG_DFL would kill us without a word.  ``default_int_handler`` raises
# KeyboardInterrupt, which is also the handler trio looks for before it installs its own
# (so Ctrl-C semantics inside trio.run are trio's usual ones).
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

Events are written with one ``os.write`` per line (no Python-level buffering, so the presenter
sees a print within microseconds).  A line never exceeds PIPE_BUF (4096 bytes) when it carries
printed text: writes of up to PIPE_BUF bytes to a pipe are atomic, so a Ctrl-C that lands in
the middle of a flood of prints can drop a line but never tear one in half.  Longer printed
lines are sent as several ``out`` events, all but the last without a trailing newline (the same
shape as a partial line flushed after a delay).

Additions to docs/protocol.md (all ignorable by the presenter):
  * ``task`` may be sent again for the same ``id`` when a task moves to another nursery
    (``nursery.start()`` runs the child under a hidden nursery until it calls
    ``task_status.started()``); the later event has the corrected ``parent``/``nursery``.
  * ``info`` texts used: ``running main()``, ``stopped by presenter``, ``exited with code N``.
"""

EVENTS_FD = int(os.environ.get("TRIO_PRESENT_EVENTS_FD", "3"))
COMMANDS_FD = int(os.environ.get("TRIO_PRESENT_COMMANDS_FD", "4"))
PIPE_BUF = 4096

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
    except OSError as exc:
        if exc.errno == errno.EBADF:
            _no_pipes()
        if exc.errno == errno.EPIPE:
            os._exit(0)
        raise


def _no_pipes():
    """Started by hand, without the presenter's pipes: say so instead of a traceback."""
    os.write(2, b"trio-present harness: fds %d/%d are not open (the presenter runs this)\n"
             % (EVENTS_FD, COMMANDS_FD))
    os._exit(2)


def _encode(text):
    # A lone surrogate (from a surrogate-escaped file name, say) is not valid UTF-8: the
    # presenter would reject the whole line, so it becomes "?" instead.
    return text.encode("utf-8", "replace")


def emit(ev, **fields):
    """Sends one event.  Every event except ``ready`` gets ``t``."""
    with _lock:
        event = {"ev": ev}
        if ev != "ready":
            event["t"] = round(time.monotonic() - _t0, 6)
        event.update(fields)
        _write(_encode(json.dumps(event, ensure_ascii=False) + "\n"))


def _out_events(task_id, stream, text):
    """The encoded ``out`` event lines for ``text`` (split to stay below PIPE_BUF)."""
    head = '{"ev":"out","t":%.6f,"task":%s,"stream":"%s","text":' % (
        time.monotonic() - _t0,
        "null" if task_id is None else task_id,
        stream,
    )
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


# Commands: the main thread reads the ``run`` line, then a listener thread keeps reading the
# same buffered file (two readers would each swallow what the other needs).
try:
    _commands = io.open(COMMANDS_FD, "rb", closefd=False)
except OSError:
    _no_pipes()


def _read_command():
    """The next command (a dict).  End of file means the presenter is gone: exit at once."""
    while True:
        line = _commands.readline()
        if not line:
            os._exit(0)
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

print() calls write() twice (the text, then "\\n"), and tasks interleave, so text is buffered
per task and per stream and only whole lines are sent.  A partial line (``print(x, end="")``)
is sent when someone calls flush(), when its task exits, at the end of the run, or by the
flusher thread once it is PARTIAL_DELAY old -- so a progress-dots demo still shows its dots.

Code that writes around Python (C extensions, subprocesses, ``os.write(1, ...)``,
``sys.__stdout__``) reaches the real fds 1/2, which the presenter shows untagged; fileno()
gives those fds so a subprocess inheriting "sys.stdout" does the same.
"""

PARTIAL_DELAY = 0.03


class _State:
    silent = False  # set-up blocks: discard their output
    wrote = False  # did the slide's own code print anything?
    setup_phase = False  # trio.run() calls in set-up blocks are skipped (see part 6)
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
        # task (or None) -> [pending text, time it started waiting, task id for the event]
        self._pending = {}
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
                    self._pending[task] = [s, time.monotonic(), task_id]
                else:
                    pending[0] += s
                return len(s)
            if pending is None:
                text, task_id = s, _tree.out_id(task) if task is not None else None
            else:
                del self._pending[task]
                text, task_id = pending[0] + s, pending[2]
            cut = text.rfind("\n") + 1
            self._send(task_id, text[:cut])
            if cut < len(text):
                self._pending[task] = [text[cut:], time.monotonic(), task_id]
        return len(s)

    def _send(self, task_id, text):
        """Sends whole lines (and at most one partial tail), one event per line."""
        if text.count("\n") <= 1:  # the common case: one print, one line
            lines = _out_events(task_id, self._stream, text)
            _write(lines[0]) if len(lines) == 1 else _write_lines(lines)
            return
        lines = []
        for piece in text.split("\n")[:-1]:
            lines.extend(_out_events(task_id, self._stream, piece + "\n"))
        if not text.endswith("\n"):
            lines.extend(_out_events(task_id, self._stream, text[text.rfind("\n") + 1:]))
        _write_lines(lines)

    def flush_task(self, task):
        with _lock:
            pending = self._pending.pop(task, None)
            if pending is not None:
                self._send(pending[2], pending[0])

    def flush_older_than(self, deadline):
        with _lock:
            for task, pending in list(self._pending.items()):
                if pending[1] <= deadline:
                    del self._pending[task]
                    self._send(pending[2], pending[0])

    def flush_all(self):
        self.flush_older_than(float("inf"))

    def flush(self):
        self.flush_task(_current_task())

    def close(self):  # demo code closing sys.stdout must not lose the stream for good
        self.flush()

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


def _flush_partials_forever():
    while True:
        time.sleep(PARTIAL_DELAY / 2)
        deadline = time.monotonic() - PARTIAL_DELAY
        _stdout.flush_older_than(deadline)
        _stderr.flush_older_than(deadline)


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
"""


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

    def out_id(self, task):
        record = self.records.get(task)
        return record.out_id if record is not None else None

    def _nursery_id(self, nursery, owner):
        nursery_id = self._nursery_ids.get(nursery)
        if nursery_id is None:
            nursery_id = self._nursery_ids[nursery] = self._next_nursery_id
            self._next_nursery_id += 1
            if owner is not None:
                owner.nurseries.append(nursery)
        return nursery_id

    def _placement(self, task):
        """(parent id, nursery id, nearest shown ancestor id) of a demo task, or None."""
        nursery = task.parent_nursery
        parent = self.records.get(nursery.parent_task) if nursery is not None else None
        if parent is None:
            return None
        return parent.out_id, self._nursery_id(nursery, parent), parent.out_id

    # Hooks run inside trio's scheduler: they must never raise (trio would disable the
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
                emit("task", id=task_id, name=name, parent=placement[0], nursery=placement[1])
        except Exception:
            pass

    def before_task_step(self, task):
        record = self.records.get(task)
        if record is None or record.nursery is task.parent_nursery:
            return
        try:
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

    def task_exited(self, task):
        try:
            record = self.records.pop(task, None)
            outcome, error = self.outcomes.pop(task, None) or ("ok", None)
            if record is None:
                return
            for nursery in record.nurseries:
                self._nursery_ids.pop(nursery, None)
            _stdout.flush_task(task)
            _stderr.flush_task(task)
            if record.id is not None:
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


def _call_label(fn, args):
    """``sleepy(3)`` for a callable and its arguments (used for trio.run's root task)."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    if isinstance(fn, functools.partial):
        name, args = getattr(fn.func, "__qualname__", "partial"), tuple(fn.args) + tuple(args)
    label = "%s(%s)" % (_tidy_name(name), ", ".join(_short(a) for a in args))
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
            return "%s(%s)" % (_short(local.get("handler")), _short(local.get("stream")))
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
    label = "%s(%s)" % (name, ", ".join(_short(a) for a in args))
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
  * ``trio.open_tcp_listeners`` (which ``trio.serve_tcp`` calls) listens on ``localhost``
    instead of every interface when no host is given, unless the presenter sent
    ``expose: true``.  If ``localhost`` cannot be bound (no IPv6 loopback), 127.0.0.1 is used.

If trio moved something (a future version), the patch in question is skipped: the slides
still run and print, only the tree (or that nicety) is missing.
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
            if host is not None or _state.expose:
                return await original_open(port, host=host, backlog=backlog)
            try:
                return await original_open(port, host="localhost", backlog=backlog)
            except OSError as exc:
                if exc.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    raise
                return await original_open(port, host="127.0.0.1", backlog=backlog)

        trio.open_tcp_listeners = open_tcp_listeners
    except Exception as exc:
        os.write(2, ("trio-present: listeners not kept on loopback (%r)\n" % exc).encode())


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
    keep = [e for e in entries if e.tb_frame.f_code.co_filename.startswith("slide ")]
    if not keep:
        keep = [e for e in entries if e.tb_frame.f_globals is not globals()][-1:]
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


def format_error(exc):
    """The text of an ``error`` event's ``traceback``."""
    try:
        _trim(exc, set())
        return "".join(_format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")
    except Exception:  # a broken __str__ in demo code must not take the report with it
        try:
            return "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
        except Exception:
            return type(exc).__name__


# ============================================================================================
"""Part 6: Execution.

All blocks share one namespace (a fresh ``__main__``).  In order:

  1. Set-up blocks (``setup: true``: earlier slides) run silently, for their definitions.
     Their output is discarded; a block using top-level ``await`` is skipped, and so is any
     ``trio.run`` they call (part 4) -- replaying every earlier demo would take forever.
     If one raises, the run ends: ``error`` (``setup: true``, its slide) then ``done error``.
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


class _Exit(Exception):
    def __init__(self, status, code):
        super().__init__(status, code)
        self.status, self.code = status, code


def _run_slide(command):
    slide = command.get("slide")
    blocks = command.get("blocks") or []
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    _state.expose = bool(command.get("expose", False))

    _state.silent = _state.setup_phase = True
    for block in (b for b in blocks if b.get("setup")):
        if _stop.requested:
            raise _Stopped()
        code = _guarded(block.get("slide"), True, _compile, block)
        if code.co_flags & inspect.CO_COROUTINE:
            continue
        _guarded(block.get("slide"), True, exec, code, namespace)
    _state.silent = _state.setup_phase = False

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
    elif failure is not None:
        emit("error", slide=failure.slide, setup=failure.setup,
             traceback=format_error(failure.exc))
    if note:
        emit("info", text=note)
    if status == "stopped":
        emit("info", text="stopped by presenter")
    emit("done", status=status)
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


def _main():
    global _t0
    emit("ready", python="%d.%d.%d" % sys.version_info[:3], trio=trio.__version__,
         pid=os.getpid())
    try:
        command = _read_command()
        while command.get("cmd") != "run":  # a stray cancel before the run: nothing to stop
            command = _read_command()
    except KeyboardInterrupt:
        os._exit(0)
    _t0 = time.monotonic()
    threading.Thread(target=_listen_for_commands, name="trio-present commands",
                     daemon=True).start()
    threading.Thread(target=_flush_partials_forever, name="trio-present output",
                     daemon=True).start()
    sys.stdout, sys.stderr = _stdout, _stderr
    result = ("stopped", None, None)  # what a Ctrl-C slipping through the cracks means
    try:
        result = _run(command)
    finally:
        while True:  # _finish never returns; a Ctrl-C landing before it ignores SIGINT retries
            try:
                _finish(*result)
            except KeyboardInterrupt:
                pass


_main()
