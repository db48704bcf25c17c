#!/bin/sh
# bench/compare.sh BUILD - shoal against redis-server on this machine, with
# the same harness (BUILD/shoal-bench) in one run (issue 6, `make bench`).
#
#   single node  shoal n=1 r=1 w=1 --sync none  vs redis --save "" --appendonly no
#                shoal n=1 r=1 w=1 --sync batch vs redis --appendonly yes
#                                                 --appendfsync always
#                workloads C and A
#   three nodes  shoal n=3 r=2 w=2 --sync batch vs the fsyncing redis, A;
#                shoal n=3 r=2 w=2 --sync none vs redis without
#                persistence, workloads A and cart (Redis has no CRDT map:
#                its cart column is its workload A figure, marked so), then
#                an open loop of workload A at 50% of that maximum, against
#                both.
#   the floor    three shoal-relays (bench/relay.c: shoal's internode
#                messages for each command, and no other work) with the
#                same harness, closed loop and at the same open-loop rate:
#                what this box alone costs a three-node request path;
#                then at half their own maximum, the p99 goal held to a
#                server that does no work.
#
# The two sides of each pair run side by side, alternating (see below).
# Every run: 100-byte values, BENCH_CONNS connections (50), BENCH_KEYS keys
# (10000) preloaded, BENCH_WARMUP (2) + BENCH_DURATION (10) seconds; beside
# ops/s and latency, the servers' CPU time per operation, which other load
# on a shared box disturbs far less.
# Lengthen with e.g. BENCH_DURATION=60. Servers listen on free 127.0.0.1
# ports with data in a temporary directory (BENCH_KEEP=1 keeps it) and are
# stopped on exit, whatever happens. redis-server is installed with
# apt-get only when missing; the system's redis service is never started.
# Prints each run's summary line, then the table, then the goals of issue 6
# with this run's figures (met or not met).
set -eu

BUILD="${1:-build}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
CONNS="${BENCH_CONNS:-50}"
KEYS="${BENCH_KEYS:-10000}"
BENCH="$BUILD/shoal-bench"
SHOAL="$BUILD/shoal"
CTL="$BUILD/shoalctl"
RELAY="$BUILD/shoal-relay"

for prog in "$BENCH" "$SHOAL" "$CTL" "$RELAY"; do
	if [ ! -x "$prog" ]; then
		echo "compare: $prog is missing; build first (make build)" >&2
		exit 2
	fi
done

# redis-server, only when missing (as scripts/install-deps.sh does).
if ! command -v redis-server >/dev/null 2>&1; then
	echo "compare: installing redis-server"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq || echo "compare: apt-get update failed, trying the install anyway"
	# The package's service would be started by its postinst where an init
	# system runs; policy-rc.d forbids that, so only our own process runs.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod +x /usr/sbin/policy-rc.d
		$SUDO apt-get install -y -qq --no-install-recommends redis-server || true
		$SUDO rm -f /usr/sbin/policy-rc.d
	else
		$SUDO apt-get install -y -qq --no-install-recommends redis-server
	fi
	command -v redis-server >/dev/null 2>&1 || {
		echo "compare: redis-server could not be installed" >&2
		exit 1
	}
fi

TMP=$(mktemp -d /tmp/shoal-compare.XXXXXX)
PIDS=""
RESULTS="$TMP/results"
: >"$RESULTS"

stop_all() {
	for pid in $PIDS; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		# Bounded: a node finishes in-flight work within --shutdown-ms.
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PIDS=""
}

cleanup() {
	trap - INT TERM EXIT
	stop_all
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "compare: data and logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port - a TCP port nobody listens on now (the kernel picks it).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for CMD... - run CMD every 0.1 s until it succeeds, at most 30 s.
wait_for() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -ge 300 ]; then
			return 1
		fi
		sleep 0.1
	done
}

redis_ping() {
	redis-cli -h 127.0.0.1 -p "$1" ping | grep -q PONG
}

