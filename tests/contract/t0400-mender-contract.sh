#!/bin/sh
# Contract test: every kind of request fleetgate's Mender client sends goes
# through Stoplight Prism (`prism proxy --errors`) to the Mender test double.
# Prism validates the request against tests/contract/mender-api/openapi.yaml
# (a violation is answered with 422 by Prism itself) and the double's
# response (a violation is reported in an sl-violations header and logged).
# Any violation, on either side, fails the test.
# Single quotes keep JSON and sh -c scripts literal on purpose.
# shellcheck disable=SC2016
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/contract/lib.sh
. "$here/lib.sh"

PLAN=48
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { # check NAME CONDITION...
	name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}

md_setup
# MD_KEEP=1: keep prism.log as /tmp/md-prism.log for debugging.
[ -n "${MD_KEEP:-}" ] && trap 'cp "$MD_TMP/prism.log" /tmp/md-prism.log; md_cleanup' EXIT
if ! md_find_prism; then
	echo "1..$PLAN"
	while [ $n -lt $PLAN ]; do
		n=$((n + 1))
		if [ "${CI:-}" = true ]; then
			echo "not ok $n - mender contract: prism not installed (npm ci --prefix tests/contract), a failure under CI=true"
		else
			echo "ok $n - mender contract # SKIP prism not installed (npm ci --prefix tests/contract)"
		fi
	done
	[ "${CI:-}" = true ] && exit 1
	exit 0
fi
echo "1..$PLAN"
if ! md_find_spec; then
	echo "Bail out! Mender API spec missing: tests/contract/mender-api/openapi.yaml"
	exit 1
fi
seed=$(md_srcdir)/tests/mender/seed-demo.json
md_start_double "$seed" || { echo "Bail out! mender double failed to start"; exit 1; }
md_start_prism || { echo "Bail out! prism failed to start"; exit 1; }

TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$seed")
printf 'Authorization: Bearer %s\n' "$TOKEN" >"$MD_TMP/auth.hdr"
printf 'Authorization: Bearer not-the-token\n' >"$MD_TMP/badauth.hdr"
B=/api/management
PI2=3f2b8c1e-5a47-4d1b-9c0e-7a1d2e3f4b51
PI3C=5e9f0b47-d8c2-4a16-b3e5-9f1a7c2d4e64
NOSUCH=00000000-0000-4000-8000-000000000000

# req NAME EXPECTED-STATUS METHOD PATH [BODY [AUTH-HEADER-FILE]]
# Sends through prism; passes when the status matches and prism reported no
# violation.  Response in $MD_TMP/body, headers in $MD_TMP/hdr.
req() {
	name=$1 want=$2 method=$3 path=$4
	body=${5:-}
	authf=${6:-$MD_TMP/auth.hdr}
	set -- -sS --max-time 30 -o "$MD_TMP/body" -D "$MD_TMP/hdr" \
		-w '%{http_code}' -X "$method" -H "@$authf"
	if [ -n "$body" ]; then
		set -- "$@" -H 'Content-Type: application/json' --data-binary "$body"
	fi
	code=$(curl "$@" "$MD_PRISM_URL$path" 2>"$MD_TMP/curl.err") || code="curl-failed"
	viol=$(grep -i '^sl-violations:' "$MD_TMP/hdr" 2>/dev/null)
	if grep -qi '^content-type: *application/problem+json' "$MD_TMP/hdr" 2>/dev/null; then
		viol="${viol}prism error: $(head -c 600 "$MD_TMP/body")"
	fi
	if [ "$code" = "$want" ] && [ -z "$viol" ]; then
		ok "$name"
		return 0
	fi
	notok "$name"
	echo "#   $method $path: status $code (want $want)"
	[ -n "$viol" ] && echo "#   violation: $viol"
	sed 's/^/#   curl: /' "$MD_TMP/curl.err"
	return 1
}
hdr() { # value of a response header of the last req
	sed -n "s/^$1: *//Ip" "$MD_TMP/hdr" | tr -d '\r' | head -n 1
}
jq_body() { # jq_body PYTHON-EXPR (on variable b = parsed body)
	python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$MD_TMP/body" "$1"
}

# --- useradm login ---------------------------------------------------------
user=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))["users"])[0])' "$seed")
pass=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["users"]; print(d[list(d)[0]])' "$seed")
printf 'Authorization: Basic %s\n' "$(printf '%s:%s' "$user" "$pass" | base64 | tr -d '\n')" >"$MD_TMP/basic.hdr"
printf 'Authorization: Basic %s\n' "$(printf '%s:wrong' "$user" | base64 | tr -d '\n')" >"$MD_TMP/badbasic.hdr"
req "login with basic auth" 200 POST "$B/v1/useradm/auth/login" '' "$MD_TMP/basic.hdr"
jwt=$(cat "$MD_TMP/body")
printf 'Authorization: Bearer %s\n' "$jwt" >"$MD_TMP/jwt.hdr"
check "login answers a JWT (three dot-separated parts)" \
	sh -c 'echo "$1" | grep -Eq "^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"' _ "$jwt"
