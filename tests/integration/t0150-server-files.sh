#!/bin/sh
# Files on the server are opened strictly: a FIFO planted at the policy path
# must not hang pre-receive (the push is refused with policy-error, fail
# closed), a FIFO at the log path must not hang the hooks (the push goes
# through, the log warns), and a policy that is a symbolic link is refused.
# `timeout` only turns the old bug (a hook blocked forever in open()) into a
# failure instead of a stuck test run; nothing here measures time.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
chmod 644 "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg_commit "$w" notes.txt "one"
git -C "$w" branch -q -M develop

# guarded_push ARGS...: fg_push, but a hook that blocks is killed (exit 124)
guarded_push() {
	timeout 120 git -C "$w" push --porcelain origin "$@" >"$FG_OUT" 2>&1
	FG_RC=$?
}

# ---- the policy path is a FIFO
fifo=$FG_TMP/etc/policy.fifo
mkdir -p "$FG_TMP/etc"
mkfifo "$fifo" || fg_bail "mkfifo failed"
git -C "$srv" config fleetgate.policy "$fifo"
guarded_push develop
fg_ok "the hook did not block on the FIFO" test "$FG_RC" -ne 124
fg_rejected "a FIFO at the policy path: every push is refused (fail closed)" \
	refs/heads/develop policy-error
fg_has "the message names the file and what it is" "'$fifo' is not a regular file but a FIFO"
fg_ref_is "$srv" refs/heads/develop "" "nothing landed"

# ---- the policy path is a symbolic link to a good policy
ln -s "$pol" "$FG_TMP/etc/policy-link.yaml"
git -C "$srv" config fleetgate.policy "$FG_TMP/etc/policy-link.yaml"
guarded_push develop
fg_rejected "a symlinked policy is refused" refs/heads/develop policy-error
fg_has "... as a symbolic link" "policy-link.yaml' is a symbolic link"

# ---- the log path is a FIFO: logging gives up, the push does not hang
git -C "$srv" config fleetgate.policy "$pol"
logfifo=$FG_TMP/log.fifo
mkfifo "$logfifo" || fg_bail "mkfifo failed"
printf 'log: { file: %s }\n' "$logfifo" >>"$pol"
guarded_push develop
fg_ok "the hooks did not block on the log FIFO" test "$FG_RC" -ne 124
fg_accepted "the push itself is accepted"
fg_has "the pusher's terminal warns that the log could not be written" \
	"fleetgate: warning: unable to write the server log '$logfifo'"
fg_ref_is "$srv" refs/heads/develop "$(fg_rev "$w" develop)" "develop landed"
fg_done
