#!/usr/bin/env bash
# Benchmark of `--share` at scale, on loopback: 200 server-sent-event viewers follow the
# presenter while it runs a 10,000-line demo (bench/web.md), each checking that it got every
# line in order (bench/sse_viewers.rs); and the speaker's key → next slide latency, measured
# in a real pseudo-terminal with ../shared/tools/tty_probe.py, without sharing, sharing with
# nobody watching, with 200 viewers idle, and with 200 viewers right after the flood (while
# they still receive it). Prints a table. Not a pass/fail test.
#
#   bench/web.sh                 # release build
#   VIEWERS=50 PAGES=20 bench/web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROBE=${PROBE:-../shared/tools/tty_probe.py}
VIEWERS=${VIEWERS:-200}
PAGES=${PAGES:-10}
PROFILE=${PROFILE:-release}
[ -f "$PROBE" ] || { echo "bench: $PROBE not found (set PROBE=path/to/tty_probe.py)"; exit 2; }
PYPROBE=${PYPROBE:-/tmp/probe-py}
[ -d "$PYPROBE/pyte" ] || python3 -m pip install -q --target "$PYPROBE" pyte >/dev/null
if [ "$PROFILE" = release ]; then
  cargo build --release -q --bin trio-present --example sse_viewers
else
  cargo build -q --bin trio-present --example sse_viewers
fi
BIN=target/$PROFILE/trio-present
VIEW=target/$PROFILE/examples/sse_viewers
DECK=bench/web.md
$BIN doctor --install >/dev/null
probe() { PYTHONPATH="$PYPROBE" python3 "$PROBE" --size 160x30 "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PAGES round trips between slides 1 and 2: each Right and Left is one measured key.
paging=""
for _ in $(seq "$PAGES"); do
  paging+="send:Right;wait_for:Web bench two;sleep:0.05;send:Left;wait_for:Web bench one;sleep:0.05;"
done
# Median and 90th percentile (ms) of the key → slide waits of steps whose label starts with $2.
stats() { python3 -c "
import json, statistics, sys
d = json.load(open(sys.argv[1]))
steps = d['steps']
xs = [s['since_send_s'] * 1000 for i, s in enumerate(steps)
      if s.get('step', '').startswith('wait_for:Web bench') and s.get('ok')
      and i >= int(sys.argv[2]) and i < int(sys.argv[3])]
xs.sort()
bad = [s['step'] for s in steps if s.get('ok') is False]
if bad: print('failed steps:', bad, file=sys.stderr)
if not xs: print('- - 0')
else: print('%6.1f %6.1f %4d' % (statistics.median(xs), xs[max(0, int(len(xs) * 0.9) - 1)], len(xs)))" "$@"; }

out=$(mktemp -d)
row() { printf '%-52s %9s %9s %5s\n' "$@"; }
row "key → next slide (ms)" median p90 keys
row "---------------------" ------ --- ----

probe --json "$out/plain.json" --timeout 30 --script "wait_for/30:trio 0.;wait_stable:0.3;${paging}send:q;expect_exit:5" -- $BIN --trust $DECK >/dev/null || true
read -r m p k < <(stats "$out/plain.json" 0 100000)
row "no --share" "$m" "$p" "$k"

port=$(free_port)
probe --json "$out/idle.json" --timeout 30 --script "wait_for/30:trio 0.;wait_stable:0.3;${paging}send:q;expect_exit:5" -- $BIN --trust --share 127.0.0.1:$port $DECK >/dev/null || true
read -r m p k < <(stats "$out/idle.json" 0 100000)
row "--share, nobody watching" "$m" "$p" "$k"

# With viewers: they connect while the presenter starts; the script waits for all of them,
# pages, runs the flood on slide 3, and pages again at once (the viewers are still receiving).
port=$(free_port)
$VIEW 127.0.0.1:$port "$VIEWERS" 3 10000 > "$out/viewers.txt" &
viewers=$!
n_pre=$((PAGES * 2 * 3 + 3))
probe --json "$out/busy.json" --timeout 60 --script "wait_for/30:trio 0.;wait_for/60:$VIEWERS watching;wait_stable:0.3;${paging}send:3 Enter;wait_for:3 / 4;send:r;wait_re/60:line 10000 of;send:Home;wait_for:Web bench one;${paging}send:q;expect_exit:5" -- $BIN --trust --share 127.0.0.1:$port $DECK >/dev/null || true
wait $viewers || true
read -r m p k < <(stats "$out/busy.json" 0 "$n_pre")
row "--share, $VIEWERS viewers connected (idle)" "$m" "$p" "$k"
read -r m p k < <(stats "$out/busy.json" "$n_pre" 100000)
row "--share, $VIEWERS viewers, just after a 10,000-line run" "$m" "$p" "$k"
echo
echo "viewers: $(cat "$out/viewers.txt")"
python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
s = [x for x in d['steps'] if x.get('step', '').startswith('wait_re')]
if s: print('presenter: r to \"line 10000\" on its own screen: %.0f ms' % (s[0]['since_send_s'] * 1000))" "$out/busy.json"
rm -rf "$out"
