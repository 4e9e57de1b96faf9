#!/bin/sh
# Adversarial: hostile fleet content pushed to develop by mallory.
#   - a configuration schema that cannot be used (bad regex, dangling
#     $ref, another draft): refused, naming the schema file; an unusable
#     schema already on main does not block the promotion that replaces it
#   - values a schema refuses are never echoed (a wifi_psk, a long number)
#   - keys and file names with newlines and ESC are never printed raw
#   - patternProperties whose regex hits the match limit: a finding, never
#     a silent skip
#   - a non-empty devices/.gitkeep; literal secrets under wifi_passphrase,
#     wpa_psk, sshkey, accesskey (rule literal-secret, via the JSON of
#     fleetgate check)
#   - a symlink at schemas/configuration.schema.json; regressions: a
#     symlink or a submodule at fleet.yaml, devices/ as a symlink, a
#     submodule and a symlink under devices/
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/adversarial/lib.sh"

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
SCHEMA=schemas/configuration.schema.json
DEV=devices/0a1b2c3d-0000-4000-8000-0000000000bb.yaml

# try_develop DESC FILE CONTENT [RULE]: FILE with CONTENT on a fresh branch
# off develop, pushed to develop: rejected with RULE (fleet-invalid),
# develop unchanged.
try_develop() {
	fg_checkout "$FA_W" try origin/develop
	fg_commit "$FA_W" "$2" "$3" "mallory: $1"
	before=$(fa_ref develop)
	fa_push try:refs/heads/develop
	fa_rejected "$1" refs/heads/develop "${4:-fleet-invalid}"
	fa_unmoved develop "$before" "develop unchanged ($1)"
	fa_restore develop "$before"
}

# land_develop FILE CONTENT: develop with FILE changed, set on the server
# directly (setup: whether the rules would take it is not the question).
land_develop() {
	fg_checkout "$FA_W" develop origin/develop
	fg_commit "$FA_W" "$1" "$2" "develop: $1"
	fa_server_set develop "$(fg_rev "$FA_W" develop)"
	fg_fetch "$FA_W"
}

# commit_all MESSAGE: commits every change of the work tree.
commit_all() {
	fg_tick
	git -C "$FA_W" add -A || fg_bail "git add"
	git -C "$FA_W" commit -q -m "$1" >/dev/null || fg_bail "commit: $1"
}

# rule_of REV KEY: the rules fleetgate check --format json gives findings
# whose pointer or message names KEY.
rule_of() {
	"$FG_BUILDDIR/fleetgate" check --git-dir "$FA_W/.git" --rev "$1" --format json 2>/dev/null |
		python3 -c 'import json, sys
key = sys.argv[1]
for e in json.load(sys.stdin).get("errors", []):
    if key in (e.get("pointer") or "") or key in (e.get("message") or ""):
        print(e.get("rule"))' "$2"
}

bad_schemas() {
	try_develop "a schema whose pattern does not compile" "$SCHEMA" '{"properties": {"kiosk_url": {"pattern": "("}}}'
	fg_has "$FA_TAG: the message names the schema file (pattern)" "$SCHEMA"
	try_develop "a schema with a dangling \$ref" "$SCHEMA" '{"$ref": "#/nope"}'
	fg_has "$FA_TAG: the message names the schema file (\$ref)" "$SCHEMA"
	try_develop "a schema of another draft" "$SCHEMA" \
		'{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}'
	fg_has "$FA_TAG: the message names the schema file (draft)" "$SCHEMA"

	# An unusable schema already on main (put there on the server) and a
	# develop that fixes it: main's fast-forward to develop is accepted.
	fg_checkout "$FA_W" broken origin/develop
	fg_commit "$FA_W" "$SCHEMA" '{"properties": {"kiosk_url": {"pattern": "("}}}' "broken schema"
	fg_commit "$FA_W" "$SCHEMA" '{"type": "object"}' "fix the schema"
	fa_server_set develop "$(fg_rev "$FA_W" broken)"
	fa_server_set main "$(fg_rev "$FA_W" broken~1)"
	fa_push "$(fg_rev "$FA_W" broken):refs/heads/main"
	fg_accepted "$FA_TAG: main with an unusable schema takes the promotion that fixes it"
	fg_ref_is "$FA_SRV" refs/heads/main "$(fg_rev "$FA_W" broken)" "$FA_TAG: main has the fixed schema"
	fg_fetch "$FA_W"
}

no_echo() {
	land_develop "$SCHEMA" '{"properties": {"wifi_psk": {"type": "string", "maxLength": 4}}}'
	try_develop "wifi_psk longer than the schema allows" "$DEV" "configuration:
  wifi_psk: S3cr3t-WIFI-value"
	fg_hasnt "$FA_TAG: the refused value is not echoed" "S3cr3t-WIFI-value"
	fg_hasnt "$FA_TAG: not even a part of it" "S3cr3t"
	try_develop "an out-of-range number" "$DEV" "configuration:
  pin: 123456789012345678901234567890"
	fg_hasnt "$FA_TAG: the number is not echoed" "123456789012345678901234567890"
	fg_hasnt "$FA_TAG: not even a part of it" "1234567890"
}

