"""Console mode: a trio REPL in the namespace of a slide (``console``, ``eval``, ``complete``).

The first command is ``console`` instead of ``run`` (docs/protocol.md, "Console mode"):

  1. Every block of the command (the deck's slides up to and including the console's slide)
     re-creates its definitions by the set-up rule of execute.py -- silently, demos not
     replayed.  A set-up error is reported (``error`` with ``setup: true``) and the console
     opens anyway, with what was defined before it.
  2. A trio loop runs (``trio.run`` of the REPL task, with the task tree instrument), like
     ``python -m trio``.  The harness says ``prompt`` and waits for ``eval``.
  3. Each ``eval`` is compiled as interactive input (``single`` mode, so the value of an
     expression statement is reported as ``result`` with its repr) with
     PyCF_ALLOW_TOP_LEVEL_AWAIT: a coroutine code object is awaited inside the loop.  It runs
     as a root task of the tree (``task`` events, output tagged by task) named after the
     input: ``await sleepy(1)`` is ``sleepy(1)``.  An error is an ``error`` event with the
     console's frames only (file names ``console N``); a SyntaxError shows its position.
     Then ``prompt`` again.
  4. ``cancel`` cancels the command running (its root cancel scope); if it has not ended
     0.3 s later (a loop that never awaits), the harness interrupts itself with SIGINT.  The
     namespace stays.  ``complete`` (``text``: the name or dotted name being typed) is
     answered by a ``complete`` event (``text``, ``matches``) from the commands thread, also
     while a command runs.

While the console waits for input nothing polls: the REPL task waits on a trio Event (the
loop sleeps in the kernel), the commands thread blocks reading fd 4, and the output flusher
thread is paused.  End of file on fd 4 ends the interpreter as in a run.
"""

import ast
import builtins
import collections
import inspect
import linecache
import os
import rlcompleter
import signal
import sys
import threading
import time

import trio

from .capture import _stderr, _stdout
from .execute import (_Failure, _flusher_awake, _fds_silenced, _quiet_input, _Stopped,
                      _set_up)
from .patches import _original_trio_run
from .protocol import _read_command, _stop, emit
from .state import _state
from .tracebacks import _contains, format_error
from .tree import _root, _tree

CANCEL_GRACE = 0.3  # after ``cancel``, how long a command may ignore it before SIGINT
LABEL_LIMIT = 60
COMPLETIONS_LIMIT = 200

# Spawns a task without patches.py's _watched wrapper: the console's root tasks must be
# _root coroutines themselves, as a run's root task is (tree.py finds them so).
_start_soon = getattr(trio.Nursery.start_soon, "__wrapped__", trio.Nursery.start_soon)


def _label(source):
    """The task name of an input: ``await sleepy(1)`` -> ``sleepy(1)``."""
    lines = [line for line in source.strip().splitlines() if line.strip()]
    if not lines:
        return "<console>"
    first = lines[0].strip()
    if first.startswith("await "):
        first = first[len("await "):].strip()
    if len(lines) > 1:
        first += " …"
    if len(first) > LABEL_LIMIT:
        first = first[:LABEL_LIMIT - 1] + "…"
    return first


