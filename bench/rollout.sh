#!/bin/sh
# Benchmark of the rollout engine against the Mender test double (issue 4):
# wall time, HTTP requests by endpoint and peak memory of `fleetgate plan`
# and of the rollout of an OS-only change, at several fleet sizes.
#
# usage: bench/rollout.sh [BUILDDIR] [N...]      (default N: 1000 10000 100000)
#
# Per size: the double generates N devices (two device types, three branches
# by tag); the repository's fleet.yaml has default_branch production and no
# configuration. Step "baseline" is the engine's first run on the branch
# (no remembered commit: a full reconciliation, one deviceconfig GET per
# subscriber); "plan" and "rollout" then measure a commit that changes only
# os_images, the case the issue's goal is about (< 400 requests, < 128 MB at
# 100,000 devices); "rerun" repeats it while those deployments are pending
# (idempotence: it reads their device lists and schedules nothing).
# The reference playbook needs 2 to 6 requests per device.
# Needs GNU time (/usr/bin/time, Debian package `time`). Not part of make check.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
[ $# -gt 0 ] && shift
sizes=${*:-1000 10000 100000}
FG=$build/fleetgate
[ -x "$FG" ] || { echo "no fleetgate in $build" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (Debian: time)" >&2; exit 2; }
# shellcheck source=tests/contract/lib.sh
FG_SRCDIR=$src . "$src/tests/contract/lib.sh"
md_setup
T=$MD_TMP
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com \
	GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.com
printf 'bench-token\n' >"$T/token"
chmod 600 "$T/token"
# The engine rolls out only branches the policy lists; production is the
# top of this chain, so its fleet files say who follows which branch.
printf 'version: 1\nbranches:\n  production: { promote_from: [canary] }\n  canary: { promote_from: [main] }\n' >"$T/policy.yaml"

fleet() { # fleet RPI4-IMAGE PI3-IMAGE
	cat >"$T/work/fleet.yaml" <<EOF
version: 1
default_branch: production
os_images:
  raspberrypi4: $1
  pi3: $2
EOF
	git -C "$T/work" add -A && git -C "$T/work" commit -q -m "$1"
	git -C "$T/work" push -q origin production 2>/dev/null
}

# measure LABEL N ARGS...: one fleetgate run, one result line
measure() {
	label=$1 count=$2
	shift 2
	md_ctl POST /_double/reset-requests >/dev/null
	start=$(date +%s.%N)
	/usr/bin/time -f %M -o "$T/rss" "$FG" "$@" --repo "$T/repo.git" production \
		--mender-url "$MD_URL" --token-file "$T/token" --state-dir "$T/state" \
		--policy "$T/policy.yaml" \
		>"$T/out" 2>"$T/err" || echo "  ($label exited $?: $(tail -n 1 "$T/err"))"
	end=$(date +%s.%N)
	md_ctl GET /_double/requests >"$T/requests.json"
	python3 - "$T/requests.json" "$label" "$count" "$start" "$end" "$(tail -n 1 "$T/rss")" <<'EOF'
import json, re, sys
reqs = json.load(open(sys.argv[1]))
label, n, t0, t1, rss = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
ids = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|/[0-9a-f]{24}")
by = {}
for r in reqs:
    key = r["method"] + " " + ids.sub("/{id}", r["path"])
    by[key] = by.get(key, 0) + 1
total = len(reqs)
print("%-9s %7d devices  %8.2f s  %6d requests  %.4f per device (playbook: 2-6)  %6.1f MB peak"
      % (label, n, t1 - t0, total, total / n if n else 0, rss / 1024.0))
for k in sorted(by):
    print("           %7d  %s" % (by[k], k))
EOF
}

for n in $sizes; do
	rm -rf "$T/work" "$T/repo.git" "$T/state"
	printf '{"token": "bench-token", "generate": {"count": %d, "device_types": ["raspberrypi4", "pi3"], "branches": ["production", "production", "canary"], "artifact_prefix": "2025-10-10-1056-gitops-"}}\n' \
		"$n" >"$T/seed.json"
	md_start_double "$T/seed.json" || { echo "double did not start" >&2; exit 1; }
	git init -q -b production "$T/work"
	git clone -q --bare "$T/work" "$T/repo.git" 2>/dev/null || git init -q --bare "$T/repo.git"
	git -C "$T/work" remote add origin "$T/repo.git"
	fleet 2025-10-10-1056-gitops-raspberrypi4 2025-10-10-1056-gitops-pi3
	echo "== $n devices"
	measure baseline "$n" rollout
	fleet 2025-11-20-0900-gitops-raspberrypi4 2025-11-20-0900-gitops-pi3
	measure plan "$n" plan
	measure rollout "$n" rollout
	measure rerun "$n" rollout
	# stop this double before the next size (pid is the last one started)
	kill "$md_double_pid" 2>/dev/null
	wait "$md_double_pid" 2>/dev/null || :
done
