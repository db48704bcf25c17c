#!/usr/bin/env python3
"""Ownership handoff under load (issue 5, "Ownership handoff and
membership changes"): three nodes serve a writer and a reader; a fourth
node joins and the old owners stream it its partitions; then n1 leaves
gracefully (POST /cluster/leave), handing everything off before it
announces the leave and exits. No acknowledged write may be lost (every
acked value is still a sibling, or was superseded by a write whose
context saw it), and no read with n=3 r=2 may fail (503) during the
moves."""
import os
import random
import subprocess
import threading
import time

from shoaltest import Cluster, Node, check, main, siblings, wait_until

LOAD_S_MAX = 120  # the load threads stop by themselves after this


class Load:
    """A writer and a reader thread over the nodes in self.targets."""

    def __init__(self, nodes):
        self.targets = list(nodes)
        self.lock = threading.Lock()
        self.alive = {}  # key -> acked values not superseded
        self.keys = []
        self.stop = threading.Event()
        self.writes = self.write_errors = 0
        self.reads = self.read_fail = self.read_missing = 0
        self.fail_samples = []
        self.t0 = time.monotonic()
        self.threads = [threading.Thread(target=self.writer, daemon=True),
                        threading.Thread(target=self.reader, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def done(self):
        return self.stop.is_set() or \
            time.monotonic() - self.t0 > LOAD_S_MAX

    def node(self, rnd):
        with self.lock:
            return rnd.choice(self.targets)

    def writer(self):
        rnd = random.Random(1)
        i = 0
        while not self.done():
            node = self.node(rnd)
            ctx, seen = None, []
            if self.keys and rnd.random() < 0.25:
                # read-modify-write: the new value supersedes what the
                # read returned
                key = rnd.choice(self.keys)
                try:
                    r = node.kv_get("m", key, "?r=2")
                except OSError:
                    continue
                if r.status not in (200, 300, 404):
                    continue
                ctx, seen = r.context, siblings(r)
            else:
                key = "k%05d" % i
                i += 1
            value = ("%s-%d" % (key, self.writes)).encode()
            try:
                r = node.put("m", key, value, context=ctx, query="?w=2")
            except OSError:
                self.write_errors += 1
                continue
            self.writes += 1
            if r.status != 204:
                self.write_errors += 1
                continue
            with self.lock:
                if key not in self.alive:
                    self.alive[key] = set()
                    self.keys.append(key)
                self.alive[key] -= set(seen)
                self.alive[key].add(value)

    def reader(self):
        rnd = random.Random(2)
        while not self.done():
            with self.lock:
                if not self.keys:
                    key = None
                else:
                    key = rnd.choice(self.keys)
            if key is None:
                time.sleep(0.01)
                continue
            node = self.node(rnd)
            try:
                r = node.kv_get("m", key, "?n=3&r=2")
                status = r.status
            except OSError as e:
                status = "conn: %s" % e
            self.reads += 1
            if status == 404:
                self.read_missing += 1
            elif status not in (200, 300):
                self.read_fail += 1
                if len(self.fail_samples) < 5:
                    self.fail_samples.append((node.name, key, status))

    def halt(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def summary(self):
        return ("writes=%d write_errors=%d keys=%d reads=%d read_fail=%d "
                "read_404=%d" % (self.writes, self.write_errors,
                                 len(self.keys), self.reads, self.read_fail,
                                 self.read_missing))


def transfers(node):
    return node.get("/cluster/transfers").json()


def wait_moves_done(nodes, what, timeout_s=60):
    def done():
        return all(not transfers(n)["busy"] for n in nodes)
    wait_until(done, timeout_s, what, interval_s=0.2)


def abandoned_leave(build):
    """A leave that cannot hand off in time is abandoned: the node stays
    a member, keeps serving and keeps its data."""
    c = Cluster(build, 2, extra=["--leave-timeout-ms", "1500"]).start()
    a, b = c.nodes
    for i in range(50):
        r = a.put("t", "k%d" % i, b"v%d" % i, query="?w=1")
        check(r.status == 204, "put: %r" % r)
    b.kill9()  # the only receiver never answers
    r = a.request("POST", "/cluster/leave")
    check(r.status == 202, "leave: %r" % r)
    wait_until(lambda: transfers(a)["leaves_abandoned"] == 1, 30,
               "the leave to be abandoned", interval_s=0.1)
    check(a.proc.poll() is None, "the node exited")
    check(transfers(a)["leave"] == "none", "leave state: %r" % transfers(a))
    for i in range(50):
        r = a.kv_get("t", "k%d" % i, "?r=1")
        check(r.status == 200 and r.body == b"v%d" % i,
              "k%d after the abandoned leave: %r" % (i, r))
    check("leave is abandoned" in a.log(), "no log line for the timeout")
    check(a.stop() == 0, "exit status")
    print("abandoned leave: the node stayed and kept its 50 keys")


def test(build):
    abandoned_leave(build)
    c = Cluster(build, 3).start()
    n1, n2, n3 = c.nodes
    load = Load(c.nodes).start()
    wait_until(lambda: len(load.keys) >= 600, 60, "600 keys written",
               interval_s=0.1)

    # join a fourth node under the load
    t_join = time.monotonic()
    n4 = Node(build, "n4", c.root, seeds=[n1.bind, n2.bind])
    c.nodes.append(n4)
    n4.start()
    c.wait_agree()
    with load.lock:
        load.targets.append(n4)
    # moves are planned once the new ring has held a second
    wait_until(lambda: sum(transfers(n)["moves_planned"]
                           for n in c.nodes) > 0, 30, "moves planned",
               interval_s=0.2)
    wait_moves_done(c.nodes, "the join's transfers to finish")
    t_joined = time.monotonic() - t_join
    x4 = transfers(n4)
    check(x4["keys_received"] > 0, "n4 received nothing: %r" % x4)
    sent = sum(transfers(n)["keys_sent"] for n in (n1, n2, n3))
    dropped = sum(transfers(n)["partitions_dropped"] for n in (n1, n2, n3))
    check(dropped > 0, "no old owner dropped a partition")
    print("join: %.1fs, keys sent %d, received by n4 %d, partitions "
          "dropped %d; %s" % (t_joined, sent, x4["keys_received"], dropped,
                              load.summary()))

    # n1 leaves under the load: it hands off, announces, exits
    with load.lock:
        load.targets.remove(n1)
    time.sleep(0.5)  # let requests already sent to n1 finish
    t_leave = time.monotonic()
    r = n1.request("POST", "/cluster/leave")
    check(r.status == 202, "leave: %r" % r)
    check(r.json()["leaving"] is True, "leave body: %r" % r)
    wait_until(lambda: n1.proc.poll() is not None, 60, "n1 to exit",
               interval_s=0.1)
    check(n1.proc.returncode == 0, "n1 exit status %d" % n1.proc.returncode)
    t_left = time.monotonic() - t_leave
    check("everything handed off" in n1.log(),
          "n1 did not finish its handoff:\n%s" % n1.log()[-2000:])
    c.wait_state("n1", "left")
    rest = [n2, n3, n4]
    wait_moves_done(rest, "transfers after the leave")
    time.sleep(1.0)  # reads keep going a little after the moves
    load.halt()
    print("leave: %.1fs; %s" % (t_left, load.summary()))

    check(load.read_fail == 0, "reads failed during the moves: %d, e.g. %r"
          % (load.read_fail, load.fail_samples))

    # every acknowledged write is still there (or was superseded)
    lost = []
    rnd = random.Random(3)
    for key in load.keys:
        node = rnd.choice(rest)
        r = node.kv_get("m", key, "?n=3&r=2")
        check(r.status in (200, 300, 404), "final read %s: %r" % (key, r))
        have = set(siblings(r))
        missing = load.alive[key] - have
        if missing:
            lost.append((key, sorted(missing)[:2]))
    check(not lost, "%d acknowledged writes lost, e.g. %r"
          % (len(lost), lost[:5]))
    print("checked %d keys: none lost" % len(load.keys))

    # the figures: /stats, /metrics and shoalctl
    st = n4.stats()
    check(st["handoff"]["keys_received"] == x4["keys_received"] or
          st["handoff"]["keys_received"] >= x4["keys_received"],
          "/stats handoff: %r" % st.get("handoff"))
    m = n2.get("/metrics").body.decode()
    check("shoal_handoff_keys_sent_total" in m, "/metrics lacks handoff")
    out = subprocess.run([os.path.join(build, "shoalctl"), "-H", n2.http,
                          "transfers"], capture_output=True, timeout=30)
    check(out.returncode == 0 and b'"transfers"' in out.stdout,
          "shoalctl transfers: %r" % (out,))
    for n in rest:
        check(n.stop() == 0, "%s exit status" % n.name)


if __name__ == "__main__":
    main(test)
