#!/usr/bin/env python3
"""A replica that hangs slows nothing down, and gets the writes it missed.
Three nodes, n=3 r=2 w=2, --inflight-max 64, SWIM slowed down (so a
hung node stays a live member). shoal-bench sends reads and writes
(workload A: half writes; closed loop) through n1 and n2 while n3 is
stopped with SIGSTOP (its sockets stay open, it answers nothing):

- hung for 3 s: every request succeeds. Reads answer with two copies and
  then wait for n3's, writes are acknowledged by two and wait for n3's
  ack; when a node's table of requests in flight is full, such a request
  gives its place to the new one (coord.waits_cut counts them) instead of
  the new one being refused with 503 "overloaded", as it was before.
- hung for 1 s, too short for SWIM to notice: the writes cut short are
  hinted for n3 (coord.hints_stored), and although no SWIM event starts
  replay, hinted handoff brings n3 all of them within 30 s of its
  return (the coordinator names the primaries it hinted; the node counts
  their hints, which starts replay)."""

import os
import re
import signal
import subprocess
import time

from shoaltest import Cluster, check, main, wait_until

LINE = re.compile(r"^bench target=\S+ workload=A ops=(\d+) .* errors=(\d+)$")


def bench(build, target, seconds):
    return subprocess.Popen(
        [os.path.join(build, "shoal-bench"), "--target", target,
         "--workload", "A", "--n", "3", "--r", "2", "--w", "2",
         "--connections", "16", "--keys", "500", "--duration",
         str(seconds), "--warmup", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(p):
    out, err = p.communicate(timeout=60)
    out = out.decode()
    print(out)
    check(p.returncode == 0, "shoal-bench: exit %d %s"
          % (p.returncode, err.decode()[-1000:]))
    m = LINE.match(out.strip().splitlines()[-1])
    check(m is not None, "summary line: %r" % out[-500:])
    check(int(m.group(1)) > 0 and int(m.group(2)) == 0,
          "operations with n3 hung: %r" % m.group(0))


def hang(proc, after_s, for_s):
    time.sleep(after_s)
    proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(for_s)
    finally:
        proc.send_signal(signal.SIGCONT)


def hints(node):
    return node.get("/cluster/hints").json()


def test(build):
    c = Cluster(build, 3, extra=["--inflight-max", "64",
                                 "--swim-time-scale", "5.0"]).start()
    n1, n2, n3 = c.nodes
    target = "http://%s,%s" % (n1.http, n2.http)

    p = bench(build, target, 4)
    hang(n3.proc, 0.5, 3.0)
    finished(p)
    coords = [n.stats()["coord"] for n in (n1, n2)]
    print("n1, n2: %r" % [{k: s[k] for k in ("overloaded", "waits_cut",
                                              "hints_stored")}
                          for s in coords])
    check(all(s["overloaded"] == 0 for s in coords), "503 overloaded")
    check(sum(s["waits_cut"] for s in coords) > 0,
          "no request gave its place up: the tables never filled")

    def drained():
        hs = [hints(n) for n in (n1, n2)]
        return all(h["stored"] == 0 for h in hs) and \
            all(d["pending"] == 0 for h in hs for d in h["destinations"])
    wait_until(drained, 30, "hints for n3 to drain", interval_s=0.2)

    before = sum(hints(n)["replayed"] for n in (n1, n2))
    stored = sum(n.stats()["coord"]["hints_stored"] for n in (n1, n2))
    p = bench(build, target, 2)
    hang(n3.proc, 0.5, 1.0)
    finished(p)
    added = sum(n.stats()["coord"]["hints_stored"] for n in (n1, n2)) - stored
    check(added > 0, "no hints for the writes n3 missed")
    wait_until(drained, 30, "hints for n3 to drain", interval_s=0.2)
    replayed = sum(hints(n)["replayed"] for n in (n1, n2)) - before
    print("hung 1 s: %d hints stored for n3, %d replayed" % (added, replayed))
    check(replayed > 0, "nothing replayed")


if __name__ == "__main__":
    main(test)
