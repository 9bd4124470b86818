#!/usr/bin/env bash
# Benchmark of `--share` at scale, on loopback: 200 server-sent-event viewers follow the
# presenter while it runs a 10,000-line demo (bench/web.md, slide 3) RUNS times, each viewer
# checking that it got every line of every run in order (bench/sse_viewers.rs); and the
# speaker's key → next slide latency, measured in a real pseudo-terminal with
# ../shared/tools/tty_probe.py:
#   - paging between slides 1 and 2 (PAGES round trips): without sharing, sharing with nobody
#     watching, sharing with VIEWERS viewers connected;
#   - right after each run of the flood (→ to slide 4 and ← back, as soon as the presenter shows
#     the run done): without sharing, and with the viewers still receiving it.
# Prints a table. Not a pass/fail test.
#
# Each row is measured twice: end to end (key sent → slide on the probe's screen: what the
# speaker sees, but on this machine it includes the probe's own wait for a CPU the viewers
# keep busy), and inside the presenter (its input thread has the key → the frame answering it
# is written; src/latency.rs, through the internal TRIO_PRESENT_KEY_TRACE).
#
# The viewers (one thread of tasks) stand in for attendees' machines but run on the same two
# cores, as a program of their own: in a session of their own, since Linux shares the CPU
# between sessions first (autogroups), and in the bench's session they would compete with the
# probe, which stands for the speaker's terminal (VIEWER_SESSION=bench does that). VIEWER_NICE=19
# also runs them at the lowest priority, as if they were elsewhere (the nice of their session's
# group: a plain `nice` would only rank them within it).
#
# REPEAT=N runs the whole set N times and pools the keys of each row (the machine's other work
# comes and goes; one set of 20-40 keys per row is noisy).
#
#   bench/web.sh                 # release build
#   VIEWERS=50 PAGES=20 RUNS=5 REPEAT=4 VIEWER_NICE=19 bench/web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROBE=${PROBE:-../shared/tools/tty_probe.py}
VIEWERS=${VIEWERS:-200}
PAGES=${PAGES:-20}
RUNS=${RUNS:-10}
VIEWER_NICE=${VIEWER_NICE:-0}
VIEWER_SESSION=${VIEWER_SESSION:-own}
REPEAT=${REPEAT:-1}
PROFILE=${PROFILE:-release}
[ -f "$PROBE" ] || { echo "bench: $PROBE not found (set PROBE=path/to/tty_probe.py)"; exit 2; }
PYPROBE=${PYPROBE:-/tmp/probe-py}
[ -d "$PYPROBE/pyte" ] || python3 -m pip install -q --target "$PYPROBE" pyte >/dev/null
if [ "$PROFILE" = release ]; then
  cargo build --release -q --bin trio-present --example sse_viewers
else
  cargo build -q --bin trio-present --example sse_viewers
