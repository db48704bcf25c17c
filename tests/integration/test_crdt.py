#!/usr/bin/env python3
"""CRDTs over HTTP: cart updates (a map of sku -> counter) sent to all
three nodes at once converge to the same value everywhere; sets,
registers and counters answer in JSON; a type mismatch is a 409 naming
the stored type; a kv request on a dt key is a 409 too."""

import threading

from shoaltest import Cluster, check, main, wait_until

ROUNDS = 10


def cart(c):
    errors = []

    def shopper(node, sku):
        for _ in range(ROUNDS):
            op = {"type": "map",
                  "update": {sku: {"counter": {"increment": 2}},
                             "sku-all": {"counter": {"increment": 1}}}}
            r = node.dt("carts", "alice", op)
            if r.status != 204:
                errors.append(r)
    ts = [threading.Thread(target=shopper, args=(n, "sku-" + n.name))
          for n in c.nodes]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check(not errors, "updates: %r" % errors[:3])
    want = {"sku-n1": {"counter": 2 * ROUNDS},
            "sku-n2": {"counter": 2 * ROUNDS},
            "sku-n3": {"counter": 2 * ROUNDS},
            "sku-all": {"counter": 3 * ROUNDS}}

    def converged():
        for n in c.nodes:
            r = n.dt_get("carts", "alice", "?r=3")
            if r.status != 200:
                return False
            v = r.json()
            if v["type"] != "map" or v["value"] != want:
                return False
        return True
    wait_until(converged, 15, "the cart to converge")
    # Remove a field; the others stay.
    r = c.nodes[1].dt("carts", "alice", {"type": "map",
                                         "remove": ["sku-n1"]})
    check(r.status == 204, "map remove: %r" % r)
    check(r.header("X-Shoal-Not-Present") == "0", "removed something")
    r = c.nodes[1].dt("carts", "alice", {"type": "map",
                                         "remove": ["sku-n1"]})
    check(r.header("X-Shoal-Not-Present") == "1", "nothing to remove")
    v = c.nodes[2].dt_get("carts", "alice", "?r=3").json()["value"]
    check("sku-n1" not in v and v["sku-all"] == {"counter": 3 * ROUNDS},
          "after remove: %r" % v)


def other_types(c):
    n1, n2, n3 = c.nodes
    check(n1.dt("t", "set", {"type": "set", "add": ["a", "b", "c"]})
          .status == 204, "set add")
    check(n2.dt("t", "set", {"type": "set", "remove": ["b"]}).status == 204,
          "set remove")
    v = n3.dt_get("t", "set", "?r=3").json()
    check(v["type"] == "set" and v["value"] == ["a", "c"], "set: %r" % v)
    check(n1.dt("t", "reg", {"type": "register", "assign": "x"})
          .status == 204, "register")
    v = n2.dt_get("t", "reg", "?r=3").json()
    check(v["value"] == "x", "register: %r" % v)
    check(n1.dt("t", "cnt", {"type": "counter", "increment": 5})
          .status == 204, "counter")
    check(n2.dt("t", "cnt", {"type": "counter", "increment": -2})
          .status == 204, "counter decrement")
    v = n3.dt_get("t", "cnt", "?r=3").json()
    check(v["value"] == 3, "counter: %r" % v)
    r = n1.dt("t", "cnt", {"type": "set", "add": ["x"]})
    check(r.status == 409 and r.json().get("stored_type") == "counter",
          "type mismatch: %r" % r)
    r = n1.kv_get("t", "cnt")
    check(r.status == 409, "kv get of a dt key: %r" % r)
    check(n1.dt_get("t", "never").status == 404, "dt 404")


def test(build):
    c = Cluster(build, 3).start()
    cart(c)
    other_types(c)


if __name__ == "__main__":
    main(test)
