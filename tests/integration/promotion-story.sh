# The promotion story, sourced (never run by itself) by the scripts that set
# its two parameters, as git runs its suite under GIT_TEST_DEFAULT_HASH:
#   FG_TRANSPORT=file  t0100 (sha1), t0130 (sha256)
#   FG_TRANSPORT=http  t0110 (sha1), t0115 (sha256): git http-backend behind
#                      lighttpd on 127.0.0.1 with basic auth, so the web
#                      server, never the client, says who pushes
#   FG_HASH=sha1|sha256  the object format of the server and work repository
# The real git client pushes to a bare repository with the hooks installed
# by `fleetgate install`: every accepted flow and every rejection of the
# shipped policy, each rejection asserted on the rule name users see and on
# the server's ref staying where it was. What only one transport or hash can
# show is guarded by its parameter.
if [ -z "${FG_TRANSPORT:-}" ] || [ -z "${FG_HASH:-}" ]; then
	echo "Bail out! promotion-story.sh is sourced by a script that sets FG_TRANSPORT and FG_HASH"
	exit 1
fi
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
fg_serve fleet "$pol" alice bob carol mallory release-bot fleet-admin
srv=$FG_SRV
fg_ok "install: hooks/pre-receive is executable" test -x "$srv/hooks/pre-receive"
fg_ok "install: policy path recorded in the repository" \
	test "$(git -C "$srv" config fleetgate.policy)" = "$pol"
fg_ok "server repository is $FG_HASH" \
	test "$(git -C "$srv" rev-parse --show-object-format)" = "$FG_HASH"
# The developer pushes what the rules let anyone push: over file:// with no
# known pusher at all (plain ssh without a forge), over http as carol, who
# is in no group.
developer=""
[ "$FG_TRANSPORT" = http ] && developer=carol
w=$(fg_work dev "$(fg_url carol)" "$FG_HASH")
ref() { fg_server_ref "$srv" "refs/heads/$1"; }

# --------------------------------------------------------------- creation
fg_commit "$w" app/config.txt "version 1" "initial fleet setup"
git -C "$w" branch -q -M develop
if [ "$FG_TRANSPORT" = http ]; then
	git -C "$w" remote set-url origin "$(fg_url carol wrong)"
	fg_push "$w" develop
	if [ "$FG_RC" -ne 0 ] && [ -z "$(ref develop)" ]; then
		fg_pass "a wrong password cannot push"
	else
		fg_fail "a wrong password cannot push" "$(cat "$FG_OUT")"
	fi
fi
fg_as "$developer"
fg_send "$w" develop
fg_accepted "develop created (unprotected)"

fg_as alice
fg_send "$w" develop:refs/heads/production
fg_rejected "production created before canary exists" refs/heads/production \
	create-outside-promotion
fg_ref_is "$srv" refs/heads/production "" "production was not created"

fg_as "$developer"
fg_send "$w" develop:refs/heads/main
fg_accepted "main created at a commit of develop"
fg_send "$w" develop:refs/heads/canary
fg_accepted "canary created at a commit of main"

fg_commit "$w" app/config.txt "version 2" "develop moves on"
fg_send "$w" develop
fg_accepted "develop fast-forward"
fg_as alice
fg_send "$w" develop:refs/heads/production
fg_rejected "production created at a commit not on canary" refs/heads/production \
	create-outside-promotion
fg_has "rejection names the short commit" \
	"refs/heads/production $(git -C "$w" rev-parse --short=7 develop)"
fg_summary_is 1 1 "summary line counts 1 of 1"
fg_ref_is "$srv" refs/heads/production "" "production still absent"

fg_fetch "$w"
if [ "$FG_TRANSPORT" = file ]; then
	fg_as ""
	fg_send "$w" origin/canary:refs/heads/production
	fg_rejected "production created without a known pusher" refs/heads/production \
		pusher-not-allowed
fi
fg_as carol
fg_send "$w" origin/canary:refs/heads/production
fg_rejected "carol (not in pushers) cannot create production" refs/heads/production \
	pusher-not-allowed
fg_ref_is "$srv" refs/heads/production "" "production not created by carol"
fg_as alice
fg_send "$w" origin/canary:refs/heads/production
fg_accepted "production created at canary by alice (@sre)"
fg_ok "ids on the server are $(fg_hexlen) hex digits" \
	test "$(printf %s "$(ref production)" | wc -c)" -eq "$(fg_hexlen)"
