#!/usr/bin/env python3
"""Sealed commits (node/node_loop.c). With --sync batch (the default) a
node commits a batch that wrote on the thread pool, and serves reads from
the committed state meanwhile, holding the batch's own replies until the
disk has them.
- A read sent right behind a write on the same connection sees the write.
- With writers and readers at once, reads are served while commits are in
  flight (store.reads_while_committing), every write is acknowledged and
  every read answers; afterwards each key reads back its last acknowledged
  value, also after a kill -9 and restart.
- With --checkpoint-mutations low, checkpoints (LMDB commits of the
  journal, during which every request waits) happen under that load,
  and the same holds across them and across the replay after kill -9.
- Once writes stop, the node checkpoints what its journal holds (an idle
  checkpoint), without waiting for more writes.
- A second process on the same data directory is refused."""

import http.client
import socket
import threading
import time

from shoaltest import Cluster, Node, check, main, wait_until


def read_response(f):
    """One HTTP/1.1 response from the file f: (status, body)."""
    status = int(f.readline().split()[1])
    length = 0
    while True:
        line = f.readline()
        check(line, "connection closed inside a response")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, f.read(length)


def write_then_read(n, rounds):
    host, port = n.http.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    f = s.makefile("rb")
    for i in range(rounds):
        body = b"v%d" % i
        s.sendall(b"PUT /kv/seal/k%d?w=1 HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (i, len(body), body))
        # sent apart, so that it often lands while the write's batch
        # commits (a fixed offset, not a wait for anything)
        time.sleep(0.0002 * (i % 8))
        s.sendall(b"GET /kv/seal/k%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        st, _ = read_response(f)
        check(st == 204, "write %d: %d" % (i, st))
        st, got = read_response(f)
        check(st == 200 and got == body,
              "read behind write %d: %d %r" % (i, st, got))
    s.close()


class Load:
    """Writers (each its own keys) and readers on keep-alive connections."""

    def __init__(self, n, writers=2, readers=2, keys=200):
        self.n, self.keys = n, keys
        self.stop = threading.Event()
        self.acked = {}  # key -> last acknowledged value
        self.errors = []
        self.threads = [threading.Thread(target=self.writer, args=(w,))
                        for w in range(writers)]
        self.threads += [threading.Thread(target=self.reader, args=(r,))
                         for r in range(readers)]
        for t in self.threads:
            t.start()

    def conn(self):
        host, port = self.n.http.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=10)

    def writer(self, w):
        c = self.conn()
        i = 0
        while not self.stop.is_set() and i < 200000:
            key = "w%d-%d" % (w, i % self.keys)
            val = "%d" % i
            c.request("PUT", "/kv/load/%s?w=1" % key, body=val)
            r = c.getresponse()
            r.read()
            if r.status != 204:
                self.errors.append("PUT %s: %d" % (key, r.status))
                return
            self.acked[key] = val
            # read your write: also while a checkpoint commits, when
            # the last committed state lacks it
            c.request("GET", "/kv/load/%s" % key)
            r = c.getresponse()
            body = r.read()
            if r.status != 200 or body != val.encode():
                self.errors.append("GET %s after its PUT: %d %r" %
                                   (key, r.status, body))
                return
            i += 1

    def reader(self, rd):
        c = self.conn()
        i = 0
        while not self.stop.is_set() and i < 400000:
            key = "w%d-%d" % (i % 2, (i * 7 + rd) % self.keys)
            c.request("GET", "/kv/load/%s" % key)
            r = c.getresponse()
            r.read()
            if r.status not in (200, 404):
                self.errors.append("GET %s: %d" % (key, r.status))
                return
            i += 1

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        check(not self.errors, "errors under load: %r" % self.errors[:5])
        return dict(self.acked)


def read_back(n, acked):
    for key, val in acked.items():
        r = n.kv_get("load", key)
        check(r.status == 200 and r.body == val.encode(),
              "%s: %r, acknowledged %r" % (key, r, val))


def idle_checkpoint(n):
    """A write that lands in the journal (not one that brought a
    checkpoint itself), then no writes: a checkpoint follows."""
    for i in range(5):
        cps = n.stats()["store"]["checkpoints"]
        r = n.put("idle", "k%d" % i, b"v", query="?w=1")
        check(r.status == 204, "idle write: %d" % r.status)
        if n.stats()["store"]["checkpoints"] == cps:
            break
    check(n.stats()["store"]["checkpoints"] == cps,
          "five writes each brought a checkpoint")
    wait_until(lambda: n.stats()["store"]["checkpoints"] > cps, 15,
               "a checkpoint once writes stopped")
    check(n.stats()["store"]["commit_errors"] == 0, "commit errors")
    check(n.kv_get("idle", "k%d" % i).body == b"v", "read after it")


def second_process_refused(n):
    other = Node(n.build, n.name, n.data.rsplit("/", 1)[0])
    other.start(wait=False)
    wait_until(lambda: other.proc.poll() is not None, 15,
               "the second process to exit")
    check(other.proc.returncode != 0, "second process exit code 0")
    check("in use" in other.log(), "no 'in use' in its log")


def test(build):
    c = Cluster(build, 1, extra=["--checkpoint-mutations", "100"]).start()
    n = c.nodes[0]
    write_then_read(n, 50)
    # enough keys that none is written twice (blind writes of one key
    # would make siblings)
    load = Load(n, keys=2000)
    try:
        wait_until(lambda: len(load.acked) >= 300 and
                   n.stats()["store"]["reads_while_committing"] > 0 and
                   n.stats()["store"]["checkpoints"] >= 3,
                   60, "300 keys written, a read served while a commit "
                   "was in flight, three checkpoints")
    finally:
        acked = load.finish()
    st = n.stats()["store"]
    check(st["commits_sealed"] > 0 and st["commit_errors"] == 0,
          "sealed commits without errors: %r" % st)
    met = [ln for ln in n.get("/metrics").body.decode().splitlines()
           if ln.startswith("shoal_commits_sealed_total ")]
    check(met and int(met[0].split()[-1]) > 0,
          "/metrics shoal_commits_sealed_total: %r" % met)
    check(len(acked) > 0, "writes acknowledged")
    read_back(n, acked)
    idle_checkpoint(n)
    n.kill9()
    n.start()
    read_back(n, acked)
    second_process_refused(n)


if __name__ == "__main__":
    main(test)
