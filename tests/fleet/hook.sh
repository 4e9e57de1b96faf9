#!/bin/sh
# End-to-end: the pre-receive hook's fleet-invalid rule through a real push
# into a bare repository: a bad fleet file is rejected on develop already,
# with its file:line:col; a valid change flows develop -> main -> canary ->
# production; a one-file change is checked incrementally.
set -u
: "${FG_BUILDDIR:?}" "${FG_SRCDIR:?}"
FG=$FG_BUILDDIR/fleetgate
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com \
	GIT_CONFIG_NOSYSTEM=1 HOME=$tmp
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/push.out"; }
D=3fb4632b-96b9-475d-ac89-02255bd15b6f

cat > "$tmp/policy.yaml" <<'POLICY'
version: 1
branches:
  main:       { promote_from: [develop, "feature/*"] }
  canary:     { promote_from: [main] }
  production: { promote_from: [canary] }
validate: all
POLICY
chmod 600 "$tmp/policy.yaml"

git init -q --bare -b main "$tmp/server.git"
git init -q -b main "$tmp/work"
cp -R "$FG_SRCDIR/tests/data/fleet-good/." "$tmp/work/"
cd "$tmp/work" || exit 1
git add -A && git commit -qm "good fleet"
git remote add origin "$tmp/server.git"
for b in main canary production develop; do git push -q origin HEAD:refs/heads/$b; done
"$FG" install --repo "$tmp/server.git" --policy "$tmp/policy.yaml" >/dev/null 2>&1 ||
	{ echo "1..1"; echo "not ok 1 - fleetgate install"; exit 0; }
if [ -n "${FG_VALGRIND:-}" ]; then
	for h in "$tmp"/server.git/hooks/*-receive; do
		sed -i "s|exec '|exec $FG_VALGRIND '|" "$h"
	done
fi

# a literal secret on develop
printf 'configuration:\n  kiosk_url: https://a.example.com\n  api_token: abc123\n' > devices/$D.yaml
git commit -qam "bad secret"
if git push origin HEAD:develop > "$tmp/push.out" 2>&1; then
	nok "a literal secret is rejected on develop"
elif grep -q "fleetgate: rejected refs/heads/develop [0-9a-f]\{7\}: fleet-invalid: 1 problem in the fleet files; hint: " "$tmp/push.out" &&
     grep -q "remote:   devices/$D.yaml:3:14: configuration key 'api_token' looks like a secret" "$tmp/push.out" &&
     grep -q "fleetgate: push rejected: 1 of 1 refs break the rules" "$tmp/push.out"; then
	ok "a literal secret is rejected on develop"
else
	nok "a literal secret is rejected on develop"
fi
git reset -q --hard HEAD~1

# many problems are capped
for i in $(seq 10 40); do echo "x: 1" > "devices/0a1b2c3d-0000-4000-8000-0000000000$i.yaml"; done
git add -A && git commit -qm "31 bad devices"
if ! git push origin HEAD:develop > "$tmp/push.out" 2>&1 &&
   grep -q "fleet-invalid: 31 problems in the fleet files" "$tmp/push.out" &&
   grep -q "remote:   ... and 11 more" "$tmp/push.out"; then
	ok "findings are capped with '... and N more'"
else
	nok "findings are capped with '... and N more'"
fi
git reset -q --hard HEAD~1

# every case of the bad-fleet corpus, plus a symlink and a 50 MB file, is
# refused on develop with its message (and the hook survives each one)
good=$(git rev-parse HEAD)
cases=$(cd "$FG_SRCDIR/tests/data/fleet-bad" && ls) 
for c in $cases symlink big; do
	git reset -q --hard "$good"
	case $c in
	symlink)
		ln -s ../fleet.yaml devices/0a1b2c3d-0000-4000-8000-0000000000aa.yaml
		want="devices/0a1b2c3d-0000-4000-8000-0000000000aa.yaml: symbolic links are not allowed below devices/" ;;
	big)
		{ echo "name: big"; head -c 52428800 /dev/zero | tr '\0' '#'; } > devices/$D.yaml
		want="devices/$D.yaml: file is larger than the limit and was not read" ;;
	*)
		src=$FG_SRCDIR/tests/data/fleet-bad/$c
		if [ -f "$src/remove" ]; then
			while read -r f; do rm -rf "./$f"; done < "$src/remove"
		fi
		(cd "$src" && find . -type f ! -name expect ! -name remove ! -name absent) | while read -r f; do
			mkdir -p "$(dirname "$f")" && cp "$src/$f" "$f"
		done
		want=$(head -n 1 "$src/expect") ;;
	esac
	absent=/dev/null
	[ -f "$FG_SRCDIR/tests/data/fleet-bad/$c/absent" ] &&
		absent=$FG_SRCDIR/tests/data/fleet-bad/$c/absent
	git add -A && git commit -qm "bad: $c"
	if ! git push origin HEAD:develop > "$tmp/push.out" 2>&1 &&
	   grep -q "fleetgate: rejected refs/heads/develop [0-9a-f]\{7\}: fleet-invalid: " "$tmp/push.out" &&
	   grep -qF "remote:   $want" "$tmp/push.out" &&
	   ! grep -qFf "$absent" "$tmp/push.out"; then
		ok "hook rejects $c cleanly"
	else
		nok "hook rejects $c cleanly (want: $want)"
	fi
done
git reset -q --hard "$good"

# a valid change flows develop -> main -> canary -> production
printf 'name: kiosk-campus\nsubscribed_branch: canary\nconfiguration:\n  kiosk_enabled: "false"\n' > devices/$D.yaml
git commit -qam "kiosk off"
for b in develop main canary production; do
	if git push origin HEAD:$b > "$tmp/push.out" 2>&1; then
		ok "valid change accepted on $b"
	else
		nok "valid change accepted on $b"
	fi
done

# a new feature branch is compared with main and judged by main's schema
git checkout -q -b feature/loosen
git rm -rq schemas
printf 'configuration:\n  playbook_version: latest\n' > devices/$D.yaml
git add -A && git commit -qm "loosen the schema and use it at once"
if ! git push origin HEAD:feature/loosen > "$tmp/push.out" 2>&1 &&
   grep -q "devices/$D.yaml:2:21: configuration does not match the fleet's schema" "$tmp/push.out"; then
	ok "a push cannot loosen the schema that judges it"
else
	nok "a push cannot loosen the schema that judges it"
fi

echo "1..$n"
exit 0
