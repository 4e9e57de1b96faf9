# Shared helpers of the adversarial suite (sourced, POSIX sh), on top of
# tests/integration/lib.sh (TAP, temporary directory, git environment, push
# helpers, lighttpd + git http-backend).
#
# The attacker (mallory) may push only to develop and feature/*: every
# attack is a real push with the real git client to a real bare repository
# whose protected chain develop -> main -> canary -> production was built
# by the rules (production by alice of @sre). Each script runs its attacks
# once per combination TRANSPORT/HASH listed in FA_MATRIX, by parameters,
# not copies:
#   TRANSPORT  file: file:// with the pusher in the environment the hook
#              inherits (as a forge sets it); http: smart HTTP, lighttpd's
#              basic auth sets REMOTE_USER.
#   HASH       sha1 or sha256: the repositories' object format (SHA-256 is
#              read through the git command line, SHA-1 through libgit2).
# The default "file/sha1 http/sha256" covers every transport and every
# format and keeps the suite short on a shared machine (a script may set
# another default before sourcing this file); the full cross is
#   FA_MATRIX="file/sha1 file/sha256 http/sha1 http/sha256"
#
# Owns: the users' passwords file, one server and one work repository per
# combination, the pusher of the next push.
# Never: talks to anything but 127.0.0.1, leaves a process behind, or puts a
# secret value anywhere but the secrets_dir file a test creates.

. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

FA_MATRIX=${FA_MATRIX:-file/sha1 http/sha256}
FA_USERS=$FG_TMP/htusers
printf 'alice:alice-pw\nmallory:mallory-pw\nfleet-admin:fleet-admin-pw\n' >"$FA_USERS"
chmod 600 "$FA_USERS"
FA_HTTP=""

# fa_http_up: starts lighttpd once per script (serving every repository
# under $FG_TMP/srv).
fa_http_up() {
	[ -z "$FA_HTTP" ] || return 0
	command -v lighttpd >/dev/null 2>&1 ||
		fg_bail "lighttpd is not installed (scripts/deps)"
	fg_http_start "$FG_TMP/srv" "$FA_USERS" || fg_bail "lighttpd did not start"
	FA_HTTP=yes
}

# fa_matrix FUNCTION: runs FUNCTION once per combination of FA_MATRIX with
# FA_TRANSPORT and FA_HASH set; FA_TAG ("file/sha1") prefixes the test
# descriptions.
fa_matrix() {
	fa_combos=$FA_MATRIX
	# Under valgrind each hook runs many times slower; the memory checker
	# needs each code path once, so it gets the first combination only
	# (the sanitizer pass runs them all). FA_MATRIX_ALL=1 runs all anyway.
	[ -z "${FG_VALGRIND:-}" ] || [ -n "${FA_MATRIX_ALL:-}" ] || fa_combos=${FA_MATRIX%% *}
	for FA_TAG in $fa_combos; do
		FA_TRANSPORT=${FA_TAG%/*}
		FA_HASH=${FA_TAG#*/}
		case "$FA_TRANSPORT/$FA_HASH" in
		file/sha1 | file/sha256 | http/sha1 | http/sha256) ;;
		*) fg_bail "FA_MATRIX: unknown combination '$FA_TAG'" ;;
		esac
		"$1"
	done
}

# fa_server NAME POLICY: a bare repository of the current object format
# with the hooks installed (reachable over HTTP too), and a work repository
# on it; sets FA_SRV, FA_W, FA_NAME. The pusher is mallory.
fa_server() {
	FA_NAME=$1-$FA_TRANSPORT-$FA_HASH
	FA_SRV=$(fg_bare "$FA_NAME" "$FA_HASH")
	[ -d "$FA_SRV" ] || fg_bail "no bare repository $FA_NAME"
	fg_install "$FA_SRV" "$2" || fg_bail "fleetgate install failed"
	git -C "$FA_SRV" config http.receivepack true
	[ "$FA_TRANSPORT" = file ] || fa_http_up
	FA_W=$(fg_work "$FA_NAME" "file://$FA_SRV" "$FA_HASH")
	fa_as mallory
}

# fa_as USER: the pusher of the next pushes. Over file:// the hook reads it
# from REMOTE_USER in its environment (as a forge would set it); over HTTP
# the web server sets it from the authenticated user.
fa_as() {
	FA_USER=$1
	if [ "$FA_TRANSPORT" = file ]; then
		FA_ENV="REMOTE_USER=$1"
		git -C "$FA_W" remote set-url origin "file://$FA_SRV"
	else
		FA_ENV=""
		git -C "$FA_W" remote set-url origin \
			"http://$1:$1-pw@127.0.0.1:$FG_HTTP_PORT/git/$FA_NAME.git"
	fi
}

# fa_push GIT-PUSH-ARGS...: pushes as the current pusher (fg_push_env).
fa_push() {
	fg_push_env "$FA_ENV" "$FA_W" "$@"
}

# fa_ref BRANCH: the branch's value on the server.
fa_ref() {
	fg_server_ref "$FA_SRV" "refs/heads/$1"
}

