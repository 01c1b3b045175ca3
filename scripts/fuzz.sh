#!/bin/sh
# Runs every fuzz target in the repository, one after another, for FUZZTIME each
# (default 1m: about 45 minutes for the ~40 targets). FUZZPKG limits the run to packages
# whose path contains it (e.g. FUZZPKG=render). A target that fails leaves its input
# in its package's testdata/fuzz/<target>/, which go test then runs as a seed; the
# script reports it, goes on with the others and exits non-zero at the end.
#
#   make fuzz FUZZTIME=3m FUZZPKG=render
set -u
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-1m}
FUZZPKG=${FUZZPKG:-}
log=$(mktemp)
trap 'rm -f "$log" "$log.list"' EXIT

failed=""
n=0
# "path/to/x_test.go:12:func FuzzName(f *testing.F) {" → "./path/to FuzzName"
targets=$(grep -rn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*(' . |
	grep -v '/node_modules/' |
	sed -E 's|^(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort)
echo "$targets" | while read -r pkg name; do
	[ -n "$name" ] || continue
	case "$pkg" in *"$FUZZPKG"*) ;; *) continue ;; esac
	echo "$pkg $name"
done >"$log.list"
total=$(wc -l <"$log.list")
while read -r pkg name; do
	n=$((n + 1))
	printf '[%d/%d] %s %s (%s) ... ' "$n" "$total" "$pkg" "$name" "$FUZZTIME"
	# -parallel 1: one fuzzing worker, so that a run leaves the machine usable.
	if "$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -parallel "${FUZZPARALLEL:-1}" "$pkg" >"$log" 2>&1; then
		echo ok
	else
		echo FAIL
		grep -v '^fuzz: elapsed' "$log" | sed 's/^/    /'
		failed="$failed $pkg:$name"
	fi
done <"$log.list"
rm -f "$log.list"
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	echo "fuzz: each failing input is in its package's testdata/fuzz/<target>/; 'go test -run <target>/<file> <pkg>' reruns it"
	exit 1
fi
echo "fuzz: $total targets passed, $FUZZTIME each"
