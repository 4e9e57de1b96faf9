# Shared helpers for the end-to-end tests (sourced, POSIX sh).
#
# Owns: the TAP counters, one temporary directory per test run (removed on
# exit together with every server the test started), bare server
# repositories with the fleetgate hooks installed, work repositories, pushes
# with their output captured, and the assertions on them.
# Never: reads the user's git configuration, talks to anything but
# 127.0.0.1, or leaves a process running after the test exits.
#
# Inputs: $FG_BUILDDIR (absolute build dir), $FG_SRCDIR (absolute source
# dir), optional $FG_VALGRIND (wrapper every fleetgate program is run with),
# optional $FG_TRANSPORT (file|http) and $FG_HASH (sha1|sha256): how the
# transport-neutral helpers (fg_as, fg_send) reach the server.

umask 022

FG_BUILDDIR=${FG_BUILDDIR:-$(pwd)}
FG_SRCDIR=${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FG_VALGRIND=${FG_VALGRIND:-}
export FG_BUILDDIR FG_SRCDIR

# ---------------------------------------------------------------- TAP
fg_n=0
fg_failed=0
fg_pids=""

# fg_pass DESC / fg_fail DESC [DIAG...]: one test point each.
fg_pass() {
	fg_n=$((fg_n + 1))
	echo "ok $fg_n - $1"
}

fg_fail() {
	fg_n=$((fg_n + 1))
	fg_failed=$((fg_failed + 1))
	echo "not ok $fg_n - $1"
	shift
	for fg_line in "$@"; do
		printf '%s\n' "$fg_line" | sed 's/^/# /'
	done
}

# fg_ok DESC CMD...: passes when CMD exits 0.
fg_ok() {
	fg_desc=$1
	shift
	if "$@"; then fg_pass "$fg_desc"; else fg_fail "$fg_desc" "command failed: $*"; fi
}

# fg_done: the trailing plan; call last. A test that dies before it is
# counted as an error by the TAP driver.
fg_done() {
	echo "1..$fg_n"
	exit 0
}

# fg_bail MSG: setup failed, nothing after this can mean anything.
fg_bail() {
	echo "Bail out! $*"
	exit 1
}

# fg_skip_all REASON: the whole script cannot run here. Under CI=true a
# missing part is a failure, never a skip.
fg_skip_all() {
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $* (a failure under CI=true)"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}

# ---------------------------------------------------------------- temp dir
FG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fg-itest.XXXXXX") || fg_bail "mktemp failed"
FG_TMP=$(cd "$FG_TMP" && pwd -P)

fg_cleanup() {
	for fg_pid in $fg_pids; do
		kill "$fg_pid" 2>/dev/null
	done
	for fg_pid in $fg_pids; do
		wait "$fg_pid" 2>/dev/null
	done
	fg_pids=""
	rm -rf "$FG_TMP"
}
trap 'fg_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# fg_track_pid PID: killed (and waited for) when the test exits.
fg_track_pid() {
	fg_pids="$fg_pids $1"
}

# ---------------------------------------------------------------- git env
# Git must see nothing of the user running the tests, and every commit
# must be reproducible.
HOME=$FG_TMP/home
XDG_CONFIG_HOME=$HOME/.config
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=$HOME/.gitconfig
GIT_AUTHOR_NAME="Fleet Dev"
GIT_AUTHOR_EMAIL="dev@fleet.example"
GIT_COMMITTER_NAME="Fleet Dev"
GIT_COMMITTER_EMAIL="dev@fleet.example"
GIT_TERMINAL_PROMPT=0
GIT_ASKPASS=/bin/false
SSH_ASKPASS=/bin/false
LC_ALL=C
export HOME XDG_CONFIG_HOME GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL \
	GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME \
	GIT_COMMITTER_EMAIL GIT_TERMINAL_PROMPT GIT_ASKPASS SSH_ASKPASS LC_ALL
# Nothing of the environment the tests run in may name a pusher or a forge.
unset GITEA_PUSHER_NAME GL_USERNAME GITHUB_USER_LOGIN REMOTE_USER GL_USER \
	GL_ID GL_PROTOCOL GITEA_PR_ID GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR \
	GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
	GIT_QUARANTINE_PATH GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT
mkdir -p "$HOME" || fg_bail "cannot create $HOME"
cat >"$GIT_CONFIG_GLOBAL" <<'EOF'
[init]
	defaultBranch = main
[advice]
	detachedHead = false
	skippedCherryPicks = false
[merge]
	ff = true
[pull]
	rebase = false
[gc]
	auto = 0
[core]
	fsync = none
EOF

# Every commit gets its own timestamp: identical content made twice still
# yields two commits, and the ids are the same on every run.
fg_clock=1700000000
fg_tick() {
	fg_clock=$((fg_clock + 60))
	GIT_AUTHOR_DATE="@$fg_clock +0000"
	GIT_COMMITTER_DATE="@$fg_clock +0000"
	export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
}
fg_tick

# ---------------------------------------------------------------- server
# The shipped promotion policy the tests run against. Copied with cat, not
# cp: the copy must be a new file of the test's own (distcheck's source tree
# is read-only, and tests append to or chmod their copy).
fg_policy_default() {
	cat "$FG_SRCDIR/policies/policy.yaml" >"$1"
}

# fg_bare NAME [sha1|sha256]: creates $FG_TMP/srv/NAME.git, prints its path.
fg_bare() {
	fg_repo=$FG_TMP/srv/$1.git
	mkdir -p "$FG_TMP/srv"
	git init -q --bare --object-format="${2:-sha1}" "$fg_repo" ||
		fg_bail "git init --bare $fg_repo failed"
	git -C "$fg_repo" config receive.advertisePushOptions true
	printf '%s\n' "$fg_repo"
}

# fg_install REPO POLICY [LAYOUT]: installs the hooks with the CLI and, in
# the valgrind pass, makes the installed scripts run the hooks through it.
fg_install() {
	fg_out=$FG_TMP/install.out
	if ! $FG_VALGRIND "$FG_BUILDDIR/fleetgate" install --repo "$1" \
		--policy "$2" ${3:+--layout "$3"} >"$fg_out" 2>&1; then
		sed 's/^/# /' "$fg_out"
		return 1
	fi
	fg_valgrindify "$1"
}

# fg_valgrindify REPO: rewrites `exec '` to `exec $FG_VALGRIND '` in every
# script fleetgate installed (each ends in one `exec '<program>' ...` line);
# no-op without $FG_VALGRIND.
fg_valgrindify() {
	[ -n "$FG_VALGRIND" ] || return 0
	for fg_f in "$1"/hooks/pre-receive "$1"/hooks/post-receive \
		"$1"/hooks/pre-receive.d/fleetgate "$1"/hooks/post-receive.d/fleetgate \
		"$1"/custom_hooks/pre-receive.d/fleetgate \
		"$1"/custom_hooks/post-receive.d/fleetgate; do
		[ -f "$fg_f" ] || continue
		if ! sed "s|exec '|exec $FG_VALGRIND '|" "$fg_f" >"$fg_f.new" ||
			! chmod 755 "$fg_f.new" || ! mv "$fg_f.new" "$fg_f"; then
			return 1
		fi
	done
}

# fg_server_ref REPO REF: the ref's value on the server ("" if missing).
fg_server_ref() {
	git -C "$1" rev-parse -q --verify "$2^{}" 2>/dev/null || true
}

# ---------------------------------------------------------------- work repo
# fg_work NAME URL [sha1|sha256]: a work repository with origin = URL,
# prints its path.
fg_work() {
	fg_w=$FG_TMP/work/$1
	mkdir -p "$FG_TMP/work"
	git init -q --object-format="${3:-sha1}" "$fg_w" || fg_bail "git init $fg_w failed"
	git -C "$fg_w" remote add origin "$2" || fg_bail "git remote add failed"
	# the gate checks the fleet files of every pushed branch: start from a
	# valid fleet.yaml, staged so the first fg_commit carries it
	printf 'version: 1\ndefault_branch: production\n' >"$fg_w/fleet.yaml"
	git -C "$fg_w" add fleet.yaml || fg_bail "git add fleet.yaml failed"
	printf '%s\n' "$fg_w"
}

# fg_commit WORK FILE CONTENT [MESSAGE]: writes FILE and commits it.
fg_commit() {
	fg_tick
	mkdir -p "$(dirname "$1/$2")"
	printf '%s\n' "$3" >"$1/$2"
	if ! git -C "$1" add -- "$2" ||
		! git -C "$1" commit -q -m "${4:-change $2}" >/dev/null; then
		fg_bail "commit of $2 in $1 failed"
	fi
}

# fg_checkout WORK BRANCH [START]: switches to BRANCH, (re)set to START
# (default: origin/BRANCH).
fg_checkout() {
	git -C "$1" checkout -q -B "$2" "${3:-origin/$2}" ||
		fg_bail "checkout $2 ${3:-origin/$2} failed in $1"
}

# fg_merge WORK ARGS...: git merge with a fresh timestamp.
fg_merge() {
	fg_w=$1
	shift
	fg_tick
	git -C "$fg_w" merge -q "$@" >/dev/null 2>&1 || fg_bail "git merge $* failed in $fg_w"
}

# fg_fetch WORK: brings origin/* up to date, dropping deleted branches.
fg_fetch() {
	git -C "$1" fetch -q --prune origin || fg_bail "fetch in $1 failed"
}

# fg_rev WORK REV: the full object id.
fg_rev() {
	git -C "$1" rev-parse --verify -q "$2" || echo "missing:$2"
}

# ---------------------------------------------------------------- pushing
# fg_push WORK GIT-PUSH-ARGS...: pushes to origin. Output (stdout+stderr)
# is in $FG_OUT (file), the exit status in $FG_RC.
# fg_push_env "VAR=value ..." WORK ARGS...: the same with extra environment
# for the git process (over file:// the hook inherits it, as it would
# inherit a forge's). The assignments are split on blanks: no spaces in
# values.
FG_OUT=$FG_TMP/push.out
fg_push() {
	fg_push_env "" "$@"
}

fg_push_env() {
	fg_env=$1
	fg_w=$2
	shift 2
	# shellcheck disable=SC2086
	env $fg_env git -C "$fg_w" push --porcelain origin "$@" >"$FG_OUT" 2>&1
	FG_RC=$?
	return 0
}

# fg_output: prints the last push's output as TAP diagnostics.
fg_output() {
	sed 's/^/#   /' "$FG_OUT"
}

# fg_out_has STR: the last push's output contains STR (fixed string).
fg_out_has() {
	grep -qF -- "$1" "$FG_OUT"
}

# fg_out_has_re ERE: the last push's output matches ERE.
fg_out_has_re() {
	grep -qE -- "$1" "$FG_OUT"
}

# fg_accepted DESC: the last push succeeded and fleetgate rejected nothing.
fg_accepted() {
	if [ "$FG_RC" -eq 0 ] && ! fg_out_has "fleetgate: rejected"; then
		fg_pass "$1"
	else
		fg_fail "$1" "push exit status $FG_RC, expected 0; output:" "$(cat "$FG_OUT")"
	fi
}

# fg_rejected DESC REF RULE [RULE...]: the last push failed, git reports
# the hook declined REF, and fleetgate's line for REF names one of RULEs
# ("fleetgate: rejected REF ID: RULE: why; hint: what to do", the format
# docs/policy.md shows users).
fg_rejected() {
	fg_desc=$1
	fg_ref=$2
	shift 2
	fg_rules=$(printf '%s|' "$@")
	fg_rules=${fg_rules%|}
	fg_short=${fg_ref#refs/heads/}
	fg_short=${fg_short#refs/tags/}
	if [ "$FG_RC" -eq 0 ]; then
		fg_fail "$fg_desc" "push was accepted; output:" "$(cat "$FG_OUT")"
	elif ! fg_out_has_re "^remote: (GL-HOOK-ERR: )?fleetgate: rejected $fg_ref( \(-> refs/heads/[^)]+\))? [0-9a-f]{7,64}: ($fg_rules): .+; hint: .+"; then
		fg_fail "$fg_desc" "no 'fleetgate: rejected $fg_ref <id>: ($fg_rules): ...; hint: ...' line; output:" "$(cat "$FG_OUT")"
	elif ! fg_out_has_re "^!	[^	]*:$fg_ref	\\[remote rejected\\]"; then
		fg_fail "$fg_desc" "git does not report $fg_ref as rejected by the remote; output:" "$(cat "$FG_OUT")"
	else
		fg_pass "$fg_desc"
	fi
}

# fg_summary_is N M DESC: the last line names N of M refs.
fg_summary_is() {
	if fg_out_has_re "^remote: (GL-HOOK-ERR: )?fleetgate: push rejected: $1 of $2 refs break the rules"; then
		fg_pass "$3"
	else
		fg_fail "$3" "no 'push rejected: $1 of $2 refs' line; output:" "$(cat "$FG_OUT")"
	fi
}

# fg_count_rejected: how many refs fleetgate rejected in the last push.
fg_count_rejected() {
	grep -cE '^remote: (GL-HOOK-ERR: )?fleetgate: rejected ' "$FG_OUT"
}

# fg_ref_is REPO REF EXPECTED DESC: the server's REF (peeled) is EXPECTED
# ("" = must not exist).
fg_ref_is() {
	fg_have=$(fg_server_ref "$1" "$2")
	if [ "$fg_have" = "$3" ]; then
		fg_pass "$4"
	else
		fg_fail "$4" "$2 on the server is '${fg_have}', expected '${3}'"
	fi
}

# fg_has DESC STR: the last push's output contains STR.
fg_has() {
	if fg_out_has "$2"; then
		fg_pass "$1"
	else
		fg_fail "$1" "output lacks '$2':" "$(cat "$FG_OUT")"
	fi
}

# fg_hasnt DESC STR: the last push's output does not contain STR.
fg_hasnt() {
	if fg_out_has "$2"; then
		fg_fail "$1" "output unexpectedly contains '$2':" "$(cat "$FG_OUT")"
	else
		fg_pass "$1"
	fi
}

# ---------------------------------------------------------------- fixtures
# fg_require_build: bails out unless the build has the CLI and the hook.
fg_require_build() {
	[ -x "$FG_BUILDDIR/fleetgate" ] || fg_bail "no $FG_BUILDDIR/fleetgate; build first"
	[ -x "$FG_BUILDDIR/fleetgate-pre-receive" ] ||
		fg_bail "no $FG_BUILDDIR/fleetgate-pre-receive; build first"
}

# ---------------------------------------------------------------- http
# fg_free_port: a TCP port on 127.0.0.1 that was free a moment ago.
fg_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# fg_wait_port PORT SECONDS: polls until something accepts on the port.
fg_wait_port() {
	python3 -c 'import socket, sys, time
port, limit = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < limit:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$1" "$2"
}

# fg_http_start ROOT USERFILE: serves every repository under ROOT with
# git http-backend behind lighttpd, basic auth from USERFILE (lines
# "user:password"), on 127.0.0.1. Sets FG_HTTP_PORT. REMOTE_USER is the
# authenticated user; git-receive-pack sets the quarantine variables for
# the hook itself.
fg_http_start() {
	command -v lighttpd >/dev/null 2>&1 || return 2
	fg_backend=$(git --exec-path)/git-http-backend
	[ -x "$fg_backend" ] || return 2
	fg_moddir=${FG_LIGHTTPD_MODULES:-/usr/lib/lighttpd}
	fg_conf=$FG_TMP/lighttpd.conf
	mkdir -p "$FG_TMP/www" "$FG_TMP/http-tmp"
	fg_tries=0
	while [ $fg_tries -lt 5 ]; do
		fg_tries=$((fg_tries + 1))
		FG_HTTP_PORT=$(fg_free_port) || return 1
		# The CGI environment is built by lighttpd, not inherited: pass on
		# what the hooks (and valgrind/sanitizer logs) need.
		cat >"$fg_conf" <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi" )
server.module-directory = "$fg_moddir"
server.document-root = "$FG_TMP/www"
server.bind = "127.0.0.1"
server.port = $FG_HTTP_PORT
server.errorlog = "$FG_TMP/lighttpd.err"
server.pid-file = "$FG_TMP/lighttpd.pid"
server.upload-dirs = ( "$FG_TMP/http-tmp" )
server.max-request-size = 0
server.stream-request-body = 2
alias.url = ( "/git" => "$fg_backend" )
\$HTTP["url"] =~ "^/git" {
	cgi.assign = ( "" => "" )
	setenv.add-environment = (
		"GIT_PROJECT_ROOT" => "$1",
		"GIT_HTTP_EXPORT_ALL" => "1",
		"PATH" => "$PATH",
		"HOME" => "$HOME",
		"GIT_CONFIG_NOSYSTEM" => "1",
		"GIT_CONFIG_GLOBAL" => "$GIT_CONFIG_GLOBAL",
		"LC_ALL" => "C",
		"FG_VALGRIND_LOG" => "${FG_VALGRIND_LOG:-}",
		"ASAN_OPTIONS" => "${ASAN_OPTIONS:-}",
		"UBSAN_OPTIONS" => "${UBSAN_OPTIONS:-}"
	)
	auth.backend = "plain"
	auth.backend.plain.userfile = "$2"
	auth.require = ( "" => ( "method" => "basic", "realm" => "fleet", "require" => "valid-user" ) )
}
EOF
		lighttpd -D -f "$fg_conf" >"$FG_TMP/lighttpd.out" 2>&1 &
		fg_http_pid=$!
		fg_track_pid $fg_http_pid
		if fg_wait_port "$FG_HTTP_PORT" 10; then
			return 0
		fi
		# Lost the port to someone else, or lighttpd refused the config.
		kill $fg_http_pid 2>/dev/null
		wait $fg_http_pid 2>/dev/null
		sed 's/^/# lighttpd: /' "$FG_TMP/lighttpd.out" "$FG_TMP/lighttpd.err" 2>/dev/null
	done
	return 1
}

# ---------------------------------------------------------------- flows
# fg_bootstrap WORK PUSHER: with the hooks already installed, creates
# develop, then main, canary and production at that commit, one push each
# in promotion order (a branch is created from what its source was before
# the push). One test point per push.
fg_bootstrap() {
	fg_commit "$1" app/config.txt "version 1" "initial fleet setup"
	git -C "$1" branch -q -M develop
	fg_push "$1" develop
	fg_accepted "bootstrap: develop created (unprotected)"
	fg_push "$1" develop:refs/heads/main
	fg_accepted "bootstrap: main created at a commit of develop"
	fg_push "$1" develop:refs/heads/canary
	fg_accepted "bootstrap: canary created at a commit of main"
	fg_push_env "REMOTE_USER=$2" "$1" develop:refs/heads/production
	fg_accepted "bootstrap: production created at a commit of canary by $2"
	fg_fetch "$1"
}

# fg_feature_into_main WORK NAME: a feature branch off main with one commit,
# pushed (the merge's other parent must be on the server before the
# promotion), then merged into main with --no-ff, so the merge's tree is the
# feature's tree. Leaves main checked out; does not push main.
fg_feature_into_main() {
	fg_checkout "$1" "feature/$2" origin/main
	fg_commit "$1" "app/$2.txt" "feature $2" "feature $2"
	fg_push "$1" "feature/$2"
	[ "$FG_RC" -eq 0 ] || { fg_output; fg_bail "push of feature/$2 failed"; }
	fg_checkout "$1" main
	fg_merge "$1" --no-ff -m "Merge feature/$2" "feature/$2"
}

# fg_main_into_canary WORK: checks out canary and merges main with --no-ff.
fg_main_into_canary() {
	fg_checkout "$1" canary
	fg_merge "$1" --no-ff -m "Promote main to canary" origin/main
}

# ---------------------------------------------------------------- transports
# One story, any transport and hash: the scripts set FG_TRANSPORT and
# FG_HASH, fg_serve creates the server and fg_as / fg_send push to it.
FG_TRANSPORT=${FG_TRANSPORT:-file}
FG_HASH=${FG_HASH:-sha1}
case $FG_TRANSPORT in file | http) ;; *) fg_bail "FG_TRANSPORT=$FG_TRANSPORT: use file or http" ;; esac
case $FG_HASH in sha1 | sha256) ;; *) fg_bail "FG_HASH=$FG_HASH: use sha1 or sha256" ;; esac
FG_PUSHER=""

