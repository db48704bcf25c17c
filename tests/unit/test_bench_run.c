/* test_bench_run.c - shoal-bench's loops, reporter and drivers end to end
 * against small servers the test starts on 127.0.0.1 (plain sockets and
 * poll on a thread of their own, speaking just enough HTTP or RESP):
 * pipelining, error classification (timeout, 503, 4xx, -ERR, connection
 * lost or refused), siblings from 300 replies, contexts carried by
 * writes, key prefixes, several threads, the open loop's rate, and the
 * CSV time series. Each run lasts about a second. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/bench_run.h"
#include "common/sh_buf.h"

#define SRV_CONNS  32
#define TRACE_N    64 /* first requests kept per connection */
#define INSERT_MAX (1 << 20)
#define HOLD_MS    50 /* a batching server answers what it has after this */
#define PREFIX     "tp-"

typedef enum {
	REP_200,
	REP_300,
	REP_404,
	REP_503,
	REP_400,
	REP_ERR,
	REP_N
} rep_t;

typedef enum {
	MODE_OK,      /* reads 200 (or a RESP value), writes 204 / +OK */
	MODE_MIX,     /* reads cycle 200, 300 (3 parts), 404, 503, 400 */
	MODE_SWALLOW, /* MODE_OK, but request number `nth` gets no reply */
	MODE_CLOSE,   /* MODE_OK, but the server hangs up at request `nth` */
} mode_t_;

typedef struct sconn {
	int fd;
	unsigned id; /* accept order */
	sh_buf_t in, out;
	unsigned held;    /* requests answered into out, not yet sent */
	uint64_t held_ms; /* when the first of them came */
} sconn_t;

typedef struct srv {
	int resp; /* 1: RESP, 0: HTTP */
	mode_t_ mode;
	unsigned nth, batch;
	int lfd;
	struct sockaddr_in addr;
	pthread_t th;
	atomic_int stop;
	sconn_t c[SRV_CONNS];
	/* read after the thread is joined */
	unsigned requests, accepted, bad, max_batch, full_batches, batches;
	unsigned puts_with_ctx, writes, sent[REP_N];
	/* HTTP: the first keys asked per connection (key * 2 + is_put), the
	 * first read's request number, writes of keys >= insert_base seen
	 * twice */
	uint64_t trace[SRV_CONNS][TRACE_N];
	unsigned trace_len[SRV_CONNS], first_get;
	uint64_t insert_base;
	unsigned inserts, dup_inserts;
	uint8_t inserted[INSERT_MAX / 8];
} srv_t;

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- request framing --------------------------------------------------- */

/* Length of the HTTP request at p, 0 if incomplete. */
static size_t http_len(const char *p, size_t len)
{
	const char *eoh = memmem(p, len, "\r\n\r\n", 4);
	if (!eoh)
		return 0;
	size_t hl = (size_t)(eoh + 4 - p), clen = 0;
	for (const char *l = p; l && l < eoh;) {
		if (strncasecmp(l, "Content-Length:", 15) == 0)
			clen = strtoul(l + 15, NULL, 10);
		l = memchr(l, '\n', (size_t)(eoh - l));
		l = l ? l + 1 : NULL;
	}
	return len >= hl + clen ? hl + clen : 0;
}

/* Length of the RESP array at p, 0 if incomplete; *get, *key_ok. */
static size_t resp_len(const char *p, size_t len, int *get, int *key_ok)
{
	const char *e = p + len, *q = p;
	if (len < 4 || *q != '*')
		return 0;
	unsigned n = (unsigned)strtoul(q + 1, NULL, 10);
	const char *nl = memmem(q, len, "\r\n", 2);
	if (!nl)
		return 0;
	q = nl + 2;
	*get = *key_ok = 0;
	for (unsigned i = 0; i < n; i++) {
		nl = q < e ? memmem(q, (size_t)(e - q), "\r\n", 2) : NULL;
		if (!nl || *q != '$')
			return 0;
		size_t bl = strtoul(q + 1, NULL, 10);
		q = nl + 2;
		if ((size_t)(e - q) < bl + 2)
			return 0;
		if (i == 0)
			*get = bl == 3 && memcmp(q, "GET", 3) == 0;
		if (i == 1)
			*key_ok = bl > 15 &&
			          memcmp(q, "bench:bench:" PREFIX, 15) == 0;
		q += bl + 2;
	}
	return (size_t)(q - p);
}

