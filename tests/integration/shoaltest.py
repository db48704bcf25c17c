"""shoaltest - helpers for shoal's integration tests (Python 3 stdlib only).

Real `shoal` processes on 127.0.0.1, on ports found free (a port is taken
only if both TCP and UDP can bind it), data in a temporary directory,
driven over HTTP. Every process a test starts is killed when the test
ends, however it ends (atexit and signal handlers). Every wait is bounded
and polls a condition; no test sleeps and hopes.

Usage: a test file calls main(test_fn) with test_fn(build_dir); the build
directory comes from argv[1] (CTest passes it).
"""

import atexit
import base64
import fcntl
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SWIM_TIME_SCALE = "0.1"  # SWIM 10x faster than memberlist's LAN profile
_procs = []
_tmpdirs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass
    for d in _tmpdirs:
        if os.environ.get("SHOAL_KEEP_DATA"):
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_signal(signum, frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(fn, timeout_s, what, interval_s=0.05):
    """Poll fn() until it returns a true value; Fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except (OSError, http.client.HTTPException) as e:
            last = e
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.1fs waiting for %s (last: %r)"
                       % (timeout_s, what, last))
        time.sleep(interval_s)


# Ports are drawn below the kernel's ephemeral range (32768-60999 on
# Linux), where no outgoing connection takes one, and each is held with
# an flock on a file in a shared directory for as long as the test runs:
# tests that CTest runs side by side then never pick the same port in the
# moment between choosing it and the node binding it (two relays once did,
# and one exited "address already in use"). The lock goes with the
# process, however it ends.
PORT_FIRST, PORT_LAST = 20000, 32000
PORT_LOCKS = os.path.join(tempfile.gettempdir(), "shoal-test-ports")
_port_locks = []


def _reserve(port):
    os.makedirs(PORT_LOCKS, exist_ok=True)
    fd = os.open(os.path.join(PORT_LOCKS, str(port)),
                 os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _port_locks.append(fd)
    return True


def _bindable(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port():
    """A port that TCP and UDP can both bind on 127.0.0.1, reserved for
    this test process (no other shoaltest process is given it)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(500):
        port = rng.randint(PORT_FIRST, PORT_LAST)
        if not _reserve(port):
            continue
        if _bindable(port):
            return port
        os.close(_port_locks.pop())
    raise Fail("no free port")


def tmpdir():
    d = tempfile.mkdtemp(prefix="shoal-it-")
    _tmpdirs.append(d)
    return d


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def context(self):
        return self.header("X-Shoal-Context")

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return "Resp(%d, %r)" % (self.status, self.body[:300])


class Node:
    def __init__(self, build, name, root, seeds=(), extra=()):
        self.build = build
        self.name = name
        self.data = os.path.join(root, name)
        self.log_path = os.path.join(root, name + ".log")
        self.bind = "127.0.0.1:%d" % free_port()
        self.http = "127.0.0.1:%d" % free_port()
        self.seeds = list(seeds)
        self.extra = list(extra)
        self.proc = None

    def argv(self):
        a = [os.path.join(self.build, "shoal"), "--name", self.name,
             "--data", self.data, "--bind", self.bind, "--http", self.http,
             "--swim-time-scale", SWIM_TIME_SCALE, "--log-level", os.environ.get("SHOAL_LOG_LEVEL", "info")]
        if self.seeds:
            a += ["--join", ",".join(self.seeds)]
        return a + self.extra

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=log)
        log.close()
        _procs.append(self.proc)
        if wait:
            wait_until(self.healthy, 10, "%s /health" % self.name)
        return self

    def healthy(self):
        check(self.proc.poll() is None,
              "%s exited with %s" % (self.name, self.proc.returncode))
        return self.get("/health").status == 200

    def stop(self, sig=signal.SIGTERM, timeout_s=15):
        """Signal the node and wait for it to exit; returns its status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail("%s did not exit within %ds after signal %d"
                       % (self.name, timeout_s, sig))

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def request(self, method, path, body=None, headers=None, timeout_s=15):
        host, port = self.http.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
        try:
            if isinstance(body, str):
                body = body.encode()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Resp(r.status, hdrs, data)
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, bucket, key, value, context=None, query="",
            ctype="text/plain", timeout_s=15):
        h = {"Content-Type": ctype}
        if context:
            h["X-Shoal-Context"] = context
        return self.request("PUT", "/kv/%s/%s%s" % (bucket, key, query),
                            body=value, headers=h, timeout_s=timeout_s)

    def kv_get(self, bucket, key, query=""):
        return self.get("/kv/%s/%s%s" % (bucket, key, query))

    def delete(self, bucket, key, context=None, query=""):
        h = {"X-Shoal-Context": context} if context else {}
        return self.request("DELETE", "/kv/%s/%s%s" % (bucket, key, query),
                            headers=h)

    def dt(self, bucket, key, op, query=""):
        return self.request("POST", "/dt/%s/%s%s" % (bucket, key, query),
                            body=json.dumps(op),
                            headers={"Content-Type": "application/json"})

    def dt_get(self, bucket, key, query=""):
        return self.get("/dt/%s/%s%s" % (bucket, key, query))

    def members(self):
        return self.get("/cluster/members").json()["members"]

    def stats(self):
        return self.get("/stats").json()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Cluster:
    def __init__(self, build, count, extra=()):
        self.root = tmpdir()
        self.nodes = []
        for i in range(count):
            seeds = [n.bind for n in self.nodes[:2]]
            self.nodes.append(Node(build, "n%d" % (i + 1), self.root,
                                   seeds=seeds, extra=extra))
        # Every node also knows the first node's address: start order
        # then does not matter.
        for n in self.nodes[1:]:
            if self.nodes[0].bind not in n.seeds:
                n.seeds.insert(0, self.nodes[0].bind)

    def start(self, wait_members=True):
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
            wait_until(n.healthy, 10, "%s /health" % n.name)
        if wait_members:
            self.wait_agree()
        return self

    def wait_agree(self, live=None, timeout_s=20):
        """Wait until every running node sees exactly `live` alive."""
        names = set(n.name for n in (live or self.nodes))
        running = [n for n in self.nodes
                   if n.proc is not None and n.proc.poll() is None]

        def agreed():
            for n in running:
                alive = set(m["name"] for m in n.members()
                            if m["state"] == "alive")
                if alive != names:
                    return False
            return True
        wait_until(agreed, timeout_s, "members to agree on %s"
                   % sorted(names))

    def wait_state(self, name, state, timeout_s=20):
        """Wait until every other running node sees name in state."""
        def seen():
            for n in self.nodes:
                if n.name == name or n.proc is None or \
                        n.proc.poll() is not None:
                    continue
                st = [m["state"] for m in n.members() if m["name"] == name]
                if st != [state]:
                    return False
            return True
        wait_until(seen, timeout_s, "%s to be %s" % (name, state))

    def logs(self):
        return "\n".join("---- %s ----\n%s" % (n.name, n.log()[-4000:])
                         for n in self.nodes)


def parse_multipart(resp):
    """The parts of a multipart/mixed reply: [(content_type, bytes)]."""
    ctype = resp.header("Content-Type") or ""
    check(ctype.startswith("multipart/mixed"), "not multipart: %s" % ctype)
    boundary = ctype.split("boundary=", 1)[1].strip('"').encode()
    parts = []
    chunks = resp.body.split(b"--" + boundary)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk[2:].partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        ct = None
        for line in head.split(b"\r\n"):
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-type":
                ct = v.strip().decode()
        parts.append((ct, data))
    return parts


def siblings(resp):
    """The values of a GET /kv reply: [] for 404, one for 200, all for 300."""
    if resp.status == 404:
        return []
    if resp.status == 200:
        return [resp.body]
    check(resp.status == 300, "unexpected reply %r" % resp)
    return [data for _, data in parse_multipart(resp)]


def b64(s):
    return base64.b64encode(s).decode()


def main(test):
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    name = os.path.basename(sys.argv[0])
    t0 = time.monotonic()
    try:
        test(build)
    except Exception as e:
        traceback.print_exc()
        print("FAIL %s: %s (%.1fs)" % (name, e, time.monotonic() - t0))
        for d in _tmpdirs:
            for f in sorted(os.listdir(d)):
                if f.endswith(".log"):
                    with open(os.path.join(d, f), "rb") as fh:
                        txt = fh.read().decode(errors="replace")
                    print("---- %s (last 3000 bytes) ----\n%s"
                          % (f, txt[-3000:]))
        _cleanup()
        sys.exit(1)
    print("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
    _cleanup()
