# Shared harness for tests that talk to the Mender test double, directly or
# through Stoplight Prism (sourced by tests/contract/*.sh and later by the
# Mender client's integration tests).  POSIX sh.
#
#   md_setup                    temp dir $MD_TMP, cleanup trap (EXIT/INT/TERM)
#   md_start_double SEED [ARGS] start the double, sets $MD_PORT, $MD_URL
#   md_find_spec                sets $MD_SPEC (or returns 1 with a message)
#   md_find_prism               sets $MD_PRISM (or returns 1)
#   md_start_prism              prism proxy --errors in front of the double,
#                               sets $MD_PRISM_URL, log in $MD_TMP/prism.log
#   md_ctl METHOD PATH [BODY]   call the double's /_double/ control API
#   md_prism_sync AUTHFILE      wait until prism has logged all earlier traffic
#
# Every wait is bounded; every process started here is killed on exit by pid.
# shellcheck disable=SC2034 # MD_* variables are used by the sourcing test.

MD_PIDS=""

md_setup() {
	MD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fg-mender.XXXXXX") || exit 1
	trap 'md_cleanup' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

md_cleanup() {
	for p in $MD_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $MD_PIDS; do
		# Bounded wait, then force.
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	MD_PIDS=""
	[ -n "${MD_TMP:-}" ] && rm -rf "$MD_TMP"
}

md_srcdir() {
	if [ -n "${FG_SRCDIR:-}" ]; then
		printf '%s\n' "$FG_SRCDIR"
	else
		(cd "$(dirname "$0")/../.." && pwd)
	fi
}

# md_start_double SEED [extra args...]
md_start_double() {
	seed=$1
	shift
	rm -f "$MD_TMP/double.port"
	python3 "$(md_srcdir)/tests/mender/mender_double.py" --seed "$seed" \
		--port-file "$MD_TMP/double.port" --log "$MD_TMP/double.log" \
		"$@" 2>"$MD_TMP/double.err" &
	MD_PIDS="$MD_PIDS $!"
	md_double_pid=$!
	i=0
	while [ ! -s "$MD_TMP/double.port" ]; do
		if ! kill -0 "$md_double_pid" 2>/dev/null || [ $i -ge 300 ]; then
			echo "# mender double did not start:" >&2
			sed 's/^/#   /' "$MD_TMP/double.err" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	MD_PORT=$(cat "$MD_TMP/double.port")
	MD_URL="http://127.0.0.1:$MD_PORT"
}

# The spec is vendored in the repository (tests/contract/mender-api, with its
# license and upstream commit); FG_MENDER_SPEC may point at another copy.
md_find_spec() {
	src=$(md_srcdir)
	for cand in "${FG_MENDER_SPEC:-}" "$src/tests/contract/mender-api/openapi.yaml"; do
		if [ -n "$cand" ] && [ -f "$cand" ]; then
			MD_SPEC=$cand
			return 0
		fi
	done
	echo "# Mender API spec not found: expected $src/tests/contract/mender-api/openapi.yaml (or set FG_MENDER_SPEC)" >&2
	return 1
}

md_find_prism() {
	src=$(md_srcdir)
	for cand in "${FG_PRISM:-}" "$src/tests/contract/node_modules/.bin/prism"; do
		if [ -n "$cand" ] && [ -x "$cand" ]; then
			MD_PRISM=$cand
			return 0
		fi
	done
	return 1
}

md_start_prism() {
	# Port 0: prism picks a free port and logs it, so nothing races for one.
	# The log exists before the poll reads it (the child opens it later).
	: >"$MD_TMP/prism.log"
	"$MD_PRISM" proxy --errors --host 127.0.0.1 --port 0 "$MD_SPEC" "$MD_URL" \
		>"$MD_TMP/prism.log" 2>&1 &
	MD_PIDS="$MD_PIDS $!"
	md_prism_pid=$!
	i=0
	while :; do
		pport=$(sed -n 's/.*Prism is listening on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
			"$MD_TMP/prism.log" | head -n 1)
		[ -n "$pport" ] && break
		if ! kill -0 "$md_prism_pid" 2>/dev/null || [ $i -ge 1200 ]; then
			echo "# prism did not start:" >&2
			tail -n 20 "$MD_TMP/prism.log" | sed 's/^/#   /' >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	MD_PRISM_URL="http://127.0.0.1:$pport"
}

# md_ctl METHOD PATH [BODY]: control API of the double; body on stdout.
md_ctl() {
	if [ $# -ge 3 ]; then
		curl -sS --max-time 20 -X "$1" -H 'Content-Type: application/json' \
			--data-binary "$3" "$MD_URL$2"
	else
		curl -sS --max-time 20 -X "$1" "$MD_URL$2"
	fi
}

# md_prism_sync AUTH-HEADER-FILE: prism logs asynchronously; send a marker
# request (a spec-valid 404) and wait, bounded, until its answer is logged,
# so every earlier line is in $MD_TMP/prism.log.
md_prism_sync() {
	md_sync_n=$(( ${md_sync_n:-0} + 1 ))
	mark="fg-sync-$md_sync_n-$$"
	curl -sS --max-time 30 -o /dev/null -H "@$1" \
		"$MD_PRISM_URL/api/management/v1/deployments/deployments/$mark" || return 1
	i=0
	while ! grep "$mark" "$MD_TMP/prism.log" | grep -q 'has returned 404'; do
		[ $i -ge 200 ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
	# The answer line precedes prism's validation lines for that request.
	sleep 0.2
}