# fa_fleet_good WORK: the valid example fleet (tests/data/fleet-good) in
# the work tree, staged.
fa_fleet_good() {
	cp -R "$FG_SRCDIR/tests/data/fleet-good/." "$1/" || fg_bail "cp fleet-good failed"
	chmod -R u+w "$1"
	git -C "$1" add -A || fg_bail "git add failed"
}

# fa_chain: develop with the valid fleet, then main, canary and production
# created from it in promotion order (production by alice), each accepted.
# Leaves the pusher mallory and origin/* fetched.
fa_chain() {
	fa_fleet_good "$FA_W"
	fg_commit "$FA_W" app/config.txt "version 1" "initial fleet setup"
	git -C "$FA_W" branch -q -M develop
	fa_push develop
	fa_accepted_or_bail develop
	fa_push develop:refs/heads/main
	fa_accepted_or_bail main
	fa_push develop:refs/heads/canary
	fa_accepted_or_bail canary
	fa_as alice
	fa_push develop:refs/heads/production
	fa_accepted_or_bail production
	fa_as mallory
	fg_fetch "$FA_W"
}

# fa_accepted_or_bail WHAT: setup pushes must land, or nothing after them
# means anything.
fa_accepted_or_bail() {
	if [ "$FG_RC" -ne 0 ] || fg_out_has "fleetgate: rejected"; then
		fg_output
		fg_bail "$FA_TAG: setup push of $1 failed"
	fi
}

# fa_promote_main: a feature of mallory merged into main and main into
# canary, both accepted, so that every stage has a merge commit on top.
fa_promote_main() {
	fg_feature_into_main "$FA_W" "f$fg_clock"
	fa_push main
	fa_accepted_or_bail "main (feature merge)"
	fg_fetch "$FA_W"
}

# fa_rejected DESC REF RULE...: fg_rejected with the combination's tag.
fa_rejected() {
	fa_d=$1
	shift
	fg_rejected "$FA_TAG: $fa_d" "$@"
}

# fa_unmoved BRANCH BEFORE DESC: the server's branch is still BEFORE.
fa_unmoved() {
	fg_ref_is "$FA_SRV" "refs/heads/$1" "$2" "$FA_TAG: $3"
}

# fa_restore BRANCH VALUE: where an attack got through, puts the server's
# branch back (without the hooks) and refetches, so the next attack starts
# from the state it expects, not from the last one's success.
fa_restore() {
	[ "$(fa_ref "$1")" != "$2" ] || return 0
	git -C "$FA_SRV" update-ref "refs/heads/$1" "$2" || fg_bail "update-ref $1"
	fg_fetch "$FA_W"
}

# fa_server_set BRANCH COMMIT: sets the server's branch to a commit of the
# work repository directly (a fetch into the server: no hook runs), to
# build a server state the rules would not let a push build.
fa_server_set() {
	git -C "$FA_W" update-ref refs/fa/set "$2" || fg_bail "update-ref refs/fa/set"
	git -C "$FA_SRV" fetch -q "$FA_W/.git" "+refs/fa/set:refs/heads/$1" ||
		fg_bail "cannot set $1 on the server"
	git -C "$FA_W" update-ref -d refs/fa/set
}

# fa_commit_tree WORK TREE MESSAGE PARENT...: a commit object made with
# git commit-tree (fresh timestamp); prints its id.
fa_commit_tree() {
	fa_w=$1
	fa_t=$2
	fa_m=$3
	shift 3
	fa_p=""
	for fa_x in "$@"; do
		fa_p="$fa_p -p $fa_x"
	done
	fg_tick
	# shellcheck disable=SC2086 # the -p list is split on purpose
	git -C "$fa_w" commit-tree $fa_p -m "$fa_m" "$fa_t" ||
		fg_bail "commit-tree failed in $fa_w"
}

# fa_no_byte DESC OCTAL: the last push's output has no byte OCTAL.
fa_no_byte() {
	if LC_ALL=C tr -d "\\$2" <"$FG_OUT" | cmp -s - "$FG_OUT"; then
		fg_pass "$FA_TAG: $1"
	else
		fg_fail "$FA_TAG: $1" "output contains byte \\$2:" "$(od -c "$FG_OUT" | head -40)"
	fi
}

# fa_hook_timeout: makes the installed hook scripts of $FA_SRV run their
# program under `timeout -s KILL ${FA_TIMEOUT:-120}`, so a hang is a
# failure, never a stuck suite (a safety net, not an assertion about time).
fa_hook_timeout() {
	for fa_h in "$FA_SRV/hooks/pre-receive" "$FA_SRV/hooks/post-receive"; do
		sed "s|exec |exec timeout -s KILL ${FA_TIMEOUT:-120} |" "$fa_h" >"$fa_h.new" &&
			chmod 755 "$fa_h.new" && mv "$fa_h.new" "$fa_h" ||
			fg_bail "cannot wrap $fa_h"
	done
}
