#!/usr/bin/env python3
"""shoal-bench against a local 3-node cluster: workload A for 5 s on two
threads with --csv, then cart and F briefly; each run's summary line
parses, counts operations and no errors; the CSV parses and adds up to the
run; an open loop's send_lag line parses (a closed loop has none);
progress lines reach stderr; --plot draws a PNG when gnuplot is
installed and, without it, fails at once with a clear message."""

import csv
import os
import re
import shutil
import subprocess

from shoaltest import Cluster, check, main, tmpdir

LINE = re.compile(r"^bench target=(\S+) workload=(\S+) ops=(\d+) "
                  r"ops_per_s=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) "
                  r"p999_ms=([\d.]+) errors=(\d+)$")


BOX = re.compile(r"^box cpus=(\d+) busy_pct=([\d.]+) user_pct=([\d.]+) "
                 r"system_pct=([\d.]+)$", re.M)


SEND_LAG = re.compile(r"^send_lag p50_ms=([\d.]+) p99_ms=([\d.]+) "
                      r"p999_ms=([\d.]+) max_ms=([\d.]+)$", re.M)


PROGRESS = re.compile(r"^(warmup|run) ops/s=\d+ p99_ms=[\d.]+ errors=\d+ "
                      r"left_s=\d+$", re.M)


def bench(build, target, *args, env=None):
    argv = [os.path.join(build, "shoal-bench"), "--target", target,
            "--warmup", "0.5", "--connections", "8", "--n", "3", "--r", "2",
            "--w", "2"] + list(args)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, env=env)
    out = p.stdout.decode()
    print(out)
    check(PROGRESS.search(p.stderr.decode()) is not None,
          "no progress lines: %r" % p.stderr.decode()[-2000:])
    check(p.returncode == 0, "exit %d: %s" % (p.returncode,
                                              p.stderr.decode()[-2000:]))
    last = out.strip().splitlines()[-1]
    m = LINE.match(last)
    check(m is not None, "summary line: %r" % last)
    check(int(m.group(3)) > 0, "no operations: %r" % last)
    check(int(m.group(8)) == 0, "errors: %r" % last)
    check(m.group(1) == target, "target: %r" % last)
    # an open loop says how late the harness sent; a closed one has no
    # schedule to be late for
    lag = SEND_LAG.search(out)
    if "--rate" in args:
        check(lag is not None, "no send_lag line: %r" % out[-2000:])
        v = [float(lag.group(i)) for i in (1, 2, 3, 4)]
        check(v == sorted(v), "send_lag out of order: %r" % lag.group(0))
    else:
        check(lag is None, "send_lag in a closed loop: %r"
              % (lag and lag.group(0)))
    if os.path.exists("/proc/stat"):
        box = BOX.search(out)
        check(box is not None, "no box line: %r" % out[-2000:])
        busy, user, system = (float(box.group(i)) for i in (2, 3, 4))
        check(int(box.group(1)) >= 1 and 0 < busy <= 100 and
              abs(busy - user - system) < 0.2,
              "box line: %r" % box.group(0))
    return m


def check_csv(path, ops, warmup_s, duration_s):
    """Rows parse; an "all" row a second; they add up to at least the
    measured operations (they include the warmup)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) > 0, "empty CSV")
    check(list(rows[0].keys()) == ["time_s", "phase", "op", "ops",
                                   "ops_per_s", "p50_ms", "p90_ms", "p99_ms",
                                   "p999_ms", "max_ms", "errors"],
          "CSV header: %r" % list(rows[0].keys()))
    alls = [r for r in rows if r["op"] == "all"]
    secs = warmup_s + duration_s
    check(secs - 1 <= len(alls) <= secs + 1,
          "%d 'all' rows for %.1f s" % (len(alls), secs))
    for r in rows:
        p = [float(r[k]) for k in ("p50_ms", "p90_ms", "p99_ms", "p999_ms",
                                   "max_ms")]
        check(p == sorted(p), "percentiles out of order: %r" % r)
        check(r["phase"] in ("warmup", "run"), "phase: %r" % r)
        check(int(r["errors"]) == 0, "errors in row %r" % r)
    check({r["op"] for r in rows} >= {"all", "read", "update"},
          "ops in CSV: %r" % {r["op"] for r in rows})
    total = sum(int(r["ops"]) for r in alls)
    check(ops <= total <= ops * 2, "CSV ops %d vs run %d" % (total, ops))
    times = [float(r["time_s"]) for r in alls]
    check(times == sorted(times), "times out of order")
    check(alls[-1]["phase"] == "run", "last row: %r" % alls[-1])


def check_plot(build, target, d):
    png = os.path.join(d, "a.png")
    if shutil.which("gnuplot") is None:
        print("gnuplot not installed: --plot not drawn")
    else:
        bench(build, target, "--workload", "C", "--duration", "2",
              "--keys", "100", "--plot", png)
        with open(png, "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG: %s" % png)
    # without gnuplot on PATH: refused before the run, with the reason
    argv = [os.path.join(build, "shoal-bench"), "--target", target,
            "--duration", "30", "--plot", png]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20, env={"PATH": "/nonexistent"})
    err = p.stderr.decode()
    check(p.returncode != 0 and "gnuplot" in err,
          "no gnuplot: exit %d %r" % (p.returncode, err))


def test(build):
    c = Cluster(build, 3).start()
    target = "http://" + ",".join(n.http for n in c.nodes)
    d = tmpdir()
    path = os.path.join(d, "a.csv")
    m = bench(build, target, "--workload", "A", "--duration", "5",
              "--keys", "1000", "--threads", "2", "--csv", path)
    check(m.group(2) == "A", "workload: %r" % m.group(0))
    check_csv(path, int(m.group(3)), 0.5, 5)
    m = bench(build, target, "--workload", "cart", "--duration", "2",
              "--keys", "100")
    check(m.group(2) == "cart", "workload: %r" % m.group(0))
    bench(build, target, "--workload", "F", "--duration", "2",
          "--keys", "200", "--preload", "--rate", "300")
    check_plot(build, target, d)


if __name__ == "__main__":
    main(test)
