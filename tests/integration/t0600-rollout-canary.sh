#!/bin/sh
# An accepted push to canary, over smart HTTP (lighttpd + git http-backend,
# basic auth), reaches exactly the devices subscribed to canary through the
# Mender test double, and the push returns before the rollout is done: the
# double holds the deployment call until the test releases it, and the push
# must be back while it is held. The server log has one line per decision and
# no secret.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine
command -v lighttpd >/dev/null 2>&1 || fg_bail "lighttpd is not installed (scripts/deps)"

C1=0c0a0000-0000-4000-8000-000000000001 # pi4, canary
C2=0c0a0000-0000-4000-8000-000000000002 # pi4, canary
C3=0c0a0000-0000-4000-8000-000000000003 # pi3, canary (its image does not change)
P1=0c0a0000-0000-4000-8000-000000000004 # pi4, production
M1=0c0a0000-0000-4000-8000-000000000005 # pi4, main
fg06_seed "$FG_TMP/seed.json" "$C1:raspberrypi4:pi4-v1:canary" \
	"$C2:raspberrypi4:pi4-v1:canary" "$C3:raspberrypi3:pi3-v1:canary" \
	"$P1:raspberrypi4:pi4-v1:production" "$M1:raspberrypi4:pi4-v1:main"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"

pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
git -C "$srv" config http.receivepack true
users=$FG_TMP/htusers
printf 'alice:alice-pw\ncarol:carol-pw\n' >"$users"
chmod 600 "$users"
fg_http_start "$FG_TMP/srv" "$users" || fg_bail "lighttpd did not start"
url() { echo "http://$1:$1-pw@127.0.0.1:$FG_HTTP_PORT/git/fleet.git"; }
as() { git -C "$w" remote set-url origin "$(url "$1")"; }

w=$(fg_work dev "$(url carol)")
fg06_fleet "$w" pi4-v1 pi3-v1
# A secret in the server's secrets_dir, referenced by the Pi 3's device file:
# it reaches Mender and nothing else.
secret=kiosk-pw-5d1e0c27a9-never-logged
printf '%s\n' "$secret" >"$FG_TMP/etc/secrets/KIOSK_PASSWORD"
chmod 600 "$FG_TMP/etc/secrets/KIOSK_PASSWORD"
fg_commit "$w" "devices/$C3.yaml" "name: kiosk-campus
configuration:
  kiosk_url: https://intranet.example.com/board
  kiosk_password: { secret: KIOSK_PASSWORD }" "fleet: the campus kiosk"
git -C "$w" branch -q -M develop
fg_push "$w" develop
fg_accepted "develop created"
fg_push "$w" develop:refs/heads/main
fg_accepted "main created"
fg_push "$w" develop:refs/heads/canary
fg_accepted "canary created"
as alice
fg_push "$w" develop:refs/heads/production
fg_accepted "production created by alice"
as carol
fg_fetch "$w"
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"
fg06_eq "devices already running the fleet's images get no deployment" "" \
	"$(fg06_dbl deployments)"
fg06_eq "the Pi 3's configuration is deployed once, with the secret resolved" \
	"1 $secret" "$(fg06_dbl config-deployments) $(fg06_dbl get /_double/state | python3 -c 'import json, sys
print(json.load(sys.stdin)["configurations"][sys.argv[1]]["configured"].get("kiosk_password"))' "$C3")"

# A new Pi 4 image on develop, promoted to main: the main device gets it.
fg_checkout "$w" develop
fg06_fleet "$w" pi4-v2 pi3-v1
fg_push "$w" develop
fg_accepted "pi4-v2 on develop"
fg_checkout "$w" main
fg_merge "$w" --no-ff -m "Merge develop into main" develop
fg_push "$w" main
fg_accepted "develop merged into main"
job=$(fg06_job_of main)
[ -n "$job" ] || { fg_output; fg_bail "no job line for main"; }
fg06_wait_scheduled "$srv" "$job" 30 || fg_bail "main's job $job did not finish: $(fg06_jobs "$srv")"
fg06_eq "main: one deployment of pi4-v2 to the main device" "pi4-v2	$M1" \
	"$(fg06_dbl deployments | cut -f1,2)"