# start_redis NAME ARGS... - a redis-server of ours; sets REDIS_PORT.
start_redis() {
	name=$1
	shift
	REDIS_PORT=$(free_port)
	mkdir -p "$TMP/$name"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$TMP/$name" \
		--daemonize no --protected-mode yes "$@" >"$TMP/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	REDIS_PIDS=$!
	if ! wait_for redis_ping "$REDIS_PORT"; then
		echo "compare: redis-server did not answer; log:" >&2
		tail -n 20 "$TMP/$name.log" >&2
		exit 1
	fi
}

# alive_count HTTP - members the node at HTTP lists as alive.
alive_count() {
	"$CTL" -H "$1" members 2>/dev/null | grep -o '"state":"alive"' | wc -l
}

# start_shoal COUNT SYNC N R W - COUNT nodes; sets SHOAL_TARGET.
start_shoal() {
	count=$1 sync=$2
	binds="" https=""
	SHOAL_PIDS=""
	i=1
	while [ "$i" -le "$count" ]; do
		binds="$binds 127.0.0.1:$(free_port)"
		https="$https 127.0.0.1:$(free_port)"
		i=$((i + 1))
	done
	seed=$(echo $binds | cut -d' ' -f1)
	i=1
	for b in $binds; do
		h=$(echo $https | cut -d' ' -f$i)
		join=""
		[ "$i" -gt 1 ] && join="--join $seed"
		# shellcheck disable=SC2086
		"$SHOAL" --name "n$i" --data "$TMP/shoal-$sync-$count-n$i" \
			--bind "$b" --http "$h" --sync "$sync" \
			--n "$3" --r "$4" --w "$5" --log-level warn $join \
			>"$TMP/shoal-$sync-$count-n$i.log" 2>&1 &
		PIDS="$PIDS $!"
		SHOAL_PIDS="$SHOAL_PIDS $!"
		i=$((i + 1))
	done
	for h in $https; do
		i=0
		# all alive, and serving (/health is 503 while joining)
		while [ "$(alive_count "$h")" -ne "$count" ] ||
			! "$CTL" -H "$h" health >/dev/null 2>&1; do
			i=$((i + 1))
			if [ "$i" -ge 300 ]; then
				echo "compare: shoal nodes did not agree on membership in 30 s" >&2
				tail -n 20 "$TMP"/shoal-*.log >&2
				exit 1
			fi
			sleep 0.1
		done
	done
	SHOAL_TARGET="http://$(echo $https | tr ' ' ',')"
}

# relay_ready PORT - the relay there answers a GET, which takes a peer's
# answer: its links are up.
relay_ready() {
	redis-cli -h 127.0.0.1 -p "$1" get k | grep -q v
}

# start_relays - three shoal-relays; sets RELAY_TARGET and RELAY_PIDS.
start_relays() {
	listens="$(free_port) $(free_port) $(free_port)"
	peers="127.0.0.1:$(free_port),127.0.0.1:$(free_port),127.0.0.1:$(free_port)"
	RELAY_PIDS=""
	i=0
	for l in $listens; do
		"$RELAY" --index "$i" --listen "127.0.0.1:$l" --peers "$peers" \
			>"$TMP/relay$i.log" 2>&1 &
		PIDS="$PIDS $!"
		RELAY_PIDS="$RELAY_PIDS $!"
		i=$((i + 1))
	done
	for l in $listens; do
		if ! wait_for relay_ready "$l"; then
			echo "compare: shoal-relay did not answer; logs:" >&2
			tail -n 5 "$TMP"/relay*.log >&2
			exit 1
		fi
	done
	RELAY_TARGET="redis://127.0.0.1:$(echo $listens | sed 's/ /,127.0.0.1:/g')"
}

# cpu_ticks PIDS - CPU time (user + system, clock ticks) of those servers.
cpu_ticks() {
	t=0
	for pid in $1; do
		v=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
		t=$((t + v))
	done
	echo "$t"
}