req "login with a wrong password is 401" 401 POST "$B/v1/useradm/auth/login" '' "$MD_TMP/badbasic.hdr"

# --- inventory search ------------------------------------------------------
search_prod='{"page":1,"per_page":500,"filters":[{"scope":"tags","attribute":"subscribed_branch","type":"$eq","value":"production"}],"attributes":[{"scope":"identity","attribute":"status"},{"scope":"inventory","attribute":"device_type"},{"scope":"inventory","attribute":"artifact_name"},{"scope":"inventory","attribute":"rootfs-image.version"},{"scope":"inventory","attribute":"name"},{"scope":"tags","attribute":"subscribed_branch"}]}'
req "search devices by tag (\$eq), attribute selection" 200 POST "$B/v2/inventory/filters/search" "$search_prod"
check "search: X-Total-Count counts the production devices" test "$(hdr X-Total-Count)" = 4
check "search: body has the 4 devices" test "$(jq_body 'len(b)')" = 4
req "search all accepted devices (\$in on identity status), JWT auth" 200 POST "$B/v2/inventory/filters/search" \
	'{"page":1,"per_page":500,"filters":[{"scope":"identity","attribute":"status","type":"$in","value":["accepted"]}]}' "$MD_TMP/jwt.hdr"
check "search: X-Total-Count counts every device" test "$(hdr X-Total-Count)" = 7
req "search page 2 of 3 (per_page 3)" 200 POST "$B/v2/inventory/filters/search" '{"page":2,"per_page":3}'
check "search paging: Link has next and prev" sh -c 'echo "$1" | grep -q "rel=\"next\"" && echo "$1" | grep -q "rel=\"prev\""' _ "$(hdr Link)"
req "search past the last page is an empty list" 200 POST "$B/v2/inventory/filters/search" '{"page":9,"per_page":500}'
check "search past the end: empty body" test "$(jq_body 'len(b)')" = 0
req "get one device's inventory" 200 GET "$B/v1/inventory/devices/$PI2"
req "get an unknown device's inventory is 404" 404 GET "$B/v1/inventory/devices/$NOSUCH"

# --- artifacts -------------------------------------------------------------
req "list artifacts (v1) by name" 200 GET "$B/v1/deployments/artifacts?name=2025-10-10-1056-pi2-gitops-bookworm-armhf"
check "artifact v1 list finds the artifact" test "$(jq_body 'len(b)')" = 1
req "list artifacts (v2) by name" 200 GET "$B/v2/deployments/artifacts?name=2025-10-10-1056-pi2-gitops-bookworm-armhf&per_page=500"

