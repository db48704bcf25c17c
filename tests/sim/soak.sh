#!/bin/sh
# soak.sh - many seeds of `shoal-sim cluster` with every fault kind
# (crashes, pauses, splits, wipes, a join and a leave), run by `make soak`.
# Prints one line per failing seed (with the command that replays it) and
# a summary: seeds passed, lost writes and CRDT updates, converged runs,
# mean and max time to converge (virtual seconds), keys repaired by
# anti-entropy. Exits 1 if any seed lost data or did not converge.
#
#   soak.sh SIM [FIRST LAST [OPTION...]]
set -u
[ $# -ge 1 ] || { echo "usage: $0 SIM [FIRST LAST [OPTION...]]" >&2; exit 2; }
sim=$1
first=${2:-1}
last=${3:-200}
[ $# -ge 3 ] && shift 3 || shift $#
opts=${*:-"--nodes 6 --clients 8 --ops 2000 --loss 0.05 --cold 100 --crash --partition --wipe --join --leave"}

s=$first passed=0 failed=0 lost=0 conv=0 sum=0 max=0 repaired=0
while [ "$s" -le "$last" ]; do
	# shellcheck disable=SC2086 # opts is split on purpose
	line=$("$sim" cluster $opts --seed "$s" 2>&1 | tail -n 1)
	case $line in
	"cluster nodes="*) ;;
	*) line="" ;;
	esac
	lw=$(printf '%s\n' "$line" | sed -n 's/.*lost_acked_writes=\([0-9]*\).*/\1/p')
	lc=$(printf '%s\n' "$line" | sed -n 's/.*lost_crdt_ops=\([0-9]*\).*/\1/p')
	cv=$(printf '%s\n' "$line" | sed -n 's/.*converged=\([a-z]*\).*/\1/p')
	cs=$(printf '%s\n' "$line" | sed -n 's/.*converge_s=\([0-9.]*\).*/\1/p')
	ar=$(printf '%s\n' "$line" | sed -n 's/.*aae_keys_repaired=\([0-9]*\).*/\1/p')
	if [ -n "$line" ] && [ "$lw" = 0 ] && [ "$lc" = 0 ] && [ "$cv" = yes ]; then
		passed=$((passed + 1))
		conv=$((conv + 1))
		sum=$(awk -v a="$sum" -v b="$cs" 'BEGIN { print a + b }')
		max=$(awk -v a="$max" -v b="$cs" 'BEGIN { print (b > a) ? b : a }')
		repaired=$((repaired + ar))
	else
		failed=$((failed + 1))
		[ -n "$lw" ] && [ -n "$lc" ] && lost=$((lost + lw + lc))
		echo "FAIL seed $s: ${line:-no summary line}"
		echo "  replay: $sim cluster $opts --seed $s"
	fi
	s=$((s + 1))
done
mean=0
[ "$conv" -gt 0 ] && mean=$(awk -v a="$sum" -v n="$conv" \
	'BEGIN { printf "%.2f", a / n }')
echo "soak seeds=$first..$last passed=$passed failed=$failed lost=$lost" \
	"converge_mean_s=$mean converge_max_s=$max aae_keys_repaired=$repaired"
[ "$failed" -eq 0 ]
