#!/bin/sh
# End-to-end: `fleetgate check` on the good fleet and on every case of the
# bad-fleet corpus, as a work tree and as a git commit; each case must fail
# with exit 1 and print its expected message(s), the same in both modes.
set -u
: "${FG_BUILDDIR:?}" "${FG_SRCDIR:?}"
FG=$FG_BUILDDIR/fleetgate
DATA=$FG_SRCDIR/tests/data
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com \
	GIT_CONFIG_NOSYSTEM=1 HOME=$tmp
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { ${FG_VALGRIND:-} "$FG" check --branch production --branch canary "$@"; }

# make_fleet DIR CASE: the good fleet with the case's files laid over it
make_fleet() {
	mkdir -p "$1" && cp -R "$DATA/fleet-good/." "$1/" || return 1
	[ -n "$2" ] || return 0
	if [ -f "$DATA/fleet-bad/$2/remove" ]; then
		while read -r f; do rm -rf "${1:?}/$f"; done < "$DATA/fleet-bad/$2/remove"
	fi
	(cd "$DATA/fleet-bad/$2" && find . -type f ! -name expect ! -name remove ! -name absent) |
	while read -r f; do
		mkdir -p "$1/$(dirname "$f")" && cp "$DATA/fleet-bad/$2/$f" "$1/$f"
	done
}

# commit DIR: makes DIR a repository with one commit holding it (plus the
# branches the fleet names); prints nothing
commit() {
	(cd "$1" && git init -q -b main . && git add -A && git commit -qm fleet &&
	 git branch production && git branch canary) >/dev/null 2>&1
}

# run_case NAME DIR EXPECT [ABSENT]: checks DIR both ways against the
# expected lines; no line of the file ABSENT (e.g. a secret value) may
# appear anywhere in the output
run_case() {
	name=$1 dir=$2 expect=$3 absent=${4:-/dev/null}
	check "$dir" > "$tmp/out.dir" 2> "$tmp/err.dir"; rc_dir=$?
	commit "$dir"
	check --git-dir "$dir/.git" --rev HEAD > "$tmp/out.git" 2> "$tmp/err.git"; rc_git=$?
	missing=
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		grep -qF -- "$line" "$tmp/out.dir" || missing="$missing [$line]"
	done < "$expect"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		! grep -qF -- "$line" "$tmp/out.dir" "$tmp/err.dir" "$tmp/out.git" \
			"$tmp/err.git" || missing="$missing [shows: $line]"
	done < "$absent"
	if [ "$rc_dir" -eq 1 ] && [ -z "$missing" ]; then
		ok "$name: rejected with its message (work tree)"
	else
		nok "$name: rc=$rc_dir, missing:$missing"; sed 's/^/# /' "$tmp/out.dir" "$tmp/err.dir"
	fi
	if [ "$rc_git" -eq 1 ] && cmp -s "$tmp/out.dir" "$tmp/out.git"; then
		ok "$name: same findings from the commit"
	else
		nok "$name: git mode rc=$rc_git or different output"
		diff "$tmp/out.dir" "$tmp/out.git" | sed 's/^/# /'; sed 's/^/# /' "$tmp/err.git"
	fi
}

# The good fleet passes both ways, and --format json says so.
make_fleet "$tmp/good" ""
if check "$tmp/good" > "$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
	ok "good fleet passes (work tree)"
else
	nok "good fleet passes (work tree)"; sed 's/^/# /' "$tmp/out"
fi
commit "$tmp/good"
if check --git-dir "$tmp/good/.git" --rev HEAD --format json > "$tmp/out" 2>&1 &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["valid"] is True and d["errors"] == []))' "$tmp/out"; then
	ok "good fleet passes (commit, json)"
else
	nok "good fleet passes (commit, json)"; sed 's/^/# /' "$tmp/out"
fi

# Every case of the corpus.
for c in "$DATA"/fleet-bad/*/; do
	c=$(basename "$c")
	make_fleet "$tmp/case-$c" "$c"
	absent=/dev/null
	[ -f "$DATA/fleet-bad/$c/absent" ] && absent=$DATA/fleet-bad/$c/absent
	run_case "$c" "$tmp/case-$c" "$DATA/fleet-bad/$c/expect" "$absent"
done

# Cases a source tree cannot hold: symlink, submodule, 50 MB file.
D=3fb4632b-96b9-475d-ac89-02255bd15b6f
make_fleet "$tmp/symlink" ""
ln -s ../fleet.yaml "$tmp/symlink/devices/0a1b2c3d-0000-4000-8000-0000000000aa.yaml"
echo "devices/0a1b2c3d-0000-4000-8000-0000000000aa.yaml: symbolic links are not allowed below devices/" > "$tmp/expect.symlink"
run_case symlink "$tmp/symlink" "$tmp/expect.symlink"

make_fleet "$tmp/submodule" ""
commit "$tmp/submodule"
(cd "$tmp/submodule" && git update-index --add --cacheinfo \
	160000,"$(git rev-parse HEAD)",devices/vendored && git commit -qm sub) >/dev/null 2>&1
if check --git-dir "$tmp/submodule/.git" --rev HEAD > "$tmp/out" 2>&1; [ $? -eq 1 ] &&
   grep -qF "devices/vendored: submodules are not allowed below devices/" "$tmp/out"; then
	ok "submodule below devices/ is rejected (commit)"
else
	nok "submodule below devices/ is rejected (commit)"; sed 's/^/# /' "$tmp/out"
fi
mkdir -p "$tmp/submodule/devices/vendored" && : > "$tmp/submodule/devices/vendored/.git"
if check "$tmp/submodule" > "$tmp/out" 2>&1; [ $? -eq 1 ] &&
   grep -qF "devices/vendored: submodules are not allowed below devices/" "$tmp/out"; then
	ok "submodule below devices/ is rejected (work tree)"
else
	nok "submodule below devices/ is rejected (work tree)"; sed 's/^/# /' "$tmp/out"
fi

make_fleet "$tmp/big" ""
{ echo "name: big"; head -c 52428800 /dev/zero | tr '\0' '#'; } > "$tmp/big/devices/$D.yaml"
echo "devices/$D.yaml: file is larger than the limit and was not read" > "$tmp/expect.big"
run_case "50 MB file" "$tmp/big" "$tmp/expect.big"

# Usage errors exit 2.
"$FG" check --format yaml "$tmp/good" >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown format is a usage error" || nok "unknown format is a usage error"
"$FG" check "$tmp/does-not-exist" >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing directory exits 2" || nok "missing directory exits 2"
"$FG" check --git-dir "$tmp/good/.git" --rev no-such-rev >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown revision exits 2" || nok "unknown revision exits 2"

echo "1..$n"
exit 0
