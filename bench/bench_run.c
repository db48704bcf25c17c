/*
 * bench_run.c - one libuv loop of shoal-bench (one per --threads): its
 * share of the TCP connections, spread over the target's addresses,
 * keep-alive and up to `pipeline` requests in flight on each.
 *
 * Closed loop (--rate 0): every connection sends its next request as soon
 * as a reply frees a slot. Open loop (--rate R): a 1 ms timer releases
 * loop j's operations on a fixed schedule, op i at start + (j + i*T)/R; an
 * operation that finds no free slot waits with its intended time, so
 * latency is measured from when it should have been sent and a stall
 * shows in the tail instead of silently lowering the offered load (no
 * coordinated omission). A periodic timerfd wakes the loop at each send
 * time, so an operation leaves within microseconds of its time rather
 * than at the next 1 ms tick (which would add up to a millisecond to
 * every latency).
 *
 * Each loop draws its operations from its own PRNG (bench_thread_seed),
 * preloads every T-th key, and maps the keys it inserts (workloads D and
 * session) to its own residue class, so threads never insert the same key.
 * All loops start the run phase together, once every one has preloaded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench/bench_run_int.h"

#define READ_CHUNK       65536
#define RETRY_MS         200
#define PRELOAD_MAX_S    120   /* a run stays bounded even if preload crawls */
#define OPEN_WAKE_MIN_NS 20000 /* open loop: at most 50,000 wakes a second */

typedef enum { PH_PRELOAD, PH_WAIT, PH_RUN, PH_DONE } phase_t;

typedef struct pending {
	uint64_t intended_ns, sent_ns;
	bench_op_t op;
	int phase;
} pending_t;

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_UP, CONN_CLOSING } cstate_t;

typedef struct bench__conn {
	bench_loop_t *L;
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

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

uint64_t bench_thread_seed(uint64_t seed, unsigned index)
{
	uint64_t s = seed ^ ((uint64_t)index << 32);
	return index == 0 ? seed : sh_splitmix64(&s);
}

static void conn_fail(conn_t *c, int counted);
static void conn_issue(conn_t *c);
static void flush(conn_t *c);

static void on_write(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	c->writing = 0;
	c->wbuf.len = 0;
	if (status < 0) {
		conn_fail(c, 0);
		return;
	}
	flush(c);
}

/* What is queued goes out now by uv_try_write when no write is in flight
 * (a uv_write that completes re-arms the socket's poll, an epoll_ctl per
 * request that would make the harness itself the bottleneck of an open
 * loop); only what the socket does not take waits in one uv_write, and
 * what is queued meanwhile goes out together after it. */
static void flush(conn_t *c)
{
	if (c->writing || c->out.len == 0 || c->state != CONN_UP)
		return;
	uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		conn_fail(c, 0);
		return;
	}
	size_t sent = n > 0 ? (size_t)n : 0;
	if (sent == c->out.len) {
		c->out.len = 0;
		return;
	}
	sh_buf_t t = c->wbuf;
	c->wbuf = c->out;
	c->out = t;
	c->out.len = 0;
	b = uv_buf_init((char *)c->wbuf.data + sent,
	                (unsigned)(c->wbuf.len - sent));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		conn_fail(c, 0);
		return;
	}
	c->writing = 1;
}

/* Writes carry the last context seen for their key, as a real client
 * does: blind writes would pile up siblings until the node refuses them.
 * The table is shared by the loops; the context is copied out under its
 * stripe's lock. */
static const bench_reply_t *cached_ctx(bench_loop_t *L, const bench_op_t *op,
                                       bench_reply_t *tmp)
{
	if (op->kind > BENCH_OP_RMW || op->kind == BENCH_OP_READ ||
	    op->key >= L->cfg->keys)
		return NULL;
	uv_mutex_t *m = &L->sh->ctx_lock[op->key % BENCH_CTX_STRIPES];
	const sh_buf_t *b = &L->sh->ctx[op->key];
	memset(tmp, 0, sizeof(*tmp));
	uv_mutex_lock(m);
	if (b->len && b->len <= sizeof(L->ctx_tmp)) {
		memcpy(L->ctx_tmp, b->data, b->len);
		tmp->ctx = L->ctx_tmp;
		tmp->ctx_len = b->len;
	}
	uv_mutex_unlock(m);
	return tmp->ctx_len ? tmp : NULL;
}