# bench TARGET WORKLOAD ARGS... - one shoal-bench run into $TMP/bench.out.
bench() {
	target=$1 workload=$2
	shift 2
	"$BENCH" --target "$target" --workload "$workload" \
		--connections "$CONNS" --keys "$KEYS" --value-size 100 "$@" \
		>"$TMP/bench.out" 2>"$TMP/bench.err" || {
		echo "compare: shoal-bench failed ($target $workload):" >&2
		tail -n 20 "$TMP/bench.out" "$TMP/bench.err" >&2
		exit 1
	}
}

# line_field FIRST NAME - NAME=value from the line of the last run's output
# that starts with FIRST (shoal-bench's box and send_lag lines).
line_field() {
	awk -v l="$1" -v f="$2" '$1 == l { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); if (kv[1] == f) print kv[2] } }' "$TMP/bench.out"
}

# run LABEL TARGET WORKLOAD [ARGS...] - one shoal-bench run: preload its
# keys, warm up, then the measured window. One process does all three, so
# the keys it reads are the ones it preloaded (each run draws a new key
# prefix) and its writes carry the contexts the preload's replies gave (a
# blind write to a preloaded key would make a sibling). Its summary line,
# with the servers' CPU time per operation (cpu_us=: user + system of every
# server process over the whole run, divided by every operation it made,
# preload and warmup included, as counted by its CSV; other load on a
# shared box disturbs this far less than ops/s), how busy the whole box
# was in the measured window (box_busy=, percent of every CPU, from
# shoal-bench's box line) and, in an open loop, how late the harness sent
# (lag_p99_ms=, its send_lag line), goes to stdout and, tagged with LABEL,
# to the results.
run() {
	label=$1 target=$2 workload=$3
	shift 3
	case "$label:$target" in
	relay*) pids=$RELAY_PIDS ;;
	*:redis://*) pids=$REDIS_PIDS ;;
	*) pids=$SHOAL_PIDS ;;
	esac
	t0=$(cpu_ticks "$pids")
	bench "$target" "$workload" --preload --warmup "$WARMUP" \
		--duration "$DURATION" --csv "$TMP/run.csv" "$@"
	t1=$(cpu_ticks "$pids")
	out=$(tail -n 1 "$TMP/bench.out")
	ops=$(awk -F, -v k="$KEYS" '$3 == "all" { s += $4 } END { print s + k }' "$TMP/run.csv")
	cpu=$(awk -v a="$t0" -v b="$t1" -v o="${ops:-0}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (o > 0) printf "%.1f", (b - a) / hz * 1e6 / o; else print "-" }')
	box=$(line_field box busy_pct)
	lag=$(line_field send_lag p99_ms)
	echo "$out cpu_us=$cpu box_busy=${box:--} lag_p99_ms=${lag:--}"
	echo "$label $workload $out cpu_us=$cpu box_busy=${box:--} lag_p99_ms=${lag:--}" >>"$RESULTS"
}

# field LABEL WORKLOAD NAME - NAME=value from that run's summary line.
field() {
	awk -v l="$1" -v w="$2" -v f="$3" '$1 == l && $2 == w {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) v = kv[2] }
	} END { print (v == "" ? "-" : v) }' "$RESULTS"
}

echo "compare: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ${DURATION} s runs after ${WARMUP} s warmup, $CONNS connections, $KEYS keys"

# Each pair runs side by side, the two servers up together and their
# runs alternating, so that a box whose speed wanders over minutes
# disturbs both sides alike; the idle one costs nothing measurable.
R="redis://127.0.0.1"
echo "== 1 node, shoal --sync none n=1 r=1 w=1 | redis-server, no persistence"
start_redis redis-none --save "" --appendonly no
start_shoal 1 none 1 1 1
for w in C A; do
	run redis-none "$R:$REDIS_PORT" "$w"
	run shoal1-none "$SHOAL_TARGET" "$w" --n 1 --r 1 --w 1
