#!/bin/sh
# check_crdt.sh - CTest driver for `shoal-sim crdt` (tests/sim/sim_crdt.c).
#
#   check_crdt.sh seeds SIM FIRST LAST
#       runs SIM crdt --replicas 5 --ops 50000 --seed S --loss 0.2 for every
#       seed S in FIRST..LAST; fails if any run does not end with
#       "crdt replicas=5 ops=50000 seed=S converged=yes", printing the tail
#       of its output and the command that replays it.
#   check_crdt.sh replay SIM SEED
#       runs the same seed twice; fails unless the outputs are byte-identical.
set -u

ARGS="--replicas 5 --ops 50000 --loss 0.2"

usage() {
	echo "usage: $0 seeds SIM FIRST LAST | replay SIM SEED" >&2
	exit 2
}

seeds() {
	sim=$1 first=$2 last=$3 failed=0 s=$first
	while [ "$s" -le "$last" ]; do
		# shellcheck disable=SC2086 # ARGS is split on purpose
		out=$("$sim" crdt $ARGS --seed "$s" 2>&1)
		rc=$?
		want="crdt replicas=5 ops=50000 seed=$s converged=yes"
		last_line=$(printf '%s\n' "$out" | tail -n 1)
		if [ "$rc" -ne 0 ] || [ "$last_line" != "$want" ]; then
			printf '%s\n' "$out" | tail -n 20
			echo "FAILED seed $s (exit $rc); replay with:"
			echo "  $sim crdt $ARGS --seed $s"
			failed=1
		fi
		s=$((s + 1))
	done
	if [ "$failed" -eq 0 ]; then
		echo "crdt seeds $first..$last: all converged"
	fi
	return "$failed"
}

replay() {
	sim=$1 seed=$2
	tmp=${TMPDIR:-/tmp}/check_crdt.$$
	# shellcheck disable=SC2086
	"$sim" crdt $ARGS --seed "$seed" >"$tmp.1" 2>&1
	# shellcheck disable=SC2086
	"$sim" crdt $ARGS --seed "$seed" >"$tmp.2" 2>&1
	if cmp -s "$tmp.1" "$tmp.2"; then
		echo "crdt seed $seed: two runs byte-identical"
		rm -f "$tmp.1" "$tmp.2"
		return 0
	fi
	echo "crdt seed $seed: two runs differ:"
	diff "$tmp.1" "$tmp.2" | head -n 20
	rm -f "$tmp.1" "$tmp.2"
	return 1
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
seeds) [ $# -eq 3 ] || usage; seeds "$@" ;;
replay) [ $# -eq 2 ] || usage; replay "$@" ;;
*) usage ;;
esac
