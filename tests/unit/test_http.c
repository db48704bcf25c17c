/*
 * test_http.c - unit tests of node/http.h: connection parsing, limits,
 * pipelining and reply order, keep-alive, replies, multipart bodies,
 * routes and query parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "node/http.h"
#include "node/http_int.h"

/* ---- helpers ---- */

static void conn_init(http_conn_t *c, const http_conn_cfg_t *cfg)
{
	assert_int_equal(http_conn_init(c, cfg), SH_OK);
}

static void feed(http_conn_t *c, const char *s)
{
	assert_int_equal(http_conn_feed(c, s, strlen(s)), SH_OK);
}

/* Takes all output into out (reset first) as a NUL-terminated string. */
static const char *take(http_conn_t *c, sh_buf_t *out)
{
	sh_buf_reset(out);
	int n = http_conn_take_output(c, out);
	assert_true(n >= 0);
	assert_int_equal(sh_buf_append_u8(out, 0), SH_OK);
	out->len--;
	return (const char *)out->data;
}

static void reply_text(http_conn_t *c, uint64_t seq, int status,
                       const char *body)
{
	http_reply_t r;
	http_reply_init(&r, status);
	r.content_type = "text/plain";
	r.body = body;
	r.body_len = strlen(body);
	assert_int_equal(http_conn_reply(c, seq, &r), SH_OK);
}

/* memmem, which C11 with _POSIX_C_SOURCE does not declare. */
static const void *find_bytes(const void *h, size_t hl, const char *n)
{
	size_t nl = strlen(n);
	for (size_t i = 0; i + nl <= hl; i++)
		if (memcmp((const char *)h + i, n, nl) == 0)
			return (const char *)h + i;
	return NULL;
}

static int str_eq(http_str_t s, const char *want)
{
	return s.ptr != NULL && s.len == strlen(want) &&
	       memcmp(s.ptr, want, s.len) == 0;
}

/* ---- parsing ---- */

