/*
 * node_http.c - the HTTP server on --http (DESIGN.md section 9): accept,
 * one http_conn_t per connection (node/http.h parses, orders pipelined
 * replies and answers malformed input), reads paused while the pipeline
 * is full, a connection limit (over it: 503 and close), an idle timeout,
 * and closing once the reply that ends a connection is written.
 *
 * A client that pipelines requests and does not read its replies must not
 * make the node queue them without bound: while more than
 * NODE__HTTP_QUEUED_MAX bytes of a connection's replies wait for the
 * socket, its next requests are not dispatched (the pipeline fills, and
 * reading stops); a write that makes no progress for the idle timeout
 * closes the connection, and so does a request (headers and body) still
 * incomplete that long after its first byte: a value of up to 1 MiB
 * then needs 17 KiB/s with the default 60 s.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_int.h"

#define NODE__HTTP_READ_CHUNK (64u * 1024)
/* Reply bytes a connection may have waiting for its socket before its
 * next requests wait too. The replies of requests already dispatched (at
 * most the pipeline's) still join them: the bound is this plus those. */
#define NODE__HTTP_QUEUED_MAX ((size_t)1 << 20)

typedef struct node__hwrite {
	uv_write_t req;
	sh_buf_t buf;
	size_t off; /* bytes uv_try_write sent before the request */
	node_hconn_t *conn;
} node__hwrite_t;

/* A connection's activity stamp, for the idle sweep: the loop's own
 * millisecond clock, updated once a turn, is fine enough and reads no
 * clock per request. */
static uint64_t node__conn_now_ms(const node_hconn_t *c)
{
	return uv_now(&c->node->loop);
}

static void node__hconn_closed(uv_handle_t *h)
{
	node_hconn_t *c = h->data;
	node_t *n = c->node;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	n->conns_len--;
	http_conn_free(&c->hc);
	free(c);
}

static void node__hconn_close(node_hconn_t *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	node__kv_conn_gone(c->node, c);
	uv_close((uv_handle_t *)&c->tcp, node__hconn_closed);
}

static void node__hconn_written(uv_write_t *req, int status)
{
	node__hwrite_t *w = (node__hwrite_t *)req;
	node_hconn_t *c = w->conn;
	c->queued -= w->buf.len - w->off;
	sh_buf_free(&w->buf);
	free(w);
	c->writes--;
	if (c->closing)
		return;
	if (status < 0 || c->refused) {
		node__hconn_close(c);
		return;
	}
	c->last_ms = node__conn_now_ms(c);
	c->write_ms = c->last_ms;
	if (c->writes == 0 && http_conn_should_close(&c->hc)) {
		node__hconn_close(c);
		return;
	}
	if (c->throttled && c->queued < NODE__HTTP_QUEUED_MAX) {
		c->throttled = 0;
		node__http_pump(c);
	}
}

/*
 * Write out (all of a turn's replies to c) and empty it. The socket
 * usually takes it all at once: uv_try_write then costs one syscall and
 * no allocation, and skips the write request whose completion makes
 * libuv re-arm the poll (an epoll_ctl per reply). Only what the socket
 * did not take goes through a queued uv_write; with one queued already,
 * everything must queue behind it to keep the order.
 */
static void node__hconn_write(node_hconn_t *c, sh_buf_t *out)
{
	size_t off = 0;
	if (c->writes == 0) {
		uv_buf_t b0 =
		    uv_buf_init((char *)out->data, (unsigned)out->len);
		int n = uv_try_write((uv_stream_t *)&c->tcp, &b0, 1);
		if (n < 0 && n != UV_EAGAIN) {
			sh_buf_free(out);
			node__hconn_close(c);
			return;
		}
		if (n > 0)
			off = (size_t)n;
		if (off == out->len) {
			sh_buf_reset(out);
			c->last_ms = node__conn_now_ms(c);
			if (c->refused)
				node__hconn_close(c);
			return;
		}
	}
	node__hwrite_t *w = calloc(1, sizeof *w);
	if (w == NULL) {
		sh_buf_free(out);
		node__hconn_close(c);
		return;
	}
	w->conn = c;
	w->buf = *out;
	w->off = off;
	sh_buf_init(out);
	uv_buf_t b = uv_buf_init((char *)w->buf.data + off,
	                         (unsigned)(w->buf.len - off));
	if (c->writes == 0)
		c->write_ms = node__conn_now_ms(c);
	c->writes++;
	c->queued += w->buf.len - off;
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1,
	                  node__hconn_written);
	if (rc != 0) {
		c->writes--;
		c->queued -= w->buf.len - off;
		sh_buf_free(&w->buf);
		free(w);
		node__hconn_close(c);
	}
}

static void node__hconn_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	static char slab[NODE__HTTP_READ_CHUNK];
	(void)h;
	(void)size;
	buf->base = slab;
	buf->len = sizeof slab;
}

static void node__hconn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

