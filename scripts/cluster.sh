#!/bin/sh
# make run: a local three-node cluster. Starts n1..n3 (data under
# ./data/n1.., internode 127.0.0.1:7101.., HTTP 127.0.0.1:8101..), waits
# (bounded) until every node lists the three as alive, prints the HTTP
# addresses and a few curl lines to try, and stops them all on Ctrl-C.
# Logs: ./data/n1.log ... Needs nothing but the build (shoalctl polls).
set -eu
BUILD="${1:-build}"
SHOAL="$BUILD/shoal"
NODES="1 2 3"
PIDS=""

stop() {
	trap - INT TERM EXIT
	for pid in $PIDS; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	echo "cluster: stopped"
}
trap stop INT TERM EXIT

mkdir -p data
for i in $NODES; do
	"$SHOAL" --name "n$i" --data "./data/n$i" \
		--bind "127.0.0.1:710$i" --http "127.0.0.1:810$i" \
		--join 127.0.0.1:7101,127.0.0.1:7102 \
		>"data/n$i.log" 2>&1 &
	PIDS="$PIDS $!"
done

# Wait until each node sees three alive members and serves (at most 30 s).
agreed=0
tries=0
while [ "$tries" -lt 300 ]; do
	agreed=0
	for i in $NODES; do
		body=$("$BUILD/shoalctl" -H "127.0.0.1:810$i" members 2>/dev/null || true)
		alive=$(printf '%s' "$body" | grep -o '"state":"alive"' | wc -l)
		# and serves: /health is 503 "joining" until it has the members
		if [ "$alive" -eq 3 ] &&
			"$BUILD/shoalctl" -H "127.0.0.1:810$i" health >/dev/null 2>&1; then
			agreed=$((agreed + 1))
		fi
	done
	[ "$agreed" -eq 3 ] && break
	tries=$((tries + 1))
	sleep 0.1
done
if [ "$agreed" -ne 3 ]; then
	echo "cluster: the nodes did not agree on membership in 30 s; logs:"
	tail -n 20 data/n*.log
	exit 1
fi

cat <<'EOF'
cluster: three nodes agree on membership
  n1  http://127.0.0.1:8101   (internode 127.0.0.1:7101)
  n2  http://127.0.0.1:8102   (internode 127.0.0.1:7102)
  n3  http://127.0.0.1:8103   (internode 127.0.0.1:7103)

Try:
  curl -i -X PUT -H 'Content-Type: text/plain' --data 'hello' http://127.0.0.1:8101/kv/greetings/en
  curl -i http://127.0.0.1:8102/kv/greetings/en
  curl -i -X POST -d '{"type":"map","update":{"sku-1":{"counter":{"increment":2}}}}' http://127.0.0.1:8103/dt/carts/alice
  curl -s http://127.0.0.1:8101/dt/carts/alice
  curl -s http://127.0.0.1:8101/cluster/members
  ./build/shoalctl -H 127.0.0.1:8102 get greetings en

Logs in ./data/n*.log. Ctrl-C stops the cluster.
EOF

# Wait for Ctrl-C (or for a node to exit on its own).
for pid in $PIDS; do
	wait "$pid" || true
done