# fg_hexlen: how many hex digits an object id has under $FG_HASH.
fg_hexlen() {
	if [ "$FG_HASH" = sha256 ]; then echo 64; else echo 40; fi
}

# fg_serve NAME POLICY USER...: the bare $FG_HASH repository NAME with the
# hooks installed, reachable over $FG_TRANSPORT; prints its path. Over http
# the USERs (password USER-pw) are the only accounts of the web server.
# Call it in the script itself, not in $(...): the web server must belong
# to the test's own shell.
fg_serve() {
	fg_name=$1
	fg_pol=$2
	shift 2
	FG_SRV=$(fg_bare "$fg_name" "$FG_HASH")
	[ -d "$FG_SRV" ] || fg_bail "no bare repository"
	fg_install "$FG_SRV" "$fg_pol" || fg_bail "fleetgate install failed"
	FG_SRV_NAME=$fg_name
	[ "$FG_TRANSPORT" = http ] || return 0
	command -v lighttpd >/dev/null 2>&1 ||
		fg_bail "lighttpd is not installed (scripts/deps)"
	git -C "$FG_SRV" config http.receivepack true
	fg_users=$FG_TMP/htusers
	: >"$fg_users"
	for fg_u in "$@"; do
		printf '%s:%s-pw\n' "$fg_u" "$fg_u" >>"$fg_users"
	done
	chmod 600 "$fg_users"
	fg_http_start "$FG_TMP/srv" "$fg_users" || fg_bail "lighttpd did not start"
}

