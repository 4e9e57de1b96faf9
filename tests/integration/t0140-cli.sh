#!/bin/sh
# The command line around the hooks: fleetgate install in each layout and
# its refusal to overwrite a foreign hook, fleetgate policy check, and the
# top-level dispatcher's usage and errors.
. "$FG_SRCDIR/tests/integration/lib.sh"

fg=$FG_BUILDDIR/fleetgate
run() { # run CMD...: output in $FG_TMP/out, status in $rc
	$FG_VALGRIND "$@" >"$FG_TMP/out" 2>&1
	rc=$?
}
out_has() { grep -qF -- "$1" "$FG_TMP/out"; }
expect() { # expect DESC STATUS TEXT
	if [ "$rc" -eq "$2" ] && { [ -z "$3" ] || out_has "$3"; }; then
		fg_pass "$1"
	else
		fg_fail "$1" "status $rc (expected $2), output:" "$(cat "$FG_TMP/out")"
	fi
}

policy=$FG_TMP/policy.yaml
fg_policy_default "$policy"

# ---- policy check
run "$fg" policy check "$policy"
expect "policy check: the example policy is ok" 0 "ok, 3 protected branches: main canary production"
printf 'version: 1\nbranches: {}\nbypas: [x]\n' >"$FG_TMP/typo.yaml"
run "$fg" policy check "$FG_TMP/typo.yaml"
expect "policy check: an unknown key names file, line and the known keys" 1 \
	"typo.yaml:3:8: unknown key 'bypas' in the policy; known keys:"
cp "$policy" "$FG_TMP/open.yaml"
chmod 666 "$FG_TMP/open.yaml"
run "$fg" policy check "$FG_TMP/open.yaml"
expect "policy check: a policy others may write is refused" 1 "writable by group or others"
run "$fg" policy check "$FG_TMP/none.yaml"
expect "policy check: a missing policy is named" 1 "none.yaml"
run "$fg" policy
expect "policy: usage without arguments" 2 "usage: fleetgate policy check FILE"

# ---- install layouts
for layout in plain gitea gitlab; do
	repo=$(fg_bare "$layout")
	run "$fg" install --repo "$repo" --policy "$policy" --layout "$layout"
	expect "install --layout $layout succeeds" 0 "hooks installed"
	case $layout in
	plain) pre=$repo/hooks/pre-receive post=$repo/hooks/post-receive ;;
	gitea) pre=$repo/hooks/pre-receive.d/fleetgate post=$repo/hooks/post-receive.d/fleetgate ;;
	gitlab) pre=$repo/custom_hooks/pre-receive.d/fleetgate
		post=$repo/custom_hooks/post-receive.d/fleetgate ;;
	esac
	if [ -x "$pre" ] && [ -x "$post" ] &&
		grep -qF "exec '$FG_BUILDDIR/fleetgate-pre-receive' \"\$@\"" "$pre" &&
		grep -qF "exec '$FG_BUILDDIR/fleetgate-post-receive' \"\$@\"" "$post"; then
		fg_pass "install --layout $layout: executable hooks exec the build's binaries"
	else
		fg_fail "install --layout $layout: hooks" "$(ls -R "$repo" | head -40)"
	fi
	if [ "$(git -C "$repo" config fleetgate.policy)" = "$policy" ]; then
		fg_pass "install --layout $layout records the policy's absolute path"
	else
		fg_fail "install --layout $layout records the policy" "$(git -C "$repo" config -l)"
	fi
done

repo=$(fg_bare foreign)
printf '#!/bin/sh\necho mine\n' >"$repo/hooks/pre-receive"
chmod 755 "$repo/hooks/pre-receive"
run "$fg" install --repo "$repo" --policy "$policy"
expect "install refuses to replace a foreign hook and says how" 1 "pass --force to replace it"
if grep -q "echo mine" "$repo/hooks/pre-receive" && [ ! -e "$repo/hooks/post-receive" ]; then
	fg_pass "a refused install changes nothing"
else
	fg_fail "a refused install changes nothing" "$(ls "$repo/hooks")"
fi
run "$fg" install --repo "$repo" --policy "$policy" --force
expect "install --force replaces it" 0 "hooks installed"
# The advice fits what install found: never hooks/*.d on gitolite.
repo2=$(fg_bare gitolite)
mkdir -p "$FG_TMP/gitolite-hooks"
printf '#!/usr/bin/perl
# gitolite post-receive
' >"$FG_TMP/gitolite-hooks/post-receive"
ln -s "$FG_TMP/gitolite-hooks/post-receive" "$repo2/hooks/post-receive"
run "$fg" install --repo "$repo2" --policy "$policy"
expect "install on a gitolite hook points at gitolite's repo-specific hooks" 1 \
	"is gitolite's hook; do not replace it (--force) or use hooks/*.d"