/* Read only while the connection wants input. */
static void node__hconn_reading(node_hconn_t *c)
{
	int want = !c->closing && http_conn_wants_input(&c->hc);
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, node__hconn_alloc,
		                  node__hconn_read) == 0)
			c->reading = 1;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
}

/*
 * The bytes a pump writes, reused from pump to pump so that a reply the
 * socket takes at once costs no allocation (one loop, one thread). A
 * buffer grown past NODE__HTTP_OUT_KEEP by a large reply is let go.
 */
#define NODE__HTTP_OUT_KEEP (256u * 1024)
static sh_buf_t node__http_out;
static int node__http_out_busy;

/*
 * While a sealed batch commits (node_commit.c), reads go on, but a write
 * must wait for the next batch, and so must everything after a held
 * reply: a pipelined read behind its own connection's write must see
 * that write. While a checkpoint commits, everything waits.
 */
static int node__http_must_wait(node_hconn_t *c)
{
	if (!c->node->committing)
		return 0;
	if (c->held || node__reads_wait(c->node))
		return 1;
	const http_req_t *req = http_conn_peek(&c->hc);
	return req != NULL && req->method != HTTP_METH_GET &&
	       req->method != HTTP_METH_HEAD;
}

/* Dispatch what c asked and write what is answered; 1 if c went over
 * NODE__HTTP_QUEUED_MAX only through this round's own output, which the
 * socket then took at once: no write completes to resume it, so the
 * caller goes on. */
static int node__http_pump_round(node_hconn_t *c, sh_buf_t *out)
{
	node_t *n = c->node;
	while (!c->closing) {
		if (node__http_must_wait(c)) {
			c->deferred = 1;
			break;
		}
		/* the client does not read: what it asked next waits */
		int over = c->queued + out->len >= NODE__HTTP_QUEUED_MAX;
		if (over && !c->throttled)
			n->stats.http_throttled++;
		c->throttled = over;
		const http_req_t *req =
		    c->throttled ? NULL : http_conn_next(&c->hc);
		if (req != NULL) {
			n->stats.http_requests++;
			node__api_dispatch(n, c, req);
			continue;
		}
		if (c->held)
			break; /* its commit is not done */
		int rc = http_conn_take_output(&c->hc, out);
		if (rc < 0) {
			node__hconn_close(c);
			return 0;
		}
		if (rc == 0)
			break;
	}
	if (!c->closing && out->len > 0)
		node__hconn_write(c, out);
	return !c->closing && c->throttled && c->queued < NODE__HTTP_QUEUED_MAX;
}

static void node__http_pump_into(node_hconn_t *c, sh_buf_t *out)
{
	/* each further round wrote at least what was missing to the bound */
	while (node__http_pump_round(c, out))
		c->throttled = 0;
	if (c->closing)
		return;
	if (c->writes == 0 && http_conn_should_close(&c->hc)) {
		node__hconn_close(c);
		return;
	}
	node__hconn_reading(c);
}

void node__http_pump(node_hconn_t *c)
{
	if (node__http_out_busy) { /* re-entered: a buffer of its own */
		sh_buf_t out;
		sh_buf_init(&out);
		node__http_pump_into(c, &out);
		sh_buf_free(&out);
		return;
	}
	node__http_out_busy = 1;
	sh_buf_reset(&node__http_out);
	node__http_pump_into(c, &node__http_out);
	if (node__http_out.cap > NODE__HTTP_OUT_KEEP)
		sh_buf_free(&node__http_out);
	sh_buf_reset(&node__http_out);
	node__http_out_busy = 0;
}

void node__http_commit_done(node_t *n, int ok)
{
	node_hconn_t *next;
	for (node_hconn_t *c = n->conns; c != NULL; c = next) {
		next = c->next;
		if (c->held && !ok) {
			/* replies promised a write the disk refused: they
			 * cannot leave, and the client must not wait */
			c->held = 0;
			node__hconn_close(c);
			continue;
		}
		if (!c->held && !c->deferred)
			continue;
		c->held = 0;
		c->deferred = 0;
		if (!c->closing)
			node__http_pump(c);
	}
}

static void node__hconn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	node_hconn_t *c = s->data;
	if (c->closing)
		return;
	if (nread == UV_EOF) {
		http_conn_eof(&c->hc);
	} else if (nread < 0) {
		node__hconn_close(c);
		return;
	} else if (nread > 0) {
		c->last_ms = node__conn_now_ms(c);
		if (http_conn_feed(&c->hc, b->base, (size_t)nread) != SH_OK) {
			node__hconn_close(c);
			return;
		}
		/* a request's clock starts at its first read and stops
		 * once it has arrived whole */
		if (!http_conn_in_request(&c->hc))
			c->req_ms = 0;
		else if (c->req_ms == 0)
			c->req_ms = c->last_ms;
	}
	node__http_pump(c);
}

