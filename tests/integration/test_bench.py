#!/usr/bin/env python3
"""shoal-bench against a local 3-node cluster: workload A for 5 s, then
cart and F briefly; each run's summary line parses, counts operations and
no errors."""

import os
import re
import subprocess

from shoaltest import Cluster, check, main

LINE = re.compile(r"^bench target=(\S+) workload=(\S+) ops=(\d+) "
                  r"ops_per_s=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) "
                  r"p999_ms=([\d.]+) errors=(\d+)$")


def bench(build, target, *args):
    argv = [os.path.join(build, "shoal-bench"), "--target", target,
            "--warmup", "0.5", "--connections", "8", "--n", "3", "--r", "2",
            "--w", "2"] + list(args)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    out = p.stdout.decode()
    print(out)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode,
                                              p.stderr.decode()[-2000:]))
    last = out.strip().splitlines()[-1]
    m = LINE.match(last)
    check(m is not None, "summary line: %r" % last)
    check(int(m.group(3)) > 0, "no operations: %r" % last)
    check(int(m.group(8)) == 0, "errors: %r" % last)
    check(m.group(1) == target, "target: %r" % last)
    return m


def test(build):
    c = Cluster(build, 3).start()
    target = "http://" + ",".join(n.http for n in c.nodes)
    m = bench(build, target, "--workload", "A", "--duration", "5",
              "--keys", "1000")
    check(m.group(2) == "A", "workload: %r" % m.group(0))
    m = bench(build, target, "--workload", "cart", "--duration", "2",
              "--keys", "100")
    check(m.group(2) == "cart", "workload: %r" % m.group(0))
    bench(build, target, "--workload", "F", "--duration", "2",
          "--keys", "200", "--preload", "--rate", "300")


if __name__ == "__main__":
    main(test)
