#!/bin/sh
# post-receive rolls out only what fleetgate's pre-receive judged. A forge
# can replace the pre-receive hook and keep fleetgate's post-receive
# (gitolite: `option hook.pre-receive = X`); a developer who may push only
# to develop then pushes a direct commit to production, which fleetgate
# would have rejected. git accepts it, but nothing may be rolled out.
# Also: the server log has one line per ref with its final verdict and
# rule, for every kind of rejection (a ref the promotion rules accept but
# the fleet check rejects is logged as a rejection, never as accepted), and
# a record pre-receive cannot write refuses the push (fail closed).
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build

P1=0c0a0000-0000-4000-8000-000000000009 # pi4, production
fg06_seed "$FG_TMP/seed.json" "$P1:raspberrypi4:pi4-v1:production"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"

njobs() { fg06_jobs "$srv" | wc -l | tr -d ' '; }
records() { find "$srv/fleetgate/judged" -type f 2>/dev/null | wc -l | tr -d ' '; }
logged() { # REF NEW VERDICT [RULE]
	fg06_log_has "event=pre-receive ref=$1 old=[0-9a-f]+ new=$2 verdict=$3${4:+ rule=$4}( |$)"
}
fg06_eq "the judged pushes left no record behind (post-receive consumed them)" 0 "$(records)"

# ---- every kind of verdict, one log line per ref, after the fleet check
fg_checkout "$w" main origin/main
fg_commit "$w" notes.txt "straight onto main"
fg_push "$w" main
fg_rejected "a direct commit to main" refs/heads/main direct-commit
fg_ok "server log: main rejected as direct-commit" logged refs/heads/main "$(fg_rev "$w" main)" reject direct-commit
fg_checkout "$w" develop origin/develop
fg_commit "$w" fleet.yaml "version: 1
default_branch: production
os_images: { raspberrypi4: 42 }"
bad=$(fg_rev "$w" develop)
fg_push "$w" develop
fg_rejected "a fleet.yaml that breaks the schema, on develop" refs/heads/develop fleet-invalid
fg_ok "server log: develop rejected as fleet-invalid, not accepted" \
	logged refs/heads/develop "$bad" reject fleet-invalid
if grep -E "ref=refs/heads/develop .*new=$bad verdict=accept" "$FG06_LOG" >/dev/null; then
	fg_fail "no accept line for the ref the fleet check rejected" "$(grep "$bad" "$FG06_LOG")"
else
	fg_pass "no accept line for the ref the fleet check rejected"
fi
fg_eq_lines=$(grep -c "event=pre-receive ref=refs/heads/develop old=[0-9a-f]* new=$bad " "$FG06_LOG")
fg06_eq "exactly one log line for that ref" 1 "$fg_eq_lines"
git -C "$w" reset -q --hard HEAD~1
fg_push_env REMOTE_USER=fleet-admin "$w" "$(fg_rev "$w" main):refs/heads/canary"
fg_accepted "fleet-admin's break-glass push to canary"
fg_ok "server log: bypass, with the rule bypassed" \
	logged refs/heads/canary "$(fg_rev "$w" main)" bypass direct-commit
fg06_wait_idle "$srv" 30 || fg_bail "jobs did not finish: $(fg06_jobs "$srv")"
fg_fetch "$w"

# several refs, several rules, one push: each ref its own line
fg_push_env REMOTE_USER=carol "$w" :refs/heads/canary \
	"$(fg_rev "$w" origin/canary):refs/heads/production" \
	"$(fg_rev "$w" origin/develop):refs/heads/feature/x"
fg_ok "carol's push of three refs is refused" test "$FG_RC" -ne 0
fg_ok "server log: the deletion of canary as delete-protected" \
	logged refs/heads/canary 0+ reject delete-protected
fg_ok "server log: production as pusher-not-allowed" \
	logged refs/heads/production "$(fg_rev "$w" origin/canary)" reject pusher-not-allowed
fg_ok "server log: feature/x as accepted, with no rule" \
	logged refs/heads/feature/x "$(fg_rev "$w" origin/develop)" accept
fg06_eq "no record for a push that is refused as a whole" 0 "$(records)"