fg_fetch "$w"

# --------------------------------------------------------------- promotions
fg_as "$developer"
fg_feature_into_main "$w" login
fg_send "$w" main
fg_accepted "feature/login -> main by merge --no-ff (objects in quarantine)"

fg_checkout "$w" develop
fg_merge "$w" --no-ff -m "Sync main into develop" origin/main
fg_send "$w" develop
fg_accepted "main merged back into develop"
fg_checkout "$w" main
fg_merge "$w" --ff-only develop
fg_send "$w" main
fg_accepted "develop -> main by fast-forward (direct commits of develop included)"
fg_ref_is "$srv" refs/heads/main "$(fg_rev "$w" develop)" "main is develop's tip"

fg_fetch "$w"
fg_main_into_canary "$w"
fg_send "$w" canary
fg_accepted "main -> canary by merge --no-ff"

fg_fetch "$w"
fg_checkout "$w" production
fg_merge "$w" --ff-only origin/canary
fg_as bob
fg_send "$w" production
fg_accepted "canary -> production by fast-forward (bob, @sre)"
fg_ref_is "$srv" refs/heads/production "$(ref canary)" "production is canary's tip"

# --------------------------------------------------------------- rejections
fg_as "$developer"
fg_fetch "$w"
before=$(ref canary)
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "hotfix on canary" "hotfix straight on canary"
fg_send "$w" canary
fg_rejected "direct commit on canary" refs/heads/canary direct-commit
fg_has "the hint says to merge main into canary" "hint: merge main into canary"
fg_hasnt "without GL_ID no GitLab prefix" "GL-HOOK-ERR"
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged after direct commit"

fg_checkout "$w" develop
fg_commit "$w" app/experimental.txt "untested" "experiment on develop"
fg_send "$w" develop
fg_accepted "develop gets an untested commit"
before=$(ref production)
fg_checkout "$w" production
fg_merge "$w" --no-ff -m "Merge develop into production" develop
fg_as alice
fg_send "$w" production
fg_rejected "merge of develop into production" refs/heads/production \
	direct-commit
fg_ref_is "$srv" refs/heads/production "$before" "production unchanged"

fg_as "$developer"
fg_feature_into_main "$w" metrics
fg_send "$w" main
fg_accepted "feature/metrics -> main"
fg_fetch "$w"
before=$(ref canary)
fg_checkout "$w" canary
fg_tick
git -C "$w" merge -q --no-ff --no-commit origin/main >/dev/null 2>&1
printf 'sneaked in\n' >"$w/app/metrics.txt"
git -C "$w" commit -q -a -m "Promote main to canary" >/dev/null || fg_bail "evil merge"
fg_send "$w" canary
fg_rejected "evil merge into canary (tree differs from main's)" refs/heads/canary \
	modified-merge
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged after evil merge"

fg_checkout "$w" canary
git -C "$w" reset -q --hard HEAD~1
fg_send "$w" --force canary
fg_rejected "force push rewinding canary" refs/heads/canary non-fast-forward
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged after force push"

before=$(ref main)
fg_checkout "$w" main
fg_tick
git -C "$w" commit -q --amend -m "rewritten history" || fg_bail "amend"
fg_send "$w" --force main
fg_rejected "force push rewriting main" refs/heads/main non-fast-forward
fg_ref_is "$srv" refs/heads/main "$before" "main unchanged after force push"

# a deletion's new id is all zeros (40 or 64 of them)
fg_as alice
fg_send "$w" :refs/heads/production
fg_rejected "deleting production (even alice, @sre)" refs/heads/production \
	delete-protected
fg_as "$developer"
before=$(ref canary)
fg_send "$w" :refs/heads/canary
fg_rejected "deleting canary" refs/heads/canary delete-protected
fg_ref_is "$srv" refs/heads/canary "$before" "canary still exists"
fg_ok "production still exists" test -n "$(ref production)"

# One good and one bad ref in one atomic push: nothing lands, only the bad
# one is named.
fg_fetch "$w"
canary_before=$(ref canary)
main_before=$(ref main)
fg_main_into_canary "$w"
fg_checkout "$w" main
fg_commit "$w" app/config.txt "direct on main" "direct commit on main"
fg_send "$w" --atomic canary main
fg_rejected "atomic push: the direct commit on main" refs/heads/main direct-commit
fg_hasnt "atomic push: the good canary promotion is not blamed" \
	"fleetgate: rejected refs/heads/canary"
