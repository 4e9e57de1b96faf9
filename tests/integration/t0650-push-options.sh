#!/bin/sh
# Push options and ref names are data, never code: ref names full of shell
# metacharacters and hostile or over-long push options are queued, printed
# and logged literally, and no command they spell is ever run (each would
# create a file; none may exist). fleetgate.skip-rollout is honoured only
# for pushers under rollout.skip_allowed; fleetgate.dry-run shows the plan
# and pushes nothing (so it is no way around rollout.skip_allowed).
# The server needs receive.advertisePushOptions=true (fg_bare sets it).
# shellcheck disable=SC2016 # hostile strings are meant literally
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build

M1=0c0a0000-0000-4000-8000-000000000005 # pi4, main
C1=0c0a0000-0000-4000-8000-000000000001 # pi4, canary
fg06_seed "$FG_TMP/seed.json" "$C1:raspberrypi4:pi4-v1:canary" "$M1:raspberrypi4:pi4-v1:main"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
engine=yes
"$FG_BUILDDIR/fleetgate" rollout --help 2>&1 | grep -q "is not a command" && engine=""

# Branches named like shell code, each a literal promotion source of main,
# so every one of them is a branch devices may follow and gets a job.
N1='lab$(touch${IFS}pwned1)'
N2='lab`touch${IFS}pwned2`'
N3="lab';touch\${IFS}pwned3;'"
N4='lab";touch${IFS}pwned4;"|x&y<z>w'
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
python3 - "$pol" "$N1" "$N2" "$N3" "$N4" <<'PY'
import json, sys
p = sys.argv[1]
text = open(p).read()
extra = "".join(", " + json.dumps(n) for n in sys.argv[2:])
old = 'promote_from: [develop, "feature/*"]'
assert old in text
open(p, "w").write(text.replace(old, 'promote_from: [develop, "feature/*"%s]' % extra))
PY
"$FG_BUILDDIR/fleetgate" policy check "$pol" >/dev/null 2>&1 ||
	fg_bail "the test policy is refused: $("$FG_BUILDDIR/fleetgate" policy check "$pol" 2>&1)"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_fleet "$w" pi4-v1 pi3-v1
git -C "$w" branch -q -M develop
fg_push "$w" develop
fg_accepted "develop created"
fg_push "$w" develop:refs/heads/main
fg_accepted "main created"
fg_push "$w" develop:refs/heads/canary
fg_accepted "canary created"
fg_push_env REMOTE_USER=alice "$w" develop:refs/heads/production
fg_accepted "production created by alice"

njobs() { fg06_jobs "$srv" | wc -l | tr -d ' '; }
pwned() { find "$FG_TMP" -name 'pwned*' | sed 's/^/# found: /'; }

# ---- ref names with shell metacharacters
fg_push "$w" "develop:refs/heads/$N1" "develop:refs/heads/$N2" \
	"develop:refs/heads/$N3" "develop:refs/heads/$N4"
fg_accepted "four branches named like shell code are accepted (unprotected)"
for n in "$N1" "$N2" "$N3" "$N4"; do
	fg_ok "queued under its literal name: $n" fg_out_has "remote: fleetgate: $n "
	fg_ok "the queue lists it literally: $n" sh -c "\"\$1\" queue --repo \"\$2\" --format json | python3 -c 'import json, sys