# ---- pre-receive replaced by one that accepts everything
printf '#!/bin/sh\nexit 0\n' >"$srv/hooks/pre-receive"
chmod 755 "$srv/hooks/pre-receive"
before=$(njobs)
deps_before=$(fg06_dbl deployments)
fg_checkout "$w" production origin/production
fg_commit "$w" fleet.yaml "version: 1
default_branch: production
os_images:
  raspberrypi4: pi4-evil
  raspberrypi3: pi3-v1" "straight to production"
evil=$(fg_rev "$w" production)
fg_push "$w" production
fg_ok "git lets the unjudged push in (the pre-receive is not ours)" test "$FG_RC" -eq 0
fg_has "the pusher is told nothing is rolled out, and why" \
	"remote: fleetgate: refs/heads/production was not judged by fleetgate's pre-receive; nothing is rolled out (tell the server admin: the pre-receive hook is not fleetgate's)"
fg_hasnt "no job line" "queued as job"
fg06_eq "no job was queued" "$before" "$(njobs)"
fg_ok "server log: verdict=unjudged" \
	fg06_log_has "event=post-receive ref=refs/heads/production new=$evil verdict=unjudged"
fg06_wait_worker "$srv/fleetgate/spool" 30
fg06_eq "nothing was deployed" "$deps_before" "$(fg06_dbl deployments)"
fg06_hooks_clean "the hooks report no memory error (unjudged push)"

# ---- a record is exactly one judged update: kept when post-receive does
# not run, mode 0600, holding "REF OLD NEW"
"$FG_BUILDDIR/fleetgate" install --repo "$srv" --policy "$pol" --force >/dev/null 2>&1 ||
	fg_bail "fleetgate install --force failed"
fg_valgrindify "$srv" || fg_bail "cannot run the hooks under valgrind"
cp "$srv/hooks/post-receive" "$FG_TMP/post-receive.fleetgate"
printf '#!/bin/sh\nexit 0\n' >"$srv/hooks/post-receive"
fg_checkout "$w" develop origin/develop
fg_commit "$w" notes.txt "judged"
old=$(fg_server_ref "$srv" refs/heads/develop)
fg_push "$w" develop
fg_accepted "a develop push judged by fleetgate"
fg06_eq "one record left (post-receive did not run)" 1 "$(records)"
rec=$(find "$srv/fleetgate/judged" -type f)
fg06_eq "the record holds the update" "refs/heads/develop $old $(fg_rev "$w" develop)" "$(cat "$rec")"
fg06_eq "the record is mode 600" 600 "$(stat -c %a "$rec")"
fg06_eq "the record is named by the SHA-1 of its line" "$(basename "$rec")" \
	"$(git hash-object --stdin <"$rec")"

# ---- the record of one update is not a pass for another: same ref and
# old id, other commit, pushed past a pre-receive that is not ours
cp "$FG_TMP/post-receive.fleetgate" "$srv/hooks/post-receive"
printf '#!/bin/sh\nexit 0\n' >"$srv/hooks/pre-receive"
git -C "$srv" update-ref refs/heads/develop "$old"
fg_commit "$w" notes.txt "not judged" "other commit"
fg_push "$w" -f develop
fg_has "an update with another new id is still unjudged" \
	"remote: fleetgate: refs/heads/develop was not judged by fleetgate's pre-receive"
fg06_eq "the stale record is left to pruning, not used" 1 "$(records)"

# ---- a record that cannot be written: the push is refused (fail closed),
# and logged as the internal error it is
"$FG_BUILDDIR/fleetgate" install --repo "$srv" --policy "$pol" --force >/dev/null 2>&1 ||
	fg_bail "fleetgate install --force failed"
fg_valgrindify "$srv" || fg_bail "cannot run the hooks under valgrind"
rm -rf "$srv/fleetgate/judged"
: >"$srv/fleetgate/judged"
fg_commit "$w" notes.txt "cannot be recorded"
fg_push "$w" -f develop
fg_rejected "no record, no push" refs/heads/develop internal-error
fg_has "the pusher is told why" "fleetgate could not record its verdict for post-receive and rejects to be safe"
fg_ok "server log: internal-error, with the error" \
	fg06_log_has "event=pre-receive ref=refs/heads/develop old=[0-9a-f]+ new=$(fg_rev "$w" develop) verdict=reject rule=internal-error( pusher=[^ ]+)? error=\".*fleetgate/judged"
rm -f "$srv/fleetgate/judged"
fg06_log_clean "the server log holds no Mender token"
fg_done
