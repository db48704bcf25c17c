#!/usr/bin/env python3
"""Hinted handoff with three nodes and n=3 (issue 5): there is no
fallback to stand in for a stopped node, so a write's coordinator keeps
the hint itself. n3 stops and is known dead; 10,000 keys are written with
w=2 (several threads, keep-alive connections); n3 starts again: within
30 s every hint is replayed (/cluster/hints drains to 0 on n1 and n2) and
every replica of every key holds the same object (/cluster/replicas reads
each node's own copy, so no read repair helps). The nodes run with
--sync none: the test is about hints, not fsync, and must not depend on
the speed of a shared disk (a clean stop still commits everything)."""

import json
import time

import bulk
from shoaltest import Cluster, check, main, wait_until

KEYS = 10000
THREADS = 16


def hints(node):
    return node.get("/cluster/hints").json()


def test(build):
    c = Cluster(build, 3, extra=["--sync", "none"]).start()
    n1, n2, n3 = c.nodes
    check(n3.stop() == 0, "stop n3")
    c.wait_state(n3.name, "dead")

    keys = ["k%d" % i for i in range(KEYS)]

    def write(conns, k):
        node = n1 if hash(k) % 2 else n2
        st, _, body = conns.request(
            node, "PUT", "/kv/h3/%s?w=2&timeout_ms=5000" % k,
            body=("v-" + k).encode(), headers={"Content-Type": "text/plain"})
        check(st == 204, "write %s: %d %r" % (k, st, body))
    t0 = time.monotonic()
    bulk.run(keys, write, threads=THREADS, deadline_s=75)
    wrote = time.monotonic() - t0
    stored = hints(n1)["stored"] + hints(n2)["stored"]
    check(stored == KEYS, "one hint per key for n3: %d" % stored)

    t0 = time.monotonic()
    n3.start()

    def drained():
        hs = [hints(n) for n in (n1, n2)]
        return all(h["stored"] == 0 for h in hs) and \
            all(d["pending"] == 0 for h in hs for d in h["destinations"])
    wait_until(drained, 30, "hints to drain", interval_s=0.2)
    drained_s = time.monotonic() - t0
    check(hints(n3)["received"] >= KEYS, "n3 joined them: %r" % hints(n3))

    def unequal(conns, k):
        st, _, body = conns.request(n3, "GET",
                                    "/cluster/replicas/h3/%s?r=3" % k)
        check(st == 200, "replicas of %s: %d" % (k, st))
        rep = json.loads(body)["replicas"]
        prim = [x for x in rep if not x["fallback"]]
        ok = len(prim) == 3 and all(x["present"] for x in prim) and \
            len(set(x.get("hash") for x in prim)) == 1
        return None if ok else k
    left = list(keys)

    def all_equal():
        left[:] = [k for k in bulk.run(left, unequal, threads=THREADS,
                                       deadline_s=60) if k is not None]
        return not left
    wait_until(all_equal, max(1.0, 30 - (time.monotonic() - t0)),
               "every replica of every key equal", interval_s=0.2)
    took = time.monotonic() - t0
    check(took < 30, "converged in %.1fs" % took)
    print("hints3: %d keys written in %.1fs with n3 down, %d hints; "
          "drained %.1fs and every replica equal %.1fs after restart"
          % (KEYS, wrote, stored, drained_s, took))


if __name__ == "__main__":
    main(test)