fg_summary_is 1 2 "atomic push: 1 of 2 refs break the rules"
fg_ref_is "$srv" refs/heads/canary "$canary_before" "atomic push: canary did not land"
fg_ref_is "$srv" refs/heads/main "$main_before" "atomic push: main did not land"
fg_send "$w" canary
fg_accepted "the same canary promotion alone is accepted"

# --------------------------------------------------------------- pushers
fg_fetch "$w"
before=$(ref production)
fg_checkout "$w" production
fg_merge "$w" --no-ff -m "Release" origin/canary
fg_as mallory
fg_send "$w" production
fg_rejected "mallory may not push production" refs/heads/production pusher-not-allowed
fg_has "the message names the pusher" "mallory"
fg_ref_is "$srv" refs/heads/production "$before" "production unchanged (mallory)"
if [ "$FG_TRANSPORT" = file ]; then
	fg_as ""
	fg_send "$w" production
	fg_rejected "unknown pusher may not push production" refs/heads/production \
		pusher-not-allowed
	fg_as alice
	fg_send GITEA_PUSHER_NAME=mallory "$w" production
	fg_rejected "GITEA_PUSHER_NAME wins over REMOTE_USER" refs/heads/production \
		pusher-not-allowed
else
	# A client claiming to be someone in its own environment changes
	# nothing: over http only the web server decides who pushes.
	fg_send REMOTE_USER=alice "$w" production
	fg_rejected "mallory cannot promote to production (client's REMOTE_USER ignored)" \
		refs/heads/production pusher-not-allowed
	fg_send GITEA_PUSHER_NAME=alice GL_USERNAME=alice "$w" production
	fg_rejected "mallory cannot promote to production (client's forge variables ignored)" \
		refs/heads/production pusher-not-allowed
fi
fg_ref_is "$srv" refs/heads/production "$before" "production unchanged (claimed pushers)"
fg_as release-bot
fg_send "$w" production
fg_accepted "release-bot (named pusher) promotes canary -> production by merge"
fg_ref_is "$srv" refs/heads/production "$(fg_rev "$w" production)" "production moved"

# --------------------------------------------------------------- GitLab
# Over file:// the hook inherits the push's environment as it would a
# GitLab server's; over http the client's GL_* never reach the hook.
fg_as "$developer"
fg_fetch "$w"
before=$(ref canary)
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "gitlab direct" "direct commit via gitlab"
fg_send GL_ID=user-7 GL_USERNAME=mallory GL_PROTOCOL=ssh "$w" canary
fg_rejected "GitLab: direct commit on canary" refs/heads/canary direct-commit
if [ "$FG_TRANSPORT" = file ]; then
	fg_has "GitLab: lines start with GL-HOOK-ERR:" \
		"remote: GL-HOOK-ERR: fleetgate: rejected refs/heads/canary"
	if grep -qE '^remote: fleetgate:' "$FG_OUT"; then
		fg_fail "GitLab: no error line without the GL-HOOK-ERR: prefix" "$(cat "$FG_OUT")"
	else
		fg_pass "GitLab: no error line without the GL-HOOK-ERR: prefix"
	fi
else
	fg_has "a client's GL_ID is no GitLab: plain fleetgate lines" \
		"remote: fleetgate: rejected refs/heads/canary"
	fg_hasnt "a client's GL_ID is no GitLab: no GL-HOOK-ERR: prefix" "GL-HOOK-ERR"
fi
fg_ref_is "$srv" refs/heads/canary "$before" "GitLab: canary unchanged"

# --------------------------------------------------------------- via MR
pol_mr=$FG_TMP/policy-mr.yaml
cat >"$pol_mr" <<'POL'
version: 1
branches:
  main:       { promote_from: [develop, "feature/*"] }
  canary:     { promote_from: [main], via_merge_request: true }
  production: { promote_from: [canary], pushers: ["@sre", release-bot] }
groups:
  sre: [alice, bob]
bypass: [fleet-admin]
POL
git -C "$srv" config fleetgate.policy "$pol_mr"
fg_fetch "$w"
fg_feature_into_main "$w" ota
fg_send "$w" main
fg_accepted "via_merge_request policy: main still takes pushes"
fg_fetch "$w"
before=$(ref canary)
fg_main_into_canary "$w"
fg_send "$w" canary
fg_rejected "via_merge_request: a plain push of the promotion" refs/heads/canary \
	merge-request-required