/* --- replies ----------------------------------------------------------- */

#define MULTI_BODY                                                             \
	"--sb\r\nContent-Type: text/plain\r\n\r\none\r\n"                      \
	"--sb\r\nContent-Type: text/plain\r\n\r\ntwo\r\n"                      \
	"--sb\r\nContent-Type: text/plain\r\n\r\n333\r\n--sb--\r\n"
static char multi[512]; /* the 300 reply, built by main() */
static const char *http_rep[REP_N] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Shoal-Context: c1\r\n\r\nabc",
    multi,
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    "",
};
static const char *const resp_rep[REP_N] = {
    "$3\r\nabc\r\n", "", "$-1\r\n", "", "", "-ERR busy\r\n"};

/* What request number `seq` (a read if get) is answered with. */
static rep_t choose(const srv_t *s, unsigned seq, int get)
{
	if (!get)
		return REP_N; /* a write's own reply */
	if (s->mode != MODE_MIX)
		return REP_200;
	if (s->resp) {
		static const rep_t cyc[3] = {REP_200, REP_404, REP_ERR};
		return cyc[seq % 3];
	}
	static const rep_t cyc[5] = {REP_200, REP_300, REP_404, REP_503,
	                             REP_400};
	return cyc[seq % 5];
}

static void answer(srv_t *s, sconn_t *c, unsigned seq, int get)
{
	rep_t r = choose(s, seq, get);
	const char *txt;
	if (r == REP_N)
		txt = s->resp ? "+OK\r\n"
		              : "HTTP/1.1 204 No Content\r\nContent-Length: "
		                "0\r\n\r\n";
	else
		txt = s->resp ? resp_rep[r] : http_rep[r];
	if (r < REP_N)
		s->sent[r]++;
	else
		s->writes++;
	sh_buf_append(&c->out, txt, strlen(txt));
	if (c->held++ == 0)
		c->held_ms = ms_now();
}

static void conn_close(sconn_t *c)
{
	close(c->fd);
	c->fd = -1;
	sh_buf_free(&c->in);
	sh_buf_free(&c->out);
	c->held = 0;
}

