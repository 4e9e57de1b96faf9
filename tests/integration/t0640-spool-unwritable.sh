#!/bin/sh
# A spool the server cannot write (spool_dir on a read-only place): the push
# is still accepted (post-receive cannot undo it) and the failure is not
# swallowed: the pusher's terminal says the rollout was NOT queued and what
# to do, and the server log has the failure. Root ignores file modes, so the
# unwritable place is under /proc, where nobody may create anything; a
# non-root run also tries a read-only directory.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build

FG06_URL=http://127.0.0.1:9 # never reached: nothing is queued
spools="/proc/fleetgate-t0640/spool"
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p "$FG_TMP/ro" && chmod 555 "$FG_TMP/ro"
	spools="$spools $FG_TMP/ro/spool"
fi

for spool in $spools; do
	pol=$FG_TMP/policy-$(echo "$spool" | tr -c 'a-z0-9\n' _).yaml
	fg06_policy "$pol" "spool_dir: $spool"
	name=ro$(printf '%s' "$spool" | cksum | cut -d' ' -f1)
	srv=$(fg_bare "$name")
	fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
	w=$(fg_work "$name" "file://$srv")
	fg06_fleet "$w" pi4-v1 pi3-v1
	git -C "$w" branch -q -M develop
	fg_push "$w" develop
	fg_accepted "$spool: develop is accepted although its rollout cannot be queued"
	fg_ref_is "$srv" refs/heads/develop "$(fg_rev "$w" develop)" "$spool: develop moved on the server"
	short=$(fg_rev "$w" develop | cut -c1-7)
	fg_ok "$spool: the pusher is told the rollout was NOT queued, and why" \
		fg_out_has_re "^remote: fleetgate: ERROR: the rollout of develop $short was NOT queued: unable to (create|write|open|lock) '$(dirname "$(dirname "$spool")")/[^']+': "
	fg_has "$spool: ... and that the push landed and what to run" \
		"fleetgate: ERROR: the push itself landed; run 'fleetgate rollout --repo $srv develop' once the spool is writable"
	fg_hasnt "$spool: no 'queued as job' claim" "queued as job"
	fg06_hooks_clean "$spool: the hooks report no memory error"
	fg_ok "$spool: the server log has the failure" \
		fg06_log_has "event=post-receive ref=refs/heads/develop new=$(fg_rev "$w" develop) verdict=queue-failed error=\"unable to [a-z ]+ '$(dirname "$(dirname "$spool")")/"
	fg_push_env REMOTE_USER=alice "$w" develop:refs/heads/main
	fg_accepted "$spool: the next push is accepted too"
	fg_has "$spool: and reported again" "fleetgate: ERROR: the rollout of main $short was NOT queued"
done
fg06_log_clean "the server log holds no Mender token"
fg_done
