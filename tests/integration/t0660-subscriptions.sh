#!/bin/sh
# Who follows which branch is decided by the subscriptions branch (the top
# of the promotion chain, production) and Mender tags only, never by the
# content of the branch being rolled out; only branches the policy lists
# roll out; each branch resolves only the secrets the policy gives it.
# Every attack is a real push by a developer with no rights beyond develop
# and feature branches, through post-receive, the queue worker and the
# engine, asserted on what the Mender test double received.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine

P1=0c0a0000-0000-4000-8000-0000000000a1 # pi4, untagged: production by default
P2=0c0a0000-0000-4000-8000-0000000000a2 # pi4, untagged: moved to canary below
C1=0c0a0000-0000-4000-8000-0000000000c1 # pi4, tag canary
D1=0c0a0000-0000-4000-8000-0000000000d1 # pi4, tag develop (lab board)
D2=0c0a0000-0000-4000-8000-0000000000d2 # pi4, tag develop (lab board)
fg06_seed "$FG_TMP/seed.json" "$P1:raspberrypi4:pi4-v1:" "$P2:raspberrypi4:pi4-v1:" \
	"$C1:raspberrypi4:pi4-v1:canary" "$D1:raspberrypi4:pi4-v1:develop" \
	"$D2:raspberrypi4:pi4-v1:develop"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"

PROD_SECRET=prod-db-pw-3b9f1c7e55-never-leaves
RUNNER_SECRET=runner-token-8e2d4a61f0-for-develop
printf '%s\n' "$PROD_SECRET" >"$FG_TMP/etc/secrets/PROD_DB_PASSWORD"
printf '%s\n' "$RUNNER_SECRET" >"$FG_TMP/etc/secrets/RUNNER_ACCESS_TOKEN"
chmod 600 "$FG_TMP/etc/secrets/RUNNER_ACCESS_TOKEN"
# Group-readable: the engine refuses such a file when it reads it, so a job
# that succeeds below proves it never opened it.
chmod 640 "$FG_TMP/etc/secrets/PROD_DB_PASSWORD"

pol=$FG_TMP/policy.yaml
fg06_policy "$pol" "secrets: { develop: [RUNNER_ACCESS_TOKEN] }"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 60 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"

