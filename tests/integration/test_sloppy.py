#!/usr/bin/env python3
"""Sloppy quorums: four nodes, n=3, one primary of a key down and known
dead. A fallback takes its writes (w=3 succeeds and the fallback keeps a
hint), but pw/pr count primaries only and refuse fallbacks, and
sloppy=false has no fallback at all."""

from shoaltest import Cluster, check, main, wait_until


def test(build):
    c = Cluster(build, 4).start()
    by_name = {n.name: n for n in c.nodes}
    n1 = c.nodes[0]
    # A key whose preference list has n1 first, so n1 coordinates.
    key = None
    for i in range(500):
        pl = n1.get("/cluster/preflist/s/k%d" % i).json()["preflist"]
        if pl[0]["name"] == "n1":
            key = "k%d" % i
            break
    check(key is not None, "a key with n1 as primary")
    primaries = [e["name"] for e in pl[:3]]
    # A node off the preference list forwards writes to a primary.
    outsider = [n for n in c.nodes if n.name not in primaries][0]
    r = outsider.put("s", key, "v0", query="?w=3")
    check(r.status == 204, "forwarded write: %r" % r)
    check(outsider.stats()["coord"]["forwards"] >= 1, "it was forwarded")
    down = by_name[primaries[2]]
    check(down.stop() == 0, "stop %s" % down.name)
    c.wait_state(down.name, "dead")

    def fallback_listed():
        p = n1.get("/cluster/preflist/s/%s" % key).json()["preflist"]
        return [e for e in p if e["fallback"]]
    fb = wait_until(fallback_listed, 10, "a fallback in the preflist")
    check(fb[0]["stands_in_for"] == down.name, "stands in for: %r" % fb)
    fallback = by_name[fb[0]["name"]]

    r = n1.put("s", key, "v1", query="?w=3&timeout_ms=2000")
    check(r.status == 204, "sloppy w=3: %r" % r)
    st = fallback.stats()
    check(st["coord"]["hints_stored"] >= 1, "the fallback keeps a hint")

    r = n1.put("s", key, "v2", query="?w=3&pw=3&timeout_ms=2000")
    check(r.status == 503, "pw=3 refuses the fallback: %r" % r)
    r = n1.put("s", key, "v3", query="?w=3&sloppy=false&timeout_ms=2000")
    check(r.status == 503, "sloppy=false, w=3: %r" % r)
    r = n1.put("s", key, "v4", query="?w=2&pw=2&timeout_ms=2000")
    check(r.status == 204, "pw=2: %r" % r)

    r = n1.kv_get("s", key, "?r=3&timeout_ms=2000")
    check(r.status in (200, 300), "sloppy r=3: %r" % r)
    r = n1.kv_get("s", key, "?r=3&pr=3&timeout_ms=2000")
    check(r.status == 503, "pr=3 refuses the fallback: %r" % r)


if __name__ == "__main__":
    main(test)
