#!/usr/bin/env python3
"""Durability: kill -9 of the coordinating node while it acknowledges
writes with w=1 (its own fsynced commit only, --sync batch) loses none of
them: after the restart its own copy of every acknowledged key is there,
and reads find every value. The restarted node continues its epoch (its
actor's lineage); a node that comes back with a wiped disk gets a new one."""

import http.client
import shutil
import threading

from shoaltest import Cluster, check, main, siblings, wait_until


def writes_then_kill(c):
    n1 = c.nodes[0]
    acked = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            try:
                r = n1.put("d", "k%d" % i, "v%d" % i, query="?w=1",
                           timeout_s=5)
            except (OSError, http.client.HTTPException):
                return  # the node is gone
            if r.status == 204:
                acked.append(i)
            i += 1
    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_until(lambda: len(acked) >= 100, 30, "100 acknowledged writes")
        n1.kill9()
    finally:
        stop.set()
        t.join(30)
    return list(acked)


def test(build):
    c = Cluster(build, 3).start()
    n1, n2, n3 = c.nodes
    epoch = n1.stats()["epoch"]
    acked = writes_then_kill(c)
    n1.start()
    c.wait_agree()
    # The restart continues the node's epoch: the coordinator took
    # epoch + 1 at its first write (node/coord.h, ACTOR RENEWAL) and kept
    # it in the store, and the restart starts from it; a wiped node draws
    # a random one (below).
    step = int(n1.stats()["epoch"], 16) - int(epoch, 16)
    check(step == 1, "the epoch survives a restart, renewed once: %d" % step)
    for i in acked:
        rep = n1.get("/cluster/replicas/d/k%d?r=1" % i).json()["replicas"]
        mine = [x for x in rep if x["name"] == "n1"]
        check(mine and mine[0]["present"],
              "acknowledged k%d missing from n1's disk: %r" % (i, rep))
    for i in acked[:: max(1, len(acked) // 50)]:
        vals = siblings(n2.kv_get("d", "k%d" % i, "?r=3"))
        check(("v%d" % i).encode() in vals, "k%d: %r" % (i, vals))
    # Writes after the restart use a later epoch without reusing dots.
    r = n1.kv_get("d", "k%d" % acked[0])
    check(n1.put("d", "k%d" % acked[0], "after", context=r.context)
          .status == 204, "write after the restart")
    check(siblings(n3.kv_get("d", "k%d" % acked[0], "?r=3")) == [b"after"],
          "it supersedes the old value")

    # A wiped disk is a new actor.
    old = n3.stats()["epoch"]
    check(n3.stop() == 0, "n3 stops")
    shutil.rmtree(n3.data)
    n3.start()
    c.wait_agree()
    check(n3.stats()["epoch"] != old, "a wiped node gets a new epoch")


if __name__ == "__main__":
    main(test)
