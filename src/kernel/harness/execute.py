"""Execution: set-up blocks, the slide's blocks, main(), stopping, ``done``.

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

Prepared runs: the presenter may send ``prepare`` (the same fields as ``run``) as soon as the
speaker lands on a slide.  The harness then does step 1 and compiles the slide's blocks at once,
holding back every event (protocol.py's ``_Held``), and waits for ``go``: only then does the
run's clock start (``t`` 0), the held events go out, and step 2 begins.  A run whose set-up is
still going when ``go`` comes simply continues, visibly.  Anything that ends the run before
``go`` (a set-up error) is reported after ``go`` like any other end.  The presenter throws a
prepared interpreter away (SIGKILL) if the speaker leaves the slide instead.

Stopping: ``cancel`` cancels the root cancel scope of the trio run in progress (and prevents
anything after it from starting); the presenter's SIGINT raises KeyboardInterrupt (inside
trio possibly wrapped in an exception group) -- both end as ``stopped``, never as a traceback.
``sys.exit(n)`` in slide code ends the run: ``ok`` for 0/None, otherwise an error.
"""

import ast
import builtins
import functools
import inspect
import linecache
import os
import signal
import sys
import threading
import time
import traceback

import trio

from .capture import PARTIAL_DELAY, _flush_partials, _print, _stderr, _stdout
from .patches import _original_trio_run, _run_in_trio
from .protocol import (_exit_with_descendants, _flush_batches_forever, _flush_events, _go,
                       _hold, _listen_for_commands, _read_command, _stop, emit)
from .state import _lock, _state
from .tracebacks import _contains, _only, format_error
from .tree import _tree


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


def _quiet_input(prompt=""):
    """input() while setting up: an earlier slide's ``name = input("name? ")`` defines
    ``name`` as "" instead of failing every later slide with EOFError."""
    return ""


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
        # not wait for a line nobody is asked for (see also _quiet_input).
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


def _compiled(block):
    """The block compiled, or the failure compiling it raised: reported when its turn comes,
    so that the blocks before it still run first, as they would without preparing."""
    try:
        return _guarded(block.get("slide"), False, _compile, block)
    except _Failure as failure:
        return failure


async def _nothing():
    pass


def _warm_trio():
    """A prepared run's empty trio run, unseen (trio's own ``run``, without the tree): the
    first run in a process pays for trio's lazy set-up (~0.5 ms), and the demo's need not."""
    try:
        _original_trio_run(_nothing)
    except Exception:  # e.g. a set-up that patched trio: the demo will say so itself
        pass


def _bound(node, namespace):
    """Whether evaluating ``node`` (a default or an annotation) can neither fail nor be seen:
    absent, a constant, or a name already bound (a plain dict lookup)."""
    if node is None or isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.Name) and (node.id in namespace or hasattr(builtins, node.id))


