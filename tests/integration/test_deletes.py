#!/usr/bin/env python3
"""Safe deletes (issue 5): three nodes with a 3 s tombstone grace. 1,000
keys are written to every replica; n3 stops; all 1,000 are deleted with
their contexts (w=2), so n3 misses every delete and still holds the old
values; n3 starts again. No key may reappear: once n3's hints are
replayed, every replica's own copy (/cluster/replicas) is a tombstone and
GET with n=3 r=3 is a 404; then the reapers remove the tombstones (the
reaped count, summed over the nodes, reaches 3 x 1,000) and every copy is
absent and GET still 404. A last check after one more pass and a restart
of n3 finds nothing back."""

import json
import time

import bulk
from shoaltest import Cluster, check, main, wait_until

KEYS = 1000
THREADS = 8
GRACE_S = 3


def hints(node):
    return node.get("/cluster/hints").json()


def reaped(nodes):
    return sum(n.stats()["reap"]["tombstones_reaped"] for n in nodes)


def test(build):
    c = Cluster(build, 3, extra=["--tombstone-grace-s", str(GRACE_S)])
    c.start()
    n1, n2, n3 = c.nodes
    keys = ["d%d" % i for i in range(KEYS)]

    def write(conns, k):
        st, h, body = conns.request(
            n1, "PUT", "/kv/del/%s?w=3&timeout_ms=5000" % k,
            body=b"value", headers={"Content-Type": "text/plain"})
        check(st == 204, "write %s: %d %r" % (k, st, body))
        return h["x-shoal-context"]
    ctxs = dict(zip(keys, bulk.run(keys, write, threads=THREADS)))

    check(n3.stop() == 0, "stop n3")
    c.wait_state(n3.name, "dead")

    def delete(conns, k):
        node = n1 if int(k[1:]) % 2 else n2
        st, _, body = conns.request(
            node, "DELETE", "/kv/del/%s?w=2&timeout_ms=5000" % k,
            headers={"X-Shoal-Context": ctxs[k]})
        check(st == 204, "delete %s: %d %r" % (k, st, body))
    bulk.run(keys, delete, threads=THREADS)
    stored = hints(n1)["stored"] + hints(n2)["stored"]
    check(stored == KEYS, "a hint per delete for n3: %d" % stored)

    n3.start()
    c.wait_agree()

    def drained():
        return all(hints(n)["stored"] == 0 for n in (n1, n2))
    wait_until(drained, 30, "n3's hints to replay", interval_s=0.2)

    def copies(conns, k):
        st, _, body = conns.request(n2, "GET",
                                    "/cluster/replicas/del/%s?r=3" % k)
        check(st == 200, "replicas of %s: %d" % (k, st))
        rep = [x for x in json.loads(body)["replicas"] if not x["fallback"]]
        check(len(rep) == 3 and all(x["answered"] for x in rep),
              "three primaries answer for %s: %r" % (k, rep))
        for x in rep:
            check(not x["present"] or x["tombstone"],
                  "%s came back on %s: %r" % (k, x["name"], x))
        return sum(1 for x in rep if x["present"])

    def gone(conns, k):
        st, _, body = conns.request(n3, "GET", "/kv/del/%s?n=3&r=3" % k)
        check(st == 404, "GET %s after its delete: %d %r" % (k, st, body))

    done = reaped(c.nodes)
    tombs = sum(bulk.run(keys, copies, threads=THREADS))
    bulk.run(keys, gone, threads=THREADS)
    print("deletes: hints replayed; %d tombstone copies, %d reaped before "
          "the check" % (tombs, done))

    t0 = time.monotonic()
    wait_until(lambda: reaped(c.nodes) >= KEYS * 3, 60,
               "the tombstones to be reaped", interval_s=0.5)
    took = time.monotonic() - t0
    # A GET above may have raced a reap: its read repair then copied the
    # tombstone back to a replica that had dropped it. Such a lone copy
    # goes once it is twice the grace old (node/reap.h).
    left = [None]

    def none_left():
        left[0] = sum(bulk.run(keys, copies, threads=THREADS))
        return left[0] == 0
    wait_until(none_left, 30, "every tombstone copy reaped", interval_s=0.5)
    total = reaped(c.nodes)
    bulk.run(keys, gone, threads=THREADS)

    # n3 restarts: nothing it could replay or repair brings a key back.
    check(n3.stop() == 0, "stop n3 again")
    n3.start()
    c.wait_agree()
    passes = sum(n.stats()["reap"]["passes"] for n in c.nodes)
    wait_until(lambda: sum(n.stats()["reap"]["passes"]
                           for n in c.nodes) > passes + 3, 30,
               "more reaper passes", interval_s=0.5)
    check(sum(bulk.run(keys, copies, threads=THREADS)) == 0,
          "no copy came back after n3's restart")
    bulk.run(keys, gone, threads=THREADS)
    m = n1.get("/metrics").body.decode()
    check("shoal_tombstones_reaped_total" in m, "metrics name reaping")
    print("deletes: %d keys deleted with n3 down, none came back; "
          "%d tombstone copies reaped %.1fs after the checks (grace %d s)"
          % (KEYS, total, took, GRACE_S))


if __name__ == "__main__":
    main(test)