# canary, with the double holding every deployment call until the test
# releases them (the client's retries after its timeout are held too): the
# push must be back while the call is still held.
fg_fetch "$w"
fg_checkout "$w" canary
fg_merge "$w" --no-ff -m "Promote main to canary" origin/main
canary=$(fg_rev "$w" canary)
fg06_dbl post /_double/faults \
	'{"match": "^POST .*/deployments/deployments$", "count": 1000, "hold": true}' ||
	fg_bail "fault injection failed"
fg_push "$w" canary
right_after=$(fg06_dbl deployments | cut -f1,2)
fg_accepted "main merged into canary"
fg06_hooks_clean "the hooks report no memory error"
job=$(fg06_job_of canary)
[ -n "$job" ] || { fg_output; fg_bail "no job line for canary"; }
fg06_wait_held_some 120 || fg_bail "the worker never reached the deployment call: $(fg06_jobs "$srv")"
state=$(fg06_job_state "$srv" "$job")
if [ "$state" != done ] && [ "$state" != following ]; then
	fg_pass "the push returned before the rollout finished (job $job is $state while Mender holds the call)"
else
	fg_fail "the push returned before the rollout finished" "job $job is already done"
fi
fg06_dbl post /_double/faults/clear >/dev/null
fg06_dbl post /_double/release >/dev/null || fg_bail "releasing the held call failed"
fg_ok "the push says the canary rollout is queued, and how to follow it with git alone" \
	fg_out_has_re "^remote: fleetgate: canary $(echo "$canary" | cut -c1-7) queued as job [0-9]+ .*follow with: git fetch origin refs/notes/fleetgate:refs/notes/fleetgate && git log --notes=fleetgate *$"
fg06_eq "the push output names no server path" "" "$(grep -F "$srv" "$FG_OUT")"
fg06_eq "nothing for canary was deployed when the push returned" "pi4-v2	$M1" "$right_after"
if fg06_wait_scheduled "$srv" "$job" 120; then
	fg_pass "canary's job $job scheduled its deployments without anyone running a command"
else
	fg_fail "canary's job $job scheduled its deployments without anyone running a command" "$(fg06_jobs "$srv")"
fi
fg06_eq "exactly the expected deployments: main's, then one of pi4-v2 to both canary Pi 4s" \
	"pi4-v2	$M1
pi4-v2	$C1,$C2" "$(fg06_dbl deployments | cut -f1,2)"
name=$(fg06_dbl deployments | sed -n 2p | cut -f3)
case $name in
*canary*"$(echo "$canary" | cut -c1-7)"*) fg_pass "the deployment's name traces back to canary and the commit ($name)" ;;
*) fg_fail "the deployment's name traces back to canary and the commit" "name: $name" ;;
esac
fg06_eq "no new configuration deployment (no configuration changed)" 1 \
	"$(fg06_dbl config-deployments)"

fg_ok "server log: the pre-receive verdict for canary" \
	fg06_log_has "event=pre-receive ref=refs/heads/canary old=[0-9a-f]+ new=$canary verdict=accept pusher=carol"
fg_ok "server log: the queued job for canary" \
	fg06_log_has "event=post-receive ref=refs/heads/canary new=$canary verdict=queued job=$job pusher=carol"
fg_ok "server log: the rollout outcome of canary's job" \
	fg06_log_has "event=rollout job=$job branch=canary new=$canary result=done"
fg06_log_clean "the server log holds no Mender token"
leaks=$(grep -lF -- "$secret" "$FG06_LOG" "$FG_OUT" "$FG_TMP/lighttpd.err" 2>/dev/null)
"$FG_BUILDDIR/fleetgate" queue --repo "$srv" --format json | grep -qF -- "$secret" && leaks="$leaks queue"
fg06_eq "the secret is in no log, push output or job record" "" "$leaks"
fg_done
