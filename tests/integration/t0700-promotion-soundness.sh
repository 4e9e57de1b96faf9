#!/bin/sh
# Promotion soundness through real pushes: a developer who may push only to
# develop and feature branches tries to get a commit onto main, canary or
# production that no source branch ever had (octopus merge, a commit hidden
# as a side parent, a server-side symbolic ref), and the first push into an
# empty repository creates the whole chain at one commit but cannot be
# replayed into a repository that has branches. FG_OBJECT_FORMAT=sha256
# (t0720) runs the same through the git command-line back end.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

fmt=${FG_OBJECT_FORMAT:-sha1}
pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
srv=$(fg_bare fleet "$fmt")
[ -d "$srv" ] || fg_bail "no bare repository"
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv" "$fmt")
ref() { fg_server_ref "$srv" "refs/heads/$1"; }
fg_bootstrap "$w" alice

# commit_tree WORK TREE-REV MESSAGE PARENT...: a commit made by hand, the
# way an attacker shapes one; prints its id.
commit_tree() {
	ct_w=$1 ct_tree=$2 ct_msg=$3
	shift 3
	ct_args=""
	for ct_p in "$@"; do
		ct_args="$ct_args -p $ct_p"
	done
	fg_tick
	# shellcheck disable=SC2086
	git -C "$ct_w" commit-tree -m "$ct_msg" $ct_args "$ct_tree^{tree}" ||
		fg_bail "commit-tree failed"
}

# --------------------------------------------------------- octopus merge
# X never was on develop or a feature branch; the octopus has develop's
# tree, so judging only the first parent from a source let X in.
fg_checkout "$w" develop origin/develop
fg_commit "$w" app/config.txt "version 2" "develop: version 2"
fg_push "$w" develop
fg_accepted "develop moves on"
fg_checkout "$w" smuggle origin/main
fg_commit "$w" app/config.txt "never reviewed" "X: straight onto main's line"
x=$(fg_rev "$w" smuggle)
octo=$(commit_tree "$w" develop "Merge develop" origin/main "$x" develop)
before=$(ref main)
fg_push "$w" "$octo:refs/heads/main"
fg_rejected "octopus merge (main, X, develop) into main" refs/heads/main octopus-merge
fg_has "the message names the commit" "merge $(printf %.7s "$octo") has 3 parents"
fg_has "the message says what protected branches take" \
	"protected branches take only two-parent merges"
fg_has "the hint says how" "hint: merge one source branch at a time"
fg_ref_is "$srv" refs/heads/main "$before" "main unchanged"
fg_push "$w" "$x:refs/heads/canary"
fg_rejected "canary cannot fast-forward to X either" refs/heads/canary direct-commit

# A plain two-parent merge of develop still promotes.
fg_fetch "$w"
fg_checkout "$w" main
fg_merge "$w" --no-ff -m "Merge develop" origin/develop
fg_push "$w" main
fg_accepted "develop -> main by a two-parent merge"

# --------------------------------------------------------- side parent
# X is built on canary; a feature commit made with "merge -s theirs" hides
# X as its first parent. Merging the feature into main is an ordinary
# promotion, but X is then reachable from main without main ever having
# been at X.
fg_fetch "$w"
fg_checkout "$w" side origin/canary
fg_commit "$w" app/config.txt "canary only" "X: built on canary"
x=$(fg_rev "$w" side)
fg_checkout "$w" feature/theirs origin/main
fg_commit "$w" app/theirs.txt "feature" "feature work"
y=$(commit_tree "$w" feature/theirs "Merge X, keep ours" "$x" feature/theirs)
fg_push "$w" "$y:refs/heads/feature/theirs"
fg_accepted "feature branch with X as a side parent (unprotected)"
fg_fetch "$w"
fg_checkout "$w" main
fg_merge "$w" --no-ff -m "Merge feature/theirs" origin/feature/theirs
fg_push "$w" main
fg_accepted "the feature merge into main is a promotion (main had its tree)"
before=$(ref canary)
fg_push "$w" "$x:refs/heads/canary"
fg_rejected "canary fast-forward to X, a state main never had" refs/heads/canary \
	direct-commit
fg_has "the message names main's first-parent history" \
	"is not on main's first-parent history"
fg_ref_is "$srv" refs/heads/canary "$before" "canary unchanged"
fg_fetch "$w"
fg_checkout "$w" sidemerge origin/canary
fg_merge "$w" --no-ff -m "Promote X" "$x"
fg_push "$w" sidemerge:refs/heads/canary
fg_rejected "a merge of X into canary" refs/heads/canary direct-commit
fg_main_into_canary "$w"
fg_push "$w" canary
fg_accepted "main -> canary by merge still promotes"