done
stop_all

echo "== 1 node, shoal --sync batch n=1 r=1 w=1 | redis-server, appendfsync always"
start_redis redis-aof --save "" --appendonly yes --appendfsync always
start_shoal 1 batch 1 1 1
for w in C A; do
	run redis-aof "$R:$REDIS_PORT" "$w"
	run shoal1-batch "$SHOAL_TARGET" "$w" --n 1 --r 1 --w 1
done
stop_all

echo "== 3 nodes, shoal --sync batch n=3 r=2 w=2 | redis-server, appendfsync always"
start_redis redis-aof3 --save "" --appendonly yes --appendfsync always
start_shoal 3 batch 3 2 2
run redis-aof3 "$R:$REDIS_PORT" A
run shoal3-batch "$SHOAL_TARGET" A --n 3 --r 2 --w 2
stop_all

echo "== 3 nodes, shoal --sync none n=3 r=2 w=2 | redis-server, no persistence | three shoal-relays"
start_redis redis-none3 --save "" --appendonly no
start_shoal 3 none 3 2 2
start_relays
run redis-none3 "$R:$REDIS_PORT" A
run shoal3 "$SHOAL_TARGET" A --n 3 --r 2 --w 2
run shoal3 "$SHOAL_TARGET" cart --n 3 --r 2 --w 2
run relay3 "$RELAY_TARGET" A
max=$(field shoal3 A ops_per_s)
rate=$(awk -v m="$max" 'BEGIN { r = int(m / 2); print (r < 1 ? 1 : r) }')
echo "== open loop at $rate ops/s (50% of shoal's $max)"
run shoal3-open "$SHOAL_TARGET" A --n 3 --r 2 --w 2 --rate "$rate"
run redis-open "$R:$REDIS_PORT" A --rate "$rate"
run relay3-open "$RELAY_TARGET" A --rate "$rate"
# The same goal held to the floor: the relays at half their own maximum.
# The goal scales with the server's own speed, so this says whether this
# box lets any server doing shoal's messages meet it.
rmax=$(field relay3 A ops_per_s)
rrate=$(awk -v m="$rmax" 'BEGIN { r = int(m / 2); print (r < 1 ? 1 : r) }')
echo "== the floor in open loop at $rrate ops/s (50% of its own $rmax)"
run relay3-half "$RELAY_TARGET" A --rate "$rrate"
stop_all