# fg_url USER [PASSWORD]: the URL of the fg_serve repository as USER
# (http; ignored over file://).
fg_url() {
	if [ "$FG_TRANSPORT" = file ]; then
		echo "file://$FG_SRV"
	else
		echo "http://$1:${2:-$1-pw}@127.0.0.1:$FG_HTTP_PORT/git/$FG_SRV_NAME.git"
	fi
}

# fg_as USER: the pusher of the following fg_send pushes. Over file:// the
# hook is given USER through REMOTE_USER in the push's environment (as a
# forge would set it); "" is a push with no known pusher. Over http USER's
# credentials are in origin's URL: the web server authenticates them and
# sets REMOTE_USER, the client never does.
fg_as() {
	if [ -z "$1" ] && [ "$FG_TRANSPORT" = http ]; then
		fg_bail "fg_as: over http every push has an authenticated pusher"
	fi
	FG_PUSHER=$1
}

# fg_send [VAR=value...] WORK GIT-PUSH-ARGS...: fg_push as the fg_as
# pusher. The VARs are the git client's environment only: over file:// the
# hook inherits them after REMOTE_USER (so they win), over http they never
# reach the server.
fg_send() {
	fg_senv=""
	while :; do
		case $1 in
		[A-Z_]*=*) fg_senv="$fg_senv $1" ;;
		*) break ;;
		esac
		shift
	done
	if [ "$FG_TRANSPORT" = http ]; then
		git -C "$1" remote set-url origin "$(fg_url "$FG_PUSHER")" ||
			fg_bail "git remote set-url failed"
	elif [ -n "$FG_PUSHER" ]; then
		fg_senv="REMOTE_USER=$FG_PUSHER$fg_senv"
	fi
	fg_push_env "$fg_senv" "$@"
}
