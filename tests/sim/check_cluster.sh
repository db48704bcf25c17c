#!/bin/sh
# check_cluster.sh - CTest driver for `shoal-sim cluster`
# (tests/sim/sim_cluster.c).
#
#   check_cluster.sh seeds SIM FIRST LAST [OPTION...]
#       runs SIM cluster OPTION... --seed S for every seed S in FIRST..LAST
#       (options default to --nodes 5 --clients 4 --ops 2000 --loss 0.05
#       --crash); fails unless every run exits 0 and ends with
#       "cluster nodes=N seed=S acked_writes=A lost_acked_writes=0
#       acked_crdt_ops=B lost_crdt_ops=0 converged=yes|no converge_s=T
#       aae_keys_repaired=R", printing the tail of a failing run's output
#       and the command that replays it.
#   check_cluster.sh converge SIM FIRST LAST [OPTION...]
#       the same, and every run must also say converged=yes (every
#       replica of every key equal, by the cluster's own repair).
#   check_cluster.sh replay SIM SEED [OPTION...]
#       runs the same seed twice; fails unless the outputs are
#       byte-identical.
set -u

DEFAULT="--nodes 5 --clients 4 --ops 2000 --loss 0.05 --crash"

usage() {
	echo "usage: $0 seeds|converge SIM FIRST LAST [OPTION...] |" \
		"replay SIM SEED [OPTION...]" >&2
	exit 2
}

seeds() {
	want=$1 sim=$2 first=$3 last=$4
	shift 4
	args=${*:-$DEFAULT}
	failed=0 s=$first
	while [ "$s" -le "$last" ]; do
		# shellcheck disable=SC2086 # args is split on purpose
		out=$("$sim" cluster $args --seed "$s" 2>&1)
		rc=$?
		last_line=$(printf '%s\n' "$out" | tail -n 1)
		if [ "$rc" -ne 0 ] || ! printf '%s\n' "$last_line" | grep -Eq \
			"^cluster nodes=[0-9]+ seed=$s acked_writes=[0-9]+ lost_acked_writes=0 acked_crdt_ops=[0-9]+ lost_crdt_ops=0 converged=$want converge_s=[0-9.]+ aae_keys_repaired=[0-9]+\$"; then
			printf '%s\n' "$out" | tail -n 30
			echo "FAILED seed $s (exit $rc); replay with:"
			echo "  $sim cluster $args --seed $s"
			failed=1
		fi
		s=$((s + 1))
	done
	if [ "$failed" -eq 0 ]; then
		echo "cluster seeds $first..$last ($args): nothing lost"
	fi
	return "$failed"
}

replay() {
	sim=$1 seed=$2
	shift 2
	args=${*:-$DEFAULT}
	tmp=${TMPDIR:-/tmp}/check_cluster.$$
	# shellcheck disable=SC2086
	"$sim" cluster $args --seed "$seed" >"$tmp.1" 2>&1
	# shellcheck disable=SC2086
	"$sim" cluster $args --seed "$seed" >"$tmp.2" 2>&1
	if cmp -s "$tmp.1" "$tmp.2"; then
		echo "cluster seed $seed: two runs byte-identical"
		rm -f "$tmp.1" "$tmp.2"
		return 0
	fi
	echo "cluster seed $seed: two runs differ:"
	diff "$tmp.1" "$tmp.2" | head -n 20
	rm -f "$tmp.1" "$tmp.2"
	return 1
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
seeds) [ $# -ge 3 ] || usage; seeds '(yes|no)' "$@" ;;
converge) [ $# -ge 3 ] || usage; seeds yes "$@" ;;
replay) [ $# -ge 2 ] || usage; replay "$@" ;;
*) usage ;;
esac