fi
# BIN=path/to/another/trio-present compares a build (e.g. an older server) on the same workload.
BIN=${BIN:-target/$PROFILE/trio-present}
VIEW=target/$PROFILE/examples/sse_viewers
DECK=bench/web.md
$BIN doctor --install >/dev/null
probe() { PYTHONPATH="$PYPROBE" python3 "$PROBE" --size 160x30 "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start="wait_for/30:trio 0.;wait_stable:0.3;"
# PAGES round trips between slides 1 and 2: each Right and Left is one measured key.
paging=""
for _ in $(seq "$PAGES"); do
  paging+="send:Right;wait_for:Web bench two;sleep:0.05;send:Left;wait_for:Web bench one;sleep:0.05;"
done
# RUNS runs of the flood on slide 3; once the presenter shows one done, Right (to slide 4) and
# Left (back) are measured keys; then a pause lets every viewer have the whole run before the
# next one replaces it.
runs="send:3 Enter;wait_for:10_001;"
for _ in $(seq "$RUNS"); do
  runs+="send:r;wait_gone:✔ done;wait_for/60:✔ done;send:Right;wait_for:After the flood;send:Left;wait_for:3 / 4;sleep:2;"
done
# Median and 90th percentile (ms) of the key → slide waits of the steps named in $1 (a|b), in
# the probe's JSON files $2...
stats() { python3 -c "
import json, re, statistics, sys
xs = []
for f in sys.argv[2:]:
    try:
        steps = json.load(open(f))['steps']
    except (OSError, ValueError):
        continue
    xs += [s['since_send_s'] * 1000 for s in steps
           if re.fullmatch('wait_for:(' + sys.argv[1] + ')', s.get('step', '')) and s.get('ok')]
    bad = [s['step'] for s in steps if s.get('ok') is False]
    if bad: print(f, 'failed steps:', bad, file=sys.stderr)
xs.sort()
if not xs: print('- - 0')
else: print('%6.1f %6.1f %4d' % (statistics.median(xs), xs[max(0, int(len(xs) * 0.9) - 1)], len(xs)))" "$@"; }
PAGED="Web bench one|Web bench two"
AFTER="After the flood|3 / 4"

out=$(mktemp -d)
for r in $(seq "$REPEAT"); do
  TRIO_PRESENT_KEY_TRACE="$out/keys.plain.$r.txt" probe --json "$out/plain.$r.json" --timeout 30 --script "${start}${paging}${runs}send:q;expect_exit:5" -- $BIN --trust $DECK >/dev/null || true
  port=$(free_port)
  TRIO_PRESENT_KEY_TRACE="$out/keys.idle.$r.txt" probe --json "$out/idle.$r.json" --timeout 30 --script "${start}${paging}send:q;expect_exit:5" -- $BIN --trust --share 127.0.0.1:$port $DECK >/dev/null || true
  # With viewers: they connect while the presenter starts; the script waits for all of them,
  # pages, then runs the flood RUNS times, paging at once after each (the viewers are still
  # receiving it).
  port=$(free_port)
  if [ "$VIEWER_SESSION" = bench ]; then
    nice -n "$VIEWER_NICE" $VIEW 127.0.0.1:$port "$VIEWERS" 3 10000 "$RUNS" > "$out/viewers.$r.txt" &
    viewers=$!
  else
    setsid nice -n "$VIEWER_NICE" $VIEW 127.0.0.1:$port "$VIEWERS" 3 10000 "$RUNS" > "$out/viewers.$r.txt" &
    viewers=$!
    [ -w /proc/$viewers/autogroup ] && echo "$VIEWER_NICE" > /proc/$viewers/autogroup || true
  fi
  TRIO_PRESENT_KEY_TRACE="$out/keys.busy.$r.txt" probe --json "$out/busy.$r.json" --timeout 60 --script "wait_for/30:trio 0.;wait_for/60:$VIEWERS watching;wait_stable:0.3;${paging}${runs}send:q;expect_exit:5" -- $BIN --trust --share 127.0.0.1:$port $DECK >/dev/null || true
  wait $viewers || true
done

# Median and 90th percentile (ms) of the presenter's own key → frame times in the traces $2...:
# $1 is "paged" (the first 2 x PAGES arrow keys of each trace) or "after" (the arrow keys after
# them, pressed right after each run).
inside() { python3 -c "
import statistics, sys
xs = []
for f in sys.argv[3:]:
    try:
        keys = [l.split() for l in open(f)]
    except OSError:
        continue
    arrows = [int(us) / 1000 for name, us in keys if name in ('Right', 'Left')]
    paged = int(sys.argv[2]) * 2
    xs += arrows[:paged] if sys.argv[1] == 'paged' else arrows[paged:]
xs.sort()
if not xs: print('- - 0')
else: print('%6.2f %6.2f %4d' % (statistics.median(xs), xs[max(0, int(len(xs) * 0.9) - 1)], len(xs)))" "$1" "$PAGES" "${@:2}"; }

row() { printf '%-54s %7s %7s %5s   %7s %7s\n' "$@"; }
row "key → next slide (ms)" "end to" "end" "" "inside" "the"
row "" median p90 keys median p90
row "---------------------" ------ --- ---- ------ ---
line() { # LABEL STEPS KIND RUN: one row
  local m p k im ip ik
  read -r m p k < <(stats "$2" "$out"/$4.*.json)
  read -r im ip ik < <(inside "$3" "$out"/keys.$4.*.txt)
  row "$1" "$m" "$p" "$k" "$im" "$ip"
}
line "no --share, paging" "$PAGED" paged plain
line "no --share, right after each 10,000-line run" "$AFTER" after plain
line "--share, nobody watching, paging" "$PAGED" paged idle
line "--share, $VIEWERS viewers connected (idle), paging" "$PAGED" paged busy
line "--share, $VIEWERS viewers receiving a 10,000-line run" "$AFTER" after busy
echo
for r in $(seq "$REPEAT"); do
  echo "viewers (nice $VIEWER_NICE, $VIEWER_SESSION session), set $r: $(cat "$out/viewers.$r.txt")"
done
# (cat first: with one file, grep -c would not prefix its count with the file's name)
if [ "$(cat "$out"/viewers.*.txt | grep -c "complete_in_order=$VIEWERS ")" = "$REPEAT" ]; then
  echo "all $VIEWERS viewers got all 10,000 lines of all $RUNS runs in order, in every set: yes"
else
  echo "all $VIEWERS viewers got all 10,000 lines of all $RUNS runs in order, in every set: NO"
fi
python3 -c "
import json, statistics, sys
for kind in ('plain', 'busy'):
    s = []
    for f in sys.argv[1:]:
        if f.split('/')[-1].startswith(kind + '.'):
            d = json.load(open(f))
            s += [x['since_send_s'] * 1000 for x in d['steps'] if x.get('step', '').startswith('wait_for/60:✔ done') and x.get('ok')]
    if s: print('%s: r to the run done on the presenter\'s screen, median %.0f ms' % (kind, statistics.median(s)))" "$out"/*.json
rm -rf "$out"
