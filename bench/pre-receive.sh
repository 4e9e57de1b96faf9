#!/bin/sh
# Benchmark: wall time of fleetgate-pre-receive for a promotion push
# (main -> canary, merge --no-ff) on a repository with 10,000 commits, from
# process start to exit, as git would run it (cwd and GIT_DIR = the bare
# repository, the ref line on stdin). Prints median and max over the runs
# and the machine. Not part of make check.
#
#   bench/pre-receive.sh [BUILDDIR]
#
# BUILDDIR: an existing build (its fleetgate-pre-receive is used); without it
# the source tree is configured and built (-O2) in a temporary directory.
# FG_BENCH_RUNS (default 50), FG_BENCH_COMMITS (default 10000).
set -eu
LC_ALL=C
export LC_ALL
src=$(cd "$(dirname "$0")/.." && pwd)
runs=${FG_BENCH_RUNS:-50}
ncommits=${FG_BENCH_COMMITS:-10000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fg-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp"

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
hook=$build/fleetgate-pre-receive
[ -x "$hook" ] || { echo "bench: no $hook" >&2; exit 2; }

# Git must not read the user's configuration.
HOME=$tmp/home
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME="Fleet Dev" GIT_AUTHOR_EMAIL=dev@fleet.example
GIT_COMMITTER_NAME="Fleet Dev" GIT_COMMITTER_EMAIL=dev@fleet.example
mkdir -p "$HOME"
export HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GITEA_PUSHER_NAME GL_USERNAME GITHUB_USER_LOGIN REMOTE_USER GL_USER GL_ID \
	GL_PROTOCOL GITEA_PR_ID GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR || true

repo=$tmp/fleet.git
git init -q --bare "$repo"
# History: $ncommits commits on develop touching 200 files in 20 folders
# (the first also adds fleet.yaml);
# main follows develop, canary was promoted 1,000 commits ago, production
# 2,000 ago. fast-import writes it all in one pass.
echo "bench: creating $ncommits commits with git fast-import" >&2
awk -v n="$ncommits" 'BEGIN {
	for (i = 1; i <= n; i++) {
		msg = "change " i
		data = "setting = " i
		printf "commit refs/heads/develop\nmark :%d\n", i
		printf "committer Fleet Dev <dev@fleet.example> %d +0000\n", 1700000000 + i * 60
		printf "data %d\n%s\n", length(msg), msg
		if (i > 1) printf "from :%d\n", i - 1
		printf "M 100644 inline app/%02d/file-%03d.conf\n", i % 20, i % 200
		printf "data %d\n%s\n", length(data), data
		if (i == 1) {
			# the fleet files every pushed branch is checked against
			fleet = "version: 1\ndefault_branch: production"
			printf "M 100644 inline fleet.yaml\ndata %d\n%s\n", length(fleet), fleet
		}
	}
	printf "reset refs/heads/main\nfrom :%d\n\n", n
	printf "reset refs/heads/canary\nfrom :%d\n\n", (n > 1000 ? n - 1000 : 1)
	printf "reset refs/heads/production\nfrom :%d\n\n", (n > 2000 ? n - 2000 : 1)
}' | git -C "$repo" fast-import --quiet || { echo "bench: fast-import failed" >&2; exit 2; }
git -C "$repo" repack -q -a -d

# the shipped example policy, as a server would install it
cat "$src/policies/policy.yaml" >"$tmp/policy.yaml"
git -C "$repo" config fleetgate.policy "$tmp/policy.yaml"

# The pushed promotion: canary's tip merged with main, with main's tree (what
# `git merge --no-ff main` on canary produces). Its object is in the
# repository already, as after receive-pack moved it out of quarantine.
old=$(git -C "$repo" rev-parse canary)
main=$(git -C "$repo" rev-parse main)
new=$(git -C "$repo" commit-tree -p "$old" -p "$main" -m "Promote main to canary" "main^{tree}")
printf '%s %s refs/heads/canary\n' "$old" "$new" >"$tmp/stdin"
# A direct commit on canary, to check the hook really judges the push.
bad=$(git -C "$repo" commit-tree -p "$old" -m "direct" "main^{tree}")
printf '%s %s refs/heads/canary\n' "$old" "$bad" >"$tmp/stdin-bad"

runhook() { # STDIN-FILE
	(cd "$repo" && GIT_DIR=. "$hook" <"$1" >"$tmp/hook.out" 2>&1)
}
if ! runhook "$tmp/stdin"; then
	echo "bench: the hook rejected the promotion:" >&2
	cat "$tmp/hook.out" >&2
	exit 1
fi
if runhook "$tmp/stdin-bad" || ! grep -q 'direct-commit' "$tmp/hook.out"; then
	echo "bench: the hook did not reject a direct commit on canary:" >&2
	cat "$tmp/hook.out" >&2
	exit 1
fi

# Each sample: the time between two `date +%s%N` around one hook run, the
# hook started by the shell as git starts it. The same loop around /bin/true
# gives the measuring overhead (fork+exec of a trivial program and of date).
sample() { # OUTFILE CMD...
	out=$1
	shift
	: >"$out"
	i=0
	while [ $i -lt "$runs" ]; do
		t0=$(date +%s%N)
		"$@"
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$out"
		i=$((i + 1))
	done
}
stats() { # FILE -> "median max" in ms
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f", m / 1000, v[NR] / 1000 }'
}
hookrun() { (cd "$repo" && GIT_DIR=. exec "$hook" <"$tmp/stdin" >/dev/null 2>&1); }
truerun() { (cd "$repo" && GIT_DIR=. exec /bin/true <"$tmp/stdin" >/dev/null 2>&1); }
echo "bench: $runs runs" >&2
sample "$tmp/base.txt" truerun
sample "$tmp/hook.txt" hookrun

# shellcheck disable=SC2046 # two numbers, split on purpose
set -- $(stats "$tmp/hook.txt")
hook_median=$1 hook_max=$2
# shellcheck disable=SC2046 # two numbers, split on purpose
set -- $(stats "$tmp/base.txt")
base_median=$1 base_max=$2
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "fleetgate-pre-receive, promotion main -> canary (merge --no-ff),"
echo "repository of $(git -C "$repo" rev-list --count --all) commits, $runs runs, process start to exit:"
echo "  median $hook_median ms, max $hook_max ms"
echo "  method: shell loop, date +%s%N before and after each run (no hyperfine)"
echo "  (measuring overhead, same loop around /bin/true: median $base_median ms, max $base_max ms)"
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $build ($(sed -n 's/^  \$ .*configure */configure /p' "$build/config.log" 2>/dev/null | head -1))"
