#!/bin/sh
# Adversarial: refs/replace. git (and the gate, where it reads objects
# through git) would show a replacement R wherever X is named, so a push of
# refs/replace/<X> lets mallory make X look harmless: X carries a literal
# secret, R does not. Pushing a replace ref is refused (replace-ref), and
# even with one already on the server X never reaches develop, main,
# canary or production: the gate judges X's own content.
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/adversarial/lib.sh"

pol=$FG_TMP/policy.yaml
fg_policy_default "$pol"
DEV=devices/0a1b2c3d-0000-4000-8000-0000000000aa.yaml

run() {
	fa_server replace "$pol"
	fa_chain
	fg_checkout "$FA_W" x origin/develop
	fg_commit "$FA_W" "$DEV" "configuration:
  db_password: hunter2-literal-in-git" "device with a literal password"
	x=$(fg_rev "$FA_W" x)
	fg_checkout "$FA_W" r origin/develop
	fg_commit "$FA_W" "$DEV" "configuration:
  db_password: { secret: DB_PASSWORD }" "device with a secret reference"
	r=$(fg_rev "$FA_W" r)

	fa_push "$r:refs/replace/$x"
	fa_rejected "push of refs/replace/<X>" "refs/replace/$x" replace-ref
	fg_ref_is "$FA_SRV" "refs/replace/$x" "" "$FA_TAG: no replace ref on the server"

	# The replace ref is there anyway (put by hand on the server): the
	# gate must still see X as it is.
	fa_server_set keep-r "$r"
	git -C "$FA_SRV" update-ref "refs/replace/$x" "$r" || fg_bail "update-ref"
	develop0=$(fa_ref develop)
	fa_push "$x:refs/heads/develop"
	fa_rejected "X (literal secret) to develop, replaced on the server" \
		refs/heads/develop fleet-invalid
	fg_has "$FA_TAG: the finding names X's key" "db_password"
	fa_unmoved develop "$develop0" "develop unchanged (X)"
	for b in main canary; do
		before=$(fa_ref $b)
		fa_push "$x:refs/heads/$b"
		fa_rejected "X to $b" "refs/heads/$b" fleet-invalid direct-commit
		fa_unmoved $b "$before" "$b unchanged (X)"
	done
	# develop holds X if the first push got through: promote it the
	# regular way too
	fa_push "refs/remotes/origin/develop:refs/heads/main"
	fg_ok "$FA_TAG: X is on no protected branch" sh -c '
		for b in main canary production; do
			GIT_NO_REPLACE_OBJECTS=1 git -C "$1" merge-base --is-ancestor "$2" "refs/heads/$b" 2>/dev/null && exit 1
		done
		GIT_NO_REPLACE_OBJECTS=1 git -C "$1" merge-base --is-ancestor "$2" refs/heads/develop 2>/dev/null && exit 1
		exit 0' sh "$FA_SRV" "$x"
}
fa_matrix run
fg_done
