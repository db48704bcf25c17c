#!/usr/bin/env python3
"""One node: flags, start-up, /health (and 503 "joining" while seeds do
not answer), cluster views, bad requests get
their 4xx and the node keeps serving (pipelined and keep-alive too), a
config file, SIGTERM exits 0."""

import os
import select
import socket
import subprocess
import time

from shoaltest import Node, check, free_port, main, tmpdir, wait_until


def bad_flags(build):
    shoal = os.path.join(build, "shoal")
    for argv in (["--bogus", "1"], ["--n", "2", "--r", "3"],
                 ["--bind", "nohost"], ["--sync", "maybe"],
                 ["--partitions", "100"], ["--name"]):
        p = subprocess.run([shoal] + argv, capture_output=True, timeout=10)
        check(p.returncode == 2, "%s: exit %d" % (argv, p.returncode))
        check(b"shoal:" in p.stderr, "%s: no message" % argv)
    p = subprocess.run([shoal, "--help"], capture_output=True, timeout=10)
    check(p.returncode == 0 and b"--join" in p.stdout, "--help")


def config_file(build, root):
    cfg = os.path.join(root, "node.conf")
    with open(cfg, "w") as f:
        f.write("# a config file\nname = fromfile\nn = 1\nr = 1\nw = 1\n"
                "sync = none\n")
    n = Node(build, "cfgnode", root, extra=["--config", cfg,
                                            "--name", "fromflag"])
    n.start()
    members = n.members()
    check([m["name"] for m in members] == ["fromflag"],
          "flags override the file: %r" % members)
    check("joining" not in n.log() or "no seeds" in n.log(),
          "start-up line")
    check(n.stop() == 0, "SIGTERM exit status")


def bad_requests(n):
    cases = [
        ("GET", "/nope", None, {}, 404),
        ("PATCH", "/kv/b/k", None, {}, 405),
        ("GET", "/kv/b/k?r=9&n=3", None, {}, 400),
        ("GET", "/kv/b/k?x=1", None, {}, 400),
        ("GET", "/kv/b/k?sloppy=maybe", None, {}, 400),
        ("PUT", "/kv/b/" + "k" * 1100, b"v", {}, 413),
        ("PUT", "/kv/b/k", b"v", {"X-Shoal-Context": "!!!notbase64"}, 400),
        ("POST", "/dt/b/k", b"{not json", {}, 400),
        ("POST", "/dt/b/k", b'{"type":"nope"}', {}, 400),
        ("POST", "/dt/b/k", b'{"type":"counter","increment":"x"}', {}, 400),
        ("PUT", "/kv/b/k", b"x" * (1024 * 1024 + 1), {}, 413),
    ]
    for method, path, body, headers, want in cases:
        r = n.request(method, path, body=body, headers=headers)
        check(r.status == want, "%s %s: %r, wanted %d"
              % (method, path[:40], r, want))
        check(r.body.startswith(b"{\"error\""), "JSON error: %r" % r)
    check(n.get("/health").status == 200, "still serving")


def pipelined(n):
    host, port = n.http.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    reqs = b"".join(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    for _ in range(5))
    reqs += b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    s.sendall(reqs)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    check(data.count(b"HTTP/1.1 200 OK") == 5, "5 pipelined 200s")
    check(data.rstrip().endswith(b"{\"error\":\"no such path: /nope\"}"),
          "the 404 comes last: %r" % data[-80:])
    # Garbage gets a 400 and the connection closes; the node serves on.
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"BLAH\x01\x02 / HTTP/9\r\n\r\n")
    data = s.recv(65536)
    s.close()
    check(data.startswith(b"HTTP/1.1 400"), "garbage: %r" % data[:40])
    check(n.get("/health").status == 200, "still serving")


def http_stats(n):
    return n.stats()["http"]


