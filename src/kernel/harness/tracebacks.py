"""Tracebacks: errors are shown with slide frames only.

A traceback from slide code is mostly harness and trio internals; the audience wants the slide.
Every exception in the error (exception-group members, ``__cause__``, ``__context__``) keeps only
the frames whose file name starts with ``slide `` (the names blocks are compiled with), at
every level of an exception group.  The harness's own modules are compiled with file names
``<trio-present harness/NAME.py>`` (see the bootstrap), trio's are under its package: neither
is ever a slide frame.  An exception raised inside trio (a fail_after's TooSlowError) keeps no
frame at all.  The result is then formatted by Python itself, so exception groups look
exactly as they would in a terminal, all members included (on Python < 3.11 via the
exceptiongroup backport that trio depends on).  The home directory is shown as ``~``.

One error gets a sentence instead: a listener (trio.serve_tcp, trio.open_tcp_listeners) whose
port is taken -- the usual "the previous demo is still running" -- becomes
``port 1234 is already in use (127.0.0.1:1234): stop the other program or pick another port``.
(A bind on a plain socket in slide code keeps its traceback, which shows the address.)
"""

import builtins
import errno
import os
import traceback
import types

SLIDE_PREFIX = "slide "  # file names of slide code (execute.py compiles blocks with them)
CONSOLE_PREFIX = "console "  # ... and of what the speaker types into the console (console.py)

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
    keep = [e for e in entries if e.tb_frame.f_code.co_filename.startswith(
        (SLIDE_PREFIX, CONSOLE_PREFIX))]
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
    """The one-line report for a listener whose port is taken (see patches.py), or None."""
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

