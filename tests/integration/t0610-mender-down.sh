#!/bin/sh
# Mender down during the push: the push is accepted, the job waits (queued,
# with the error of its last attempt); Mender comes back at the same URL;
# `fleetgate queue run --now` completes the job, exactly once: one
# deployment.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine

C1=0c0a0000-0000-4000-8000-000000000001 # pi4, canary
M1=0c0a0000-0000-4000-8000-000000000005 # pi4, main
fg06_seed "$FG_TMP/seed.json" "$C1:raspberrypi4:pi4-v1:canary" "$M1:raspberrypi4:pi4-v1:main"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"

fg06_double_stop
fg06_promote "$w" pi4-v2 pi3-v1 main
fg_checkout "$w" canary
fg_merge "$w" --no-ff -m "Promote main to canary" origin/main
fg_push "$w" canary
fg_accepted "with Mender down, the push to canary is accepted"
fg_ok "... and its rollout is queued" fg_out_has_re "^remote: fleetgate: canary [0-9a-f]{7} queued as job [0-9]+"
job=$(fg06_job_of canary)
waiting() {
	fg06_jobs "$srv" | grep -qE "^$job queued canary [0-9a-f]+ [1-9][0-9]* [^-]"
}
end=$(($(date +%s) + 30))
while ! waiting && [ "$(date +%s)" -le "$end" ]; do sleep 0.1; done
if waiting; then
	fg_pass "the job waits for a retry, with its last error: $(fg06_jobs "$srv" | grep "^$job " | cut -d' ' -f6-)"
else
	fg_fail "the job waits for a retry, with its last error" "$(fg06_jobs "$srv")"
fi
fg_ok "the queue listing shows the error to a person" sh -c \
	"\"\$1\" queue --repo \"\$2\" | grep -q 'last error: '" sh "$FG_BUILDDIR/fleetgate" "$srv"

# The detached worker retries while Mender is down and gives up after ten
# minutes; the test does not wait that long: it ends that worker (by its
# id) as if it had given up. Its job may be left "running": a dead worker's
# job runs again.
fg06_kill_workers "$srv "
fg_ok "the detached worker is gone" fg06_workers_gone "$srv" 10
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not come back"
fg06_eq "Mender is back at the same URL, with no deployment yet" "" "$(fg06_dbl deployments)"
# shellcheck disable=SC2086
$FG_VALGRIND "$FG_BUILDDIR/fleetgate" queue run --repo "$srv" --now >"$FG_TMP/run.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "3 done, 0 to retry, 0 failed" "$FG_TMP/run.out"; then
	fg_pass "queue run --now completes the jobs of develop, main and canary"
else
	fg_fail "queue run --now completes the jobs of develop, main and canary" "exit $rc" "$(cat "$FG_TMP/run.out")"
fi
fg_ok "canary's job is done" fg06_wait_scheduled "$srv" "$job" 1
fg06_eq "exactly one deployment each: pi4-v2 to the main and to the canary device" \
	"pi4-v2	$M1
pi4-v2	$C1" "$(fg06_dbl deployments | cut -f1,2)"
fg_ok "server log: a failed attempt of canary's job" \
	fg06_log_has "event=rollout job=$job branch=canary new=[0-9a-f]+ result=error error="
fg_ok "server log: canary's job done" \
	fg06_log_has "event=rollout job=$job branch=canary new=[0-9a-f]+ result=done"
fg06_log_clean "the server log holds no Mender token"
fg_done
