/*
 * bench_run.c - the libuv side of shoal-bench: one loop, many TCP
 * connections spread over the target's addresses, keep-alive and up to
 * `pipeline` requests in flight on each.
 *
 * Closed loop (--rate 0): every connection sends its next request as soon
 * as a reply frees a slot. Open loop (--rate R): a 1 ms timer releases
 * operations on a fixed schedule, op i at start + i/R; an operation that
 * finds no free slot waits with its intended time, so latency is measured
 * from when it should have been sent and a stall shows in the tail
 * instead of silently lowering the offered load (no coordinated omission).
 *
 * All per-run state lives in one bench_loop_t, so several loops on
 * several threads can later be merged (their histograms merge).
 */
#include "bench/bench_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "bench/bench_hist.h"
#include "common/sh_buf.h"

#define SIBS_MAX      16
#define READ_CHUNK    65536
#define RETRY_MS      200
#define PRELOAD_MAX_S 120 /* a run stays bounded even if preload crawls */

enum { ERR_TIMEOUT, ERR_503, ERR_4XX, ERR_5XX, ERR_CONN, ERR_KINDS };
static const char *const err_names[] = {"timeout", "503", "4xx", "5xx",
                                        "connection"};

typedef struct pending {
	uint64_t intended_ns, sent_ns;
	bench_op_t op;
	int phase;
} pending_t;

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_UP, CONN_CLOSING } cstate_t;

struct bench_loop;

typedef struct conn {
	struct bench_loop *L;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	cstate_t state;
	int writing;
	unsigned addr;
	uint64_t retry_ns;
	sh_buf_t out, wbuf, in;
	pending_t q[BENCH_PIPELINE_MAX];
	unsigned head, count;
} conn_t;

typedef enum { PH_PRELOAD, PH_RUN, PH_DONE } phase_t;

typedef struct bench_loop {
	const bench_cfg_t *cfg;
	uv_loop_t loop;
	uv_timer_t tick, progress;
	conn_t *conns;
	unsigned rr;
	bench_workload_t wl;
	bench_enc_t enc;
	sh_rand_t rng;
	phase_t phase;
	uint64_t preload_next, preload_done, preload_errors, preload_ns;
	uint64_t start_ns, measure_ns, end_ns, next_intended_ns, period_ns;
	sh_buf_t *ctx; /* [keys]: last context seen per kv key, for writes */
	bench_hist_t *hist;     /* [BENCH_OP_KINDS] */
	bench_hist_t *interval; /* this progress period, all kinds */
	uint64_t ok, ok_last, errors[ERR_KINDS], sibs[SIBS_MAX + 1];
	int tty;
} bench_loop_t;

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

static void conn_fail(conn_t *c, int lost);
static void conn_issue(conn_t *c);
static const bench_reply_t *cached_ctx(bench_loop_t *L, const bench_op_t *op,
                                       bench_reply_t *tmp);

static void flush(conn_t *c);

static void on_write(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	c->writing = 0;
	c->wbuf.len = 0;
	if (status < 0) {
		conn_fail(c, 1);
		return;
	}
	flush(c);
}

/* One write at a time per connection; what is queued meanwhile goes out
 * together in the next. */
static void flush(conn_t *c)
{
	if (c->writing || c->out.len == 0 || c->state != CONN_UP)
		return;
	sh_buf_t t = c->wbuf;
	c->wbuf = c->out;
	c->out = t;
	c->out.len = 0;
	uv_buf_t b = uv_buf_init((char *)c->wbuf.data, (unsigned)c->wbuf.len);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		conn_fail(c, 1);
		return;
	}
	c->writing = 1;
}

/* Queue op on c (a free slot must exist). */
static void send_op(conn_t *c, const bench_op_t *op, int phase,
                    uint64_t intended_ns, const bench_reply_t *prev)
{
	bench_loop_t *L = c->L;
	pending_t *p = &c->q[(c->head + c->count) % BENCH_PIPELINE_MAX];
	p->op = *op;
	p->phase = phase;
	p->intended_ns = intended_ns;
	p->sent_ns = now_ns();
	if (L->cfg->driver->encode(&L->enc, op, phase, prev, &c->out) < 0) {
		fprintf(stderr, "shoal-bench: out of memory\n");
		exit(1);
	}
	c->count++;
	flush(c);
}

static int next_op(bench_loop_t *L, bench_op_t *op)
{
	if (L->phase == PH_PRELOAD) {
		if (L->preload_next >= L->cfg->keys)
			return 0;
		bench_workload_preload(&L->wl, &L->rng, L->preload_next++, op);
		return 1;
	}
	if (L->phase != PH_RUN)
		return 0;
	bench_workload_next(&L->wl, &L->rng, op);
	return 1;
}

