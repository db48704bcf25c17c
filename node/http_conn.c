/*
 * http_conn.c - one HTTP/1.1 connection of http.h: request parsing with
 * http-parser 2.9, limits checked before bytes are stored, a bounded ring
 * of pipeline slots, and replies written out in request order.
 *
 * Slots: request seq lives in slots[seq % pipeline_max]. Three counters
 * walk the ring, head_seq <= deliver_seq <= next_seq: replies leave from
 * head_seq, requests are handed out from deliver_seq, and the parser
 * starts the next request at next_seq. When next_seq - head_seq reaches
 * pipeline_max the parser is paused at the end of a request and unread
 * input waits in the stash until take_output frees a slot.
 *
 * Errors in the stream (http-parser's, or ours: header or body limits,
 * duplicate headers) turn the current slot, or the next free one, into a
 * finished error reply with Connection: close, and stop input.
 */
#include "node/http.h"

#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/http_int.h"

/* Bytes of a request line not passed to callbacks (method, version). */
#define HTTP__LINE_OVERHEAD 16
/* ": " and CRLF around each header line. */
#define HTTP__HEADER_OVERHEAD    4
#define HTTP__PIPELINE_MAX_LIMIT 1024u
/* First allocation of a slot's head buffer. */
#define HTTP__HEAD_BYTES_FIRST 256u

static http_conn_t *http__conn(http_parser *p)
{
	return p->data;
}

static struct http__slot *http__slot_at(const http_conn_t *c, uint64_t seq)
{
	return &c->slots[seq % c->cfg.pipeline_max];
}

static uint32_t http__in_use(const http_conn_t *c)
{
	return (uint32_t)(c->next_seq - c->head_seq);
}

static void http__buf_release(sh_buf_t *b)
{
	if (b->cap > HTTP__KEEP_BYTES_MAX)
		sh_buf_free(b);
	else
		sh_buf_reset(b);
}

/* Forget a slot's request and reply, keeping small buffers for reuse. */
static void http__slot_clear(struct http__slot *s)
{
	http__buf_release(&s->head);
	http__buf_release(&s->body);
	http__buf_release(&s->reply);
	sh_buf_t head = s->head, body = s->body, reply = s->reply;
	memset(s, 0, sizeof *s);
	s->head = head;
	s->body = body;
	s->reply = reply;
}

/* The slot the parser is filling, or NULL between requests. */
static struct http__slot *http__current(http_conn_t *c)
{
	if (c->next_seq == c->head_seq)
		return NULL;
	struct http__slot *s = http__slot_at(c, c->next_seq - 1);
	return s->state == HTTP__PARSING ? s : NULL;
}

/* Stops the parser from a callback with our own status. */
static int http__cb_fail(http_conn_t *c, int status, const char *msg)
{
	if (c->fail_status == 0) {
		c->fail_status = status;
		c->fail_msg = msg;
	}
	return -1;
}

static int http__cb_nomem(http_conn_t *c)
{
	c->broken = SH_ENOMEM;
	return -1;
}

static int http__count(http_conn_t *c, size_t len)
{
	if (len > c->cfg.header_bytes_max - c->hdr_bytes)
		return http__cb_fail(c, 431, "request headers too large");
	c->hdr_bytes += len;
	return 0;
}

/*
 * A slot that never held a request takes the buffers of the slot before
 * it when that one is free: a client with one request at a time walks
 * through every slot in turn, and would otherwise allocate each slot's
 * buffers once, pipeline_max times per connection.
 */
static void http__slot_inherit(http_conn_t *c, struct http__slot *s)
{
	if (c->next_seq == 0 || c->cfg.pipeline_max < 2 || s->head.cap != 0 ||
	    s->body.cap != 0 || s->reply.cap != 0)
		return;
	struct http__slot *prev = http__slot_at(c, c->next_seq - 1);
	if (prev->state != HTTP__FREE)
		return;
	sh_buf_t head = s->head, body = s->body, reply = s->reply;
	s->head = prev->head;
	s->body = prev->body;
	s->reply = prev->reply;
	prev->head = head;
	prev->body = body;
	prev->reply = reply;
}

