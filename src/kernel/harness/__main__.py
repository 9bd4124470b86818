"""Start-up: the order in which the harness comes to life, up to ``ready``.

The bootstrap (bootstrap.py, the ``python -c`` argument) imports this module once it can
load the package.  Nothing else in the package may run before the SIGINT handler below is in
place and trio is imported.
"""

import os
import signal
import sys
import traceback

# First thing, before importing trio: the presenter started us in our own process group and
# will stop a demo with SIGINT to that group.  If our parent had SIGINT ignored, Python keeps
# it ignored; SIG_DFL would kill us without a word.  ``default_int_handler`` raises
# KeyboardInterrupt, which is also the handler trio looks for before it installs its own
# (so Ctrl-C semantics inside trio.run are trio's usual ones).  Between ``ready`` and the
# start of the run a gentler handler stands in (see execute.main).  (The bootstrap installs
# the same handler before it reads the modules; this keeps the rule next to its reason.)
signal.signal(signal.SIGINT, signal.default_int_handler)

try:
    import trio  # noqa: F401  (imported here first, so that a failure is reported plainly)
except KeyboardInterrupt:  # the presenter is shutting the spare down while it warms up
    os._exit(0)
except Exception:  # e.g. trio 0.22 on Python 3.13: say so on stderr, which the presenter shows
    traceback.print_exc()
    sys.stderr.write("trio-present: %s cannot import trio\n" % sys.executable)
    sys.stderr.flush()
    os._exit(1)

from . import console, execute, patches  # noqa: E402  (after the import of trio, on purpose)

patches.install()
execute.main(console=console.run)
