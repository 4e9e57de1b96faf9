#!/bin/sh
# Adversarial: steering devices through the rollout path (post-receive ->
# queue -> worker -> Mender test double).
#   - a new feature/evil whose own fleet.yaml says default_branch:
#     feature/evil, with a device file handing a production device the
#     secret PROD_DB_PASSWORD: no rollout is queued for it, the worker
#     sends Mender nothing, and the secret value is in no request, output
#     or log
#   - develop's own fleet.yaml saying default_branch: develop, or its own
#     device file saying subscribed_branch: develop: production devices
#     (untagged, no subscription) do not follow develop
#   - -o fleetgate.dry-run by mallory to canary or production: refused
#     with "dry run: nothing was pushed", the branch does not move
#   - regression: a tag named production is never taken for the branch
#   - post-receive without fleetgate's pre-receive (replaced by exit 0):
#     nothing is queued for a push it did not judge ("not judged", server
#     log verdict=unjudged)
# The rollout engine and post-receive read the repository with libgit2,
# which cannot open SHA-256 repositories: there the rollout attacks find
# nothing to steer. So the leg where they are live is SHA-1, over HTTP (as
# behind a forge); SHA-256 runs over file://.
FA_MATRIX=${FA_MATRIX:-http/sha1 file/sha256}
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/adversarial/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg06_require_engine

P1=0c0a0000-0000-4000-8000-0000000000a1 # untagged: follows the default branch
P2=0c0a0000-0000-4000-8000-0000000000a2 # subscribed to production
L1=0c0a0000-0000-4000-8000-0000000000b1 # a lab board subscribed to develop
fg06_seed "$FG_TMP/seed.json" "$P1:raspberrypi4:pi4-v1:" \
	"$P2:raspberrypi4:pi4-v1:production" "$L1:raspberrypi4:pi4-v1:develop"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
# A value found nowhere else: any sighting of it is a leak.
SECRET=prod-db-$$-q7Zr2XkW9vTe
printf '%s' "$SECRET" >"$FG_TMP/etc/secrets/PROD_DB_PASSWORD"
chmod 600 "$FG_TMP/etc/secrets/PROD_DB_PASSWORD"

# keep_output NAME: the last push's output, kept for the leak check.
keep_output() {
	cp "$FG_OUT" "$SEEN/$FA_NAME-$1.out"
}

# targets ID: how many deployments (OS or configuration) of the double
# name device ID.
targets() {
	fg06_dbl get /_double/state | python3 -c 'import json, sys
st = json.load(sys.stdin)
print(sum(1 for d in st["deployments"] if sys.argv[1] in d["devices"]))' "$1"
}

# writes: the Mender calls that change something (deployments,
# configurations), one per line; an inventory search is a read.
writes() {
	fg06_dbl get /_double/requests | python3 -c 'import json, sys
for r in json.load(sys.stdin):
    if r["method"] in ("POST", "PUT", "DELETE") and "/inventory/" not in r["path"]:
        print(r["method"], r["path"])'
}

# drain NAME: the detached worker is done, then one more run of the queue
# in the foreground (its output kept for the leak check).
drain() {
	fg06_wait_worker "$FA_SRV/fleetgate/spool" 60 || fg_bail "worker did not finish"
	"$FG_BUILDDIR/fleetgate" queue run --repo "$FA_SRV" --now >"$SEEN/$FA_NAME-run-$1.out" 2>&1
	fg06_wait_idle "$FA_SRV" 60 || fg_bail "jobs did not finish: $(fg06_jobs "$FA_SRV")"
}

# no_job BRANCH COMMIT DESC: the queue has no job of BRANCH at COMMIT, and
# the output announces none for BRANCH.
no_job() {
	if ! fg06_jobs "$FA_SRV" | grep -qE "^[0-9]+ [a-z]+ $1 $2 " &&
		! fg_out_has_re "fleetgate: $1 [0-9a-f]+ queued as job"; then
		fg_pass "$FA_TAG: $3"
	else
		fg_fail "$FA_TAG: $3" "$(fg06_jobs "$FA_SRV")" "$(cat "$FG_OUT")"
	fi
}

