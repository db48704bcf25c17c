#!/usr/bin/env python3
"""Hinted handoff: four nodes, n=3 w=2. n4 stops and is known dead; 500
writes follow, and the fallbacks standing in for n4 keep hints. n4 comes
back: within 30 s every hint is replayed and deleted (/cluster/hints
drains to 0) and every key's three primaries hold the same object
(/cluster/replicas reads the local copies only, so no read repair
helps). Then again with the fallback holding most hints killed (-9) and
restarted before n4 returns: its stored hints are replayed too.
shoalctl hints shows the figures."""

import os
import subprocess
import time

from shoaltest import Cluster, check, main, wait_until

KEYS = 500


def hints(node):
    return node.get("/cluster/hints").json()


def test(build):
    c = Cluster(build, 4).start()
    n1, down = c.nodes[0], c.nodes[3]
    live = c.nodes[:3]
    check(down.stop() == 0, "stop n4")
    c.wait_state(down.name, "dead")
    for i in range(KEYS):
        r = n1.put("h", "k%d" % i, "v%d" % i, query="?w=2&timeout_ms=3000")
        check(r.status == 204, "write k%d: %r" % (i, r))
    stored = sum(hints(n)["stored"] for n in live)
    check(stored > KEYS // 10, "fallbacks keep hints: %d" % stored)
    pending = sum(d["pending"] for n in live
                  for d in hints(n)["destinations"] if d["name"] == "n4")
    check(pending == 0, "nothing pending while n4 is down: %d" % pending)

    t0 = time.monotonic()
    down.start()

    def drained():
        hs = [hints(n) for n in live]
        return all(h["stored"] == 0 for h in hs) and \
            all(d["pending"] == 0 for h in hs for d in h["destinations"])
    wait_until(drained, 30, "hints to drain", interval_s=0.2)
    replayed = sum(hints(n)["replayed"] for n in live)
    check(replayed >= stored, "replayed %d of %d" % (replayed, stored))
    check(hints(down)["received"] >= stored,
          "n4 joined them: %r" % hints(down))

    def equal_key(k):
        rep = n1.get("/cluster/replicas/h/%s?r=3" % k).json()["replicas"]
        prim = [x for x in rep if not x["fallback"]]
        hashes = set(x.get("hash") for x in prim)
        return len(prim) == 3 and all(x["present"] for x in prim) and \
            len(hashes) == 1
    left = ["k%d" % i for i in range(KEYS)]

    def all_equal():
        left[:] = [k for k in left if not equal_key(k)]
        return not left
    wait_until(all_equal, max(1.0, 30 - (time.monotonic() - t0)),
               "every replica equal", interval_s=0.2)
    took = time.monotonic() - t0
    check(took < 30, "converged in %.1fs" % took)
    print("hints: %d stored and replayed, converged %.1fs after restart"
          % (stored, took))

    # Hints survive a restart of the fallback that holds them.
    check(down.stop() == 0, "stop n4 again")
    c.wait_state(down.name, "dead")
    for i in range(100):
        r = n1.put("h", "r%d" % i, "w%d" % i, query="?w=2&timeout_ms=3000")
        check(r.status == 204, "write r%d: %r" % (i, r))
    fb = max(live, key=lambda n: hints(n)["stored"])
    kept = hints(fb)["stored"]
    check(kept > 0, "a fallback keeps hints")
    check(fb.kill9() is not None, "kill -9 %s" % fb.name)
    fb.start()
    c.wait_agree(live=live)
    check(hints(fb)["stored"] == kept, "%s kept its hints" % fb.name)
    down.start()
    wait_until(drained, 30, "hints to drain after the restarts",
               interval_s=0.2)
    left[:] = ["r%d" % i for i in range(100)]

    def all_equal_r():
        left[:] = [k for k in left if not equal_key(k)]
        return not left
    wait_until(all_equal_r, 30, "every replica equal", interval_s=0.2)

    ctl = subprocess.run([os.path.join(build, "shoalctl"), "-H", n1.http,
                          "hints"], capture_output=True, timeout=10)
    check(ctl.returncode == 0 and b"destinations" in ctl.stdout,
          "shoalctl hints: %r" % (ctl,))
    m = n1.get("/metrics").body.decode()
    check("shoal_hints_replayed_total" in m, "metrics name hints")


if __name__ == "__main__":
    main(test)
