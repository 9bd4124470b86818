"""Trio compatibility: every use of trio's private API, each with a fallback that degrades.

The harness shows more than trio's public API tells: when a cancel scope fires and whom it
reaches, what the task behind trio's per-connection wrapper really runs.  Everything that
reaches into trio's private parts is in this module, nowhere else, and each piece has a
fallback that makes a panel show less instead of failing the run.  The harness's self-test
(tests/harness/drive.py --selftest) runs against the oldest supported trio (0.23), 0.27, 0.31
and the newest release (tests/harness/matrix.sh, run by CI); its last section runs slides
once more with ``coroutine_or_error`` and ``enable_ki_protection`` taken away, so those
fallbacks are exercised for real.

What is used, and what is lost without it:

  1. ``trio._util.coroutine_or_error(fn, *args)`` calls the root task's function with trio's
     own checks and messages (``trio.run(main())`` gets "you passed a coroutine object").
     Without it: the function is simply called; a mistake gets Python's plainer error.
  2. How ``trio.lowlevel.enable_ki_protection`` (public) marks a plain function.  trio < 0.28
     wraps it in a function of its own, an extra frame between a patched method and its
     caller; trio >= 0.28 marks the code object and returns the function itself.
     ``ki_protected`` notes wrapper code objects so that ``caller_frame`` can step over them.
     Without enable_ki_protection: the patched methods are unprotected (a Ctrl-C landing in
     their few lines of bookkeeping may leave a nursery half-reported; the run still stops).
  3. *When* a scope is cancelled.  A deadline passing is no method call anyone can observe:
     trio's run loop notices it and cancels the scope.  On trio >= 0.31 every cancellation
     goes through the private ``CancelScope._cancel(cancel_reason)``, whose CancelReason has
     a ``source`` saying why (deadline / explicit / nursery / KeyboardInterrupt); wrapping it
     reports the firing before trio wakes the tasks up.  Older trio has no reasons, and its
     run loop calls the public ``cancel()`` on an expired deadline, so wrapping that is
     enough and the reason is inferred (``guess_reason``: deadline passed -> ``deadline``,
     otherwise ``explicit``).  If neither can be wrapped, ``watch_cancellations`` raises and
     patches.py says so on stderr: a cancelled scope is then reported when it exits (late,
     reason inferred, with an empty task list).  A reason of an unknown shape is sent as
     ``unknown``.
  4. *Which* tasks a cancellation reaches (``tasks_reached``).  Each task's private
     ``_cancel_status`` chain (one CancelStatus per scope it is inside, linked through
     ``_parent``, each knowing its ``_scope``) either passes through the scope's own
     ``_cancel_status`` -- the task is cancelled -- or not; a shielded scope on the way stops
     it.  On any surprise the list is empty: the timeline shows the firing without arrows.
  5. trio's own tasks (``task_code_kind``): a task whose code lives in trio's package is
     trio's.  Public functions (``trio.sleep``) are shown as such; private helpers
     (``_serve_one_listener``, names with ``_`` or in ``<locals>``) are hidden; and the
     private ``_run_handler(stream, handler)`` of serve_listeners is shown as the call it
     makes, read from its frame locals (``run_handler_call``).  If trio renames
     ``_run_handler`` or its locals, connection tasks are hidden like any helper (their output
     is then attributed to the serving task).
  6. The nursery type: ``trio.Nursery`` (public since 0.23) and ``trio.lowlevel.Nursery``
     where it exists; without either, nurseries in task labels are shown by type name.

Everything here is read-only or wraps a method without changing what it does.
"""

import functools
import inspect
import os

import trio

TRIO_VERSION = trio.__version__

# -- 1. coroutine_or_error --------------------------------------------------------------------

try:
    from trio._util import coroutine_or_error
except Exception:  # moved: lose only trio's nicer "not an async function" errors

    def coroutine_or_error(async_fn, *args):
        return async_fn(*args)