/* What the traces keep of one request for key k. */
static void trace(srv_t *s, const sconn_t *c, uint64_t k, int put)
{
	if (c->id < SRV_CONNS && s->trace_len[c->id] < TRACE_N)
		s->trace[c->id][s->trace_len[c->id]++] = k * 2 + (uint64_t)put;
	if (!put || k < s->insert_base || k - s->insert_base >= INSERT_MAX)
		return;
	uint64_t i = k - s->insert_base;
	s->inserts++;
	s->dup_inserts += (s->inserted[i / 8] >> (i % 8)) & 1;
	s->inserted[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int http_check(srv_t *s, const sconn_t *c, const char *p, size_t n,
                      int *get)
{
	*get = strncmp(p, "GET ", 4) == 0;
	int put = strncmp(p, "PUT ", 4) == 0;
	if (put && memmem(p, n, "X-Shoal-Context: c1\r\n", 21))
		s->puts_with_ctx++;
	if (*get && s->first_get == UINT32_MAX)
		s->first_get = s->requests;
	if (!(*get || put) ||
	    strncmp(p + 4, "/kv/bench/" PREFIX "k", 14) != 0 ||
	    !memmem(p, n, " HTTP/1.1\r\n", 11))
		return 0;
	trace(s, c, strtoull(p + 18, NULL, 10), put);
	return 1;
}

/* Take every whole request in c's input; 0, or -1 to hang up. */
static int serve(srv_t *s, sconn_t *c)
{
	size_t off = 0;
	for (;;) {
		const char *p = (const char *)c->in.data + off;
		size_t left = c->in.len - off, n;
		int get = 0, ok = 0;
		if (s->resp)
			n = resp_len(p, left, &get, &ok);
		else
			n = http_len(p, left);
		if (n == 0)
			break;
		if (!s->resp)
			ok = http_check(s, c, p, n, &get);
		s->bad += !ok;
		off += n;
		unsigned seq = s->requests++;
		if (s->mode == MODE_CLOSE && seq == s->nth)
			return -1;
		if (s->mode == MODE_SWALLOW && seq == s->nth)
			continue;
		answer(s, c, seq, get);
	}
	memmove(c->in.data, c->in.data + off, c->in.len - off);
	c->in.len -= off;
	return 0;
}

/* Send what c holds if the batch is full or has waited long enough. */
static void release(srv_t *s, sconn_t *c)
{
	if (c->held == 0 ||
	    (c->held < s->batch && ms_now() - c->held_ms < HOLD_MS))
		return;
	s->batches++;
	s->full_batches += c->held >= s->batch;
	if (c->held > s->max_batch)
		s->max_batch = c->held;
	size_t off = 0;
	for (int guard = 0; off < c->out.len && guard < 1000; guard++) {
		ssize_t w = send(c->fd, c->out.data + off, c->out.len - off,
		                 MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	c->out.len = 0;
	c->held = 0;
}

static void srv_accept(srv_t *s)
{
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return;
	s->accepted++;
	for (int i = 0; i < SRV_CONNS; i++) {
		if (s->c[i].fd < 0) {
			memset(&s->c[i], 0, sizeof(s->c[i]));
			s->c[i].fd = fd;
			s->c[i].id = s->accepted - 1;
			return;
		}
	}
	close(fd);
}

static void *srv_main(void *arg)
{
	srv_t *s = arg;
	struct pollfd pf[SRV_CONNS + 1];
	while (!atomic_load(&s->stop)) {
		pf[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (int i = 0; i < SRV_CONNS; i++)
			pf[i + 1] =
			    (struct pollfd){.fd = s->c[i].fd, .events = POLLIN};
		if (poll(pf, SRV_CONNS + 1, 5) < 0)
			continue;
		if (pf[0].revents & POLLIN)
			srv_accept(s);
		for (int i = 0; i < SRV_CONNS; i++) {
			sconn_t *c = &s->c[i];
			if (c->fd < 0)
				continue;
			if (pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
				sh_buf_reserve(&c->in, 65536);
				ssize_t r =
				    read(c->fd, c->in.data + c->in.len, 65536);
				if (r <= 0) {
					conn_close(c);
					continue;
				}
				c->in.len += (size_t)r;
				if (serve(s, c) < 0) {
					conn_close(c);
					continue;
				}
			}
			release(s, c);
		}
	}
	for (int i = 0; i < SRV_CONNS; i++)
		if (s->c[i].fd >= 0)
			conn_close(&s->c[i]);
	close(s->lfd);
	return NULL;
}

static void srv_start(srv_t *s, int resp, mode_t_ mode, unsigned nth,
                      unsigned batch)
{
	memset(s, 0, sizeof(*s));
	s->resp = resp;
	s->mode = mode;
	s->nth = nth;
	s->batch = batch ? batch : 1;
	s->first_get = UINT32_MAX;
	for (int i = 0; i < SRV_CONNS; i++)
		s->c[i].fd = -1;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	s->addr.sin_family = AF_INET;
	s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(
	    bind(s->lfd, (struct sockaddr *)&s->addr, sizeof(s->addr)), 0);
	socklen_t al = sizeof(s->addr);
	getsockname(s->lfd, (struct sockaddr *)&s->addr, &al);
	assert_int_equal(listen(s->lfd, 64), 0);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(srv_t *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
}

/* --- client settings --------------------------------------------------- */

static void cfg_for(bench_cfg_t *c, const srv_t *s, bench_wl_kind_t wl)
{
	memset(c, 0, sizeof(*c));
	c->driver = s->resp ? &bench_resp_driver : &bench_http_driver;
	c->target = s->resp ? "redis://test" : "http://test";
	memcpy(&c->addrs[0], &s->addr, sizeof(s->addr));
	c->addr_count = 1;
	c->workload = wl;
	c->dist = BENCH_DIST_UNIFORM;
	c->keys = 100;
	c->value_min = c->value_max = 16;
	c->connections = 1;
	c->pipeline = 1;
	c->threads = 1;
	c->duration_s = 0.8;
	c->warmup_s = 0;
	c->timeout_ms = 2000;
	c->seed = 7;
	c->quiet = 1;
	strcpy(c->key_prefix, PREFIX);
}

static bench_result_t res; /* large: one, reused */

static uint64_t ops(void)
{
	return bench_stats_ops(&res.total);
}

/* got is within [want - slack, want] */
static void assert_lag(uint64_t got, uint64_t want, uint64_t slack)
{
	if (got > want || got + slack < want)
		fail_msg("got %llu, want %llu less at most %llu",
		         (unsigned long long)got, (unsigned long long)want,
		         (unsigned long long)slack);
}

/* --- tests ------------------------------------------------------------- */

static void test_bench_run_http_classifies_replies(void **state)
{
	(void)state;
	static srv_t s;
	bench_cfg_t c;
	srv_start(&s, 0, MODE_MIX, 0, 1);
	cfg_for(&c, &s, BENCH_WL_C);
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(&s);
	assert_int_equal(s.bad, 0);
	assert_true(s.requests > 50);
	/* one connection, one request in flight: the client saw every
	 * reply but possibly the last */
	assert_lag(res.total.sibs[1], s.sent[REP_200], 1);
	assert_lag(res.total.sibs[3], s.sent[REP_300], 1);
	assert_lag(res.total.sibs[0], s.sent[REP_404], 1);
	assert_lag(res.total.errors[BENCH_ERR_503], s.sent[REP_503], 1);
	assert_lag(res.total.errors[BENCH_ERR_4XX], s.sent[REP_400], 1);
	assert_lag(res.total.op_errors[BENCH_OP_READ],
	           s.sent[REP_503] + s.sent[REP_400], 1);
	assert_int_equal(res.total.errors[BENCH_ERR_TIMEOUT], 0);
	assert_int_equal(res.total.errors[BENCH_ERR_CONN], 0);
	/* 404 reads are answers, not errors */
	assert_lag(ops(), s.sent[REP_200] + s.sent[REP_300] + s.sent[REP_404],
	           1);
	assert_int_equal(s.accepted, 1);
}

static void test_bench_run_http_writes_carry_context(void **state)
{
	(void)state;
	static srv_t s;
	bench_cfg_t c;
	srv_start(&s, 0, MODE_OK, 0, 1);
	cfg_for(&c, &s, BENCH_WL_A);
	c.keys = 10;
	c.connections = 4;
	c.pipeline = 4;
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(&s);
	assert_int_equal(s.bad, 0);
	assert_true(s.writes > 20);
	/* after the first read of a key, its writes send the context read */
	assert_true(s.puts_with_ctx > s.writes / 2);
	assert_lag(ops(), s.writes + s.sent[REP_200], 16);
	assert_int_equal(bench_stats_errors(&res.total), 0);
	assert_int_equal(s.accepted, 4);
}

static void test_bench_run_resp_pipelines(void **state)
{
	(void)state;
	static srv_t s;
	bench_cfg_t c;
	/* the server answers only once 8 requests wait on a connection
	 * (or after HOLD_MS): a client that does not pipeline runs slow */
	srv_start(&s, 1, MODE_MIX, 0, 8);
	cfg_for(&c, &s, BENCH_WL_A);
	c.pipeline = 8;
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(&s);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.max_batch, 8);
	assert_true(s.batches > 20);
	assert_true(s.full_batches >= s.batches * 9 / 10);
	assert_lag(res.total.errors[BENCH_ERR_5XX], s.sent[REP_ERR], 8);
	assert_lag(res.total.sibs[1], s.sent[REP_200], 8);
	assert_lag(res.total.sibs[0], s.sent[REP_404], 8);
	assert_lag(ops(), s.writes + s.sent[REP_200] + s.sent[REP_404], 8);
	/* a closed loop has no schedule to be late for */
	assert_int_equal(res.total.send_lag.count, 0);
}

static void test_bench_run_timeout_then_reconnect(void **state)
{
	(void)state;
	static srv_t s;
	bench_cfg_t c;
	srv_start(&s, 0, MODE_SWALLOW, 20, 1);
	cfg_for(&c, &s, BENCH_WL_C);
	c.timeout_ms = 200;
	c.duration_s = 1;
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(&s);
	/* the swallowed request times out, the connection is dropped and
	 * comes back; a loaded machine may add slow replies that time out
	 * too, each one a reconnect */
	uint64_t tmo = res.total.errors[BENCH_ERR_TIMEOUT];
	assert_true(tmo >= 1);
	assert_int_equal(res.total.op_errors[BENCH_OP_READ], tmo);
	assert_int_equal(res.total.errors[BENCH_ERR_CONN], 0);
	assert_int_equal(s.accepted, tmo + 1);
	assert_true(ops() > 40);
}

static void test_bench_run_connection_errors(void **state)
{
	(void)state;
	static srv_t s;
	bench_cfg_t c;
	/* hang up with requests in flight: each is a connection error */
	srv_start(&s, 1, MODE_CLOSE, 30, 1);
	cfg_for(&c, &s, BENCH_WL_C);
	c.pipeline = 4;
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(&s);
	assert_true(res.total.errors[BENCH_ERR_CONN] >= 1);
	assert_true(res.total.errors[BENCH_ERR_CONN] <= 4);
	assert_int_equal(res.total.errors[BENCH_ERR_CONN],
	                 res.total.op_errors[BENCH_OP_READ]);
	assert_int_equal(s.accepted, 2);
	/* nobody listening: refused connects count, and the run fails */
	struct sockaddr_in dead = s.addr;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	dead.sin_port = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&dead, sizeof(dead)), 0);
	socklen_t al = sizeof(dead);
	getsockname(fd, (struct sockaddr *)&dead, &al);
	memcpy(&c.addrs[0], &dead, sizeof(dead)); /* bound, not listening */
	c.duration_s = 0.5;
	assert_int_equal(bench_run(&c, &res), 1);
	close(fd);
	assert_int_equal(ops(), 0);
	assert_true(res.total.errors[BENCH_ERR_CONN] >= 1);
	assert_int_equal(res.total.op_errors[BENCH_OP_NONE],
	                 res.total.errors[BENCH_ERR_CONN]);
}

/* Reads the CSV: rows of "all" and the sum of their ops. */
static unsigned read_csv(const char *path, uint64_t *all_ops, unsigned *runs)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned rows = 0;
	*all_ops = 0;
	*runs = 0;
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "time_s,phase,op,ops,ops_per_s,p50_ms,"
	                          "p90_ms,p99_ms,p999_ms,max_ms,errors\n");
	for (int guard = 0; guard < 10000 && fgets(line, sizeof(line), f);
	     guard++) {
		double t, rate, p[5];
		char phase[16], op[16];
		unsigned long long n, err;
		int got = sscanf(line,
		                 "%lf,%15[a-z],%15[a-z_],%llu,%lf,%lf,%lf,%lf,"
		                 "%lf,%lf,%llu",
		                 &t, phase, op, &n, &rate, &p[0], &p[1], &p[2],
		                 &p[3], &p[4], &err);
		assert_int_equal(got, 11);
		assert_true(p[0] <= p[1] && p[1] <= p[2] && p[2] <= p[3] &&
		            p[3] <= p[4]);
		if (strcmp(op, "all") == 0) {
			rows++;
			*all_ops += n;
			*runs += strcmp(phase, "run") == 0;
		}
	}
	fclose(f);
	return rows;
}

static void test_bench_run_threads_rate_and_csv(void **state)
{
	(void)state;
	static srv_t s;
	bench_cfg_t c;
	char csv[] = "/tmp/test_bench_run_XXXXXX";
	int fd = mkstemp(csv);
	assert_true(fd >= 0);
	close(fd);
	srv_start(&s, 0, MODE_OK, 0, 1);
	cfg_for(&c, &s, BENCH_WL_A);
	c.threads = 3;
	c.connections = 6;
	c.rate = 3000;
	c.warmup_s = 0.5;
	c.duration_s = 1.5;
	c.csv_path = csv;
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(&s);
	assert_int_equal(s.accepted, 6);
	assert_int_equal(s.bad, 0);
	/* the open loop offers exactly its rate in the measured 1.5 s; a
	 * loaded machine may leave some in flight at the end */
	if (ops() > 4500 + 3 || ops() < 4500 * 0.8)
		fail_msg("%llu operations at 3000/s in 1.5 s",
		         (unsigned long long)ops());
	assert_int_equal(bench_stats_errors(&res.total), 0);
	/* every operation due in the measured window left once, its lag
	 * counted (a reply to one still in flight at the end is not) */
	uint64_t lagged = res.total.send_lag.count;
	if (lagged < ops() || lagged > 4500 + 3)
		fail_msg("%llu send lags for %llu operations",
		         (unsigned long long)lagged, (unsigned long long)ops());
	uint64_t all_ops;
	unsigned runs, rows = read_csv(csv, &all_ops, &runs);
	unlink(csv);
	assert_int_equal(rows, res.seconds);
	assert_true(rows >= 1 && rows <= 3);
	assert_true(runs >= 1);
	/* the rows cover warmup too, and every operation once */
	assert_true(all_ops >= ops() && all_ops < ops() + 3000);
}

/* The sorted traces of the first TRACE_N requests of each connection. */
static int cmp_trace(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(uint64_t) * TRACE_N);
}