# deps_of ARTIFACT: "devices<TAB>name" of its OS deployments, one a line.
deps_of() { fg06_dbl deployments | awk -F '\t' -v a="$1" '$1 == a { print $2 "\t" $3 }'; }
# puts_for ID: configuration PUTs the double received for the device.
puts_for() {
	fg06_dbl get /_double/requests | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "PUT" and r["path"].endswith(sys.argv[1])))' "$1"
}
# no_request_has VALUE: no request the double recorded carries VALUE.
no_request_has() {
	fg06_dbl get /_double/requests | python3 -c 'import json, sys
sys.exit(sys.argv[1] in json.dumps(json.load(sys.stdin)))' "$1"
}
configured() { # configured ID KEY: what Mender holds for the device's KEY
	fg06_dbl get /_double/state | python3 -c 'import json, sys
c = json.load(sys.stdin)["configurations"].get(sys.argv[1], {}).get("configured", {})
print(c.get(sys.argv[2], "-"))' "$1" "$2"
}
log_clean() { ! grep -qF -- "$1" "$FG06_LOG" "$srv"/fleetgate/spool/jobs/* 2>/dev/null; }

# ---- canary gets a new image (develop -> main -> canary only) ----------------
fg06_promote "$w" pi4-v2 pi3-v1 main canary
fg06_wait_idle "$srv" 60 || fg_bail "canary jobs did not finish: $(fg06_jobs "$srv")"
fg06_eq "canary's device gets pi4-v2; production's devices do not" "$C1" \
	"$(deps_of pi4-v2 | grep 'fleetgate canary' | cut -f1)"

# ---- moving a device on production's fleet files ------------------------------
# fleet-admin (break glass) edits production's device files directly.
fg_checkout "$w" production
fg_commit "$w" "devices/$P2.yaml" "name: pump-7
subscribed_branch: canary" "move pump-7 to canary"
fg_push_env REMOTE_USER=fleet-admin "$w" production
fg_accepted "fleet-admin moves $P2 to canary on production"
if fg_out_has "production $(git -C "$w" rev-parse --short=7 HEAD) moves devices to canary; canary is rolled out at" &&
	fg_out_has_re "fleetgate: canary [0-9a-f]{7} queued as job"; then
	fg_pass "the push queues a rollout of canary for the moved device (moved-devices)"
else
	fg_fail "the push queues a rollout of canary for the moved device" "$(cat "$FG_OUT")"
fi
fg06_wait_idle "$srv" 60 || fg_bail "moved jobs did not finish: $(fg06_jobs "$srv")"
fg06_eq "the moved device gets canary's image from canary's rollout" "$P2" \
	"$(deps_of pi4-v2 | grep 'fleetgate canary' | grep -v "^$C1" | cut -f1)"
fg06_eq "production's rollout does not touch it" "" \
	"$(fg06_dbl deployments | grep "fleetgate production" | grep "$P2")"

# ---- attack 1: a new feature branch claims every device ----------------------
fg06_dbl post /_double/reset-requests >/dev/null
before=$(fg06_dbl deployments | wc -l)
fg_checkout "$w" evil origin/develop
fg_commit "$w" fleet.yaml "version: 1
default_branch: feature/evil
os_images:
  raspberrypi4: evil-image
configuration:
  db_password: { secret: PROD_DB_PASSWORD }" "fleet: mine now"
fg_commit "$w" "devices/$P1.yaml" "subscribed_branch: feature/evil
configuration:
  motd: owned" "and this one too"
fg_push_env REMOTE_USER=mallory "$w" evil:refs/heads/feature/evil
fg_accepted "mallory's feature/evil is accepted (anyone may push a feature branch)"
if fg_out_has "queued as job"; then
	fg_fail "feature/evil gets no rollout job" "$(cat "$FG_OUT")"
else
	fg_pass "feature/evil gets no rollout job (rollout-branches)"
fi
"$FG_BUILDDIR/fleetgate" queue run --repo "$srv" --now >/dev/null 2>&1
fg06_wait_idle "$srv" 60 || fg_bail "jobs did not finish: $(fg06_jobs "$srv")"
fg06_eq "feature/evil: the double received no deployment" "$before" \
	"$(fg06_dbl deployments | wc -l)"
fg06_eq "feature/evil: no configuration was put" "0 0 0" \
	"$(puts_for "$P1") $(puts_for "$P2") $(puts_for "$C1")"
if no_request_has "$PROD_SECRET" && no_request_has evil-image; then
	fg_pass "feature/evil: neither the secret nor the image is in any request"
else
	fg_fail "feature/evil: the secret or the image reached Mender"
fi

# An old job file for feature/evil (or one written by hand) is refused.
spool=$srv/fleetgate/spool
fg06_wait_worker "$spool" 60 || fg_bail "a worker kept the queue"
printf '{"id": 900, "repo": "%s", "branch": "feature/evil", "old": "%s", "new": "%s", "dry_run": false, "created": 1, "state": "queued", "attempts": 0, "next_attempt": 0}' \
	"$srv" "$(fg_rev "$w" evil)" "$(fg_rev "$w" evil)" >"$spool/jobs/0000000900.json"
"$FG_BUILDDIR/fleetgate" queue run --repo "$srv" --now >/dev/null 2>&1
if fg06_jobs "$srv" | grep -q "^900 failed feature/evil [0-9a-f]* 0 refused: branch 'feature/evil' is never rolled out (rollout-branches)"; then
	fg_pass "a queued job for feature/evil fails at once, refused (rollout-branches)"
else
	fg_fail "a queued job for feature/evil is refused" "$(fg06_jobs "$srv")"
fi
fg06_eq "the refused job reached Mender with nothing" "$before" \
	"$(fg06_dbl deployments | wc -l)"
if "$FG_BUILDDIR/fleetgate" plan --repo "$srv" feature/evil >"$FG_TMP/plan-evil.out" 2>&1; then
	fg_fail "fleetgate plan feature/evil is refused" "$(cat "$FG_TMP/plan-evil.out")"
elif grep -q "branch 'feature/evil' is never rolled out (rollout-branches)" "$FG_TMP/plan-evil.out"; then
	fg_pass "fleetgate plan feature/evil is refused with the rule's name"
else
	fg_fail "fleetgate plan feature/evil names the rule" "$(cat "$FG_TMP/plan-evil.out")"
fi

# ---- attack 2: develop claims the production devices; secrets per branch -----
fg06_dbl post /_double/reset-requests >/dev/null
fg_checkout "$w" develop
fg_commit "$w" fleet.yaml "version: 1
default_branch: develop
os_images:
  raspberrypi4: dev-image
  raspberrypi3: pi3-v1" "develop: everything follows develop"
fg_commit "$w" "devices/$D1.yaml" "configuration:
  db_password: { secret: PROD_DB_PASSWORD }
  kiosk_url: https://lab.example.com" "lab board 1 wants the production password"
fg_commit "$w" "devices/$D2.yaml" "configuration:
  runner_token: { secret: RUNNER_ACCESS_TOKEN }" "lab board 2 runs CI jobs"
fg_commit "$w" "devices/$P1.yaml" "subscribed_branch: develop" "and the pump"
fg_push_env REMOTE_USER=mallory "$w" develop
fg_accepted "mallory's develop push is accepted"
job=$(fg06_job_of develop)
[ -n "$job" ] || { fg_output; fg_bail "no job line for develop"; }
fg06_wait_scheduled "$srv" "$job" 60 || fg_bail "develop's job $job did not finish: $(fg06_jobs "$srv")"
fg06_eq "develop's image reaches only the boards tagged develop" "$D1,$D2" \
	"$(deps_of dev-image | cut -f1)"
fg06_eq "the lab board whose configuration needs PROD_DB_PASSWORD gets no configuration" \
	"0 -" "$(puts_for "$D1") $(configured "$D1" kiosk_url)"
fg06_eq "an allowed secret still works (RUNNER_ACCESS_TOKEN on develop)" \
	"$RUNNER_SECRET" "$(configured "$D2" runner_token)"
if no_request_has "$PROD_SECRET"; then
	fg_pass "develop: PROD_DB_PASSWORD's value is in no request"
else
	fg_fail "develop: PROD_DB_PASSWORD's value reached Mender"
fi
"$FG_BUILDDIR/fleetgate" queue --repo "$srv" --format json >"$FG_TMP/jobs.json" 2>&1
if python3 - "$FG_TMP/jobs.json" "$job" "$D1" <<'EOF'
import json, sys
j = [x for x in json.load(open(sys.argv[1])) if str(x["id"]) == sys.argv[2]][0]
sys.exit(j["outcome"]["withheld"] != [{"device": sys.argv[3], "secret": "PROD_DB_PASSWORD"}])
EOF
then
	fg_pass "the job outcome lists the withheld configuration by secret name"
else
	fg_fail "the job outcome lists the withheld configuration" "$(cat "$FG_TMP/jobs.json")"
fi
if fg06_log_has "verdict=configuration-withheld.*secret=PROD_DB_PASSWORD" &&
	fg06_log_has "device=$D1"; then
	fg_pass "the server log records the withheld configuration"
else
	fg_fail "the server log records the withheld configuration" "$(cat "$FG06_LOG")"
fi
"$FG_BUILDDIR/fleetgate" plan --repo "$srv" develop >"$FG_TMP/plan.out" 2>&1
"$FG_BUILDDIR/fleetgate" plan --repo "$srv" develop --format json >"$FG_TMP/plan.json" 2>&1
if grep -qF "configuration withheld: secret 'PROD_DB_PASSWORD' is not allowed for branch develop (policy secrets)" "$FG_TMP/plan.out" &&
	grep -qF "withheld: secret 'PROD_DB_PASSWORD' is not allowed for branch develop (policy secrets)" "$FG_TMP/plan.json"; then
	fg_pass "the plan (text and JSON) says why the configuration is withheld"
else
	fg_fail "the plan says why the configuration is withheld" "$(cat "$FG_TMP/plan.out")"
fi
if log_clean "$PROD_SECRET" && log_clean "$RUNNER_SECRET" &&
	! grep -qF -- "$PROD_SECRET" "$FG_TMP/plan.out" "$FG_TMP/plan.json" "$FG_OUT"; then
	fg_pass "no secret value in the server log, job files, plans or push output"
else
	fg_fail "a secret value leaked into a log, job file, plan or push output"
fi
fg06_log_clean "the server log never contains the Mender token"
fg06_hooks_clean "the hooks ran clean"
fg_done
