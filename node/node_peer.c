/*
 * node_peer.c - internode TCP on the --bind address: length-prefixed
 * msgpack frames (format in node.h). Outbound, one connection per peer
 * address, written to and never read from (but for EOF), reconnected
 * with exponential backoff; frames queued while it is down are bounded
 * and dropped on failure (the cores retry on their timers). A connection
 * whose writes stop moving (a peer that does not read) is closed after
 * NODE_PEER_STALL_MS and its queue dropped, so such a peer holds no
 * memory for long; the reconnect and backoff go on as after any failure.
 * Inbound, the connections peers open to us: read, split into frames,
 * checked, and handed to SWIM or the coordinator. They are bounded too: at most
 * --peer-conns-max open (more are closed at once), a hello due within
 * NODE_PEER_FRAME_MS of the accept and each frame within that of its
 * first byte (a peer that stops mid-frame, or never says hello, would
 * hold its connection and buffer for ever), and the read buffer shrinks
 * back after a large frame.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "common/sh_mp.h"
#include "node/node_int.h"

enum {
	NODE_PEER_IDLE = 0,
	NODE_PEER_CONNECTING,
	NODE_PEER_CONNECTED,
	NODE_PEER_CLOSING,
};

#define NODE__READ_CHUNK (64u * 1024)
/* Read buffer capacity an inbound connection keeps between frames; a
 * larger frame's room is given back once it is handled. */
#define NODE__READ_KEEP (1024u * 1024)

typedef struct node__write {
	uv_write_t req;
	sh_buf_t buf;
	node_peer_t *peer;
} node__write_t;

/* ---- encoding ---- */

static int node__frame_begin(sh_buf_t *out, size_t *at)
{
	static const uint8_t zero[4];
	*at = out->len;
	return sh_buf_append(out, zero, 4);
}

static void node__frame_end(sh_buf_t *out, size_t at)
{
	size_t len = out->len - at - 4;
	out->data[at] = (uint8_t)(len >> 24);
	out->data[at + 1] = (uint8_t)(len >> 16);
	out->data[at + 2] = (uint8_t)(len >> 8);
	out->data[at + 3] = (uint8_t)len;
}

static int node__frame_hello(node_t *n, sh_buf_t *out)
{
	size_t at;
	sh_mp_writer_t w;
	if (node__frame_begin(out, &at) != SH_OK)
		return SH_ENOMEM;
	sh_mp_writer_init(&w, out);
	sh_mp_put_array(&w, 3);
	sh_mp_put_u64(&w, NODE_FRAME_HELLO);
	sh_mp_put_str(&w, n->cfg.name, strlen(n->cfg.name));
	sh_mp_put_str(&w, n->cfg.bind, strlen(n->cfg.bind));
	if (w.err != SH_OK)
		return w.err;
	node__frame_end(out, at);
	return SH_OK;
}

/* ---- outbound ---- */

static void node__peer_fail(node_peer_t *p, const char *what, int uverr);

/*
 * The table holds at most NODE_PEERS_MAX peers. At the cap, the peer
 * least recently sent to among those without a connection is freed if it
 * holds nothing, or only frames queued longer than peer_idle_ms ago
 * (their senders have timed out): it is no more than an address and a
 * backoff, rebuilt on its next frame, so SWIM members need no exception.
 * If none can go, one connected peer idle that long is closed to make
 * room later, and the new address is refused (its frame dropped and
 * counted): the cores retry.
 */
static int node__peer_reclaim(node_t *n, uint64_t now_ms)
{
	node_peer_t **victim = NULL;
	node_peer_t *idle = NULL;
	for (node_peer_t **pp = &n->peers; *pp != NULL; pp = &(*pp)->next) {
		node_peer_t *p = *pp;
		int stale = now_ms > p->used_ms &&
		            now_ms - p->used_ms >= n->peer_idle_ms;
		if (p->state == NODE_PEER_CONNECTED && stale &&
		    p->queue.len == 0 && p->inflight == 0)
			idle = p;
		if (p->state != NODE_PEER_IDLE || p->handle_open ||
		    p->inflight > 0 || (p->queue.len > 0 && !stale))
			continue;
		if (victim == NULL || p->used_ms < (*victim)->used_ms)
			victim = pp;
	}
	if (victim == NULL) {
		if (idle != NULL)
			node__peer_fail(idle, "idle, table full", UV_ECANCELED);
		return 0;
	}
	node_peer_t *p = *victim;
	*victim = p->next;
	if (p->queue.len > 0)
		n->stats.frames_dropped++;
	sh_buf_free(&p->queue);
	free(p);
	n->peers_len--;
	return 1;
}

