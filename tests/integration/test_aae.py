#!/usr/bin/env python3
"""Active anti-entropy refills a wiped node: three nodes, n=3, 2,000 kv
keys and 20 counters written with w=3 (every replica has them). n3 stops,
its data directory is removed, and it starts again: a new actor with an
empty store, no hints pending for it (nothing was written while it was
down). Within 60 s every key's local copy on n3 (/cluster/replicas, which
reads each replica's own copy and repairs nothing) is present and equal
to the other two, n3's /stats show anti-entropy joins, and /cluster/aae
and shoalctl aae show the last exchange per partition. Then a node with
anti-entropy off refuses its peer's exchanges at once ("turned off"), so
the peer ends several within seconds instead of one per 15 s timeout."""

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from shoaltest import Cluster, check, main, wait_until

KEYS = 2000
COUNTERS = 20
INTERVAL_MS = "100"


def aae(node):
    return node.stats()["aae"]


def replica_equal(node, bucket, key, name):
    rep = node.get("/cluster/replicas/%s/%s?r=3" % (bucket, key)).json()
    reps = rep["replicas"]
    mine = [x for x in reps if x["name"] == name]
    hashes = set(x.get("hash") for x in reps)
    return len(reps) == 3 and all(x["present"] for x in reps) and \
        len(hashes) == 1 and len(mine) == 1


def test(build):
    c = Cluster(build, 3, extra=["--aae-interval-ms", INTERVAL_MS]).start()
    n1, n3 = c.nodes[0], c.nodes[2]
    pool = ThreadPoolExecutor(max_workers=4)

    def write(i):
        node = c.nodes[i % 3]
        return i, node.put("a", "k%d" % i, "value-%d" % i, query="?w=3")
    for i, r in pool.map(write, range(KEYS)):
        check(r.status == 204, "write k%d: %r" % (i, r))
    for i in range(COUNTERS):
        r = n1.dt("adt", "c%d" % i, {"type": "counter", "increment": i + 1},
                  query="?w=3")
        check(r.status == 204, "counter c%d: %r" % (i, r))
    check(aae(n3)["trees_built"] > 0, "n3 keeps trees: %r" % aae(n3))

    check(n3.stop() == 0, "stop n3")
    shutil.rmtree(n3.data)
    t0 = time.monotonic()
    n3.start()
    c.wait_agree()
    check(aae(n3)["records_joined"] < KEYS, "n3 starts (nearly) empty")

    left = [("a", "k%d" % i) for i in range(KEYS)] + \
        [("adt", "c%d" % i) for i in range(COUNTERS)]

    def refilled():
        ok = list(pool.map(lambda bk: replica_equal(n3, bk[0], bk[1],
                                                    n3.name), left))
        left[:] = [bk for bk, eq in zip(left, ok) if not eq]
        return not left
    wait_until(refilled, 60, "n3 to hold every key again", interval_s=0.5)
    took = time.monotonic() - t0
    check(took < 60, "refilled in %.1fs" % took)

    s3 = aae(n3)
    check(s3["records_joined"] >= KEYS + COUNTERS,
          "n3 joined its keys: %r" % s3)
    check(s3["exchanges_started"] > 0 and s3["responded"] > 0,
          "n3 ran exchanges both ways: %r" % s3)
    repaired = sum(aae(n)["keys_repaired"] for n in c.nodes)
    sent = sum(aae(n)["bytes_sent"] for n in c.nodes)
    check(repaired >= KEYS + COUNTERS, "keys repaired: %d" % repaired)
    for k in range(0, COUNTERS, 7):
        r = n3.dt_get("adt", "c%d" % k, query="?r=1")
        check(r.status == 200 and r.json()["value"] == k + 1,
              "n3's own counter c%d: %r" % (k, r))
    print("aae: n3 refilled in %.1fs: %d keys repaired, %d records joined "
          "on n3, %d AAE bytes sent by the three nodes"
          % (took, repaired, s3["records_joined"], sent))

    doc = n3.get("/cluster/aae").json()
    parts = doc["partitions"]
    check(len(parts) > 0 and all(p["built"] for p in parts),
          "n3's trees are built: %r" % parts[:3])
    ran = [p for p in parts if p["last"] is not None]
    check(ran and all(p["last"]["peer"] in ("n1", "n2") for p in ran),
          "last exchanges: %r" % ran[:3])
    ctl = subprocess.run([os.path.join(build, "shoalctl"), "-H", n3.http,
                          "aae"], capture_output=True, timeout=10)
    check(ctl.returncode == 0 and b"partitions" in ctl.stdout,
          "shoalctl aae: %r" % (ctl,))
    m = n3.get("/metrics").body.decode()
    check("shoal_aae_keys_repaired_total" in m, "metrics name aae")
    pool.shutdown()
    for n in c.nodes:
        n.stop()
    off_node_refuses(build)


def off_node_refuses(build):
    c = Cluster(build, 2, extra=["--aae-interval-ms", INTERVAL_MS])
    c.nodes[1].extra = ["--aae-interval-ms", "0"]
    c.start()
    on, off = c.nodes
    check(not aae(off)["enabled"], "n2's anti-entropy is off")
    # one exchange at a time: waiting out timeouts, n1 would end one
    wait_until(lambda: aae(on)["exchanges_failed"] >= 3, 10,
               "three exchanges with n2 refused")
    parts = on.get("/cluster/aae").json()["partitions"]
    refused = [p for p in parts if p["last"] is not None and
               p["last"]["result"] == "turned off"]
    check(refused and all(p["last"]["peer"] == "n2" for p in refused),
          "refusals in /cluster/aae: %r" % parts[:3])


if __name__ == "__main__":
    main(test)