fg_send GITEA_PR_ID=0 "$w" canary
fg_rejected "via_merge_request: GITEA_PR_ID=0 is no merge request" refs/heads/canary \
	merge-request-required
fg_ref_is "$srv" refs/heads/canary "$before" "via_merge_request: canary unchanged"
# Over file:// the hook inherits a forge's merge-request variables; over
# http a client setting them in its own environment is still a plain push.
fg_send GITEA_PR_ID=42 GITEA_PUSHER_NAME=alice "$w" canary
if [ "$FG_TRANSPORT" = file ]; then
	fg_accepted "via_merge_request: Gitea merge (GITEA_PR_ID=42) accepted"
else
	fg_rejected "via_merge_request: a client's GITEA_PR_ID=42 is no merge request" \
		refs/heads/canary merge-request-required
fi
fg_fetch "$w"
fg_feature_into_main "$w" ota2
fg_send "$w" main
fg_fetch "$w"
fg_main_into_canary "$w"
fg_send GL_ID=user-3 GL_USERNAME=alice GL_PROTOCOL=web "$w" canary
if [ "$FG_TRANSPORT" = file ]; then
	fg_accepted "via_merge_request: GitLab web merge (GL_PROTOCOL=web) accepted"
else
	fg_rejected "via_merge_request: a client's GL_PROTOCOL=web is no merge request" \
		refs/heads/canary merge-request-required
	fg_ref_is "$srv" refs/heads/canary "$before" \
		"via_merge_request: canary unchanged by claimed merge requests"
fi
git -C "$srv" config fleetgate.policy "$pol"

# --------------------------------------------------------------- unprotected
fg_fetch "$w"
fg_checkout "$w" feature/scratch origin/develop
fg_commit "$w" notes.txt "one" "scratch 1"
fg_send "$w" feature/scratch
fg_accepted "unprotected: feature branch created"
git -C "$w" reset -q --hard HEAD~1
fg_commit "$w" notes.txt "two" "scratch rewritten"
fg_send "$w" --force feature/scratch
fg_accepted "unprotected: force push to a feature branch"
fg_send "$w" :refs/heads/feature/scratch
fg_accepted "unprotected: feature branch deleted"
fg_ref_is "$srv" refs/heads/feature/scratch "" "unprotected: feature branch gone"
fg_checkout "$w" develop
git -C "$w" reset -q --hard HEAD~1
fg_send "$w" --force develop
fg_accepted "unprotected: develop may be rewound"
fg_checkout "$w" loose origin/develop
fg_commit "$w" loose.txt "loose" "commit on no branch"
git -C "$w" tag light HEAD
fg_tick
git -C "$w" tag -a -m "annotated release" v1.0 HEAD
git -C "$w" tag -a -m "annotated production" prod-1 origin/production
fg_send "$w" refs/tags/light refs/tags/v1.0 refs/tags/prod-1 loose
fg_accepted "unprotected: lightweight and annotated tags and a branch created (zero old ids)"
fg_ref_is "$srv" refs/tags/v1.0 "$(fg_rev "$w" loose)" "annotated tag peels to its commit"
fg_send "$w" --force :refs/tags/light :refs/tags/v1.0 :refs/heads/loose
fg_accepted "unprotected: tags and a branch deleted (zero new ids)"

# An annotated tag and a bad branch update in one push: only the branch is
# rejected.
before=$(ref canary)
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "direct again" "direct commit on canary"
fg_tick
git -C "$w" tag -a -m "tag of a direct commit" v2.0 HEAD
fg_send "$w" refs/tags/v2.0 canary
fg_rejected "annotated tag + direct commit: the branch is rejected" refs/heads/canary \
	direct-commit
fg_hasnt "annotated tag + direct commit: the tag is not blamed" "rejected refs/tags/v2.0"
fg_summary_is 1 2 "annotated tag + direct commit: 1 of 2 refs"
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged"

# --------------------------------------------------------------- many refs
# The same input handling in both hashes; a SHA-256 push is judged through
# git, about 85 ms of git processes per ref (docs/security.md), so it runs
# with 100 refs (many times that under valgrind) and SHA-1 with 1,000.
bulk=1000
[ "$FG_HASH" = sha1 ] || bulk=100
fg_fetch "$w"
tip=$(fg_rev "$w" origin/develop)
i=0
while [ $i -lt "$bulk" ]; do
	printf 'create refs/heads/bulk/b%04d %s\n' $i "$tip"
	i=$((i + 1))
