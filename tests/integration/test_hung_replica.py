#!/usr/bin/env python3
"""A replica that hangs slows nothing down. Three nodes, n=3 r=2 w=2,
--inflight-max 64, SWIM at its normal pace (so a hung node stays a member
for seconds); n3 is stopped with SIGSTOP (its sockets stay open, it
answers nothing), and shoal-bench sends reads and writes (workload B,
closed loop) through n1 and n2 for 3 s. Every request succeeds: reads
answer with two copies and then wait for n3's, and when a node's table of
requests in flight is full, such a read gives its place to the new
request (coord.read_waits_cut counts them) instead of the new request
being refused with 503 "overloaded", as it was before."""

import os
import re
import signal
import subprocess

from shoaltest import Cluster, check, main

LINE = re.compile(r"^bench target=\S+ workload=B ops=(\d+) .* errors=(\d+)$")


def test(build):
    c = Cluster(build, 3, extra=["--inflight-max", "64",
                                 "--swim-time-scale", "1.0"]).start()
    n1, n2, n3 = c.nodes
    target = "http://%s,%s" % (n1.http, n2.http)
    n3.proc.send_signal(signal.SIGSTOP)
    try:
        r = subprocess.run(
            [os.path.join(build, "shoal-bench"), "--target", target,
             "--workload", "B", "--n", "3", "--r", "2", "--w", "2",
             "--connections", "16", "--keys", "500", "--duration", "3",
             "--warmup", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        n3.proc.send_signal(signal.SIGCONT)
    out = r.stdout.decode()
    print(out)
    check(r.returncode == 0, "shoal-bench: exit %d %s"
          % (r.returncode, r.stderr.decode()[-1000:]))
    m = LINE.match(out.strip().splitlines()[-1])
    check(m is not None, "summary line: %r" % out[-500:])
    coords = [n.stats()["coord"] for n in (n1, n2)]
    print("n1, n2: %r" % [{k: s[k] for k in ("overloaded", "read_waits_cut")}
                          for s in coords])
    check(int(m.group(1)) > 0 and int(m.group(2)) == 0,
          "operations with n3 hung: %r" % m.group(0))
    check(all(s["overloaded"] == 0 for s in coords), "503 overloaded")
    check(sum(s["read_waits_cut"] for s in coords) > 0,
          "no read gave its place up: the tables never filled")


if __name__ == "__main__":
    main(test)
