#!/usr/bin/env python3
"""Drives the harness (src/kernel/harness/) the way the presenter does, for testing it by hand.

    python3 tests/harness/drive.py SLIDE [--deck slides/trio.md] [--cancel-after S]
                                         [--sigint-after S] [--timeout S]
    python3 tests/harness/drive.py --source 'print(1)'      # an ad-hoc one-block slide
    python3 tests/harness/drive.py --selftest [--python python3.13] [--pythonpath DIR]
    python3 tests/harness/drive.py --flood 100000 [--in-trio] [--repeat 3]   # print throughput
    ... [--harness DIR | OLD.py]  # drive another copy of the harness (before/after comparisons)

As the presenter does (src/kernel/process.rs): the interpreter runs `python -c <bootstrap.py>`
with fd 3 = events, fd 4 = commands, fd 5 = the harness package (written by a thread, read
by the bootstrap until end of file), stdin = /dev/null, in its own session; events are
printed with the time they arrived.  `--harness OLD.py` runs an old single-file harness as
`python -c <its source>` instead, for before/after comparisons.
"""

import argparse
import collections
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HARNESS = os.path.join(ROOT, "src", "kernel", "harness")
MODULES_FD = 5
# Prepended to the bootstrap by --selftest's compat section (see compat_fallbacks).
PRELUDE = ""