static node_peer_t *node__peer_get(node_t *n, const char *addr)
{
	/* the loop's clock: read once a turn, not once a frame */
	uint64_t now = uv_now(&n->loop);
	for (node_peer_t *p = n->peers; p != NULL; p = p->next)
		if (strcmp(p->addr, addr) == 0) {
			p->used_ms = now;
			return p;
		}
	if (n->peers_len >= NODE_PEERS_MAX && !node__peer_reclaim(n, now)) {
		n->stats.peers_refused++;
		return NULL;
	}
	node_peer_t *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->node = n;
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	p->backoff_ms = NODE_PEER_BACKOFF_MIN_MS;
	p->used_ms = now;
	p->next = n->peers;
	n->peers = p;
	n->peers_len++;
	return p;
}

static void node__peer_closed(uv_handle_t *h)
{
	node_peer_t *p = h->data;
	p->handle_open = 0;
	p->state = NODE_PEER_IDLE;
}

static void node__peer_fail(node_peer_t *p, const char *what, int uverr)
{
	node_t *n = p->node;
	if (p->state == NODE_PEER_CLOSING || p->state == NODE_PEER_IDLE)
		return;
	sh_log(SH_LOG_DEBUG, "peer %s: %s: %s", p->addr, what,
	       uv_strerror(uverr));
	/* The queue holds whole frames only (written ones left it): keep
	 * them for the next connection, within the bound for a down peer. */
	if (p->queue.len > NODE_PEER_DOWN_QUEUE_BYTES_MAX) {
		n->stats.frames_dropped++;
		sh_buf_reset(&p->queue);
	}
	p->retry_ms = node__now_ms() + p->backoff_ms;
	p->backoff_ms *= 2;
	if (p->backoff_ms > NODE_PEER_BACKOFF_MAX_MS)
		p->backoff_ms = NODE_PEER_BACKOFF_MAX_MS;
	p->state = NODE_PEER_CLOSING;
	uv_close((uv_handle_t *)&p->tcp, node__peer_closed);
}

static void node__peer_written(uv_write_t *req, int status)
{
	node__write_t *w = (node__write_t *)req;
	node_peer_t *p = w->peer;
	p->inflight -= w->buf.len;
	sh_buf_free(&w->buf);
	free(w);
	if (status < 0)
		node__peer_fail(p, "write", status);
}

/*
 * Send the queue: every frame of this turn for this peer, in one write.
 * With nothing in flight, uv_try_write usually takes it all: one
 * syscall, and the queue keeps its allocation for the next turn. What it
 * does not take moves into one uv_write.
 */
static void node__peer_write(node_peer_t *p)
{
	if (p->state != NODE_PEER_CONNECTED || p->queue.len == 0 ||
	    p->node->committing)
		return;
	size_t off = 0;
	if (p->inflight == 0) {
		uv_buf_t b0 =
		    uv_buf_init((char *)p->queue.data, (unsigned)p->queue.len);
		int n = uv_try_write((uv_stream_t *)&p->tcp, &b0, 1);
		if (n < 0 && n != UV_EAGAIN) {
			node__peer_fail(p, "write", n);
			return;
		}
		if (n > 0) {
			off = (size_t)n;
			p->node->stats.bytes_out += off;
		}
		if (off == p->queue.len) {
			sh_buf_reset(&p->queue);
			return;
		}
	}
	node__write_t *w = calloc(1, sizeof *w);
	if (w == NULL) {
		if (off > 0) { /* keep the frames not yet sent, in order */
			memmove(p->queue.data, p->queue.data + off,
			        p->queue.len - off);
			p->queue.len -= off;
		}
		return;
	}
	w->peer = p;
	w->buf = p->queue; /* move */
	sh_buf_init(&p->queue);
	if (off > 0) {
		memmove(w->buf.data, w->buf.data + off, w->buf.len - off);
		w->buf.len -= off;
	}
	uv_buf_t b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
	/* the stall clock starts with a write; the loop's clock (read once
	 * a turn) is fine for a bound of seconds */
	if (p->inflight == 0)
		p->moved_ms = uv_now(&p->node->loop);
	p->inflight += w->buf.len;
	p->handed += w->buf.len;
	p->node->stats.bytes_out += w->buf.len;
	int rc = uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1,
	                  node__peer_written);
	if (rc != 0) {
		p->inflight -= w->buf.len;
		p->handed -= w->buf.len;
		sh_buf_free(&w->buf);
		free(w);
		node__peer_fail(p, "write", rc);
	}
}

