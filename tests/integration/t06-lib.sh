# Helpers of the rollout end-to-end tests (t06*), sourced after lib.sh.
#
# Owns: the Mender test double (started on a port that survives a restart),
# its control API, a server policy pointing at it, and polling of the
# rollout queue. Every wait is bounded; nothing sleeps longer than needed.
# Never: talks to anything but 127.0.0.1, or leaves a process behind (every
# process is tracked by lib.sh's cleanup).

FG06_DOUBLE=$FG_SRCDIR/tests/mender/mender_double.py
FG06_TOKEN_FILE=$FG_TMP/etc/mender.token
FG06_LOG=$FG_TMP/log/fleetgate.log
FG06_TOKEN=t06-personal-access-token-0123456789
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
mkdir -p "$FG_TMP/etc/secrets" "$FG_TMP/log" || fg_bail "mkdir failed"
chmod 700 "$FG_TMP/etc/secrets"
printf '%s\n' "$FG06_TOKEN" >"$FG06_TOKEN_FILE"
chmod 600 "$FG06_TOKEN_FILE"

# The double binds port 0; this wrapper binds the port we name instead, so
# "Mender comes back" means the very same URL (SO_REUSEADDR is on).
cat >"$FG_TMP/double-fixed-port.py" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["FG06_DOUBLE"]))
import mender_double as m
base = m.ThreadingHTTPServer
class Fixed(base):
    def __init__(self, addr, handler):
        base.__init__(self, (addr[0], int(os.environ["FG06_PORT"])), handler)
m.ThreadingHTTPServer = Fixed
sys.exit(m.main(sys.argv[1:]))
EOF

# The control API of the double, and a few views of its state.
cat >"$FG_TMP/dbl.py" <<'EOF'
import json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
cmd = sys.argv[2]
def call(method, path, body=None):
    data = None if body is None else body.encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    return json.loads(text) if text else None
if cmd in ("get", "post", "put"):
    out = call(cmd.upper(), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else
               ("{}" if cmd != "get" else None))
    if out is not None:
        print(json.dumps(out, indent=1))
elif cmd == "deployments":
    # one line per OS deployment: artifact <TAB> sorted device ids <TAB> name
    st = call("GET", "/_double/state")
    for d in st["deployments"]:
        if d.get("type", "software") != "software":
            continue
        print("%s\t%s\t%s" % (d["artifact_name"], ",".join(sorted(d["devices"])),
                              d["name"]))
elif cmd == "config-deployments":
    st = call("GET", "/_double/state")
    print(sum(1 for d in st["deployments"] if d.get("type") == "configuration"))
elif cmd == "requests":
    for r in call("GET", "/_double/requests"):
        print("%s %s %s" % (r["method"], r["path"], r["status"]))
EOF

# fg06_dbl ARGS...: the control API (get PATH | post PATH JSON | put PATH
# JSON | deployments | config-deployments | requests).
fg06_dbl() {
	python3 "$FG_TMP/dbl.py" "$FG06_PORT" "$@"
}

# fg06_double_start SEED: starts the double on $FG06_PORT (picked on the
# first start, kept for restarts). Sets FG06_PID, FG06_URL.
fg06_double_start() {
	[ -n "${FG06_PORT:-}" ] || FG06_PORT=$(fg_free_port) || return 1
	FG06_URL=http://127.0.0.1:$FG06_PORT
	export FG06_DOUBLE FG06_PORT
	rm -f "$FG_TMP/double.port"
	python3 "$FG_TMP/double-fixed-port.py" --seed "$1" --port-file "$FG_TMP/double.port" \
		--token-file "$FG06_TOKEN_FILE" >>"$FG_TMP/double.out" 2>&1 &
	FG06_PID=$!
	fg_track_pid "$FG06_PID"
	fg06_tries=0
	while [ ! -s "$FG_TMP/double.port" ]; do
		fg06_tries=$((fg06_tries + 1))
		if [ $fg06_tries -gt 200 ] || ! kill -0 "$FG06_PID" 2>/dev/null; then
			sed 's/^/# double: /' "$FG_TMP/double.out"
			return 1
		fi
		sleep 0.05
	done
}

