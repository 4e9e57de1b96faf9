#!/bin/sh
# fleetgate validate: output format and exit codes (0 valid, 1 invalid,
# 2 usage or unreadable input), for YAML and JSON documents and schemas.
set -u
FG="${FG_VALGRIND:-} $FG_BUILDDIR/fleetgate"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# expect NAME WANT_EXIT GREP_PATTERN -- command...
expect() {
	name=$1 want=$2 pattern=$3
	shift 4
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		not_ok "$name (exit $rc, want $want)"
		sed 's/^/# /' "$tmp/out"
	elif [ -n "$pattern" ] && ! grep -q -e "$pattern" "$tmp/out"; then
		not_ok "$name (output lacks '$pattern')"
		sed 's/^/# /' "$tmp/out"
	else
		ok "$name"
	fi
}

cat >"$tmp/schema.yaml" <<'YAML'
type: object
required: [name]
properties:
  name: { type: string, pattern: "^[a-z-]+$" }
  subscribed_branch: { enum: [main, canary, production] }
additionalProperties: false
YAML
cat >"$tmp/schema.json" <<'JSON'
{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
JSON
printf 'name: kiosk-campus\nsubscribed_branch: canary\n' >"$tmp/good.yaml"
printf 'name: Kiosk\nsubscribed_branch: staging\ncolor: red\n' >"$tmp/bad.yaml"
printf '{"name": "kiosk"}\n' >"$tmp/good.json"
printf '{"name": 5}\n' >"$tmp/bad.json"
printf '{"name": "a", "name": "b"}\n' >"$tmp/dup.json"
printf 'name: a\nname: b\n' >"$tmp/dup.yaml"
printf '{"pattern": "a(b"}\n' >"$tmp/badschema.json"

echo "1..13"
expect "valid YAML file" 0 "good.yaml: valid" -- $FG validate --schema "$tmp/schema.yaml" "$tmp/good.yaml"
expect "invalid YAML: pattern error with line and column" 1 \
	"bad.yaml:1:7: /name: string does not match pattern" -- \
	$FG validate --schema "$tmp/schema.yaml" "$tmp/bad.yaml"
expect "invalid YAML: enum error" 1 \
	"bad.yaml:2:20: /subscribed_branch: value is not one of \[main, canary, production\]" -- \
	$FG validate --schema "$tmp/schema.yaml" "$tmp/bad.yaml"
expect "invalid YAML: additional property" 1 \
	"bad.yaml:3:8: /color: additional property 'color' is not allowed" -- \
	$FG validate --schema "$tmp/schema.yaml" "$tmp/bad.yaml"
expect "JSON schema, valid JSON file" 0 "good.json: valid" -- \
	$FG validate --schema "$tmp/schema.json" "$tmp/good.json"
expect "JSON file without locations" 1 "bad.json: /name: value is of type 'integer'" -- \
	$FG validate --schema "$tmp/schema.json" "$tmp/bad.json"
expect "one invalid among several files exits 1" 1 "good.yaml: valid" -- \
	$FG validate --schema "$tmp/schema.yaml" "$tmp/good.yaml" "$tmp/bad.yaml"
expect "duplicate JSON key is unreadable input" 2 "dup.json" -- \
	$FG validate --schema "$tmp/schema.json" "$tmp/dup.json"
expect "duplicate YAML key is unreadable input" 2 "dup.yaml" -- \
	$FG validate --schema "$tmp/schema.json" "$tmp/dup.yaml"
expect "missing file exits 2 even after invalid ones" 2 "" -- \
	$FG validate --schema "$tmp/schema.yaml" "$tmp/bad.yaml" "$tmp/nope.yaml"
expect "bad regex in schema exits 2 naming the pointer" 2 "#/pattern" -- \
	$FG validate --schema "$tmp/badschema.json" "$tmp/good.json"
expect "no files is a usage error" 2 "usage: fleetgate validate" -- \
	$FG validate --schema "$tmp/schema.json"
expect "unknown option is a usage error" 2 "unknown option" -- \
	$FG validate --frobnicate --schema "$tmp/schema.json" "$tmp/good.json"
exit 0
