#!/bin/sh
# aae.sh - the anti-entropy cost benchmark (issue 5): runs `shoal-sim aae`
# (tests/sim/sim_aae.c) over store sizes, difference rates and object sizes
# and prints one Markdown table row per run: bytes exchanged by anti-entropy
# next to the bytes of the differing objects. A benchmark, not a test: it
# asserts nothing (the CTest sim_aae_goal checks the bytes on a small run).
#
#   bench/aae.sh [SIM] [--quick] [--legacy]
#
# SIM defaults to build/shoal-sim. --quick: 100,000 keys only. --legacy also
# runs each case with --sub-fanout 0 (whole segments' keys), for comparison.
# Every run is memory only and bounded (shoal-sim aae stops after 8 rounds).
set -eu

sim=build/shoal-sim
quick=0
legacy=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--legacy) legacy=1 ;;
	-h | --help)
		sed -n '2,13p' "$0"
		exit 0
		;;
	*) sim=$a ;;
	esac
done
[ -x "$sim" ] || {
	echo "aae.sh: no shoal-sim at $sim (make build first)" >&2
	exit 2
}

# One run: a table row from the output's key=value lines.
row() {
	out=$("$sim" aae "$@") || {
		echo "aae.sh: FAILED: $sim aae $*" >&2
		printf '%s\n' "$out" >&2
		return 1
	}
	printf '%s\n' "$out" | awk '
	{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1 "." kv[1]] = kv[2] } }
	END {
		printf "| %d | %g%% | %d | %d | %d | %d | %d | %d | %d | %d | %.2f | %.2f | %d | %.2f | %.3f | %s |\n",
		    v["aae.keys"], v["aae.diff"] * 100, v["aae.value_bytes"],
		    v["aae.sub_fanout"], v["damage.differing_keys"],
		    v["damage.differing_object_bytes"],
		    v["bytes.tree"] + v["bytes.sums"], v["bytes.keys"],
		    v["bytes.objects"], v["bytes.total"], v["result.ratio"],
		    v["result.ratio_with_tree"], v["exchanges.exchanges"],
		    v["time.exchange_s"], v["time.sim_s"], v["result.converged"]
	}'
}

echo "| keys | differ | object B | sub fanout | differing keys | differing object B (D) | tree+sums B | key lists B | repairs B | total B | (keys+repairs)/D | total/D | exchanges | CPU s | network s | converged |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
sizes="100000 1000000"
[ "$quick" -eq 1 ] && sizes=100000
subs=8
[ "$legacy" -eq 1 ] && subs="0 8"
for keys in $sizes; do
	for vb in 100 1024; do
		for diff in 0.001 0.01 0.1; do
			for sub in $subs; do
				row --keys "$keys" --diff "$diff" \
					--value-bytes "$vb" --sub-fanout "$sub"
			done
		done
	done
done
