#!/bin/sh
# The worker follows every rollout to its end and keeps a record per branch
# and commit, which `fleetgate status` shows: to success, to the failure of
# one device, across a kill -9 of the worker while it follows, across
# supersession by a newer push of the branch, and to a timeout. No clock:
# devices move when the test drives the Mender double's progress call, and
# the worker polls when the test runs it (`queue run --now`).
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine

C1=0c0a0000-0000-4000-8000-000000000901 # pi4, canary
C2=0c0a0000-0000-4000-8000-000000000902 # pi4, canary
C3=0c0a0000-0000-4000-8000-000000000903 # pi3, canary (its image never changes)
M1=0c0a0000-0000-4000-8000-000000000904 # pi4, main
P1=0c0a0000-0000-4000-8000-000000000905 # pi4, production
fg06_seed "$FG_TMP/seed.json" "$C1:raspberrypi4:pi4-v1:canary" \
	"$C2:raspberrypi4:pi4-v1:canary" "$C3:raspberrypi3:pi3-v1:canary" \
	"$M1:raspberrypi4:pi4-v1:main" "$P1:raspberrypi4:pi4-v1:production"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"
FG=$FG_BUILDDIR/fleetgate

# poll: one drain of the queue with every following job polled now; a
# worker the last push started may hold the lock for a moment.
poll() {
	t0690_tries=0
	while :; do
		"$FG" queue run --repo "$srv" --now >"$FG_TMP/run.out" 2>&1
		cat "$FG_TMP/run.out" >>"$FG_TMP/runs.out"
		grep -q "another worker" "$FG_TMP/run.out" || return 0
		t0690_tries=$((t0690_tries + 1))
		[ $t0690_tries -lt 300 ] || return 1
		sleep 0.1
	done
}

# status BRANCH: `fleetgate status --format json` of BRANCH into
# $FG_TMP/status.json; $st is its exit status.
status() {
	"$FG" status --repo "$srv" "$1" --format json >"$FG_TMP/status.json" 2>"$FG_TMP/status.err"
	st=$?
}

# field EXPR: a Python expression over b (the branch's entry) and r (its
# rollout) of the last status.
field() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
b = j["branches"][0]
r = b["rollout"]
v = eval(sys.argv[2])
print(json.dumps(v) if not isinstance(v, str) else v)' "$FG_TMP/status.json" "$1"
}

# scheduled BRANCH: waits until the last push's job for BRANCH scheduled
# its deployments; sets $job.
scheduled() {
	job=$(fg06_job_of "$1")
	[ -n "$job" ] || { fg_output; fg_bail "no job line for $1"; }
	fg06_wait_scheduled "$srv" "$job" 60 || fg_bail "$1's job $job was not scheduled: $(fg06_jobs "$srv")"
}

# --- bootstrap: nothing changed for any device, and there is a record ---
status canary
fg06_eq "a rollout that changes nothing is recorded as succeeded, every device in sync" \
	"0 succeeded 3 3 0 0 0 []" \
	"$st $(field 'r["state"]') $(field 'r["devices"]["following"]') $(field 'r["devices"]["in_sync"]') $(field 'r["devices"]["succeeded"]') $(field 'r["devices"]["failed"]') $(field 'r["devices"]["pending"]') $(field 'r["deployments"]')"

# --- to success ---
fg06_promote "$w" pi4-v2 pi3-v1 main canary
scheduled canary
canary=$(fg_rev "$w" origin/canary)
tree=$(git -C "$w" rev-parse "origin/canary^{tree}")
fg06_eq "the job follows its deployments" following "$(fg06_job_state "$srv" "$job")"
status canary
fg06_eq "status exits 1 while the rollout is in progress" 1 "$st"
fg06_eq "status JSON: branch, tip, commit and tree" "canary $canary $canary $tree" \
	"$(field 'b["branch"]') $(field 'b["tip"]') $(field 'r["commit"]') $(field 'r["tree"]')"
fg06_eq "status JSON: in-progress, started, not finished" "in-progress true None" \
	"$(field 'r["state"]') $(field 'r["started"].endswith("Z")') $(field 'str(r["finished"])')"
fg06_eq "status JSON: 3 following, 1 in sync, 2 pending, none done" "3 1 0 0 2" \
	"$(field 'r["devices"]["following"]') $(field 'r["devices"]["in_sync"]') $(field 'r["devices"]["succeeded"]') $(field 'r["devices"]["failed"]') $(field 'r["devices"]["pending"]')"
