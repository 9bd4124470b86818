"""Output capture: print() becomes ``out`` events, tagged with the printing task.

sys.stdout and sys.stderr are replaced by writers that turn text into ``out`` events, each
tagged with the harness id of the trio task that printed it (null outside trio, in plain
blocks and in worker threads).

print() is replaced too (see _print): the real one calls write() once per piece, which makes
a flood of prints twice as slow.  Text arrives in pieces anyway (``end=""``, direct write()
calls) and tasks interleave, so text is buffered per task and per stream and only whole lines
are sent.  A partial line (``print(x, end="")``) is sent when someone calls flush(), when its
task exits, at the end of the run, by the flusher thread (execute.py) once it is PARTIAL_DELAY old -- so
a progress-dots demo still shows its dots -- or at once when it holds PARTIAL_MAX characters
(a line that never ends stays bounded here; the presenter cuts long lines for display).

Code that writes around Python (C extensions, subprocesses, ``os.write(1, ...)``,
``sys.__stdout__``) reaches the real fds 1/2, which the presenter shows untagged; fileno()
gives those fds so a subprocess inheriting "sys.stdout" does the same.
"""

import builtins
import codecs
import functools
import io
import sys
import time

from .protocol import _out_lines, _send_line, emit
from .state import _current_task, _lock, _state

PARTIAL_DELAY = 0.03
PARTIAL_MAX = 1 << 16  # characters of a partial line held back at most (then sent as is)


# Which task id an ``out`` event carries for a trio task: the task tree's ``out_id`` (tree.py
# installs it with ``name_tasks_with``; this module does not import the tree, which imports it).
def _no_ids(task):
    return None


_out_id = _no_ids


def name_tasks_with(out_id):
    """Tags output with ``out_id(task)`` from now on (called by tree.py)."""
    global _out_id
    _out_id = out_id


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
                    task_id = _out_id(task) if task is not None else None
                    self._pending[task] = [[s], time.monotonic(), task_id, len(s)]
                else:
                    pending[0].append(s)
                    pending[3] += len(s)
                    if pending[3] >= PARTIAL_MAX:  # a line that does not end: send what is there
                        del self._pending[task]
                        self._send(pending[2], "".join(pending[0]))
                return len(s)
            if pending is None:
                text, task_id = s, _out_id(task) if task is not None else None
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
                _send_line(line, now, printed=True)
            return
        pieces = [piece + "\n" for piece in text.split("\n")]
        pieces[-1] = pieces[-1][:-1]  # the partial tail, "" if the text ends with a newline
        for piece in pieces:
            if piece:
                for line in _out_lines(task_id, self._stream, piece, now):
                    _send_line(line, now, printed=True)

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


def _flush_partials(deadline):
    """Sends the partial lines that have waited since before ``deadline`` (flusher thread)."""
    _stdout.flush_older_than(deadline)
    _stderr.flush_older_than(deadline)
