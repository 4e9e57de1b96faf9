#!/bin/sh
# Races. Two pushes to canary in quick succession while the worker is busy
# (the test holds the worker lock as a busy worker does): only canary's
# newest commit is rolled out, the older job is superseded. One push that
# moves main and canary at once (each judged against the refs as they were
# before the push): both are rolled out.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine

C1=0c0a0000-0000-4000-8000-000000000001 # pi4, canary
C2=0c0a0000-0000-4000-8000-000000000002 # pi4, canary
M1=0c0a0000-0000-4000-8000-000000000005 # pi4, main
fg06_seed "$FG_TMP/seed.json" "$C1:raspberrypi4:pi4-v1:canary" \
	"$C2:raspberrypi4:pi4-v1:canary" "$M1:raspberrypi4:pi4-v1:main"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
# A spool outside the repository (spool_dir), found by `queue run --scan`
# as the systemd timer runs it.
spool=$FG_TMP/spool/fleet
fg06_policy "$pol" "spool_dir: $spool"
srv=$(fg_bare "@hashed/ab/cd/fleet") # GitLab's hashed layout, four levels down
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"

# ---- two pushes to canary (and main) while the worker is busy
fg06_hold_lock "$spool" || fg_bail "could not take the worker lock"
fg06_promote "$w" pi4-v2 pi3-v1 main canary
old_canary=$(fg_rev "$w" canary)
old_job=$(fg06_job_of canary)
fg06_promote "$w" pi4-v3 pi3-v1 main canary
new_canary=$(fg_rev "$w" canary)
new_job=$(fg06_job_of canary)
fg06_eq "both canary jobs wait while the worker is busy" "queued queued" \
	"$(fg06_jobs "$srv" | awk -v a="$old_job" -v b="$new_job" '$1 == a { x = $2 } $1 == b { y = $2 } END { print x, y }')"
fg06_release_lock "$srv"
# shellcheck disable=SC2086
$FG_VALGRIND "$FG_BUILDDIR/fleetgate" queue run --scan "$FG_TMP/srv" >"$FG_TMP/run.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -qxF "$srv: 3 done, 0 to retry, 0 failed, 3 superseded" "$FG_TMP/run.out"; then
	fg_pass "queue run --scan finds the spool; the worker runs the newest job of develop, main and canary and supersedes the rest"
else
	fg_fail "queue run --scan finds the spool; the worker runs the newest job of develop, main and canary and supersedes the rest" \
		"exit $rc" "$(cat "$FG_TMP/run.out")" "$(fg06_jobs "$srv")"
fi
fg_ok "canary's older job ($(echo "$old_canary" | cut -c1-7)) is superseded" \
	fg06_wait_state "$srv" "$old_job" superseded 1
fg_ok "canary's newer job ($(echo "$new_canary" | cut -c1-7)) is done" \
	fg06_wait_scheduled "$srv" "$new_job" 1
fg06_eq "only the newest commits are rolled out: pi4-v3 to main's and canary's devices" \
	"pi4-v3	$M1
pi4-v3	$C1,$C2" "$(fg06_dbl deployments | cut -f1,2)"

# ---- one push moving main and canary at once
fg06_promote "$w" pi4-v4 pi3-v1 main
fg06_wait_idle "$srv" 30 || fg_bail "main's job did not finish: $(fg06_jobs "$srv")"
fg_checkout "$w" develop
fg06_fleet "$w" pi4-v5 pi3-v1
fg_push "$w" develop
fg_checkout "$w" main
fg_merge "$w" --no-ff -m "Promote develop to main" origin/develop
fg_checkout "$w" canary
fg_merge "$w" --no-ff -m "Promote main to canary" origin/main
fg_push "$w" main canary
fg_accepted "one push moves main (to pi4-v5) and canary (to main before the push, pi4-v4)"
fg_ok "a job for main" fg_out_has_re "^remote: fleetgate: main [0-9a-f]{7} queued as job"
fg_ok "a job for canary" fg_out_has_re "^remote: fleetgate: canary [0-9a-f]{7} queued as job"
fg06_wait_idle "$srv" 30 || fg_fail "both jobs finish" "$(fg06_jobs "$srv")"
fg06_eq "both branches are rolled out" "pi4-v3	$C1,$C2
pi4-v3	$M1
pi4-v4	$C1,$C2
pi4-v4	$M1
pi4-v5	$M1" "$(fg06_dbl deployments | cut -f1,2 | sort)"
fg06_log_clean "the server log holds no Mender token"
fg_done
