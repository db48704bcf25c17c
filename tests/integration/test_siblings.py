#!/usr/bin/env python3
"""Siblings: two writes with the same stale context give exactly two
siblings (300 multipart/mixed, each part with its content type); a write
with the merged context resolves them. Two writers interleaving 100
writes, each with the context of its own last write, never make more
than two siblings and lose none."""

import threading

from shoaltest import Cluster, check, main, parse_multipart, siblings


def concurrent(c):
    n1, n2, n3 = c.nodes
    r = n1.put("cart", "bob", "base")
    check(r.status == 204, "base: %r" % r)
    stale = n1.kv_get("cart", "bob").context
    results = {}

    def write(node, value, ctype):
        results[value] = node.put("cart", "bob", value, context=stale,
                                  ctype=ctype).status
    ts = [threading.Thread(target=write, args=(n2, "from-n2", "text/a")),
          threading.Thread(target=write, args=(n3, "from-n3", "text/b"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    check(results == {"from-n2": 204, "from-n3": 204}, "writes: %r"
          % results)
    r = n1.kv_get("cart", "bob", "?r=3")
    check(r.status == 300, "two siblings: %r" % r)
    parts = sorted(parse_multipart(r))
    check(parts == [("text/a", b"from-n2"), ("text/b", b"from-n3")],
          "the parts: %r" % parts)
    check(r.context, "300 carries the merged context")
    w = n2.put("cart", "bob", "merged", context=r.context)
    check(w.status == 204, "resolving write: %r" % w)
    for n in c.nodes:
        check(siblings(n.kv_get("cart", "bob", "?r=3")) == [b"merged"],
              "resolved on %s" % n.name)


def interleaved(c):
    n1, n2 = c.nodes[0], c.nodes[1]
    ctx = {0: None, 1: None}
    last = {}
    for i in range(100):
        w = i % 2
        node = (n1, n2)[w]
        value = "w%d-%d" % (w, i)
        r = node.put("il", "k", value, context=ctx[w], query="?w=3")
        check(r.status == 204, "write %d: %r" % (i, r))
        ctx[w] = r.context
        last[w] = value.encode()
        vals = siblings(n1.kv_get("il", "k", "?r=3"))
        check(len(vals) <= 2, "write %d: %d siblings" % (i, len(vals)))
        # Nothing lost: the last write of each writer is there.
        for lw, lv in last.items():
            check(lv in vals, "write %d: %r lost (have %r)" % (i, lv, vals))


def test(build):
    c = Cluster(build, 3).start()
    concurrent(c)
    interleaved(c)


if __name__ == "__main__":
    main(test)