dep=$(fg06_dbl get /_double/state | python3 -c 'import json, sys
print([d["id"] for d in json.load(sys.stdin)["deployments"]
       if d["artifact_name"] == "pi4-v2" and sys.argv[1] in d["devices"]][0])' "$C1")
fg06_eq "status JSON: the deployment followed is the canary one" "[\"$dep\"] []" \
	"$(field 'r["deployments"]') $(field 'r["failed_devices"]')"
poll || fg_bail "queue run failed: $(cat "$FG_TMP/run.out")"
status canary
fg06_eq "a poll before any device moved changes nothing" "in-progress 2" \
	"$(field 'r["state"]') $(field 'r["devices"]["pending"]')"
fg06_dbl post /_double/progress "{\"status\": \"success\", \"devices\": [\"$C1\"]}" >/dev/null
poll || fg_bail "queue run failed"
status canary
fg06_eq "one device installed: 1 succeeded, 1 pending" "in-progress 1 1" \
	"$(field 'r["state"]') $(field 'r["devices"]["succeeded"]') $(field 'r["devices"]["pending"]')"
fg06_dbl post /_double/reset-requests >/dev/null
fg06_dbl post /_double/progress "{\"status\": \"success\", \"devices\": [\"$C2\"]}" >/dev/null
poll || fg_bail "queue run failed"
status canary
fg06_eq "every device installed: succeeded, status exits 0" "0 succeeded 1 2 0 0 true" \
	"$st $(field 'r["state"]') $(field 'r["devices"]["in_sync"]') $(field 'r["devices"]["succeeded"]') $(field 'r["devices"]["failed"]') $(field 'r["devices"]["pending"]') $(field 'r["finished"].endswith("Z")')"
fg06_eq "the job is done" done "$(fg06_job_state "$srv" "$job")"
fg06_eq "a poll asks the statistics, never a device list when nothing failed" "" \
	"$(fg06_dbl requests | grep -v '/statistics 200$' | grep '/deployments/deployments/')"

# --- the note, seen from a clone with git alone ---
clone=$FG_TMP/clone
git clone -q "file://$srv" "$clone" || fg_bail "clone failed"
git -C "$clone" fetch -q origin refs/notes/fleetgate:refs/notes/fleetgate ||
	fg_bail "fetching the notes failed"
note=$(git -C "$clone" log -1 --format=%N --notes=fleetgate "$canary")
case $note in
"rollout canary: succeeded, 3/3 devices (2 updated, 1 already there), "*" UTC")
	fg_pass "a clone sees the rollout's note on the commit ($note)" ;;
*) fg_fail "a clone sees the rollout's note on the commit" "note: $note" ;;
esac
fg06_eq "the note is the commit's only line in the notes (one per commit and branch)" 1 \
	"$(git -C "$clone" log -1 --format=%N --notes=fleetgate "$canary" | grep -c .)"

# A developer (push rights on develop only) forges a success note, and a
# ref below the notes ref that would keep the worker from writing it.
git -C "$clone" config user.email dev@example.com
git -C "$clone" config user.name dev
git -C "$clone" notes --ref=forged add -m "rollout canary: succeeded, 3/3 devices" origin/develop
git -C "$clone" remote set-url origin "file://$srv"
fg_push "$clone" "+refs/notes/forged:refs/notes/fleetgate"
fg_rejected "a push to refs/notes/fleetgate is rejected" refs/notes/fleetgate notes-ref
fg_push "$clone" "refs/notes/forged:refs/notes/fleetgate/x"
fg_rejected "a push below refs/notes/fleetgate is rejected" refs/notes/fleetgate/x notes-ref
fg06_eq "the server's notes ref is the worker's" "$(git -C "$srv" rev-parse refs/notes/fleetgate)" \
	"$(git -C "$clone" rev-parse refs/notes/fleetgate)"

# --- to the failure of one device ---
fg06_promote "$w" pi4-v3 pi3-v1 main canary
scheduled canary
fg06_dbl post /_double/reset-requests >/dev/null
fg06_dbl post /_double/progress "{\"status\": \"success\", \"devices\": [\"$C1\"]}" >/dev/null
fg06_dbl post /_double/progress "{\"status\": \"failure\", \"devices\": [\"$C2\"]}" >/dev/null
poll || fg_bail "queue run failed"
status canary
fg06_eq "one device failed: failed, its id listed, status exits 1" \
	"1 failed 1 1 0 [\"$C2\"]" \
	"$st $(field 'r["state"]') $(field 'r["devices"]["succeeded"]') $(field 'r["devices"]["failed"]') $(field 'r["devices"]["pending"]') $(field 'r["failed_devices"]')"
fg06_eq "the failed device comes from one list, of the failed ones" "1 1" \
	"$(fg06_dbl get /_double/requests | python3 -c 'import json, sys
