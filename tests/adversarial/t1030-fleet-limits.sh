#!/bin/sh
# Adversarial: making the gate work for ever or talk for ever.
#   - a configuration schema with a backtracking pattern ("^(a+)+$") and
#     $FA_REGEX_DEVICES (5,000) device files whose values make every match
#     backtrack: refused (fleet-invalid) once the push's regex budget is
#     spent, naming the budget and the keyword pattern, echoing no value
#   - 500 bad device files: the findings are capped (at most ~100 lines,
#     then "... and N more")
#   - a FIFO at the policy path: the hook must not wait for a writer; it
#     rejects with policy-error naming the file
# The hooks run under `timeout` (lib.sh fa_hook_timeout) only as a safety
# net that turns a hang into a failure; nothing here measures time.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/adversarial/lib.sh"

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
SCHEMA=schemas/configuration.schema.json
FA_REGEX_DEVICES=${FA_REGEX_DEVICES:-5000}
FA_BAD_DEVICES=${FA_BAD_DEVICES:-500}
EVIL=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab

# devices N DIR LINE: N device files below devices/DIR/, each "LINE".
devices() {
	python3 - "$FA_W/devices/$2" "$1" "$3" <<'PY' || fg_bail "cannot write device files"
import os, sys
d, n, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(d, exist_ok=True)
for i in range(n):
    with open(os.path.join(d, "0a1b2c3d-0000-4000-8000-%012d.yaml" % i), "w") as f:
        f.write(line + "\n")
PY
}

regex_budget() {
	fg_checkout "$FA_W" develop origin/develop
	fg_commit "$FA_W" "$SCHEMA" '{"properties": {"label": {"type": "string", "pattern": "^(a+)+$"}}}' \
		"a schema with a backtracking pattern"
	fa_server_set develop "$(fg_rev "$FA_W" develop)"
	fg_fetch "$FA_W"
	fg_checkout "$FA_W" try origin/develop
	devices "$FA_REGEX_DEVICES" redos "configuration: { label: \"$EVIL\" }"
	git -C "$FA_W" add devices || fg_bail "git add"
	fg_tick
	git -C "$FA_W" commit -q -m "$FA_REGEX_DEVICES devices against a backtracking pattern" ||
		fg_bail "commit"
	before=$(fa_ref develop)
	fa_push try:refs/heads/develop
	fa_rejected "$FA_REGEX_DEVICES values that make ^(a+)+\$ backtrack" \
		refs/heads/develop fleet-invalid
	fg_ok "$FA_TAG: the message names the regex budget" fg_out_has_re "[Bb]udget"
	fg_has "$FA_TAG: the message names the keyword pattern" "pattern"
	fg_hasnt "$FA_TAG: no value is echoed" "$EVIL"
	fa_unmoved develop "$before" "develop unchanged (backtracking)"
	fa_restore develop "$before"
}

findings_cap() {
	fg_checkout "$FA_W" try origin/develop
	devices "$FA_BAD_DEVICES" bad "configuration: { kiosk_port: 8080 }"
	git -C "$FA_W" add devices || fg_bail "git add"
	fg_tick
	git -C "$FA_W" commit -q -m "$FA_BAD_DEVICES devices with a number" || fg_bail "commit"
	before=$(fa_ref develop)
	fa_push try:refs/heads/develop
	fa_rejected "$FA_BAD_DEVICES bad device files" refs/heads/develop fleet-invalid
	shown=$(grep -c '^remote: .*devices/bad/0a1b2c3d-' "$FG_OUT")
	more=$(sed -n 's/^remote: .*and \([0-9][0-9]*\) more.*/\1/p' "$FG_OUT" | head -n 1)
	if [ "$shown" -ge 1 ] && [ "$shown" -le 101 ] && [ -n "$more" ] &&
		[ $((shown + more)) -ge "$FA_BAD_DEVICES" ]; then
		fg_pass "$FA_TAG: $shown findings shown, then '... and $more more'"
	else
		fg_fail "$FA_TAG: findings capped at ~100 plus '... and N more'" \
			"shown=$shown more=${more:-none}" "$(head -c 4000 "$FG_OUT")"
	fi
	fa_unmoved develop "$before" "develop unchanged (bad devices)"
	fa_restore develop "$before"
}

fifo_policy() {
	fifo=$FG_TMP/policy-fifo-$FA_TRANSPORT-$FA_HASH.yaml
	mkfifo "$fifo" || fg_bail "mkfifo"
	git -C "$FA_SRV" config fleetgate.policy "$fifo"
	fg_checkout "$FA_W" develop origin/develop
	fg_commit "$FA_W" app/fifo.txt "fifo" "develop while the policy is a FIFO"
	before=$(fa_ref develop)
	fa_push develop
	fa_rejected "the policy path is a FIFO" refs/heads/develop policy-error
	fg_has "$FA_TAG: the message names the policy file" "$fifo"
	fa_unmoved develop "$before" "develop unchanged (FIFO policy)"
	git -C "$FA_SRV" config fleetgate.policy "$pol"
}

run() {
	fa_server limits "$pol"
	fa_hook_timeout
	fa_chain
	regex_budget
	findings_cap
	fifo_policy
}
fa_matrix run
fg_done