static void test_http_simple_get(void **state)
{
	(void)state;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	assert_true(http_conn_wants_input(&c));
	feed(&c, "GET /kv/b/k?r=1 HTTP/1.1\r\nHost: n1:8098\r\n"
	         "X-Other: ignored\r\n\r\n");
	const http_req_t *req = http_conn_next(&c);
	assert_non_null(req);
	assert_int_equal(req->seq, 0);
	assert_int_equal(req->method, HTTP_METH_GET);
	assert_string_equal(req->method_name, "GET");
	assert_int_equal(req->http_minor, 1);
	assert_true(req->keep_alive);
	assert_true(str_eq(req->target, "/kv/b/k?r=1"));
	assert_true(str_eq(req->path, "/kv/b/k"));
	assert_true(str_eq(req->query, "r=1"));
	assert_int_equal(req->seg_count, 3);
	assert_true(str_eq(req->segs[0], "kv"));
	assert_true(str_eq(req->segs[2], "k"));
	assert_true(str_eq(req->host, "n1:8098"));
	assert_string_equal(req->target.ptr, "/kv/b/k?r=1");
	assert_string_equal(req->host.ptr, "n1:8098");
	assert_string_equal(req->segs[1].ptr, "b");
	assert_null(req->content_type.ptr);
	assert_null(req->context.ptr);
	assert_false(req->has_content_length);
	assert_int_equal(req->body_len, 0);
	assert_null(http_conn_next(&c));
	assert_string_equal(take(&c, &out), "");

	reply_text(&c, req->seq, 200, "hello");
	assert_string_equal(take(&c, &out),
	                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	                    "Content-Length: 5\r\nConnection: keep-alive\r\n"
	                    "\r\nhello");
	assert_false(http_conn_should_close(&c));
	assert_int_equal(http_conn_pending(&c), 0);
	assert_int_equal(http_conn_error(&c, NULL), 0);
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_head_gets_length_without_body(void **state)
{
	(void)state;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, "HEAD /kv/b/k HTTP/1.1\r\n\r\nGET /kv/b/k HTTP/1.1\r\n\r\n");
	const http_req_t *h = http_conn_next(&c);
	const http_req_t *g = http_conn_next(&c);
	assert_int_equal(h->method, HTTP_METH_HEAD);
	http_reply_t r;
	http_reply_init(&r, 200);
	r.body_len = 1234; /* announced, not built */
	assert_int_equal(http_conn_reply(&c, h->seq, &r), SH_OK);
	assert_int_equal(http_conn_reply(&c, g->seq, &r), SH_EINVAL);
	reply_text(&c, g->seq, 200, "body");
	assert_string_equal(take(&c, &out),
	                    "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
	                    "Connection: keep-alive\r\n\r\n"
	                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	                    "Content-Length: 4\r\nConnection: keep-alive\r\n"
	                    "\r\nbody");
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_put_with_body(void **state)
{
	(void)state;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, "PUT /kv/carts/alice HTTP/1.1\r\n"
	         "content-type:  application/json \r\n"
	         "X-Shoal-Context: g2wAAAAB\r\n"
	         "Content-Length: 10\r\n\r\n{\"a\":");
	assert_null(http_conn_next(&c)); /* body incomplete */
	feed(&c, "true}");
	const http_req_t *req = http_conn_next(&c);
	assert_non_null(req);
	assert_int_equal(req->method, HTTP_METH_PUT);
	assert_true(str_eq(req->content_type, "application/json"));
	assert_true(str_eq(req->context, "g2wAAAAB"));
	assert_true(req->has_content_length);
	assert_int_equal(req->content_length, 10);
	assert_false(req->chunked);
	assert_int_equal(req->body_len, 10);
	assert_memory_equal(req->body, "{\"a\":true}", 10);

	http_reply_t r;
	http_reply_init(&r, 204);
	r.context = "g2wAAAAC";
	r.context_len = 8;
	assert_int_equal(http_conn_reply(&c, req->seq, &r), SH_OK);
	assert_string_equal(take(&c, &out), "HTTP/1.1 204 No Content\r\n"
	                                    "X-Shoal-Context: g2wAAAAC\r\n"
	                                    "Connection: keep-alive\r\n\r\n");
	/* a second reply to the same request is refused */
	assert_int_equal(http_conn_reply(&c, 0, &r), SH_EINVAL);
	assert_int_equal(http_conn_reply(&c, 7, &r), SH_EINVAL);
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_pipelined_replies_leave_in_request_order(void **state)
{
	(void)state;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, "GET /kv/b/one HTTP/1.1\r\n\r\n"
	         "PUT /kv/b/two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	         "GET /kv/b/three HTTP/1.1\r\n\r\n");
	const http_req_t *r0 = http_conn_next(&c);
	const http_req_t *r1 = http_conn_next(&c);
	const http_req_t *r2 = http_conn_next(&c);
	assert_non_null(r0);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_null(http_conn_next(&c));
	assert_true(str_eq(r0->segs[2], "one"));
	assert_string_equal(r0->target.ptr, "/kv/b/one"); /* no headers */
	assert_true(str_eq(r1->segs[2], "two"));
	assert_memory_equal(r1->body, "abc", 3);
	assert_true(str_eq(r2->segs[2], "three"));
	uint64_t s0 = r0->seq, s1 = r1->seq, s2 = r2->seq;
	assert_true(s0 < s1 && s1 < s2);
	assert_int_equal(http_conn_pending(&c), 3);

	/* completed out of order: 2, 0, 1 */
	reply_text(&c, s2, 200, "third");
	assert_string_equal(take(&c, &out), "");
	reply_text(&c, s0, 200, "first");
	const char *o = take(&c, &out);
	assert_non_null(strstr(o, "first"));
	assert_null(strstr(o, "third"));
	reply_text(&c, s1, 201, "second");
	o = take(&c, &out);
	const char *a = strstr(o, "second"), *b = strstr(o, "third");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_int_equal(strncmp(o, "HTTP/1.1 201 Created\r\n", 22), 0);
	assert_int_equal(http_conn_pending(&c), 0);
	http_conn_free(&c);
	sh_buf_free(&out);
}

/* Peeking shows the next request without handing it out; a request
 * answered by the connection itself (a parse error) is skipped. */
static void test_http_peek_leaves_the_request_waiting(void **state)
{
	(void)state;
	http_conn_t c;
	conn_init(&c, NULL);
	assert_null(http_conn_peek(&c));
	feed(&c, "PUT /kv/b/one HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"
	         "GET /kv/b/two HTTP/1.1\r\n\r\n");
	const http_req_t *p = http_conn_peek(&c);
	assert_non_null(p);
	assert_int_equal(p->method, HTTP_METH_PUT);
	assert_ptr_equal(http_conn_peek(&c), p); /* still waiting */
	const http_req_t *r0 = http_conn_next(&c);
	assert_ptr_equal(r0, p);
	p = http_conn_peek(&c);
	assert_non_null(p);
	assert_int_equal(p->method, HTTP_METH_GET);
	assert_ptr_equal(http_conn_next(&c), p);
	assert_null(http_conn_peek(&c));
	assert_null(http_conn_next(&c));
	feed(&c, "GET /kv/b/three HTTP/1.1\r\nContent-Length: x\r\n\r\n");
	assert_null(http_conn_peek(&c)); /* a 400 of its own, no request */
	http_conn_free(&c);
}

/* What a feeding pattern produced, to compare patterns. */
struct seen {
	char text[2048];
	size_t len;
	int requests;
};

static void seen_add(struct seen *s, const http_req_t *r)
{
	int n =
	    snprintf(s->text + s->len, sizeof s->text - s->len,
	             "%s|%.*s|%.*s|%.*s|%.*s|%d|%d|%zu:", r->method_name,
	             (int)r->target.len, r->target.ptr, (int)r->host.len,
	             r->host.ptr ? r->host.ptr : "", (int)r->content_type.len,
	             r->content_type.ptr ? r->content_type.ptr : "",
	             (int)r->context.len, r->context.ptr ? r->context.ptr : "",
	             r->keep_alive, r->chunked, r->body_len);
	assert_true(n > 0 && (size_t)n < sizeof s->text - s->len);
	s->len += (size_t)n;
	assert_true(s->len + r->body_len < sizeof s->text);
	if (r->body_len > 0)
		memcpy(s->text + s->len, r->body, r->body_len);
	s->len += r->body_len;
	s->requests++;
}

/* Feeds msg in the pieces [0,cut1) [cut1,cut2) [cut2,len), answering. */
static void run_split(const char *msg, size_t len, size_t cut1, size_t cut2,
                      struct seen *s)
{
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	memset(s, 0, sizeof *s);
	size_t cuts[4] = {0, cut1, cut2, len};
	for (int i = 0; i < 3; i++) {
		/* an exact-size copy, so ASan sees any over-read */
		size_t n = cuts[i + 1] - cuts[i];
		char *piece = malloc(n + 1);
		assert_non_null(piece);
		memcpy(piece, msg + cuts[i], n);
		assert_int_equal(http_conn_feed(&c, piece, n), SH_OK);
		free(piece);
		const http_req_t *r;
		while ((r = http_conn_next(&c)) != NULL) {
			seen_add(s, r);
			reply_text(&c, r->seq, 200, "ok");
		}
		take(&c, &out);
	}
	assert_int_equal(http_conn_error(&c, NULL), 0);
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_every_split_point_parses_the_same(void **state)
{
	(void)state;
	static const char msg[] =
	    "PUT /kv/b%20x/k?w=3 HTTP/1.1\r\nHost: h\r\n"
	    "Content-Type: text/plain\r\nX-Shoal-Context: abc==\r\n"
	    "Content-Length: 10\r\n\r\n0123456789"
	    "POST /dt/b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
	    "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n";
	size_t len = sizeof msg - 1;
	struct seen whole, part;
	run_split(msg, len, len, len, &whole);
	assert_int_equal(whole.requests, 3);
	assert_non_null(strstr(whole.text, "|1|1|5:abcde"));
	for (size_t i = 0; i <= len; i++) {
		run_split(msg, len, i, i, &part);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.text, whole.text, whole.len);
	}
	/* two cuts: every pair with the second in a window after the first */
	for (size_t i = 0; i <= len; i += 3) {
		for (size_t j = i; j <= len && j < i + 40; j++) {
			run_split(msg, len, i, j, &part);
			assert_memory_equal(part.text, whole.text, whole.len);
		}
	}
}

static void test_http_byte_at_a_time(void **state)
{
	(void)state;
	static const char msg[] =
	    "GET /kv/b/k1 HTTP/1.1\r\n\r\n"
	    "PUT /kv/b/k2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
	    "DELETE /kv/b/k3 HTTP/1.1\r\n\r\n";
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	int got = 0;
	for (size_t i = 0; i < sizeof msg - 1; i++) {
		assert_int_equal(http_conn_feed(&c, msg + i, 1), SH_OK);
		const http_req_t *r;
		while ((r = http_conn_next(&c)) != NULL) {
			assert_int_equal(r->seq, (uint64_t)got);
			got++;
			reply_text(&c, r->seq, 200, "x");
		}
	}
	assert_int_equal(got, 3);
	assert_non_null(strstr(take(&c, &out), "200 OK"));
	http_conn_free(&c);
	sh_buf_free(&out);
}

/* ---- keep-alive ---- */

/* Sends one request, answers it, returns its keep_alive. */
static int keep_alive_of(const char *request, int *closes)
{
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, request);
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	int ka = r->keep_alive;
	reply_text(&c, r->seq, 200, "x");
	const char *o = take(&c, &out);
	assert_non_null(strstr(o, ka ? "Connection: keep-alive\r\n"
	                             : "Connection: close\r\n"));
	*closes = http_conn_should_close(&c);
	http_conn_free(&c);
	sh_buf_free(&out);
	return ka;
}