# --------------------------------------------------------- symbolic ref
# The server has master -> main; git moves main when master is pushed.
git -C "$srv" symbolic-ref refs/heads/master refs/heads/main ||
	fg_bail "symbolic-ref on the server failed"
fg_fetch "$w"
fg_checkout "$w" direct origin/main
fg_commit "$w" app/config.txt "direct" "direct commit for main"
before=$(ref main)
fg_push "$w" direct:refs/heads/master
if [ "$FG_RC" -ne 0 ]; then
	fg_pass "push to master (-> main) refused"
else
	fg_fail "push to master (-> main) refused" "$(cat "$FG_OUT")"
fi
fg_has "judged as main, both named" \
	"rejected refs/heads/master (-> refs/heads/main) $(git -C "$w" rev-parse --short=7 direct): direct-commit:"
fg_ref_is "$srv" refs/heads/main "$before" "main unchanged"
fg_feature_into_main "$w" viamaster
fg_push "$w" main:refs/heads/master
fg_accepted "a promotion pushed to master is judged as main and accepted"
fg_ref_is "$srv" refs/heads/main "$(fg_rev "$w" main)" "git moved main"
git -C "$srv" symbolic-ref refs/heads/release refs/tags/v1 ||
	fg_bail "symbolic-ref to a tag failed"
fg_push "$w" direct:refs/heads/release
fg_has "a symbolic ref pointing outside refs/heads is refused" \
	"rejected refs/heads/release (-> refs/tags/v1) "
fg_has "with rule symbolic-ref" ": symbolic-ref: refs/heads/release is a symbolic ref"
fg_ref_is "$srv" refs/tags/v1 "" "no tag was created through it"

# --------------------------------------------------------- first push
srv2=$(fg_bare empty "$fmt")
fg_install "$srv2" "$pol" || fg_bail "fleetgate install failed"
w2=$(fg_work first "file://$srv2" "$fmt")
fg_commit "$w2" app/config.txt "version 1" "initial fleet setup"
git -C "$w2" branch -q -M develop
fg_push_env REMOTE_USER=alice "$w2" develop develop:main develop:canary \
	develop:production
fg_accepted "first push into an empty repository creates the whole chain"
for b in develop main canary production; do
	fg_ref_is "$srv2" "refs/heads/$b" "$(fg_rev "$w2" develop)" "$b created"
done

# The same push shape into a repository that already has a branch: every
# protected branch is judged against the refs before the push.
srv3=$(fg_bare started "$fmt")
fg_install "$srv3" "$pol" || fg_bail "fleetgate install failed"
w3=$(fg_work started "file://$srv3" "$fmt")
fg_commit "$w3" app/config.txt "version 1" "initial fleet setup"
git -C "$w3" branch -q -M develop
fg_push "$w3" develop
fg_accepted "develop alone into a new repository"
fg_commit "$w3" app/config.txt "unreviewed" "develop moves on"
fg_push_env REMOTE_USER=alice "$w3" develop develop:main develop:canary \
	develop:production
fg_rejected "main is not created at a commit develop had" refs/heads/main \
	create-outside-promotion
fg_rejected "canary neither" refs/heads/canary create-outside-promotion
fg_rejected "production neither" refs/heads/production create-outside-promotion
fg_ref_is "$srv3" refs/heads/canary "" "no canary"

srv4=$(fg_bare skipping "$fmt")
fg_install "$srv4" "$pol" || fg_bail "fleetgate install failed"
w4=$(fg_work skipping "file://$srv4" "$fmt")
fg_commit "$w4" app/config.txt "version 1" "initial fleet setup"
git -C "$w4" branch -q -M develop
fg_commit "$w4" app/config.txt "version 2" "develop: version 2"
fg_push_env REMOTE_USER=alice "$w4" develop develop~1:refs/heads/main \
	develop:refs/heads/canary
fg_rejected "first push: canary not at the commit main is created at" \
	refs/heads/canary create-outside-promotion
fg_push_env REMOTE_USER=alice "$w4" develop develop:refs/heads/canary \
	develop:refs/heads/production
fg_rejected "first push: canary without main" refs/heads/canary create-outside-promotion
fg_rejected "first push: production without main" refs/heads/production \
	create-outside-promotion
fg_ref_is "$srv4" refs/heads/develop "" "the rejected pushes created nothing"

fg_done