def harness_bundle(directory):
    """The bytes the presenter writes to fd 5 (src/kernel/harness.rs, `bundle`): a header line
    with a JSON list of [file name, size in bytes], then the files back to back, by name."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(".py") and n != "bootstrap.py")
    data = [open(os.path.join(directory, n), "rb").read() for n in names]
    head = json.dumps([[n, len(d)] for n, d in zip(names, data)], separators=(",", ":"))
    return head.encode() + b"\n" + b"".join(data)
DECK = os.path.join(ROOT, "slides", "trio.md")


def split_deck(text):
    """[(slide number, [(kind, source)])]: slides split on `====` lines outside fences."""
    slides, blocks, fence, body = [], [], None, []
    for line in text.split("\n"):
        if fence is None:
            if line.strip() == "====":
                slides.append(blocks)
                blocks = []
            elif line.startswith("```"):
                fence, body = line[3:].strip(), []
        elif line.startswith("```"):
            if fence in ("exec", "exechidden"):
                blocks.append((fence, "\n".join(body) + "\n"))
            fence = None
        else:
            body.append(line)
    slides.append(blocks)
    return [(i + 1, b) for i, b in enumerate(slides)]


def run_blocks(deck_slides, slide):
    out = []
    for number, blocks in deck_slides[:slide]:
        for i, (_, source) in enumerate(blocks):
            out.append({"slide": number, "index": i + 1, "of": len(blocks), "source": source,
                        "setup": number != slide})
    return out


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


class Harness:
    def __init__(self, python="python3", pythonpath=None):
        package = os.path.isdir(HARNESS)
        if package:
            source = PRELUDE + open(os.path.join(HARNESS, "bootstrap.py")).read()
            bundle = harness_bundle(HARNESS)
        else:
            source = open(HARNESS).read()
        ev_r, ev_w = os.pipe()
        cmd_r, cmd_w = os.pipe()
        mod_r, mod_w = os.pipe()

        def place_fds():
            # Copies first, so that no dup2 clobbers a pipe end still to be placed.  os.dup's
            # copies are close-on-exec, and dup2 onto the same number keeps that flag (a copy
            # can land on 3 when 3 was free): mark the targets inheritable explicitly.
            copies = os.dup(ev_w), os.dup(cmd_r), os.dup(mod_r)
            for copy, fd in zip(copies, (3, 4, MODULES_FD)):
                os.dup2(copy, fd)
                os.set_inheritable(fd, True)

        env = dict(os.environ, TRIO_PRESENT_EVENTS_FD="3", TRIO_PRESENT_COMMANDS_FD="4",
                   TRIO_PRESENT_MODULES_FD=str(MODULES_FD))
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        self.started = time.monotonic()
        # Not pass_fds=(3, 4, 5): subprocess marks those inheritable in the child before
        # preexec_fn runs, and fails with EBADF when the driver happens to have no such fd
        # open.  place_fds' dup2 makes them inheritable; everything else Python opened is not.
        self.proc = subprocess.Popen(
            [python, "-c", source], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, close_fds=False, preexec_fn=place_fds,
            start_new_session=True, env=env)
        os.close(ev_w)
        os.close(cmd_r)
        os.close(mod_r)

        def write_modules():
            try:
                if package:
                    _write_all(mod_w, bundle)
            except OSError:  # the interpreter died before reading: its exit tells the story
                pass
            finally:
                os.close(mod_w)

        threading.Thread(target=write_modules, daemon=True).start()
        self.cmd_w = cmd_w
        self.events = queue.Queue()
        self._parsed = collections.deque()
        self.reads = 0  # chunks read from the events pipe
        self.raw = []
        self.t_run = None
        threading.Thread(target=self._read_events, args=(ev_r,), daemon=True).start()
        for f, name in ((self.proc.stdout, "fd1"), (self.proc.stderr, "fd2")):
            threading.Thread(target=self._read_raw, args=(f, name), daemon=True).start()

    def _read_events(self, fd):
        # Each line is stamped with the time its chunk was read and parsed later (by _next),
        # so that arrival times stay honest under a flood: this thread does little more than
        # read.  (The driver also shortens the GIL switch interval, see main().)
        rest = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            now = time.monotonic()
            if not chunk:
                break
            *lines, rest = (rest + chunk).split(b"\n")
            self.reads += 1
            self.events.put((now, lines))
        os.close(fd)
        self.events.put((time.monotonic(), None))

    def _next(self, timeout):
        """The next (arrival time, event); event None at EOF.  Raises queue.Empty."""
        if not self._parsed:
            now, lines = self.events.get(timeout=timeout)
            if lines is None:
                return now, None
            for line in lines:
                try:
                    ev = json.loads(line)
                except ValueError:
                    ev = {"ev": "BAD", "line": line}
                self._parsed.append((now, ev))
            if not self._parsed:
                return self._next(timeout)
        return self._parsed.popleft()

    def _read_raw(self, f, name):
        for line in f:
            self.raw.append((time.monotonic(), name, line.decode(errors="replace")))

    def send(self, obj):
        try:
            os.write(self.cmd_w, (json.dumps(obj) + "\n").encode())
        except BrokenPipeError:  # the harness is gone already
            pass

    def wait_ready(self, timeout=10):
        now, ev = self._next(timeout)
        assert ev and ev["ev"] == "ready", ev
        return ev

    def run(self, slide, blocks, expose=False):
        self.t_run = time.monotonic()
        self.send({"cmd": "run", "slide": slide, "blocks": blocks, "expose": expose})

    def sigint(self):
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def collect(self, timeout=20, actions=(), echo=False):
        """Events until `done`/EOF, as (arrival seconds since run, event)."""
        actions = sorted(actions, key=lambda a: a[0])
        got = self.seen = []  # (actions may look at what came so far)
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            while actions and now - self.t_run >= actions[0][0]:
                action = actions.pop(0)[1]
                if action == "cancel":
                    self.send({"cmd": "cancel"})
                elif action == "sigint":
                    self.sigint()
                else:
                    action(self)
            wait = min([deadline - now] + [a[0] - (now - self.t_run) for a in actions])
            if wait <= 0:
                break
            try:
                arrived, ev = self._next(wait)
            except queue.Empty:
                continue
            if ev is None:
                break
            got.append((arrived - self.t_run, ev))
            if echo:
                print_event(arrived - self.t_run, ev)
            if ev["ev"] == "done":
                break
        return got

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        os.close(self.cmd_w)


def print_event(t, ev):
    ev = dict(ev)
    kind = ev.pop("ev")
    ht = ev.pop("t", None)
    if kind == "out":
        print("[%7.3f h%7.3f] out   task=%s %s %r" % (t, ht, ev["task"], ev["stream"], ev["text"]))
    elif kind == "error":
        print("[%7.3f h%7.3f] error slide=%s setup=%s\n%s" % (
            t, ht, ev["slide"], ev["setup"], ev["traceback"]))
    else:
        print("[%7.3f h%7.3f] %-5s %s" % (t, ht if ht is not None else -1, kind,
                                          json.dumps(ev, ensure_ascii=False)))


# ------------------------------------------------------------------------------------------
# Self-test scenarios

DECK_SLIDES = None


# The deck's echo servers listen on 1234; the self-test moves them to a free port so that it
# can run beside other programs (and other tests) that use 1234.
ECHO_PORT = 1234


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deck_blocks(slide):
    global DECK_SLIDES
    if DECK_SLIDES is None:
        DECK_SLIDES = split_deck(open(DECK).read())
    blocks = run_blocks(DECK_SLIDES, slide)
    for block in blocks:
        block["source"] = block["source"].replace("1234", str(ECHO_PORT))
    return blocks


def adhoc(*sources, setup=()):
    blocks = [{"slide": 1, "index": i + 1, "of": len(setup), "source": s, "setup": True}
              for i, s in enumerate(setup)]
    blocks += [{"slide": 99, "index": i + 1, "of": len(sources), "source": s, "setup": False}
               for i, s in enumerate(sources)]
    return blocks


class Checker:
    """Functional checks are strict; timing checks (``timing``) only report.

    How fast an event arrives depends on the machine as much as on the harness: on a loaded
    2-core CI machine a batching latency of 1 ms can be 15 ms.  So latencies are printed, and
    marked ``slow`` beyond their target, but never fail the self-test.  The functional checks
    that involve time use the harness's own clock (``t`` of the event, when it was sent) and
    bounds far above any scheduling delay (a stop must end the run within STOP_LIMIT, not
    after the demo's 100 s sleep).
    """

    def __init__(self):
        self.passed = self.failed = self.slow = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("  ok   %s" % name)
        else:
            self.failed += 1
            print("  FAIL %s %s" % (name, detail))

    def timing(self, name, value, limit, unit="ms"):
        """Reports ``value`` against its target ``limit``; never fails."""
        fast = value is not None and value < limit
        self.slow += not fast
        print("  %s %s: %s %s (target < %s)" % ("ok  " if fast else "slow", name,
              "?" if value is None else "%.2f" % value, unit, limit))


STOP_LIMIT = 5.0  # seconds from a stop to ``done`` that count as "the stop worked"


def outs(events):
    return [(t, e) for t, e in events if e["ev"] == "out"]


def find_out(events, text):
    """(harness time, event) of the first ``out`` with ``text``: when the harness sent it."""
    for t, e in events:
        if e["ev"] == "out" and e["text"] == text:
            return e["t"], e
    return None, None


def done_status(events):
    for t, e in events:
        if e["ev"] == "done":
            return e["status"]
    return None


def tasks(events):
    return {e["id"]: e for t, e in events if e["ev"] == "task"}


def check_stop(c, ev, at, name="stopped"):
    """The run ended as ``stopped`` after a stop sent at ``at`` s; how fast is only reported."""
    end = ev[-1][0] if ev else None
    c.check(name, done_status(ev) == "stopped" and end is not None and end < at + STOP_LIMIT, ev[-2:])
    c.timing("stop took", end and 1000 * (end - at), 200)


def events_within(h, quiet):
    """The events that arrive until none came for ``quiet`` seconds (a prepared run: none)."""
    got = []
    try:
        while True:
            got.append(h._next(quiet))
    except queue.Empty:
        return got


def scenario(h, c, slide_or_blocks, slide=99, timeout=20, actions=(), expose=False, verbose=False):
    if isinstance(slide_or_blocks, int):
        slide = slide_or_blocks
        blocks = deck_blocks(slide)
    else:
        blocks = slide_or_blocks
    h.wait_ready()
    h.run(slide, blocks, expose)
    events = h.collect(timeout=timeout, actions=actions, echo=verbose)
    return events


def selftest(python, pythonpath, verbose):
    global ECHO_PORT
    ECHO_PORT = free_port()
    c = Checker()

    def fresh():
        return Harness(python, pythonpath)

    def prepared_run(blocks, quiet, before_go=None):
        """``prepare`` in a fresh harness, then ``go`` once ``quiet`` seconds passed without an
        event: (the events before go, the run's events).  ``before_go(h)`` is called just
        before ``go``."""
        h = fresh()
        h.wait_ready()
        h.send({"cmd": "prepare", "slide": 99, "blocks": blocks, "expose": False})
        early = events_within(h, quiet)
        if before_go:
            before_go(h)
        h.t_run = time.monotonic()
        h.send({"cmd": "go"})
        ev = h.collect(timeout=10, echo=verbose)
        h.close()
        return early, ev

    def section(title):
        print("--", title)

    # ---- slide 12
    section("slide 12")
    h = fresh()
    ready = h.wait_ready()
    print("  ready:", ready, "after %.3fs" % (time.monotonic() - h.started))
    h.run(12, deck_blocks(12))
    ev = h.collect(echo=verbose)
    h.close()
    ts = tasks(ev)
    main_id = [i for i, t in ts.items() if t["name"] == "main()"]
    c.check("main() task", len(main_id) == 1 and ts[main_id[0]]["parent"] is None, ts)
    main_id = main_id[0] if main_id else None
    sleepies = {t["name"]: i for i, t in ts.items() if t["name"].startswith("sleepy(")}
    c.check("five sleepy(i) tasks, parent main", sorted(sleepies) == ["sleepy(%d)" % i for i in range(5)]
            and all(ts[i]["parent"] == main_id for i in sleepies.values()), ts)
    for i in range(5):
        t, e = find_out(ev, "Sleeping for %d seconds\n" % i)
        c.check("Sleeping for %d at ~0" % i, t is not None and t < 0.3 and e["task"] == sleepies.get("sleepy(%d)" % i), (t, e))
        t, e = find_out(ev, "Slept %d seconds\n" % i)
        c.check("Slept %d at ~%d tagged" % (i, i), t is not None and abs(t - i) < 0.3 and e["task"] == sleepies.get("sleepy(%d)" % i), (t, e))
    t_started, _ = find_out(ev, "Started all tasks\n")
    t_slept0, _ = find_out(ev, "Slept 0 seconds\n")
    c.check("Started before Slept", t_started is not None and t_slept0 is not None and
            [e["text"] for _, e in outs(ev)].index("Started all tasks\n") <
            [e["text"] for _, e in outs(ev)].index("Slept 0 seconds\n"))
    texts = [e["text"] for _, e in outs(ev)]
    t_all, _ = find_out(ev, "All done\n")
    c.check("All done last at ~4", texts and texts[-1] == "All done\n" and abs(t_all - 4) < 0.3, (t_all, texts[-1:]))
    exits = [e for _, e in ev if e["ev"] == "task_exit"]
    c.check("task_exit ok for all", len(exits) == 6 and all(e["outcome"] == "ok" for e in exits), exits)
    c.check("info running main()", any(e["ev"] == "info" and e["text"] == "running main()" for _, e in ev))
    nev = [e for _, e in ev if e["ev"] in ("nursery", "nursery_exit")]
    c.check("nursery 1 of main, closed", [(e["ev"], e["id"], e.get("task")) for e in nev] ==
            [("nursery", 1, main_id), ("nursery_exit", 1, None)], nev)
    first_task_after_nursery = [e["ev"] for _, e in ev].index("nursery") < [
        i for i, (_, e) in enumerate(ev) if e["ev"] == "task" and e["name"] == "sleepy(0)"][0]
    c.check("nursery before its children", first_task_after_nursery)
    states = [(t, e) for t, e in ev if e["ev"] == "state"]
    waiting = set(x for _, e in states for x in e["waiting"])
    c.check("sleepers and main reported waiting", {main_id, sleepies.get("sleepy(3)")} <= waiting, states)
    t3 = [e["t"] for t, e in states if sleepies.get("sleepy(3)") in e["running"]]
    c.check("sleepy(3) running again at ~3 s", t3 and abs(t3[0] - 3) < 0.3, states)
    st = [e["t"] for _, e in states]
    c.check("state at most every 50 ms", all(b - a >= 0.045 for a, b in zip(st, st[1:])), st)
    c.check("done ok", done_status(ev) == "ok")
    ht = [e["t"] for _, e in ev if "t" in e]
    c.check("t monotonic", ht == sorted(ht))
    lat = [t - e["t"] for t, e in ev if "t" in e]
    print("  arrival - t: max %.2f ms" % (1000 * (max(lat) - min(lat))))

    # ---- slide 33
    section("slide 33")
    h = fresh()
    ev = scenario(h, c, 33, verbose=verbose)
    h.close()
    ts = tasks(ev)
    main_id = [i for i, t in ts.items() if t["name"] == "main()"][0]
    t, _ = find_out(ev, "starter done\n")
    c.check("starter done early", t is not None and t < 0.3, t)
    sl = [x for x in ts.values() if x["name"].startswith("sleepy(")]
    c.check("seven sleepy, parent main", len(sl) == 7 and all(x["parent"] == main_id for x in sl), sl)
    starter = [x for x in ts.values() if x["name"] == "starter(<nursery>)"]
    c.check("starter(<nursery>) named", len(starter) == 1, ts)
    c.check("same nursery", len({x["nursery"] for x in sl + starter}) == 1)
    t, _ = find_out(ev, "all done\n")
    c.check("all done at ~6", t is not None and abs(t - 6) < 0.3, t)
    c.check("done ok", done_status(ev) == "ok")

    # ---- slide 37
    section("slide 37")
    h = fresh()
    ev = scenario(h, c, 37, verbose=verbose)
    h.close()
    ts = tasks(ev)
    t1, _ = find_out(ev, "Sleeping for 10 seconds\n")
    t2, _ = find_out(ev, "All done\n")
    c.check("Sleeping then All done at ~3", t1 is not None and t1 < 0.3 and t2 is not None and abs(t2 - 3) < 0.3, (t1, t2))
    s10 = [i for i, x in ts.items() if x["name"] == "sleepy(10)"]
    exits = {e["id"]: e for _, e in ev if e["ev"] == "task_exit"}
    c.check("sleepy(10) cancelled", s10 and exits.get(s10[0], {}).get("outcome") == "cancelled", exits)
    sc = [e for _, e in ev if e["ev"].startswith("scope")]
    main_id = [i for i, x in ts.items() if x["name"] == "main()"][0]
    c.check("scope move_on_after(3)", sc and sc[0]["ev"] == "scope" and sc[0]["kind"] == "move_on_after"
            and sc[0]["arg"] == "3" and abs(sc[0]["deadline"] - 3) < 0.05 and sc[0]["task"] == main_id, sc)
    fired = [e for e in sc if e["ev"] == "scope_fired"]
    c.check("scope_fired deadline, main and sleepy inside", fired and fired[0]["reason"] == "deadline"
            and fired[0]["cancelled"] == sorted([main_id] + s10), sc)
    order = [e["ev"] for _, e in ev if e["ev"] in ("scope_fired", "task_exit", "nursery_exit", "scope_exit")]
    c.check("fired, exits, scope_exit in order", order[:4] == ["scope_fired", "task_exit", "nursery_exit", "scope_exit"], order)
    c.check("scope_exit cancelled_caught", [e.get("cancelled_caught") for e in sc if e["ev"] == "scope_exit"] == [True], sc)
    c.check("done ok", done_status(ev) == "ok")

    # ---- slide 47
    section("slide 47")
    h = fresh()
    ev = scenario(h, c, 47, verbose=verbose)
    h.close()
    ts = tasks(ev)
    t0, _ = find_out(ev, "sent 0\n")
    t1, _ = find_out(ev, "sent 1\n")
    c.check("sent 0, sent 1 at once", t0 is not None and t1 is not None and t1 < 0.3, (t0, t1))
    tr, _ = find_out(ev, "received 0\n")
    c.check("received 0 at ~2", tr is not None and abs(tr - 2) < 0.3, tr)
    c.check("received 0..2", all(find_out(ev, "received %d\n" % i)[0] for i in range(3)))
    c.check("sent 2 after received", (find_out(ev, "sent 2\n")[0] or 0) >= tr - 0.01)
    c.check("names", {x["name"] for x in ts.values()} ==
            {"main()", "sender(chan)", "receiver(chan)"}, ts)
    c.check("done ok", done_status(ev) == "ok")

    # ---- slide 46 alone (and 45, 11)
    section("slides 11, 45, 46: definitions only")
    for slide, names in ((46, ["receiver"]), (45, ["sender"]), (11, ["trio", "sleepy"])):
        h = fresh()
        ev = scenario(h, c, slide, verbose=verbose)
        h.close()
        d = [e for _, e in ev if e["ev"] == "defined"]
        c.check("slide %d defined %s" % (slide, names), d and d[0]["names"] == names, ev)
        c.check("done ok", done_status(ev) == "ok")

    # ---- slides 51..54: echo servers
    for slide in (51, 52, 53, 54):
        section("slide %d: echo server on %d, then cancel" % (slide, ECHO_PORT))
        h = fresh()
        result = {}

        def talk(h, result=result):
            try:
                with socket.create_connection(("localhost", ECHO_PORT), timeout=2) as s:
                    s.sendall(b"hello\n")
                    result["echo"] = s.recv(100)
            except OSError as exc:
                result["echo"] = exc

        ev = scenario(h, c, slide, actions=[(0.5, talk), (1.0, "cancel")], verbose=verbose)
        h.close()
        c.check("echo works", result.get("echo") == b"hello\n", result)
        c.check("done stopped", done_status(ev) == "stopped", ev[-3:])
        t_done = ev[-1][0] if ev else None
        c.check("stopped", t_done is not None and t_done < 1.0 + STOP_LIMIT, t_done)
        c.timing("stop 0.5 s after cancel took", t_done and 1000 * (t_done - 1.0), 200)
        c.check("info stopped by presenter", any(e["ev"] == "info" and e["text"] == "stopped by presenter" for _, e in ev))
        names = [x["name"] for x in tasks(ev).values()]
        print("  tasks:", names)
        c.check("handler(conn) task", "handler(conn)" in names, names)
        serve = "trio.serve_tcp(handler, %d)" % ECHO_PORT
        c.check(serve, serve in names, names)
        listens = [e for _, e in ev if e["ev"] == "listen"]
        c.check("listen on loopback", listens and all(e["port"] == ECHO_PORT and e["host"] in ("127.0.0.1", "::1")
                                                        for e in listens), listens)
        if slide >= 52:
            t, e = find_out(ev, None) if False else (None, None)
            c.check("opened connection printed",
                    any("opened connection" in e["text"] for _, e in outs(ev)), outs(ev))

    # ---- slide 53 with SIGINT only
    section("slide 53: SIGINT only")
    h = fresh()
    ev = scenario(h, c, 53, actions=[(0.5, "sigint")], verbose=verbose)
    h.close()
    c.check("done stopped", done_status(ev) == "stopped", ev[-3:])
    c.check("no error event", not any(e["ev"] == "error" for _, e in ev))

    # ---- all exec slides run (quick smoke with cancel for the servers)
    section("every exec slide starts")
    for slide in (11, 12, 33, 37, 45, 46, 47, 51, 52, 53, 54):
        h = fresh()
        ev = scenario(h, c, slide, actions=[(7.0, "cancel")], timeout=10)
        h.close()
        st = done_status(ev)
        c.check("slide %d -> %s" % (slide, st), st in (("stopped",) if slide >= 51 else ("ok",)), ev[-3:])

    # ---- errors
    section("NameError")
    h = fresh()
    ev = scenario(h, c, adhoc("async def main():\n    await trio.sleep(0)\n    foo()\n",
                              setup=["import trio\n"]), verbose=verbose)
    h.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    tb = errs[0]["traceback"] if errs else ""
    print("\n".join("    | " + l for l in tb.split("\n")))
    c.check("error event", len(errs) == 1 and errs[0]["slide"] == 99 and errs[0]["setup"] is False)
    c.check("traceback shape", tb.startswith("Traceback (most recent call last):\n  File \"slide 99\", line 3, in main\n    foo()\n")
            and tb.rstrip().endswith("NameError: name 'foo' is not defined"), tb)
    c.check("main task_exit error NameError",
            any(e["ev"] == "task_exit" and e["outcome"] == "error" and e.get("error") == "NameError" for _, e in ev))
    c.check("done error", done_status(ev) == "error")

    section("NameError in a plain block")
    h = fresh()
    ev = scenario(h, c, adhoc("x = 1\n", "print(x)\nfoo()\n"), verbose=verbose)
    h.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    tb = errs[0]["traceback"] if errs else ""
    print("\n".join("    | " + l for l in tb.split("\n")))
    c.check("block file name", 'File "slide 99 (block 2)", line 2, in <module>' in tb, tb)
    c.check("output before error", find_out(ev, "1\n")[0] is not None)
    c.check("done error", done_status(ev) == "error")

    section("setup error")
    h = fresh()
    ev = scenario(h, c, adhoc("print('never')\n", setup=["x = print('hidden')\ny = 1/0\n"]), verbose=verbose)
    h.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    c.check("setup error names its slide", errs and errs[0]["slide"] == 1 and errs[0]["setup"] is True, errs)
    c.check("setup output hidden, slide not run", not outs(ev), outs(ev))
    c.check("done error", done_status(ev) == "error")

    section("SyntaxError")
    h = fresh()
    ev = scenario(h, c, adhoc("def f(:\n    pass\n"), verbose=verbose)
    h.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    tb = errs[0]["traceback"] if errs else ""
    print("\n".join("    | " + l for l in tb.split("\n")))
    c.check("syntax error shown", 'File "slide 99", line 1' in tb and "SyntaxError" in tb and "harness" not in tb, tb)

    section("exception group")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def fail(n):\n"
        "    raise ValueError(n)\n"
        "async def main():\n"
        "    async with trio.open_nursery() as nursery:\n"
        "        nursery.start_soon(fail, 1)\n"
        "        nursery.start_soon(fail, 1)\n"
        "        nursery.start_soon(trio.sleep, 5)\n"), verbose=verbose)
    h.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    tb = errs[0]["traceback"] if errs else ""
    print("\n".join("    | " + l for l in tb.split("\n")))
    c.check("both members shown", tb.count("ValueError: 1") == 2 and tb.count('in fail') == 2
            and ("2 sub-exceptions" in tb or "MultiError" in tb), tb)
    c.check("no trio frames", "site-packages" not in tb and "trio35" not in tb, tb)
    exits = [e for _, e in ev if e["ev"] == "task_exit"]
    c.check("outcomes", sorted((e["outcome"], e.get("error")) for e in exits)[:1] == [("cancelled", None)]
            and sum(e.get("error") == "ValueError" for e in exits) == 2, exits)
    c.check("trio.sleep(5) task", any(x["name"] == "trio.sleep(5)" for x in tasks(ev).values()), tasks(ev))
    c.check("done error", done_status(ev) == "error")

    section("bind error (port in use)")
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    busy = blocker.getsockname()[1]
    blocker.listen()
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def handler(conn):\n"
        "    pass\n"
        "async def main():\n"
        "    async with trio.open_nursery() as nursery:\n"
        "        nursery.start_soon(trio.serve_tcp, handler, %d)\n" % busy), verbose=verbose)
    h.close()
    blocker.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    tb = errs[0]["traceback"] if errs else ""
    print("\n".join("    | " + l for l in tb.split("\n")))
    c.check("busy port in one line", tb == "port %d is already in use (127.0.0.1:%d): " % (busy, busy) +
            "stop the other program or pick another port", tb)
    c.check("done error", done_status(ev) == "error")

    section("while True: pass + SIGINT (plain block)")
    h = fresh()
    ev = scenario(h, c, adhoc("print('spinning')\nwhile True: pass\n"), actions=[(0.5, "sigint")], verbose=verbose)
    h.close()
    check_stop(c, ev, 0.5)
    c.check("no error", not any(e["ev"] == "error" for _, e in ev))

    section("while True: pass in a trio task + SIGINT")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def spin():\n"
        "    while True: pass\n"
        "async def main():\n"
        "    async with trio.open_nursery() as nursery:\n"
        "        nursery.start_soon(spin)\n"
        "        nursery.start_soon(trio.sleep, 10)\n"), actions=[(0.5, "sigint")], verbose=verbose)
    h.close()
    check_stop(c, ev, 0.5)
    c.check("no error", not any(e["ev"] == "error" for _, e in ev), ev)

    section("while True: pass in main + cancel, then SIGINT (presenter order)")
    h = fresh()
    ev = scenario(h, c, adhoc("async def main():\n    while True: pass\n"),
                  actions=[(0.5, "cancel"), (0.5, "sigint")], verbose=verbose)
    h.close()
    check_stop(c, ev, 0.5)

    section("time.sleep(100) + SIGINT (plain and in main)")
    for src in ("import time\ntime.sleep(100)\n",
                "import time\nasync def main():\n    time.sleep(100)\n"):
        h = fresh()
        ev = scenario(h, c, adhoc(src), actions=[(0.5, "sigint")], verbose=verbose)
        h.close()
        check_stop(c, ev, 0.5)

    section("cancel only, await trio.sleep(100) at top level")
    h = fresh()
    ev = scenario(h, c, adhoc("import trio\nprint('before')\nawait trio.sleep(100)\n"),
                  actions=[(0.5, "cancel")], verbose=verbose)
    h.close()
    check_stop(c, ev, 0.5, "stopped by cancel alone")
    c.check("top-level await task", any(x["name"] == "<slide 99>" for x in tasks(ev).values()), tasks(ev))
    c.check("before tagged with the block task", (find_out(ev, "before\n")[1] or {}).get("task") == 1, ev)

    section("scopes: fail_after, CancelScope, move_on_at")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def main():\n"
        "    try:\n"
        "        with trio.fail_after(0.05):\n"
        "            await trio.sleep(1)\n"
        "    except trio.TooSlowError:\n"
        "        print('too slow')\n"
        "    with trio.CancelScope() as s:\n"
        "        s.cancel()\n"
        "        await trio.sleep(1)\n"
        "    with trio.move_on_at(trio.current_time() + 0.05):\n"
        "        await trio.sleep(1)\n"), verbose=verbose)
    h.close()
    sc = [e for _, e in ev if e["ev"].startswith("scope")]
    kinds = [(e["kind"], e["arg"]) for e in sc if e["ev"] == "scope"]
    c.check("kinds", [k for k, _ in kinds] == ["fail_after", "CancelScope", "move_on_at"] and kinds[0][1] == "0.05", kinds)
    c.check("reasons", [e["reason"] for e in sc if e["ev"] == "scope_fired"] == ["deadline", "explicit", "deadline"], sc)
    c.check("only slide scopes (no nursery/root scopes)", len(kinds) == 3, sc)

    section("scopes: fired at entry, explicit from another task, shield")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def canceller(scope):\n"
        "    await trio.sleep(0.05)\n"
        "    scope.cancel()\n"
        "async def main():\n"
        "    with trio.move_on_after(0):\n"
        "        await trio.sleep(1)\n"
        "    async with trio.open_nursery() as nursery:\n"
        "        with trio.CancelScope() as scope:\n"
        "            nursery.start_soon(canceller, scope)\n"
        "            await trio.sleep(1)\n"
        "    with trio.move_on_after(0.05):\n"
        "        async with trio.open_nursery() as nursery:\n"
        "            nursery.start_soon(trio.sleep, 1)\n"
        "            with trio.CancelScope(shield=True):\n"
        "                await trio.sleep(0.1)\n"
        "    print('end')\n"), verbose=verbose)
    h.close()
    ts = {x["name"]: i for i, x in tasks(ev).items()}
    sc = [(t, e) for t, e in ev if e["ev"].startswith("scope")]
    kinds = [(e["id"], e["kind"], e["arg"]) for _, e in sc if e["ev"] == "scope"]
    fired = {e["id"]: e for _, e in sc if e["ev"] == "scope_fired"}
    c.check("four slide scopes", [k[1:] for k in kinds] == [("move_on_after", "0"), ("CancelScope", ""),
                                                           ("move_on_after", "0.05"), ("CancelScope", "")], kinds)
    ids = [k[0] for k in kinds]
    seq = [(e["ev"], e["id"]) for _, e in sc]
    c.check("move_on_after(0) fires right after its scope event", ids and seq[:3] ==
            [("scope", ids[0]), ("scope_fired", ids[0]), ("scope_exit", ids[0])], seq)
    c.check("... reason deadline", ids and fired.get(ids[0], {}).get("reason") == "deadline", fired)
    e = fired.get(ids[1] if len(ids) > 1 else None, {})
    c.check("cancel() from another task: explicit, only main inside (canceller is outside)",
            e.get("reason") == "explicit" and e.get("cancelled") == [ts.get("main()")], e)
    t_fired = [t for t, e in sc if e["ev"] == "scope_fired" and len(ids) > 1 and e["id"] == ids[1]]
    c.timing("... fired at ~0.05 s, off by", t_fired and 1000 * abs(t_fired[0] - 0.05), 20)
    e = fired.get(ids[2] if len(ids) > 2 else None, {})
    c.check("shielded main not reached, trio.sleep(1) is", e.get("reason") == "deadline"
            and e.get("cancelled") == [ts.get("trio.sleep(1)")], (e, ts))
    exits = {e["id"]: e["cancelled_caught"] for _, e in sc if e["ev"] == "scope_exit"}
    c.check("cancelled_caught for all but the shielded one", [exits.get(i) for i in ids] ==
            [True, True, True, False], exits)
    c.check("done ok", done_status(ev) == "ok")

    section("listeners: loopback by default, real port for port 0, trio's default with expose")
    for expose in (False, True):
        h = fresh()
        got = {}

        def connect(h, got=got):
            ls = [e for _, e in h.seen if e["ev"] == "listen"]
            got["listen"] = ls
            try:
                with socket.create_connection(("127.0.0.1", ls[0]["port"]), timeout=2) as s:
                    s.sendall(b"ping\n")
                    got["echo"] = s.recv(100)
            except Exception as exc:
                got["echo"] = exc

        ev = scenario(h, c, adhoc(
            "import trio\n"
            "async def handler(stream):\n"
            "    async for data in stream:\n"
            "        await stream.send_all(data)\n"
            "async def main():\n"
            "    await trio.serve_tcp(handler, 0)\n"), actions=[(0.5, connect), (0.8, "cancel")],
            expose=expose, verbose=verbose)
        h.close()
        ls = [e for _, e in ev if e["ev"] == "listen"]
        if not expose:
            c.check("one listener, 127.0.0.1, real port", len(ls) == 1 and ls[0]["host"] == "127.0.0.1"
                    and ls[0]["port"] > 0 and ls[0]["family"] == "ipv4", ls)
        else:
            c.check("expose: every interface", {e["host"] for e in ls} <= {"0.0.0.0", "::"} and
                    "0.0.0.0" in {e["host"] for e in ls}, ls)
        c.check("reported port answers", got.get("echo") == b"ping\n", got)
        c.check("done stopped", done_status(ev) == "stopped", ev[-2:])

    section("busy port with an explicit host, and when the demo catches it")
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def main():\n"
        "    await trio.open_tcp_listeners(%d, host='127.0.0.1')\n" % port), verbose=verbose)
    h.close()
    errs = [e["traceback"] for _, e in ev if e["ev"] == "error"]
    c.check("one line", errs == ["port %d is already in use (127.0.0.1:%d): stop the other program or "
                                 "pick another port" % (port, port)], errs)
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def main():\n"
        "    try:\n"
        "        await trio.open_tcp_listeners(%d)\n"
        "    except OSError:\n"
        "        raise RuntimeError('my own')\n" % port), verbose=verbose)
    h.close()
    blocker.close()
    errs = [e["traceback"] for _, e in ev if e["ev"] == "error"]
    c.check("the demo's own error keeps its traceback", errs and "RuntimeError: my own" in errs[0], errs)

    section("print(): sep, end, file, flush, errors as the builtin")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import sys, io\n"
        "print('a', 1, None, sep='-', end='!\\n')\n"
        "print('to err', file=sys.stderr, flush=True)\n"
        "print()\n"
        "print('x', 'y', sep=None, end=None)\n"
        "class S(str):\n"
        "    def __str__(self):\n"
        "        return 'custom'\n"
        "print(S('plain'))\n"
        "buf = io.StringIO()\n"
        "print('into buf', file=buf)\n"
        "print(repr(buf.getvalue()))\n"
        "try:\n"
        "    print('a', sep=5)\n"
        "except TypeError as exc:\n"
        "    print('TypeError:', exc)\n"
        "print(print.__name__)\n"
        "class Bad:\n"
        "    def __str__(self):\n"
        "        raise ValueError('no str')\n"
        "print(Bad())\n"), verbose=verbose)
    h.close()
    texts = [(e["stream"], e["text"]) for _, e in outs(ev)]
    c.check("texts", texts == [("stdout", "a-1-None!\n"), ("stderr", "to err\n"), ("stdout", "\n"),
                               ("stdout", "x y\n"), ("stdout", "custom\n"), ("stdout", "'into buf\\n'\n"),
                               ("stdout", "TypeError: sep must be None or a string, not int\n"),
                               ("stdout", "print\n")], texts)
    errs = [e["traceback"] for _, e in ev if e["ev"] == "error"]
    c.check("error in __str__: slide frames only", errs and 'File "slide 99", line 20' in errs[0]
            and "in __str__" in errs[0] and "harness" not in errs[0], errs)

    section("with open_nursery() (no async): trio's own message")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def main():\n"
        "    with trio.open_nursery():\n"
        "        pass\n"), verbose=verbose)
    h.close()
    errs = [e["traceback"] for _, e in ev if e["ev"] == "error"]
    c.check("async with hint", errs and "async with" in errs[0], errs)

    section("event batching: bursts are batched, lone events are not delayed")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import time, trio\n"
        "for i in range(3000):\n"
        "    print('plain', i)\n"
        "t = time.monotonic()\n"
        "while time.monotonic() - t < 0.2:\n"
        "    pass\n"
        "print('lone plain')\n"
        "time.sleep(0.1)\n"
        "async def main():\n"
        "    for i in range(3000):\n"
        "        print('trio', i)\n"
        "    await trio.sleep(0.1)\n"
        "    print('lone trio')\n"
        "    await trio.sleep(0.1)\n"), verbose=verbose)
    h.close()
    lat = {e["text"]: 1000 * (t - e["t"]) for t, e in outs(ev)}
    c.check("all lines", len(lat) == 6002, len(lat))
    print("  arrival - t (ms): first %.2f, end of plain burst %.2f, lone %.2f, end of trio burst %.2f, lone %.2f"
          % tuple(lat.get(k, -1) for k in ("plain 0\n", "plain 2999\n", "lone plain\n", "trio 2999\n", "lone trio\n")))
    c.timing("first line", lat.get("plain 0\n"), 1)
    # The batch flusher thread needs the GIL, which a busy main thread yields every 5 ms.
    c.timing("end of a burst then busy CPU", lat.get("plain 2999\n"), 25)
    c.timing("lone line (plain)", lat.get("lone plain\n"), 1)
    c.timing("lone line (trio)", lat.get("lone trio\n"), 1)
    c.timing("end of a burst, then trio sleeps", lat.get("trio 2999\n"), 5)

    section("input() gets EOF")
    h = fresh()
    ev = scenario(h, c, adhoc("name = input('name? ')\n"), timeout=5, verbose=verbose)
    h.close()
    errs = [e for _, e in ev if e["ev"] == "error"]
    c.check("EOFError traceback", errs and "EOFError" in errs[0]["traceback"], ev)

    section("partial lines")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def main():\n"
        "    for i in range(3):\n"
        "        print('.', end='')\n"
        "        await trio.sleep(0.3)\n"
        "    print('done')\n"
        "    print('tail', end='')\n"), verbose=verbose)
    h.close()
    o = outs(ev)
    dots = [(e["t"], e["text"]) for t, e in o if e["text"] == "."]
    c.check("three dots, each sent on its own", len(dots) == 3
            and all(0.02 < t - 0.3 * i < 0.3 for i, (t, _) in enumerate(dots)), o)
    c.timing("partial line sent after (target 30 ms)",
             dots and 1000 * max(t - 0.3 * i for i, (t, _) in enumerate(dots)), 100)
    c.check("rest of the line", [e["text"] for _, e in o][3:] == ["done\n", "tail"], o)

    section("explicit flush")
    h = fresh()
    ev = scenario(h, c, adhoc("import time\nprint('x', end='', flush=True)\ntime.sleep(0.5)\nprint('y')\n"), verbose=verbose)
    h.close()
    t, _ = find_out(ev, "x")
    c.check("flushed before the sleep ends", t is not None and t < 0.4, t)
    c.timing("flushed at once", t and 1000 * t, 20)

    section("stdout odds and ends")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import sys, subprocess, os\n"
        "print(sys.stdout.isatty(), sys.stdout.encoding, sys.stdout.fileno())\n"
        "sys.stdout.buffer.write('bytes é\\n'.encode())\n"
        "print('to stderr', file=sys.stderr)\n"
        "try:\n    sys.stdout.write(5)\nexcept TypeError as e:\n    print('TypeError', e)\n"
        "subprocess.run(['echo', 'from a subprocess'])\n"
        "os.write(1, b'raw fd 1\\n')\n"
        "print('x' * 10000)\n"
        "print('a\\nb\\nc')\n"), verbose=verbose)
    time.sleep(0.2)
    h.close()
    texts = [(e["stream"], e["text"]) for _, e in outs(ev)]
    c.check("isatty/encoding/fileno", ("stdout", "False utf-8 1\n") in texts, texts)
    c.check("buffer write", ("stdout", "bytes é\n") in texts, texts)
    c.check("stderr", ("stderr", "to stderr\n") in texts, texts)
    c.check("TypeError for non-str", ("stdout", "TypeError write() argument must be str, not int\n") in texts, texts)
    c.check("subprocess and raw fd output on fd 1", any("from a subprocess" in l for _, _, l in h.raw)
            and any("raw fd 1" in l for _, _, l in h.raw), h.raw)
    long = "".join(x for s, x in texts if x.startswith("x"))
    c.check("long line split and whole", long == "x" * 10000 + "\n", len(long))
    c.check("multi-line print", [x for _, x in texts if x in ("a\n", "b\n", "c\n")] == ["a\n", "b\n", "c\n"], texts)
    c.check("done ok", done_status(ev) == "ok")

    section("sync function / coroutine passed to start_soon: trio's messages")
    for src, msg in (("nursery.start_soon(len, 'x')", "appears to be synchronous"),
                     ("nursery.start_soon(trio.sleep(1))", "coroutine object")):
        h = fresh()
        ev = scenario(h, c, adhoc("import trio\nasync def main():\n    async with trio.open_nursery() as nursery:\n        %s\n" % src), verbose=verbose)
        h.close()
        errs = [e for _, e in ev if e["ev"] == "error"]
        c.check(msg, errs and msg in errs[0]["traceback"], errs)

    section("nursery.start: reparenting")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import trio\n"
        "async def server(port, task_status=trio.TASK_STATUS_IGNORED):\n"
        "    await trio.sleep(0.1)\n"
        "    task_status.started(port)\n"
        "    await trio.sleep(0.2)\n"
        "    print('serving')\n"
        "async def opener(nursery):\n"
        "    port = await nursery.start(server, 8000)\n"
        "    print('started on', port)\n"
        "async def main():\n"
        "    async with trio.open_nursery() as nursery:\n"
        "        nursery.start_soon(opener, nursery)\n"), verbose=verbose)
    h.close()
    tev = [e for _, e in ev if e["ev"] == "task"]
    names = {e["id"]: e["name"] for e in tev}
    srv = [e for e in tev if e["name"] == "server(8000)"]
    main_id = [e["id"] for e in tev if e["name"] == "main()"][0]
    opener_id = [e["id"] for e in tev if e["name"] == "opener(<nursery>)"][0]
    c.check("server first under opener, then main", len(srv) == 2 and srv[0]["parent"] == opener_id
            and srv[1]["parent"] == main_id, tev)
    c.check("done ok", done_status(ev) == "ok")

    section("trio.run(main) in the slide itself; trio.run skipped in set-up")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "async def main():\n    print('main ran')\ntrio.run(main)\n",
        setup=["import trio\nasync def old():\n    print('old ran')\ntrio.run(old)\n"]), verbose=verbose)
    h.close()
    o = [e["text"] for _, e in outs(ev)]
    c.check("main ran once, old not at all", o == ["main ran\n"], o)
    c.check("main() task", [x["name"] for x in tasks(ev).values()] == ["main()"], tasks(ev))

    section("sys.exit")
    h = fresh()
    ev = scenario(h, c, adhoc("print(1)\nimport sys\nsys.exit()\nprint(2)\n"), verbose=verbose)
    h.close()
    c.check("exit ok", done_status(ev) == "ok" and [e["text"] for _, e in outs(ev)] == ["1\n"], ev)

    section("non-daemon thread left running")
    h = fresh()
    ev = scenario(h, c, adhoc("import threading, time\nthreading.Thread(target=time.sleep, args=(100,)).start()\nprint('hi')\n"), timeout=5, verbose=verbose)
    h.proc.wait(timeout=2)
    c.check("process exited", h.proc.returncode is not None)
    h.close()

    section("presenter dies (commands pipe closed)")
    h = fresh()
    h.wait_ready()
    h.run(99, adhoc("import time\ntime.sleep(100)\n"))
    time.sleep(0.3)
    os.close(h.cmd_w)
    h.cmd_w = os.open(os.devnull, os.O_RDONLY)
    try:
        h.proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
    c.check("exits on commands EOF", h.proc.returncode is not None, h.proc.returncode)
    h.close()

    section("prepared run: set-up before go, nothing seen before it, t from go")
    blocks = adhoc("import os, time\nasync def main():\n    print('age %.2f pid %d' % (time.monotonic() - BORN, os.getpid()))\n",
                   setup=("import time\nBORN = time.monotonic()\nprint('set-up demo')\n",))
    early, ev = prepared_run(blocks, 0.8)
    c.check("no event before go", early == [], early)
    o = [e["text"] for _, e in outs(ev)]
    age = float(o[0].split()[1]) if o and o[0].startswith("age ") else -1
    c.check("set-up ran before go (age >= 0.7 s)", age >= 0.7, o)
    c.check("set-up demo not replayed", "set-up demo\n" not in o, o)
    setups = [e for _, e in ev if e["ev"] == "setup"]
    c.check("held setup events sent at t 0", setups and all(e["t"] == 0.0 for e in setups), setups)
    first = [e["t"] for _, e in outs(ev)][:1]
    c.check("run's clock starts at go", first and first[0] < 0.5, first)
    c.check("done ok", done_status(ev) == "ok", ev[-2:])

    section("prepared run: a set-up error is reported after go")
    early, ev = prepared_run(adhoc("print('never')\n", setup=("x = 1 / 0\n",)), 0.5)
    c.check("held until go", early == [], early)
    errors = [e for _, e in ev if e["ev"] == "error"]
    c.check("set-up error after go", errors and errors[0]["setup"] and "ZeroDivisionError" in errors[0]["traceback"], ev)
    c.check("done error", done_status(ev) == "error", ev[-2:])

    section("prepared run: a slide that only defines main starts its trio run before go")

    def in_trio(h):
        """Whether the interpreter holds an epoll fd (trio's I/O manager): a trio run is on."""
        fd_dir = "/proc/%d/fd" % h.proc.pid
        links = []
        for fd in os.listdir(fd_dir):
            try:
                links.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:
                pass
        return "anon_inode:[eventpoll]" in links

    seen = {}
    early, ev = prepared_run(deck_blocks(12), 0.8, lambda h: seen.update(slide12=in_trio(h)))
    c.check("slide 12: trio run started before go", seen["slide12"] is True, seen)
    c.check("slide 12: no event before go", early == [], early)
    infos = [e["text"] for _, e in ev if e["ev"] == "info"]
    c.check("slide 12: 'running main()' once", infos == ["running main()"], infos)
    ts = tasks(ev)
    c.check("slide 12: the same tree as a plain run",
            sorted(t["name"] for t in ts.values()) == ["main()"] + ["sleepy(%d)" % i for i in range(5)], ts)
    root = [e for _, e in ev if e["ev"] == "task"][:1]
    c.check("slide 12: main() at t 0 (the run's clock starts at go)", root and root[0]["t"] == 0.0, root)
    kinds = [e["ev"] for _, e in ev]
    first_nursery = kinds.index("nursery") if "nursery" in kinds else len(ev)
    c.check("slide 12: main() not reported waiting before it opened its nursery",
            not any(e["ev"] == "state" and 1 in e.get("waiting", ()) for _, e in ev[:first_nursery]),
            ev[:first_nursery])
    o = [e["text"] for _, e in outs(ev)]
    c.check("slide 12: output as usual", o[:1] == ["Started all tasks\n"] and o[-1:] == ["All done\n"], o)
    c.check("slide 12: done ok", done_status(ev) == "ok", ev[-2:])

    def waits_for_go(source, name):
        seen = {}
        early, ev = prepared_run(adhoc(source), 0.5, lambda h: seen.update(on=in_trio(h)))
        c.check("%s: no trio run before go" % name, seen["on"] is False, seen)
        c.check("%s: no event before go" % name, early == [], early)
        return ev

    ev = waits_for_go("print('hello')\nasync def main():\n    print('main')\n", "a top-level print")
    c.check("a top-level print: printed, then main runs", [e["text"] for _, e in outs(ev)] == ["hello\n", "main\n"], ev)
    ev = waits_for_go("async def main(x=NOT_BOUND):\n    print('never')\n", "an unbound default")
    errors = [e["traceback"] for _, e in ev if e["ev"] == "error"]
    c.check("an unbound default: NameError after go", errors and "NameError" in errors[0] and done_status(ev) == "error", ev)
    ev = waits_for_go("import functools\n@functools.lru_cache\ndef f():\n    print('f')\nasync def main():\n    f()\n", "a decorator")
    c.check("a decorator: main runs", [e["text"] for _, e in outs(ev)] == ["f\n"] and done_status(ev) == "ok", ev)

    early, ev = prepared_run(adhoc("async def main():\n    raise ValueError('boom')\n"), 0.5)
    errors = [e["traceback"] for _, e in ev if e["ev"] == "error"]
    c.check("prestarted main raising: its traceback, done error",
            errors and "ValueError: boom" in errors[0] and done_status(ev) == "error", ev)

    def cancel_before_go(h):
        h.send({"cmd": "cancel"})
        time.sleep(0.2)

    early, ev = prepared_run(adhoc("async def main():\n    print('never')\n"), 0.5, cancel_before_go)
    c.check("prestarted, cancelled before go: stopped after go, main never ran",
            done_status(ev) == "stopped" and not outs(ev)
            and "stopped by presenter" in [e.get("text") for _, e in ev], ev)

    section("throughput: 200,000 prints")
    h = fresh()
    t0 = time.monotonic()
    ev = scenario(h, c, adhoc("for i in range(200000):\n    print('line', i)\n"), timeout=60)
    h.close()
    o = outs(ev)
    elapsed = ev[-1][0]
    c.check("all 200000 lines in order", len(o) == 200000 and o[-1][1]["text"] == "line 199999\n", len(o))
    print("  200,000 lines in %.2f s: %.0f lines/s" % (elapsed, 200000 / elapsed))

    section("throughput: 200,000 prints inside trio")
    h = fresh()
    ev = scenario(h, c, adhoc("async def main():\n    for i in range(200000):\n        print('line', i)\n"), timeout=60)
    h.close()
    o = outs(ev)
    elapsed = ev[-1][0]
    c.check("all 200000 lines", len(o) == 200000 and all(e["task"] == 1 for _, e in o[:10]), len(o))
    print("  200,000 lines in %.2f s: %.0f lines/s" % (elapsed, 200000 / elapsed))

    section("stop during a flood")
    h = fresh()
    ev = scenario(h, c, adhoc("async def main():\n    i = 0\n    while True:\n        print('line', i, 'x' * 5000)\n        i += 1\n"),
                  actions=[(0.5, "cancel"), (0.5, "sigint")], timeout=10)
    h.close()
    c.check("stopped, no bad lines", done_status(ev) == "stopped" and not any(e["ev"] == "BAD" for _, e in ev), ev[-2:])

    section("latency: print -> event arrival")
    h = fresh()
    ev = scenario(h, c, adhoc(
        "import time, trio\n"
        "async def main():\n"
        "    for i in range(50):\n"
        "        print(time.monotonic())\n"
        "        await trio.sleep(0.01)\n"), verbose=False)
    h.close()
    # The driver and harness share CLOCK_MONOTONIC: arrival minus the printed time.
    lats = sorted((h.t_run + t) - float(e["text"]) for t, e in outs(ev))
    print("  latency ms: median %.3f, max %.3f" % (1000 * lats[len(lats) // 2], 1000 * lats[-1]))
    c.timing("print -> arrival, median", 1000 * lats[len(lats) // 2], 1)

    compat_fallbacks(c, fresh, verbose)

    print("%d passed, %d failed; %d timing checks slow (report-only)" % (c.passed, c.failed, c.slow))
    return c.failed == 0


# Run before the bootstrap: takes away two of the private or version-dependent trio names the
# harness uses (compat.py), the way a future trio might, without breaking trio itself (its
# modules imported their own references already).
COMPAT_PRELUDE = (
    "import trio, trio._util\n"
    "del trio._util.coroutine_or_error\n"
    "del trio.lowlevel.enable_ki_protection\n"
)


def compat_fallbacks(c, fresh, verbose):
    """The run still works when compat.py's private names are gone: only panels show less."""
    global PRELUDE
    section("compat fallbacks: without trio._util.coroutine_or_error and enable_ki_protection")
    PRELUDE = COMPAT_PRELUDE
    try:
        h = fresh()
        ev = scenario(h, c, 37, verbose=verbose)
        h.close()
        c.check("nothing on stderr about it", not [l for _, n, l in h.raw if n == "fd2"], h.raw)
        names = {x["name"] for x in tasks(ev).values()}
        c.check("slide 37 runs, tree and scope as usual", done_status(ev) == "ok"
                and {"main()", "sleepy(10)"} <= names
                and [e["reason"] for _, e in ev if e["ev"] == "scope_fired"] == ["deadline"], ev[-3:])
        h = fresh()
        ev = scenario(h, c, adhoc("import trio\ntrio.run(len, 'x')\n"), verbose=verbose)
        h.close()
        errs = [e["traceback"] for _, e in ev if e["ev"] == "error"]
        c.check("trio.run(len, 'x') is still an error, in plainer words", done_status(ev) == "error"
                and errs and "slide 99" in errs[0] and "harness" not in errs[0], errs)
    finally:
        PRELUDE = ""


def section(title):
    print("--", title)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("slide", nargs="?", type=int)
    ap.add_argument("--deck", default=DECK)
    ap.add_argument("--source", action="append")
    ap.add_argument("--cancel-after", type=float)
    ap.add_argument("--sigint-after", type=float)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--expose", action="store_true")
    ap.add_argument("--python", default="python3")
    ap.add_argument("--pythonpath")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--stress", type=int, metavar="ROUNDS")
    ap.add_argument("--flood", type=int, metavar="LINES")
    ap.add_argument("--in-trio", action="store_true", help="--flood: print from main() in trio")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--harness", help="another harness directory, or an old single-file harness.py "
                    "(e.g. from git, to compare)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.harness:
        global HARNESS
        HARNESS = args.harness
    sys.setswitchinterval(0.0002)  # the event reader thread gets the GIL at once: see _next
    if args.selftest:
        sys.exit(0 if selftest(args.python, args.pythonpath, args.verbose) else 1)
    if args.stress:
        sys.exit(0 if stress(args.python, args.pythonpath, args.stress) else 1)
    if args.flood:
        flood(args.python, args.pythonpath, args.flood, args.in_trio, args.repeat)
        return
    if args.source:
        blocks, slide = adhoc(*args.source), 99
    else:
        blocks, slide = run_blocks(split_deck(open(args.deck).read()), args.slide), args.slide
    actions = []
    if args.cancel_after is not None:
        actions.append((args.cancel_after, "cancel"))
    if args.sigint_after is not None:
        actions.append((args.sigint_after, "sigint"))
    h = Harness(args.python, args.pythonpath)
    ready = h.wait_ready()
    print("ready after %.3f s: %s" % (time.monotonic() - h.started, ready))
    h.run(slide, blocks, args.expose)
    h.collect(timeout=args.timeout, actions=actions, echo=True)
    time.sleep(0.1)
    for t, name, line in h.raw:
        print("[%7.3f] %s %r" % (t - h.t_run, name, line))
    h.close()


def flood(python, pythonpath, lines, in_trio, repeat):
    """Times LINES prints as the harness sees them (``t`` of ``done``): the cost of output
    capture and event writing, without the presenter.  Also counts the pipe reads it took."""
    body = "for i in range(%d):\n    print('line', i, 'of the flood')\n" % lines
    if in_trio:
        body = "async def main():\n" + "".join("    " + l + "\n" for l in body.splitlines())
    for _ in range(repeat):
        h = Harness(python, pythonpath)
        h.wait_ready()
        h.run(99, adhoc(body))
        ev = h.collect(timeout=300)
        h.close()
        done = [e["t"] for _, e in ev if e["ev"] == "done"]
        n = sum(1 for _, e in ev if e["ev"] == "out")
        print("%d lines%s: done after %.3f s (harness clock), %d events in %d pipe reads"
              % (n, " in trio" if in_trio else "", done[0] if done else -1, len(ev), h.reads))


def stress(python, pythonpath, rounds):
    """Stops runs at random moments (cancel and/or SIGINT); every run must end cleanly."""
    import random
    sources = [
        "async def main():\n    i = 0\n    while True:\n        print('line', i)\n        i += 1\n",
        "for i in range(10**9):\n    print(i, end=' ' if i % 7 else '\\n')\n",
        "import trio\nasync def w(n):\n    while True:\n        print(n, end='')\n        await trio.sleep(0)\n"
        "async def main():\n    async with trio.open_nursery() as nursery:\n"
        "        for n in range(5):\n            nursery.start_soon(w, n)\n",
        "import trio\nprint('x')\nasync def main():\n    await trio.sleep(0.01)\n    print('y')\n",
    ]
    bad = 0
    for i in range(rounds):
        src = random.choice(sources)
        delay = random.choice([random.uniform(0.0, 0.005), random.uniform(0.0, 0.3)])
        how = random.choice([["cancel", "sigint"], ["sigint"], ["cancel"], ["sigint", "cancel"]])
        if how == ["cancel"] and "async def main():\n    i = 0" in src:
            how = ["cancel", "sigint"]  # no checkpoint in that loop: only SIGINT can stop it
        h = Harness(python, pythonpath)
        h.wait_ready()
        h.run(99, adhoc(src))
        ev = h.collect(timeout=3, actions=[(delay + 0.001 * k, a) for k, a in enumerate(how)])
        status = done_status(ev)
        problems = [e for _, e in ev if e["ev"] in ("BAD", "error")]
        finished = ev and ev[-1][1]["ev"] == "done" and ev[-1][0] < delay + 1.0
        try:
            h.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            finished = False
            print("round %d: process still alive after done" % i)
        if problems or not finished or status not in ("stopped", "ok"):
            bad += 1
            print("round %d: %r delay %.3f %s -> %s %s" % (i, src[:30], delay, how, status, problems[:2]))
            print("   last:", ev[-3:], h.raw[-3:])
        h.close()
    print("%d passed, %d failed" % (rounds - bad, bad))
    return bad == 0


if __name__ == "__main__":
    main()