static void test_http_keep_alive_rules(void **state)
{
	(void)state;
	int closes;
	assert_true(keep_alive_of("GET /health HTTP/1.1\r\n\r\n", &closes));
	assert_false(closes);
	assert_false(keep_alive_of(
	    "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", &closes));
	assert_true(closes);
	assert_false(keep_alive_of("GET /health HTTP/1.0\r\n\r\n", &closes));
	assert_true(closes);
	assert_true(keep_alive_of(
	    "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &closes));
	assert_false(closes);
	assert_false(
	    keep_alive_of("GET /health HTTP/1.1\r\nUpgrade: websocket\r\n"
	                  "Connection: Upgrade\r\n\r\n",
	                  &closes));
	assert_true(closes);

	/* requests after Connection: close are not read */
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n"
	         "GET /b HTTP/1.1\r\n\r\n");
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	assert_null(http_conn_next(&c));
	assert_false(http_conn_wants_input(&c));
	feed(&c, "GET /c HTTP/1.1\r\n\r\n"); /* ignored */
	assert_null(http_conn_next(&c));
	assert_false(http_conn_should_close(&c)); /* reply not yet out */
	reply_text(&c, r->seq, 200, "x");
	take(&c, &out);
	assert_true(http_conn_should_close(&c));
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_shell_close_drops_later_replies(void **state)
{
	(void)state;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
	const http_req_t *a = http_conn_next(&c);
	const http_req_t *b = http_conn_next(&c);
	uint64_t sa = a->seq, sb = b->seq;
	reply_text(&c, sb, 200, "second");
	http_reply_t r;
	http_reply_init(&r, 503);
	r.close = 1;
	assert_int_equal(http_conn_reply(&c, sa, &r), SH_OK);
	const char *o = take(&c, &out);
	assert_non_null(strstr(o, "503 Service Unavailable"));
	assert_non_null(strstr(o, "Connection: close"));
	assert_null(strstr(o, "second"));
	assert_true(http_conn_should_close(&c));
	assert_string_equal(take(&c, &out), "");
	http_conn_free(&c);
	sh_buf_free(&out);
}

/* ---- limits ---- */

static void test_http_header_too_large_refused_before_storing(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.header_bytes_max = 1024;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);

	/* just under the limit: accepted */
	conn_init(&c, &cfg);
	char line[2048];
	memset(line, 'v', sizeof line);
	feed(&c, "GET /health HTTP/1.1\r\nX-Big: ");
	assert_int_equal(http_conn_feed(&c, line, 900), SH_OK);
	feed(&c, "\r\n\r\n");
	assert_non_null(http_conn_next(&c));
	http_conn_free(&c);

	/* a header that never ends: refused, memory stays bounded */
	conn_init(&c, &cfg);
	size_t base = http_conn_mem_bytes(&c);
	feed(&c, "GET /kv/b/k HTTP/1.1\r\nX-Big: ");
	for (int i = 0; i < 100; i++) { /* 200 KB */
		assert_int_equal(http_conn_feed(&c, line, sizeof line), SH_OK);
		assert_true(http_conn_mem_bytes(&c) <= base + 4 * 1024);
	}
	assert_null(http_conn_next(&c));
	const char *msg;
	assert_int_equal(http_conn_error(&c, &msg), 431);
	assert_string_equal(msg, "request headers too large");
	const char *o = take(&c, &out);
	assert_int_equal(strncmp(o,
	                         "HTTP/1.1 431 Request Header Fields Too "
	                         "Large\r\n",
	                         41),
	                 0);
	assert_non_null(strstr(o, "Connection: close\r\n"));
	assert_non_null(strstr(o, "{\"error\":\"request headers too large\"}"));
	assert_true(http_conn_should_close(&c));
	assert_false(http_conn_wants_input(&c));
	http_conn_free(&c);

	/* many small headers count too */
	conn_init(&c, &cfg);
	feed(&c, "GET /health HTTP/1.1\r\n");
	for (int i = 0; i < 200; i++)
		feed(&c, "A: b\r\n");
	assert_int_equal(http_conn_error(&c, NULL), 431);
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_content_length_over_limit_413_unbuffered(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.body_bytes_max = 1000;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, &cfg);
	size_t base = http_conn_mem_bytes(&c);
	feed(&c, "GET /health HTTP/1.1\r\n\r\n"
	         "PUT /kv/b/k HTTP/1.1\r\nContent-Length: 1000000000\r\n"
	         "Expect: 100-continue\r\n\r\n");
	char chunk[4096];
	memset(chunk, 'z', sizeof chunk);
	for (int i = 0; i < 50; i++)
		assert_int_equal(http_conn_feed(&c, chunk, sizeof chunk),
		                 SH_OK);
	assert_true(http_conn_mem_bytes(&c) <= base + 2048);
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r); /* the GET before it is served */
	assert_null(http_conn_next(&c));
	assert_int_equal(http_conn_error(&c, NULL), 413);
	assert_string_equal(take(&c, &out), ""); /* waits for the GET */
	reply_text(&c, r->seq, 200, "up");
	const char *o = take(&c, &out);
	const char *ok = strstr(o, "200 OK"), *big = strstr(o, "413 Payload");
	assert_non_null(ok);
	assert_non_null(big);
	assert_true(ok < big);
	assert_null(strstr(o, "100 Continue"));
	assert_non_null(strstr(o, "request body too large"));
	assert_true(http_conn_should_close(&c));
	http_conn_free(&c);

	/* exactly at the limit is fine */
	conn_init(&c, &cfg);
	feed(&c, "PUT /kv/b/k HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
	char body[1000];
	memset(body, 'b', sizeof body);
	assert_int_equal(http_conn_feed(&c, body, sizeof body), SH_OK);
	r = http_conn_next(&c);
	assert_non_null(r);
	assert_int_equal(r->body_len, 1000);
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_chunked_body(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.body_bytes_max = 16;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, &cfg);
	feed(&c, "POST /dt/b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	assert_true(r->chunked);
	assert_false(r->has_content_length);
	assert_int_equal(r->body_len, 11);
	assert_memory_equal(r->body, "hello world", 11);
	http_conn_free(&c);

	/* a chunked body growing past the limit is cut off with 413 */
	conn_init(&c, &cfg);
	feed(&c, "POST /dt/b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "a\r\n0123456789\r\n");
	assert_int_equal(http_conn_error(&c, NULL), 0);
	feed(&c, "a\r\n0123456789\r\n0\r\n\r\n");
	assert_null(http_conn_next(&c));
	assert_int_equal(http_conn_error(&c, NULL), 413);
	assert_non_null(strstr(take(&c, &out), "413 Payload Too Large"));
	assert_true(http_conn_should_close(&c));
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_malformed_requests_get_400_and_close(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "GARBAGE\r\n\r\n",
	    "GET /a b HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
	    "\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    "GET / HTTP/1.1\r\nX-Shoal-Context: a\r\nx-shoal-context: b\r\n"
	    "\r\n",
	    "\x01\x02\x03",
	    "GET / HTTP/1.1\n\x7f\r\n\r\n",
	    "GET / HTTPS/1.1\r\n\r\n",
	    "GET / HTTP/1.1\rX\r\n\r\n",
	};
	sh_buf_t out;
	sh_buf_init(&out);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_conn_t c;
		conn_init(&c, NULL);
		/* a good request first: it is answered first */
		feed(&c, "GET /health HTTP/1.1\r\n\r\n");
		assert_int_equal(http_conn_feed(&c, bad[i], strlen(bad[i])),
		                 SH_OK);
		const http_req_t *r = http_conn_next(&c);
		assert_non_null(r);
		if (http_conn_next(&c) != NULL)
			fail_msg("case %zu parsed", i);
		if (http_conn_error(&c, NULL) != 400)
			fail_msg("case %zu: error %d", i,
			         http_conn_error(&c, NULL));
		reply_text(&c, r->seq, 200, "up");
		const char *o = take(&c, &out);
		const char *e = strstr(o, "HTTP/1.1 400 Bad Request\r\n");
		assert_non_null(e);
		assert_true(strstr(o, "200 OK") < e);
		assert_non_null(strstr(e, "Connection: close\r\n"));
		assert_non_null(strstr(e, "{\"error\":"));
		assert_true(http_conn_should_close(&c));
		http_conn_free(&c);
	}
	sh_buf_free(&out);
}

/* Each of bad[0..n) alone on a connection: not handed out, answered
 * with status (its status line and body start given), and the connection
 * closes after it. */
static void refused_and_closed(const char *const *bad, size_t n, int status,
                               const char *line, const char *body)
{
	sh_buf_t out;
	sh_buf_init(&out);
	for (size_t i = 0; i < n; i++) {
		http_conn_t c;
		conn_init(&c, NULL);
		assert_int_equal(http_conn_feed(&c, bad[i], strlen(bad[i])),
		                 SH_OK);
		if (http_conn_next(&c) != NULL)
			fail_msg("case %zu parsed", i);
		if (http_conn_error(&c, NULL) != status)
			fail_msg("case %zu: error %d", i,
			         http_conn_error(&c, NULL));
		const char *o = take(&c, &out);
		assert_non_null(strstr(o, line));
		assert_non_null(strstr(o, "Connection: close\r\n"));
		assert_non_null(strstr(o, body));
		assert_true(http_conn_should_close(&c));
		http_conn_free(&c);
	}
	sh_buf_free(&out);
}

/* shoal decodes chunked and nothing else: a body in any other transfer
 * coding would be stored still coded, so it is refused unread. */
static void test_http_transfer_codings_get_501_and_close(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "PUT /kv/b/c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "\r\n1\r\nz\r\n0\r\n\r\n",
	    "PUT /kv/b/c HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
	    "PUT /kv/b/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
	    "PUT /kv/b/c HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n"
	    "\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
	};
	refused_and_closed(bad, sizeof bad / sizeof bad[0], 501,
	                   "HTTP/1.1 501 Not Implemented\r\n",
	                   "{\"error\":\"transfer coding");
	sh_buf_t out;
	sh_buf_init(&out);
	/* a lone chunked, in any case and with spaces, is still read */
	http_conn_t c;
	conn_init(&c, NULL);
	feed(&c, "PUT /kv/b/c HTTP/1.1\r\nTransfer-Encoding:  ChUnKeD  \r\n"
	         "\r\n1\r\nz\r\n0\r\n\r\n");
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	assert_true(r->chunked);
	assert_int_equal(r->body_len, 1);
	assert_int_equal(http_conn_error(&c, NULL), 0);
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_other_versions_get_505_and_close(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "GET / HTTP/9.1\r\n\r\n",
	    "GET /\r\n\r\n", /* an HTTP/0.9 request line */
	    "GET / HTTP/2.0\r\n\r\n",
	};
	refused_and_closed(bad, sizeof bad / sizeof bad[0], 505,
	                   "HTTP/1.1 505 ", "{\"error\":");
}

static const char *fuzz_frags[] = {
    "GET ",
    "PUT ",
    "POST ",
    "/kv/",
    "b/k",
    "%2",
    "%zz",
    " HTTP/1.1",
    "\r\n",
    "\n",
    "Content-Length: ",
    "5",
    "99999999999999999999",
    "Transfer-Encoding: chunked",
    "Connection: close",
    "X-Shoal-Context: ",
    "a",
    "0\r\n",
    "ff\r\n",
    ":",
    " ",
    "\0",
    "\x80\xff",
    "Expect: 100-continue",
    "HTTP/1.0",
    "?r=1&",
};

/* One connection with random limits, fed random fragments in random cuts. */
static void fuzz_round(sh_rand_t *rng, sh_buf_t *in, sh_buf_t *out)
{
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.pipeline_max = 1 + (uint32_t)sh_rand_below(rng, 3);
	cfg.header_bytes_max = 64 + sh_rand_below(rng, 256);
	cfg.body_bytes_max = 1 + sh_rand_below(rng, 64);
	http_conn_t c;
	conn_init(&c, &cfg);
	sh_buf_reset(in);
	int nfrag = 1 + (int)sh_rand_below(rng, 40);
	size_t nf = sizeof fuzz_frags / sizeof fuzz_frags[0];
	for (int i = 0; i < nfrag; i++) {
		const char *f = fuzz_frags[sh_rand_below(rng, nf)];
		size_t n = f[0] == '\0' ? 1 : strlen(f);
		assert_int_equal(sh_buf_append(in, f, n), SH_OK);
	}
	size_t pos = 0;
	while (pos < in->len) {
		size_t n = 1 + sh_rand_below(rng, in->len - pos);
		if (http_conn_feed(&c, in->data + pos, n) != SH_OK)
			break; /* stash full: a misbehaving shell */
		pos += n;
		const http_req_t *r;
		while ((r = http_conn_next(&c)) != NULL) {
			http_match_t m;
			http_route_match(r, &m);
			reply_text(&c, r->seq, m.status ? m.status : 200, "x");
		}
		sh_buf_reset(out);
		assert_true(http_conn_take_output(&c, out) >= 0);
	}
	if (sh_rand_chance(rng, 0.5))
		http_conn_eof(&c);
	http_conn_free(&c);
}

static void test_http_random_input_never_crashes(void **state)
{
	(void)state;
	sh_rand_t rng;
	sh_rand_seed(&rng, 0x5eed); /* fixed: a failure replays as is */
	sh_buf_t out, in;
	sh_buf_init(&out);
	sh_buf_init(&in);
	for (int round = 0; round < 2000; round++)
		fuzz_round(&rng, &in, &out);
	sh_buf_free(&out);
	sh_buf_free(&in);
}

/* ---- pipeline bounds, 100-continue, EOF ---- */

static void test_http_full_pipeline_pauses_parsing(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.pipeline_max = 2;
	cfg.stash_bytes_max = 200;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, &cfg);
	feed(&c, "GET /kv/b/0 HTTP/1.1\r\n\r\nGET /kv/b/1 HTTP/1.1\r\n\r\n"
	         "GET /kv/b/2 HTTP/1.1\r\n\r\nGET /kv/b/3 HTTP/1.1\r\n\r\n"
	         "GET /kv/b/4 HTTP/1.1\r\n\r\n");
	assert_false(http_conn_wants_input(&c));
	int answered = 0;
	/* the shell's pump loop, bounded */
	for (int round = 0; round < 20; round++) {
		const http_req_t *r;
		int got = 0;
		while ((r = http_conn_next(&c)) != NULL) {
			char want[2] = {(char)('0' + answered + got), 0};
			assert_true(str_eq(r->segs[2], want));
			got++;
			assert_true(got <= 2);
			reply_text(&c, r->seq, 200, want);
		}
		answered += got;
		sh_buf_reset(&out);
		if (http_conn_take_output(&c, &out) <= 0)
			break;
	}
	assert_int_equal(answered, 5);
	assert_true(http_conn_wants_input(&c));

	/* a shell that keeps feeding while paused hits the stash limit */
	feed(&c, "GET /kv/b/5 HTTP/1.1\r\n\r\nGET /kv/b/6 HTTP/1.1\r\n\r\n");
	char more[150];
	memset(more, 'G', sizeof more);
	assert_int_equal(http_conn_feed(&c, more, sizeof more), SH_OK);
	assert_int_equal(http_conn_feed(&c, more, sizeof more), SH_ETOOBIG);
	assert_true(http_conn_should_close(&c));
	http_conn_free(&c);
	sh_buf_free(&out);
}