static int closed_loop(const bench_loop_t *L)
{
	return L->cfg->rate <= 0 || L->phase == PH_PRELOAD;
}

/* Closed loop: fill c's free slots. */
static void conn_issue(conn_t *c)
{
	bench_loop_t *L = c->L;
	bench_op_t op;
	if (c->state != CONN_UP || !closed_loop(L))
		return;
	bench_reply_t tmp;
	while (c->count < L->cfg->pipeline && next_op(L, &op))
		send_op(c, &op, 0, now_ns(), cached_ctx(L, &op, &tmp));
}

/* Open loop: release every operation whose time has come, while some
 * connection has a free slot. */
static void open_issue(bench_loop_t *L)
{
	uint64_t now = now_ns();
	unsigned n = L->cfg->connections;
	for (unsigned guard = 0; guard < 100000; guard++) {
		if (L->phase != PH_RUN || L->next_intended_ns > now ||
		    L->next_intended_ns >= L->end_ns)
			return;
		conn_t *c = NULL;
		for (unsigned i = 0; i < n && !c; i++) {
			conn_t *t = &L->conns[(L->rr + i) % n];
			if (t->state == CONN_UP && t->count < L->cfg->pipeline)
				c = t;
		}
		if (!c)
			return; /* backlog: keeps its intended times */
		L->rr = (unsigned)((c - L->conns) + 1) % n;
		bench_op_t op;
		bench_reply_t tmp;
		next_op(L, &op);
		send_op(c, &op, 0, L->next_intended_ns,
		        cached_ctx(L, &op, &tmp));
		L->next_intended_ns += L->period_ns;
	}
}

static void count_error(bench_loop_t *L, int kind, uint64_t n)
{
	if (L->phase == PH_PRELOAD)
		L->preload_errors += n;
	else if (L->phase == PH_RUN && now_ns() >= L->measure_ns)
		L->errors[kind] += n;
}

static int is_kv(const bench_op_t *op)
{
	return op->kind <= BENCH_OP_RMW;
}

/* Writes carry the last context seen for their key, as a real client
 * does: blind writes would pile up siblings until the node refuses them. */
static const bench_reply_t *cached_ctx(bench_loop_t *L, const bench_op_t *op,
                                       bench_reply_t *tmp)
{
	if (!is_kv(op) || op->kind == BENCH_OP_READ || op->key >= L->cfg->keys)
		return NULL;
	sh_buf_t *b = &L->ctx[op->key];
	if (b->len == 0)
		return NULL;
	memset(tmp, 0, sizeof(*tmp));
	tmp->ctx = b->data;
	tmp->ctx_len = b->len;
	return tmp;
}

static void remember_ctx(bench_loop_t *L, const bench_op_t *op,
                         const bench_reply_t *r)
{
	if (!is_kv(op) || op->key >= L->cfg->keys || r->ctx_len == 0 ||
	    r->ctx_len > BENCH_CTX_MAX)
		return;
	sh_buf_t *b = &L->ctx[op->key];
	b->len = 0;
	if (sh_buf_append(b, r->ctx, r->ctx_len) < 0)
		b->len = 0;
}

static void start_run(bench_loop_t *L)
{
	const bench_cfg_t *cfg = L->cfg;
	L->phase = PH_RUN;
	L->start_ns = now_ns();
	L->measure_ns = L->start_ns + (uint64_t)(cfg->warmup_s * 1e9);
	L->end_ns = L->measure_ns + (uint64_t)(cfg->duration_s * 1e9);
	L->next_intended_ns = L->start_ns;
	L->period_ns = cfg->rate > 0 ? (uint64_t)(1e9 / cfg->rate) : 0;
	if (L->period_ns == 0 && cfg->rate > 0)
		L->period_ns = 1;
	if (cfg->preload)
		fprintf(stderr, "preloaded %llu keys (%llu errors)\n",
		        (unsigned long long)L->preload_done,
		        (unsigned long long)L->preload_errors);
	for (unsigned i = 0; i < cfg->connections; i++)
		conn_issue(&L->conns[i]);
}

static int reply_error(const pending_t *p, const bench_reply_t *r)
{
	if (r->status == 503)
		return ERR_503;
	if (r->status >= 500)
		return ERR_5XX;
	if (r->status == 404 &&
	    (p->op.kind == BENCH_OP_READ || p->op.kind == BENCH_OP_CART_READ ||
	     (p->op.kind == BENCH_OP_RMW && p->phase == 0)))
		return -1;
	if (r->status >= 400)
		return ERR_4XX;
	return -1;
}