class _Console:
    def __init__(self, slide):
        self.slide = slide
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.pending = collections.deque()  # commands from fd 4 for the REPL task
        self.lock = threading.Lock()
        self.wake = None  # (trio token, trio.Event) of the REPL task waiting for input
        self.count = 0  # inputs compiled so far (file names ``console N``)
        self.busy = 0  # the number of the input running, 0 when none

    # -- the commands thread ----------------------------------------------------------------

    def read_commands(self):
        while True:
            command = _read_command()
            cmd = command.get("cmd")
            if cmd == "cancel":
                self.cancel()
            elif cmd == "complete":
                text = str(command.get("text") or "")
                emit("complete", text=text, matches=self.complete(text))
            elif cmd == "eval":
                with self.lock:
                    self.pending.append(command)
                    wake, self.wake = self.wake, None
                if wake is not None:
                    try:
                        wake[0].run_sync_soon(wake[1].set)
                    except Exception:  # the loop is restarting: it looks at ``pending`` first
                        pass

    def cancel(self):
        running = self.busy
        if not running:
            return
        _stop.request()  # cancels the command's root scope (or SIGINTs us outside trio)

        def escalate():
            time.sleep(CANCEL_GRACE)
            if self.busy == running:  # a loop that never reaches a checkpoint
                os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=escalate, name="trio-present cancel", daemon=True).start()

    def complete(self, text):
        completer = rlcompleter.Completer(self.namespace)
        matches = []
        try:
            for state in range(COMPLETIONS_LIMIT):
                match = completer.complete(text, state)
                if match is None:
                    break
                if match not in matches:
                    matches.append(match)
        except Exception:
            pass
        return matches

    # -- the trio loop ----------------------------------------------------------------------

    async def repl(self):
        while True:
            for stream in (_stdout, _stderr):
                stream.flush_all()
            emit("prompt")
            _flusher_awake.clear()
            command = await self.next_command()
            _flusher_awake.set()
            await self.evaluate(str(command.get("source") or ""))

    async def next_command(self):
        while True:
            with self.lock:
                if self.pending:
                    return self.pending.popleft()
                event = trio.Event()
                self.wake = (trio.lowlevel.current_trio_token(), event)
            await event.wait()

    async def evaluate(self, source):
        if not source.strip():
            return
        self.count += 1
        name = "console %d" % self.count
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        try:
            tree = compile(source, name, "exec", flags=flags | ast.PyCF_ONLY_AST,
                           dont_inherit=True)
            code = compile(ast.Interactive(body=tree.body), name, "single", flags=flags,
                           dont_inherit=True)
        except (SyntaxError, ValueError, OverflowError) as exc:
            emit("error", slide=self.slide, setup=False, traceback=format_error(exc))
            return
        _stop.requested = False
        self.busy = self.count
        try:
            async with trio.open_nursery() as nursery:
                _start_soon(nursery, _root, self.run_code, (code,), _label(source))
        finally:
            self.busy = 0
            _stop.requested = False

    async def run_code(self, code):
        try:
            if code.co_flags & inspect.CO_COROUTINE:
                await eval(code, self.namespace)
            else:
                eval(code, self.namespace)
        except SystemExit:
            emit("info", text="SystemExit: the console stays open (Esc or Ctrl-d closes it)")
        except BaseException as exc:
            if _contains(exc, KeyboardInterrupt) or (
                    _stop.requested and _contains(exc, trio.Cancelled)):
                emit("info", text="cancelled")
                return
            emit("error", slide=self.slide, setup=False, traceback=format_error(exc))

    def displayhook(self, value):
        """An expression's value: a ``result`` event (and ``_``, as in Python's REPL)."""
        if value is None:
            return
        builtins._ = value
        for stream in (_stdout, _stderr):
            stream.flush_all()
        try:
            text = repr(value)
        except Exception as exc:
            text = "<repr failed: %s>" % type(exc).__name__
        emit("result", text=text)


def _set_up_all(command, namespace):
    """Every block's definitions (the set-up rule), silently; errors are reported."""
    with _fds_silenced():
        _state.silent = _state.setup_phase = True
        real_input, builtins.input = builtins.input, _quiet_input
        try:
            for block in command.get("blocks") or []:
                _set_up(block, namespace)
        except _Failure as failure:
            line = _state.setup_at[1] if _state.setup_at else None
            emit("error", slide=failure.slide, setup=True, line=line,
                 traceback=format_error(failure.exc))
        except (_Stopped, KeyboardInterrupt):
            emit("info", text="set-up stopped: the console has what was defined before")
        finally:
            builtins.input = real_input
            _state.silent = _state.setup_phase = False
    _state.setup_at = None
    _stop.requested = False
    emit("setup", slide=None, line=None)


def run(command):
    """Console mode (never returns: the interpreter ends when the presenter closes fd 4)."""
    console = _Console(command.get("slide"))
    _state.expose = bool(command.get("expose", False))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # trio looks for this one
    _set_up_all(command, console.namespace)
    sys.displayhook = console.displayhook
    threading.Thread(target=console.read_commands, name="trio-present commands",
                     daemon=True).start()
    instruments = (_tree,) if _tree.enabled else ()
    while True:
        try:
            _original_trio_run(console.repl, instruments=instruments)
        except BaseException as exc:  # a Ctrl-C that reached the loop itself: start it again
            console.busy = 0
            _stop.requested = False
            if not _contains(exc, KeyboardInterrupt):
                emit("error", slide=console.slide, setup=False, traceback=format_error(exc))
            else:
                emit("info", text="cancelled")