static int http__on_message_begin(http_parser *p)
{
	http_conn_t *c = http__conn(p);
	sh_assert(http__in_use(c) < c->cfg.pipeline_max);
	struct http__slot *s = http__slot_at(c, c->next_seq);
	sh_assert(s->state == HTTP__FREE);
	http__slot_inherit(c, s);
	/* no http__slot_clear: a free slot was cleared when it was last
	 * taken out (or dropped at EOF), or never used */
	s->state = HTTP__PARSING;
	s->req.seq = c->next_seq++;
	c->hdr_bytes = 0;
	c->in_value = 0;
	c->in_trailers = 0;
	sh_buf_reset(&c->hfield);
	sh_buf_reset(&c->hval);
	return http__count(c, HTTP__LINE_OVERHEAD);
}

static int http__on_url(http_parser *p, const char *at, size_t len)
{
	http_conn_t *c = http__conn(p);
	struct http__slot *s = http__current(c);
	sh_assert(s != NULL);
	if (http__count(c, len) != 0)
		return -1;
	/* a first request on a slot: room for a typical target, its
	 * decoded segments and kept headers at once, not 64 then 128 */
	if (s->head.cap == 0 &&
	    sh_buf_reserve(&s->head, HTTP__HEAD_BYTES_FIRST) != SH_OK)
		return http__cb_nomem(c);
	if (sh_buf_append(&s->head, at, len) != SH_OK)
		return http__cb_nomem(c);
	s->target.len += len;
	return 0;
}

/* The headers shoal reads; the values of all others are not stored. */
enum http__hkind {
	HTTP__H_OTHER = 0,
	HTTP__H_HOST,
	HTTP__H_CONTENT_TYPE,
	HTTP__H_CONTEXT,
	HTTP__H_EXPECT,
	HTTP__H_TRANSFER_ENCODING,
};

/* The len bytes at v equal lower (n bytes, lower case), ASCII
 * case-insensitively. */
static int http__ieq(const uint8_t *v, size_t len, const char *lower, size_t n)
{
	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = v[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		if (ch != (uint8_t)lower[i])
			return 0;
	}
	return 1;
}

#define HTTP__IEQ(b, lit) http__ieq((b)->data, (b)->len, lit, sizeof lit - 1)

/* Names the header whose name is complete in c->hfield, once per header
 * line: its value is kept only when shoal reads it. */
static int http__hkind(const http_conn_t *c)
{
	const sh_buf_t *f = &c->hfield;
	if (c->in_trailers)
		return HTTP__H_OTHER;
	if (HTTP__IEQ(f, "host"))
		return HTTP__H_HOST;
	if (HTTP__IEQ(f, "content-type"))
		return HTTP__H_CONTENT_TYPE;
	if (HTTP__IEQ(f, "x-shoal-context"))
		return HTTP__H_CONTEXT;
	if (HTTP__IEQ(f, "expect"))
		return HTTP__H_EXPECT;
	if (HTTP__IEQ(f, "transfer-encoding"))
		return HTTP__H_TRANSFER_ENCODING;
	return HTTP__H_OTHER;
}

