#!/bin/sh
# Benchmark of the fleet checks (issue 3, "Benchmark"): for generated fleets
# of 1,000, 10,000 and 100,000 devices, wall time and peak memory of
#   - fleetgate check DIR (work tree) and fleetgate check --git-dir --rev,
#   - fleetgate-pre-receive for a push to develop changing one device file,
#     and for one changing fleet.yaml (a policy installed, validate: all),
#   - the same device files validated against the same schema by
#     fleetgate validate, ajv-cli (npm) and Python's jsonschema, side by side,
# then a table with medians, maxima, ratios and the goals, and the machine.
# Not part of make check.
#
#   bench/fleet-check.sh [-s SIZES] [-r RUNS] [BUILDDIR]
#
#   -s SIZES   comma-separated fleet sizes (default 1000,10000,100000)
#   -r RUNS    repetitions of each measurement (default 5; for fleets of
#              100,000 devices or more 3, and 1 for Python's jsonschema,
#              which takes 30-50 s a run there); the one-file push runs at
#              least 10 times
#   BUILDDIR   an existing build whose fleetgate and fleetgate-pre-receive
#              are measured; default: build/bench in the source tree, made
#              with a plain ./configure (optimized, no sanitizers) if needed.
#
# Needs GNU time (/usr/bin/time, Debian package `time`), git, python3 with
# PyYAML and jsonschema (Debian python3-yaml, python3-jsonschema; Debian's
# /usr/bin/python3 is preferred when it has both) and npm (ajv-cli is pinned
# by bench/package-lock.json and installed with `npm ci --prefix bench`).
# Temporary files go under $TMPDIR (default /tmp): 100,000 devices take about
# 1 GB there, twice as many small files as devices.
#
# Method: each sample is one process run started from this shell; wall time
# is `date +%s%N` before and after `/usr/bin/time -f '%e %M' CMD` (so it
# includes starting GNU time, ~1 ms: the /bin/true row shows that overhead),
# peak memory is GNU time's %M, the maximum RSS of the largest process of the
# command (for xargs batches: of the largest batch). Every run must end with
# the expected verdict (all files valid, push accepted), else the benchmark
# stops; no run is discarded (the files and objects were just written and
# read, so the page cache is warm from the start).
set -eu
LC_ALL=C
export LC_ALL
src=$(cd "$(dirname "$0")/.." && pwd)
sizes=1000,10000,100000
runs_opt=""

usage() {
	sed -n '/^#   bench/,/^#              with a plain/p' "$0" | sed 's/^# \{0,1\}//'
}
while getopts s:r:h opt; do
	case $opt in
	s) sizes=$OPTARG ;;
	r) runs_opt=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || { usage >&2; exit 2; }
case $runs_opt in
'') ;;
*[!0-9]* | 0*) echo "bench: -r wants a positive number" >&2; exit 2 ;;
esac
sizes=$(echo "$sizes" | tr ',' ' ')
for n in $sizes; do
	case $n in
	*[!0-9]* | 0*) echo "bench: bad fleet size '$n'" >&2; exit 2 ;;
	esac
done

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 2; }

# --- tools -----------------------------------------------------------------
if [ ! -x /usr/bin/time ] || ! /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
	die "GNU time is missing (/usr/bin/time): install the Debian package 'time' (apt-get install time)"
