#!/bin/sh
# Adversarial: history shapes that smuggle a commit past the promotion
# rules. mallory may push only develop and feature/*; whatever reaches
# main, canary or production must come first-parent-wise from its source.
#   - octopus merge into main hiding a commit X that no source has
#     (octopus-merge), and canary fast-forwarded to such an X (direct-commit)
#   - X hidden as the first parent of a feature commit merged into main,
#     then canary fast-forwarded to X (direct-commit)
#   - a server symref (master -> main, prod -> production) as an alias of a
#     protected branch (judged as the target, message names the alias); a
#     push to HEAD (the server's symref to main)
#   - regressions: a tag object or a non-commit pushed to a protected
#     branch, --atomic mixes, develop moved and main promoted in one push
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/adversarial/lib.sh"

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"

# X: a commit on canary's tip that no source branch ever had.
make_x() {
	fg_checkout "$FA_W" evil origin/canary
	fg_commit "$FA_W" app/x.txt "only mallory has this" "X: never on develop"
	fg_rev "$FA_W" evil
}

octopus() {
	fa_server octopus "$pol"
	fa_chain
	fg_checkout "$FA_W" develop
	fg_commit "$FA_W" app/d1.txt "d1" "develop moves on"
	fa_push develop
	fa_accepted_or_bail develop
	d1=$(fg_rev "$FA_W" develop)
	x=$(make_x)
	main0=$(fa_ref main)
	o=$(fa_commit_tree "$FA_W" "$d1^{tree}" "Merge develop into main" "$main0" "$x" "$d1")
	fa_push "$o:refs/heads/main"
	fa_rejected "octopus (main, X, develop) into main" refs/heads/main octopus-merge
	fa_unmoved main "$main0" "main unchanged after the octopus"

	# The same octopus already on main (put there on the server): X is
	# reachable from main, but not on its first-parent history.
	fa_server_set main "$o"
	canary0=$(fa_ref canary)
	fa_push "$x:refs/heads/canary"
	fa_rejected "canary fast-forward to X hidden in an octopus on main" \
		refs/heads/canary direct-commit
	fa_unmoved canary "$canary0" "canary unchanged (X)"
}

side_parent() {
	fa_server side "$pol"
	fa_chain
	x=$(make_x)
	main0=$(fa_ref main)
	# Y: a feature commit (main's tree plus a feature file) whose FIRST
	# parent is X, as `merge -s theirs` would make it.
	fg_checkout "$FA_W" feature/x origin/main
	fg_commit "$FA_W" app/feature-x.txt "feature x" "feature x"
	t=$(fg_rev "$FA_W" "feature/x^{tree}")
	y=$(fa_commit_tree "$FA_W" "$t" "Merge main into feature/x" "$x" "$main0")
	git -C "$FA_W" update-ref refs/heads/feature/x "$y"
	fa_push feature/x
	fa_accepted_or_bail feature/x
	m=$(fa_commit_tree "$FA_W" "$t" "Merge feature/x" "$main0" "$y")
	fa_push "$m:refs/heads/main"
	if [ "$FG_RC" -eq 0 ] && [ "$(fa_ref main)" = "$m" ]; then
		fg_pass "$FA_TAG: feature/x (X as Y's first parent) merged into main: a promotion of its content"
	else
		fg_fail "$FA_TAG: feature/x merged into main is a promotion" "$(cat "$FG_OUT")"
		fa_server_set main "$m"
	fi
	canary0=$(fa_ref canary)
	fa_push "$x:refs/heads/canary"
	fa_rejected "canary fast-forward to X, a side parent of main" \
		refs/heads/canary direct-commit
	fa_unmoved canary "$canary0" "canary unchanged (side parent)"
}

symref() {
	fa_server symref "$pol"
	fa_chain
	git -C "$FA_SRV" symbolic-ref refs/heads/master refs/heads/main || fg_bail "symbolic-ref"
	git -C "$FA_SRV" symbolic-ref refs/heads/prod refs/heads/production || fg_bail "symbolic-ref"
	main0=$(fa_ref main)
	fg_checkout "$FA_W" direct origin/main
	fg_commit "$FA_W" app/direct.txt "straight onto main" "direct commit"
	fa_push direct:refs/heads/master
	fa_rejected "a direct commit pushed to master, a symref to main" \
		refs/heads/master direct-commit
	fa_unmoved main "$main0" "main unchanged (through master)"
	fa_restore main "$main0"
	# the server's HEAD is a symref to main too; git makes "HEAD" a new
	# branch refs/heads/HEAD, never an update of main
	fa_push direct:HEAD
	fa_unmoved main "$main0" "main unchanged (a push to HEAD)"

	prod0=$(fa_ref production)
	fg_checkout "$FA_W" rel origin/production
	fg_merge "$FA_W" --no-ff -m "Release" origin/canary
	fg_commit "$FA_W" app/rel.txt "release" "release commit"
	fa_push rel:refs/heads/prod
	fa_rejected "mallory pushes to prod, a symref to production" \
		refs/heads/prod pusher-not-allowed
	fa_unmoved production "$prod0" "production unchanged (through prod)"
}

# Shapes the gate already stops: kept as regressions.
regressions() {
	fa_server reg "$pol"
	fa_chain
	canary0=$(fa_ref canary)
	main0=$(fa_ref main)
	develop0=$(fa_ref develop)
	fg_checkout "$FA_W" hot origin/canary
	fg_commit "$FA_W" app/hot.txt "hotfix" "hotfix on canary"
	fg_tick
	git -C "$FA_W" tag -a -m "looks like a release" hot-tag hot || fg_bail "tag"
	fa_push "hot-tag:refs/heads/canary"
	fa_rejected "an annotated tag of a direct commit pushed to canary" \
		refs/heads/canary direct-commit
	fa_unmoved canary "$canary0" "canary unchanged (tag object)"

	tree=$(fg_rev "$FA_W" "hot^{tree}")
	fg_tick
	tt=$(printf 'object %s\ntype tree\ntag treetag\ntagger Fleet Dev <dev@fleet.example> %s +0000\n\ntree\n' \
		"$tree" "$fg_clock" | git -C "$FA_W" mktag) || fg_bail "mktag"
	git -C "$FA_W" update-ref refs/tags/treetag "$tt"
	fa_push "refs/tags/treetag:refs/heads/canary"
	if [ "$FG_RC" -ne 0 ] && [ "$(fa_ref canary)" = "$canary0" ]; then
		fg_pass "$FA_TAG: a tag of a tree pushed to canary is refused"
	else
		fg_fail "$FA_TAG: a tag of a tree pushed to canary is refused" "$(cat "$FG_OUT")"
	fi

	fg_checkout "$FA_W" develop origin/develop
	fg_commit "$FA_W" app/new.txt "new" "develop: new"
	fa_push --atomic develop hot:refs/heads/canary
	fa_rejected "--atomic: a good develop and a direct commit on canary" \
		refs/heads/canary direct-commit
	fa_unmoved develop "$develop0" "--atomic: develop did not move either"

	fa_push develop develop:refs/heads/main
	fa_rejected "develop moved and main promoted to it in one push" \
		refs/heads/main direct-commit
	fa_unmoved main "$main0" "main unchanged (judged against develop before the push)"

	fa_push :refs/heads/canary
	fa_rejected "canary deleted" refs/heads/canary delete-protected
	fa_unmoved canary "$canary0" "canary still there"
}

run() {
	octopus
	side_parent
	symref
	regressions
}
fa_matrix run
fg_done