lists = [r for r in json.load(sys.stdin) if r["path"].endswith("/devices/list")]
print(len(lists), sum(1 for r in lists if "failure" in json.dumps(r.get("query"))))')"
"$FG" status --repo "$srv" canary >"$FG_TMP/status.txt" 2>&1
fg_ok "status text names the failed device" grep -q "failed: $C2" "$FG_TMP/status.txt"

# --devices (last): one row per device, from a dry-run plan of the
# rolled-out commit, with the record's outcome.
"$FG" status --repo "$srv" canary --format json --devices >"$FG_TMP/status.json" 2>"$FG_TMP/status.err"
fg06_eq "status --devices: name, current and desired OS, configuration, outcome per device" \
	"dev-0c0a $C1 pi4-v3 pi4-v3 in-sync in-sync
dev-0c0a $C2 pi4-v2 pi4-v3 in-sync failed
dev-0c0a $C3 pi3-v1 pi3-v1 in-sync in-sync" "$(python3 -c 'import json, sys
for d in sorted(json.load(open(sys.argv[1]))["branches"][0]["devices"], key=lambda d: d["id"]):
    print(d["name"], d["id"], d["current_os"], d["desired_os"], d["configuration"], d["outcome"])' "$FG_TMP/status.json" 2>&1; cat "$FG_TMP/status.err")"

# --- across a kill -9 of the worker while it follows ---
fg06_promote "$w" pi4-v4 pi3-v1 main canary
scheduled canary
fg06_ctl /_double/faults '{"match": "^GET .*/statistics$", "count": 1, "hold": true}' ||
	fg_bail "fault injection failed"
"$FG" queue run --repo "$srv" --now >/dev/null 2>&1 &
victim=$!
fg_track_pid "$victim"
fg06_wait_held_some 60 || fg_bail "the worker never asked the statistics"
kill -9 "$victim"
wait "$victim" 2>/dev/null
fg06_ctl /_double/faults/clear
fg06_ctl /_double/release
fg06_eq "the killed worker's job still follows" following "$(fg06_job_state "$srv" "$job")"
fg06_dbl post /_double/progress '{"status": "success"}' >/dev/null
poll || fg_bail "queue run failed"
status canary
fg06_eq "the next worker resumes from the record: succeeded" "0 succeeded 2" \
	"$st $(field 'r["state"]') $(field 'r["devices"]["succeeded"]')"

# --- across supersession ---
fg06_promote "$w" pi4-v5 pi3-v1 main canary
scheduled canary
old_job=$job
old=$(fg_rev "$w" origin/canary)
fg06_promote "$w" pi4-v6 pi3-v1 main canary
scheduled canary
new=$(fg_rev "$w" origin/canary)
poll || fg_bail "queue run failed"
fg06_eq "the older job is superseded, the newer one follows" "superseded following" \
	"$(fg06_job_state "$srv" "$old_job") $(fg06_job_state "$srv" "$job")"
fg06_eq "the older record is superseded, the newest is in progress" \
	"superseded True in-progress" "$(python3 -c 'import json, sys
recs = json.load(open(sys.argv[1]))["records"]
old = [r for r in recs if r["commit"] == sys.argv[2]][0]
print(old["state"], old["finished"] is not None, recs[-1]["state"] if recs[-1]["commit"] == sys.argv[3] else "?")' \
	"$srv/fleetgate/records/canary.json" "$old" "$new")"

# --- to a timeout: rollout.follow_timeout is a configured bound ---
fg06_policy "$pol" "rollout: { skip_allowed: [\"@sre\"], follow_timeout: 0s }"
sed -i '/^rollout: { skip_allowed: \["@sre"\] }$/d' "$pol"
fg06_promote "$w" pi4-v7 pi3-v1 main canary
scheduled canary
poll || fg_bail "queue run failed"
status canary
fg06_eq "past follow_timeout with devices pending: timed-out, status exits 1" \
	"1 timed-out 2 done" \
	"$st $(field 'r["state"]') $(field 'r["devices"]["pending"]') $(fg06_job_state "$srv" "$job")"
fg06_dbl post /_double/progress '{"status": "success"}' >/dev/null
poll || fg_bail "queue run failed"
status canary
fg06_eq "a timed-out record is final" timed-out "$(field 'r["state"]')"

"$FG" status --repo "$srv" no-such-branch --format json >"$FG_TMP/status.json"
fg06_eq "a branch never rolled out: no rollout, exit 1" "1 null" "$? $(field 'r')"
"$FG" status --repo "$FG_TMP/nowhere" >/dev/null 2>&1
fg06_eq "status of no repository exits 2" 2 "$?"
if grep -qE '==[0-9]+==|runtime error:|Sanitizer' "$FG_TMP/runs.out"; then
	fg_fail "the worker's polls report no memory error" "$(cat "$FG_TMP/runs.out")"
else
	fg_pass "the worker's polls report no memory error"
fi
fg_done