static void node__peer_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	static char sink[4096];
	(void)h;
	(void)size;
	buf->base = sink;
	buf->len = sizeof sink;
}

/* Peers never write on our connection: reading only notices its end. */
static void node__peer_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	(void)b;
	if (nread < 0)
		node__peer_fail(s->data, "read", (int)nread);
}

static void node__peer_connected(uv_connect_t *req, int status)
{
	node_peer_t *p = req->data;
	if (p->state != NODE_PEER_CONNECTING)
		return;
	if (status < 0) {
		node__peer_fail(p, "connect", status);
		return;
	}
	p->state = NODE_PEER_CONNECTED;
	p->backoff_ms = NODE_PEER_BACKOFF_MIN_MS;
	uv_tcp_nodelay(&p->tcp, 1);
	uv_read_start((uv_stream_t *)&p->tcp, node__peer_alloc,
	              node__peer_read);
	/* The hello goes first: prepend it to what waited. */
	sh_buf_t q = p->queue;
	sh_buf_init(&p->queue);
	if (node__frame_hello(p->node, &p->queue) != SH_OK ||
	    sh_buf_append(&p->queue, q.data, q.len) != SH_OK) {
		sh_buf_free(&q);
		node__peer_fail(p, "hello", UV_ENOMEM);
		return;
	}
	sh_buf_free(&q);
	node__peer_write(p);
}

static void node__peer_connect(node_peer_t *p)
{
	node_t *n = p->node;
	struct sockaddr_storage sa;
	if (node__resolve(p->addr, &sa) != SH_OK) {
		sh_buf_reset(&p->queue);
		p->retry_ms = node__now_ms() + NODE_PEER_BACKOFF_MAX_MS;
		return;
	}
	uv_tcp_init(&n->loop, &p->tcp);
	p->tcp.data = p;
	p->handle_open = 1;
	p->connect.data = p;
	p->state = NODE_PEER_CONNECTING;
	int rc =
	    uv_tcp_connect(&p->connect, &p->tcp, (const struct sockaddr *)&sa,
	                   node__peer_connected);
	if (rc != 0)
		node__peer_fail(p, "connect", rc);
}

void node__peer_send(node_t *n, const char *addr, int kind, const uint8_t *data,
                     size_t len)
{
	node_peer_t *p = node__peer_get(n, addr);
	if (p == NULL || n->exit_code != 0 ||
	    p->queue.len + p->inflight + len > NODE_PEER_QUEUE_BYTES_MAX ||
	    len + 16 > n->cfg.frame_bytes_max) {
		n->stats.frames_dropped++;
		return;
	}
	size_t at;
	size_t mark = p->queue.len;
	sh_mp_writer_t w;
	if (node__frame_begin(&p->queue, &at) != SH_OK)
		return;
	sh_mp_writer_init(&w, &p->queue);
	sh_mp_put_array(&w, 2);
	sh_mp_put_u64(&w, (uint64_t)kind);
	sh_mp_put_bin(&w, data, len);
	if (w.err != SH_OK) {
		p->queue.len = mark;
		n->stats.frames_dropped++;
		return;
	}
	node__frame_end(&p->queue, at);
	n->stats.frames_out++;
}

void node__peer_flush(node_t *n, uint64_t now_ms)
{
	if (n->committing)
		return; /* the queues hold frames of an uncommitted batch */
	for (node_peer_t *p = n->peers; p != NULL; p = p->next) {
		if (p->queue.len == 0)
			continue;
		if (p->state == NODE_PEER_IDLE) {
			if (now_ms >= p->retry_ms)
				node__peer_connect(p);
			else if (p->queue.len > NODE_PEER_DOWN_QUEUE_BYTES_MAX)
				sh_buf_reset(&p->queue); /* peer is down */
		} else if (p->state == NODE_PEER_CONNECTED) {
			node__peer_write(p);
		}
	}
}

/*
 * Close p if its writes have not moved for the stall bound. Progress is
 * counted in bytes the socket took (uv_write's queue shrinking), not in
 * writes completed, so one long write to a slow but reading peer is not
 * taken for a stall. Its frames are lost: coordinators time out and
 * retry, hints replay, SWIM has its own probes.
 */