/* A read that ends exactly where the pipeline fills leaves nothing
 * stashed; once the replies leave, the connection must want input again
 * (found by tests/fuzz/fuzz_http.c). */
static void test_http_full_pipeline_without_stash_resumes(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.pipeline_max = 2;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, &cfg);
	feed(&c, "GET /kv/b/0 HTTP/1.1\r\n\r\nGET /kv/b/1 HTTP/1.1\r\n\r\n");
	assert_false(http_conn_wants_input(&c));
	const http_req_t *r;
	int got = 0;
	while ((r = http_conn_next(&c)) != NULL) {
		reply_text(&c, r->seq, 200, "x");
		got++;
	}
	assert_int_equal(got, 2);
	assert_int_equal(http_conn_take_output(&c, &out), 2);
	assert_int_equal(http_conn_pending(&c), 0);
	assert_true(http_conn_wants_input(&c));
	feed(&c, "GET /kv/b/2 HTTP/1.1\r\n\r\n");
	r = http_conn_next(&c);
	assert_non_null(r);
	assert_true(str_eq(r->segs[2], "2"));
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_expect_100_continue(void **state)
{
	(void)state;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, NULL);
	feed(&c, "GET /health HTTP/1.1\r\n\r\n"
	         "PUT /kv/b/k HTTP/1.1\r\nExpect: 100-Continue\r\n"
	         "Content-Length: 3\r\n\r\n");
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	assert_null(http_conn_next(&c));
	/* not before the reply to the GET */
	assert_string_equal(take(&c, &out), "");
	reply_text(&c, r->seq, 200, "up");
	const char *o = take(&c, &out);
	const char *ok = strstr(o, "200 OK"), *cont = strstr(o, "100 Continue");
	assert_non_null(ok);
	assert_non_null(cont);
	assert_true(ok < cont);
	assert_string_equal(take(&c, &out), ""); /* only once */
	feed(&c, "abc");
	r = http_conn_next(&c);
	assert_non_null(r);
	assert_memory_equal(r->body, "abc", 3);
	http_conn_free(&c);

	/* HTTP/1.0, or the body already there: no 100 */
	conn_init(&c, NULL);
	feed(&c, "PUT /kv/b/k HTTP/1.1\r\nExpect: 100-continue\r\n"
	         "Content-Length: 3\r\n\r\na");
	assert_string_equal(take(&c, &out), "");
	http_conn_free(&c);
	sh_buf_free(&out);
}

