#!/bin/sh
# The gate in a SHA-256 repository: 64-hex object ids and 64-zero ids for
# creations and deletions, pushed over file:// by the real git client.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
srv=$(fg_bare fleet sha256)
[ -d "$srv" ] || fg_bail "no bare repository"
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
fg_ok "server repository is SHA-256" \
	test "$(git -C "$srv" rev-parse --show-object-format)" = sha256
w=$(fg_work dev "file://$srv" sha256)
ref() { fg_server_ref "$srv" "refs/heads/$1"; }

fg_bootstrap "$w" alice
fg_ok "ids on the server are 64 hex digits" \
	test "$(printf %s "$(ref production)" | wc -c)" -eq 64

fg_feature_into_main "$w" a
fg_push "$w" main
fg_accepted "feature/a -> main by merge"
fg_checkout "$w" develop
fg_merge "$w" --ff-only origin/main
fg_commit "$w" app/b.txt "b" "develop: b"
fg_push "$w" develop
fg_accepted "develop moves on"
fg_checkout "$w" main
fg_merge "$w" --ff-only develop
fg_push "$w" main
fg_accepted "develop -> main by fast-forward"
fg_fetch "$w"
fg_main_into_canary "$w"
fg_push "$w" canary
fg_accepted "main -> canary by merge --no-ff"
fg_fetch "$w"
fg_checkout "$w" production
fg_merge "$w" --no-ff -m "Release" origin/canary
fg_push_env REMOTE_USER=bob "$w" production
fg_accepted "canary -> production by merge (bob)"
fg_ref_is "$srv" refs/heads/production "$(fg_rev "$w" production)" "production moved"

fg_fetch "$w"
before=$(ref canary)
fg_checkout "$w" canary
fg_commit "$w" app/config.txt "direct" "direct commit on canary"
fg_push "$w" canary
fg_rejected "direct commit on canary" refs/heads/canary direct-commit
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged"

fg_feature_into_main "$w" c
fg_push "$w" main
fg_accepted "feature/c -> main"
fg_fetch "$w"
fg_checkout "$w" canary
fg_tick
git -C "$w" merge -q --no-ff --no-commit origin/main >/dev/null 2>&1
printf 'changed on the way\n' >"$w/app/c.txt"
git -C "$w" commit -q -a -m "Promote main to canary" >/dev/null || fg_bail "evil merge"
fg_push "$w" canary
fg_rejected "evil merge into canary" refs/heads/canary modified-merge

fg_checkout "$w" canary
git -C "$w" reset -q --hard HEAD~1
fg_push "$w" --force canary
fg_rejected "force push" refs/heads/canary non-fast-forward
fg_push "$w" :refs/heads/canary
fg_rejected "deletion (64-zero new id)" refs/heads/canary delete-protected
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged"

fg_checkout "$w" develop
fg_commit "$w" app/untested.txt "untested" "develop: untested"
fg_push "$w" develop
fg_accepted "develop gets an untested commit"
before=$(ref production)
fg_checkout "$w" production
fg_merge "$w" --no-ff -m "Merge develop into production" develop
fg_push_env REMOTE_USER=alice "$w" production
fg_rejected "merge of develop into production" \
	refs/heads/production direct-commit
fg_ref_is "$srv" refs/heads/production "$before" "production unchanged"

fg_fetch "$w"
fg_main_into_canary "$w"
fg_push "$w" canary
fg_accepted "main -> canary again"
fg_fetch "$w"
fg_checkout "$w" production
fg_merge "$w" --no-ff -m "Release 2" origin/canary
fg_push_env REMOTE_USER=mallory "$w" production
fg_rejected "mallory may not push production" refs/heads/production pusher-not-allowed
fg_ref_is "$srv" refs/heads/production "$before" "production unchanged"

fg_checkout "$w" loose origin/develop
fg_commit "$w" loose.txt "x" "loose commit"
fg_tick
git -C "$w" tag -a -m "release" v1 HEAD
fg_push "$w" refs/tags/v1 loose
fg_accepted "annotated tag and unprotected branch (creations with 64-zero old id)"
fg_ref_is "$srv" refs/tags/v1 "$(fg_rev "$w" loose)" "tag peels to the commit"
fg_push "$w" :refs/tags/v1 :refs/heads/loose
fg_accepted "unprotected deletions"

# the fleet files are checked too, through trees git exports (libgit2 1.5
# cannot read SHA-256 objects)
fg_checkout "$w" develop
fg_commit "$w" fleet.yaml "version: 1
default_branch: production
default_branch: canary" "duplicate key in fleet.yaml"
before=$(fg_server_ref "$srv" refs/heads/develop)
fg_push "$w" develop
fg_rejected "a broken fleet.yaml is rejected in a SHA-256 repository" \
	refs/heads/develop fleet-invalid
fg_has "the finding names fleet.yaml, its line and the duplicate key" \
	"fleet.yaml:3:1: duplicate key 'default_branch'"
fg_ref_is "$srv" refs/heads/develop "$before" "develop unchanged"

fg_done