static void record(bench_loop_t *L, const pending_t *p, const bench_reply_t *r)
{
	uint64_t now = now_ns();
	if (L->phase == PH_PRELOAD) {
		L->preload_done++;
		return;
	}
	if (L->phase != PH_RUN || now < L->measure_ns)
		return;
	uint64_t lat = now > p->intended_ns ? now - p->intended_ns : 0;
	bench_hist_record(&L->hist[p->op.kind], lat);
	bench_hist_record(L->interval, lat);
	L->ok++;
	if (p->op.kind == BENCH_OP_READ)
		L->sibs[r->siblings < SIBS_MAX ? r->siblings : SIBS_MAX]++;
}

/* The reply to c's oldest request. */
static void complete(conn_t *c, const bench_reply_t *r)
{
	bench_loop_t *L = c->L;
	pending_t p = c->q[c->head];
	c->head = (c->head + 1) % BENCH_PIPELINE_MAX;
	c->count--;
	int err = reply_error(&p, r);
	if (err < 0)
		remember_ctx(L, &p.op, r);
	if (err >= 0) {
		count_error(L, err, 1);
	} else if (p.op.kind == BENCH_OP_RMW && p.phase == 0) {
		bench_reply_t prev = *r;
		if (prev.ctx_len > BENCH_CTX_MAX)
			prev.ctx_len = 0;
		send_op(c, &p.op, 1, p.intended_ns, &prev);
		if (L->phase == PH_RUN && now_ns() >= L->measure_ns)
			L->sibs[r->siblings < SIBS_MAX ? r->siblings
			                               : SIBS_MAX]++;
		return;
	} else {
		record(L, &p, r);
	}
	if (L->phase == PH_PRELOAD && err >= 0)
		L->preload_done++;
	if (L->phase == PH_PRELOAD && L->preload_done >= L->cfg->keys)
		start_run(L);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	conn_t *c = h->data;
	if (sh_buf_reserve(&c->in, READ_CHUNK) < 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)c->in.data + c->in.len, READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	conn_t *c = s->data;
	if (nread < 0) {
		conn_fail(c, (int)c->count);
		return;
	}
	c->in.len += (size_t)nread;
	size_t off = 0;
	while (off < c->in.len && c->state == CONN_UP) {
		bench_reply_t r;
		long n = c->L->cfg->driver->parse(c->in.data + off,
		                                  c->in.len - off, &r);
		if (n == 0)
			break;
		if (n < 0 || c->count == 0) {
			conn_fail(c, (int)c->count);
			return;
		}
		off += (size_t)n;
		complete(c, &r);
	}
	if (c->state != CONN_UP)
		return;
	memmove(c->in.data, c->in.data + off, c->in.len - off);
	c->in.len -= off;
	if (closed_loop(c->L))
		conn_issue(c);
	else
		open_issue(c->L);
}

static void on_close(uv_handle_t *h)
{
	conn_t *c = h->data;
	c->state = CONN_DOWN;
	c->writing = 0;
	c->retry_ns = now_ns() + (uint64_t)RETRY_MS * 1000000;
}

/* Drop the connection: its requests in flight are lost (counted as
 * connection errors, at least one per failure; lost < 0: already counted
 * as timeouts); it reconnects later. */
static void conn_fail(conn_t *c, int lost)
{
	if (c->state == CONN_CLOSING || c->state == CONN_DOWN)
		return;
	if (lost >= 0)
		count_error(c->L, ERR_CONN, lost > 0 ? (uint64_t)lost : 1);
	if (c->L->phase == PH_PRELOAD)
		c->L->preload_done += c->count;
	c->count = 0;
	c->head = 0;
	c->out.len = 0;
	c->in.len = 0;
	c->state = CONN_CLOSING;
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_connect(uv_connect_t *req, int status)
{
	conn_t *c = req->data;
	if (c->state != CONN_CONNECTING)
		return;
	if (status < 0) {
		conn_fail(c, 1);
		return;
	}
	c->state = CONN_UP;
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_fail(c, 1);
		return;
	}
	conn_issue(c);
}

static void conn_connect(conn_t *c)
{
	bench_loop_t *L = c->L;
	uv_tcp_init(&L->loop, &c->tcp);
	c->tcp.data = c;
	c->creq.data = c;
	c->state = CONN_CONNECTING;
	const struct sockaddr *a =
	    (const struct sockaddr *)&L->cfg->addrs[c->addr];
	if (uv_tcp_connect(&c->creq, &c->tcp, a, on_connect) < 0)
		conn_fail(c, 1);
}

