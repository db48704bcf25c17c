"""bulk - many small HTTP requests to shoal nodes at once, for the tests
that need thousands of keys (Python 3 stdlib only).

run(nodes, items, fn, threads) hands the items out to `threads` worker
threads; each worker keeps one keep-alive connection per node and calls
fn(conn_for, item), where conn_for(node) is that worker's connection to
node. Errors from fn propagate (the first one is raised after every
worker stopped). Bounded: each request has a socket timeout, and the
whole run has a deadline.
"""

import http.client
import queue
import threading
import time


class _Conns:
    def __init__(self, timeout_s):
        self.timeout_s = timeout_s
        self.conns = {}

    def request(self, node, method, path, body=None, headers=None):
        """One request on the kept connection to node (reconnects once if
        the node closed it); returns (status, headers dict, body)."""
        for attempt in (0, 1):
            c = self.conns.get(node.http)
            if c is None:
                host, port = node.http.rsplit(":", 1)
                c = http.client.HTTPConnection(host, int(port),
                                               timeout=self.timeout_s)
                self.conns[node.http] = c
            try:
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, \
                    data
            except (http.client.HTTPException, ConnectionError):
                c.close()
                del self.conns[node.http]
                if attempt == 1:
                    raise

    def close(self):
        for c in self.conns.values():
            c.close()


def run(items, fn, threads=8, deadline_s=120, timeout_s=15):
    """Call fn(conns, item) for every item on `threads` threads, each
    with its own keep-alive connections (conns.request(node, ...)).
    Returns the list of fn's results in item order."""
    items = list(items)
    results = [None] * len(items)
    work = queue.Queue()
    for i in range(len(items)):
        work.put(i)
    errors = []
    end = time.monotonic() + deadline_s

    def worker():
        conns = _Conns(timeout_s)
        try:
            while not errors and time.monotonic() < end:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                results[i] = fn(conns, items[i])
        except Exception as e:  # handed to the caller
            errors.append(e)
        finally:
            conns.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    if not work.empty():
        raise RuntimeError("bulk run over its %ds deadline" % deadline_s)
    return results
