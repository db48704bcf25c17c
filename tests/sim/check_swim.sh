#!/bin/sh
# check_swim.sh - CTest driver for `shoal-sim swim` (tests/sim/sim_swim.c).
#
#   check_swim.sh fp SIM FIRST LAST
#       100 nodes, 5% loss, 3 kills, 1000 periods, Lifeguard on: fails
#       unless false_positives=0 for every seed; prints the same runs'
#       figure with --no-lifeguard for comparison (never fails on it).
#   check_swim.sh detect SIM NODES FIRST LAST
#       NODES nodes, 3 kills: fails unless detect_all_periods is at most
#       the minimum suspicion timeout, 4 * max(1, log10(NODES)) periods,
#       plus SLACK (6) periods, for every seed.
#   check_swim.sh heal SIM NODES FIRST LAST
#       a 50/50 partition of 60 s: fails unless heal_periods <= 60 (two
#       push-pull intervals of 30 s) for every seed.
#   check_swim.sh scale SIM SEED
#       50 and 1000 nodes, 3 kills, 150 periods: fails unless
#       msgs_per_node_per_period for 1000 nodes is within 20% of 50's, and
#       1000 nodes detect within the bound of `detect`.
#   check_swim.sh big SIM
#       a benchmark, not a test: times shoal-sim swim --nodes 1000 --seed 1
#       --loss 0.05 --kill 3 and fails if it takes a minute or more.
#   check_swim.sh replay SIM SEED
#       the same run twice must print byte-identical output.
# Every failure prints the command that replays it.
set -u

SLACK=6

usage() {
	echo "usage: $0 fp SIM FIRST LAST | detect SIM NODES FIRST LAST |" \
		"heal SIM NODES FIRST LAST | scale SIM SEED | big SIM |" \
		"replay SIM SEED" >&2
	exit 2
}

# field LINE NAME - the value of NAME=... in LINE
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# run SIM ARGS... - runs shoal-sim swim, sets $out, $line and $rc
run() {
	sim=$1
	shift
	out=$("$sim" swim "$@" 2>&1)
	rc=$?
	line=$(printf '%s\n' "$out" | tail -n 1)
	case $line in
	"swim nodes="*) ;;
	*) rc=${rc:-1}; [ "$rc" -eq 0 ] && rc=1 ;;
	esac
}

failed_run() {
	printf '%s\n' "$out" | tail -n 15
	echo "FAILED ($1); replay with:"
	shift
	echo "  $*"
	failed=1
}

fp() {
	sim=$1 s=$2 last=$3 failed=0
	args="--nodes 100 --loss 0.05 --kill 3 --periods 1000"
	while [ "$s" -le "$last" ]; do
		# shellcheck disable=SC2086
		run "$sim" $args --seed "$s"
		v=$(field "$line" false_positives)
		if [ "$rc" -ne 0 ] || [ "$v" != 0 ]; then
			failed_run "false_positives=$v" "$sim swim $args --seed $s"
		fi
		# shellcheck disable=SC2086
		run "$sim" $args --seed "$s" --no-lifeguard
		echo "seed $s: false_positives lifeguard=$v" \
			"no-lifeguard=$(field "$line" false_positives)"
		s=$((s + 1))
	done
	return "$failed"
}

detect() {
	sim=$1 nodes=$2 s=$3 last=$4 failed=0
	bound=$(bound "$nodes")
	args="--nodes $nodes --kill 3 --periods 60"
	while [ "$s" -le "$last" ]; do
		# shellcheck disable=SC2086
		run "$sim" $args --seed "$s"
		v=$(field "$line" detect_all_periods)
		ok=$(awk -v v="$v" -v b="$bound" \
			'BEGIN { print (v != "na" && v + 0 <= b) ? 1 : 0 }')
		if [ "$rc" -ne 0 ] || [ "$ok" != 1 ]; then
			failed_run "detect_all_periods=$v > $bound" \
				"$sim swim $args --seed $s"
		else
			echo "seed $s: detect_all_periods=$v (bound $bound)"
		fi
		s=$((s + 1))
	done
	return "$failed"
}

