#!/bin/sh
# make run: start what exists so far. Until the node (build/shoal) exists,
# this shows the ring that a three-node cluster would form, from shoal-sim.
set -eu
BUILD="${1:-build}"
if [ -x "$BUILD/shoal" ]; then
	exec ./scripts/cluster.sh "$BUILD"
fi
echo "run: the node is not built yet; showing the ring a 3-node cluster would form:"
exec "$BUILD/shoal-sim" ring --nodes 3 --partitions 64 --n 3