def unread_replies(build, root):
    """A client that pipelines GETs of a large value and reads nothing:
    the node holds its next requests back once about 1 MiB of replies
    waits for the socket (instead of queuing them all), serves them all
    once the client reads, and closes a connection whose write has not
    moved for the idle timeout."""
    value = b"v" * (256 * 1024)
    count = 200
    n = Node(build, "unread", root, extra=["--http-idle-ms", "3000"])
    n.start()
    r = n.request("PUT", "/kv/b/big?w=1", value,
                  {"Content-Type": "application/octet-stream"})
    check(r.status == 204, "put the value: %r" % r)
    host, port = n.http.rsplit(":", 1)

    def lazy_client():
        # (the kernel's socket buffers take ~10 MiB of the 50 asked for;
        # a small receive buffer would make the later reading crawl)
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(b"GET /kv/b/big?r=1 HTTP/1.1\r\nHost: x\r\n\r\n" * count)
        return s
    s = lazy_client()
    wait_until(lambda: http_stats(n)["connections_throttled"] >= 1, 10,
               "requests held back")
    queued = http_stats(n)["reply_bytes_queued"]
    # 1 MiB, plus the replies of requests already dispatched (the
    # pipeline holds 16): far below the 50 MiB asked for
    check(queued < 8 * 1024 * 1024, "reply bytes queued: %d" % queued)
    # The client reads now: every reply comes, whole.
    data = bytearray()
    deadline = time.monotonic() + 30
    want = count * len(value)
    # (headers are far smaller than a value: past `want` bytes, data
    # ending in a value ends with the last reply)
    while time.monotonic() < deadline and \
            not (len(data) >= want and data.endswith(value)):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    check(data.count(b"HTTP/1.1 200 OK") == count,
          "%d replies of %d" % (data.count(b"HTTP/1.1 200 OK"), count))
    check(data.count(value) == count, "every value whole")
    # A client that never reads: closed once its write stalls 3 s.
    closed = http_stats(n)["connections_idle_closed"]
    s = lazy_client()
    wait_until(lambda: http_stats(n)["connections_idle_closed"] > closed,
               20, "the stalled connection closed")
    s.close()
    check(n.get("/health").status == 200, "still serving")
    check(n.stop() == 0, "SIGTERM exits 0")


def limits(build, root):
    """Over the connection limit: 503 and close; idle ones are closed."""
    n = Node(build, "limits", root,
             extra=["--http-conns-max", "2", "--http-idle-ms", "300"])
    n.start()
    host, port = n.http.rsplit(":", 1)
    def served():
        """A kept-open connection, once the node has noticed the end of
        the ones closed before (it may still count them a moment)."""
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        if s.recv(65536).startswith(b"HTTP/1.1 200"):
            return s
        s.close()
        return None
    a = wait_until(served, 5, "a first connection")
    b = wait_until(served, 5, "a second connection")
    c = socket.create_connection((host, int(port)), timeout=10)
    check(c.recv(65536).startswith(b"HTTP/1.1 503"), "third is refused")
    c.close()
    # The idle ones are closed by the node (recv sees the end).
    check(a.recv(65536) == b"" and b.recv(65536) == b"",
          "idle connections closed")
    a.close()
    b.close()
    wait_until(lambda: n.get("/health").status == 200, 5,
               "new connections served")
    st = n.stats()["http"]
    check(st["connections_refused"] >= 1 and
          st["connections_idle_closed"] >= 2, "counted: %r" % st)
    met = n.get("/metrics").body.decode()
    idle = [ln for ln in met.splitlines() if ln.startswith(
        'shoal_http_connections_closed_total{why="idle"} ')]
    check(len(idle) == 1 and int(idle[0].split()[1]) >= 2,
          "/metrics counts idle closes: %r" % idle)
    check(trickled_closed(host, int(port),
                          b"GET /health HTTP/1.1\r\nX-Slow: "),
          "headers a byte at a time: not closed in 3 s")
    check(trickled_closed(host, int(port),
                          b"PUT /kv/b/k HTTP/1.1\r\n"
                          b"Content-Length: 1000\r\n\r\n"),
          "a body a byte at a time: not closed in 3 s")
    check(n.stop() == 0, "stop")