done | git -C "$w" update-ref --stdin || fg_bail "update-ref --stdin"
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "bulk direct" "direct commit in a bulk push"
fg_send "$w" 'refs/heads/bulk/*:refs/heads/bulk/*' canary
fg_rejected "$((bulk + 1)) refs with one bad: canary rejected" refs/heads/canary direct-commit
fg_ok "$((bulk + 1)) refs with one bad: exactly one ref named" test "$(fg_count_rejected)" = 1
fg_summary_is 1 $((bulk + 1)) "$((bulk + 1)) refs with one bad: 1 of $((bulk + 1))"
fg_ok "$((bulk + 1)) refs with one bad: no bulk ref landed" \
	test -z "$(git -C "$srv" for-each-ref refs/heads/bulk/)"
fg_send "$w" 'refs/heads/bulk/*:refs/heads/bulk/*'
fg_accepted "$bulk unprotected refs in one push accepted"
fg_ok "$bulk refs on the server" \
	test "$(git -C "$srv" for-each-ref refs/heads/bulk/ | wc -l)" -eq "$bulk"
git -C "$w" for-each-ref --format=':%(refname)' refs/heads/bulk/ >"$FG_TMP/deletions"
# shellcheck disable=SC2046
fg_send "$w" $(cat "$FG_TMP/deletions")
fg_accepted "$bulk unprotected refs deleted in one push"
fg_ok "no bulk ref left on the server" \
	test -z "$(git -C "$srv" for-each-ref refs/heads/bulk/)"

# --------------------------------------------------------------- bypass
before=$(ref canary)
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "break glass" "emergency fix"
fg_as fleet-admin
fg_send "$w" canary
fg_accepted "bypass pusher: direct commit on canary accepted"
fg_has "bypass pusher: loud WARNING line" \
	"remote: fleetgate: WARNING: fleet-admin bypassed the promotion rules for refs/heads/canary"
fg_ref_is "$srv" refs/heads/canary "$(fg_rev "$w" canary)" "bypass pusher: canary moved"

# --------------------------------------------------------------- fleet files
# Every pushed branch's fleet.yaml is checked (validate: all); in a SHA-256
# repository through trees git exports (libgit2 1.5 cannot read SHA-256
# objects).
fg_as "$developer"
fg_fetch "$w"
fg_checkout "$w" develop
fg_commit "$w" fleet.yaml "version: 1
default_branch: production
default_branch: canary" "duplicate key in fleet.yaml"
before=$(ref develop)
fg_send "$w" develop
fg_rejected "a broken fleet.yaml is rejected" refs/heads/develop fleet-invalid
fg_has "the finding names fleet.yaml, its line and the duplicate key" \
	"fleet.yaml:3:1: duplicate key 'default_branch'"
fg_ref_is "$srv" refs/heads/develop "$before" "develop unchanged"

# --------------------------------------------------------------- policy errors
# Fail closed: every ref, protected or not, is rejected with policy-error.
policy_rejects() { # DESC
	fg_send "$w" feature/policy
	fg_rejected "$1: unprotected push rejected" refs/heads/feature/policy policy-error
	fg_ref_is "$srv" refs/heads/feature/policy "" "$1: nothing landed"
}
fg_checkout "$w" feature/policy origin/develop
fg_commit "$w" notes.txt "policy" "policy probe"

git -C "$srv" config fleetgate.policy "$FG_TMP/no-such-policy.yaml"
policy_rejects "missing policy file"
fg_has "missing policy file: the message names the file" "no-such-policy.yaml"

broken=$FG_TMP/broken.yaml
git -C "$srv" config fleetgate.policy "$broken"
{ cat "$pol"; echo "colour: blue"; } >"$broken"
policy_rejects "policy with an unknown key"
printf 'version: 1\nbranches: 5\n' >"$broken"
policy_rejects "policy with a wrong type"
printf 'version: 1\nbranches:\n  main: { promote_from: [develop\n' >"$broken"
policy_rejects "policy that is not YAML"
fg_policy_default "$broken"
chmod 666 "$broken"
policy_rejects "policy writable by others"
chmod 644 "$broken"
fg_send "$w" feature/policy
fg_accepted "the same policy, no longer writable by others, accepts"

fg_done