/* Whether a 100 is owed is known only once every header is in: headers
 * that arrive in two reads must not let one out in between. */
/* in_request: from a request's first byte until it has arrived whole,
 * body included, for each request of a pipeline */
static void test_http_in_request_spans_headers_and_body(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	http_conn_t c;
	conn_init(&c, &cfg);
	assert_false(http_conn_in_request(&c));
	feed(&c, "G");
	assert_true(http_conn_in_request(&c));
	feed(&c, "ET / HTTP/1.1\r\nHost: x\r\n");
	assert_true(http_conn_in_request(&c));
	feed(&c, "\r\n");
	assert_false(http_conn_in_request(&c)); /* the GET is whole */
	feed(&c, "PUT /kv/b/k HTTP/1.1\r\nContent-Length: 4\r\n");
	assert_true(http_conn_in_request(&c));
	feed(&c, "\r\nab");
	assert_true(http_conn_in_request(&c)); /* its body is not */
	feed(&c, "cd");
	assert_false(http_conn_in_request(&c));
	assert_non_null(http_conn_next(&c));
	assert_non_null(http_conn_next(&c));
	http_conn_free(&c);
}

static void test_http_expect_100_waits_for_headers(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.body_bytes_max = 1000;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);

	/* HTTP/1.0 gets no 100, even between the two reads */
	conn_init(&c, &cfg);
	feed(&c, "PUT /kv/b/e HTTP/1.0\r\nExpect: 100-continue\r\nC");
	assert_string_equal(take(&c, &out), "");
	feed(&c, "ontent-Length: 0\r\n\r\n");
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	reply_text(&c, r->seq, 200, "ok");
	assert_null(strstr(take(&c, &out), "100 Continue"));
	http_conn_free(&c);

	/* a body over the limit gets 413 alone, no 100 before it */
	conn_init(&c, &cfg);
	feed(&c, "PUT /kv/b/e HTTP/1.1\r\nExpect: 100-continue\r\nC");
	assert_string_equal(take(&c, &out), "");
	feed(&c, "ontent-Length: 99999999\r\n\r\n");
	const char *o = take(&c, &out);
	assert_null(strstr(o, "100 Continue"));
	assert_non_null(strstr(o, "413 Payload Too Large"));
	http_conn_free(&c);

	/* HTTP/1.1 with a body it will read: 100 once the headers end */
	conn_init(&c, &cfg);
	feed(&c, "PUT /kv/b/e HTTP/1.1\r\nExpect: 100-continue\r\nC");
	assert_string_equal(take(&c, &out), "");
	feed(&c, "ontent-Length: 3\r\n\r\n");
	assert_string_equal(take(&c, &out), "HTTP/1.1 100 Continue\r\n\r\n");
	http_conn_free(&c);
	sh_buf_free(&out);
}

