"""Patches: the only places where trio itself is changed (small, documented).

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
    to the OSError, for the one-line error of tracebacks.py.
  * ``trio.open_nursery()`` returns trio's context manager in a wrapper that reports
    ``nursery`` / ``nursery_exit``.
  * ``CancelScope.__enter__`` / ``__exit__`` report ``scope`` / ``scope_exit`` for scopes
    entered from slide code.  ``trio.move_on_after`` & co. remember which call made the
    scope, so the tree says ``move_on_after(3)`` rather than ``CancelScope``.
  * ``scope_fired`` needs trio internals: compat.py, like every other use of trio's private
    API, each with its fallback.

If trio moved something (a future version), the patch in question is skipped with a line on
stderr: the slides still run and print, only the tree (or that nicety) is missing.
"""

import collections.abc
import errno
import functools
import inspect
import os
import socket
import sys
import weakref

import trio

from . import compat
from .protocol import emit
from .state import _state
from .tree import _call_label, _root, _short, _tree, _watched

_original_trio_run = trio.run


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


def _run_in_trio(fn, args, label, prestarted=False, **run_kwargs):
    """trio.run(fn, *args) with the task tree and the stop button (``prestarted``: tree.py's
    ``_root``)."""
    instruments = tuple(run_kwargs.pop("instruments", None) or ())
    if _tree.enabled:
        instruments += (_tree,)
    return _original_trio_run(_root, fn, args, label, prestarted, instruments=instruments,
                              **run_kwargs)


def install():
    """Installs every patch (once, before ``ready``)."""
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
                if exc.errno == errno.EADDRINUSE:  # tracebacks.py turns it into one line
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
# The wrappers below stand where trio's protected methods stood, so they are marked the same
# way (compat.ki_protected, which also knows the extra wrapper frame older trio adds).

_ki_protected = compat.ki_protected


def _from_slide(depth=2):
    """Was the function calling ours called from slide code (a file named ``slide ...``)?"""
    frame = compat.caller_frame(sys._getframe(depth))
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
        compat.watch_cancellations(scope_type, _tree.watches, _tree.scope_fired)
    except Exception as exc:  # scope_fired then comes late, at the scope's exit
        os.write(2, ("trio-present: cancellations seen late (%r)\n" % exc).encode())
