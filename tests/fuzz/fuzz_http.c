/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 layer (node/http_conn.c,
 * http_route.c, http_reply.c): the bytes a client sends.
 *
 * The input is the byte stream of one connection. It is fed to an
 * http_conn_t in pieces whose sizes come from a PRNG seeded with a hash of
 * the input (deterministic), the way a shell would: only while the
 * connection wants input. Every request is routed (http_route_match,
 * which parses the query; the coordinator checks what the parameters
 * mean), and answered, some out of order, with an error, a
 * small JSON body or a multipart body; the output is taken and the
 * connection ends with EOF.
 *
 * Property: the bytes written out do not depend on how the input was
 * split. The same stream is also fed in one piece to a second connection
 * and its output must be identical, but for "100 Continue" interim
 * responses, which go out only when the body has not arrived yet; when
 * the stream holds an error, both runs must just see one. One input in
 * four uses tight limits (small headers, body and pipeline) so the 413/431
 * paths and the stash are reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "fuzz_util.h"
#include "node/http.h"
#include "node/json.h"

/* requests held before answering, to answer some out of order */
#define HELD_MAX 4

typedef struct drive {
	http_conn_t c;
	sh_buf_t out; /* every byte taken */
	uint64_t held[HELD_MAX];
	int held_len;
	int broken;
	int err_status; /* http_conn_error at the end */
	uint64_t answered;
} drive_t;

static void answer(drive_t *d, const http_req_t *req)
{
	http_match_t m;
	http_params_t p;
	http_reply_t r;
	sh_buf_t body;
	json_w_t w;
	char err[HTTP_ERROR_BYTES];
	int rc;

	sh_buf_init(&body);
	if (req->query.ptr != NULL) {
		rc = http_params_parse(req->query.ptr, req->query.len, &p, err,
		                       sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == SH_EINVAL);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}
	rc = http_route_match(req, &m);
	if (rc != 0) {
		FUZZ_CHECK(m.status >= 400 && m.status <= 499);
		rc = http_conn_reply_error(&d->c, req->seq, m.status, m.error,
		                           m.allow);
		FUZZ_CHECK(rc == 0 || rc == SH_ENOMEM);
		return;
	}
	http_reply_init(&r, 200);
	if (m.route == HTTP_ROUTE_KV && m.method == HTTP_METH_GET) {
		/* siblings: the request's own key and body as parts */
		http_part_t parts[2];
		char ctype[HTTP_MULTIPART_TYPE_BYTES];

		memset(parts, 0, sizeof(parts));
		parts[0].data = m.key;
		parts[0].len = m.key_len;
		parts[1].content_type = "text/plain";
		parts[1].data = req->body;
		parts[1].len = req->body_len;
		rc =
		    http_multipart_write(&body, parts, 2, ctype, sizeof(ctype));
		FUZZ_CHECK(rc == 0);
		http_reply_init(&r, 300);
		r.content_type = ctype;
		r.body = body.data;
		r.body_len = body.len;
		rc = http_conn_reply(&d->c, req->seq, &r);
		FUZZ_CHECK(rc == 0 || rc == SH_ENOMEM);
		sh_buf_free(&body);
		return;
	}
	json_w_init(&w, &body);
	json_w_obj_begin(&w);
	json_w_kv_str(&w, "route", http_route_name(m.route));
	json_w_key(&w, "bucket");
	json_w_str_n(&w, m.bucket, m.bucket_len);
	json_w_key(&w, "key");
	json_w_str_n(&w, m.key, m.key_len);
	json_w_kv_u64(&w, "n", m.params.n);
	json_w_kv_u64(&w, "body", req->body_len);
	json_w_obj_end(&w);
	FUZZ_CHECK(json_w_end(&w) == 0);
	r.content_type = "application/json";
	r.body = body.data;
	r.body_len = body.len;
	/* the context comes back as it went in: a header value the reply
	 * writer must refuse if it holds control characters */
	r.context = req->context.ptr;
	r.context_len = req->context.len;
	rc = http_conn_reply(&d->c, req->seq, &r);
	if (rc == SH_EINVAL) {
		r.context = NULL;
		r.context_len = 0;
		rc = http_conn_reply(&d->c, req->seq, &r);
	}
	FUZZ_CHECK(rc == 0 || rc == SH_ENOMEM);
	sh_buf_free(&body);
}

static void flush_held(drive_t *d)
{
	/* answer the held requests newest first */
	while (d->held_len > 0) {
		uint64_t seq = d->held[--d->held_len];
		int rc = http_conn_reply_error(&d->c, seq, 503, "held", NULL);

		FUZZ_CHECK(rc == 0 || rc == SH_ENOMEM);
	}
}

