#!/usr/bin/env python3
"""Per-request n/r/w: three nodes, one stopped. w=3 gives 503 and says
where the value was stored; w=2 succeeds; r=3 cannot be met, r=2 can;
the stopped node, restarted, is repaired by a read and serves again."""

import signal
import threading

from shoaltest import Cluster, check, main, siblings, wait_until


def inflight_then_sigterm(node):
    """SIGTERM while a request waits for a quorum: it is answered (not
    dropped) and the node exits 0."""
    out = {}

    def put():
        out["r"] = node.put("q", "inflight", "x",
                            query="?w=3&timeout_ms=2000")
    t = threading.Thread(target=put)
    t.start()
    wait_until(lambda: node.stats()["coord"]["inflight"] >= 1, 5,
               "the request in flight")
    check(node.stop() == 0, "SIGTERM with a request in flight exits 0")
    t.join(10)
    check(out.get("r") is not None and out["r"].status == 503,
          "the request in flight is answered: %r" % out.get("r"))


def test(build):
    c = Cluster(build, 3).start()
    n1, n2, n3 = c.nodes
    check(n1.put("q", "before", "v0", query="?w=3").status == 204,
          "w=3 with every node up")
    # n3 frozen: a w=3 write waits for it; SIGTERM n2 meanwhile.
    n3.proc.send_signal(signal.SIGSTOP)
    try:
        inflight_then_sigterm(n2)
    finally:
        n3.proc.send_signal(signal.SIGCONT)
    n2.start()
    c.wait_agree()
    check(n3.stop() == 0, "n3 stops cleanly")

    r = n1.put("q", "k", "v1", query="?w=3&timeout_ms=1500")
    check(r.status == 503, "w=3 with a node down: %r" % r)
    body = r.json()
    check(body["error"] == "quorum" and body["needed"] == 3 and
          body["acknowledged"] == 2, "503 body: %r" % body)
    check(sorted(body["stored_on"]) == ["n1", "n2"],
          "stored_on: %r" % body)

    r = n1.put("q", "k", "v2", query="?w=2&timeout_ms=1500")
    check(r.status == 204, "w=2 with a node down: %r" % r)
    r = n2.kv_get("q", "k", "?r=3&timeout_ms=1500")
    check(r.status == 503, "r=3 with a node down: %r" % r)
    check(r.json()["needed"] == 3, "r=3 503 body: %r" % r.json())
    r = n2.kv_get("q", "k", "?r=2&timeout_ms=1500")
    check(r.status in (200, 300) and b"v2" in r.body, "r=2: %r" % r)
    r = n1.put("q", "small", "x", query="?n=1&r=1&w=1")
    check(r.status == 204, "n=1 w=1: %r" % r)
    r = n1.kv_get("q", "k", "?n=2&r=3")
    check(r.status == 400, "r > n is a 400: %r" % r)
    # n alone: the server's r=2 w=2 fit it (n=1 means r=w=1)
    r = n1.put("q", "solo", "x", query="?n=1")
    check(r.status == 204, "n=1 alone: %r" % r)
    r = n2.kv_get("q", "k", "?n=1")
    check(r.status in (200, 300, 404), "n=1 alone, a read: %r" % r)
    r = n1.dt("qdt", "c", {"type": "counter", "increment": 1}, query="?n=1")
    check(r.status == 204, "n=1 alone on /dt: %r" % r)
    r = n1.put("q", "solo", "x", query="?n=1&w=2")
    check(r.status == 400, "w given above n is a 400: %r" % r)

    # The node comes back with its disk: reads reach it again, and a
    # read repairs what it missed.
    n3.start()
    c.wait_agree()
    r = n1.kv_get("q", "k", "?r=3")
    check(r.status in (200, 300), "r=3 after the restart: %r" % r)

    def repaired():
        rep = n1.get("/cluster/replicas/q/k").json()["replicas"]
        return all(x["present"] for x in rep) and \
            len(set(x["hash"] for x in rep)) == 1
    wait_until(repaired, 10, "read repair of n3")
    check(b"v2" in b"".join(siblings(n3.kv_get("q", "k", "?r=3"))),
          "n3 serves the value")


if __name__ == "__main__":
    main(test)
