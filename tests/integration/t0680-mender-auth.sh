#!/bin/sh
# Mender refuses the token (expired, revoked, wrong): the job fails at its
# first attempt, as "failed", with a message that names mender.token_file
# and what to do, never the token. After the admin writes a new token into
# the file, `fleetgate queue retry` completes it. A token file that is a
# symbolic link or readable by the group is refused the same way, before
# anything is sent.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$FG_SRCDIR/tests/integration/t06-lib.sh"
fg_require_build
fg06_require_engine

M1=0c0a0000-0000-4000-8000-000000000005 # pi4, main
fg06_seed "$FG_TMP/seed.json" "$M1:raspberrypi4:pi4-v1:main"
fg06_double_start "$FG_TMP/seed.json" || fg_bail "the Mender test double did not start"
pol=$FG_TMP/policy.yaml
fg06_policy "$pol"
srv=$(fg_bare fleet)
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")
fg06_bootstrap "$w" pi4-v1 pi3-v1
fg06_wait_idle "$srv" 30 || fg_bail "bootstrap jobs did not finish: $(fg06_jobs "$srv")"

WRONG=t07-revoked-token-abcdefghijklmnop
# job_line ID: "id state branch new attempts last_error"
job_line() { fg06_jobs "$srv" | grep "^$1 "; }

# ---- the token expired: Mender answers 401
printf '%s\n' "$WRONG" >"$FG06_TOKEN_FILE"
fg06_promote "$w" pi4-v2 pi3-v1 main
job=$(fg06_job_of main)
[ -n "$job" ] || { fg_output; fg_bail "no job line for main"; }
if fg06_wait_state "$srv" "$job" failed 30; then
	fg_pass "a refused token fails the job at once"
else
	fg_fail "a refused token fails the job at once" "$(fg06_jobs "$srv")"
fi
fg06_eq "after one attempt, not eight" 1 "$(job_line "$job" | cut -d' ' -f5)"
fg_ok "the error names the call, the status and mender.token_file" sh -c \
	'printf "%s\n" "$1" | grep -qF "HTTP 401: Mender refused the credentials; the token in mender.token_file '"'"'$2'"'"' is expired, revoked or lacks rights; write a new Personal Access Token into that file"' \
	sh "$(job_line "$job")" "$FG06_TOKEN_FILE"
fg_ok "the queue never shows the token" sh -c \
	'! "$1" queue --repo "$2" --format json | grep -qF "$3"' sh "$FG_BUILDDIR/fleetgate" "$srv" "$WRONG"
fg_ok "the server log never shows the token" sh -c '! grep -qF "$1" "$2"' sh "$WRONG" "$FG06_LOG"
fg06_eq "nothing was deployed" "" "$(fg06_dbl deployments)"

# ---- the admin rotates the token and retries the job
printf '%s\n' "$FG06_TOKEN" >"$FG06_TOKEN_FILE.new"
chmod 600 "$FG06_TOKEN_FILE.new"
mv "$FG06_TOKEN_FILE.new" "$FG06_TOKEN_FILE"
"$FG_BUILDDIR/fleetgate" queue retry "$job" --repo "$srv" >"$FG_TMP/retry.out" 2>&1 ||
	{ sed 's/^/# /' "$FG_TMP/retry.out"; fg_bail "queue retry failed"; }
# shellcheck disable=SC2086
$FG_VALGRIND "$FG_BUILDDIR/fleetgate" queue run --repo "$srv" --now >"$FG_TMP/run.out" 2>&1
fg_ok "with the new token the retried job has scheduled its work (following or done)" fg06_wait_scheduled "$srv" "$job" 120
fg06_eq "main's device gets pi4-v2" "pi4-v2	$M1" "$(fg06_dbl deployments | cut -f1,2)"

# ---- a token file that is a link, or readable by the group: refused
# before anything is sent, failed at once, with the fix
ln -s "$FG06_TOKEN_FILE" "$FG_TMP/etc/token-link"
fg06_policy "$pol"
sed "s|token_file: $FG06_TOKEN_FILE|token_file: $FG_TMP/etc/token-link|" "$pol" >"$pol.new" &&
	mv "$pol.new" "$pol" && chmod 644 "$pol"
fg06_promote "$w" pi4-v3 pi3-v1 main
link_job=$(fg06_job_of main)
fg_ok "a symlinked token file fails the job at once" fg06_wait_state "$srv" "$link_job" failed 30
fg_ok "... saying it is a symbolic link" sh -c 'printf "%s\n" "$1" | grep -q "token-link'"'"' is a symbolic link"' \
	sh "$(job_line "$link_job")"
fg06_policy "$pol"
chmod 640 "$FG06_TOKEN_FILE"
fg06_promote "$w" pi4-v4 pi3-v1 main
job=$(fg06_job_of main)
fg_ok "a group-readable token file fails the job at once" fg06_wait_state "$srv" "$job" failed 30
fg_ok "... saying chmod 600 FILE" sh -c 'printf "%s\n" "$1" | grep -qF "run: chmod 600 '"'"'$2'"'"'"' \
	sh "$(job_line "$job")" "$FG06_TOKEN_FILE"
fg06_eq "after one attempt each" "1 1" \
	"$(job_line "$link_job" | cut -d' ' -f5) $(job_line "$job" | cut -d' ' -f5)"
chmod 600 "$FG06_TOKEN_FILE"
fg06_log_clean "the server log holds no Mender token"
fg_done
