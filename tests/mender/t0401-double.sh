#!/bin/sh
# Self-test of the Mender test double (paging, 409 on an identical active
# deployment, abort, progress, configuration, faults, 100k devices); the
# Python suite prints TAP itself.
set -u
src=${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not installed"
	exit 0
fi
# No __pycache__ in the source tree (it may be read-only in distcheck).
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
# Bounded: a hung double must not hang the suite.
if command -v timeout >/dev/null 2>&1; then
	exec timeout -k 10 600 python3 "$src/tests/mender/test_double.py"
fi
exec python3 "$src/tests/mender/test_double.py"