/* Stores the value being received into the slot's head, trimmed. */
static int http__keep_value(http_conn_t *c, struct http__slot *s,
                            http__span_t *span, const char *what)
{
	if (span->set)
		return http__cb_fail(c, 400, what);
	const uint8_t *v = c->hval.data;
	size_t n = c->hval.len;
	while (n > 0 && (v[0] == ' ' || v[0] == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	span->off = s->head.len;
	span->len = n;
	span->set = 1;
	if (sh_buf_append(&s->head, v, n) != SH_OK ||
	    sh_buf_append_u8(&s->head, 0) != SH_OK)
		return http__cb_nomem(c);
	return 0;
}

/* v, without leading and trailing SP or HTAB, equals lower (n bytes,
 * lower case), ASCII case-insensitively. */
static int http__value_is(const sh_buf_t *v, const char *lower, size_t n)
{
	const uint8_t *p = v->data;
	size_t len = v->len;
	while (len > 0 && (p[0] == ' ' || p[0] == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return http__ieq(p, len, lower, n);
}

#define HTTP__VALUE_IS(v, lit) http__value_is(v, lit, sizeof lit - 1)

/*
 * A Transfer-Encoding line. shoal decodes chunked and no other coding,
 * while http-parser frames any list that ends in chunked ("gzip,
 * chunked") and would hand the still-coded body on as the value. So
 * anything but one line holding one "chunked" is marked, to be refused
 * with 501 once the headers end (RFC 9112 section 6.1).
 */
static void http__transfer_coding(http_conn_t *c, struct http__slot *s)
{
	if (s->te_seen || !HTTP__VALUE_IS(&c->hval, "chunked"))
		s->te_bad = 1;
	s->te_seen = 1;
}

/* A header line is complete: keep what shoal uses. */
static int http__header_done(http_conn_t *c)
{
	struct http__slot *s = http__current(c);
	int rc = 0;
	sh_assert(s != NULL);
	switch (c->hkind) {
	case HTTP__H_HOST:
		rc = http__keep_value(c, s, &s->host, "duplicate Host header");
		break;
	case HTTP__H_CONTENT_TYPE:
		rc = http__keep_value(c, s, &s->content_type,
		                      "duplicate Content-Type header");
		break;
	case HTTP__H_CONTEXT:
		rc = http__keep_value(c, s, &s->context,
		                      "duplicate X-Shoal-Context header");
		break;
	case HTTP__H_EXPECT:
		s->expect_asked =
		    (uint8_t)HTTP__VALUE_IS(&c->hval, "100-continue");
		break;
	case HTTP__H_TRANSFER_ENCODING: http__transfer_coding(c, s); break;
	default: break;
	}
	c->in_value = 0;
	sh_buf_reset(&c->hfield);
	sh_buf_reset(&c->hval);
	return rc;
}

/* The target ends where the first header starts: NUL-terminate it. */
static int http__end_target(http_conn_t *c)
{
	struct http__slot *s = http__current(c);
	sh_assert(s != NULL);
	if (s->target_done)
		return 0;
	sh_assert(s->head.len == s->target.len);
	if (sh_buf_append_u8(&s->head, 0) != SH_OK)
		return http__cb_nomem(c);
	s->target_done = 1;
	return 0;
}

static int http__on_header_field(http_parser *p, const char *at, size_t len)
{
	http_conn_t *c = http__conn(p);
	if (http__end_target(c) != 0)
		return -1;
	if (c->in_value && http__header_done(c) != 0)
		return -1;
	size_t extra = c->hfield.len == 0 ? HTTP__HEADER_OVERHEAD : 0;
	if (http__count(c, len + extra) != 0)
		return -1;
	if (sh_buf_append(&c->hfield, at, len) != SH_OK)
		return http__cb_nomem(c);
	return 0;
}

static int http__on_header_value(http_parser *p, const char *at, size_t len)
{
	http_conn_t *c = http__conn(p);
	if (!c->in_value) {
		c->in_value = 1;
		c->hkind = http__hkind(c);
	}
	if (http__count(c, len) != 0)
		return -1;
	if (c->hkind != HTTP__H_OTHER &&
	    sh_buf_append(&c->hval, at, len) != SH_OK)
		return http__cb_nomem(c);
	return 0;
}

/* Splits the target into path and query (absolute-form included). */
static void http__split_target(const char *t, size_t n, size_t *path_off,
                               size_t *path_len, size_t *q_off, size_t *q_len,
                               int *has_q)
{
	size_t i = 0;
	if (n > 0 && t[0] != '/') {
		/* absolute-form: skip "scheme://authority" */
		const char *sep = NULL;
		for (size_t k = 0; k + 2 < n && sep == NULL; k++)
			if (t[k] == ':' && t[k + 1] == '/' && t[k + 2] == '/')
				sep = t + k + 3;
		if (sep != NULL) {
			i = (size_t)(sep - t);
			while (i < n && t[i] != '/' && t[i] != '?' &&
			       t[i] != '#')
				i++;
		}
	}
	/* the path ends at the first '?' or '#' (memchr: every request
	 * scans its whole target here) */
	const char *qm = memchr(t + i, '?', n - i);
	size_t end = qm != NULL ? (size_t)(qm - t) : n;
	const char *hash = memchr(t + i, '#', end - i);
	if (hash != NULL)
		end = (size_t)(hash - t);
	*path_off = i;
	*path_len = end - i;
	*has_q = end < n && t[end] == '?';
	*q_off = *has_q ? end + 1 : end;
	hash = memchr(t + *q_off, '#', n - *q_off);
	*q_len = (hash != NULL ? (size_t)(hash - t) : n) - *q_off;
}

/*
 * A path without '%' (what clients send) decodes to its own bytes: one
 * copy of it (from i) with each '/' turned into a NUL holds every
 * segment, NUL-terminated, as http__decode_path's loop would leave them,
 * without decoding each segment byte by byte. Room is reserved.
 */
static void http__split_plain(struct http__slot *s, size_t off, size_t len,
                              size_t i, size_t seg_off[], size_t seg_len[])
{
	http_req_t *r = &s->req;
	size_t base = s->head.len, n = len - i, k = 0;
	uint8_t *out = s->head.data + base;
	memcpy(out, s->head.data + off + i, n);
	out[n] = 0;
	/* One segment per round; each consumes its '/' or the end. */
	for (;;) {
		uint8_t *slash = memchr(out + k, '/', n - k);
		size_t j = slash != NULL ? (size_t)(slash - out) : n;
		if (r->seg_count == HTTP_SEGS_MAX) {
			r->segs_over = 1;
			break;
		}
		seg_off[r->seg_count] = base + k;
		seg_len[r->seg_count++] = j - k;
		out[j] = 0;
		if (slash == NULL)
			break;
		k = j + 1;
	}
	s->head.len = base + n + 1;
}

/* Decodes the path segments into the slot's head (offsets in segs). */
static int http__decode_path(http_conn_t *c, struct http__slot *s, size_t off,
                             size_t len, size_t seg_off[], size_t seg_len[])
{
	http_req_t *r = &s->req;
	if (sh_buf_reserve(&s->head, len + HTTP_SEGS_MAX + 1) != SH_OK)
		return http__cb_nomem(c);
	size_t i = (len > 0 && s->head.data[off] == '/') ? 1 : 0;
	if (memchr(s->head.data + off, '%', len) == NULL) {
		http__split_plain(s, off, len, i, seg_off, seg_len);
		return 0;
	}
	/* One segment per round; each consumes at least its '/'. */
	while (i <= len && !r->path_bad) {
		const uint8_t *slash =
		    memchr(s->head.data + off + i, '/', len - i);
		size_t j = slash != NULL
		               ? (size_t)(slash - (s->head.data + off))
		               : len;
		if (r->seg_count == HTTP_SEGS_MAX) {
			r->segs_over = 1;
			break;
		}
		char *out = (char *)s->head.data + s->head.len;
		long n = http__pct_decode((char *)s->head.data + off + i, j - i,
		                          0, out);
		if (n < 0) {
			r->path_bad = 1;
			break;
		}
		seg_off[r->seg_count] = s->head.len;
		seg_len[r->seg_count++] = (size_t)n;
		s->head.len += (size_t)n;
		s->head.data[s->head.len++] = 0;
		i = j + 1;
	}
	return 0;
}

static http_str_t http__str(const struct http__slot *s, size_t off, size_t len)
{
	http_str_t v = {(const char *)s->head.data + off, len};
	return v;
}

static http_str_t http__span_str(const struct http__slot *s,
                                 const http__span_t *sp)
{
	http_str_t none = {NULL, 0};
	return sp->set ? http__str(s, sp->off, sp->len) : none;
}

static http_meth_t http__meth(unsigned m)
{
	switch (m) {
	case HTTP_GET: return HTTP_METH_GET;
	case HTTP_HEAD: return HTTP_METH_HEAD;
	case HTTP_PUT: return HTTP_METH_PUT;
	case HTTP_POST: return HTTP_METH_POST;
	case HTTP_DELETE: return HTTP_METH_DELETE;
	default: return HTTP_METH_OTHER;
	}
}

/* The target is complete: fills the request's line and path fields. */
static int http__fill_line(http_conn_t *c, http_parser *p, struct http__slot *s)
{
	http_req_t *r = &s->req;
	size_t seg_off[HTTP_SEGS_MAX] = {0}, seg_len[HTTP_SEGS_MAX] = {0};
	size_t po, pl, qo, ql;
	int has_q;
	if (http__end_target(c) != 0)
		return -1;
	/* http-parser also takes HTTP/0.9 request lines and any HTTP/x.y. */
	if (p->http_major != 1)
		return http__cb_fail(c, 505, "HTTP version not supported");
	http__split_target((const char *)s->head.data, s->target.len, &po, &pl,
	                   &qo, &ql, &has_q);
	if (http__decode_path(c, s, po, pl, seg_off, seg_len) != 0)
		return -1;
	r->method = http__meth(p->method);
	r->method_name = http_method_str((enum http_method)p->method);
	r->http_major = p->http_major;
	r->http_minor = p->http_minor;
	r->target = http__str(s, 0, s->target.len);
	r->path = http__str(s, po, pl);
	if (has_q)
		r->query = http__str(s, qo, ql);
	for (uint32_t i = 0; i < r->seg_count && !r->path_bad; i++)
		r->segs[i] = http__str(s, seg_off[i], seg_len[i]);
	if (r->path_bad)
		r->seg_count = 0;
	r->host = http__span_str(s, &s->host);
	r->content_type = http__span_str(s, &s->content_type);
	r->context = http__span_str(s, &s->context);
	return 0;
}

static int http__on_headers_complete(http_parser *p)
{
	http_conn_t *c = http__conn(p);
	struct http__slot *s = http__current(c);
	sh_assert(s != NULL);
	if (c->in_value && http__header_done(c) != 0)
		return -1;
	c->in_trailers = 1;
	if (http__fill_line(c, p, s) != 0)
		return -1;
	/* the body cannot be framed: refuse before reading any of it */
	if (s->te_bad)
		return http__cb_fail(c, 501, "transfer coding not implemented");
	http_req_t *r = &s->req;
	r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	r->has_content_length = (p->flags & F_CONTENTLENGTH) != 0;
	r->content_length = r->has_content_length ? p->content_length : 0;
	if (r->has_content_length && r->content_length > c->cfg.body_bytes_max)
		return http__cb_fail(c, 413, "request body too large");
	/* only now, with every header in and none refused, is it known
	 * that the body will be read: take_output may send 100 from here */
	int has_body = r->chunked || r->content_length > 0;
	s->expect_continue = s->expect_asked && has_body &&
	                     p->http_major == 1 && p->http_minor >= 1;
	return 0;
}

static int http__on_body(http_parser *p, const char *at, size_t len)
{
	http_conn_t *c = http__conn(p);
	struct http__slot *s = http__current(c);
	sh_assert(s != NULL);
	if (len > c->cfg.body_bytes_max - s->body.len)
		return http__cb_fail(c, 413, "request body too large");
	if (sh_buf_append(&s->body, at, len) != SH_OK)
		return http__cb_nomem(c);
	return 0;
}

static int http__on_message_complete(http_parser *p)
{
	http_conn_t *c = http__conn(p);
	struct http__slot *s = http__current(c);
	sh_assert(s != NULL);
	if (c->in_value && http__header_done(c) != 0) /* trailer */
		return -1;
	s->req.body = s->body.len > 0 ? s->body.data : NULL;
	s->req.body_len = s->body.len;
	s->state = HTTP__READY;
	if (!s->req.keep_alive)
		c->input_closed = 1;
	if (c->input_closed || http__in_use(c) == c->cfg.pipeline_max) {
		c->paused = 1;
		http_parser_pause(p, 1);
	}
	return 0;
}

static const http_parser_settings http__settings = {
    .on_message_begin = http__on_message_begin,
    .on_url = http__on_url,
    .on_header_field = http__on_header_field,
    .on_header_value = http__on_header_value,
    .on_headers_complete = http__on_headers_complete,
    .on_body = http__on_body,
    .on_message_complete = http__on_message_complete,
};

void http_conn_cfg_default(http_conn_cfg_t *cfg)
{
	cfg->header_bytes_max = HTTP_HEADER_BYTES_MAX_DEFAULT;
	cfg->body_bytes_max = HTTP_BODY_BYTES_MAX_DEFAULT;
	cfg->pipeline_max = HTTP_PIPELINE_MAX_DEFAULT;
	cfg->stash_bytes_max = HTTP_STASH_BYTES_MAX_DEFAULT;
}

int http_conn_init(http_conn_t *c, const http_conn_cfg_t *cfg)
{
	http_conn_cfg_t d;
	http_conn_cfg_default(&d);
	memset(c, 0, sizeof *c);
	c->cfg = d;
	if (cfg != NULL) {
		if (cfg->header_bytes_max != 0)
			c->cfg.header_bytes_max = cfg->header_bytes_max;
		if (cfg->body_bytes_max != 0)
			c->cfg.body_bytes_max = cfg->body_bytes_max;
		if (cfg->pipeline_max != 0)
			c->cfg.pipeline_max = cfg->pipeline_max;
		if (cfg->stash_bytes_max != 0)
			c->cfg.stash_bytes_max = cfg->stash_bytes_max;
	}
	if (c->cfg.pipeline_max > HTTP__PIPELINE_MAX_LIMIT)
		return SH_EINVAL;
	c->parser = malloc(sizeof *c->parser);
	c->slots = calloc(c->cfg.pipeline_max, sizeof *c->slots);
	if (c->parser == NULL || c->slots == NULL) {
		free(c->parser);
		free(c->slots);
		memset(c, 0, sizeof *c);
		return SH_ENOMEM;
	}
	http_parser_init(c->parser, HTTP_REQUEST);
	c->parser->data = c;
	c->close_seq = UINT64_MAX;
	return SH_OK;
}

void http_conn_free(http_conn_t *c)
{
	if (c->slots != NULL) {
		for (uint32_t i = 0; i < c->cfg.pipeline_max; i++) {
			sh_buf_free(&c->slots[i].head);
			sh_buf_free(&c->slots[i].body);
			sh_buf_free(&c->slots[i].reply);
		}
	}
	free(c->slots);
	free(c->parser);
	sh_buf_free(&c->stash);
	sh_buf_free(&c->hfield);
	sh_buf_free(&c->hval);
	memset(c, 0, sizeof *c);
}

/* Turns the current (or next) slot into a final error reply, stops input. */
static void http__fail_stream(http_conn_t *c, int status, const char *error,
                              const char *detail)
{
	struct http__slot *s = http__current(c);
	if (s == NULL) {
		sh_assert(http__in_use(c) < c->cfg.pipeline_max);
		s = http__slot_at(c, c->next_seq);
		sh_assert(s->state == HTTP__FREE);
		http__slot_clear(s);
		s->req.seq = c->next_seq++;
	}
	http__buf_release(&s->head);
	http__buf_release(&s->body);
	sh_buf_reset(&s->reply);
	if (http__error_reply(&s->reply, status, error, detail, NULL, 1) !=
	    SH_OK)
		c->broken = SH_ENOMEM;
	s->state = HTTP__DONE;
	s->close = 1;
	if (s->req.seq < c->close_seq)
		c->close_seq = s->req.seq;
	c->input_closed = 1;
	c->err_status = status;
	c->err_msg = detail != NULL ? detail : error;
}

/*
 * Runs the parser over len bytes at data; *used gets the bytes consumed.
 * Stops early when the pipeline fills or input closes.
 */
static int http__execute(http_conn_t *c, const char *data, size_t len,
                         size_t *used)
{
	*used = 0;
	if (c->paused) {
		if (c->input_closed || http__in_use(c) == c->cfg.pipeline_max)
			return SH_OK;
		http_parser_pause(c->parser, 0);
		c->paused = 0;
	}
	if (len == 0)
		return SH_OK;
	size_t n = http_parser_execute(c->parser, &http__settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(c->parser);
	*used = n;
	if (c->broken)
		return c->broken;
	if (e == HPE_PAUSED)
		return SH_OK;
	if (c->fail_status != 0) {
		http__fail_stream(c, c->fail_status, c->fail_msg, NULL);
	} else if (e == HPE_HEADER_OVERFLOW) {
		http__fail_stream(c, 431, "request headers too large", NULL);
	} else if (e != HPE_OK) {
		http__fail_stream(c, 400, "malformed request",
		                  http_errno_description(e));
	} else if (n < len) {
		/* an upgrade: the rest is another protocol */
		c->input_closed = 1;
	}
	if (c->input_closed)
		*used = len;
	return c->broken;
}

/* Drops a partly received request at EOF. */
static void http__finish_eof(http_conn_t *c)
{
	struct http__slot *s = http__current(c);
	if (s != NULL) {
		http__slot_clear(s);
		c->next_seq--;
	}
	c->input_closed = 1;
}

static int http__stash_left(const http_conn_t *c)
{
	return c->stash.len > c->stash_off;
}

/* Parses what waits in the stash, as far as the pipeline allows. */
static int http__parse_stash(http_conn_t *c)
{
	size_t used = 0;
	int rc = SH_OK;
	/* paused with nothing stashed (the read ended exactly at the end of
	 * the request that filled the pipeline): http__execute with no bytes
	 * still lifts the pause once there is room, or input would stall */
	if ((http__stash_left(c) || c->paused) && !c->input_closed) {
		rc = http__execute(c,
		                   c->stash.data != NULL
		                       ? (const char *)c->stash.data +
		                             c->stash_off
		                       : NULL,
		                   c->stash.len - c->stash_off, &used);
		c->stash_off += used;
	}
	if (c->input_closed || !http__stash_left(c)) {
		sh_buf_reset(&c->stash);
		c->stash_off = 0;
		if (c->stash.cap > HTTP__KEEP_BYTES_MAX)
			sh_buf_free(&c->stash);
	}
	if (rc == SH_OK && c->eof && !http__stash_left(c) && !c->input_closed)
		http__finish_eof(c);
	return rc;
}

static int http__stash(http_conn_t *c, const void *buf, size_t len)
{
	size_t left = c->stash.len - c->stash_off;
	if (len > c->cfg.stash_bytes_max ||
	    left > c->cfg.stash_bytes_max - len) {
		c->broken = SH_ETOOBIG;
		return SH_ETOOBIG;
	}
	if (c->stash_off > 0) {
		memmove(c->stash.data, c->stash.data + c->stash_off, left);
		c->stash.len = left;
		c->stash_off = 0;
	}
	if (sh_buf_append(&c->stash, buf, len) != SH_OK) {
		c->broken = SH_ENOMEM;
		return SH_ENOMEM;
	}
	return SH_OK;
}

int http_conn_feed(http_conn_t *c, const void *buf, size_t len)
{
	sh_assert(c->slots != NULL && (buf != NULL || len == 0));
	if (c->broken)
		return c->broken;
	if (c->input_closed || c->eof || len == 0)
		return SH_OK;
	if (c->paused || http__stash_left(c)) {
		int rc = http__stash(c, buf, len);
		return rc != SH_OK ? rc : http__parse_stash(c);
	}
	size_t used;
	int rc = http__execute(c, buf, len, &used);
	if (rc != SH_OK || used == len || c->input_closed)
		return rc;
	return http__stash(c, (const char *)buf + used, len - used);
}

void http_conn_eof(http_conn_t *c)
{
	if (c->eof || c->input_closed) {
		c->eof = 1;
		return;
	}
	c->eof = 1;
	if (!http__stash_left(c))
		http__finish_eof(c);
}

const http_req_t *http_conn_next(http_conn_t *c)
{
	if (c->deliver_seq < c->head_seq)
		c->deliver_seq = c->head_seq;
	/* Bounded by the pipeline: each round passes one slot. */
	while (c->deliver_seq < c->next_seq && c->deliver_seq <= c->close_seq) {
		struct http__slot *s = http__slot_at(c, c->deliver_seq);
		if (s->state == HTTP__DONE) { /* our own error reply */
			c->deliver_seq++;
			continue;
		}
		if (s->state != HTTP__READY)
			return NULL;
		s->state = HTTP__TAKEN;
		c->deliver_seq++;
		return &s->req;
	}
	return NULL;
}

const http_req_t *http_conn_peek(const http_conn_t *c)
{
	uint64_t seq =
	    c->deliver_seq < c->head_seq ? c->head_seq : c->deliver_seq;
	/* as http_conn_next, bounded by the pipeline */
	for (; seq < c->next_seq && seq <= c->close_seq; seq++) {
		struct http__slot *s = http__slot_at(c, seq);
		if (s->state == HTTP__DONE)
			continue;
		return s->state == HTTP__READY ? &s->req : NULL;
	}
	return NULL;
}

int http_conn_reply(http_conn_t *c, uint64_t seq, const http_reply_t *r)
{
	if (seq < c->head_seq || seq >= c->deliver_seq)
		return SH_EINVAL;
	struct http__slot *s = http__slot_at(c, seq);
	if (s->state != HTTP__TAKEN)
		return SH_EINVAL;
	http_reply_t eff = *r;
	eff.close = r->close || !s->req.keep_alive;
	eff.head = s->req.method == HTTP_METH_HEAD;
	if (seq <= c->close_seq) {
		sh_buf_reset(&s->reply);
		int rc = http_reply_write(&s->reply, &eff);
		if (rc != SH_OK)
			return rc;
	}
	http__buf_release(&s->head);
	http__buf_release(&s->body);
	memset(&s->req, 0, sizeof s->req);
	s->req.seq = seq;
	s->state = HTTP__DONE;
	s->close = (uint8_t)eff.close;
	if (eff.close) {
		c->input_closed = 1;
		if (seq < c->close_seq)
			c->close_seq = seq;
	}
	return SH_OK;
}

int http_conn_reply_error(http_conn_t *c, uint64_t seq, int status,
                          const char *error, const char *allow)
{
	sh_buf_t body;
	json_w_t w;
	sh_buf_init(&body);
	int rc = http_error_begin(&w, &body, error);
	if (rc == SH_OK)
		rc = http_error_end(&w);
	if (rc == SH_OK) {
		http_reply_t r;
		http_reply_init(&r, status);
		r.content_type = "application/json";
		r.body = body.data;
		r.body_len = body.len;
		r.allow = allow;
		rc = http_conn_reply(c, seq, &r);
	}
	sh_buf_free(&body);
	return rc;
}

static const char http__continue[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Moves (or copies) a slot's reply to the end of out. */
static int http__emit(sh_buf_t *out, sh_buf_t *reply)
{
	if (out->len == 0) {
		sh_buf_t tmp = *out;
		*out = *reply;
		*reply = tmp;
		return SH_OK;
	}
	return sh_buf_append(out, reply->data, reply->len);
}

int http_conn_take_output(http_conn_t *c, sh_buf_t *out)
{
	int n = 0;
	if (c->broken)
		return 0;
	/* Bounded by the pipeline: each round frees one slot. */
	while (c->head_seq < c->next_seq && !c->close_written) {
		struct http__slot *s = http__slot_at(c, c->head_seq);
		if (s->state == HTTP__PARSING && s->expect_continue &&
		    !s->continue_sent && s->body.len == 0) {
			if (sh_buf_append(out, http__continue,
			                  sizeof http__continue - 1) != SH_OK)
				return SH_ENOMEM;
			s->continue_sent = 1;
			n++;
		}
		if (s->state != HTTP__DONE)
			break;
		if (http__emit(out, &s->reply) != SH_OK)
			return SH_ENOMEM;
		if (s->close || c->head_seq == c->close_seq)
			c->close_written = 1;
		http__slot_clear(s);
		c->head_seq++;
		n++;
	}
	if (c->deliver_seq < c->head_seq)
		c->deliver_seq = c->head_seq;
	if (n > 0 && !c->close_written) {
		int rc = http__parse_stash(c);
		if (rc != SH_OK)
			return rc;
	}
	return n;
}

int http_conn_wants_input(const http_conn_t *c)
{
	return !c->broken && !c->input_closed && !c->eof && !c->paused &&
	       !http__stash_left(c);
}

int http_conn_in_request(const http_conn_t *c)
{
	if (c->next_seq == c->head_seq || c->broken)
		return 0;
	return http__slot_at(c, c->next_seq - 1)->state == HTTP__PARSING;
}

int http_conn_should_close(const http_conn_t *c)
{
	return c->broken != 0 || c->close_written ||
	       (c->input_closed && c->head_seq == c->next_seq);
}

int http_conn_error(const http_conn_t *c, const char **msg)
{
	if (msg != NULL)
		*msg = c->err_status != 0 ? c->err_msg : NULL;
	return c->err_status;
}

uint32_t http_conn_pending(const http_conn_t *c)
{
	return http__in_use(c);
}

size_t http_conn_mem_bytes(const http_conn_t *c)
{
	size_t n = c->stash.cap + c->hfield.cap + c->hval.cap;
	if (c->slots == NULL)
		return n;
	n += sizeof *c->parser + c->cfg.pipeline_max * sizeof *c->slots;
	for (uint32_t i = 0; i < c->cfg.pipeline_max; i++)
		n += c->slots[i].head.cap + c->slots[i].body.cap +
		     c->slots[i].reply.cap;
	return n;
}
