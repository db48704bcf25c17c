#!/bin/sh
# run_fuzz.sh - run the libFuzzer targets (make fuzz), each for SECONDS,
# in parallel, starting from the committed corpus tests/fuzz/corpus/<t>/,
# and print a summary: executions, exec/s, coverage, new inputs, crashes.
#
#   tests/fuzz/run_fuzz.sh BUILD SECONDS [--merge] [target...]
#
# BUILD is a tree configured with CC=clang -DSHOAL_FUZZ=ON and built with
# --target fuzzers. New inputs go to BUILD/fuzz-work/<t>/ (the committed
# corpus is only read); crashes to BUILD/fuzz-artifacts/. With --merge the
# inputs that add edge coverage are merged into the committed corpus
# (-merge=1 -use_counters=0: edges, not hit counts, keeps it small), to be
# reviewed and committed. Exits 1 if any fuzzer crashed.
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD SECONDS [--merge] [target...]" >&2
	exit 2
fi
build=$1
seconds=$2
shift 2
merge=0
if [ "${1:-}" = "--merge" ]; then
	merge=1
	shift
fi
src=$(cd "$(dirname "$0")" && pwd)
targets=${*:-"http json coord_wire swim dvv crdt causal merkle reap aae journal"}

max_len() {
	case $1 in
	causal) echo 1024 ;;
	dvv | crdt) echo 2048 ;;
	journal) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$build/fuzz-work" "$build/fuzz-artifacts" "$build/fuzz-logs"
for t in $targets; do
	bin=$build/tests/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "missing $bin: build with --target fuzzers" >&2
		exit 2
	fi
	mkdir -p "$build/fuzz-work/$t"
	"$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$t-" \
		"$build/fuzz-work/$t" "$src/corpus/$t" \
		>"$build/fuzz-logs/$t.log" 2>&1 &
done
wait

status=0
printf '%-11s %10s %8s %6s %6s %6s  %s\n' target execs exec/s cov ft new result
for t in $targets; do
	log=$build/fuzz-logs/$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	new=$(ls "$build/fuzz-work/$t" | wc -l)
	if grep -qE '^==[0-9]+==ERROR|deadly signal|property failed|runtime error' "$log"; then
		result="CRASH (see $log)"
		status=1
	else
		result=ok
	fi
	printf '%-11s %10s %8s %6s %6s %6s  %s\n' "$t" "${execs:-?}" \
		"${rate:-?}" "${cov:-?}" "${ft:-?}" "$new" "$result"
done
ls "$build"/fuzz-artifacts/* >/dev/null 2>&1 &&
	echo "artifacts: $(ls "$build"/fuzz-artifacts/)"

if [ $merge = 1 ]; then
	for t in $targets; do
		"$build/tests/fuzz/fuzz_$t" -merge=1 -use_counters=0 -max_len="$(max_len "$t")" \
			"$src/corpus/$t" "$build/fuzz-work/$t" \
			>"$build/fuzz-logs/$t.merge.log" 2>&1 ||
			echo "merge of $t failed: $build/fuzz-logs/$t.merge.log"
		echo "corpus/$t: $(ls "$src/corpus/$t" | wc -l) files," \
			"$(du -sk "$src/corpus/$t" | cut -f1) KiB"
	done
fi
exit $status