static void node__peer_check_stall(node_peer_t *p, uint64_t now_ms)
{
	node_t *n = p->node;
	if (p->state != NODE_PEER_CONNECTED || p->inflight == 0)
		return;
	uint64_t drained =
	    p->handed - uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp);
	if (drained != p->drained) {
		p->drained = drained;
		p->moved_ms = now_ms;
		return;
	}
	if (now_ms <= p->moved_ms || now_ms - p->moved_ms < n->peer_stall_ms)
		return;
	n->stats.peer_stalled++;
	n->stats.frames_dropped++;
	sh_buf_free(
	    &p->queue); /* up to NODE_PEER_QUEUE_BYTES_MAX: give it back */
	node__peer_fail(p, "write stalled", UV_ETIMEDOUT);
}

void node__peer_up(node_t *n, const char *addr)
{
	for (node_peer_t *p = n->peers; p != NULL; p = p->next)
		if (strcmp(p->addr, addr) == 0) {
			p->retry_ms = 0;
			p->backoff_ms = NODE_PEER_BACKOFF_MIN_MS;
		}
}

/* ---- inbound ---- */

static void node__inbound_closed(uv_handle_t *h)
{
	node_inbound_t *in = h->data;
	node_t *n = in->node;
	if (in->prev != NULL)
		in->prev->next = in->next;
	else
		n->inbound = in->next;
	if (in->next != NULL)
		in->next->prev = in->prev;
	n->inbound_len--;
	sh_buf_free(&in->in);
	free(in);
}

static void node__inbound_close(node_inbound_t *in)
{
	if (in->closing)
		return;
	in->closing = 1;
	uv_close((uv_handle_t *)&in->tcp, node__inbound_closed);
}

static int node__copy_str(sh_mp_reader_t *r, char *dst, size_t size)
{
	const uint8_t *p;
	size_t len;
	if (sh_mp_get_str(r, &p, &len) != SH_OK || len == 0 || len >= size)
		return SH_EMALFORMED;
	for (size_t i = 0; i < len; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return SH_EMALFORMED;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return SH_OK;
}

/* Handle one frame body; an error closes the connection. */
static int node__inbound_frame(node_inbound_t *in, const uint8_t *body,
                               size_t len)
{
	node_t *n = in->node;
	sh_mp_reader_t r;
	uint32_t count;
	uint64_t kind;
	sh_mp_reader_init(&r, body, len);
	if (sh_mp_get_array(&r, &count) != SH_OK || count < 2 ||
	    sh_mp_get_u64(&r, &kind) != SH_OK)
		return SH_EMALFORMED;
	if (kind == NODE_FRAME_HELLO) {
		if (count != 3 ||
		    node__copy_str(&r, in->name, sizeof in->name) != SH_OK ||
		    node__copy_str(&r, in->addr, sizeof in->addr) != SH_OK)
			return SH_EMALFORMED;
		return SH_OK;
	}
	const uint8_t *data;
	size_t dlen;
	if (in->name[0] == '\0' || count != 2 ||
	    sh_mp_get_bin(&r, &data, &dlen) != SH_OK ||
	    sh_mp_reader_left(&r) != 0)
		return SH_EMALFORMED;
	uint64_t now = node__now_ms();
	if (kind == NODE_FRAME_STATE) {
		sh_buf_reset(&n->scratch);
		if (swim_recv_state(&n->swim, now, in->addr, data, dlen,
		                    &n->scratch) == SH_OK &&
		    n->scratch.len > 0)
			node__peer_send(n, in->addr, NODE_FRAME_STATE_REPLY,
			                n->scratch.data, n->scratch.len);
		return SH_OK;
	}
	if (kind == NODE_FRAME_STATE_REPLY) {
		swim_recv_state(&n->swim, now, in->addr, data, dlen, NULL);
		return SH_OK;
	}
	if (kind == NODE_FRAME_AAE) {
		node__aae_recv(n, in->name, data, dlen);
		return SH_OK;
	}
	if (kind == NODE_FRAME_COORD) {
		if (reap_wire_type(data, dlen) > 0)
			node__reap_recv(n, in->name, data, dlen);
		else if (handoff_wire_type(data, dlen) > 0)
			node__hint_recv(n, in->name, in->addr, data, dlen);
		else
			node__kv_recv(n, in->name, data, dlen);
		return SH_OK;
	}
	return SH_EMALFORMED;
}

/* 1 if a frame body's kind may write to the store (it then waits while
 * a sealed batch commits); gossip and malformed frames do not wait. */
static int node__frame_writes(const uint8_t *body, size_t len)
{
	sh_mp_reader_t r;
	uint32_t count;
	uint64_t kind;
	sh_mp_reader_init(&r, body, len);
	if (sh_mp_get_array(&r, &count) != SH_OK ||
	    sh_mp_get_u64(&r, &kind) != SH_OK)
		return 0;
	return kind == NODE_FRAME_COORD || kind == NODE_FRAME_AAE;
}

/* Split the received bytes into frames and handle the complete ones. */
static int node__inbound_parse(node_inbound_t *in)
{
	node_t *n = in->node;
	size_t off = 0;
	int rc = SH_OK;
	while (in->in.len - off >= 4) {
		const uint8_t *p = in->in.data + off;
		uint32_t flen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		                (uint32_t)p[2] << 8 | p[3];
		if (flen == 0 || flen > n->cfg.frame_bytes_max) {
			rc = SH_ETOOBIG;
			break;
		}
		if (in->in.len - off - 4 < flen)
			break;
		if (n->committing &&
		    (node__frame_writes(p + 4, flen) || node__reads_wait(n))) {
			if (!in->deferred)
				uv_read_stop((uv_stream_t *)&in->tcp);
			in->deferred = 1;
			break;
		}
		rc = node__inbound_frame(in, p + 4, flen);
		if (rc != SH_OK)
			break;
		n->stats.frames_in++;
		off += 4 + (size_t)flen;
	}
	if (off > 0) {
		memmove(in->in.data, in->in.data + off, in->in.len - off);
		in->in.len -= off;
		in->frame_ms = 0; /* the clock restarts with the next frame */
	}
	return rc;
}

/* Give back the room of a large frame once it is handled. */
static void node__inbound_shrink(node_inbound_t *in)
{
	if (in->in.cap <= NODE__READ_KEEP ||
	    in->in.len + NODE__READ_CHUNK > NODE__READ_KEEP)
		return;
	if (in->in.len == 0) {
		sh_buf_free(&in->in);
		return;
	}
	uint8_t *p = realloc(in->in.data, NODE__READ_KEEP);
	if (p == NULL)
		return; /* keep the larger buffer */
	in->in.data = p;
	in->in.cap = NODE__READ_KEEP;
}

static void node__inbound_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	node_inbound_t *in = h->data;
	(void)size;
	if (sh_buf_reserve(&in->in, NODE__READ_CHUNK) != SH_OK) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	buf->base = (char *)in->in.data + in->in.len;
	buf->len = in->in.cap - in->in.len;
}

