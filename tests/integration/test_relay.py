#!/usr/bin/env python3
"""shoal-relay, the floor make bench measures beside shoal: three relays
serve shoal-bench's redis driver (every command relayed to the other two,
answered after one) with no errors; a client that sends anything but
GET/SET gets an error and is closed while the relay keeps serving; garbage
on the internode port closes that connection only; a relay whose peer
never comes up exits with an error; bad flags are refused."""

import os
import re
import socket
import subprocess

import shoaltest
from shoaltest import check, free_port, main, tmpdir, wait_until

LINE = re.compile(r"^bench target=\S+ workload=A ops=(\d+) ops_per_s=\S+ "
                  r"p50_ms=\S+ p99_ms=\S+ p999_ms=\S+ errors=(\d+)$")


def start(build, d, i, listen, peers, log_name=None, extra=()):
    log = open(os.path.join(d, log_name or "relay%d.log" % i), "wb")
    argv = [os.path.join(build, "shoal-relay"), "--index", str(i),
            "--listen", "127.0.0.1:%d" % listen,
            "--peers", ",".join("127.0.0.1:%d" % p for p in peers)]
    p = subprocess.Popen(argv + list(extra), stdout=log, stderr=log)
    shoaltest._procs.append(p)
    return p


def talk(port, data, want_len):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        got = b""
        while len(got) < want_len:
            b = s.recv(4096)
            if not b:
                break
            got += b
        return got


def accepts(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def test(build):
    d = tmpdir()
    listens = [free_port() for _ in range(3)]
    peers = [free_port() for _ in range(3)]
    procs = [start(build, d, i, listens[i], peers) for i in range(3)]
    for port in listens:
        wait_until(lambda: accepts(port), 10, "relay on %d" % port)

    target = "redis://" + ",".join("127.0.0.1:%d" % p for p in listens)
    argv = [os.path.join(build, "shoal-bench"), "--target", target,
            "--workload", "A", "--duration", "2", "--warmup", "0.5",
            "--connections", "8", "--keys", "500", "--preload"]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    out = r.stdout.decode()
    print(out)
    check(r.returncode == 0, "shoal-bench exit %d: %s"
          % (r.returncode, r.stderr.decode()[-2000:]))
    m = LINE.match(out.strip().splitlines()[-1])
    check(m is not None, "summary line: %r" % out[-500:])
    check(int(m.group(1)) > 0 and int(m.group(2)) == 0,
          "ops or errors: %r" % m.group(0))

    # not GET/SET: an error, then the connection closes; others go on
    got = talk(listens[0], b"*1\r\n$4\r\nPING\r\n", 1 << 16)
    check(got.startswith(b"-ERR"), "PING answered %r" % got)
    got = talk(listens[0], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 108)
    check(got == b"$100\r\n" + b"v" * 100 + b"\r\n",
          "GET answered %r" % got[:40])
    got = talk(listens[1], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", 5)
    check(got == b"+OK\r\n", "SET answered %r" % got)

    # garbage on an internode port: that connection only
    with socket.create_connection(("127.0.0.1", peers[2]), timeout=5) as s:
        s.sendall(b"\x09not a frame")
        check(s.recv(16) == b"", "garbage connection not closed")
    got = talk(listens[2], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 106)
    check(got.startswith(b"$100\r\n"), "after garbage: %r" % got[:40])
    check(all(p.poll() is None for p in procs), "a relay exited")

    # a peer that never listens: the relay gives up and says so
    lonely = start(build, d, 0, free_port(), [free_port(), free_port()],
                   "lonely.log", ("--connect-s", "1"))
    rc = lonely.wait(timeout=30)
    with open(os.path.join(d, "lonely.log")) as f:
        log = f.read()
    check(rc == 1 and "connect to a peer" in log,
          "lonely relay: exit %d, log %r" % (rc, log))

    bad = subprocess.run([os.path.join(build, "shoal-relay"), "--index",
                          "3", "--listen", "127.0.0.1:1", "--peers",
                          "127.0.0.1:2,127.0.0.1:3"],
                         stderr=subprocess.PIPE, timeout=10)
    check(bad.returncode == 2 and b"usage" in bad.stderr,
          "bad flags: exit %d %r" % (bad.returncode, bad.stderr))


if __name__ == "__main__":
    main(test)