static void remember_ctx(bench_loop_t *L, const bench_op_t *op,
                         const bench_reply_t *r)
{
	if (op->kind > BENCH_OP_RMW || op->key >= L->cfg->keys ||
	    r->ctx_len == 0 || r->ctx_len > BENCH_CTX_MAX)
		return;
	uv_mutex_t *m = &L->sh->ctx_lock[op->key % BENCH_CTX_STRIPES];
	sh_buf_t *b = &L->sh->ctx[op->key];
	uv_mutex_lock(m);
	b->len = 0;
	if (sh_buf_append(b, r->ctx, r->ctx_len) < 0)
		b->len = 0;
	uv_mutex_unlock(m);
}

static int closed_loop(const bench_loop_t *L)
{
	return L->rate <= 0 || L->phase == PH_PRELOAD;
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
	if (phase == 0 && !closed_loop(L) && L->phase == PH_RUN &&
	    intended_ns >= L->measure_ns) {
		uint64_t lag =
		    p->sent_ns > intended_ns ? p->sent_ns - intended_ns : 0;
		bench_hist_record(&L->total->send_lag, lag);
	}
	if (L->cfg->driver->encode(&L->sh->enc, op, phase, prev, &c->out) < 0) {
		fprintf(stderr, "shoal-bench: out of memory\n");
		exit(1);
	}
	c->count++;
	flush(c);
}

