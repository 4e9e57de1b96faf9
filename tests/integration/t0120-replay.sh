#!/bin/sh
# Replays a realistic history through the gate: features merged into
# develop, develop promoted to main by fast-forward and by merge, features
# merged straight into main, main promoted to canary with merge --no-ff and
# canary to production (fast-forward first, merges later), by several
# pushers. Every push must be accepted; the final refs are checked.
# FG_REPLAY_CYCLES sets the number of cycles (default 16; 6 under valgrind,
# where every hook run costs about a second).
# shellcheck disable=SC2317 # helpers below run through fg_ok
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

if [ -n "$FG_VALGRIND" ]; then cycles=${FG_REPLAY_CYCLES:-6}; else cycles=${FG_REPLAY_CYCLES:-16}; fi
pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
srv=$(fg_bare fleet)
[ -d "$srv" ] || fg_bail "no bare repository"
fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
w=$(fg_work dev "file://$srv")

fg_bootstrap "$w" alice

pushed() { # DESC: assert the last push and stop at the first refusal
	fg_accepted "$1"
	[ "$FG_RC" -eq 0 ] || fg_bail "replay refused at: $1"
}

promotions=0
prod_promotions=0
i=1
while [ $i -le "$cycles" ]; do
	fg_fetch "$w"
	if [ $((i % 2)) -eq 1 ]; then
		# feature -> develop, a direct commit on develop, develop -> main.
		fg_checkout "$w" "feature/f$i" origin/develop
		fg_commit "$w" "app/f$i.txt" "feature $i" "feature $i: part 1"
		fg_commit "$w" app/config.txt "config after feature $i" "feature $i: part 2"
		fg_push "$w" "feature/f$i"
		pushed "cycle $i: feature/f$i pushed"
		fg_checkout "$w" develop
		fg_merge "$w" --no-ff -m "Merge feature/f$i into develop" "feature/f$i"
		fg_commit "$w" "docs/notes-$i.txt" "notes $i" "develop: notes $i"
		fg_push "$w" develop
		pushed "cycle $i: feature/f$i merged into develop"
		fg_checkout "$w" main
		if [ $((i % 4)) -eq 1 ]; then
			fg_merge "$w" --ff-only develop
			how="fast-forward"
		else
			fg_merge "$w" --no-ff -m "Merge develop into main" develop
			how="merge"
		fi
		fg_push "$w" main
		pushed "cycle $i: develop -> main by $how"
	else
		# feature -> main directly, develop catches up.
		fg_feature_into_main "$w" "f$i"
		fg_push "$w" main
		pushed "cycle $i: feature/f$i -> main by merge"
		fg_checkout "$w" develop
		fg_merge "$w" --ff-only origin/main
		fg_push "$w" develop
		pushed "cycle $i: develop fast-forwarded to main"
	fi
	promotions=$((promotions + 1))
	fg_fetch "$w"
	fg_main_into_canary "$w"
	fg_push "$w" canary
	pushed "cycle $i: main -> canary by merge --no-ff"
	promotions=$((promotions + 1))
	if [ $((i % 3)) -eq 0 ]; then
		fg_fetch "$w"
		fg_checkout "$w" production
		case $prod_promotions in
		0 | 1)	fg_merge "$w" --ff-only origin/canary; how="fast-forward" ;;
		*)	fg_merge "$w" --no-ff -m "Release $i" origin/canary; how="merge" ;;
		esac
		case $((i % 9)) in
		0) who=release-bot ;;
		3) who=alice ;;
		*) who=bob ;;
		esac
		fg_push_env "REMOTE_USER=$who" "$w" production
		pushed "cycle $i: canary -> production by $how ($who)"
		promotions=$((promotions + 1))
		prod_promotions=$((prod_promotions + 1))
		last_released=$(fg_rev "$w" origin/canary)
	fi
	i=$((i + 1))
done
fg_fetch "$w"

for b in develop main canary production; do
	fg_ref_is "$srv" "refs/heads/$b" "$(fg_rev "$w" "$b")" "final $b is the replayed one"
done
fg_ok "$promotions promotions replayed (dozens)" test "$promotions" -ge "$((cycles * 2))"
fg_ok "canary has main's final tree" \
	test "$(git -C "$srv" rev-parse "canary^{tree}")" = "$(git -C "$srv" rev-parse "main^{tree}")"
fg_ok "production has the tree of the last released canary" \
	test "$(git -C "$srv" rev-parse "production^{tree}")" = "$(git -C "$srv" rev-parse "$last_released^{tree}")"
fg_ok "every commit of canary's first-parent chain after creation is a merge" \
	test "$(git -C "$srv" rev-list --first-parent --no-merges canary | wc -l)" -eq 1
not_diverged() {
	git -C "$srv" merge-base --is-ancestor main develop ||
		git -C "$srv" merge-base --is-ancestor develop main
}
fg_ok "develop and main did not diverge" not_diverged
released_from_canary() {
	for c in $(git -C "$srv" rev-list --first-parent production); do
		git -C "$srv" merge-base --is-ancestor "$c" canary && continue
		git -C "$srv" merge-base --is-ancestor "$c^2" canary 2>/dev/null || return 1
	done
}
fg_ok "every release on production came from canary" released_from_canary

fg_done