static void test_http_eof_answers_complete_requests(void **state)
{
	(void)state;
	http_conn_cfg_t cfg;
	http_conn_cfg_default(&cfg);
	cfg.pipeline_max = 1;
	http_conn_t c;
	sh_buf_t out;
	sh_buf_init(&out);
	conn_init(&c, &cfg);
	feed(&c, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HT");
	http_conn_eof(&c);
	assert_false(http_conn_wants_input(&c));
	int n = 0;
	for (int round = 0; round < 10; round++) {
		const http_req_t *r;
		while ((r = http_conn_next(&c)) != NULL) {
			reply_text(&c, r->seq, 200, "x");
			n++;
		}
		assert_false(http_conn_should_close(&c) && n < 2);
		sh_buf_reset(&out);
		if (http_conn_take_output(&c, &out) <= 0)
			break;
	}
	assert_int_equal(n, 2); /* /c was cut off */
	assert_true(http_conn_should_close(&c));
	http_conn_free(&c);
	sh_buf_free(&out);
}

/* ---- replies ---- */

static void test_http_reply_write_format_and_checks(void **state)
{
	(void)state;
	sh_buf_t out;
	sh_buf_init(&out);
	http_reply_t r;
	http_reply_init(&r, 405);
	r.content_type = "application/json";
	r.body = "{}";
	r.body_len = 2;
	r.allow = "GET, HEAD";
	r.headers = "Retry-After: 1\r\n";
	r.close = 1;
	assert_int_equal(http_reply_write(&out, &r), SH_OK);
	assert_int_equal(sh_buf_append_u8(&out, 0), SH_OK);
	assert_string_equal((char *)out.data,
	                    "HTTP/1.1 405 Method Not Allowed\r\n"
	                    "Content-Type: application/json\r\n"
	                    "Content-Length: 2\r\nAllow: GET, HEAD\r\n"
	                    "Retry-After: 1\r\nConnection: close\r\n\r\n{}");
	sh_buf_reset(&out);
	r.head = 1; /* HEAD: length, no body */
	r.headers = NULL;
	assert_int_equal(http_reply_write(&out, &r), SH_OK);
	assert_true(out.len > 4 &&
	            memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);

	/* refused, leaving out unchanged */
	size_t before = out.len;
	http_reply_init(&r, 200);
	r.context = "a\r\nSet-Cookie: x";
	r.context_len = strlen(r.context);
	assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	http_reply_init(&r, 200);
	r.headers = "X: 1\r\n\r\n<html>";
	assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	r.headers = "X: 1\n";
	assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	r.headers = "Bad Name: 1\r\n";
	assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	/* every separator is refused in a header name, every other
	 * visible character taken (':' ends the name) */
	static const char seps[] = "\"(),/;<=>?@[\\]{}\x7f\x01";
	char line[32];
	for (size_t i = 0; i < sizeof seps - 1; i++) {
		snprintf(line, sizeof line, "X%cY: 1\r\n", seps[i]);
		r.headers = line;
		assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	}
	sh_buf_t ok;
	sh_buf_init(&ok);
	r.headers = "Az09!#$%&'*+-.^_`|~: 1\r\n";
	assert_int_equal(http_reply_write(&ok, &r), SH_OK);
	sh_buf_free(&ok);
	http_reply_init(&r, 204);
	r.body = "x";
	r.body_len = 1;
	assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	http_reply_init(&r, 42);
	assert_int_equal(http_reply_write(&out, &r), SH_EINVAL);
	assert_int_equal(out.len, before);

	/* an unusual status still gets a status line */
	sh_buf_reset(&out);
	http_reply_init(&r, 299);
	assert_int_equal(http_reply_write(&out, &r), SH_OK);
	assert_int_equal(memcmp(out.data, "HTTP/1.1 299 \r\n", 15), 0);
	sh_buf_free(&out);
}

static void test_http_json_error_bodies(void **state)
{
	(void)state;
	sh_buf_t body, out;
	sh_buf_init(&body);
	sh_buf_init(&out);
	json_w_t w;
	http_error_begin(&w, &body, "quorum");
	json_w_kv_u64(&w, "needed", 2);
	json_w_kv_u64(&w, "acknowledged", 1);
	json_w_key(&w, "stored_on");
	json_w_arr_begin(&w);
	json_w_str(&w, "n1");
	json_w_arr_end(&w);
	assert_int_equal(http_error_end(&w), SH_OK);
	assert_int_equal(sh_buf_append_u8(&body, 0), SH_OK);
	assert_string_equal((char *)body.data,
	                    "{\"error\":\"quorum\",\"needed\":2,"
	                    "\"acknowledged\":1,\"stored_on\":[\"n1\"]}");

	http_conn_t c;
	conn_init(&c, NULL);
	feed(&c, "PATCH /kv/b/k HTTP/1.1\r\n\r\n");
	const http_req_t *r = http_conn_next(&c);
	http_match_t m;
	assert_int_equal(http_route_match(r, &m), SH_EINVAL);
	assert_int_equal(
	    http_conn_reply_error(&c, r->seq, m.status, m.error, m.allow),
	    SH_OK);
	const char *o = take(&c, &out);
	assert_non_null(strstr(o, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(o, "Allow: GET, HEAD, PUT, DELETE\r\n"));
	assert_non_null(strstr(o, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(o, "{\"error\":\"method PATCH not allowed on "
	                          "/kv/{bucket}/{key} (allowed: GET, HEAD, "
	                          "PUT, DELETE)\"}"));
	http_conn_free(&c);
	sh_buf_free(&body);
	sh_buf_free(&out);
}

/* Parses a multipart body back into its parts' data. */
static size_t multipart_split(const uint8_t *body, size_t len, const char *b,
                              const uint8_t *data[], size_t lens[], size_t max)
{
	char delim[96];
	int dl = snprintf(delim, sizeof delim, "\r\n--%s", b);
	size_t bl = strlen(b);
	assert_true(len > bl + 2 && memcmp(body, "--", 2) == 0 &&
	            memcmp(body + 2, b, bl) == 0);
	size_t pos = 2 + bl, n = 0;
	while (pos + 2 <= len && memcmp(body + pos, "--", 2) != 0) {
		assert_memory_equal(body + pos, "\r\n", 2);
		pos += 2;
		/* skip part headers up to the blank line */
		while (memcmp(body + pos, "\r\n", 2) != 0) {
			const uint8_t *lf = memchr(body + pos, '\n', len - pos);
			assert_non_null(lf);
			pos = (size_t)(lf - body) + 1;
		}
		pos += 2;
		size_t end = pos;
		while (end + (size_t)dl <= len &&
		       memcmp(body + end, delim, (size_t)dl) != 0)
			end++;
		assert_true(end + (size_t)dl <= len && n < max);
		data[n] = body + pos;
		lens[n++] = end - pos;
		pos = end + (size_t)dl;
	}
	assert_memory_equal(body + pos, "--\r\n", 4);
	assert_int_equal(pos + 4, len);
	return n;
}

/* Header values of every length up to 40: fine with tabs anywhere,
 * refused with a control byte or DEL at any one place (the word checks
 * and their overlapping last word see every byte). */
static void test_http_header_value_every_place(void **state)
{
	(void)state;
	static const char bad[] = {'\r', '\n', 0, 0x1f, 0x7f};
	char v[40];
	for (size_t len = 0; len <= sizeof v; len++) {
		memset(v, 'a', sizeof v);
		assert_true(http__header_value_ok(v, len));
		for (size_t at = 0; at < len; at++) {
			v[at] = '\t';
			assert_true(http__header_value_ok(v, len));
			for (size_t k = 0; k < sizeof bad; k++) {
				v[at] = bad[k];
				assert_false(http__header_value_ok(v, len));
			}
			v[at] = (char)0x80; /* obs-text is allowed */
			assert_true(http__header_value_ok(v, len));
			v[at] = 'a';
		}
	}
}

static void test_http_multipart_boundary_not_in_parts(void **state)
{
	(void)state;
	/* part 0 holds the starting boundary followed by each boundary
	 * character, forcing the boundary to grow; part 1 holds binary */
	static const char bchars[] =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
	    "XYZ-_";
	char tricky[64 * 16 + 32];
	size_t tl = 0;
	for (size_t i = 0; i < 64; i++)
		tl += (size_t)snprintf(tricky + tl, sizeof tricky - tl,
		                       "shoal-siblings%c", bchars[i]);
	tl += (size_t)snprintf(tricky + tl, sizeof tricky - tl,
	                       "\r\n--shoal-siblings--\r\n");
	const uint8_t bin[] = {0, 1, '\r', '\n', '-', '-', 0xff};
	http_part_t parts[3] = {
	    {"text/plain", "X-Shoal-Deleted: false\r\n", tricky, tl},
	    {NULL, NULL, bin, sizeof bin},
	    {"application/json", NULL, "", 0},
	};
	sh_buf_t body;
	sh_buf_init(&body);
	char ct[HTTP_MULTIPART_TYPE_BYTES];
	assert_int_equal(http_multipart_write(&body, parts, 3, ct, sizeof ct),
	                 SH_OK);
	const char *prefix = "multipart/mixed; boundary=";
	assert_int_equal(strncmp(ct, prefix, strlen(prefix)), 0);
	const char *b = ct + strlen(prefix);
	assert_true(strlen(b) > strlen("shoal-siblings") && strlen(b) <= 70);
	/* the boundary is in no part */
	for (size_t i = 0; i + strlen(b) <= tl; i++)
		assert_false(memcmp(tricky + i, b, strlen(b)) == 0);
	const uint8_t *data[4];
	size_t lens[4];
	assert_int_equal(multipart_split(body.data, body.len, b, data, lens, 4),
	                 3);
	assert_int_equal(lens[0], tl);
	assert_memory_equal(data[0], tricky, tl);
	assert_int_equal(lens[1], sizeof bin);
	assert_memory_equal(data[1], bin, sizeof bin);
	assert_int_equal(lens[2], 0);
	assert_non_null(find_bytes(
	    body.data, body.len, "Content-Type: application/octet-stream\r\n"));
	assert_non_null(
	    find_bytes(body.data, body.len, "X-Shoal-Deleted: false\r\n"));

	/* simple parts keep the plain boundary */
	sh_buf_reset(&body);
	assert_int_equal(
	    http_multipart_write(&body, &parts[1], 2, ct, sizeof ct), SH_OK);
	assert_string_equal(ct, "multipart/mixed; boundary=shoal-siblings");
	/* bad input */
	parts[2].content_type = "text/plain\r\nX: y";
	assert_int_equal(http_multipart_write(&body, parts, 3, ct, sizeof ct),
	                 SH_EINVAL);
	assert_int_equal(http_multipart_write(&body, parts, 0, ct, sizeof ct),
	                 SH_EINVAL);
	sh_buf_free(&body);
}

/* ---- routes and parameters ---- */

struct route_case {
	const char *request_line;
	http_route_t route;
	int status;
	const char *bucket; /* NULL: not checked */
	const char *key;
	const char *error_has;
};

static void check_route(const struct route_case *rc, size_t i)
{
	http_conn_t c;
	conn_init(&c, NULL);
	feed(&c, rc->request_line);
	feed(&c, "\r\n\r\n");
	const http_req_t *req = http_conn_next(&c);
	if (req == NULL)
		fail_msg("case %zu did not parse", i);
	http_match_t m;
	int rc_ = http_route_match(req, &m);
	if (m.status != rc->status || m.route != rc->route ||
	    (rc_ == SH_OK) != (rc->status == 0))
		fail_msg("case %zu '%s': status %d route %s: %s", i,
		         rc->request_line, m.status, http_route_name(m.route),
		         m.error);
	if (rc->bucket != NULL) {
		assert_int_equal(m.bucket_len, strlen(rc->bucket));
		assert_memory_equal(m.bucket, rc->bucket, m.bucket_len);
		assert_int_equal(m.key_len, strlen(rc->key));
		assert_memory_equal(m.key, rc->key, m.key_len);
	}
	if (rc->error_has != NULL && strstr(m.error, rc->error_has) == NULL)
		fail_msg("case %zu: '%s' lacks '%s'", i, m.error,
		         rc->error_has);
	if (rc->status == 405)
		assert_non_null(m.allow);
	http_conn_free(&c);
}

static void test_http_routing_table(void **state)
{
	(void)state;
	static const struct route_case cases[] = {
	    {"GET /kv/b/k HTTP/1.1", HTTP_ROUTE_KV, 0, "b", "k", NULL},
	    {"PUT /kv/b/k HTTP/1.1", HTTP_ROUTE_KV, 0, "b", "k", NULL},
	    {"DELETE /kv/b/k HTTP/1.1", HTTP_ROUTE_KV, 0, "b", "k", NULL},
	    {"HEAD /kv/b/k HTTP/1.1", HTTP_ROUTE_KV, 0, "b", "k", NULL},
	    {"GET /kv/my%20bucket/a%2Fb%25 HTTP/1.1", HTTP_ROUTE_KV, 0,
	     "my bucket", "a/b%", NULL},
	    {"GET /kv/b/a+b HTTP/1.1", HTTP_ROUTE_KV, 0, "b", "a+b", NULL},
	    {"GET http://h:1/kv/b/k?r=2 HTTP/1.1", HTTP_ROUTE_KV, 0, "b", "k",
	     NULL},
	    {"GET /dt/carts/alice HTTP/1.1", HTTP_ROUTE_DT, 0, "carts", "alice",
	     NULL},
	    {"POST /dt/carts/alice HTTP/1.1", HTTP_ROUTE_DT, 0, NULL, NULL,
	     NULL},
	    {"GET /cluster/members HTTP/1.1", HTTP_ROUTE_MEMBERS, 0, NULL, NULL,
	     NULL},
	    {"GET /cluster/ring HTTP/1.1", HTTP_ROUTE_RING, 0, NULL, NULL,
	     NULL},
	    {"GET /cluster/preflist/b/k HTTP/1.1", HTTP_ROUTE_PREFLIST, 0, "b",
	     "k", NULL},
	    {"GET /cluster/replicas/b/k?n=2 HTTP/1.1", HTTP_ROUTE_REPLICAS, 0,
	     "b", "k", NULL},
	    {"POST /cluster/leave HTTP/1.1", HTTP_ROUTE_LEAVE, 0, NULL, NULL,
	     NULL},
	    {"GET /stats HTTP/1.1", HTTP_ROUTE_STATS, 0, NULL, NULL, NULL},
	    {"GET /metrics HTTP/1.1", HTTP_ROUTE_METRICS, 0, NULL, NULL, NULL},
	    {"GET /health?anything=1 HTTP/1.1", HTTP_ROUTE_HEALTH, 0, NULL,
	     NULL, NULL},
	    {"HEAD /health HTTP/1.1", HTTP_ROUTE_HEALTH, 0, NULL, NULL, NULL},
	    /* 404 */
	    {"GET / HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL,
	     "no such path: /"},
	    {"GET /nope HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, "/nope"},
	    {"GET /kv/b HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, NULL},
	    {"GET /kv/b/k/x HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, NULL},
	    {"GET /kv%2Fb/k HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, NULL},
	    {"GET /health/ HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, NULL},
	    {"GET /cluster HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, NULL},
	    {"GET /a/b/c/d/e/f/g/h HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL,
	     NULL},
	    {"OPTIONS * HTTP/1.1", HTTP_ROUTE_NONE, 404, NULL, NULL, NULL},
	    /* 405 */
	    {"PATCH /kv/b/k HTTP/1.1", HTTP_ROUTE_KV, 405, NULL, NULL,
	     "GET, HEAD, PUT, DELETE"},
	    {"POST /kv/b/k HTTP/1.1", HTTP_ROUTE_KV, 405, NULL, NULL,
	     "method POST"},
	    {"PUT /dt/b/k HTTP/1.1", HTTP_ROUTE_DT, 405, NULL, NULL,
	     "GET, HEAD, POST"},
	    {"GET /cluster/leave HTTP/1.1", HTTP_ROUTE_LEAVE, 405, NULL, NULL,
	     "allowed: POST"},
	    {"DELETE /health HTTP/1.1", HTTP_ROUTE_HEALTH, 405, NULL, NULL,
	     NULL},
	    /* 400 */
	    {"GET /kv//k HTTP/1.1", HTTP_ROUTE_KV, 400, NULL, NULL,
	     "bucket must not be empty"},
	    {"GET /kv/b/ HTTP/1.1", HTTP_ROUTE_KV, 400, NULL, NULL,
	     "key must not be empty"},
	    {"GET /kv/%zz/k HTTP/1.1", HTTP_ROUTE_NONE, 400, NULL, NULL,
	     "percent-encoding"},
	    {"GET /kv/b/k%4 HTTP/1.1", HTTP_ROUTE_NONE, 400, NULL, NULL,
	     "percent-encoding"},
	    {"GET /kv/b%00x/k HTTP/1.1", HTTP_ROUTE_KV, 400, NULL, NULL, "NUL"},
	    {"GET /kv/b/k?r=x HTTP/1.1", HTTP_ROUTE_KV, 400, NULL, NULL, "'r'"},
	    {"GET /dt/b/k?bogus=1 HTTP/1.1", HTTP_ROUTE_DT, 400, NULL, NULL,
	     "unknown query parameter 'bogus'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_route(&cases[i], i);
	assert_string_equal(http_route_name(HTTP_ROUTE_PREFLIST), "preflist");
}

static void test_http_route_name_length_limits(void **state)
{
	(void)state;
	static char line[8192];
	char key[HTTP_NAME_BYTES_MAX + 2];
	memset(key, 'k', sizeof key);
	key[HTTP_NAME_BYTES_MAX] = '\0';
	snprintf(line, sizeof line, "PUT /kv/b/%s HTTP/1.1", key);
	struct route_case ok = {line, HTTP_ROUTE_KV, 0, "b", key, NULL};
	check_route(&ok, 0);
	/* 1025 bytes after decoding: "%6B" is one byte */
	snprintf(line, sizeof line, "PUT /kv/b/%s%%6B HTTP/1.1", key);
	struct route_case big = {
	    line, HTTP_ROUTE_KV, 413,
	    NULL, NULL,          "key is 1025 bytes, over the limit of 1024"};
	check_route(&big, 1);
	snprintf(line, sizeof line, "GET /dt/%s%%6B/k HTTP/1.1", key);
	struct route_case bigb = {line, HTTP_ROUTE_DT, 413,
	                          NULL, NULL,          "bucket is 1025 bytes"};
	check_route(&bigb, 2);
}

/* The segments of p (a path) as parsed: "seg|seg|..." or "over"/"bad". */
static void path_segs(const char *path, char *out, size_t size)
{
	http_conn_t c;
	char line[256];
	conn_init(&c, NULL);
	snprintf(line, sizeof line, "GET %s HTTP/1.1\r\n\r\n", path);
	feed(&c, line);
	const http_req_t *r = http_conn_next(&c);
	assert_non_null(r);
	size_t k = 0;
	out[0] = '\0';
	if (r->segs_over || r->path_bad)
		snprintf(out, size, "%s", r->segs_over ? "over" : "bad");
	for (uint32_t i = 0; i < r->seg_count && !r->segs_over; i++) {
		/* each segment is also NUL-terminated where it lies */
		assert_int_equal(r->segs[i].ptr[r->segs[i].len], '\0');
		k += (size_t)snprintf(out + k, size - k, "%s%.*s",
		                      i > 0 ? "|" : "", (int)r->segs[i].len,
		                      r->segs[i].ptr);
	}
	http_conn_free(&c);
}

/* A path without '%' is split in place of being decoded: the same
 * segments as the same path with escapes, empty ones and limits too. */
static void test_http_path_plain_and_escaped_split_alike(void **state)
{
	(void)state;
	static const struct {
		const char *plain, *escaped, *want;
	} cases[] = {
	    {"/kv/bench/cg-k1234", "/kv/b%65nch/cg-k1234", "kv|bench|cg-k1234"},
	    {"/kv//k/", "/kv//%6B/", "kv||k|"},
	    {"/", "/%", NULL},
	    {"/a/b/c/d/e/f", "/a/b/c/d/e/%66", "a|b|c|d|e|f"},
	    {"/a/b/c/d/e/f/g", "/a/b/c/d/e/f/%67", "over"},
	    {"/a+b/c", "/a+b/%63", "a+b|c"},
	};
	char a[256], b[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		path_segs(cases[i].plain, a, sizeof a);
		path_segs(cases[i].escaped, b, sizeof b);
		if (cases[i].want == NULL) { /* "/" has one empty segment */
			assert_string_equal(a, "");
			assert_string_equal(b, "bad");
			continue;
		}
		assert_string_equal(a, cases[i].want);
		assert_string_equal(b, cases[i].want);
	}
}

static void test_http_query_params_good(void **state)
{
	(void)state;
	char err[HTTP_ERROR_BYTES];
	http_params_t p;
	const char *q = "n=3&r=2&w=1&pr=0&pw=1&timeout_ms=500&sloppy=false";
	assert_int_equal(http_params_parse(q, strlen(q), &p, err, sizeof err),
	                 SH_OK);
	assert_int_equal(p.present, HTTP_PARAM_N | HTTP_PARAM_R | HTTP_PARAM_W |
	                                HTTP_PARAM_PR | HTTP_PARAM_PW |
	                                HTTP_PARAM_TIMEOUT_MS |
	                                HTTP_PARAM_SLOPPY);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.r, 2);
	assert_int_equal(p.w, 1);
	assert_int_equal(p.pr, 0);
	assert_int_equal(p.pw, 1);
	assert_int_equal(p.timeout_ms, 500);
	assert_int_equal(p.sloppy, 0);

	q = "&&r=%32&sloppy=1&";
	assert_int_equal(http_params_parse(q, strlen(q), &p, err, sizeof err),
	                 SH_OK);
	assert_int_equal(p.present, HTTP_PARAM_R | HTTP_PARAM_SLOPPY);
	assert_int_equal(p.r, 2);
	assert_int_equal(p.sloppy, 1);
	q = "sloppy=true&n=064";
	assert_int_equal(http_params_parse(q, strlen(q), &p, err, sizeof err),
	                 SH_OK);
	assert_int_equal(p.sloppy, 1);
	assert_int_equal(p.n, 64);
	assert_int_equal(http_params_parse("", 0, &p, err, sizeof err), SH_OK);
	assert_int_equal(p.present, 0);

	/* a piece with nothing to decode is read in place; one with '%'
	 * escapes is decoded first: both give the same parameters */
	http_params_t plain, enc;
	q = "n=3&timeout_ms=250&sloppy=false";
	assert_int_equal(
	    http_params_parse(q, strlen(q), &plain, err, sizeof err), SH_OK);
	q = "%6E=%33&timeout%5Fms=2%350&sloppy=f%61lse";
	assert_int_equal(http_params_parse(q, strlen(q), &enc, err, sizeof err),
	                 SH_OK);
	assert_memory_equal(&plain, &enc, sizeof plain);
	assert_int_equal(plain.n, 3);
	assert_int_equal(plain.timeout_ms, 250);

	/* only what the query gave is present: the coordinator fills in
	 * the server's defaults */
	q = "r=1";
	assert_int_equal(http_params_parse(q, strlen(q), &p, err, sizeof err),
	                 SH_OK);
	assert_int_equal(p.r, 1);
	assert_int_equal(p.present, HTTP_PARAM_R);
}

static void test_http_query_params_bad_and_unknown(void **state)
{
	(void)state;
	static const struct {
		const char *q;
		const char *msg;
	} cases[] = {
	    {"x=1", "unknown query parameter 'x'"},
	    {"R=1", "unknown query parameter 'R'"},
	    {"r", "query parameter 'r' must be an integer from 0 to 64"},
	    {"r=", "query parameter 'r' must be an integer from 0 to 64"},
	    {"r=abc", "query parameter 'r' must be an integer"},
	    {"r=-1", "query parameter 'r' must be an integer"},
	    {"r=+1", "query parameter 'r' must be an integer"},
	    {"r=65", "query parameter 'r' must be an integer from 0 to 64"},
	    {"n=99999999999", "query parameter 'n' must be an integer"},
	    {"r=1 ", "query parameter 'r' must be an integer"},
	    {"pw=1%", "query parameter 'pw' must be an integer"},
	    {"timeout_ms=0",
	     "query parameter 'timeout_ms' must be an integer from 1 to "
	     "600000"},
	    {"timeout_ms=600001", "'timeout_ms'"},
	    {"sloppy=yes",
	     "query parameter 'sloppy' must be true, false, 1 or 0"},
	    {"sloppy=TRUE", "'sloppy'"},
	    {"r=1&r=2", "query parameter 'r' given twice"},
	    {"%zz=1", "bad query parameter name '%zz'"},
	    {"a%0Ab=1", "unknown query parameter 'a?b'"},
	    {"n=1&w=3&whatever", "unknown query parameter 'whatever'"},
	    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh"
	     "ijklmnopqrstuvwxyz=1",
	     "bad query parameter name 'abcdefghijklmnopqrstuvwxyzabcdef.."
	     "."},
	    {"r=11111111111111111111111111111111111111111111111111111111111"
	     "1111111111111",
	     "'r' must be"},
	};
	char err[HTTP_ERROR_BYTES];
	http_params_t p;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = http_params_parse(cases[i].q, strlen(cases[i].q), &p,
		                           err, sizeof err);
		if (rc != SH_EINVAL || strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu '%s': rc %d '%s'", i, cases[i].q, rc,
			         err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_simple_get),
	    cmocka_unit_test(test_http_head_gets_length_without_body),
	    cmocka_unit_test(test_http_put_with_body),
	    cmocka_unit_test(
	        test_http_pipelined_replies_leave_in_request_order),
	    cmocka_unit_test(test_http_peek_leaves_the_request_waiting),
	    cmocka_unit_test(test_http_every_split_point_parses_the_same),
	    cmocka_unit_test(test_http_byte_at_a_time),
	    cmocka_unit_test(test_http_keep_alive_rules),
	    cmocka_unit_test(test_http_shell_close_drops_later_replies),
	    cmocka_unit_test(test_http_header_too_large_refused_before_storing),
	    cmocka_unit_test(
	        test_http_content_length_over_limit_413_unbuffered),
	    cmocka_unit_test(test_http_chunked_body),
	    cmocka_unit_test(test_http_malformed_requests_get_400_and_close),
	    cmocka_unit_test(test_http_transfer_codings_get_501_and_close),
	    cmocka_unit_test(test_http_other_versions_get_505_and_close),
	    cmocka_unit_test(test_http_random_input_never_crashes),
	    cmocka_unit_test(test_http_full_pipeline_pauses_parsing),
	    cmocka_unit_test(test_http_full_pipeline_without_stash_resumes),
	    cmocka_unit_test(test_http_expect_100_continue),
	    cmocka_unit_test(test_http_expect_100_waits_for_headers),
	    cmocka_unit_test(test_http_in_request_spans_headers_and_body),
	    cmocka_unit_test(test_http_eof_answers_complete_requests),
	    cmocka_unit_test(test_http_reply_write_format_and_checks),
	    cmocka_unit_test(test_http_json_error_bodies),
	    cmocka_unit_test(test_http_header_value_every_place),
	    cmocka_unit_test(test_http_multipart_boundary_not_in_parts),
	    cmocka_unit_test(test_http_routing_table),
	    cmocka_unit_test(test_http_route_name_length_limits),
	    cmocka_unit_test(test_http_path_plain_and_escaped_split_alike),
	    cmocka_unit_test(test_http_query_params_good),
	    cmocka_unit_test(test_http_query_params_bad_and_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