static void run_traced(srv_t *s, uint64_t seed, int preload, bench_wl_kind_t wl)
{
	bench_cfg_t c;
	srv_start(s, 0, MODE_OK, 0, 1);
	s->insert_base = 100;
	cfg_for(&c, s, wl);
	c.threads = 3;
	c.connections = 3;
	c.seed = seed;
	c.preload = preload;
	c.duration_s = 0.5;
	assert_int_equal(bench_run(&c, &res), 0);
	srv_stop(s);
	assert_int_equal(s->bad, 0);
	assert_int_equal(s->accepted, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s->trace_len[i], TRACE_N);
	qsort(s->trace, 3, sizeof(s->trace[0]), cmp_trace);
}

/* One connection per thread: each connection carries its thread's stream,
 * a function of the seed alone; preload ends on every thread before any
 * reads; inserts (workload D) never collide across threads. */
static void test_bench_run_threads_deterministic(void **state)
{
	(void)state;
	static srv_t a, b;
	run_traced(&a, 11, 1, BENCH_WL_A);
	assert_int_equal(res.preload_done, 100);
	assert_int_equal(res.preload_errors, 0);
	assert_true(a.first_get >= 100);
	run_traced(&a, 11, 0, BENCH_WL_A);
	run_traced(&b, 11, 0, BENCH_WL_A);
	assert_memory_equal(a.trace, b.trace, sizeof(a.trace[0]) * 3);
	run_traced(&b, 12, 0, BENCH_WL_A);
	assert_memory_not_equal(a.trace, b.trace, sizeof(a.trace[0]) * 3);
	run_traced(&b, 11, 0, BENCH_WL_D);
	assert_true(b.inserts > 20);
	assert_int_equal(b.dup_inserts, 0);
}