# fleet DEFAULT-BRANCH PI4-IMAGE: commits fleet.yaml.
fleet() {
	fg_commit "$FA_W" fleet.yaml "version: 1
default_branch: $1
os_images:
  raspberrypi4: $2" "fleet: $1 $2"
}

# bootstrap: a fresh Mender double (each combination starts from the
# seed), a server with the chain, every bootstrap rollout done.
bootstrap() {
	fg06_double_stop
	fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not restart"
	SEEN=$FG_TMP/seen-$FA_TRANSPORT-$FA_HASH
	mkdir -p "$SEEN"
	fa_server rollout "$pol"
	fleet production pi4-v1
	git -C "$FA_W" branch -q -M develop
	fa_push develop
	fa_accepted_or_bail develop
	fa_push develop:refs/heads/main
	fa_accepted_or_bail main
	fa_push develop:refs/heads/canary
	fa_accepted_or_bail canary
	fa_as alice
	fa_push develop:refs/heads/production
	fa_accepted_or_bail production
	fa_as mallory
	fg_fetch "$FA_W"
	drain bootstrap
}

evil_default_branch() {
	p1=$(targets "$P1")
	p2=$(targets "$P2")
	fg06_dbl post /_double/reset-requests >/dev/null
	fg_checkout "$FA_W" feature/evil origin/develop
	fleet feature/evil evil-image
	fg_commit "$FA_W" "devices/$P1.yaml" "configuration:
  db_password: { secret: PROD_DB_PASSWORD }" "hand P1 the production secret"
	fa_push feature/evil
	keep_output evil
	no_job feature/evil "$(fg_rev "$FA_W" feature/evil)" \
		"no rollout queued for feature/evil (its own default_branch)"
	drain evil
	fg06_eq "$FA_TAG: P1 (untagged) got no deployment from feature/evil" "$p1" "$(targets "$P1")"
	fg06_eq "$FA_TAG: P2 (production) got no deployment from feature/evil" "$p2" "$(targets "$P2")"
	fg06_eq "$FA_TAG: Mender received no deployment and no configuration" "" "$(writes)"
}

develop_default_branch() {
	p1=$(targets "$P1")
	p2=$(targets "$P2")
	fg_checkout "$FA_W" develop origin/develop
	fleet develop dev-image
	fg_commit "$FA_W" "devices/$P1.yaml" "configuration:
  db_password: { secret: PROD_DB_PASSWORD }" "develop: P1 with the production secret"
	fa_push develop
	keep_output develop
	fa_accepted_or_bail "develop (default_branch: develop)"
	drain develop
	fg06_eq "$FA_TAG: P1 (untagged) does not follow develop" "$p1" "$(targets "$P1")"
	fg06_eq "$FA_TAG: P2 (production) does not follow develop" "$p2" "$(targets "$P2")"
	fg_fetch "$FA_W"
}

# The same through a device file: develop's own devices/P1.yaml says
# subscribed_branch: develop for a production device nobody tagged.
develop_subscribes_device() {
	p1=$(targets "$P1")
	fg_checkout "$FA_W" develop origin/develop
	fleet production pi4-v1
	fg_commit "$FA_W" "devices/$P1.yaml" "subscribed_branch: develop
os_image: dev-image-2
configuration:
  db_password: { secret: PROD_DB_PASSWORD }" "develop claims P1"
	fa_push develop
	keep_output develop-claims
	fa_accepted_or_bail "develop (a device file claiming P1)"
	drain develop-claims
	fg06_eq "$FA_TAG: P1 (untagged) is not taken by develop's own device file" "$p1" \
		"$(targets "$P1")"
	fg_fetch "$FA_W"
}

# dry_run_refused DESC: the last push failed with the dry-run message.
dry_run_refused() {
	if [ "$FG_RC" -ne 0 ] && fg_out_has "dry run: nothing was pushed"; then
		fg_pass "$FA_TAG: $1"
	else
		fg_fail "$FA_TAG: $1" "$(cat "$FG_OUT")"
	fi
}

