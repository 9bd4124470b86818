#!/usr/bin/env python3
"""pty_time.py - when does a text reach the terminal, with no emulator in the way.

../shared/tools/tty_probe.py feeds every chunk it reads into pyte (a VT100 emulator in pure
Python) before it reads the next one. pyte needs a few milliseconds for a full frame, so when a
program writes two frames in quick succession (the frame answering `r`, then the demo's first
output line ~1 ms later), the second one is read only after the first was parsed and its
time includes that parse. A real terminal parses a frame in microseconds.

This probe separates the two: while it times something it only reads (a tight select/read
loop, each chunk stamped as it arrives), and it parses the chunks afterwards, in order, to
find the first chunk after which the awaited text is on the screen. The time reported is that
chunk's arrival. Everything else is as in tty_probe: a pty of --size as the controlling
terminal, TERM=xterm-256color, cursor-position and device-attribute queries answered.

    pty_time.py [--repeat N] [--first TEXT] [--ready TEXT --settle S --key KEY --want TEXT]
                -- COMMAND...

Prints one JSON object: {"first_ms": [...], "key_ms": [...]} (one value per repetition,
null when the text never came) and, with --summary, medians instead. Needs pyte
(PYTHONPATH=/tmp/probe-py as bench/run.sh installs it).
"""
import argparse
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import termios
import time

import pyte

KEYS = {"Right": b"\x1b[C", "Left": b"\x1b[D", "Enter": b"\r", "Esc": b"\x1b", "Space": b" "}


class Session:
    """One program on a pty: raw reads stamped on arrival, parsed into pyte on demand."""

    def __init__(self, argv, cols, rows):
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.pending = []  # (arrival, bytes) read but not parsed yet
        self.t_spawn = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm-256color"
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, cols * 10, rows * 20))
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)

    def read_raw(self, seconds):
        """Only reads (and answers terminal queries) for `seconds`: nothing slows the loop."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0 or self.fd is None:
                return
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            t = time.monotonic()
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            if not data:
                self.fd = None
                return
            self.pending.append((t, data))
            # The answers a terminal would give, so that no query waits for a time-out.
            if b"\x1b[6n" in data:
                os.write(self.fd, b"\x1b[1;1R")
            if b"\x1b[c" in data or b"\x1b[0c" in data:
                os.write(self.fd, b"\x1b[?62;22c")

    def visible(self, text):
        return any(text in line for line in self.screen.display)

    def parse_until(self, text):
        """Parses the pending chunks in order; the arrival of the first one after which `text`
        is visible, or None (everything pending is parsed then)."""
        while self.pending:
            t, data = self.pending.pop(0)
            self.stream.feed(data)
            if self.visible(text):
                return t
        return None

    def wait_for(self, text, since, window, timeout):
        """Milliseconds from `since` to the chunk that showed `text`: reads raw for `window`
        seconds first, then alternates reading and parsing until `timeout`."""
        if self.visible(text):
            return 0.0
        self.read_raw(window)
        deadline = since + timeout
        while True:
            t = self.parse_until(text)
            if t is not None:
                return (t - since) * 1000
            if time.monotonic() > deadline or self.fd is None:
                return None
            self.read_raw(0.05)

    def settle(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read_raw(min(0.05, end - time.monotonic()))
            self.parse_until("\0")  # parse everything; nothing matches

    def send(self, key):
        os.write(self.fd, KEYS.get(key, key.encode()))

    def close(self):
        if self.fd is not None:
            try:
                os.write(self.fd, b"q")
            except OSError:
                pass
            self.read_raw(0.2)
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                return
            time.sleep(0.01)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def once(args):
    cols, rows = (int(x) for x in args.size.split("x"))
    s = Session(args.command, cols, rows)
    try:
        first = s.wait_for(args.first, s.t_spawn, args.window, args.timeout) if args.first else None
        key = None
        if args.key:
            if s.wait_for(args.ready, time.monotonic(), 0.0, args.timeout) is None:
                return first, None
            s.settle(args.settle)
            t = time.monotonic()
            s.send(args.key)
            key = s.wait_for(args.want, t, args.window, args.timeout)
        return first, key
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--size", default="100x30")
    p.add_argument("--first", help="time spawn -> this text on screen")
    p.add_argument("--ready", help="before the key: wait for this text")
    p.add_argument("--settle", type=float, default=1.0, help="then wait this long (s)")
    p.add_argument("--key", help="then send this key (Right, Enter, Esc, Space or text)")
    p.add_argument("--want", help="and time key -> this text on screen")
    p.add_argument("--window", type=float, default=0.3,
                   help="seconds of raw reading before parsing starts (default 0.3)")
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--gap", type=float, default=0.5,
                   help="seconds between repetitions, for the last one's processes to end")
    p.add_argument("--summary", action="store_true", help="print medians")
    p.add_argument("command", nargs="+")
    args = p.parse_args()
    if args.key and not (args.ready and args.want):
        p.error("--key needs --ready and --want")
    firsts, keys = [], []
    for i in range(args.repeat):
        if i:
            time.sleep(args.gap)
        f, k = once(args)
        firsts.append(f)
        keys.append(k)

    def med(v):
        v = [x for x in v if x is not None]
        return round(statistics.median(v), 2) if v else None

    if args.summary:
        print(json.dumps({"first_ms": med(firsts), "key_ms": med(keys),
                          "missing": sum(x is None for x in (firsts if args.first else keys))}))
    else:
        print(json.dumps({"first_ms": firsts, "key_ms": keys}))


if __name__ == "__main__":
    main()