static void test_bench_run_thread_seeds(void **state)
{
	(void)state;
	assert_int_equal(bench_thread_seed(42, 0), 42);
	assert_int_equal(bench_thread_seed(42, 3), bench_thread_seed(42, 3));
	assert_true(bench_thread_seed(42, 1) != bench_thread_seed(42, 2));
	assert_true(bench_thread_seed(42, 1) != bench_thread_seed(43, 1));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(multi, sizeof(multi),
	         "HTTP/1.1 300 Multiple Choices\r\n"
	         "Content-Type: multipart/mixed; boundary=sb\r\n"
	         "X-Shoal-Context: c1\r\nContent-Length: %zu\r\n\r\n%s",
	         strlen(MULTI_BODY), MULTI_BODY);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bench_run_http_classifies_replies),
	    cmocka_unit_test(test_bench_run_http_writes_carry_context),
	    cmocka_unit_test(test_bench_run_resp_pipelines),
	    cmocka_unit_test(test_bench_run_timeout_then_reconnect),
	    cmocka_unit_test(test_bench_run_connection_errors),
	    cmocka_unit_test(test_bench_run_threads_rate_and_csv),
	    cmocka_unit_test(test_bench_run_threads_deterministic),
	    cmocka_unit_test(test_bench_run_thread_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