fi
command -v git >/dev/null 2>&1 || die "git is missing"
py=""
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jsonschema, yaml' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || die "python3 with jsonschema and yaml is missing (Debian python3-jsonschema python3-yaml)"
pyver=$("$py" -c 'import sys, importlib.metadata as m, yaml
print("Python %d.%d.%d, jsonschema %s, PyYAML %s (%s)" % (sys.version_info[:3] + (m.version("jsonschema"),
      yaml.__version__, "libyaml" if hasattr(yaml, "CSafeLoader") else "pure Python")))')

ajv=$src/bench/node_modules/.bin/ajv
if [ ! -x "$ajv" ]; then
	command -v npm >/dev/null 2>&1 || die "npm is missing (needed for ajv-cli)"
	say "installing ajv-cli (npm ci --prefix bench)"
	npm ci --prefix "$src/bench" --no-audit --no-fund --loglevel=error >&2 ||
		die "npm ci --prefix bench failed"
fi
ajvver=$(cd "$src/bench" && node -p 'const v = n => require(n + "/package.json").version; "ajv-cli " + v("ajv-cli") + ", ajv " + v("ajv") + ", Node.js " + process.versions.node')

if [ $# -eq 1 ]; then
	build=$(cd "$1" && pwd)
else
	build=$src/build/bench
	if [ ! -x "$build/fleetgate" ] || [ ! -x "$build/fleetgate-pre-receive" ]; then
		say "building fleetgate in $build (plain configure: optimized, no sanitizers)"
		[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null 2>&1) ||
			die "autoreconf failed"
		mkdir -p "$build"
		(cd "$build" && { [ -f Makefile ] || "$src/configure" -q >/dev/null; } &&
			make -s -j2 fleetgate fleetgate-pre-receive >/dev/null 2>&1) ||
			die "the build in $build failed"
	fi
fi
fg=$build/fleetgate
hook=$build/fleetgate-pre-receive
if [ ! -x "$fg" ] || [ ! -x "$hook" ]; then
	die "no fleetgate and fleetgate-pre-receive in $build"
fi
buildconf=$(sed -n 's/^  \$ .*configure */configure /p' "$build/config.log" 2>/dev/null | head -1)
case $buildconf in
*enable-asan* | *enable-ubsan* | *enable-valgrind* | *enable-gcov* | *-O0*)
	say "WARNING: $build is not an optimized plain build ($buildconf): the figures are not representative" ;;
esac

# --- scratch space, git isolated from the user's configuration ---------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fg-fleet-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
HOME=$tmp/home
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME="Fleet Dev" GIT_AUTHOR_EMAIL=dev@fleet.example
GIT_COMMITTER_NAME="Fleet Dev" GIT_COMMITTER_EMAIL=dev@fleet.example
mkdir -p "$HOME"
export HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GITEA_PUSHER_NAME GL_USERNAME GITHUB_USER_LOGIN REMOTE_USER GL_USER GL_ID \
	GL_PROTOCOL GITEA_PR_ID GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_INDEX_FILE \
	GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH || true

cp "$src/policies/policy.yaml" "$tmp/policy.yaml"
chmod 644 "$tmp/policy.yaml"
grep -q '^validate: all' "$tmp/policy.yaml" || die "policies/policy.yaml no longer says validate: all"

# The schema for the side-by-side validation: src/fleet/schemas/device.schema.json
# with the definitions it takes from src/fleet/schemas/fleet.schema.json copied in
# (one file, because `fleetgate validate` takes one schema file). It is the
# schema every device file must pass; the same file goes to all three tools.
schema=$tmp/device.bundled.schema.json
"$py" - "$src/src/fleet/schemas/device.schema.json" "$src/src/fleet/schemas/fleet.schema.json" "$schema" <<'EOF'
import json, sys
dev = json.load(open(sys.argv[1]))
fleet = json.load(open(sys.argv[2]))
text = json.dumps(dev).replace('"fleet.schema.json#/definitions/', '"#/definitions/')
if "fleet.schema.json" in text.replace(dev.get("$id", ""), ""):
    sys.exit("bench: device.schema.json refers to fleet.schema.json in a way the bundler does not know")
dev = json.loads(text)
dev["definitions"] = fleet["definitions"]
json.dump(dev, open(sys.argv[3], "w"), indent=2)
EOF

# xargs batches for `fleetgate validate FILE...`: 100,000 paths do not fit
# on one command line; half of ARG_MAX leaves room for the environment.
argmax=$(getconf ARG_MAX 2>/dev/null || echo 131072)
argmax=$((argmax / 2))
[ "$argmax" -le 1048576 ] || argmax=1048576

# --- measuring ---------------------------------------------------------------
# run_cmd CWD GITDIR STDIN CMD...: runs CMD under GNU time; output to
# $tmp/cmd.out, "%e %M" to $tmp/time.out; returns CMD's exit status.
run_cmd() {
	(
		cd "$1"
		if [ -n "$2" ]; then GIT_DIR=$2; export GIT_DIR; fi
		in=$3
		shift 3
		exec /usr/bin/time -f '%e %M' -o "$tmp/time.out" "$@" <"$in" >"$tmp/cmd.out" 2>&1
	)
}
# measure ID LABEL RUNS EXPECT CWD GITDIR STDIN CMD...: EXPECT is the exit
# status every run must have. Appends "ID<TAB>LABEL<TAB>runs median max rss"
# to $tmp/rows (ms, ms, MiB).
measure() {
	id=$1 label=$2 mruns=$3 expect=$4
	shift 4
	: >"$tmp/samples"
	i=0
	while [ $i -lt "$mruns" ]; do
		t0=$(date +%s%N)
		rc=0
		run_cmd "$@" || rc=$?
		t1=$(date +%s%N)
		if [ "$rc" -ne "$expect" ]; then
			say "$label: exit status $rc in run $((i + 1)), expected $expect; its output:"
			head -20 "$tmp/cmd.out" >&2
			exit 1
		fi
		# the last line: GNU time puts "Command exited with non-zero
		# status N" before it when the status is not 0
		echo "$(((t1 - t0) / 1000)) $(tail -1 "$tmp/time.out" | cut -d' ' -f2)" >>"$tmp/samples"
		i=$((i + 1))
	done
	sort -n "$tmp/samples" | awk -v id="$id" -v label="$label" '
		{ t[NR] = $1; if ($2 > m) m = $2 }
		END {
			med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%s\t%s\t%d %.1f %.1f %.1f\n", id, label, NR, med / 1000, t[NR] / 1000, m / 1024
		}' >>"$tmp/rows"
	say "  $label: $(tail -1 "$tmp/rows" | cut -f3)"
}
median_of() { # ID -> median ms
	awk -F'\t' -v id="$1" '$1 == id { split($3, v, " "); print v[2] }' "$tmp/rows"
}

: >"$tmp/rows"
: >"$tmp/empty"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
measure overhead "/bin/true (measuring overhead)" 20 0 "$tmp" "" "$tmp/empty" /bin/true

# --- one fleet ---------------------------------------------------------------
bench_size() {
	n=$1
	runs=${runs_opt:-5}
	pyruns=$runs
	if [ -z "$runs_opt" ] && [ "$n" -ge 100000 ]; then
		runs=3 pyruns=1
	fi
	pushruns=$runs
	[ "$pushruns" -ge 10 ] || pushruns=10
	w=$tmp/fleet-$n
	tree=$w/tree
	repo=$w/fleet.git
	mkdir -p "$w"

	say "fleet of $n devices: generating (bench/gen-fleet.py)"
	"$py" "$src/bench/gen-fleet.py" "$n" "$tree" >/dev/null
	# The commit is made with one git fast-import (gen-fleet.py --git would
	# `git add` 100,000 loose objects, minutes on a busy disk); the work tree
	# is the generated folder, its branches main, canary and production.
	git init -q -b main "$tree"
	(cd "$tree" && "$py" - <<'EOF' | git fast-import --quiet) || die "fast-import failed"
import os, sys
out = sys.stdout.buffer
out.write(b"commit refs/heads/main\ncommitter Fleet Dev <dev@fleet.example> 1700000000 +0000\n"
          b"data 6\nfleet\n")
for root, dirs, files in os.walk("."):
    dirs[:] = sorted(d for d in dirs if d != ".git")
    for name in sorted(files):
        path = os.path.join(root, name)[2:]
        with open(path, "rb") as f:
            data = f.read()
        out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
out.write(b"\n")
EOF
	git -C "$tree" branch canary main
	git -C "$tree" branch production main
	git -C "$tree" read-tree main
	git clone -q --bare "$tree" "$repo"
	git -C "$repo" branch develop main
	(cd "$build" && ./fleetgate install --repo "$repo" --policy "$tmp/policy.yaml" >/dev/null) ||
		die "fleetgate install failed"
	[ -f "$repo/hooks/pre-receive" ] || die "fleetgate install wrote no hooks/pre-receive"

	# The device files as JSON, converted once, outside the timed part.
	find "$tree/devices" -type f -name '*.yaml' | sort >"$w/yaml.list"
	[ "$(wc -l <"$w/yaml.list")" -eq "$n" ] || die "expected $n device files"
	mkdir "$w/json"
	"$py" - "$w/yaml.list" "$w/json" <<'EOF'
import json, os, sys, yaml
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
with open(sys.argv[1]) as lst:
    for line in lst:
        path = line.rstrip("\n")
        with open(path, "rb") as f:
            doc = yaml.load(f, Loader=loader)
        name = os.path.basename(path)[:-len(".yaml")] + ".json"
        with open(os.path.join(sys.argv[2], name), "w") as f:
            json.dump(doc, f)
EOF
	find "$w/json" -type f -name '*.json' | sort >"$w/json.list"
	[ "$(wc -l <"$w/json.list")" -eq "$n" ] || die "expected $n JSON files (device ids must be unique)"

	# The pushes: new commits on develop made in the bare repository, as
	# receive-pack leaves them before it runs pre-receive.
	dev=$(sed -n 1p "$w/yaml.list")
	dev=${dev#"$tree/"}
	old=$(git -C "$repo" rev-parse develop)
	commit_with() { # PATH CONTENT-FILE MESSAGE -> new commit id
		blob=$(git -C "$repo" hash-object -w --stdin <"$2")
		GIT_INDEX_FILE=$w/index git -C "$repo" read-tree "$old"
		GIT_INDEX_FILE=$w/index git -C "$repo" update-index --cacheinfo "100644,$blob,$1"
		t=$(GIT_INDEX_FILE=$w/index git -C "$repo" write-tree)
		rm -f "$w/index"
		git -C "$repo" commit-tree -p "$old" -m "$3" "$t"
	}
	sed 's/^name: .*/name: renamed-by-bench/' "$tree/$dev" >"$w/dev.yaml"
	cmp -s "$tree/$dev" "$w/dev.yaml" && die "the device file did not change"
	new1=$(commit_with "$dev" "$w/dev.yaml" "Rename one device")
	sed 's/^  playbook_version: .*/  playbook_version: "1.6.0"/' "$tree/fleet.yaml" >"$w/fleet.yaml"
	cmp -s "$tree/fleet.yaml" "$w/fleet.yaml" && die "fleet.yaml did not change"
	newf=$(commit_with fleet.yaml "$w/fleet.yaml" "New playbook version")
	sed 's/^  gharunner_access_token: .*/  gharunner_access_token: plaintext-token/' "$tree/$dev" >"$w/bad.yaml"
	newb=$(commit_with "$dev" "$w/bad.yaml" "A literal secret")
	printf '%s %s refs/heads/develop\n' "$old" "$new1" >"$w/push-one"
	printf '%s %s refs/heads/develop\n' "$old" "$newf" >"$w/push-fleet"
	printf '%s %s refs/heads/develop\n' "$old" "$newb" >"$w/push-bad"
	# The hook must judge the push, not wave it through.
	rc=0
	run_cmd "$repo" . "$w/push-bad" "$hook" || rc=$?
	if [ "$rc" -eq 0 ] || ! grep -q 'gharunner_access_token' "$tmp/cmd.out"; then
		say "the hook did not reject a literal secret in $dev (exit $rc):"
		cat "$tmp/cmd.out" >&2
		exit 1
	fi

	say "fleet of $n devices: measuring ($runs runs each, $pushruns for the one-file push)"
	measure "check-dir-$n" "fleetgate check DIR (work tree)" "$runs" 0 "$w" "" "$tmp/empty" "$fg" check "$tree"
	measure "check-git-$n" "fleetgate check --git-dir --rev develop" "$runs" 0 "$w" "" "$tmp/empty" \
		"$fg" check --git-dir "$repo" --rev develop
	measure "push-one-$n" "pre-receive, push changing 1 device file" "$pushruns" 0 "$repo" . "$w/push-one" "$hook"
	measure "push-fleet-$n" "pre-receive, push changing fleet.yaml" "$runs" 0 "$repo" . "$w/push-fleet" "$hook"
	measure "val-json-$n" "fleetgate validate, JSON files" "$runs" 0 "$w" "" "$w/json.list" \
		xargs -s "$argmax" "$fg" validate --schema "$schema"
	measure "val-yaml-$n" "fleetgate validate, YAML files" "$runs" 0 "$w" "" "$w/yaml.list" \
		xargs -s "$argmax" "$fg" validate --schema "$schema"
	measure "ajv-$n" "ajv-cli validate --all-errors, JSON files" "$runs" 0 "$w" "" "$tmp/empty" \
		"$ajv" validate --all-errors -s "$schema" -d "$w/json/*.json"
	measure "py-json-$n" "python3 jsonschema, JSON files" "$pyruns" 0 "$w" "" "$tmp/empty" \
		"$py" "$src/bench/jsonschema-validate.py" "$schema" "$w/json.list"
	measure "py-yaml-$n" "python3 jsonschema, YAML files" "$pyruns" 0 "$w" "" "$tmp/empty" \
		"$py" "$src/bench/jsonschema-validate.py" "$schema" "$w/yaml.list"
	nb=$(xargs -s "$argmax" sh -c 'echo x' sh <"$w/json.list" | wc -l)
	echo "$n $nb" >>"$tmp/batches"
	rm -rf "$w"
}

: >"$tmp/batches"
for n in $sizes; do
	bench_size "$n"
done

# --- report ------------------------------------------------------------------
ratio() { # A B -> A/B
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'
}
goal() { # ID -> the goal verdict for that row, or nothing
	awk -F'\t' -v id="$1" '$1 == id { split($3, v, " ")
		if (id ~ /^push-one-/ && substr(id, 10) + 0 >= 100000)
			printf "goal <50 ms: %s", (v[2] < 50) ? "met" : "MISSED"
		else if (id ~ /^check-/ && substr(id, 11) + 0 >= 100000)
			printf "goal <3 s, <100 MiB: %s", (v[2] < 3000 && v[4] < 100) ? "met" : "MISSED"
	}' "$tmp/rows"
}
echo
ovh=$(median_of overhead)
echo "fleetgate fleet benchmark. Wall time in ms: median and max over the runs, and"
echo "the median less the measuring overhead (the /bin/true row). Peak RSS: max, MiB."
printf '%-8s %-44s %4s %9s %9s %9s %9s  %s\n' devices measurement runs median max "med-ovh" "peak RSS" ""
set -f
while IFS='	' read -r id label stats; do
	# shellcheck disable=SC2086 # four numbers, split on purpose
	set -- $stats
	case $id in overhead) sz="-" ;; *) sz=${id##*-} ;; esac
	net=$(awk -v a="$2" -v b="$ovh" 'BEGIN { printf "%.1f", a - b }')
	[ "$id" != overhead ] || net=-
	printf '%-8s %-44s %4s %9s %9s %9s %9s  %s\n' "$sz" "$label" "$1" "$2" "$3" "$net" "$4" "$(goal "$id")"
done <"$tmp/rows"
set +f
echo
echo "Ratios of median wall times (how many times longer the other tool takes):"
for n in $sizes; do
	vj=$(median_of "val-json-$n") vy=$(median_of "val-yaml-$n") cd=$(median_of "check-dir-$n")
	aj=$(median_of "ajv-$n") pj=$(median_of "py-json-$n") pyy=$(median_of "py-yaml-$n")
	r=$(ratio "$aj" "$vj")
	v=$(awk -v a="$aj" -v b="$vj" 'BEGIN { print (b > 0 && a / b >= 10) ? "met" : "MISSED" }')
	echo "  $n devices:"
	echo "    ajv-cli (JSON)           / fleetgate validate (JSON): $r  (goal >= 10x: $v)"
	echo "    python jsonschema (JSON) / fleetgate validate (JSON): $(ratio "$pj" "$vj")"
	echo "    python jsonschema (YAML) / fleetgate validate (YAML): $(ratio "$pyy" "$vy")"
	echo "    ajv-cli (JSON)           / fleetgate check DIR:       $(ratio "$aj" "$cd")"
	echo "    python jsonschema (YAML) / fleetgate check DIR:       $(ratio "$pyy" "$cd")"
done
echo
echo "Notes:"
echo "  schema for the three validators: src/fleet/schemas/device.schema.json with the"
echo "  definitions it refers to in src/fleet/schemas/fleet.schema.json copied in (one file);"
echo "  every generated device file is valid under it, and each tool must say so."
echo "  fleetgate check does more than that schema: file names, unique ids, secrets,"
echo "  branches, fleet.yaml, and the fleet's configuration schema on every merged"
echo "  configuration."
echo "  fleetgate validate gets the files through xargs -s $argmax, in batches (one"
echo "  process per batch, the schema compiled in each): $(awk '{ printf "%s%s devices: %s batch%s", (NR > 1 ? ", " : ""), $1, $2, ($2 == 1 ? "" : "es") }' "$tmp/batches")."
echo "  ajv-cli gets one quoted glob (dir/*.json) that it expands itself: one process,"
echo "  no batches. python jsonschema: one process reading the same file list."
echo "  pushes go to develop (policy validate: all), hook run as git runs it:"
echo "  cwd and GIT_DIR = the bare repository, the ref line on stdin."
echo "  $ajvver; $pyver ($py)."
echo
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "machine: nproc $(nproc), ${cpu:-unknown CPU}, $(uname -sr)"
echo "load average (1, 5, 15 min): at the start $load0, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $build (${buildconf:-configure flags unknown})"
echo "temporary files: ${TMPDIR:-/tmp} ($(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))"