sys.exit(0 if any(j[\"branch\"] == sys.argv[1] for j in json.load(sys.stdin)) else 1)' \"\$3\"" \
		sh "$FG_BUILDDIR/fleetgate" "$srv" "$n"
	fg_ok "the server log has the ref literally (logfmt-quoted): $n" \
		grep -qF -- "ref=$(fg06_logfmt "refs/heads/$n") " "$FG06_LOG"
done

# ---- hostile and over-long push options
fg_checkout "$w" develop origin/develop
long=$(python3 -c 'print("fleetgate.dry-run=" + "x" * 5000)')
fg_commit "$w" notes.txt "one"
before=$(njobs)
fg_push "$w" -o "$long" develop
fg_accepted "a 5,000-byte push option does not fail the push"
fg06_hooks_clean "the hooks report no memory error (over-long option)"
fg_has "the pusher is told the options were ignored" \
	"fleetgate: WARNING: push options ignored (push option 0 is longer than 4096 bytes)"
fg_ok "the rollout is queued all the same (never lost)" fg_out_has_re "^remote: fleetgate: develop [0-9a-f]{7} queued as job"
fg06_eq "one job more" $((before + 1)) "$(njobs)"
fg_ok "server log: options-ignored" fg06_log_has "event=post-receive verdict=options-ignored error=\"push option 0 is longer than 4096 bytes\""

fg_commit "$w" notes.txt "two"
before=$(njobs)
fg_push "$w" -o 'fleetgate.dry-run$(touch${IFS}pwned5)' -o 'x;touch pwned6 `touch pwned7`' \
	-o "fleetgate.skip-rollout';touch pwned8;'" develop
fg_accepted "hostile push options do not fail the push"
fg06_hooks_clean "the hooks report no memory error"
fg_ok "options that only look like fleetgate's change nothing: the job is queued" \
	fg_out_has_re "^remote: fleetgate: develop [0-9a-f]{7} queued as job"
fg06_eq "one job more" $((before + 1)) "$(njobs)"

# ---- fleetgate.skip-rollout
fg_commit "$w" notes.txt "three"
before=$(njobs)
fg_push_env REMOTE_USER=carol "$w" -o fleetgate.skip-rollout develop
fg_accepted "carol's push with skip-rollout is accepted"
fg_has "carol may not skip: she is told why" \
	"fleetgate: push option fleetgate.skip-rollout ignored: 'carol' is not listed under rollout.skip_allowed"
fg06_eq "carol's rollout is queued anyway" $((before + 1)) "$(njobs)"
fg_commit "$w" notes.txt "four"
before=$(njobs)
fg_push_env REMOTE_USER=alice "$w" -o fleetgate.skip-rollout develop
fg_accepted "alice's push with skip-rollout is accepted"
fg_has "alice (@sre) may skip" "rollout skipped at alice's request (fleetgate.skip-rollout)"
fg06_eq "no job for alice's push" "$before" "$(njobs)"
fg_ok "server log: skipped, by alice" \
	fg06_log_has "event=post-receive ref=refs/heads/develop new=$(fg_rev "$w" develop) verdict=skipped pusher=alice"

# ---- fleetgate.dry-run: the plan is shown, nothing is pushed
[ -z "$engine" ] || fg06_wait_idle "$srv" 30 || fg_bail "jobs did not finish: $(fg06_jobs "$srv")"
deps_before=$(fg06_dbl deployments)
fg06_fleet "$w" pi4-v2 pi3-v1
dev_before=$(fg_server_ref "$srv" refs/heads/develop)
before=$(njobs)
fg_push "$w" -o fleetgate.dry-run develop
if [ "$FG_RC" -ne 0 ] && fg_out_has "remote: fleetgate: dry run: nothing was pushed"; then
	fg_pass "a dry-run push of develop fails with 'dry run: nothing was pushed'"
else
	fg_fail "a dry-run push of develop fails with 'dry run: nothing was pushed'" "$(cat "$FG_OUT")"
fi
fg_ref_is "$srv" refs/heads/develop "$dev_before" "the dry run did not move develop"
fg_ok "the pusher is told it is a dry run, with the plan" \
	fg_out_has_re "^remote: fleetgate: develop [0-9a-f]{7}: dry run \(fleetgate.dry-run\); the plan:"
fg_hasnt "no job line for the dry run" "queued as job"
fg06_hooks_clean "the hooks report no memory error (dry run)"
fg_ok "server log: the dry run is logged as what it is" \
	fg06_log_has "event=pre-receive ref=refs/heads/develop old=$dev_before new=$(fg_rev "$w" develop) verdict=reject rule=dry-run"
fg_push "$w" develop
fg_accepted "develop with pi4-v2, for real"
fg_fetch "$w"
fg_checkout "$w" main
fg_merge "$w" --no-ff -m "Merge develop into main" origin/develop
main_before=$(fg_server_ref "$srv" refs/heads/main)
[ -z "$engine" ] || fg06_wait_idle "$srv" 30 || fg_bail "jobs did not finish: $(fg06_jobs "$srv")"
deps_before=$(fg06_dbl deployments)
before=$(njobs)
# carol may not skip rollouts: a dry run must not be her way to land main
# with no rollout
fg_push_env REMOTE_USER=carol "$w" -o fleetgate.dry-run main
if [ "$FG_RC" -ne 0 ] && fg_out_has "remote: fleetgate: dry run: nothing was pushed"; then
	fg_pass "carol's dry run of main is refused as a push"
else
	fg_fail "carol's dry run of main is refused as a push" "$(cat "$FG_OUT")"
fi
fg_ref_is "$srv" refs/heads/main "$main_before" "main did not move: nothing landed without its rollout"
if [ -n "$engine" ]; then
	fg_ok "the dry run prints the plan: main's device would get pi4-v2" \
		sh -c 'grep "^remote: " "$1" | grep "$2" | grep -q "pi4-v2"' sh "$FG_OUT" "$M1"
fi
fg06_eq "a dry run queues no job" "$before" "$(njobs)"
fg06_wait_worker "$srv/fleetgate/spool" 30
fg06_eq "a dry run deploys nothing" "$deps_before" "$(fg06_dbl deployments)"
# a dry run that the rules refuse is refused for its rule, plans nothing,
# and still ends with the dry-run line
fg_checkout "$w" canary origin/canary
fg_commit "$w" notes.txt "direct to canary"
fg_push "$w" -o fleetgate.dry-run canary
fg_rejected "a dry run of a direct commit to canary is rejected for its rule" refs/heads/canary direct-commit
fg_hasnt "no plan for a push the rules refuse" "the plan:"
fg_has "and still says that nothing was pushed" "dry run: nothing was pushed"

# ---- nothing any hostile string spelled was run
fg06_wait_worker "$srv/fleetgate/spool" 30
if [ -n "$engine" ]; then
	fg_ok "every job ran (the hostile branch names too)" fg06_wait_idle "$srv" 30
fi
if [ -z "$(pwned)" ]; then
	fg_pass "no command spelled by a ref name or push option was run"
else
	fg_fail "no command spelled by a ref name or push option was run" "$(pwned)"
fi
fg06_log_clean "the server log holds no Mender token"
fg_done