static void stop_all(bench_loop_t *L)
{
	L->phase = PH_DONE;
	uv_timer_stop(&L->tick);
	uv_timer_stop(&L->progress);
	uv_close((uv_handle_t *)&L->tick, NULL);
	uv_close((uv_handle_t *)&L->progress, NULL);
	for (unsigned i = 0; i < L->cfg->connections; i++) {
		conn_t *c = &L->conns[i];
		if (c->state == CONN_UP || c->state == CONN_CONNECTING) {
			c->state = CONN_CLOSING;
			uv_close((uv_handle_t *)&c->tcp, NULL);
		}
	}
}

/* Every millisecond: timeouts, reconnects, the open-loop schedule, the
 * end of the run. */
static void on_tick(uv_timer_t *t)
{
	bench_loop_t *L = t->data;
	uint64_t now = now_ns();
	if (L->phase == PH_RUN && now >= L->end_ns) {
		stop_all(L);
		return;
	}
	uint64_t tmo = (uint64_t)L->cfg->timeout_ms * 1000000;
	for (unsigned i = 0; i < L->cfg->connections; i++) {
		conn_t *c = &L->conns[i];
		if (c->state == CONN_UP && c->count &&
		    now - c->q[c->head].sent_ns > tmo) {
			count_error(L, ERR_TIMEOUT, c->count);
			conn_fail(c, -1);
		} else if (c->state == CONN_DOWN && now >= c->retry_ns) {
			conn_connect(c);
		}
	}
	if (L->phase == PH_PRELOAD &&
	    (L->preload_done >= L->cfg->keys ||
	     now - L->preload_ns > (uint64_t)PRELOAD_MAX_S * 1000000000)) {
		if (L->preload_done < L->cfg->keys)
			fprintf(stderr, "preload: stopped after %d s\n",
			        PRELOAD_MAX_S);
		start_run(L);
	}
	if (!closed_loop(L))
		open_issue(L);
}

static uint64_t err_total(const bench_loop_t *L)
{
	uint64_t e = 0;
	for (int i = 0; i < ERR_KINDS; i++)
		e += L->errors[i];
	return e;
}

/* Once a second: ops/s, p99, errors and time left; one rewritten line on
 * a terminal, plain lines otherwise. */
static void on_progress(uv_timer_t *t)
{
	bench_loop_t *L = t->data;
	uint64_t now = now_ns();
	if (L->phase == PH_PRELOAD) {
		fprintf(stderr,
		        L->tty ? "\rpreload %llu/%llu" : "preload %llu/%llu\n",
		        (unsigned long long)L->preload_done,
		        (unsigned long long)L->cfg->keys);
		return;
	}
	if (L->phase != PH_RUN)
		return;
	double left = now < L->end_ns ? (double)(L->end_ns - now) / 1e9 : 0;
	fprintf(stderr, "%s%s ops/s=%llu p99_ms=%.3f errors=%llu left_s=%.0f%s",
	        L->tty ? "\r" : "", now < L->measure_ns ? "warmup" : "run",
	        (unsigned long long)(L->ok - L->ok_last),
	        (double)bench_hist_percentile(L->interval, 0.99) / 1e6,
	        (unsigned long long)err_total(L), left, L->tty ? "   " : "\n");
	L->ok_last = L->ok;
	bench_hist_init(L->interval);
}

static void print_row(const char *name, const bench_hist_t *h, double secs)
{
	static const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999, 1.0};
	printf("%-12s %10llu %10.0f", name, (unsigned long long)h->count,
	       (double)h->count / secs);
	for (int i = 0; i < 6; i++)
		printf(" %9.3f", (double)bench_hist_percentile(h, qs[i]) / 1e6);
	printf("\n");
}