# --- deployments -----------------------------------------------------------
ART=2025-11-20-0900-pi2-gitops-bookworm-armhf
dep_body='{"name":"production@1a2b3c4 2025-11-20-0900-pi2-gitops-bookworm-armhf","artifact_name":"'$ART'","devices":["'$PI2'"]}'
req "abort a device's active deployments" 204 DELETE "$B/v1/deployments/deployments/devices/$PI2"
req "create a deployment" 201 POST "$B/v1/deployments/deployments" "$dep_body"
loc=$(hdr Location)
dep_id=${loc##*/}
check "create: Location names the new deployment" sh -c 'echo "$1" | grep -Eq "^/api/management/v1/deployments/deployments/[0-9a-f-]{36}$"' _ "$loc"
req "identical active deployment is 409" 409 POST "$B/v1/deployments/deployments" "$dep_body"
check "409 body is a Mender error" test "$(jq_body '"error" in b and "request_id" in b')" = True
req "wrong token is 401" 401 GET "$B/v1/deployments/deployments" '' "$MD_TMP/badauth.hdr"
req "list deployments v1 (status, search, paging)" 200 GET "$B/v1/deployments/deployments?status=pending&search=production%401a2b3c4&page=1&per_page=500"
check "v1 list: X-Total-Count 1" test "$(hdr X-Total-Count)" = 1
req "list deployments v2 (name, status)" 200 GET "$B/v2/deployments/deployments?name=production%401a2b3c4%202025-11-20-0900-pi2-gitops-bookworm-armhf&status=pending&per_page=500"
check "v2 list finds the deployment by name" test "$(jq_body 'b[0]["id"]')" = "$dep_id"
req "get a deployment" 200 GET "$B/v1/deployments/deployments/$dep_id"
req "get an unknown deployment is 404" 404 GET "$B/v1/deployments/deployments/$NOSUCH"
req "deployment statistics" 200 GET "$B/v1/deployments/deployments/$dep_id/statistics"
check "statistics: one pending device" test "$(jq_body 'b["pending"]')" = 1
req "deployment devices" 200 GET "$B/v1/deployments/deployments/$dep_id/devices"
req "deployment devices (paged list)" 200 GET "$B/v1/deployments/deployments/$dep_id/devices/list?page=1&per_page=500"

# --- deviceconfig ----------------------------------------------------------
req "put a device configuration" 204 PUT "$B/v1/deviceconfig/configurations/device/$PI3C" '{"kiosk_url":"https://example.com/campus","timezone":"Europe/Berlin"}'
req "deploy the device configuration" 200 POST "$B/v1/deviceconfig/configurations/device/$PI3C/deploy" '{"retries":0}'
cfg_dep=$(jq_body 'b["deployment_id"]')
req "get the device configuration" 200 GET "$B/v1/deviceconfig/configurations/device/$PI3C"
check "configuration: configured as put, deployment recorded" test "$(jq_body 'b["configured"]["timezone"] + " " + b["deployment_id"]')" = "Europe/Berlin $cfg_dep"
req "deploying the configuration of an unknown device is 404" 404 POST "$B/v1/deviceconfig/configurations/device/$NOSUCH/deploy" '{}'

# --- progress (control API), then what the client sees --------------------
md_ctl POST /_double/progress '{"status":"success"}' >/dev/null
req "search after the rollout" 200 POST "$B/v2/inventory/filters/search" \
	'{"page":1,"per_page":500,"device_ids":["'$PI2'"],"attributes":[{"scope":"inventory","attribute":"rootfs-image.version"}]}'
check "device reports the deployed rootfs-image.version" test "$(jq_body 'b[0]["attributes"][0]["value"]')" = "$ART"
req "finished deployments (v2)" 200 GET "$B/v2/deployments/deployments?status=finished&per_page=500"

# Prism logs each violation it sees, including response ones it lets pass.
# With --errors it answers a response violation with an error it logs as
# "Request terminated with error"; a status the spec lacks is a logged
# warning only.
VPAT='Violation|Request terminated with error'
md_prism_sync "$MD_TMP/auth.hdr" || echo "# prism log did not catch up"
check "prism logged no violation for the traffic so far" \
	test "$(grep -Ec "$VPAT" "$MD_TMP/prism.log")" = 0
grep -E "$VPAT" "$MD_TMP/prism.log" | sed 's/^/#   /'

# --- faults the spec allows, and the harness catching a violation ----------
md_ctl POST /_double/faults '{"match":"^GET /api/management/v1/deployments/deployments$","count":1,"status":500}' >/dev/null
req "injected 500 is a spec-valid Mender error" 500 GET "$B/v1/deployments/deployments"
md_ctl POST /_double/faults '{"match":"/statistics$","count":1,"status":418}' >/dev/null
code=$(curl -sS --max-time 30 -o "$MD_TMP/body" -D "$MD_TMP/hdr" -w '%{http_code}' \
	-H "@$MD_TMP/auth.hdr" "$MD_PRISM_URL$B/v1/deployments/deployments/$dep_id/statistics")
check "prism flags a response the spec does not allow (negative control)" \
	grep -qi '^sl-violations:' "$MD_TMP/hdr"
md_ctl POST /_double/faults '{"match":"/statistics$","count":1,"body":{"success":"three"}}' >/dev/null
curl -sS --max-time 30 -o "$MD_TMP/body" -D "$MD_TMP/hdr" -H "@$MD_TMP/auth.hdr" \
	"$MD_PRISM_URL$B/v1/deployments/deployments/$dep_id/statistics"
check "prism flags a response body the schema does not allow (negative control)" \
	grep -qi '^sl-violations:.*success' "$MD_TMP/hdr"
check "prism flags a request the spec does not allow (negative control)" \
	test "$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H "@$MD_TMP/auth.hdr" \
		"$MD_PRISM_URL$B/v1/deployments/deployments?per_page=9999")" = 422

# Everything the client sent reached the double unchanged.
md_prism_sync "$MD_TMP/auth.hdr" || echo "# prism log did not catch up"
check "prism logged the negative controls' response violations" \
	test "$(grep -Ec "$VPAT" "$MD_TMP/prism.log")" -ge 3
check "the double saw the deployment request body" \
	test "$(md_ctl GET '/_double/requests?match=^POST%20/api/management/v1/deployments/deployments$' |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), r[0]["body"]["artifact_name"], r[0]["status"], r[1]["status"])')" = "2 $ART 201 409"

if [ "$n" -ne "$PLAN" ]; then
	echo "# planned $PLAN tests, ran $n"
fi
exit 0
