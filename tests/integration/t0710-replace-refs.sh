#!/bin/sh
# Replace refs through real pushes, in SHA-1 (libgit2) and SHA-256 (the git
# command line) repositories: a push under refs/replace/ is refused
# (replace-ref) unless the policy allows it, and even when it is allowed
# fleetgate judges the objects themselves, never their replacements: a
# commit with a literal secret, replaced by a clean one, is still refused,
# and a direct commit on canary, replaced by a promotion merge, is still a
# direct commit.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
fg_require_build

device=devices/3fb4632b-96b9-475d-ac89-02255bd15b6f.yaml
secret=ghp_0123456789abcdef

for fmt in sha1 sha256; do
	pol=$FG_TMP/policy-$fmt.yaml
	fg_policy_default "$pol"
	srv=$(fg_bare "fleet-$fmt" "$fmt")
	[ -d "$srv" ] || fg_bail "no bare repository"
	fg_install "$srv" "$pol" || fg_bail "fleetgate install failed"
	w=$(fg_work "dev-$fmt" "file://$srv" "$fmt")
	fg_bootstrap "$w" alice

	# X carries a literal secret; R is the clean commit it would be shown as.
	fg_checkout "$w" develop origin/develop
	fg_commit "$w" "$device" "configuration:
  api_token: $secret" "X: device with a literal token"
	x=$(fg_rev "$w" develop)
	fg_checkout "$w" clean origin/develop
	fg_commit "$w" "$device" "configuration:
  api_token: { secret: API_TOKEN }" "R: the same device, clean"
	fg_push "$w" "clean:refs/replace/$x"
	fg_rejected "$fmt: push under refs/replace/ refused" "refs/replace/$x" replace-ref
	fg_has "$fmt: the hint names the policy key" "allow_replace_refs"
	fg_ref_is "$srv" "refs/replace/$x" "" "$fmt: no replace ref on the server"

	printf 'allow_replace_refs: true\n' >>"$pol"
	fg_push "$w" "clean:refs/replace/$x"
	fg_accepted "$fmt: replace ref accepted once the policy allows it"
	before=$(fg_server_ref "$srv" refs/heads/develop)
	fg_push "$w" "$x:refs/heads/develop"
	fg_rejected "$fmt: X is judged as itself, not as its replacement" \
		refs/heads/develop fleet-invalid
	fg_hasnt "$fmt: the secret value is never echoed" "$secret"
	fg_ref_is "$srv" refs/heads/develop "$before" "$fmt: develop unchanged"

	# D: a direct commit on canary; M: a promotion merge it would be shown as.
	fg_feature_into_main "$w" "r$fmt"
	fg_push "$w" main
	fg_accepted "$fmt: feature -> main"
	fg_fetch "$w"
	fg_checkout "$w" direct origin/canary
	fg_commit "$w" app/config.txt "direct" "D: direct commit on canary"
	d=$(fg_rev "$w" direct)
	fg_main_into_canary "$w"
	fg_push "$w" "canary:refs/replace/$d"
	fg_accepted "$fmt: a promotion merge pushed as D's replacement"
	before=$(fg_server_ref "$srv" refs/heads/canary)
	fg_push "$w" "$d:refs/heads/canary"
	fg_rejected "$fmt: D is still a direct commit" refs/heads/canary direct-commit
	fg_ref_is "$srv" refs/heads/canary "$before" "$fmt: canary unchanged"
done

fg_done