static uint64_t summary(bench_loop_t *L)
{
	const bench_cfg_t *cfg = L->cfg;
	static bench_hist_t all;
	double secs = cfg->duration_s > 0 ? cfg->duration_s : 1;
	bench_hist_init(&all);
	if (L->tty)
		fprintf(stderr, "\n");
	printf("%-12s %10s %10s %9s %9s %9s %9s %9s %9s\n", "op", "count",
	       "ops/s", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "p99.99_ms",
	       "max_ms");
	for (int k = 0; k < BENCH_OP_KINDS; k++) {
		if (L->hist[k].count == 0)
			continue;
		print_row(bench_op_name((bench_op_kind_t)k), &L->hist[k], secs);
		bench_hist_merge(&all, &L->hist[k]);
	}
	print_row("all", &all, secs);
	printf("errors:");
	for (int i = 0; i < ERR_KINDS; i++)
		printf(" %s=%llu", err_names[i],
		       (unsigned long long)L->errors[i]);
	printf("\nsiblings per read:");
	for (int i = 0; i <= SIBS_MAX; i++)
		if (L->sibs[i])
			printf(" %d%s=%llu", i, i == SIBS_MAX ? "+" : "",
			       (unsigned long long)L->sibs[i]);
	printf("\nbench target=%s workload=%s ops=%llu ops_per_s=%.0f "
	       "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%llu\n",
	       cfg->target, bench_workload_name(cfg->workload),
	       (unsigned long long)all.count, (double)all.count / secs,
	       (double)bench_hist_percentile(&all, 0.5) / 1e6,
	       (double)bench_hist_percentile(&all, 0.99) / 1e6,
	       (double)bench_hist_percentile(&all, 0.999) / 1e6,
	       (unsigned long long)err_total(L));
	fflush(stdout);
	return all.count;
}

static int loop_init(bench_loop_t *L, const bench_cfg_t *cfg)
{
	memset(L, 0, sizeof(*L));
	L->cfg = cfg;
	L->tty = isatty(2);
	L->conns = calloc(cfg->connections, sizeof(conn_t));
	L->hist = calloc(BENCH_OP_KINDS + 1, sizeof(bench_hist_t));
	L->ctx = calloc(cfg->keys, sizeof(sh_buf_t));
	if (!L->conns || !L->hist || !L->ctx || uv_loop_init(&L->loop) < 0)
		return -1;
	L->interval = &L->hist[BENCH_OP_KINDS];
	for (int k = 0; k <= BENCH_OP_KINDS; k++)
		bench_hist_init(&L->hist[k]);
	sh_rand_seed(&L->rng, cfg->seed);
	bench_workload_init(&L->wl, cfg->workload, cfg->dist, cfg->keys,
	                    cfg->value_min, cfg->value_max);
	uint8_t *v = malloc(cfg->value_max ? cfg->value_max : 1);
	if (!v)
		return -1;
	for (uint32_t i = 0; i < cfg->value_max; i++)
		v[i] = (uint8_t)('a' + i % 26);
	L->enc.value = v;
	L->enc.value_max = cfg->value_max;
	char *q = L->enc.query;
	size_t qn = sizeof(L->enc.query);
	const char *sep = "?";
	const int qv[3] = {cfg->n, cfg->r, cfg->w};
	const char *qk[3] = {"n", "r", "w"};
	for (int i = 0; i < 3; i++) {
		if (qv[i] <= 0)
			continue;
		size_t l = strlen(q);
		snprintf(q + l, qn - l, "%s%s=%d", sep, qk[i], qv[i]);
		sep = "&";
	}
	return 0;
}

static void loop_free(bench_loop_t *L)
{
	for (unsigned i = 0; L->conns && i < L->cfg->connections; i++) {
		sh_buf_free(&L->conns[i].out);
		sh_buf_free(&L->conns[i].wbuf);
		sh_buf_free(&L->conns[i].in);
	}
	for (uint64_t k = 0; L->ctx && k < L->cfg->keys; k++)
		sh_buf_free(&L->ctx[k]);
	free(L->ctx);
	free(L->conns);
	free(L->hist);
	free((void *)L->enc.value);
}

int bench_run(const bench_cfg_t *cfg)
{
	static bench_loop_t L;
	if (loop_init(&L, cfg) < 0) {
		fprintf(stderr, "shoal-bench: out of memory\n");
		loop_free(&L);
		return 1;
	}
	for (unsigned i = 0; i < cfg->connections; i++) {
		L.conns[i].L = &L;
		L.conns[i].addr = i % cfg->addr_count;
		conn_connect(&L.conns[i]);
	}
	L.preload_ns = now_ns();
	if (cfg->preload)
		L.phase = PH_PRELOAD;
	else
		start_run(&L);
	uv_timer_init(&L.loop, &L.tick);
	uv_timer_init(&L.loop, &L.progress);
	L.tick.data = L.progress.data = &L;
	uv_timer_start(&L.tick, on_tick, 1, 1);
	uv_timer_start(&L.progress, on_progress, 1000, 1000);
	int rc = uv_run(&L.loop, UV_RUN_DEFAULT);
	uint64_t ops = summary(&L);
	uv_loop_close(&L.loop);
	loop_free(&L);
	return rc == 0 && ops > 0 ? 0 : 1;
}