def _inert(stmt, namespace):
    """Whether running a top-level statement only binds a name, with no other effect and no
    way to fail: a ``def`` without decorators whose defaults and annotations are constants or
    bound names, an import of what is imported already, a constant, a docstring."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = stmt.args
        annotations = [a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs]
        annotations += [a.annotation for a in (args.vararg, args.kwarg) if a is not None]
        return (not stmt.decorator_list and not getattr(stmt, "type_params", None)
                and all(_bound(n, namespace) for n in
                        args.defaults + args.kw_defaults + annotations + [stmt.returns]))
    if isinstance(stmt, ast.Import):
        return all(sys.modules.get(".".join(alias.name.split(".")[:i + 1])) is not None
                   for alias in stmt.names for i in range(alias.name.count(".") + 1))
    if isinstance(stmt, ast.ImportFrom):
        module = sys.modules.get(stmt.module or "") if stmt.level == 0 else None
        return module is not None and all(alias.name in vars(module) for alias in stmt.names)
    if isinstance(stmt, ast.Assign):
        return (isinstance(stmt.value, ast.Constant)
                and all(isinstance(t, ast.Name) for t in stmt.targets))
    if isinstance(stmt, ast.Expr):
        return isinstance(stmt.value, ast.Constant)
    return isinstance(stmt, ast.Pass)


def _only_defines_main(own, namespace):
    """Whether the slide's own blocks are inert (see ``_inert``) and leave ``main`` bound to
    an ``async def`` of theirs: then its trio run can start before ``go``."""
    main = None
    for block, code in own:
        if isinstance(code, _Failure) or code.co_flags & inspect.CO_COROUTINE:
            return False
        for stmt in ast.parse(block.get("source") or "").body:
            if not _inert(stmt, namespace):
                return False
            names = {getattr(stmt, "name", None)}
            names.update(a.asname or a.name.split(".")[0] for a in getattr(stmt, "names", ()))
            names.update(t.id for t in getattr(stmt, "targets", ()))
            if "main" in names:
                main = stmt
    return isinstance(main, ast.AsyncFunctionDef)


def _prestart(slide, own, namespace):
    """A prepared run whose own blocks only define ``main``: define it, and start its trio run
    now, with ``main`` called at ``go`` (tree.py's ``_root``).  What ``r`` then waits for is
    the wake-up, not trio's start-up (~1.5 ms on a two-core machine after an idle while)."""
    for block, code in own:
        _guarded(slide, False, exec, code, namespace)
    emit("info", text="running main()")  # held until ``go``, like every event before it
    _guarded(slide, False, _run_in_trio, namespace["main"], (), "main()", True)
    if _stop.requested:
        raise _Stopped()


def _wait_for_go():
    """A prepared run waits here for ``go`` (at once for a ``run``)."""
    _go.wait()
    if _stop.requested:
        raise _Stopped()


def _run_slide(command):
    slide = command.get("slide")
    blocks = command.get("blocks") or []
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    _state.expose = bool(command.get("expose", False))

    setup = [b for b in blocks if b.get("setup")]
    if setup:
        with _fds_silenced():
            _state.silent = _state.setup_phase = True
            real_input, builtins.input = builtins.input, _quiet_input
            try:
                for block in setup:
                    _set_up(block, namespace)
            finally:
                builtins.input = real_input
                _state.silent = _state.setup_phase = False
        _state.setup_at = None  # kept above when set-up failed or was stopped: it is reported
        emit("setup", slide=None, line=None)

    own = [(b, _compiled(b)) for b in blocks if not b.get("setup")]
    if not _go.is_set() and _only_defines_main(own, namespace):
        return _prestart(slide, own, namespace)
    if not _go.is_set():
        _warm_trio()
    _wait_for_go()

    before = dict(namespace)
    _state.wrote = False
    runs_before = _state.trio_runs
    for block, code in own:
        if _stop.requested:
            raise _Stopped()
        if isinstance(code, _Failure):
            raise code
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
    _go.wait()  # a prepared run that ended early still waits to be started (and seen)
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


# Cleared while a console waits for input (console.py): an idle console holds no CPU.
_flusher_awake = threading.Event()
_flusher_awake.set()


def _flush_forever():
    """The output flusher thread: partial lines once they are PARTIAL_DELAY old (capture.py),
    and ``state`` changes that waited for STATE_INTERVAL while trio went quiet (tree.py)."""
    while True:
        _flusher_awake.wait()
        time.sleep(PARTIAL_DELAY / 2)
        _flush_partials(time.monotonic() - PARTIAL_DELAY)
        _tree.flush_states()


def _capture():
    """From the first command on: the helper threads, and the slide's output captured."""
    threading.Thread(target=_flush_forever, name="trio-present output",
                     daemon=True).start()
    threading.Thread(target=_flush_batches_forever, name="trio-present events",
                     daemon=True).start()
    sys.stdout, sys.stderr = _stdout, _stderr
    builtins.print = _print
    os._exit = _exit_with_descendants


def main(console=None):
    """Says ``ready``, waits for ``run`` (or ``prepare``), runs the slide, reports, exits (never
    returns).

    ``console`` (console.py's ``run``) takes over when the first command is ``console``."""
    signal.signal(signal.SIGINT, _note_early_sigint)
    emit("ready", python="%d.%d.%d" % sys.version_info[:3], trio=trio.__version__,
         pid=os.getpid())
    command = _read_command()
    while command.get("cmd") not in ("run", "prepare", "console"):  # a stray cancel or go
        command = _read_command()
    _state.t0 = time.monotonic()
    if command.get("cmd") == "prepare":
        with _lock:
            _hold()  # until ``go``
    else:
        _go.set()
    if command.get("cmd") == "console" and console is not None:
        _capture()
        console(command)  # never returns
    result = ("stopped", None, None)  # what a Ctrl-C slipping through the cracks means
    try:
        threading.Thread(target=_listen_for_commands, name="trio-present commands",
                         daemon=True).start()
        _capture()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # trio looks for this one
        result = _run(command)  # (stops at once if a Ctrl-C came early)
    finally:
        while True:  # _finish never returns; a Ctrl-C landing before it ignores SIGINT retries
            try:
                _finish(*result)
            except KeyboardInterrupt:
                pass