# The table: ops/s, p99, and shoal's ops/s over redis's.
row() { # TITLE SHOAL_LABEL SHOAL_WL REDIS_LABEL REDIS_WL NOTE
	s=$(field "$2" "$3" ops_per_s) r=$(field "$4" "$5" ops_per_s)
	sc=$(field "$2" "$3" cpu_us) rc=$(field "$4" "$5" cpu_us)
	awk -v t="$1" -v s="$s" -v sp="$(field "$2" "$3" p99_ms)" -v sc="$sc" \
		-v r="$r" -v rp="$(field "$4" "$5" p99_ms)" -v rc="$rc" -v n="$6" 'BEGIN {
		ratio = (s != "-" && r != "-" && r > 0) ? sprintf("%.2f", s / r) : "n/a"
		cratio = (sc != "-" && rc != "-" && sc > 0) ? sprintf("%.2f", rc / sc) : "n/a"
		printf "| %-46s | %8s | %9s | %9s | %8s | %9s | %9s | %5s | %9s |%s\n", t, s, sp, sc, r, rp, rc, ratio, cratio, n }'
}
echo
echo "ratio: shoal ops/s over redis ops/s; cpu ratio: redis CPU per op over shoal's (1.00: as cheap as redis)."
echo "cpu us/op: user + system time of the server processes (all three nodes for 3 nodes) per operation."
echo
echo "| run                                            |  shoal/s | shoal p99 | cpu us/op |  redis/s | redis p99 | cpu us/op | ratio | cpu ratio |"
echo "|------------------------------------------------|---------:|----------:|----------:|---------:|----------:|----------:|------:|----------:|"
row "1 node, sync none vs no persistence, C" shoal1-none C redis-none C ""
row "1 node, sync none vs no persistence, A" shoal1-none A redis-none A ""
row "1 node, sync batch vs appendfsync always, C" shoal1-batch C redis-aof C ""
row "1 node, sync batch vs appendfsync always, A" shoal1-batch A redis-aof A ""
row "3 nodes, sync batch vs appendfsync always, A" shoal3-batch A redis-aof3 A ""
row "3 nodes, sync none vs no persistence, A" shoal3 A redis-none3 A ""
row "3 nodes, sync none, cart vs no persistence, A" shoal3 cart redis-none3 A " redis has no cart: its A"
row "3 nodes, sync none vs the floor (3 relays), A" shoal3 A relay3 A " redis columns: the relays"
echo
echo "open loop, workload A at $rate ops/s (50% of shoal 3-node sync none max):"
for l in shoal3-open redis-open relay3-open; do
	printf '  %-12s ops/s %s  p50 %s ms  p99 %s ms  p99.9 %s ms  errors %s  cpu us/op %s  box busy %s%%  harness late p99 %s ms\n' "$l" \
		"$(field $l A ops_per_s)" "$(field $l A p50_ms)" "$(field $l A p99_ms)" \
		"$(field $l A p999_ms)" "$(field $l A errors)" "$(field $l A cpu_us)" \
		"$(field $l A box_busy)" "$(field $l A lag_p99_ms)"
done

# The goals of issue 6, against this run's figures.
ratio() { # SHOAL_LABEL SHOAL_WL REDIS_LABEL REDIS_WL
	awk -v s="$(field "$1" "$2" ops_per_s)" -v r="$(field "$3" "$4" ops_per_s)" \
		'BEGIN { if (s == "-" || r == "-" || r <= 0) print "n/a"; else printf "%.2f", s / r }'
}
verdict() { # VALUE OP LIMIT - "met" or "not met"
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "n/a" || v == "-") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
		print ok ? "met" : "not met" }'
}
echo
echo "goals (issue 6):"
for p in "shoal1-none C redis-none C sync-none,C" "shoal1-none A redis-none A sync-none,A" \
	"shoal1-batch C redis-aof C sync-batch,C" "shoal1-batch A redis-aof A sync-batch,A"; do
	set -- $p
	v=$(ratio "$1" "$2" "$3" "$4")
	printf '  one node >= 0.8x redis, %-13s %5s  %s\n' "$5:" "$v" "$(verdict "$v" ">=" 0.8)"
done
v=$(ratio shoal3 A redis-none3 A)
printf '  three nodes >= 0.3x redis single node, A: %s  %s\n' "$v" "$(verdict "$v" ">=" 0.3)"
v=$(field shoal3-open A p99_ms)
printf '  three nodes p99 <= 2 ms at half their maximum: %s ms  %s (box %s%% busy; %s%% at the maximum)\n' \
	"$v" "$(verdict "$v" "<=" 2)" "$(field shoal3-open A box_busy)" "$(field shoal3 A box_busy)"
printf '    the floor, three shoal-relays at the same rate: p99 %s ms (box %s%% busy); their maximum %s ops/s\n' \
	"$(field relay3-open A p99_ms)" "$(field relay3-open A box_busy)" "$(field relay3 A ops_per_s)"
v=$(field relay3-half A p99_ms)
printf '    the floor held to the same goal, p99 at half its own maximum (%s ops/s): %s ms  %s (box %s%% busy)\n' \
	"$rrate" "$v" "$(verdict "$v" "<=" 2)" "$(field relay3-half A box_busy)"
