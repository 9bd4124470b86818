"""Shared state: what several parts of the harness read and write during one run.

Everything here is plain data with no behaviour, so that every other module can import it
without importing each other:

  * ``_lock`` orders everything that touches the events pipe or the output buffers.  It is
    re-entrant because a KeyboardInterrupt can, in rare timing, leave a ``with`` half-done in
    the main thread, and the main thread must still be able to say ``done`` afterwards.
  * ``_state`` holds the run's flags (set-up phase, silence, ``expose``) and its clock origin.
  * ``_task_var`` / ``_current_task``: the trio task that is running Python code right now.

(Names with a leading underscore are private to the harness, not to their module: the
package is one program split by concern, see its README.)
"""

import contextvars
import threading
import time

_lock = threading.RLock()


class _State:
    t0 = time.monotonic()  # the run's clock origin: reset when ``run`` arrives (``t`` of events)
    silent = False  # set-up blocks: discard their output
    wrote = False  # did the slide's own code print anything?
    setup_phase = False  # trio.run() calls in set-up blocks are skipped (see execute.py)
    setup_at = None  # (slide, deck line) of the set-up statement running, for a stop
    trio_runs = 0  # trio runs started by the slide's own blocks
    expose = False  # the presenter's ``expose`` flag (see patches.py)


_state = _State()


# The task that is printing.  trio runs every task in its own copy of the context, and
# ``_watched`` (tree.py) stores the task there when it starts, so finding it costs one lookup
# instead of trio.lowlevel.current_task()'s RuntimeError outside trio.  Outside trio (plain
# blocks, threads of the demo) it is None; trio.to_thread workers run in a copy of the
# calling task's context, so what they print is attributed to that task.
_task_var = contextvars.ContextVar("trio_present_task", default=None)
_current_task = _task_var.get