dry_run() {
	fa_promote_main
	fg_main_into_canary "$FA_W"
	canary0=$(fa_ref canary)
	fa_push -o fleetgate.dry-run canary
	keep_output dry-canary
	dry_run_refused "a dry run to canary is refused: 'dry run: nothing was pushed'"
	fa_unmoved canary "$canary0" "canary unchanged by a dry run"

	# a release alice could push; mallory asks for a dry run of it
	fa_server_set canary "$(fg_rev "$FA_W" canary)"
	fg_fetch "$FA_W"
	fg_checkout "$FA_W" production
	fg_merge "$FA_W" --no-ff -m "Release" origin/canary
	prod0=$(fa_ref production)
	fa_push -o fleetgate.dry-run production
	keep_output dry-production
	dry_run_refused "mallory's dry run to production is refused: 'dry run: nothing was pushed'"
	fa_unmoved production "$prod0" "production unchanged by a dry run"
	fa_restore production "$prod0"
}

unjudged() {
	drain before-unjudged
	printf '#!/bin/sh\nexit 0\n' >"$FA_SRV/hooks/pre-receive"
	fg_checkout "$FA_W" rogue origin/production
	fleet production rogue-image
	p1=$(targets "$P1")
	fa_push rogue:refs/heads/production
	keep_output unjudged
	no_job production "$(fg_rev "$FA_W" rogue)" \
		"post-receive queues nothing for a push no pre-receive judged"
	fg_has "$FA_TAG: the pusher is told the push was not judged" "not judged"
	fg_ok "$FA_TAG: server log: verdict=unjudged" \
		fg06_log_has "event=post-receive .*verdict=unjudged"
	drain unjudged
	fg06_eq "$FA_TAG: P1 got nothing from the unjudged push" "$p1" "$(targets "$P1")"
}

# A tag named like a protected branch is free to push (tags are not
# promoted), but nothing may take it for the branch: no job, and the plan
# of production is made from refs/heads/production.
tag_named_production() {
	fg_checkout "$FA_W" tagged origin/develop
	fleet production tag-image
	fg_tick
	git -C "$FA_W" tag -f production tagged >/dev/null || fg_bail "tag"
	fa_push refs/tags/production
	keep_output tag
	no_job production "$(fg_rev "$FA_W" tagged)" "no rollout for a tag named production"
	"$FG_BUILDDIR/fleetgate" plan --repo "$FA_SRV" production --format json \
		>"$SEEN/$FA_NAME-plan.json" 2>&1
	fg_ok "$FA_TAG: the plan of production ignores the tag named production" \
		sh -c '! grep -q tag-image "$1"' sh "$SEEN/$FA_NAME-plan.json"
}

leaks() {
	fg06_dbl get /_double/requests >"$SEEN/$FA_NAME-mender-requests.json"
	fg06_dbl get /_double/state >"$SEEN/$FA_NAME-mender-state.json"
	"$FG_BUILDDIR/fleetgate" queue --repo "$FA_SRV" --format json \
		>"$SEEN/$FA_NAME-queue.json" 2>&1
	cp "$FG06_LOG" "$SEEN/server.log" 2>/dev/null
	if grep -rlF -- "$SECRET" "$SEEN" >"$FG_TMP/leaked"; then
		fg_fail "$FA_TAG: the secret value is in no request, output or log" \
			"found in: $(cat "$FG_TMP/leaked")"
	else
		fg_pass "$FA_TAG: the secret value is in no request, output or log"
	fi
	fg06_log_clean "$FA_TAG: the server log holds no Mender token"
	# post-receive's exit status is ignored by git: its memory errors
	# (sanitizer or valgrind builds) show only in the pushes' output
	if grep -lE '==[0-9]+==|runtime error:|Sanitizer' "$SEEN"/*.out >"$FG_TMP/dirty" 2>/dev/null; then
		fg_fail "$FA_TAG: the hooks report no memory error in any push" \
			"in: $(cat "$FG_TMP/dirty")"
	else
		fg_pass "$FA_TAG: the hooks report no memory error in any push"
	fi
}

run() {
	bootstrap
	evil_default_branch
	develop_default_branch
	develop_subscribes_device
	dry_run
	tag_named_production
	unjudged
	leaks
}
fa_matrix run
fg_done