# fg06_double_stop: stops the double (SIGTERM, then waits for it).
fg06_double_stop() {
	kill "$FG06_PID" 2>/dev/null
	wait "$FG06_PID" 2>/dev/null
	return 0
}

# fg06_policy FILE [EXTRA-YAML]: the shipped promotion rules plus Mender,
# secrets, the server log and who may skip a rollout.
fg06_policy() {
	fg_policy_default "$1"
	cat >>"$1" <<EOF
mender:
  url: $FG06_URL
  token_file: $FG06_TOKEN_FILE
  timeout_seconds: 5
secrets_dir: $FG_TMP/etc/secrets
log: { file: $FG06_LOG }
rollout: { skip_allowed: ["@sre"] }
EOF
	[ -z "${2:-}" ] || printf '%s\n' "$2" >>"$1"
	chmod 644 "$1"
}

# fg06_seed FILE DEVICE...: a seed of DEVICE specs "id:type:artifact:branch"
# (branch empty: no subscribed_branch tag).
fg06_seed() {
	fg06_f=$1
	shift
	python3 - "$fg06_f" "$FG06_TOKEN" "$@" <<'EOF'
import json, sys
devs = []
for spec in sys.argv[3:]:
    i, t, a, b = spec.split(":")
    devs.append({"id": i, "device_type": t, "artifact_name": a,
                 "attributes": {"name": "dev-" + i[:4]},
                 "tags": {"subscribed_branch": b} if b else {}})
json.dump({"devices": devs, "token": sys.argv[2]}, open(sys.argv[1], "w"), indent=1)
EOF
}

# fg06_require_engine: skips the whole script when this fleetgate has no
# rollout engine (`fleetgate rollout`), instead of failing on its absence.
fg06_require_engine() {
	if "$FG_BUILDDIR/fleetgate" rollout --help 2>&1 | grep -q "is not a command"; then
		fg_skip_all "this fleetgate has no rollout engine (fleetgate rollout)"
	fi
}

# fg06_fleet WORK PI4 PI3 [EXTRA]: writes fleet.yaml (default_branch
# production) with the Pi 4 and Pi 3 images and commits it.
fg06_fleet() {
	fg_commit "$1" fleet.yaml "version: 1
default_branch: production
os_images:
  raspberrypi4: $2
  raspberrypi3: $3${4:+
$4}" "fleet: pi4 $2, pi3 $3"
}

# fg06_jobs REPO: one line per job: "id state branch new attempts last_error".
fg06_jobs() {
	"$FG_BUILDDIR/fleetgate" queue --repo "$1" --format json 2>/dev/null |
		python3 -c 'import json, sys
for j in json.load(sys.stdin):
    print(j["id"], j["state"], j["branch"], j["new"], j["attempts"],
          (j.get("last_error") or "-").replace("\n", " "))'
}

# fg06_wait_idle REPO SECONDS: polls until no job is queued or running
# (a retry waiting for its backoff counts as queued). Fails on timeout.
fg06_wait_idle() {
	fg06_end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le "$fg06_end" ]; do
		fg06_list=$(fg06_jobs "$1")
		if ! printf '%s\n' "$fg06_list" | grep -qE '^[0-9]+ (queued|running) '; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# fg06_wait_state REPO ID STATE SECONDS: polls until job ID is in STATE.
