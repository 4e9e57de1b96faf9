#!/bin/sh
# The worker killed (kill -9) at random points of a rollout, 50 times in a
# row, then run once more: every job completes and no deployment exists
# twice. Each kill lands while Mender holds one of the worker's calls (a
# hold fault on its K-th call), so it lands inside a rollout: between facts
# and aborts, between one deployment and the next, or after Mender created a
# deployment but before the job was marked done.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine

KILLS=${FG_T0620_KILLS:-50}
[ -z "$FG_VALGRIND" ] || KILLS=${FG_T0620_KILLS:-10} # valgrind starts slowly

M1=0c0a0000-0000-4000-8000-000000000011 # main
M2=0c0a0000-0000-4000-8000-000000000012
C1=0c0a0000-0000-4000-8000-000000000021 # canary
C2=0c0a0000-0000-4000-8000-000000000022
P1=0c0a0000-0000-4000-8000-000000000031 # production
P2=0c0a0000-0000-4000-8000-000000000032
fg06_seed "$FG_TMP/seed.json" \
	"$M1:raspberrypi4:pi4-v1:main" "$M2:raspberrypi3:pi3-v1:main" \
	"$C1:raspberrypi4:pi4-v1:canary" "$C2:raspberrypi3:pi3-v1:canary" \
	"$P1:raspberrypi4:pi4-v1:production" "$P2:raspberrypi3:pi3-v1:production"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
spool=$srv/fleetgate/spool
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"

# New images for both device types, promoted up to production while the
# worker lock is held: four jobs wait (develop, main, canary, production),
# each with two OS deployments to make.
fg06_hold_lock "$spool" || fg_bail "could not take the worker lock"
fg06_promote "$w" pi4-v2 pi3-v2 main canary production
fg06_release_lock "$srv"
fg06_eq "four jobs wait" 4 "$(fg06_jobs "$srv" | grep -c ' queued ')"

# Each worker is killed while Mender holds one of its calls: the K-th Mender
# call of that worker, K drawn at random (the seed is printed to replay).
# The held call is released after the kill, so Mender may carry out what
# the dead worker asked ("the server did it but the client never heard").
# Synchronisation decides where each kill lands, never a clock.
seed=${FG_T0620_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# kill points drawn with seed $seed"
awk -v n="$KILLS" -v s="$seed" \
	'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%d\n", int(rand() * 6) }' \
	>"$FG_TMP/points"
killed=0
finished=0
while read -r k; do
	fg06_ctl /_double/faults/clear &&
		fg06_ctl /_double/faults "{\"match\": \"^[A-Z]+ /api/\", \"count\": 1, \"hold\": true, \"skip\": $k}" ||
		fg_bail "fault injection failed"
	# shellcheck disable=SC2086
	$FG_VALGRIND "$FG_BUILDDIR/fleetgate" queue run --repo "$srv" --now >/dev/null 2>&1 &
	pid=$!
	# Wait until the worker is inside a held call, or has finished.
	while kill -0 "$pid" 2>/dev/null && [ "$(fg06_held)" = 0 ]; do
		sleep 0.05
	done
	if kill -9 "$pid" 2>/dev/null; then
		killed=$((killed + 1))
	else
		finished=$((finished + 1))
	fi
	wait "$pid" 2>/dev/null
	fg06_ctl /_double/release || fg_bail "releasing the held call failed"
done <"$FG_TMP/points"
echo "# $killed workers killed inside a Mender call, $finished finished before their kill point"
# A worker that finishes every job before its K-th call is not killed; with
# K below a rollout's call count, that is the exception.
if [ "$killed" -ge $((KILLS / 2)) ]; then
	fg_pass "$killed of $KILLS workers were killed in the middle of their work"
else
	fg_fail "most workers were killed in the middle of their work" "only $killed of $KILLS"
fi
if [ "$(find "$spool/jobs" -name '*.json' | wc -l)" -eq "$(fg06_jobs "$srv" | wc -l)" ]; then
	fg_pass "every job file is still readable after the kills"
else
	fg_fail "every job file is still readable after the kills" "$(ls -l "$spool/jobs")"
fi

made=$(fg06_dbl deployments | wc -l | tr -d ' ')
if [ "$made" -gt 0 ]; then
	fg_pass "the killed workers were mid-rollout: $made deployments were made between kills"
else
	fg_fail "the killed workers were mid-rollout" "no deployment was made between kills"
fi
fg06_dbl post /_double/faults/clear >/dev/null
# shellcheck disable=SC2086
$FG_VALGRIND "$FG_BUILDDIR/fleetgate" queue run --repo "$srv" --now >"$FG_TMP/run.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q " 0 to retry, 0 failed" "$FG_TMP/run.out"; then
	fg_pass "a last, undisturbed worker finishes: $(cat "$FG_TMP/run.out")"
else
	fg_fail "a last, undisturbed worker finishes" "exit $rc" "$(cat "$FG_TMP/run.out")"
fi
fg06_eq "every job scheduled its deployments" "" "$(fg06_jobs "$srv" | grep -vE ' (done|following) ')"
fg06_eq "no deployment was created twice" "" \
	"$(fg06_dbl deployments | cut -f1,2 | sort | uniq -d)"
fg06_eq "exactly the expected deployments, once each" "pi3-v2	$M2
pi3-v2	$C2
pi3-v2	$P2
pi4-v2	$M1
pi4-v2	$C1
pi4-v2	$P1" "$(fg06_dbl deployments | cut -f1,2 | sort)"
# shellcheck disable=SC2016
fg_ok "a rerun of every branch schedules nothing" sh -c '
	for b in main canary production; do
		"$1" rollout --repo "$2" "$b" >/dev/null 2>&1 || exit 1
	done' sh "$FG_BUILDDIR/fleetgate" "$srv"
fg06_eq "... and still no deployment twice" "" \
	"$(fg06_dbl deployments | cut -f1,2 | sort | uniq -d)"
fg_done
