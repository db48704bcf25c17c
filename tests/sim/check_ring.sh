#!/bin/sh
# check_ring.sh - CTest driver for `shoal-sim ring` (tests/sim/sim_ring.c).
#
#   check_ring.sh bounds SIM
#       for Q in 64 256 1024 and N in 2..16 runs
#       SIM ring --nodes N --partitions Q --n 3 and fails if the last line,
#       `ring nodes=N partitions=Q n=3 max_over_ideal=X moved_on_join=P
#       moved_ideal=I`, has X > 1.1 or P > 1.25 * I, or if node1 leaving
#       moves more than 1.25 times the least it could (the leave line's
#       moved_on_leave against moved_min).
#   check_ring.sh replay SIM
#       runs the same arguments twice; fails unless the outputs are
#       byte-identical.
set -u

# Prints what is wrong with one run's output (nothing when all is well).
# shellcheck disable=SC2016 # an awk program, not shell
VERDICT='
function fields(   i, kv) {
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		v[kv[1]] = kv[2]
	}
}
/^leave / {
	fields()
	if (v["moved_on_leave"] > 1.25 * v["moved_min"] + 1e-9)
		bad = bad " leave"
}
/^ring / {
	fields()
	seen = 1
	if (v["max_over_ideal"] > 1.1)
		bad = bad " balance"
	if (v["moved_on_join"] > 1.25 * v["moved_ideal"] + 1e-9)
		bad = bad " join"
}
END {
	if (!seen)
		bad = bad " no-ring-line"
	print bad
}'

usage() {
	echo "usage: $0 bounds SIM | replay SIM" >&2
	exit 2
}

bounds() {
	sim=$1 failed=0
	for q in 64 256 1024; do
		n=2
		while [ "$n" -le 16 ]; do
			args="--nodes $n --partitions $q --n 3"
			# shellcheck disable=SC2086 # args is split on purpose
			out=$("$sim" ring $args)
			rc=$?
			printf '%s\n' "$out" | tail -n 1
			verdict=$(printf '%s\n' "$out" | awk "$VERDICT")
			if [ "$rc" -ne 0 ] || [ -n "$verdict" ]; then
				echo "FAILED:$verdict (exit $rc); replay with:"
				echo "  $sim ring $args"
				failed=1
			fi
			n=$((n + 1))
		done
	done
	return $failed
}

replay() {
	sim=$1 failed=0
	for args in "--nodes 16 --partitions 64 --n 3" \
		"--nodes 7 --partitions 1024 --n 2 --slack 10" \
		"--nodes 12 --partitions 64 --n 3 --sets 20 --seed 99"; do
		# shellcheck disable=SC2086 # args is split on purpose
		a=$("$sim" ring $args) || failed=1
		# shellcheck disable=SC2086
		b=$("$sim" ring $args) || failed=1
		if [ "$a" != "$b" ] || [ -z "$a" ]; then
			echo "FAILED: outputs differ: $sim ring $args"
			failed=1
		fi
	done
	[ "$failed" -eq 0 ] && echo "replay: identical"
	return $failed
}

[ $# -eq 2 ] || usage
case $1 in
bounds) bounds "$2" ;;
replay) replay "$2" ;;
*) usage ;;
esac