/* Handle the frames received so far; a bad one closes the connection.
 * 0, or the error (the connection is closing). */
static int node__inbound_handle(node_inbound_t *in)
{
	int rc = node__inbound_parse(in);
	if (rc != SH_OK) {
		in->node->stats.frame_errors++;
		sh_log(SH_LOG_WARN, "peer connection from %s: bad frame: %s",
		       in->name[0] ? in->name : "?", sh_strerror(rc));
		node__inbound_close(in);
		return rc;
	}
	if (in->in.len > 0 && in->frame_ms == 0)
		in->frame_ms = uv_now(&in->node->loop);
	node__inbound_shrink(in);
	return rc;
}

static void node__inbound_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	node_inbound_t *in = s->data;
	(void)b;
	if (nread < 0) {
		node__inbound_close(in);
		return;
	}
	in->in.len += (size_t)nread;
	in->node->stats.bytes_in += (size_t)nread;
	node__inbound_handle(in);
}

/* Handle the frames that waited for a commit, then read again. */
static void node__inbound_resume(node_inbound_t *in)
{
	in->deferred = 0;
	if (node__inbound_handle(in) != SH_OK)
		return;
	if (!in->deferred &&
	    uv_read_start((uv_stream_t *)&in->tcp, node__inbound_alloc,
	                  node__inbound_read) != 0)
		node__inbound_close(in);
}

void node__peer_commit_done(node_t *n, int ok)
{
	for (node_peer_t *p = n->peers; p != NULL && !ok; p = p->next) {
		if (p->queue.len == 0)
			continue;
		/* the queue may begin with a hello (a connect meanwhile):
		 * a new connection starts clean */
		node__peer_fail(p, "commit failed", UV_ECANCELED);
		sh_buf_reset(&p->queue);
		n->stats.frames_dropped++; /* peers time out */
	}
	node_inbound_t *next;
	for (node_inbound_t *in = n->inbound; in != NULL; in = next) {
		next = in->next;
		if (in->deferred && !in->closing)
			node__inbound_resume(in);
	}
}

