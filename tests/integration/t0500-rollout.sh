#!/bin/sh
# The rollout engine end to end: a bare fleet repository built with git, the
# Mender test double on 127.0.0.1, `fleetgate plan` / `fleetgate rollout`,
# the queue worker, injected faults, and (when Prism is installed) a contract
# pass of a full rollout. Asserts on what the double recorded.
# shellcheck disable=SC2016 # JSON and Python stay literal
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${FG_SRCDIR:-$(cd "$here/../.." && pwd)}
build=${FG_BUILDDIR:-$src}
# shellcheck source=tests/contract/lib.sh
. "$src/tests/contract/lib.sh"

FG="$build/fleetgate"
VG=${FG_VALGRIND:-}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { # check NAME COMMAND...
	name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
py() { python3 -c "$@"; }

md_setup
[ -n "${T0500_KEEP:-}" ] && trap 'cp -r "$MD_TMP" /tmp/t0500-keep; md_cleanup' EXIT
T=$MD_TMP
echo "1..50"

SECRET="s3cr3t-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN="pat-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
D1=3fb4632b-96b9-475d-ac89-02255bd15b6f # raspberrypi4, file with a secret
D2=00000000-0000-4000-8000-000000000002 # raspberrypi4, no file
D3=00000000-0000-4000-8000-000000000003 # pi3, file: canary
D4=00000000-0000-4000-8000-000000000004 # pi3, tag: canary
D5=00000000-0000-4000-8000-000000000005 # raspberrypi4, already on the image

# --- the fleet repository -------------------------------------------------
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
W=$T/work
git init -q -b production "$W"
mkdir -p "$W/devices/site-a"
fleet_yaml() { # fleet_yaml RPI4-IMAGE [PLAYBOOK-VERSION]
	cat >"$W/fleet.yaml" <<EOF
version: 1
default_branch: production
os_images:
  raspberrypi4: $1
  pi3: img-pi3-2
configuration:
  playbook_url: edge-playbook
  playbook_version: "${2:-1.5.0}"
EOF
}
fleet_yaml img-rpi-2
cat >"$W/devices/site-a/$D1.yaml" <<EOF
name: kiosk-campus
configuration:
  kiosk_url: https://intranet.example.com/board
  gharunner_access_token: { secret: RUNNER_ACCESS_TOKEN }
EOF
cat >"$W/devices/$D3.yaml" <<EOF
subscribed_branch: canary
configuration:
  kiosk_enabled: "true"
EOF
commit() { git -C "$W" add -A && git -C "$W" commit -q -m "$1"; }
commit "fleet"
git -C "$W" branch canary
git clone -q --bare "$W" "$T/repo.git"
git -C "$W" remote add origin "$T/repo.git"
push() { git -C "$W" push -q origin "$1" 2>/dev/null; }

mkdir -m 700 "$T/secrets"
printf '%s\n' "$SECRET" >"$T/secrets/RUNNER_ACCESS_TOKEN"
chmod 600 "$T/secrets/RUNNER_ACCESS_TOKEN"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"

cat >"$T/seed.json" <<EOF
{"token": "$TOKEN", "devices": [
 {"id": "$D1", "device_type": "raspberrypi4", "artifact_name": "img-rpi-1", "attributes": {"name": "k1"}},
 {"id": "$D2", "device_type": "raspberrypi4", "artifact_name": "img-rpi-1"},
 {"id": "$D3", "device_type": "pi3", "artifact_name": "img-pi3-1"},
 {"id": "$D4", "device_type": "pi3", "artifact_name": "img-pi3-1", "tags": {"subscribed_branch": "canary"}},
 {"id": "$D5", "device_type": "raspberrypi4", "artifact_name": "img-rpi-2"}
]}
EOF
md_start_double "$T/seed.json" || { echo "Bail out! the Mender double did not start"; exit 1; }

# The policy says which branches roll out and that production's fleet files
# say who follows which branch (the top of the chain).
cat >"$T/policy.yaml" <<EOF
version: 1
branches:
  production: { promote_from: [canary] }
  canary: { promote_from: [main] }
mender:
  url: $MD_URL
  token_file: $T/token
secrets_dir: $T/secrets
log: { file: $T/server.log, syslog: false }
EOF
chmod 644 "$T/policy.yaml"
git -C "$T/repo.git" config fleetgate.policy "$T/policy.yaml"

A="--token-file $T/token --secrets-dir $T/secrets --state-dir $T/state"
k=0
fg() { # fg NAME ARGS...: runs fleetgate, output in $T/NAME.out/.err, status in $rc
	k=$((k + 1))
	out=$T/run-$k-$1
	shift
	# shellcheck disable=SC2086 # $A and $VG are word lists
	$VG "$FG" "$@" $A --mender-url "${URL:-$MD_URL}" >"$out.out" 2>"$out.err"
	rc=$?
}
state() { md_ctl GET /_double/state >"$T/state.json"; }
# deps ARTIFACT: "count name devices..." of the software deployments of it
deps() {
	state
	py 'import json,sys
s=json.load(open(sys.argv[1]))
d=[x for x in s["deployments"] if x.get("type")!="configuration" and x["artifact_name"]==sys.argv[2]]
print(len(d), *(x["name"] + "|" + ",".join(x["devices"]) for x in d))' "$T/state.json" "$1"
}
ndeps() { state; py 'import json,sys; print(len(json.load(open(sys.argv[1]))["deployments"]))' "$T/state.json"; }
# writes: Mender calls that change something since the last reset
writes() {
	md_ctl GET /_double/requests | py 'import json,sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] != "GET" and "filters/search" not in r["path"]))'
}
short=$(git -C "$W" rev-parse --short=7 production)

# --- plan changes nothing -------------------------------------------------
fg plan plan --repo "$T/repo.git" production
check "plan exits 0" test "$rc" = 0
check "plan shows the OS change and configuration keys" \
	grep -q "img-rpi-1 -> img-rpi-2.*+gharunner_access_token" "$out.out"
check "plan created nothing in Mender" test "$(writes)" = 0
fg planjson plan --repo "$T/repo.git" production --format json
check "plan --format json is JSON listing the subscribers" py 'import json,sys
r=json.load(open(sys.argv[1])); ids=sorted(d["id"] for d in r["devices"])
sys.exit(ids != sorted(sys.argv[2:]))' "$out.out" "$D1" "$D2" "$D5"

# --- first rollout ----------------------------------------------------------
md_ctl POST /_double/reset-requests >/dev/null
fg first rollout --repo "$T/repo.git" production
check "first rollout exits 0" test "$rc" = 0
md_ctl GET /_double/requests >"$T/requests-first.json"
check "one deployment of img-rpi-2, devices sorted, traceable name" \
	test "$(deps img-rpi-2)" = "1 fleetgate production $short img-rpi-2|$D2,$D1"
check "nothing for the pi3 devices of canary" test "$(deps img-pi3-2 | cut -c1)" = 0
state
check "configuration put and deployed for the three subscribers" py 'import json,sys
s=json.load(open(sys.argv[1])); c=s["configurations"]
dep=[x for x in s["deployments"] if x.get("type")=="configuration"]
want=sorted(sys.argv[2:])
ok=sorted(k for k,v in c.items() if v["configured"].get("playbook_url")=="edge-playbook")==want
sys.exit(not ok or sorted(list(x["devices"])[0] for x in dep) != want)' "$T/state.json" "$D1" "$D2" "$D5"
check "the device got its secret's value" py 'import json,sys
c=json.load(open(sys.argv[1]))["configurations"][sys.argv[2]]["configured"]
sys.exit(c.get("gharunner_access_token") != sys.argv[3] or c.get("kiosk_url") is None)' \
	"$T/state.json" "$D1" "$SECRET"
check "summary says what was applied" grep -q "applied: 0 aborted, 1 of 1 deployments, 3 of 3 configurations; 0 error" "$out.out"

# --- idempotence -------------------------------------------------------------
md_ctl POST /_double/reset-requests >/dev/null
fg second rollout --repo "$T/repo.git" production
check "second rollout exits 0" test "$rc" = 0
check "second rollout schedules nothing" test "$(writes)" = 0
check "second rollout reports deployments in progress" grep -q "nothing to do" "$out.out"
check "second rollout asks for no configuration (nothing changed)" \
	test "$(md_ctl GET '/_double/requests?match=deviceconfig' | py 'import json,sys; print(len(json.load(sys.stdin)))')" = 0
md_ctl POST /_double/progress '{"status": "success"}' >/dev/null
md_ctl POST /_double/reset-requests >/dev/null
fg third rollout --repo "$T/repo.git" production --full
check "after the devices succeeded a full rollout schedules nothing" \
	sh -c 'test "$1" = 0 && test "$2" = 0' - "$rc" "$(writes)"

# --- a device moved by its Mender tag ---------------------------------------
git -C "$W" checkout -q canary
fleet_yaml img-rpi-3 1.6.0
commit "canary: new raspberrypi4 image and playbook"
push canary
git -C "$W" checkout -q production
fg canary rollout --repo "$T/repo.git" canary
check "canary rollout exits 0" test "$rc" = 0
md_ctl PUT "/_double/devices/$D2/tags" '{"subscribed_branch": "canary"}' >/dev/null
fg canary2 rollout --repo "$T/repo.git" canary
check "canary rollout after the tag change exits 0" test "$rc" = 0
check "the tagged device moves with canary's image" \
	test "$(deps img-rpi-3 | cut -d'|' -f2)" = "$D2"
check "the pi3 devices of canary get their image" \
	test "$(deps img-pi3-2 | cut -d'|' -f2)" = "$D3,$D4"
state
check "the moved device gets canary's configuration (it joined the branch)" py 'import json,sys
s=json.load(open(sys.argv[1])); c=s["configurations"][sys.argv[2]]["configured"]
dep=[x for x in s["deployments"] if x.get("type")=="configuration" and sys.argv[2] in x["devices"]]
sys.exit(len(dep) != 2 or c.get("playbook_version") != "1.6.0")' "$T/state.json" "$D2"
fg prod plan --repo "$T/repo.git" production --format json
check "production no longer lists it" py 'import json,sys
r=json.load(open(sys.argv[1])); sys.exit(sys.argv[2] in [d["id"] for d in r["devices"]])' "$out.out" "$D2"

# --- faults: retried to success, or a clear error and a clean rerun ----------
fault() { md_ctl POST /_double/faults "$1" >/dev/null; }
i=10
fault_case() { # fault_case NAME FAULT-JSON EXPECT(ok|error) ERROR-PATTERN
	i=$((i + 1))
	fleet_yaml "img-rpi-$i"
	commit "image $i"
	push production
	md_ctl POST /_double/faults/clear >/dev/null
	fault "$2"
	fg "fault-$1" rollout --repo "$T/repo.git" production
	first_rc=$rc first_err=$out.err
	md_ctl POST /_double/faults/clear >/dev/null
	if [ "$3" = ok ]; then
		check "$1: retried to success" test "$first_rc" = 0
	else
		check "$1: exit 1 with a clear error" sh -c \
			'test "$1" = 1 && grep -Eq "$2" "$3"' - "$first_rc" "$4" "$first_err"
	fi
	fg "rerun-$1" rollout --repo "$T/repo.git" production
	check "$1: rerun completes with exactly one deployment" \
		sh -c 'test "$1" = 0 && test "$2" = 1' - "$rc" "$(deps "img-rpi-$i" | cut -d' ' -f1)"
}
fault_case "500 on create" '{"match": "POST .*/deployments/deployments$", "count": 1, "status": 500}' ok
fault_case "429 on search" '{"match": "POST .*/filters/search", "count": 2, "status": 429, "retry_after": 1}' ok
fault_case "slow answer" '{"match": "GET .*/deployments/deployments$", "count": 1, "delay": 2}' ok
fault_case "dropped after create" '{"match": "POST .*/deployments/deployments$", "count": 1, "drop": true, "after": true}' ok
fault_case "malformed search" '{"match": "POST .*/filters/search", "count": 1, "malformed": true}' error \
	'filters/search.*malformed JSON'
fault_case "500 that persists" '{"match": "POST .*/deployments/deployments$", "count": 10, "status": 500}' error \
	'POST /api/management/v1/deployments/deployments.*500'

# a configuration change whose PUT keeps failing for one device
fleet_yaml img-rpi-16 1.7.0
commit "playbook 1.7.0"
push production
fault '{"match": "PUT .*/deviceconfig/configurations/device/'"$D1"'$", "count": 10, "status": 500}'
fg "fault-put" rollout --repo "$T/repo.git" production
md_ctl POST /_double/faults/clear >/dev/null
check "failing configuration PUT: exit 1 naming the call" sh -c \
	'test "$1" = 1 && grep -q "PUT /api/management/v1/deviceconfig/configurations/device/$2: HTTP 500" "$3"' \
	- "$rc" "$D1" "$out.err"
state
check "failing configuration PUT: the other devices got theirs" py 'import json,sys
c=json.load(open(sys.argv[1]))["configurations"]
sys.exit(c[sys.argv[2]]["configured"]["playbook_version"] != "1.7.0" or c[sys.argv[3]]["configured"]["playbook_version"] == "1.7.0")' \
	"$T/state.json" "$D5" "$D1"
fg "rerun-put" rollout --repo "$T/repo.git" production
state
check "failing configuration PUT: a rerun completes it" py 'import json,sys
c=json.load(open(sys.argv[1]))["configurations"]
sys.exit(c[sys.argv[2]]["configured"]["playbook_version"] != "1.7.0")' "$T/state.json" "$D1"

# --- the queue worker runs a job through the engine --------------------------
mkdir "$T/hookbin" && cp "$build/fleetgate-post-receive" "$T/hookbin/"
old=$(git -C "$T/repo.git" rev-parse production)
fleet_yaml img-rpi-queue
commit "image queue"
push production
new=$(git -C "$T/repo.git" rev-parse production)
# A hook copy without fleetgate beside it queues but cannot start a worker,
# so the worker below (under $FG_VALGRIND) is the one that runs the job.
# This repository has no pre-receive: the record fleetgate's pre-receive
# leaves for an accepted update (docs/operations.md) is written here, else
# post-receive refuses the update as unjudged.
mkdir -p -m 700 "$T/repo.git/fleetgate/judged"
printf 'refs/heads/production %s %s\n' "$old" "$new" >"$T/judged.rec"
install -m 600 "$T/judged.rec" \
	"$T/repo.git/fleetgate/judged/$(git hash-object --stdin <"$T/judged.rec")"
printf '%s %s refs/heads/production\n' "$old" "$new" |
	GIT_DIR=$T/repo.git "$T/hookbin/fleetgate-post-receive" >"$T/hook.out" 2>&1
$VG "$FG" queue run --repo "$T/repo.git" --now >"$T/queue.out" 2>"$T/queue.err"
check "queue run exits 0" test "$?" = 0
"$FG" queue list --repo "$T/repo.git" --format json >"$T/jobs.json"
check "the job scheduled the deployment (following it) with its id in its outcome" py 'import json,sys
jobs=json.load(open(sys.argv[1])); s=json.load(open(sys.argv[2]))
j=[x for x in jobs if x["new"]==sys.argv[3]][0]
ids={d["id"] for d in s["deployments"] if d["artifact_name"]=="img-rpi-queue"}
got={d["id"] for d in j["outcome"]["deployments"]}
sys.exit(j["state"] not in ("done", "following") or not ids or got!=ids)' "$T/jobs.json" "$(state; echo "$T/state.json")" "$new"
check "the server log recorded the job" grep -q "rollout" "$T/server.log"

# --- the secret never leaves the PUT body -----------------------------------
check "the secret is in no output, report, job file or log" sh -c \
	'! grep -rqF "$1" "$2"/run-* "$2"/jobs.json "$2"/queue.* "$2"/hook.out "$2"/server.log "$2"/state "$3/fleetgate"' \
	- "$SECRET" "$T" "$T/repo.git"
check "the double received the secret only in PUT configuration bodies" py 'import json,sys
reqs=json.load(open(sys.argv[1])); sec=sys.argv[2]
bad=[r for r in reqs if sec in json.dumps(r) and not (r["method"]=="PUT" and "/deviceconfig/" in r["path"])]
sys.exit(bool(bad) or not any(sec in json.dumps(r) for r in reqs))' "$T/requests-first.json" "$SECRET"

# --- unsafe secrets are refused ----------------------------------------------
chmod 640 "$T/secrets/RUNNER_ACCESS_TOKEN"
fg badmode plan --repo "$T/repo.git" production --full
check "a group-readable secret is refused, by name, without its value" sh -c \
	'test "$1" = 2 && grep -q "RUNNER_ACCESS_TOKEN.*chmod 600" "$2" && ! grep -qF "$3" "$2"' \
	- "$rc" "$out.err" "$SECRET"
chmod 600 "$T/secrets/RUNNER_ACCESS_TOKEN"
mv "$T/secrets/RUNNER_ACCESS_TOKEN" "$T/secrets/real"
ln -s real "$T/secrets/RUNNER_ACCESS_TOKEN"
fg symlink plan --repo "$T/repo.git" production --full
check "a symlinked secret is refused" sh -c 'test "$1" = 2 && grep -q "symbolic link" "$2"' - "$rc" "$out.err"
rm "$T/secrets/RUNNER_ACCESS_TOKEN"
mv "$T/secrets/real" "$T/secrets/RUNNER_ACCESS_TOKEN"

# --- an unwritable state fails nothing -------------------------------------------
: >"$T/not-a-dir"
$VG "$FG" rollout --repo "$T/repo.git" production --mender-url "$MD_URL" \
	--token-file "$T/token" --secrets-dir "$T/secrets" --state-dir "$T/not-a-dir" \
	>"$T/run-nostate.out" 2>"$T/run-nostate.err"
check "an unwritable state directory is a warning, exit 0" sh -c \
	'test "$1" = 0 && grep -q "warning: the rolled-out commit was not remembered" "$2"' \
	- "$?" "$T/run-nostate.out"

# --- errors and usage ---------------------------------------------------------
git -C "$W" checkout -q -b broken
printf 'configuration:\n  kiosk_enabled: true\n' >"$W/devices/$D3.yaml"
commit "a boolean value"
push broken
git -C "$W" checkout -q production
# D3 follows canary by production's device file
fg broken plan --repo "$T/repo.git" canary --rev broken
check "a non-string configuration value is exit 2 naming file and key" sh -c \
	'test "$1" = 2 && grep -q "devices/$2.yaml: configuration key .kiosk_enabled." "$3"' \
	- "$rc" "$D3" "$out.err"

fg nobranch plan --repo "$T/repo.git" main
check "a missing branch is exit 2 with its name" sh -c 'test "$1" = 2 && grep -q "no branch .main." "$2"' - "$rc" "$out.err"
fg unlisted plan --repo "$T/repo.git" broken
check "a branch the policy does not list is refused (rollout-branches)" sh -c \
	'test "$1" = 2 && grep -q "branch .broken. is never rolled out (rollout-branches)" "$2"' \
	- "$rc" "$out.err"
"$FG" rollout >/dev/null 2>&1
check "usage error is exit 2" test "$?" = 2

# --- contract pass: a full rollout through Prism ------------------------------
# A skip names its true cause; under CI=true a missing part is a failure.
prism_missing=""
md_find_prism || prism_missing="prism not installed (npm ci --prefix tests/contract)"
[ -n "$prism_missing" ] || md_find_spec || prism_missing="Mender API spec missing (tests/contract/mender-api/openapi.yaml)"
[ -n "$prism_missing" ] || md_start_prism || prism_missing="prism did not start (see above)"
if [ -z "$prism_missing" ]; then
	fleet_yaml img-rpi-prism
	commit "image prism"
	push production
	URL=$MD_PRISM_URL fg prism rollout --repo "$T/repo.git" production --full
	check "full rollout through prism exits 0" test "$rc" = 0
	printf 'Authorization: Bearer %s\n' "$TOKEN" >"$T/auth.hdr"
	md_prism_sync "$T/auth.hdr" || echo "# prism log did not catch up"
	check "prism saw no contract violation in a full rollout" \
		test "$(grep -Ec 'Violation|Request terminated with error' "$T/prism.log")" = 0
	grep -E 'Violation|Request terminated' "$T/prism.log" | head -n 5 | sed 's/^/#   /'
else
	if [ "${CI:-}" = true ]; then
		notok "full rollout through prism: $prism_missing"
		notok "prism contract: $prism_missing"
	else
		ok "full rollout through prism # SKIP $prism_missing"
		ok "prism contract # SKIP $prism_missing"
	fi
fi
