#!/usr/bin/env python3
"""Three nodes: membership forms and agrees; put/get/delete round trips
through every node; replicas agree (/cluster/replicas); shoalctl drives
the same API; a graceful leave (POST /cluster/leave) ends the node with
status 0 and the others see it as left."""

import os
import re
import socket
import subprocess

from shoaltest import Cluster, check, main, siblings, wait_until


def round_trip(c):
    n1, n2, n3 = c.nodes
    r = n1.put("greetings", "en", "hello", ctype="text/plain")
    check(r.status == 204, "put: %r" % r)
    check(r.context, "put answers a context")
    for n in c.nodes:
        g = n.kv_get("greetings", "en")
        check(g.status == 200 and g.body == b"hello", "%s get: %r"
              % (n.name, g))
        check(g.header("Content-Type") == "text/plain", "content type")
        check(g.context, "get answers a context")
    # Overwrite with the context: one value, the new one.
    g = n2.kv_get("greetings", "en")
    r = n3.put("greetings", "en", "hi", context=g.context)
    check(r.status == 204, "overwrite: %r" % r)
    check(siblings(n1.kv_get("greetings", "en", "?r=3")) == [b"hi"],
          "overwrite read")
    # Every replica holds the same object (read repair aside, w=2 and
    # the third ack arrive quickly).
    def replicas_agree():
        rep = n1.get("/cluster/replicas/greetings/en").json()["replicas"]
        hashes = set(x.get("hash") for x in rep if x["present"])
        return len(rep) == 3 and all(x["present"] for x in rep) and \
            len(hashes) == 1
    wait_until(replicas_agree, 10, "replicas to agree")
    # Delete with the context: 404 everywhere, still with a context.
    g = n1.kv_get("greetings", "en")
    d = n2.delete("greetings", "en", context=g.context)
    check(d.status == 204, "delete: %r" % d)
    for n in c.nodes:
        g = n.kv_get("greetings", "en", "?r=3")
        check(g.status == 404, "%s after delete: %r" % (n.name, g))
    check(n1.kv_get("greetings", "never-written").status == 404, "404")


def pipelined(c):
    """Pipelined requests through the coordinator answer in order."""
    n = c.nodes[0]
    host, port = n.http.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=15)
    reqs = b""
    for i in range(10):
        body = b"p%d" % i
        reqs += (b"PUT /kv/pipe/k%d HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (i, len(body), body))
        reqs += b"GET /kv/pipe/k%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
    reqs += b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    s.sendall(reqs)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d+) ", data)]
    check(statuses == [204, 200] * 10 + [200], "statuses: %r" % statuses)
    for i in range(10):
        check(b"\r\n\r\np%d" % i in data, "value %d in order" % i)


def shoalctl(build, c):
    ctl = os.path.join(build, "shoalctl")
    host = c.nodes[1].http

    def run(*args, stdin=None):
        p = subprocess.run([ctl, "-H", host] + list(args), input=stdin,
                           capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()
    rc, out, _ = run("members")
    check(rc == 0 and all(n.name in out for n in c.nodes), "members")
    rc, out, _ = run("put", "ctl", "k", "value-1", "--w", "3")
    check(rc == 0 and out.startswith("context: "), "put: %r" % out)
    rc, out, _ = run("put", "ctl", "k2", "-", stdin=b"from stdin")
    check(rc == 0, "put from stdin")
    rc, out, _ = run("get", "ctl", "k2")
    check(rc == 0 and out.startswith("from stdin\ncontext: "), "get: %r"
          % out)
    rc, out, _ = run("get", "ctl", "missing")
    check(rc == 1, "get of a missing key exits 1")
    rc, out, _ = run("dt", "ctl", "cnt", '{"type":"counter","increment":5}')
    check(rc == 0, "dt")
    rc, out, _ = run("dt-get", "ctl", "cnt")
    check(rc == 0 and '"value":5' in out, "dt-get: %r" % out)
    rc, out, _ = run("preflist", "ctl", "k")
    check(rc == 0 and '"preflist"' in out, "preflist")
    rc, out, _ = run("stats")
    check(rc == 0 and '"ops"' in out, "stats")
    rc, _, _ = run("nonsense")
    check(rc == 2, "usage error exits 2")


def leave(c):
    n3 = c.nodes[2]
    r = n3.request("POST", "/cluster/leave")
    check(r.status == 202, "leave: %r" % r)
    wait_until(lambda: n3.proc.poll() is not None, 20, "n3 to exit")
    check(n3.proc.returncode == 0, "leave exit status %d"
          % n3.proc.returncode)
    c.wait_state("n3", "left")


def test(build):
    c = Cluster(build, 3).start()
    for n in c.nodes:
        names = sorted(m["name"] for m in n.members())
        check(names == ["n1", "n2", "n3"], "members of %s" % n.name)
    round_trip(c)
    pipelined(c)
    shoalctl(build, c)
    leave(c)


if __name__ == "__main__":
    main(test)
