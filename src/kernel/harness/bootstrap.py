"""trio-present harness bootstrap: the whole `python -c` argument (see README.md here).

Reads the harness package from fd $TRIO_PRESENT_MODULES_FD (5) until end of file: one header
line, a JSON list of [file name, size in bytes], then the files back to back.  Closes the fd,
then imports the package from memory through a sys.meta_path finder (nothing is written to
disk) as `trio_present_harness`, module files named `<trio-present harness/NAME.py>`.
"""
import os, signal, sys

# As in __main__.py: a SIGINT to a spare that is warming up ends it quietly.
signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    import json, linecache
    from importlib.machinery import ModuleSpec

    fd = int(os.environ.get("TRIO_PRESENT_MODULES_FD", "5"))
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(fd)  # the demo's subprocesses must not inherit it
    except OSError:
        os.write(2, b"trio-present harness: fd %d is not open (the presenter runs this)\n" % fd)
        os._exit(2)
    head, _, body = b"".join(chunks).partition(b"\n")
    files, at = {}, 0
    for name, size in json.loads(head):
        files[name] = body[at:at + size].decode()
        at += size

    class Harness:
        """Finder and loader of `trio_present_harness` and its modules, from `files`."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            package, _, module = name.partition(".")
            file = module + ".py" if module else "__init__.py"
            if package == "trio_present_harness" and file in files:
                origin = "<trio-present harness/%s>" % file
                return ModuleSpec(name, Harness, origin=origin, is_package=not module)
            return None

        @staticmethod
        def create_module(spec):
            return None  # the usual module object

        @staticmethod
        def exec_module(module):
            origin = module.__spec__.origin
            source = files[origin[len("<trio-present harness/"):-1]]
            # Like slide blocks: tracebacks of harness bugs show the source lines.
            linecache.cache[origin] = (len(source), None, source.splitlines(True), origin)
            exec(compile(source, origin, "exec", dont_inherit=True), module.__dict__)

    sys.meta_path.insert(0, Harness)
    import trio_present_harness.__main__  # never returns: the run ends with os._exit
except KeyboardInterrupt:  # the presenter is shutting the spare down while it warms up
    os._exit(0)