fg06_wait_state() {
	fg06_end=$(($(date +%s) + $4))
	while [ "$(date +%s)" -le "$fg06_end" ]; do
		fg06_list=$(fg06_jobs "$1")
		if printf '%s\n' "$fg06_list" | grep -q "^$2 $3 "; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# fg06_wait_scheduled REPO ID SECONDS: polls until job ID scheduled its
# deployments: "following" (the worker follows them to their end) or "done"
# (there was nothing to follow).
fg06_wait_scheduled() {
	fg06_wait_state "$1" "$2" '\(following\|done\)' "$3"
}

# fg06_job_state REPO ID: the state of job ID ("" when there is none).
fg06_job_state() {
	fg06_jobs "$1" | awk -v id="$2" '$1 == id { print $2 }'
}

# fg06_held: how many calls the double holds now (a "hold" fault). curl, not
# python: loops call it often, and a loaded machine starts python slowly.
fg06_held() {
	curl -s "$FG06_URL/_double/held" | tr -cd '0-9'
}

# fg06_ctl PATH [JSON]: a POST to the control API, through curl.
fg06_ctl() {
	curl -s -o /dev/null -w '%{http_code}' -X POST ${2:+-d "$2"} "$FG06_URL$1" |
		grep -q '^2'
}

# fg06_wait_held_some SECONDS: polls until the double holds a call.
# SECONDS only bounds a hang; nothing is measured.
fg06_wait_held_some() {
	fg06_end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$fg06_end" ]; do
		[ "$(fg06_held)" -gt 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# fg06_wait_worker SPOOL SECONDS: polls until no worker holds the lock.
fg06_wait_worker() {
	fg06_end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le "$fg06_end" ]; do
		if [ ! -e "$1/worker.lock" ] || flock -n "$1/worker.lock" true; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# fg06_job_of BRANCH: the job id the last push's output names for BRANCH.
fg06_job_of() {
	sed -n "s/^remote: fleetgate: $1 [0-9a-f]* queued as job \\([0-9][0-9]*\\) .*/\\1/p" \
		"$FG_OUT" | tail -n 1
}

# fg06_log_has ERE: the server log has a line matching ERE.
fg06_log_has() {
	grep -qE -- "$1" "$FG06_LOG" 2>/dev/null
}

# fg06_logfmt VALUE: VALUE as the server log writes it (logfmt: quoted with
# \" and \\ escapes when it has a blank, a quote, '=' or a backslash).
fg06_logfmt() {
	python3 -c 'import re, sys
v = sys.argv[1]
if v and not re.search(r"[ \"=\\\n\t]", v):
    print(v)
else:
    print("\"" + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"")' "$1"
}

# fg06_log_clean DESC: the server log never contains the Mender token.
fg06_log_clean() {
	if [ -s "$FG06_LOG" ] && ! grep -qF -- "$FG06_TOKEN" "$FG06_LOG"; then
		fg_pass "$1"
	else
		fg_fail "$1" "log missing or it contains the token:" "$(cat "$FG06_LOG" 2>&1)"
	fi
}

# fg06_eq DESC EXPECTED ACTUAL: passes when both strings are equal.
fg06_eq() {
	if [ "$2" = "$3" ]; then
		fg_pass "$1"
	else
		fg_fail "$1" "expected:" "$2" "got:" "$3"
	fi
}

# Workers the hooks started are detached (their own session): lib.sh cannot
# know their ids. At exit, end those whose command line names this test's
# directory (nothing else can), before the directory goes.
# fg06_kill_workers [REPO]: the workers of REPO (default: of every
# repository of this test).
fg06_kill_workers() {
	for fg06_p in /proc/[0-9]*; do
		fg06_pid=${fg06_p#/proc/}
		[ "$fg06_pid" != "$$" ] || continue
		if { tr "\\0" " " <"$fg06_p/cmdline"; } 2>/dev/null |
			grep -qF -- "queue run --repo ${1:-$FG_TMP/}"; then
			kill -9 "$fg06_pid" 2>/dev/null
		fi
	done
	return 0
}
trap 'fg06_kill_workers ""; fg_cleanup' EXIT

# fg06_workers_gone REPO SECONDS: polls until no `queue run` of REPO runs
# (a detached worker may sleep for a retry's backoff).
fg06_workers_gone() {
	fg06_end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le "$fg06_end" ]; do
		fg06_any=""
		for fg06_p in /proc/[0-9]*; do
			if { tr "\\0" " " <"$fg06_p/cmdline"; } 2>/dev/null | grep -qF -- "queue run --repo $1 "; then
				fg06_any=yes
				break
			fi
		done
		[ -n "$fg06_any" ] || return 0
		sleep 0.2
	done
	return 1
}

# fg06_hold_lock SPOOL: holds the worker lock (as a busy worker would) until
# fg06_release_lock; the workers the hooks start find it taken and leave
# their jobs queued.
fg06_hold_lock() {
	mkdir -p "$1"
	rm -f "$FG_TMP/lock.held"
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(300)' "$1/worker.lock" "$FG_TMP/lock.held" &
	FG06_HOLDER=$!
	fg_track_pid "$FG06_HOLDER"
	fg06_tries=0
	while [ ! -e "$FG_TMP/lock.held" ]; do
		fg06_tries=$((fg06_tries + 1))
		[ $fg06_tries -lt 200 ] || return 1
		sleep 0.05
	done
}

# fg06_release_lock [REPO]: first waits until the workers the hooks started
# for REPO have seen the lock taken and left (under a sanitizer or valgrind
# one may still be starting), so none of them takes the queue afterwards.
fg06_release_lock() {
	[ -z "${1:-}" ] || fg06_workers_gone "$1" 30 || fg_bail "workers of $1 did not leave"
	kill "$FG06_HOLDER" 2>/dev/null
	wait "$FG06_HOLDER" 2>/dev/null
	return 0
}

# fg06_bootstrap WORK PI4 PI3: fleet.yaml on develop, then main, canary and
# production created from it, one push each (production by alice).
fg06_bootstrap() {
	fg06_fleet "$1" "$2" "$3"
	git -C "$1" branch -q -M develop
	fg_push "$1" develop
	fg_accepted "bootstrap: develop created"
	fg_push "$1" develop:refs/heads/main
	fg_accepted "bootstrap: main created"
	fg_push "$1" develop:refs/heads/canary
	fg_accepted "bootstrap: canary created"
	fg_push_env REMOTE_USER=alice "$1" develop:refs/heads/production
	fg_accepted "bootstrap: production created by alice"
	fg_fetch "$1"
}

# fg06_promote WORK PI4 PI3 BRANCH...: a new fleet.yaml on develop, then
# merged stage by stage up to each BRANCH in order (main, canary,
# production), one push each.
fg06_promote() {
	fg06_w=$1
	fg06_pi4=$2
	fg06_pi3=$3
	shift 3
	fg_checkout "$fg06_w" develop
	fg06_fleet "$fg06_w" "$fg06_pi4" "$fg06_pi3"
	fg_push "$fg06_w" develop
	[ "$FG_RC" -eq 0 ] || { fg_output; fg_bail "push of develop failed"; }
	fg06_src=develop
	for fg06_b in "$@"; do
		fg_fetch "$fg06_w"
		fg_checkout "$fg06_w" "$fg06_b"
		fg_merge "$fg06_w" --no-ff -m "Promote $fg06_src to $fg06_b" "origin/$fg06_src"
		fg_push_env REMOTE_USER=alice "$fg06_w" "$fg06_b"
		[ "$FG_RC" -eq 0 ] || { fg_output; fg_bail "push of $fg06_b failed"; }
		fg06_src=$fg06_b
	done
	fg_fetch "$fg06_w"
}

# fg06_hooks_clean DESC: the last push's output has no report of valgrind
# or a sanitizer (post-receive's exit status is ignored by git, so its
# memory errors show only there).
fg06_hooks_clean() {
	if grep -qE '==[0-9]+==|runtime error:|Sanitizer' "$FG_OUT"; then
		fg_fail "$1" "$(cat "$FG_OUT")"
	else
		fg_pass "$1"
	fi
}