heal() {
	sim=$1 nodes=$2 s=$3 last=$4 failed=0
	args="--nodes $nodes --partition-s 60 --periods 100"
	while [ "$s" -le "$last" ]; do
		# shellcheck disable=SC2086
		run "$sim" $args --seed "$s"
		v=$(field "$line" heal_periods)
		ok=$(awk -v v="$v" \
			'BEGIN { print (v != "na" && v + 0 <= 60) ? 1 : 0 }')
		if [ "$rc" -ne 0 ] || [ "$ok" != 1 ]; then
			failed_run "heal_periods=$v" "$sim swim $args --seed $s"
		else
			echo "seed $s: heal_periods=$v (bound 60)"
		fi
		s=$((s + 1))
	done
	return "$failed"
}

# bound NODES - the detection bound in periods
bound() {
	awk -v n="$1" -v k="$SLACK" 'BEGIN {
		l = log(n) / log(10); if (l < 1) l = 1; print 4 * l + k }'
}

scale() {
	sim=$1 seed=$2 failed=0
	args="--kill 3 --periods 150 --seed $seed"
	# shellcheck disable=SC2086
	run "$sim" --nodes 50 $args
	[ "$rc" -eq 0 ] || failed_run "50 nodes" "$sim swim --nodes 50 $args"
	small=$(field "$line" msgs_per_node_per_period)
	# shellcheck disable=SC2086
	run "$sim" --nodes 1000 $args
	[ "$rc" -eq 0 ] || failed_run "1000 nodes" "$sim swim --nodes 1000 $args"
	large=$(field "$line" msgs_per_node_per_period)
	det=$(field "$line" detect_all_periods)
	b=$(bound 1000)
	ok=$(awk -v a="$small" -v b="$large" \
		'BEGIN { print (a > 0 && b <= 1.2 * a && b >= 0.8 * a) ? 1 : 0 }')
	echo "msgs_per_node_per_period: 50 nodes $small, 1000 nodes $large"
	if [ "$ok" != 1 ]; then
		failed_run "not within 20%" "$sim swim --nodes 1000 $args"
	fi
	ok=$(awk -v v="$det" -v b="$b" \
		'BEGIN { print (v != "na" && v + 0 <= b) ? 1 : 0 }')
	echo "1000 nodes: detect_all_periods=$det (bound $b)"
	if [ "$ok" != 1 ]; then
		failed_run "detection too slow" "$sim swim --nodes 1000 $args"
	fi
	return "$failed"
}

big() {
	sim=$1 failed=0
	start=$(date +%s)
	run "$sim" --nodes 1000 --seed 1 --loss 0.05 --kill 3
	took=$(($(date +%s) - start))
	echo "$line"
	echo "took ${took}s"
	if [ "$rc" -ne 0 ] || [ "$took" -ge 60 ]; then
		failed_run "exit $rc, ${took}s" \
			"$sim swim --nodes 1000 --seed 1 --loss 0.05 --kill 3"
	fi
	return "$failed"
}

replay() {
	sim=$1 seed=$2
	args="--nodes 50 --loss 0.05 --kill 2 --partition-s 20 --periods 150"
	# shellcheck disable=SC2086
	a=$("$sim" swim $args --seed "$seed" 2>&1)
	# shellcheck disable=SC2086
	b=$("$sim" swim $args --seed "$seed" 2>&1)
	if [ "$a" = "$b" ]; then
		echo "swim seed $seed: two runs byte-identical"
		return 0
	fi
	echo "swim seed $seed: two runs differ; replay with:"
	echo "  $sim swim $args --seed $seed"
	return 1
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
fp) [ $# -eq 3 ] || usage; fp "$@" ;;
detect) [ $# -eq 4 ] || usage; detect "$@" ;;
heal) [ $# -eq 4 ] || usage; heal "$@" ;;
scale) [ $# -eq 2 ] || usage; scale "$@" ;;
big) [ $# -eq 1 ] || usage; big "$@" ;;
replay) [ $# -eq 2 ] || usage; replay "$@" ;;
*) usage ;;
esac