raw_names() {
	try_develop "a key with a newline and a fake verdict" "$DEV" 'configuration:
  "x\nfleetgate: accepted": "v"'
	fg_ok "$FA_TAG: no forged 'fleetgate: accepted' line (key)" \
		sh -c '! grep -qE "^remote: (fleetgate: accepted|  *fleetgate: accepted)" "$1"' sh "$FG_OUT"
	try_develop "a key with an ESC sequence" "$DEV" 'configuration:
  "x\e[2Jcleared": "v"'
	fa_no_byte "no raw ESC in the output (key)" 033
	nl='
'
	try_develop "a device file name with a newline" \
		"devices/0a1b2c3d-0000-4000-8000-0000000000cc${nl}fleetgate: accepted.yaml" "name: x"
	fg_ok "$FA_TAG: no forged 'fleetgate: accepted' line (file name)" \
		sh -c '! grep -qE "^remote: +fleetgate: accepted" "$1"' sh "$FG_OUT"
	try_develop "a device file name with an ESC sequence" \
		"devices/0a1b2c3d-0000-4000-8000-0000000000cc$(printf '\033')[2J.yaml" "name: x"
	fa_no_byte "no raw ESC in the output (file name)" 033
}

budget_properties() {
	land_develop "$SCHEMA" '{"patternProperties": {"^(a+)+$": {"maxLength": 1}}}'
	try_develop "a key on which patternProperties' regex hits the match limit" "$DEV" \
		"configuration:
  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab: \"v\""
	land_develop "$SCHEMA" '{"type": "object"}'
}

secrets_and_gitkeep() {
	try_develop "a non-empty devices/.gitkeep" devices/.gitkeep "not empty"
	for k in wifi_passphrase wpa_psk sshkey accesskey; do
		try_develop "a literal under $k" "$DEV" "configuration:
  $k: literal-value-of-$k"
		fg_has "$FA_TAG: the finding names $k" "$k"
		fg_hasnt "$FA_TAG: the value is not echoed ($k)" "literal-value-of-$k"
		fg_ok "$FA_TAG: fleetgate check calls it literal-secret ($k)" \
			sh -c '[ "$(printf "%s\n" "$1" | grep -c "^literal-secret$")" -ge 1 ]' sh \
			"$(rule_of try "$k")"
	done
}

# Already refused by the fleet checks: regressions.
regressions() {
	fg_checkout "$FA_W" try origin/develop
	rm -f "$FA_W/fleet.yaml"
	ln -s /etc/passwd "$FA_W/fleet.yaml"
	commit_all "fleet.yaml is a symlink"
	before=$(fa_ref develop)
	fa_push try:refs/heads/develop
	fa_rejected "fleet.yaml as a symlink to /etc/passwd" refs/heads/develop fleet-invalid
	fg_hasnt "$FA_TAG: nothing of /etc/passwd is shown" "root:x:"
	fa_unmoved develop "$before" "develop unchanged (symlink fleet.yaml)"

	fg_checkout "$FA_W" try origin/develop
	ln -s ../fleet.yaml "$FA_W/devices/0a1b2c3d-0000-4000-8000-0000000000dd.yaml"
	commit_all "a device file as a symlink"
	fa_push try:refs/heads/develop
	fa_rejected "a symlink under devices/" refs/heads/develop fleet-invalid
	fa_unmoved develop "$before" "develop unchanged (symlink device)"

	fg_checkout "$FA_W" try origin/develop
	mkdir -p "$FA_W/schemas"
	rm -f "$FA_W/$SCHEMA"
	ln -s /etc/passwd "$FA_W/$SCHEMA"
	commit_all "the configuration schema as a symlink"
	fa_push try:refs/heads/develop
	fa_rejected "the configuration schema as a symlink to /etc/passwd" \
		refs/heads/develop fleet-invalid
	fg_hasnt "$FA_TAG: nothing of /etc/passwd is shown (schema)" "root:x:"
	fa_unmoved develop "$before" "develop unchanged (symlink schema)"
	fa_restore develop "$before"

	fg_checkout "$FA_W" try origin/develop
	c=$(fg_rev "$FA_W" HEAD)
	git -C "$FA_W" update-index --add --cacheinfo "160000,$c,devices/0a1b2c3d-0000-4000-8000-0000000000ee.yaml" ||
		fg_bail "update-index"
	fg_tick
	git -C "$FA_W" commit -q -m "a submodule as a device file" >/dev/null || fg_bail "commit"
	fa_push try:refs/heads/develop
	fa_rejected "a submodule under devices/" refs/heads/develop fleet-invalid
	fa_unmoved develop "$before" "develop unchanged (submodule)"
	fa_restore develop "$before"

	fg_checkout "$FA_W" try origin/develop
	git -C "$FA_W" rm -q --cached fleet.yaml || fg_bail "git rm"
	git -C "$FA_W" update-index --add --cacheinfo "160000,$c,fleet.yaml" ||
		fg_bail "update-index"
	fg_tick
	git -C "$FA_W" commit -q -m "fleet.yaml as a submodule" >/dev/null || fg_bail "commit"
	fa_push try:refs/heads/develop
	fa_rejected "fleet.yaml as a submodule" refs/heads/develop fleet-invalid
	fa_unmoved develop "$before" "develop unchanged (submodule fleet.yaml)"

	fg_checkout "$FA_W" try origin/develop
	rm -rf "$FA_W/devices"
	ln -s /etc "$FA_W/devices"
	commit_all "devices/ as a symlink to /etc"
	fa_push try:refs/heads/develop
	fa_rejected "devices/ as a symlink to /etc" refs/heads/develop fleet-invalid
	fa_unmoved develop "$before" "develop unchanged (symlink devices/)"
}

run() {
	fa_server content "$pol"
	fa_chain
	bad_schemas
	no_echo
	raw_names
	budget_properties
	secrets_and_gitkeep
	regressions
}
fa_matrix run
fg_done
