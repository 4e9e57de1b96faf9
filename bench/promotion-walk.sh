#!/bin/sh
# Benchmark: how the pre-receive hook's time grows with the size of a push.
# For K = 250, 1,000 and 4,000 it builds a repository where develop has K
# new commits and 20 extra feature branches exist, and pushes K promotion
# merges into main at once (each merges the next develop commit, with its
# tree, as `git merge --no-ff develop~N` would). It times the hook as git
# runs it (cwd and GIT_DIR = the bare repository, the ref line on stdin) with
# /usr/bin/time and prints the time per K and the growth ratio against the
# smallest K. The goal is linear: 16x K takes about 16x the time or less.
# Not part of make check.
#
#   bench/promotion-walk.sh [BUILDDIR]
#
# BUILDDIR: an existing build (its fleetgate-pre-receive is used); without it
# the source tree is configured and built (-O2) in a temporary directory.
# FG_BENCH_SIZES (default "250 1000 4000"), FG_BENCH_RUNS (default 3, the
# median is printed), FG_BENCH_FORMAT (sha1, the default, or sha256: the git
# command-line back end).
set -eu
LC_ALL=C
export LC_ALL
src=$(cd "$(dirname "$0")/.." && pwd)
sizes=${FG_BENCH_SIZES:-250 1000 4000}
runs=${FG_BENCH_RUNS:-3}
format=${FG_BENCH_FORMAT:-sha1}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fg-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
build=""
[ $# -ge 1 ] && build=$(cd "$1" && pwd)
cd "$tmp"

if [ -z "$build" ]; then
	build=$tmp/build
	echo "bench: building fleetgate (-O2) in $build" >&2
	[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null)
	mkdir -p "$build"
	(cd "$build" && "$src/configure" -q CFLAGS="-O2 -g" >/dev/null &&
		make -s -j2 >/dev/null 2>&1) || { echo "bench: build failed" >&2; exit 2; }
fi
hook=$build/fleetgate-pre-receive
[ -x "$hook" ] || { echo "bench: no $hook" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (Debian package time)" >&2; exit 2; }

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

# make_repo K: $tmp/k$K.git. Marks: 1 the root (develop and main start
# there), 2..K+1 develop's commits, K+2.. the merges, then one commit per
# feature branch. The merges live under refs/bench/, which is no branch, as
# pushed objects do before git moves the ref.
make_repo() {
	repo=$tmp/k$1.git
	git init -q --bare --object-format="$format" "$repo"
	awk -v k="$1" 'function commit(ref, mark, t, msg) {
		printf "commit %s\nmark :%d\n", ref, mark
		printf "committer Fleet Dev <dev@fleet.example> %d +0000\n", 1700000000 + t * 60
		printf "data %d\n%s\n", length(msg), msg
	}
	function change(i, data) {
		data = "setting = " i
		printf "M 100644 inline app/%02d/file-%03d.conf\ndata %d\n%s\n",
			i % 20, i % 200, length(data), data
	}
	BEGIN {
		fleet = "version: 1\ndefault_branch: production"
		commit("refs/heads/develop", 1, 0, "root")
		printf "M 100644 inline fleet.yaml\ndata %d\n%s\n", length(fleet), fleet
		for (i = 1; i <= k; i++) {
			commit("refs/heads/develop", 1 + i, i, "develop " i)
			change(i)
		}
		for (i = 1; i <= k; i++) {
			commit("refs/bench/main", k + 1 + i, k + i, "Merge develop " i)
			printf "from :%d\nmerge :%d\n", i == 1 ? 1 : k + i, 1 + i
			change(i)
		}
		for (f = 1; f <= 20; f++) {
			commit(sprintf("refs/heads/feature/f%02d", f), 2 * k + 1 + f, 2 * k + f,
			       "feature " f)
			printf "from :1\n"
			change(1000 + f)
		}
		printf "reset refs/heads/main\nfrom :1\n\n"
		printf "reset refs/heads/canary\nfrom :1\n\n"
	}' | git -C "$repo" fast-import --quiet ||
		{ echo "bench: fast-import failed" >&2; exit 2; }
	cat "$src/policies/policy.yaml" >"$tmp/policy.yaml"
	git -C "$repo" config fleetgate.policy "$tmp/policy.yaml"
	printf '%s %s refs/heads/main\n' "$(git -C "$repo" rev-parse main)" \
		"$(git -C "$repo" rev-parse refs/bench/main)" >"$tmp/stdin$1"
}

# run_hook K: seconds of one hook run (exits when the hook rejects).
run_hook() {
	repo=$tmp/k$1.git
	if ! (cd "$repo" && GIT_DIR=. /usr/bin/time -f %e -o "$tmp/time" "$hook" \
		<"$tmp/stdin$1" >"$tmp/hook.out" 2>&1); then
		echo "bench: the hook rejected $1 promotion merges:" >&2
		cat "$tmp/hook.out" >&2
		exit 1
	fi
	tail -n 1 "$tmp/time"
}

# sanity_check K: a direct commit on main must be rejected, or the numbers
# would time a hook that judges nothing.
sanity_check() {
	repo=$tmp/k$1.git
	old=$(git -C "$repo" rev-parse main)
	bad=$(git -C "$repo" commit-tree -p "$old" -m "direct" "refs/bench/main^{tree}")
	if printf '%s %s refs/heads/main\n' "$old" "$bad" |
		(cd "$repo" && GIT_DIR=. "$hook" >"$tmp/hook.out" 2>&1) ||
		! grep -q direct-commit "$tmp/hook.out"; then
		echo "bench: the hook did not reject a direct commit on main:" >&2
		cat "$tmp/hook.out" >&2
		exit 1
	fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

first_k=""
first_t=""
echo "fleetgate-pre-receive, K promotion merges into main in one push, 20 extra"
echo "feature branches, $format, median of $runs runs (/usr/bin/time, wall seconds):"
for k in $sizes; do
	echo "bench: K=$k" >&2
	make_repo "$k"
	i=0
	: >"$tmp/times"
	while [ $i -lt "$runs" ]; do
		run_hook "$k" >>"$tmp/times"
		i=$((i + 1))
	done
	t=$(median <"$tmp/times")
	if [ -z "$first_k" ]; then
		sanity_check "$k"
		first_k=$k
		first_t=$t
	fi
	awk -v k="$k" -v t="$t" -v k0="$first_k" -v t0="$first_t" 'BEGIN {
		printf "  K=%-6d %8.2f s   K x%-5.1f time x%.1f\n", k, t, k / k0,
			(t0 > 0 ? t / t0 : 0) }'
done
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(/usr/bin/time has 10 ms resolution: ratios against a run under 0.1 s are rough)"
