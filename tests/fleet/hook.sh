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
secret_words: [imei]
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

# the policy's secret_words count as well as the built-in list (wpa_psk)
printf 'configuration:\n  modem_imei: "490154203237518"\n  wpa_psk: S3cr3t-WIFI-value\n' > devices/$D.yaml
git commit -qam "imei and psk"
if ! git push origin HEAD:develop > "$tmp/push.out" 2>&1 &&
   grep -q "remote:   devices/$D.yaml:2:15: configuration key 'modem_imei' looks like a secret" "$tmp/push.out" &&
   grep -q "remote:   devices/$D.yaml:3:12: configuration key 'wpa_psk' looks like a secret" "$tmp/push.out" &&
   ! grep -q "490154203237518\|S3cr3t" "$tmp/push.out"; then
	ok "policy secret_words and psk keys are secrets, their values never shown"
else
	nok "policy secret_words and psk keys are secrets, their values never shown"
fi
git reset -q --hard HEAD~1
printf 'version: 1\nbranches: { main: { promote_from: [develop] } }\nsecret_words: [IMEI]\n' > "$tmp/bad-policy.yaml"
chmod 600 "$tmp/bad-policy.yaml"
if ! "$FG" policy check "$tmp/bad-policy.yaml" > "$tmp/push.out" 2>&1 &&
   grep -q "bad-policy.yaml:3:.*secret_words: a word is lower-case letters and digits" "$tmp/push.out"; then
	ok "a secret word that could never match is refused in the policy"
else
	nok "a secret word that could never match is refused in the policy"
fi

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
	branch=develop
	if [ -d "$src/schemas" ] && [ -n "$(cd "$src" && find . -type f ! -path './schemas/*' \
			! -name expect ! -name remove ! -name absent)" ]; then
		# a schema change is judged by the push that makes it and the
		# values by the next: the case's schema goes first, to a branch
		# of its own
		branch=feature/case-$c
		git add -A schemas && git commit -qm "schema: $c" &&
			git push -q origin HEAD:$branch > "$tmp/push.out" 2>&1 ||
			nok "the schema of $c is accepted"
	fi
	absent=/dev/null
	[ -f "$FG_SRCDIR/tests/data/fleet-bad/$c/absent" ] &&
		absent=$FG_SRCDIR/tests/data/fleet-bad/$c/absent
	git add -A && git commit -qm "bad: $c"
	if ! git push origin HEAD:$branch > "$tmp/push.out" 2>&1 &&
	   grep -q "fleetgate: rejected refs/heads/$branch [0-9a-f]\{7\}: fleet-invalid: " "$tmp/push.out" &&
	   grep -qF "remote:   $want" "$tmp/push.out" &&
	   ! grep -qFf "$absent" "$tmp/push.out"; then
		ok "hook rejects $c cleanly"
	else
		nok "hook rejects $c cleanly (want: $want)"
	fi
done
git reset -q --hard "$good"

# pushed names cannot forge hook output lines or drive the terminal: a key
# and a file name with a newline, "remote: fleetgate: accepted" and ESC [2J
esc=$(printf '\033')
printf 'configuration:\n  "k\\nfleetgate: accepted\\e[2J": "x"\n' > devices/$D.yaml
: > "devices/n
fleetgate: accepted${esc}[2J.yaml"
git add -A && git commit -qm "forged lines"
if ! git push origin HEAD:develop > "$tmp/push.out" 2>&1 &&
   grep -q "fleet-invalid: " "$tmp/push.out" &&
   ! grep -q "^remote: fleetgate: accepted" "$tmp/push.out" &&
   ! grep -q "$esc" "$tmp/push.out" &&
   grep -qF "'k\nfleetgate: accepted\x1b[2J'" "$tmp/push.out" &&
   grep -qF "remote:   devices/n\nfleetgate: accepted\x1b[2J.yaml: file name 'n\nfleetgate: accepted\x1b[2J.yaml' is not a Mender device id" "$tmp/push.out"; then
	ok "a key and a file name cannot forge lines or escapes"
else
	nok "a key and a file name cannot forge lines or escapes"
fi
git reset -q --hard "$good"

# an unusable schema is refused on develop, naming file and pointer
printf '{"properties": {"serial": {"pattern": "("}}}' > schemas/configuration.schema.json
git add -A && git commit -qm "broken schema"
if ! git push origin HEAD:develop > "$tmp/push.out" 2>&1 &&
   grep -qF "remote:   schemas/configuration.schema.json: configuration schema is not usable: invalid schema at '#/properties/serial/pattern': invalid regular expression" "$tmp/push.out"; then
	ok "an unusable schema is refused on develop"
else
	nok "an unusable schema is refused on develop"
fi
git reset -q --hard "$good"

# ...and one that landed before that rule cannot jam the repository: a
# push that leaves it is refused, the push that replaces it goes through,
# also from the break-glass user
sed 's/^validate: all$/bypass: [fleet-admin]\nvalidate: all/' "$tmp/policy.yaml" > "$tmp/jam-policy.yaml"
chmod 600 "$tmp/jam-policy.yaml"
git init -q --bare -b main "$tmp/jam.git"
printf '{"pattern": "("}' > schemas/configuration.schema.json
git add -A && git commit -qm "a broken schema from before"
jammed=$(git rev-parse HEAD)
for b in main canary production develop; do git push -q "$tmp/jam.git" HEAD:refs/heads/$b; done
"$FG" install --repo "$tmp/jam.git" --policy "$tmp/jam-policy.yaml" >/dev/null 2>&1
if [ -n "${FG_VALGRIND:-}" ]; then
	for h in "$tmp"/jam.git/hooks/*-receive; do
		sed -i "s|exec '|exec $FG_VALGRIND '|" "$h"
	done
fi
printf 'name: still broken\n' > devices/$D.yaml
git commit -qam "leave the schema"
if ! git push "$tmp/jam.git" HEAD:develop > "$tmp/push.out" 2>&1 &&
   grep -qF "schemas/configuration.schema.json: configuration schema is not usable: invalid schema at '#/pattern'" "$tmp/push.out"; then
	ok "a push that leaves an unusable schema is refused"
else
	nok "a push that leaves an unusable schema is refused"
fi
git reset -q --hard "$jammed"
git rm -q schemas/configuration.schema.json
git commit -qm "fix the schema"
if git push "$tmp/jam.git" HEAD:develop > "$tmp/push.out" 2>&1 &&
   git push "$tmp/jam.git" HEAD:main > "$tmp/push.out" 2>&1; then
	ok "the fix of an unusable schema goes develop -> main"
else
	nok "the fix of an unusable schema goes develop -> main"
fi
git reset -q --hard "$jammed"
git rm -q schemas/configuration.schema.json
git commit -qm "break glass: fix the schema on canary"
if REMOTE_USER=fleet-admin git push "$tmp/jam.git" HEAD:canary > "$tmp/push.out" 2>&1 &&
   grep -q "WARNING: fleet-admin bypassed the promotion rules for refs/heads/canary" "$tmp/push.out"; then
	ok "break-glass fix of an unusable schema is accepted"
else
	nok "break-glass fix of an unusable schema is accepted"
fi
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