static int next_op(bench_loop_t *L, bench_op_t *op)
{
	uint64_t keys = L->cfg->keys, t = L->cfg->threads;
	if (L->phase == PH_PRELOAD) {
		if (L->preload_next >= keys)
			return 0;
		bench_workload_preload(&L->wl, &L->rng, L->preload_next, op);
		L->preload_next += t;
		return 1;
	}
	if (L->phase != PH_RUN)
		return 0;
	bench_workload_next(&L->wl, &L->rng, op);
	if (op->key >= keys) /* inserted: this loop's residue class */
		op->key = keys + (op->key - keys) * t + L->index;
	return 1;
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

/* Wake the loop when each operation is due: one periodic timerfd for the
 * whole run (a timerfd takes an absolute CLOCK_MONOTONIC time, the clock
 * uv_hrtime reads), so no per-operation syscall re-arms it. Above
 * 1e9/OPEN_WAKE_MIN_NS ops/s a wake releases every operation that has
 * come due since the last, each still measured from its own time. */
static void arm_schedule(bench_loop_t *L)
{
	if (L->tfd < 0 || L->rate <= 0)
		return;
	uint64_t first = L->next_intended_ns, every = L->period_ns;
	if (every < OPEN_WAKE_MIN_NS)
		every = OPEN_WAKE_MIN_NS;
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(first / 1000000000);
	its.it_value.tv_nsec = (long)(first % 1000000000);
	its.it_interval.tv_sec = (time_t)(every / 1000000000);
	its.it_interval.tv_nsec = (long)(every % 1000000000);
	timerfd_settime(L->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Open loop: release every operation whose time has come, while some
 * connection has a free slot (with none free, a reply calls again). */
static void open_issue(bench_loop_t *L)
{
	uint64_t now = now_ns();
	unsigned n = L->conn_count;
	for (unsigned guard = 0; guard < 100000; guard++) {
		if (L->phase != PH_RUN || L->next_intended_ns >= L->end_ns)
			return;
		if (L->next_intended_ns > now)
			return; /* the timerfd wakes us then */
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

/* n errors of kind err on operations of kind op; during the run they go
 * to this second's counts, and to the totals once warmup is over. */
static void count_error(bench_loop_t *L, bench_err_kind_t err, unsigned op,
                        uint64_t n)
{
	if (L->phase == PH_PRELOAD) {
		atomic_fetch_add(&L->preload_errors, n);
		return;
	}
	if (L->phase != PH_RUN)
		return;
	uv_mutex_lock(&L->lock);
	bench_stats_error(L->interval, err, op, n);
	uv_mutex_unlock(&L->lock);
	if (now_ns() >= L->measure_ns)
		bench_stats_error(L->total, err, op, n);
}

static void count_sibs(bench_loop_t *L, unsigned siblings)
{
	uv_mutex_lock(&L->lock);
	bench_stats_sibs(L->interval, siblings);
	uv_mutex_unlock(&L->lock);
	if (now_ns() >= L->measure_ns)
		bench_stats_sibs(L->total, siblings);
}

static void start_run(bench_loop_t *L)
{
	const bench_cfg_t *cfg = L->cfg;
	uint_fast64_t zero = 0;
	atomic_compare_exchange_strong(&L->sh->run_start_ns, &zero, now_ns());
	L->phase = PH_RUN;
	L->start_ns = atomic_load(&L->sh->run_start_ns);
	L->measure_ns = L->start_ns + (uint64_t)(cfg->warmup_s * 1e9);
	L->end_ns = L->measure_ns + (uint64_t)(cfg->duration_s * 1e9);
	L->period_ns = L->rate > 0 ? (uint64_t)(1e9 / L->rate) : 0;
	if (L->period_ns == 0 && L->rate > 0)
		L->period_ns = 1;
	/* loop i of T starts i/R late, so the loops' schedules interleave
	 * into one of R ops/s instead of releasing T at once */
	L->next_intended_ns =
	    L->start_ns +
	    (cfg->rate > 0 ? (uint64_t)(L->index * 1e9 / cfg->rate) : 0);
	for (unsigned i = 0; i < L->conn_count; i++)
		conn_issue(&L->conns[i]);
	arm_schedule(L);
}

/* This loop's preload is over (done, or out of time): wait for the
 * others, then all start the run together. */
static void preload_check(bench_loop_t *L, uint64_t now)
{
	uint64_t done = atomic_load(&L->preload_done);
	if (L->phase == PH_PRELOAD &&
	    (done >= L->preload_share ||
	     now - L->preload_ns > (uint64_t)PRELOAD_MAX_S * 1000000000)) {
		if (done < L->preload_share && L->index == 0)
			fprintf(stderr, "preload: stopped after %d s\n",
			        PRELOAD_MAX_S);
		L->phase = PH_WAIT;
		atomic_fetch_sub(&L->sh->preload_left, 1);
	}
	if (L->phase == PH_WAIT && atomic_load(&L->sh->preload_left) == 0)
		start_run(L);
}

static int reply_error(const pending_t *p, const bench_reply_t *r)
{
	if (r->status == 503)
		return BENCH_ERR_503;
	if (r->status >= 500)
		return BENCH_ERR_5XX;
	if (r->status == 404 &&
	    (p->op.kind == BENCH_OP_READ || p->op.kind == BENCH_OP_CART_READ ||
	     (p->op.kind == BENCH_OP_RMW && p->phase == 0)))
		return -1;
	if (r->status >= 400)
		return BENCH_ERR_4XX;
	return -1;
}

/* A successful operation: this second's counts, and the totals if it was
 * due (open loop) or sent (closed loop) after the warmup, so an open
 * loop's total is exactly what it offered in the measured window, less
 * what was still in flight at the end. */
static void record(bench_loop_t *L, const pending_t *p, const bench_reply_t *r)
{
	uint64_t now = now_ns();
	if (L->phase != PH_RUN)
		return;
	uint64_t lat = now > p->intended_ns ? now - p->intended_ns : 0;
	uv_mutex_lock(&L->lock);
	bench_hist_record(&L->interval->hist[p->op.kind], lat);
	uv_mutex_unlock(&L->lock);
	if (p->intended_ns >= L->measure_ns)
		bench_hist_record(&L->total->hist[p->op.kind], lat);
	if (p->op.kind == BENCH_OP_READ)
		count_sibs(L, r->siblings);
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
	if (L->phase == PH_PRELOAD) {
		if (err >= 0)
			count_error(L, (bench_err_kind_t)err, p.op.kind, 1);
		atomic_fetch_add(&L->preload_done, 1);
		preload_check(L, now_ns());
	} else if (err >= 0) {
		count_error(L, (bench_err_kind_t)err, p.op.kind, 1);
	} else if (p.op.kind == BENCH_OP_RMW && p.phase == 0) {
		bench_reply_t prev = *r;
		if (prev.ctx_len > BENCH_CTX_MAX)
			prev.ctx_len = 0;
		send_op(c, &p.op, 1, p.intended_ns, &prev);
		if (L->phase == PH_RUN)
			count_sibs(L, r->siblings);
	} else {
		record(L, &p, r);
	}
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
		conn_fail(c, 0);
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
			conn_fail(c, 0);
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

/* Drop the connection; it reconnects later. Its requests in flight are
 * lost: unless already counted (counted != 0: timeouts), each is a
 * connection error of its operation kind, and a failure with none in
 * flight (a refused connect) is one error tied to no operation. */
static void conn_fail(conn_t *c, int counted)
{
	bench_loop_t *L = c->L;
	if (c->state == CONN_CLOSING || c->state == CONN_DOWN)
		return;
	if (!counted && c->count == 0)
		count_error(L, BENCH_ERR_CONN, BENCH_OP_NONE, 1);
	for (unsigned i = 0; !counted && i < c->count; i++)
		count_error(L, BENCH_ERR_CONN,
		            c->q[(c->head + i) % BENCH_PIPELINE_MAX].op.kind,
		            1);
	if (L->phase == PH_PRELOAD)
		atomic_fetch_add(&L->preload_done, c->count);
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
		conn_fail(c, 0);
		return;
	}
	c->state = CONN_UP;
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_fail(c, 0);
		return;
	}
	if (closed_loop(c->L))
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
		conn_fail(c, 0);
}

static void on_tfd(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	bench_loop_t *L = h->data;
	uint64_t expirations;
	if (read(L->tfd, &expirations, sizeof(expirations)) < 0)
		expirations = 0; /* EAGAIN: nothing due after all */
	open_issue(L);
}

/* The open loop's timerfd, when the kernel has one; the tick is the
 * fallback. */
static void tfd_start(bench_loop_t *L)
{
	L->tfd = -1;
	if (L->rate <= 0)
		return;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return;
	if (uv_poll_init(&L->loop, &L->tpoll, fd) < 0) {
		close(fd);
		return;
	}
	L->tfd = fd;
	L->tpoll.data = L;
	uv_poll_start(&L->tpoll, UV_READABLE, on_tfd);
}

static void stop_all(bench_loop_t *L)
{
	L->phase = PH_DONE;
	uv_timer_stop(&L->tick);
	uv_close((uv_handle_t *)&L->tick, NULL);
	if (L->tfd >= 0) {
		uv_poll_stop(&L->tpoll);
		uv_close((uv_handle_t *)&L->tpoll, NULL);
	}
	for (unsigned i = 0; i < L->conn_count; i++) {
		conn_t *c = &L->conns[i];
		if (c->state == CONN_UP || c->state == CONN_CONNECTING) {
			c->state = CONN_CLOSING;
			uv_close((uv_handle_t *)&c->tcp, NULL);
		}
	}
}

/* Every millisecond: timeouts, reconnects, the start and end of the run,
 * the open-loop schedule. */
static void on_tick(uv_timer_t *t)
{
	bench_loop_t *L = t->data;
	uint64_t now = now_ns();
	if (L->phase == PH_RUN && now >= L->end_ns) {
		stop_all(L);
		return;
	}
	uint64_t tmo = (uint64_t)L->cfg->timeout_ms * 1000000;
	for (unsigned i = 0; i < L->conn_count; i++) {
		conn_t *c = &L->conns[i];
		if (c->state == CONN_UP && c->count &&
		    now - c->q[c->head].sent_ns > tmo) {
			for (unsigned j = 0; j < c->count; j++)
				count_error(
				    L, BENCH_ERR_TIMEOUT,
				    c->q[(c->head + j) % BENCH_PIPELINE_MAX]
				        .op.kind,
				    1);
			conn_fail(c, 1);
		} else if (c->state == CONN_DOWN && now >= c->retry_ns) {
			conn_connect(c);
		}
	}
	preload_check(L, now);
	if (!closed_loop(L))
		open_issue(L);
}

void bench__take(bench_loop_t *L, bench_stats_t *dst)
{
	uv_mutex_lock(&L->lock);
	bench_stats_merge(dst, L->interval);
	bench_stats_init(L->interval);
	uv_mutex_unlock(&L->lock);
}

int bench__loop_init(bench_loop_t *L, bench_shared_t *sh, unsigned index)
{
	const bench_cfg_t *cfg = sh->cfg;
	unsigned t = cfg->threads;
	memset(L, 0, sizeof(*L));
	L->tfd = -1;
	L->sh = sh;
	L->cfg = cfg;
	L->index = index;
	L->rate = cfg->rate / t;
	/* connections index, index + T, ...: the global numbering spreads
	 * them over the addresses as a single loop would */
	L->conn_count = (cfg->connections - index + t - 1) / t;
	L->preload_next = index;
	L->preload_share =
	    cfg->keys > index ? (cfg->keys - index + t - 1) / t : 0;
	L->conns = calloc(L->conn_count, sizeof(conn_t));
	L->total = malloc(sizeof(bench_stats_t));
	L->interval = malloc(sizeof(bench_stats_t));
	if (!L->conns || !L->total || !L->interval)
		return -1;
	L->has_lock = uv_mutex_init(&L->lock) == 0;
	L->has_loop = L->has_lock && uv_loop_init(&L->loop) == 0;
	if (!L->has_loop)
		return -1;
	bench_stats_init(L->total);
	bench_stats_init(L->interval);
	sh_rand_seed(&L->rng, bench_thread_seed(cfg->seed, index));
	bench_workload_init(&L->wl, cfg->workload, cfg->dist, cfg->keys,
	                    cfg->value_min, cfg->value_max);
	for (unsigned i = 0; i < L->conn_count; i++) {
		L->conns[i].L = L;
		L->conns[i].addr = (index + i * t) % cfg->addr_count;
	}
	return 0;
}

void bench__loop_free(bench_loop_t *L)
{
	for (unsigned i = 0; L->conns && i < L->conn_count; i++) {
		sh_buf_free(&L->conns[i].out);
		sh_buf_free(&L->conns[i].wbuf);
		sh_buf_free(&L->conns[i].in);
	}
	if (L->has_loop)
		uv_loop_close(&L->loop);
	if (L->has_loop && L->tfd >= 0)
		close(L->tfd); /* after its poll handle has closed */
	if (L->has_lock)
		uv_mutex_destroy(&L->lock);
	L->has_loop = L->has_lock = 0;
	free(L->conns);
	free(L->total);
	free(L->interval);
	L->conns = NULL;
	L->total = L->interval = NULL;
}

void bench__loop_main(void *arg)
{
	bench_loop_t *L = arg;
	for (unsigned i = 0; i < L->conn_count; i++)
		conn_connect(&L->conns[i]);
	tfd_start(L);
	L->preload_ns = now_ns();
	L->phase = L->cfg->preload ? PH_PRELOAD : PH_WAIT;
	if (L->phase == PH_WAIT)
		start_run(L);
	uv_timer_init(&L->loop, &L->tick);
	L->tick.data = L;
	uv_timer_start(&L->tick, on_tick, 1, 1);
	if (uv_run(&L->loop, UV_RUN_DEFAULT) != 0)
		L->failed = 1;
	atomic_fetch_sub(&L->sh->running, 1);
}

int bench__shared_init(bench_shared_t *sh, const bench_cfg_t *cfg)
{
	memset(sh, 0, sizeof(*sh));
	sh->cfg = cfg;
	/* a peer that closes while we write must be an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	atomic_init(&sh->preload_left, cfg->preload ? cfg->threads : 0);
	atomic_init(&sh->run_start_ns, 0);
	atomic_init(&sh->running, cfg->threads);
	for (; sh->locks < BENCH_CTX_STRIPES; sh->locks++)
		if (uv_mutex_init(&sh->ctx_lock[sh->locks]) < 0)
			return -1;
	sh->ctx = calloc(cfg->keys, sizeof(sh_buf_t));
	uint8_t *v = malloc(cfg->value_max ? cfg->value_max : 1);
	sh->enc.value = v;
	if (!sh->ctx || !v)
		return -1;
	for (uint32_t i = 0; i < cfg->value_max; i++)
		v[i] = (uint8_t)('a' + i % 26);
	sh->enc.value_max = cfg->value_max;
	snprintf(sh->enc.prefix, sizeof(sh->enc.prefix), "%s", cfg->key_prefix);
	char *q = sh->enc.query;
	size_t qn = sizeof(sh->enc.query);
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

void bench__shared_free(bench_shared_t *sh)
{
	for (uint64_t k = 0; sh->ctx && k < sh->cfg->keys; k++)
		sh_buf_free(&sh->ctx[k]);
	free(sh->ctx);
	free((void *)sh->enc.value);
	for (unsigned i = 0; i < sh->locks; i++)
		uv_mutex_destroy(&sh->ctx_lock[i]);
	memset(sh, 0, sizeof(*sh));
}