/* Over the connection limit: one 503, then close. */
static void node__hconn_refuse(node_hconn_t *c)
{
	static const char body[] = "{\"error\":\"too many connections\"}\n";
	http_reply_t r;
	sh_buf_t out;
	sh_buf_init(&out);
	c->node->stats.http_refused++;
	http_reply_init(&r, 503);
	r.content_type = "application/json";
	r.body = body;
	r.body_len = sizeof body - 1;
	r.close = 1;
	c->refused = 1; /* closed once written */
	if (http_reply_write(&out, &r) == SH_OK)
		node__hconn_write(c, &out);
	else
		node__hconn_close(c);
	sh_buf_free(&out);
}

static void node__http_accept(uv_stream_t *server, int status)
{
	node_t *n = server->data;
	if (status < 0 || n->stopping)
		return;
	node_hconn_t *c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	c->node = n;
	c->id = ++n->next_conn_id;
	c->last_ms = node__conn_now_ms(c);
	uv_tcp_init(&n->loop, &c->tcp);
	c->tcp.data = c;
	c->next = n->conns;
	if (n->conns != NULL)
		n->conns->prev = c;
	n->conns = c;
	n->conns_len++;
	n->stats.http_conns++;
	http_conn_cfg_t hcfg;
	http_conn_cfg_default(&hcfg);
	if (n->cfg.value_bytes_max + 64 * 1024 > hcfg.body_bytes_max)
		hcfg.body_bytes_max = n->cfg.value_bytes_max + 64 * 1024;
	int rc = http_conn_init(&c->hc, &hcfg);
	if (rc != SH_OK || uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		if (rc != SH_OK)
			memset(&c->hc, 0, sizeof c->hc);
		c->closing = 1;
		uv_close((uv_handle_t *)&c->tcp, node__hconn_closed);
		return;
	}
	c->hc.data = c;
	uv_tcp_nodelay(&c->tcp, 1);
	if (n->conns_len > n->cfg.http_conns_max) {
		node__hconn_refuse(c);
		return;
	}
	node__hconn_reading(c);
}

int node__http_start(node_t *n)
{
	struct sockaddr_storage sa;
	if (node__resolve(n->cfg.http, &sa) != SH_OK) {
		sh_log(SH_LOG_ERROR, "--http %s: not an IP address and port",
		       n->cfg.http);
		return SH_EINVAL;
	}
	uv_tcp_init(&n->loop, &n->http_listen);
	n->http_listen.data = n;
	int rc = uv_tcp_bind(&n->http_listen, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&n->http_listen, 511,
		               node__http_accept);
	if (rc != 0) {
		sh_log(SH_LOG_ERROR, "http listen %s: %s", n->cfg.http,
		       uv_strerror(rc));
		return SH_EIO;
	}
	n->http_listening = 1;
	return SH_OK;
}

static void node__listen_closed(uv_handle_t *h)
{
	(void)h;
}

void node__http_stop_listening(node_t *n)
{
	if (!n->http_listening)
		return;
	n->http_listening = 0;
	uv_close((uv_handle_t *)&n->http_listen, node__listen_closed);
	/* Idle keep-alive connections will not be asked anything more. */
	for (node_hconn_t *c = n->conns; c != NULL;) {
		node_hconn_t *next = c->next;
		if (http_conn_pending(&c->hc) == 0 && c->writes == 0)
			node__hconn_close(c);
		c = next;
	}
}

void node__http_close_all(node_t *n)
{
	node__http_stop_listening(n);
	for (node_hconn_t *c = n->conns; c != NULL; c = c->next)
		node__hconn_close(c);
}

void node__http_sweep(node_t *n, uint64_t now_ms)
{
	for (node_hconn_t *c = n->conns; c != NULL;) {
		node_hconn_t *next = c->next;
		int busy = c->writes > 0 || c->waiting > 0;
		/* last_ms is the loop's clock, which may read a little
		 * behind or ahead of now_ms */
		int idle = now_ms > c->last_ms &&
		           now_ms - c->last_ms >= n->cfg.http_idle_ms;
		/* a client that stopped reading: its write has not moved;
		 * or one that sends its request a byte at a time */
		int stalled = c->writes > 0 && now_ms > c->write_ms &&
		              now_ms - c->write_ms >= n->cfg.http_idle_ms;
		stalled |= c->req_ms != 0 && now_ms > c->req_ms &&
		           now_ms - c->req_ms >= n->cfg.http_idle_ms;
		int quiet = http_conn_pending(&c->hc) == 0 && c->writes == 0;
		if (!c->closing &&
		    ((idle && !busy) || stalled || (n->stopping && quiet))) {
			if (idle || stalled)
				n->stats.http_idle++;
			node__hconn_close(c);
		}
		c = next;
	}
}

int node__http_writing(const node_t *n)
{
	for (const node_hconn_t *c = n->conns; c != NULL; c = c->next)
		if (c->writes > 0 && !c->closing)
			return 1;
	return 0;
}
