#!/bin/sh
# check_aae.sh - CTest driver for `shoal-sim aae` (tests/sim/sim_aae.c), the
# anti-entropy cost benchmark. Checks bytes, never times.
#
#   check_aae.sh goal SIM
#       200,000 keys on three replicas, 1% of replica 3's keys made to
#       differ (100-byte objects): fails unless the replicas converge with
#       no aborted exchange and no wrong repair, the key lists plus the
#       repairs stay within 2x the differing objects' bytes (ratio <= 2,
#       the tree levels walked coming on top), and the walk below the
#       segments costs less than whole segments' keys (--sub-fanout 0).
#   check_aae.sh replay SIM
#       the same arguments twice give the same output (the time line aside).
set -u

ARGS="--keys 200000 --diff 0.01 --value-bytes 100 --seed 7"

# The value of key K on the line starting with WORD.
field() {
	printf '%s\n' "$1" | awk -v w="$2" -v k="$3" '
	$1 == w { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}

goal() {
	sim=$1
	# shellcheck disable=SC2086 # ARGS is split on purpose
	out=$("$sim" aae $ARGS)
	rc=$?
	printf '%s\n' "$out"
	# shellcheck disable=SC2086
	old=$("$sim" aae $ARGS --sub-fanout 0)
	printf '%s\n' "$old" | grep -E '^(bytes|result) '
	bad=""
	[ "$rc" -eq 0 ] || bad="$bad exit=$rc"
	[ "$(field "$out" result converged)" = yes ] || bad="$bad not-converged"
	[ "$(field "$out" exchanges aborted)" = 0 ] || bad="$bad aborted"
	[ "$(field "$out" exchanges wrong_repairs)" = 0 ] || bad="$bad wrong-repairs"
	ratio=$(field "$out" result ratio)
	awk -v r="$ratio" 'BEGIN { exit !(r != "" && r <= 2.0) }' ||
		bad="$bad ratio=$ratio>2"
	new_kb=$(($(field "$out" bytes keys) + $(field "$out" bytes sums)))
	old_kb=$(field "$old" bytes keys)
	[ "$new_kb" -lt "$old_kb" ] ||
		bad="$bad key-phase=$new_kb>=whole-segments=$old_kb"
	if [ -n "$bad" ]; then
		echo "FAILED:$bad; replay with:"
		echo "  $sim aae $ARGS"
		return 1
	fi
	echo "goal: converged, ratio $ratio <= 2, key phase $new_kb < $old_kb bytes"
}

replay() {
	sim=$1
	# shellcheck disable=SC2086
	a=$("$sim" aae $ARGS --keys 50000 | grep -v '^time ')
	# shellcheck disable=SC2086
	b=$("$sim" aae $ARGS --keys 50000 | grep -v '^time ')
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		echo "FAILED: outputs differ: $sim aae $ARGS --keys 50000"
		return 1
	fi
	echo "replay: identical"
}

[ $# -eq 2 ] || {
	echo "usage: $0 goal SIM | replay SIM" >&2
	exit 2
}
case $1 in
goal) goal "$2" ;;
replay) replay "$2" ;;
*)
	echo "usage: $0 goal SIM | replay SIM" >&2
	exit 2
	;;
esac
