"""Task tree: a trio Instrument that names tasks like the call in the source.

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

How a task ended (``task_exit`` ``outcome``) is not visible to instruments: patches.py wraps
every spawned coroutine in ``_watched`` (below), which records ok / cancelled / error before the task exits.

The same class feeds the tree and the timeline with (docs/protocol.md, "Structured-concurrency
events"):
  * ``nursery`` / ``nursery_exit``: a nursery opened by a shown task (or a hidden one: then
    ``task`` is its nearest shown ancestor), reported by the ``trio.open_nursery`` patch in
    patches.py.  Nurseries that trio opens for itself (the system nursery, ...) belong to no demo
    task and are left out.  A nursery the patch did not see (opened through a trio-internal
    path) is still announced, lazily, before its first child's ``task`` event.
  * ``state``: which shown tasks became *running* (scheduled or stepping) or *waiting*
    (blocked at a checkpoint).  A task is waiting when its step ends without trio having
    rescheduled it (``task_scheduled`` during its own step means ``await sleep(0)``), and
    running again when trio schedules it.  A new task is running from its ``task`` event on;
    after that only changes are sent, at most every STATE_INTERVAL, in one event (the flusher
    thread (execute.py) sends what is still pending when trio goes quiet).  A hook costs a dict
    lookup when nothing changed, so a flood of steps stays cheap.
  * ``scope`` / ``scope_fired`` / ``scope_exit``: cancel scopes entered from slide code
    (``with trio.move_on_after(3):``), reported by the CancelScope patches in patches.py.
    ``scope_fired`` is sent when trio cancels the scope -- its deadline passing is noticed by
    trio's run loop, which cancels the scope before it wakes the tasks up, so the event
    precedes its effects (``task_exit`` cancelled, ``scope_exit``).  It lists the shown tasks
    inside the scope at that moment (compat.py, which also says what is lost without it).  A scope cancelled before it
    was entered (``move_on_after(0)``) fires right after its ``scope`` event; if the
    cancellation hook is missing (see compat.py), a cancelled scope fires when it exits.
"""

import functools
import inspect
import time
import types

import trio

from . import capture, compat
from .protocol import _go, _go_hooks, _stop, emit
from .state import _lock, _state, _task_var
from .tracebacks import _only

STATE_INTERVAL = 0.05


class _Record:
    __slots__ = ("id", "out_id", "nursery", "nurseries")

    def __init__(self, task_id, out_id, nursery):
        self.id = task_id  # None for hidden tasks
        self.out_id = task_id if task_id is not None else out_id  # who "owns" its output
        self.nursery = nursery
        self.nurseries = []  # nurseries this task owns, to forget their ids with it


class _TaskTree(trio.abc.Instrument):
    enabled = True  # False if the patches could not be installed

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

    # The reports below come from the patches (patches.py), i.e. from inside the demo's own
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
                deadline = round(deadline - trio.current_time() + time.monotonic() - _state.t0, 6)
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
                reason = compat.guess_reason(scope)
            emit("scope_fired", id=entry[0], reason=reason,
                 cancelled=compat.tasks_reached(scope, self.records))
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
        if self._rescheduled or not _go.is_set():  # a prestarted root waiting for ``go``
            return                                 # is not "waiting" in the demo's sense
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
            for nursery in record.nurseries:  # normally closed already (patches.py)
                self.nursery_closed(nursery)
            capture._stdout.flush_task(task)
            capture._stderr.flush_task(task)
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
capture.name_tasks_with(_tree.out_id)
_NURSERY_TYPES = compat.NURSERY_TYPES
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
    kind = compat.task_code_kind(code, qualname)
    if kind == "run_handler":  # serve_listeners' wrapper around the handler
        call = compat.run_handler_call(local)
        if call is None:
            return None
        handler, stream = call
        return "%s(%s)" % (_short(handler), _labels([stream], _params(handler)))
    if kind == "public":
        name = "trio." + code.co_name  # e.g. start_soon(trio.serve_tcp, ...)
    elif kind == "helper":
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


# -- the task wrappers -------------------------------------------------------------------------
# Every run's root task is ``_root`` and every spawned task's coroutine runs inside
# ``_watched`` (patches.py puts it there): _task_label sees through both.

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


async def _root(fn, args, label, prestarted=False):
    """The root task of every trio run: the presenter's cancel scope around the real work.

    ``label`` is what the task tree shows for this task (``main()``, ``<slide 12>``).
    ``prestarted``: a prepared run whose trio run starts before ``go`` (execute.py), so that
    ``r`` does not wait for trio's start-up; ``fn`` is only called once ``go`` came.
    """
    with trio.CancelScope() as scope:
        _stop.attach(scope)
        try:
            if prestarted:
                await _until_go()
            return await _watched(compat.coroutine_or_error(fn, *args))
        finally:
            _stop.detach()


async def _until_go():
    """Sleeps inside trio until ``go`` (a stop before it cancels the sleep, as any other)."""
    if _go.is_set():
        return
    woken = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def wake():
        try:
            token.run_sync_soon(woken.set)
        except trio.RunFinishedError:  # the run was stopped meanwhile
            pass

    _go_hooks.append(wake)
    # ``go`` may have come between the first look and the hook being in place.
    if not _go.is_set():
        await woken.wait()


def _is_root(coro):
    return getattr(coro, "cr_code", None) is _root.__code__