# -- 2. KeyboardInterrupt protection ----------------------------------------------------------
# trio defers a Ctrl-C that lands inside its own bookkeeping (entering a cancel scope, opening a
# nursery) so that it never leaves half-done state behind.  The harness's wrappers stand where
# trio's protected methods stood, so they are marked the same way.

WRAPPER_CODES = set()  # code objects of trio's KI-protection wrappers (trio < 0.28)


def ki_protected(fn):
    """``fn`` marked as protected from KeyboardInterrupt the way trio marks its own methods."""
    try:
        protected = trio.lowlevel.enable_ki_protection(fn)
    except Exception:
        return fn
    code = getattr(protected, "__code__", None)
    if code is not None and code is not fn.__code__ and not inspect.iscoroutinefunction(fn):
        WRAPPER_CODES.add(code)
    return protected


def caller_frame(frame):
    """``frame``, or the first frame above it that is not a KI-protection wrapper."""
    while frame.f_code in WRAPPER_CODES:
        frame = frame.f_back
    return frame


# -- 3. when a scope is cancelled -------------------------------------------------------------


def watch_cancellations(scope_type, watches, fired):
    """Calls ``fired(scope, reason)`` when trio cancels a scope for which ``watches(scope)``
    is true, before trio wakes the tasks inside up.  ``reason`` is trio's CancelReason source
    (trio >= 0.31), ``"unknown"`` when it has a shape we do not know, or None for "infer it"
    (older trio: see ``guess_reason``).  Raises if trio has neither method to wrap."""
    if callable(getattr(scope_type, "_cancel", None)):  # trio >= 0.31
        original = scope_type._cancel

        def _cancel(self, *args, **kwargs):
            if watches(self):
                reason = args[0] if args else kwargs.get("cancel_reason")
                source = getattr(reason, "source", None)
                fired(self, source if isinstance(source, str) else "unknown")
            return original(self, *args, **kwargs)

        scope_type._cancel = functools.update_wrapper(_cancel, original)
    else:
        original = scope_type.cancel

        def cancel(self, *args, **kwargs):
            if watches(self):
                fired(self, None)  # inferred: see guess_reason
            return original(self, *args, **kwargs)

        scope_type.cancel = functools.update_wrapper(cancel, original)


def guess_reason(scope):
    """Why a scope was cancelled, on trio versions that do not record it."""
    try:
        return "deadline" if scope.deadline <= trio.current_time() else "explicit"
    except Exception:
        return "unknown"


# -- 4. which tasks a cancellation reaches -----------------------------------------------------


def tasks_reached(scope, records):
    """Ids of the shown tasks (``records``: task -> record with ``id``, None when hidden) that a
    cancellation of ``scope`` reaches; [] when trio's internals are not what we expect."""
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


# -- 5. trio's own tasks -----------------------------------------------------------------------

TRIO_DIR = os.path.dirname(trio.__file__) + os.sep


def task_code_kind(code, qualname):
    """What a task's code object is: None (not trio's: the demo's own), ``"public"`` (a public
    trio function, shown as ``trio.name``), ``"run_handler"`` (serve_listeners' wrapper, see
    ``run_handler_call``), ``"helper"`` (trio's own helper task: hidden) or ``"method"``
    (anything else of trio's, e.g. ``Event.wait``: shown by its qualified name)."""
    if not code.co_filename.startswith(TRIO_DIR):
        return None
    if code.co_name == "_run_handler":
        return "run_handler"
    if getattr(getattr(trio, code.co_name, None), "__code__", None) is code:
        return "public"
    if code.co_name.startswith("_") or "<locals>" in qualname:
        return "helper"
    return "method"


def run_handler_call(local):
    """(handler, stream) from the frame locals of trio's ``_run_handler(stream, handler)``,
    or None if they are not there (then the task is hidden like a helper)."""
    if "handler" in local and "stream" in local:
        return local["handler"], local["stream"]
    return None


# -- 6. the nursery type -----------------------------------------------------------------------

NURSERY_TYPES = tuple(
    t for t in (getattr(trio, "Nursery", None), getattr(trio.lowlevel, "Nursery", None)) if t
)
