#!/usr/bin/env python3
"""The internode port's bounds, on one node with short deadlines
(--swim-time-scale scales them): an outbound connection to a peer that
accepts and never reads is closed once its writes stop moving; the
addresses hellos name (where STATE replies go) do not grow the peer
table past its cap, and peers that hold nothing make room for new ones;
inbound connections over --peer-conns-max are closed at once, and so are
those that send no hello, or stop in the middle of a frame, for the frame
deadline (3 s at this scale) while one that said hello and is quiet
stays."""

import select
import socket
import struct
import threading
import time

from shoaltest import Node, check, free_port, main, tmpdir, wait_until

SCALE = "0.1"  # stall bound 1 s, hello and frame deadlines 3 s
CONNS_MAX = 8


# ---- just enough msgpack for internode frames (node.h, gossip/swim.h) ----

def mp_uint(v):
    return bytes([v]) if v < 128 else b"\xcd" + struct.pack(">H", v)


def mp_str(b):
    b = b.encode()
    return bytes([0xa0 | len(b)]) + b if len(b) < 32 else \
        b"\xd9" + bytes([len(b)]) + b


def mp_bin(b):
    return b"\xc4" + bytes([len(b)]) + b


def mp_array(n):
    return bytes([0x90 | n])


def frame(body):
    return struct.pack(">I", len(body)) + body


def hello(name, addr):
    return frame(mp_array(3) + mp_uint(0) + mp_str(name) + mp_str(addr))


def state_request(sender):
    """A SWIM push-pull request carrying no members: the node answers
    each with its full state, to the address the hello named."""
    state = b"\x01" + mp_array(4) + mp_uint(6) + mp_uint(1) + \
        mp_str(sender) + mp_array(0)
    return frame(mp_array(2) + mp_uint(1) + mp_bin(state))


def internode(node):
    return node.stats()["internode"]


def connect(node):
    host, port = node.bind.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


# ---- A: a peer that does not read ----

class Sink:
    """A listener that accepts and never reads (a tiny receive buffer, so
    the node's writes to it stop soon)."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.conns = []
        self.done = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except socket.timeout:
                pass
            except OSError:
                return

    def close(self):
        self.done = True
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def stalled_peer(node):
    sink = Sink()
    try:
        c = connect(node)
        # ~40 MiB of replies queued to the sink: far more than the
        # kernel's buffers take, so the writes stall
        c.sendall(hello("zz", "127.0.0.1:%d" % sink.port) +
                  state_request("zz") * 300000)
        wait_until(lambda: len(sink.conns) >= 1, 10, "node connects to sink")
        wait_until(lambda: internode(node)["connections_stalled"] >= 1, 20,
                   "stalled outbound connection closed")
        c.close()
    finally:
        sink.close()


# ---- B: the peer table ----

PEERS_MAX = 1024  # NODE_PEERS_MAX


def addresses_named(c, node, first, count):
    """count hellos, each naming another address (that does not resolve,
    so its peer soon holds nothing) and asking for a STATE reply there."""
    before = internode(node)["frames_in"]
    c.sendall(b"".join(hello("zz", "nohost%d:1" % i) + state_request("zz")
                       for i in range(first, first + count)))
    wait_until(lambda: internode(node)["frames_in"] >= before + 2 * count,
               20, "%d frames handled" % (2 * count))
    return internode(node)


def peer_table(node):
    c = connect(node)
    try:
        st = addresses_named(c, node, 0, PEERS_MAX + 100)
        check(st["peers"] <= PEERS_MAX, "peer table over its cap: %r" % st)
        # the peers named so far hold nothing now (their addresses did
        # not resolve): new addresses take their places
        refused = st["peers_refused"]
        st = addresses_named(c, node, PEERS_MAX + 100, 200)
        check(st["peers"] <= PEERS_MAX, "peer table over its cap: %r" % st)
        check(st["peers_refused"] == refused,
              "idle peers not reclaimed: %r" % st)
    finally:
        c.close()


# ---- C: inbound connections ----

def closed(c):
    """1 if the node closed c (EOF or reset), 0 if it is still open."""
    if not select.select([c], [], [], 0)[0]:
        return 0
    try:
        return 1 if c.recv(65536) == b"" else 0
    except ConnectionResetError:
        return 1


def wait_inbound_gone(node):
    wait_until(lambda: internode(node)["connections_open"] == 0, 10,
               "no inbound connections")


def conns_max(node):
    wait_inbound_gone(node)
    before = internode(node)["connections_refused"]
    cs = [connect(node) for _ in range(CONNS_MAX + 3)]
    try:
        for c in cs:
            c.sendall(hello("zz", "nohost:1"))
        wait_until(lambda: internode(node)["connections_refused"] ==
                   before + 3, 10, "3 connections over the cap refused")
        shut = set()
        wait_until(lambda: shut.update(
            i for i, c in enumerate(cs) if i not in shut and closed(c))
            or len(shut) == 3, 10, "3 connections closed")
        time.sleep(0.3)  # the others stay
        check(sum(closed(c) for i, c in enumerate(cs) if i not in shut) == 0,
              "connections under the cap closed")
    finally:
        for c in cs:
            c.close()


def deadlines(node):
    wait_inbound_gone(node)
    before = internode(node)["connections_timed_out"]
    silent = connect(node)
    prefix = connect(node)
    prefix.sendall(struct.pack(">I", 1000))
    midframe = connect(node)
    midframe.sendall(hello("zz", "nohost:1") + struct.pack(">I", 1000) +
                     b"\x92")
    quiet = connect(node)
    quiet.sendall(hello("zz", "nohost:1"))
    late = [silent, prefix, midframe]
    try:
        wait_until(lambda: all(closed(c) for c in late), 15,
                   "silent and unfinished connections closed")
        check(internode(node)["connections_timed_out"] == before + 3,
              "3 counted: %r" % internode(node))
        check(not closed(quiet), "a quiet connection after its hello "
              "is kept")
    finally:
        for c in late + [quiet]:
            c.close()


def test(build):
    root = tmpdir()
    node = Node(build, "p1", root,
                extra=["--swim-time-scale", SCALE,
                       "--peer-conns-max", str(CONNS_MAX)]).start()
    stalled_peer(node)
    peer_table(node)
    conns_max(node)
    deadlines(node)
    check(node.healthy(), "node serves after all")
    check(node.stop() == 0, "clean exit")


if __name__ == "__main__":
    main(test)