def trickled_closed(host, port, start):
    """A request whose rest comes a byte every 50 ms (each byte is
    activity) still ends in a close once it began --http-idle-ms ago: 1
    if the node closed the connection within 3 s."""
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(start)
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:
            s.sendall(b"a")
            ready, _, _ = select.select([s], [], [], 0.05)
            if ready and s.recv(4096) == b"":
                return 1
    except OSError:  # reset: closed too
        return 1
    finally:
        s.close()
    return 0


def bad_internode(n):
    """Garbage on the internode port closes that connection, is counted,
    and changes nothing else; so do garbage datagrams."""
    host, port = n.bind.rsplit(":", 1)
    for junk in (b"\x00\x00\x00\x05hello", b"\xff\xff\xff\xffxx",
                 b"\x00\x00\x00\x02\x92\x03"):  # no hello first
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(junk)
        check(s.recv(100) == b"", "closed after %r" % junk)
        s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"\x01garbage", (host, int(port)))
    u.close()
    st = n.stats()
    check(st["internode"]["frame_errors"] == 3, "counted: %r"
          % st["internode"])
    check(n.get("/health").status == 200, "still serving")


def views(n):
    m = n.members()
    check(len(m) == 1 and m[0]["name"] == n.name and m[0]["self"] and
          m[0]["state"] == "alive" and m[0]["http_addr"] == n.http and
          m[0]["addr"] == n.bind, "members: %r" % m)
    ring = n.get("/cluster/ring").json()
    check(ring["partitions"] == 64 and len(ring["partitions_owned"]) == 64,
          "ring")
    pl = n.get("/cluster/preflist/b/k").json()
    check([e["name"] for e in pl["preflist"]] == [n.name], "preflist")
    st = n.stats()
    check(st["node"] == n.name and "ops" in st and "store" in st, "stats")
    met = n.get("/metrics")
    check(met.status == 200 and b"shoal_requests_total" in met.body,
          "metrics")


def joining(build, root):
    """Seeds nobody answers: /health is 503 "joining" and client requests
    are refused alike until the join wait ends (2.5 s at this time
    scale); then the node serves as a cluster of one."""
    seed = "127.0.0.1:%d" % free_port()
    n = Node(build, "lonely", root, seeds=[seed],
             extra=["--swim-time-scale", "0.5"])
    n.start(wait=False)

    def answered():
        return n.get("/health")
    h = wait_until(answered, 10, "lonely answers /health")
    r = n.put("b", "k", "v")
    check(h.status == 503 and h.json()["status"] == "joining",
          "/health while joining: %r" % h)
    check(r.status == 503 and b"joining" in r.body,
          "a write while joining: %r" % r)
    wait_until(n.healthy, 15, "the join wait to end")
    check(n.get("/health").json()["status"] == "ok", "/health after")
    check("no seed answered" in n.log(), "the log says why")
    r = n.put("b", "k", "v", query="?w=1")
    check(r.status == 204, "serving as a cluster of one: %r" % r)
    check(n.stop() == 0, "SIGTERM exits 0")


def test(build):
    bad_flags(build)
    root = tmpdir()
    config_file(build, root)
    limits(build, root)
    joining(build, root)
    unread_replies(build, root)
    n = Node(build, "solo", root).start()
    check("joining" in n.log() or "cluster of one" in n.log(),
          "start-up prints the seeds")
    views(n)
    bad_requests(n)
    bad_internode(n)
    pipelined(n)
    check(n.stop() == 0, "SIGTERM exits 0")
    wait_until(lambda: n.proc.poll() is not None, 5, "exit")


if __name__ == "__main__":
    main(test)
