#!/bin/sh
# The promotion gate over smart HTTP: git http-backend behind lighttpd on
# 127.0.0.1 with basic auth, so the pusher is REMOTE_USER as set by the web
# server (never by the client). The core accepted flow, the main rejections
# and the pusher rules.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build
command -v lighttpd >/dev/null 2>&1 || fg_bail "lighttpd is not installed (scripts/deps)"

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
srv=$(fg_bare fleet)
[ -d "$srv" ] || fg_bail "no bare repository"
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
git -C "$srv" config http.receivepack true
users=$FG_TMP/htusers
printf 'alice:alice-pw\nmallory:mallory-pw\ncarol:carol-pw\n' >"$users"
chmod 600 "$users"
fg_http_start "$FG_TMP/srv" "$users" || fg_bail "lighttpd did not start"
url() { echo "http://$1:$1-pw@127.0.0.1:$FG_HTTP_PORT/git/fleet.git"; }
# A client claiming to be someone in its own environment changes nothing:
# over HTTP only the web server decides who pushes.
as() { git -C "$w" remote set-url origin "$(url "$1")"; }
ref() { fg_server_ref "$srv" "refs/heads/$1"; }

w=$(fg_work dev "$(url carol)")
git -C "$w" remote set-url origin "http://carol:wrong@127.0.0.1:$FG_HTTP_PORT/git/fleet.git"
fg_commit "$w" app/config.txt "version 1" "initial fleet setup"
git -C "$w" branch -q -M develop
fg_push "$w" develop
if [ "$FG_RC" -ne 0 ] && [ -z "$(ref develop)" ]; then
	fg_pass "a wrong password cannot push"
else
	fg_fail "a wrong password cannot push" "$(cat "$FG_OUT")"
fi

as carol
fg_push "$w" develop
fg_accepted "develop created over HTTP"
fg_push "$w" develop:refs/heads/main
fg_accepted "main created at a commit of develop"
fg_push "$w" develop:refs/heads/canary
fg_accepted "canary created at a commit of main"
fg_push "$w" develop:refs/heads/production
fg_rejected "carol (not in pushers) cannot create production" refs/heads/production \
	pusher-not-allowed
fg_ref_is "$srv" refs/heads/production "" "production not created"
as alice
fg_push "$w" develop:refs/heads/production
fg_accepted "alice (@sre) creates production at a commit of canary"
fg_fetch "$w"

as carol
fg_feature_into_main "$w" sensors
fg_push "$w" main
fg_accepted "feature/sensors -> main by merge over HTTP (objects in quarantine)"
fg_fetch "$w"
fg_main_into_canary "$w"
fg_push "$w" canary
fg_accepted "main -> canary by merge --no-ff over HTTP"
fg_fetch "$w"

fg_checkout "$w" production
fg_merge "$w" --no-ff -m "Release" origin/canary
before=$(ref production)
as mallory
fg_push_env REMOTE_USER=alice "$w" production
fg_rejected "mallory cannot promote to production (client env ignored)" \
	refs/heads/production pusher-not-allowed
fg_has "the message names mallory" "mallory"
fg_ref_is "$srv" refs/heads/production "$before" "production unchanged"
as alice
fg_push "$w" production
fg_accepted "alice promotes canary -> production"
fg_ref_is "$srv" refs/heads/production "$(fg_rev "$w" production)" "production moved"

as carol
fg_fetch "$w"
before=$(ref canary)
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "hotfix" "hotfix straight on canary"
fg_push "$w" canary
fg_rejected "direct commit on canary over HTTP" refs/heads/canary direct-commit
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged"

fg_feature_into_main "$w" evil
fg_push "$w" main
fg_accepted "feature/evil -> main"
fg_fetch "$w"
before=$(ref canary)
fg_checkout "$w" canary
fg_tick
git -C "$w" merge -q --no-ff --no-commit origin/main >/dev/null 2>&1
printf 'not what main has\n' >"$w/app/evil.txt"
git -C "$w" commit -q -a -m "Promote main to canary" >/dev/null || fg_bail "evil merge"
fg_push "$w" canary
fg_rejected "evil merge into canary over HTTP" refs/heads/canary modified-merge
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged after evil merge"

fg_checkout "$w" canary
git -C "$w" reset -q --hard HEAD~1
fg_push "$w" --force canary
fg_rejected "force push over HTTP" refs/heads/canary non-fast-forward
as alice
fg_push "$w" :refs/heads/production
fg_rejected "alice cannot delete production either" refs/heads/production delete-protected
fg_ok "production still exists" test -n "$(ref production)"

fg_done