repo3=$(fg_bare gitea)
printf '#!/usr/bin/env bash
for hook in hooks/pre-receive.d/*; do "$hook"; done
' >"$repo3/hooks/pre-receive"
run "$fg" install --repo "$repo3" --policy "$policy"
expect "install on a hooks/*.d dispatcher advises --layout gitea" 1 \
	"runs the scripts in its .d folder; install with --layout gitea"
run "$fg" install --repo "$repo" --policy "$policy"
expect "reinstalling over our own hooks needs no --force" 0 "hooks installed"
run "$fg" install --repo "$FG_TMP" --policy "$policy"
expect "install into something that is not a bare repository" 1 "is not a bare git repository"
run "$fg" install --repo "$repo" --policy "$policy" --layout svn
expect "install with an unknown layout" 2 "unknown layout 'svn'"
run "$fg" install --repo "$repo"
expect "install without --policy shows the usage" 2 "usage: fleetgate install"

# ---- dispatcher
run "$fg"
expect "no command: usage on stderr, status 2" 2 "usage: fleetgate <command>"
run "$fg" --help
expect "--help lists the commands" 0 "install"
run "$fg" --version
expect "--version" 0 "fleetgate "
run "$fg" frobnicate
expect "an unknown command is named" 2 "'frobnicate' is not a command"

# ---- queue on a repository without jobs
run "$fg" queue --repo "$repo"
expect "queue on an empty spool says so" 0 "no rollout jobs"
run "$fg" queue drop 7 --repo "$repo"
expect "dropping a job that does not exist" 1 "there is no job 7"
run "$fg" queue frob --repo "$repo"
expect "queue with an unknown action shows the usage" 2 "usage: fleetgate queue"
# Root on a repository the git user owns: say to run as that user, not
# libgit2's "config value 'safe.directory' was not found".
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	owned=$(fg_bare owned-by-nobody)
	git -C "$owned" config fleetgate.policy "$policy"
	chown -R nobody "$owned"
	run "$fg" plan --repo "$owned" main
	expect "plan as root on another user's repository says to run as its owner" 2 \
		"belongs to the user 'nobody': run fleetgate as that user (sudo -u nobody fleetgate ...)"
	chown -R "$(id -u)" "$owned"
else
	fg_pass "plan on another user's repository # SKIP needs root and a 'nobody' user to own a repository"
fi
run "$fg" queue run --scan "$FG_TMP/no-such-root"
expect "queue run --scan of a missing root fails and says what to give" 2 \
	"--scan '$FG_TMP/no-such-root': No such file or directory; give the folder that holds the git repositories"
run "$fg" queue run --scan "$policy"
expect "queue run --scan of a file fails" 2 "not a directory"
mkdir -p "$FG_TMP/empty-root"
run "$fg" queue run --scan "$FG_TMP/empty-root"
expect "queue run --scan of a root without fleetgate repositories warns" 0 \
	"no repository with a fleetgate spool below '$FG_TMP/empty-root'"

# ---- fleetgate check on commits: JSON for tools, the hook's incremental
# check (--since), the schema of another revision (--schema-rev)
fleet=$FG_TMP/fleet
cp -R "$FG_SRCDIR/tests/data/fleet-good" "$fleet"
git init -q "$fleet"
git -C "$fleet" add -A && git -C "$fleet" commit -q -m "good fleet"
git -C "$fleet" branch production && git -C "$fleet" branch canary
mkdir -p "$fleet/devices/site-a"
printf 'configuration:\n  api_token: ghp_0123456789abcdef\n' \
	>"$fleet/devices/site-a/5f0c1e2d3b4a596877665544.yaml"
git -C "$fleet" add -A && git -C "$fleet" commit -q -m "literal secret"

run "$fg" check --git-dir "$fleet/.git" --rev HEAD~1
expect "check of the good commit" 0 ""
run "$fg" check --git-dir "$fleet/.git" --rev HEAD --format json
expect "check --format json: invalid, exit 1" 1 '"rule"'
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); \
	f=[x for x in d["errors"] \
	if "5f0c1e2d3b4a596877665544" in (x.get("file") or "")]; \
	sys.exit(0 if f and f[0]["line"]==2 and "secret" in f[0]["message"] else 1)' \
	"$FG_TMP/out" 2>/dev/null; then
	fg_pass "check --format json: the finding carries file, line and message"
else
	fg_fail "check --format json: the finding carries file, line and message" \
		"$(cat "$FG_TMP/out")"
fi
if grep -q ghp_0123456789abcdef "$FG_TMP/out"; then
	fg_fail "the literal secret's value is not repeated in the report" "$(cat "$FG_TMP/out")"
else
	fg_pass "the literal secret's value is not repeated in the report"
fi
run "$fg" check --git-dir "$fleet/.git" --rev HEAD --since HEAD~1 --schema-rev HEAD~1
expect "check --since (the hook's incremental check) finds the new file" 1 \
	"devices/site-a/5f0c1e2d3b4a596877665544.yaml:2:"
run "$fg" check --git-dir "$fleet/.git" --rev no-such-rev --since HEAD
expect "check with an unknown revision" 2 "unknown revision 'no-such-rev'"
run "$fg" check --git-dir "$FG_TMP/nothing" --rev HEAD --since HEAD
expect "check of something that is not a repository" 2 "is not a git repository"
run "$fg" check --help
expect "check --help" 0 "usage"

fg_done