static void node__peer_accept(uv_stream_t *server, int status)
{
	node_t *n = server->data;
	if (status < 0)
		return;
	node_inbound_t *in = calloc(1, sizeof *in);
	if (in == NULL)
		return;
	in->node = n;
	in->accepted_ms = node__now_ms();
	uv_tcp_init(&n->loop, &in->tcp);
	in->tcp.data = in;
	in->next = n->inbound;
	if (n->inbound != NULL)
		n->inbound->prev = in;
	n->inbound = in;
	/* over the limit, accept only to close: the backlog empties */
	int over = n->inbound_len >= n->cfg.peer_conns_max;
	n->inbound_len++;
	if (uv_accept(server, (uv_stream_t *)&in->tcp) != 0) {
		node__inbound_close(in);
		return;
	}
	if (over) {
		n->stats.peer_refused++;
		node__inbound_close(in);
		return;
	}
	n->stats.peer_conns++;
	if (uv_read_start((uv_stream_t *)&in->tcp, node__inbound_alloc,
	                  node__inbound_read) != 0)
		node__inbound_close(in);
}

/* 1 if in is past its hello's or its current frame's deadline. A frame
 * complete and waiting for a commit (deferred) is not late. */
static int node__inbound_late(const node_inbound_t *in, uint64_t now_ms)
{
	uint64_t bound = in->node->peer_frame_ms;
	if (in->name[0] == '\0' && now_ms > in->accepted_ms &&
	    now_ms - in->accepted_ms >= bound)
		return 1;
	return !in->deferred && in->frame_ms != 0 && now_ms > in->frame_ms &&
	       now_ms - in->frame_ms >= bound;
}

void node__peer_sweep(node_t *n, uint64_t now_ms)
{
	for (node_peer_t *p = n->peers; p != NULL; p = p->next)
		node__peer_check_stall(p, now_ms);
	for (node_inbound_t *in = n->inbound; in != NULL; in = in->next)
		if (!in->closing && node__inbound_late(in, now_ms)) {
			n->stats.peer_timed_out++;
			sh_log(SH_LOG_DEBUG, "peer connection from %s: late",
			       in->name[0] ? in->name : "?");
			node__inbound_close(in);
		}
}

/* A peer bound in ms, scaled like SWIM's timers so tests can be short. */
static uint64_t node__peer_scaled(const node_t *n, uint64_t ms)
{
	uint64_t v = (uint64_t)((double)ms * n->cfg.swim_time_scale);
	return v < NODE_HOUSE_MS ? NODE_HOUSE_MS : v;
}

int node__peer_start(node_t *n)
{
	struct sockaddr_storage sa;
	n->peer_stall_ms = node__peer_scaled(n, NODE_PEER_STALL_MS);
	n->peer_idle_ms = node__peer_scaled(n, NODE_PEER_IDLE_MS);
	n->peer_frame_ms = node__peer_scaled(n, NODE_PEER_FRAME_MS);
	if (node__resolve(n->cfg.bind, &sa) != SH_OK)
		return SH_EINVAL;
	uv_tcp_init(&n->loop, &n->peer_listen);
	n->peer_listen.data = n;
	int rc = uv_tcp_bind(&n->peer_listen, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&n->peer_listen, 128,
		               node__peer_accept);
	if (rc != 0) {
		sh_log(SH_LOG_ERROR, "tcp listen %s: %s", n->cfg.bind,
		       uv_strerror(rc));
		return SH_EIO;
	}
	return SH_OK;
}

static void node__peer_free(uv_handle_t *h)
{
	(void)h;
}

void node__peer_close_all(node_t *n)
{
	if (!uv_is_closing((uv_handle_t *)&n->peer_listen))
		uv_close((uv_handle_t *)&n->peer_listen, node__peer_free);
	for (node_inbound_t *in = n->inbound; in != NULL; in = in->next)
		node__inbound_close(in);
	for (node_peer_t *p = n->peers; p != NULL; p = p->next) {
		sh_buf_reset(&p->queue);
		if (p->handle_open && p->state != NODE_PEER_CLOSING) {
			p->state = NODE_PEER_CLOSING;
			uv_close((uv_handle_t *)&p->tcp, node__peer_closed);
		}
	}
}

/* node__peer_free_all - after the loop ended: free the peer structs. */
void node__peer_free_all(node_t *n)
{
	while (n->peers != NULL) {
		node_peer_t *p = n->peers;
		n->peers = p->next;
		sh_buf_free(&p->queue);
		free(p);
	}
	n->peers_len = 0;
}
