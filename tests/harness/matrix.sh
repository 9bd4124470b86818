#!/usr/bin/env bash
# The harness's own checks (tests/harness/drive.py --selftest) against several trio releases:
# the oldest supported (0.23, MIN_TRIO in src/kernel/python/mod.rs), one in the middle
# (0.27), 0.31 (the first with cancel reasons, see src/kernel/harness/compat.py) and the
# newest (the one the product provisions, src/kernel/python/provision.rs).
#
# Each trio is installed the way the product provisions it -- pip install --target DIR, with
# a marker written last -- into a cache directory that later runs reuse. Prints one line per
# version; a failing version's whole self-test log follows. Timing checks only report (see
# Checker in drive.py), so a loaded machine cannot fail this.
#
#   tests/harness/matrix.sh                          # every version
#   TRIO_VERSIONS="0.23.0 0.35.0" tests/harness/matrix.sh
#   PYTHON=python3.12 TRIO_MATRIX_CACHE=/tmp/m tests/harness/matrix.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
VERSIONS=${TRIO_VERSIONS:-0.23.0 0.27.0 0.31.0 0.35.0}
CACHE=${TRIO_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trio-present/matrix}
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
mkdir -p "$CACHE"

provision() {  # version -> the directory to put on PYTHONPATH
  local version=$1 dir="$CACHE/py$pyver-trio$1" tmp
  if [ ! -f "$dir/.complete" ]; then
    tmp="$CACHE/.tmp-$$-$version"
    rm -rf "$tmp"
    echo "matrix: installing trio $version for Python $pyver into $dir" >&2
    PIP_USER=0 PIP_REQUIRE_VIRTUALENV=0 PIP_ROOT_USER_ACTION=ignore \
      "$PYTHON" -m pip install --disable-pip-version-check --no-input --quiet \
      --no-warn-script-location --target "$tmp" "trio==$version" >&2
    printf 'trio==%s\npython %s\n' "$version" "$pyver" > "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  echo "$dir"
}

failed=()
for version in $VERSIONS; do
  dir=$(provision "$version")
  log="$CACHE/selftest-py$pyver-trio$version.log"
  start=$SECONDS
  if "$PYTHON" tests/harness/drive.py --selftest --python "$PYTHON" --pythonpath "$dir" \
      > "$log" 2>&1; then
    echo "matrix: trio $version: $(tail -n 1 "$log") ($((SECONDS - start)) s)"
  else
    echo "matrix: trio $version: FAILED ($((SECONDS - start)) s), log $log:"
    cat "$log"
    failed+=("$version")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "matrix: failed for trio ${failed[*]}"
  exit 1
fi
