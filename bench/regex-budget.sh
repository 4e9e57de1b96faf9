#!/bin/sh
# Benchmark: the worst push a developer with push rights only to develop can
# build against the regular-expression budget (fleetgate-fleet(5), "Regular
# expressions"), timed through the installed pre-receive hook with a real
# git push. Not part of make check: it prints figures.
#
#   bench/regex-budget.sh [BUILDDIR]
#
# develop first gets a valid schema whose patterns backtrack exponentially
# (accepted: a schema is judged by the push that makes it, its patterns only
# cost when used); then one push brings FG_BENCH_VALUES values (default
# 20,000, in files of 1,000) that each drive both patterns to their limit,
# plus keys that do the same to patternProperties. Printed: the wall time of
# each git push, of the pre-receive hook in it and the hook's CPU time, the
# hook's verdict line and the findings it kept. For scale,
# the same values against a sane pattern.
set -eu
LC_ALL=C
export LC_ALL
src=$(cd "$(dirname "$0")/.." && pwd)
nvalues=${FG_BENCH_VALUES:-20000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fg-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ $# -ge 1 ]; then
	build=$(cd "$1" && pwd)
else
	build=$tmp/build
	echo "bench: building fleetgate (-O2) in $build" >&2
	[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null)
	mkdir -p "$build"
	(cd "$build" && "$src/configure" -q CFLAGS="-O2 -g" >/dev/null &&
		make -s -j2 >/dev/null 2>&1) || { echo "bench: build failed" >&2; exit 2; }
fi
[ -x "$build/fleetgate" ] || { echo "bench: no $build/fleetgate" >&2; exit 2; }

HOME=$tmp/home
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME="Fleet Dev" GIT_AUTHOR_EMAIL=dev@fleet.example
GIT_COMMITTER_NAME="Fleet Dev" GIT_COMMITTER_EMAIL=dev@fleet.example
mkdir -p "$HOME"
export HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GITEA_PUSHER_NAME GL_USERNAME GITHUB_USER_LOGIN REMOTE_USER GL_USER GL_ID \
	GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR || true

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f s", b - a }'; }

cat > "$tmp/policy.yaml" <<'POLICY'
version: 1
branches:
  main:       { promote_from: [develop, "feature/*"] }
  canary:     { promote_from: [main] }
  production: { promote_from: [canary] }
validate: all
POLICY
chmod 600 "$tmp/policy.yaml"
git init -q --bare -b main "$tmp/server.git"
git init -q -b main "$tmp/work"
cp -R "$src/tests/data/fleet-good/." "$tmp/work/"
cd "$tmp/work"
git add -A && git commit -qm "good fleet"
for b in main canary production develop; do git push -q "$tmp/server.git" HEAD:refs/heads/$b; done
"$build/fleetgate" install --repo "$tmp/server.git" --policy "$tmp/policy.yaml" >/dev/null
# the hook's own time, apart from git's packing and transfer
sed -i "s|exec '|exec /usr/bin/time -f '%e %U' -o '$tmp/hook.time' '|" \
	"$tmp/server.git/hooks/pre-receive"

# $1: the pattern for "serial" and for the property names
schema() {
	cat > schemas/configuration.schema.json <<EOF
{
  "type": "object",
  "properties": {
    "serial": { "type": "string", "pattern": "$1" },
    "batch": { "type": "string", "pattern": "$1" }
  },
  "patternProperties": { "$1": { "maxLength": 1 } }
}
EOF
	git rm -q --cached schemas/configuration.schema.yaml
	rm -f schemas/configuration.schema.yaml
}

# $1: values to write, 1,000 per file (2 per device: serial and batch,
# plus a key of the same shape)
values() {
	awk -v n="$1" 'BEGIN {
		v = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		for (f = 0; f * 1000 < n; f++) {
			dir = sprintf("devices/d%03d", f)
			system("mkdir -p " dir)
			for (i = 0; i < 1000 && f * 1000 + i < n; i += 3) {
				id = sprintf("0a1b2c3d-0000-4000-8000-%012d", f * 1000 + i)
				file = dir "/" id ".yaml"
				printf "configuration:\n  serial: %s!\n  batch: %s!\n  %s_: x\n",
					v, v, v > file
				close(file)
			}
		}
	}'
}

push_timed() { # $1: label, $2: branch
	t0=$(now)
	if git push "$tmp/server.git" "HEAD:$2" > "$tmp/push.out" 2>&1; then verdict=accepted
	else verdict=rejected; fi
	t1=$(now)
	printf '%-46s %8s %8s %8s  %s\n' "$1" "$(elapsed "$t0" "$t1")" \
		"$(tail -n 1 "$tmp/hook.time" | awk '{ printf "%.2f s", $1 }')" \
		"$(tail -n 1 "$tmp/hook.time" | awk '{ printf "%.2f s", $2 }')" "$verdict"
	grep -m1 "fleet-invalid\|internal-error" "$tmp/push.out" | sed 's/^remote: /    /' | cut -c1-150
	grep "regex-budget\|needs more regular-expression work\|\.\.\. and" "$tmp/push.out" |
		sed 's/^remote: /    /' | cut -c1-150 | head -3
}

echo "bench: $(nproc) cores, $(uname -srm), $nvalues values" >&2
printf '%-46s %8s %8s %8s  %s\n' "push" "git push" "hook" "hook cpu" "verdict"

git checkout -q -b evil
schema '^(a+)+$'
git add -A && git commit -qm "backtracking schema"
push_timed "1. schema with ^(a+)+\$ (valid, to develop)" develop
values "$nvalues"
git add -A && git commit -qm "values"
push_timed "2. $nvalues values + keys against it" develop

git checkout -q -b sane main
schema '^a+!$'
git add -A && git commit -qm "sane schema"
push_timed "3. schema with ^a+!\$ (to feature/sane)" feature/sane
values "$nvalues"
git add -A && git commit -qm "values"
push_timed "4. the same values against it (for scale)" feature/sane