static void pump(drive_t *d)
{
	const http_req_t *req;
	int rc;

	for (;;) {
		req = http_conn_next(&d->c);
		if (req != NULL) {
			/* not checked: http_major, which http-parser lets be
			 * 0 (a request line without a version, as HTTP/0.9)
			 * or up to 9 ("HTTP/9.1"), though http.h says 1 */
			FUZZ_CHECK(req->seg_count <= HTTP_SEGS_MAX);
			if (req->body_len != 0)
				FUZZ_CHECK(req->body != NULL);
			d->answered++;
			/* every third request waits, answered later (which
			 * ones must not depend on how the input was split) */
			if (d->answered % 3 == 0) {
				if (d->held_len == HELD_MAX)
					flush_held(d);
				d->held[d->held_len++] = req->seq;
			} else {
				answer(d, req);
			}
			continue;
		}
		rc = http_conn_take_output(&d->c, &d->out);
		FUZZ_CHECK(rc >= 0 || rc == SH_ENOMEM);
		if (rc > 0)
			continue;
		if (d->held_len == 0)
			break;
		flush_held(d);
	}
}

static void run(drive_t *d, const http_conn_cfg_t *cfg, const uint8_t *data,
                size_t size, sh_rand_t *rng)
{
	size_t off = 0, n;
	int rc;

	memset(d, 0, sizeof(*d));
	FUZZ_CHECK(http_conn_init(&d->c, cfg) == 0);
	while (off < size && !d->broken) {
		if (!http_conn_wants_input(&d->c))
			break; /* closed, or the pipeline stays full */
		n = size - off;
		if (rng != NULL && n > 1)
			n = 1 + (size_t)sh_rand_below(rng, n < 64 ? n : 64);
		rc = http_conn_feed(&d->c, data + off, n);
		off += n;
		if (rc != 0) {
			FUZZ_CHECK(rc == SH_ENOMEM || rc == SH_ETOOBIG);
			d->broken = 1;
			break;
		}
		pump(d);
	}
	if (!d->broken) {
		http_conn_eof(&d->c);
		pump(d);
		FUZZ_CHECK(http_conn_should_close(&d->c));
		FUZZ_CHECK(http_conn_pending(&d->c) == 0);
	}
	(void)http_conn_mem_bytes(&d->c);
	d->err_status = http_conn_error(&d->c, NULL);
	http_conn_free(&d->c);
}

/* out without its "100 Continue" interim responses */
static void strip_continue(sh_buf_t *out)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const size_t clen = sizeof(cont) - 1;
	size_t i = 0, j = 0;

	while (i < out->len) {
		if (out->len - i >= clen &&
		    memcmp(out->data + i, cont, clen) == 0) {
			i += clen;
			continue;
		}
		out->data[j++] = out->data[i++];
	}
	out->len = j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static drive_t split, whole;
	http_conn_cfg_t cfg;
	sh_rand_t rng;
	uint64_t h = fuzz_hash(data, size);

	http_conn_cfg_default(&cfg);
	if ((h & 3) == 0) {
		cfg.header_bytes_max = 256;
		cfg.body_bytes_max = 512;
		cfg.pipeline_max = 2;
		cfg.stash_bytes_max = 1024;
	}
	sh_rand_seed(&rng, h);
	run(&split, &cfg, data, size, &rng);
	run(&whole, &cfg, data, size, NULL);
	/* which of two errors in one request is noticed first (a bad byte
	 * or the header limit, a duplicate header or a bad one, and so the
	 * status and message) may depend on where the input was split: both
	 * runs must see an error or neither, and the bytes are compared only
	 * when neither did */
	FUZZ_CHECK(split.broken || whole.broken ||
	           (split.err_status == 0) == (whole.err_status == 0));
	if (!split.broken && !whole.broken && split.err_status == 0) {
		strip_continue(&split.out);
		strip_continue(&whole.out);
		if (getenv("FUZZ_DEBUG") != NULL)
			fprintf(
			    stderr, "split:\n%.*s\nwhole:\n%.*s\n",
			    (int)split.out.len, (const char *)split.out.data,
			    (int)whole.out.len, (const char *)whole.out.data);
		FUZZ_CHECK(split.out.len == whole.out.len);
		FUZZ_CHECK(
		    split.out.len == 0 ||
		    memcmp(split.out.data, whole.out.data, split.out.len) == 0);
	}
	sh_buf_free(&split.out);
	sh_buf_free(&whole.out);
	return 0;
}
