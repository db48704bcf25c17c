/*
 * test_swim.c - unit tests of gossip/ (SWIM with Lifeguard).
 *
 * A tiny in-test cluster drives 2-6 state machines by hand: every step it
 * ticks each node, then pumps every output (packets and stream exchanges)
 * to its destination until nothing is left, dropping what the test blocks.
 * Addresses are "aN", names "nN". Packets for the garbage tests are built
 * by hand from the wire format in swim.h.
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
#include "common/sh_mp.h"
#include "common/sh_rand.h"
#include "gossip/swim.h"

#define NMAX    6
#define EV_MAX  4096
#define STEP_MS 5

typedef struct ev {
	int node;
	uint64_t at_ms;
	swim_event_kind_t kind;
	char name[SWIM_NAME_MAX + 1];
} ev_t;

typedef struct cluster {
	swim_t n[NMAX];
	int count;
	uint64_t now;
	int down[NMAX];            /* crashed: nothing in or out */
	int block[NMAX][NMAX];     /* drop packets from i to j */
	int deaf[NMAX];            /* drop every packet to i */
	int udp_block[NMAX][NMAX]; /* drop datagrams (not streams) i to j */
	ev_t ev[EV_MAX];
	int ev_len;
	sh_buf_t reply;
	/* captured packets (optional) */
	int capture;
	uint8_t cap_buf[64][SWIM_PACKET_MAX];
	size_t cap_len[64];
	int cap_n;
} cluster_t;

static void node_cfg(swim_config_t *cfg, int i, char *name, char *addr)
{
	swim_config_default(cfg);
	sprintf(name, "n%d", i);
	sprintf(addr, "a%d", i);
	cfg->name = name;
	cfg->addr = addr;
	cfg->http_addr = "h";
	cfg->partitions = 64;
	cfg->seed = (uint64_t)i + 1;
}

static void node_start(cluster_t *c, int i, void (*tweak)(swim_config_t *))
{
	swim_config_t cfg;
	char name[16], addr[16];
	node_cfg(&cfg, i, name, addr);
	if (tweak != NULL)
		tweak(&cfg);
	assert_int_equal(swim_init(&c->n[i], &cfg), SH_OK);
	c->down[i] = 0;
}

static cluster_t *cl_new(int count, void (*tweak)(swim_config_t *))
{
	cluster_t *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->count = count;
	c->now = 1000;
	for (int i = 0; i < count; i++)
		node_start(c, i, tweak);
	return c;
}

static void cl_free(cluster_t *c)
{
	for (int i = 0; i < c->count; i++)
		swim_free(&c->n[i]);
	sh_buf_free(&c->reply);
	free(c);
}

static int addr_node(const cluster_t *c, const char *addr)
{
	if (addr[0] != 'a' || addr[1] < '0' || addr[1] > '9' || addr[2])
		return -1;
	int j = addr[1] - '0';
	return j < c->count ? j : -1;
}

static int reaches(const cluster_t *c, int i, int j)
{
	return j >= 0 && !c->down[i] && !c->down[j] && !c->block[i][j] &&
	       !c->deaf[j];
}

typedef struct out {
	char to[SWIM_ADDR_MAX + 1];
	int stream;
	size_t len;
	uint8_t *data;
} out_t;

/* Takes node i's batch (copied), logging its events. Returns the count. */
static int take(cluster_t *c, int i, out_t **outs)
{
	swim_ready_t r;
	swim_ready(&c->n[i], &r);
	int n = (int)(r.packets_len + r.streams_len);
	*outs = n ? calloc((size_t)n, sizeof(out_t)) : NULL;
	for (size_t k = 0; k < r.packets_len; k++) {
		out_t *o = &(*outs)[k];
		strcpy(o->to, r.packets[k].to);
		o->len = r.packets[k].len;
		assert_true(o->len < SWIM_PACKET_MAX);
		o->data = malloc(o->len);
		memcpy(o->data, r.packets[k].data, o->len);
		if (c->capture && c->cap_n < 64) {
			memcpy(c->cap_buf[c->cap_n], o->data, o->len);
			c->cap_len[c->cap_n++] = o->len;
		}
	}
	for (size_t k = 0; k < r.streams_len; k++) {
		out_t *o = &(*outs)[r.packets_len + k];
		strcpy(o->to, r.streams[k].to);
		o->stream = 1;
		o->len = r.streams[k].len;
		o->data = malloc(o->len);
		memcpy(o->data, r.streams[k].data, o->len);
	}
	for (size_t k = 0; k < r.events_len && c->ev_len < EV_MAX; k++) {
		ev_t *e = &c->ev[c->ev_len++];
		e->node = i;
		e->at_ms = c->now;
		e->kind = r.events[k].kind;
		strcpy(e->name, r.events[k].name);
	}
	swim_advance(&c->n[i]);
	return n;
}

static void deliver(cluster_t *c, int i, const out_t *o)
{
	int j = addr_node(c, o->to);
	if (!reaches(c, i, j))
		return;
	char from[16];
	sprintf(from, "a%d", i);
	if (!o->stream) {
		if (!c->udp_block[i][j])
			swim_recv(&c->n[j], c->now, from, o->data, o->len);
		return;
	}
	sh_buf_reset(&c->reply);
	assert_int_equal(
	    swim_recv_state(&c->n[j], c->now, from, o->data, o->len, &c->reply),
	    SH_OK);
	if (c->reply.len > 0 && reaches(c, j, i)) {
		char back[16];
		sprintf(back, "a%d", j);
		assert_int_equal(swim_recv_state(&c->n[i], c->now, back,
		                                 c->reply.data, c->reply.len,
		                                 NULL),
		                 SH_OK);
	}
}

static void cl_pump(cluster_t *c)
{
	for (int round = 0; round < 1000; round++) {
		int any = 0;
		for (int i = 0; i < c->count; i++) {
			out_t *outs;
			int n = take(c, i, &outs);
			any += n;
			for (int k = 0; k < n; k++) {
				if (!c->down[i])
					deliver(c, i, &outs[k]);
				free(outs[k].data);
			}
			free(outs);
		}
		if (!any)
			return;
	}
	fail_msg("pump did not settle");
}

static void cl_run(cluster_t *c, uint64_t ms)
{
	uint64_t end = c->now + ms;
	while (c->now < end) {
		c->now += STEP_MS;
		for (int i = 0; i < c->count; i++)
			if (!c->down[i])
				swim_tick(&c->n[i], c->now);
		cl_pump(c);
	}
}

static void cl_join_all(cluster_t *c)
{
	const char *seed = "a0";
	for (int i = 0; i < c->count; i++)
		assert_int_equal(swim_join(&c->n[i], c->now, &seed, 1), SH_OK);
	cl_pump(c);
}

/* Node i's view of node j: its state, or -1 when unknown. */
static int view(const cluster_t *c, int i, int j)
{
	char name[16];
	swim_member_info_t info;
	sprintf(name, "n%d", j);
	if (swim_member_get(&c->n[i], name, &info) != SH_OK)
		return -1;
	return (int)info.state;
}

static uint64_t view_inc(const cluster_t *c, int i, int j)
{
	char name[16];
	swim_member_info_t info;
	sprintf(name, "n%d", j);
	assert_int_equal(swim_member_get(&c->n[i], name, &info), SH_OK);
	return info.incarnation;
}

/* Every running node other than j sees j in state st. */
static int all_see(const cluster_t *c, int j, int st)
{
	for (int i = 0; i < c->count; i++)
		if (i != j && !c->down[i] && view(c, i, j) != st)
			return 0;
	return 1;
}

static int count_ev(const cluster_t *c, int node, swim_event_kind_t kind,
                    const char *name)
{
	int n = 0;
	for (int k = 0; k < c->ev_len; k++)
		if ((node < 0 || c->ev[k].node == node) &&
		    c->ev[k].kind == kind && strcmp(c->ev[k].name, name) == 0)
			n++;
	return n;
}

static void run_until_all_see(cluster_t *c, int j, int st, uint64_t max_ms)
{
	for (uint64_t t = 0; t < max_ms && !all_see(c, j, st); t += 100)
		cl_run(c, 100);
	assert_true(all_see(c, j, st));
}

/* ---- hand-built packets ---- */

typedef struct pkt {
	sh_buf_t b;
	sh_mp_writer_t w;
} pkt_t;

static void pkt_begin(pkt_t *p, int type, const char *sender, int updates)
{
	sh_buf_init(&p->b);
	sh_buf_append_u8(&p->b, SWIM_WIRE_VERSION);
	sh_mp_writer_init(&p->w, &p->b);
	sh_mp_put_array(&p->w, 7);
	sh_mp_put_u64(&p->w, (uint64_t)type);
	sh_mp_put_u64(&p->w, 1);
	sh_mp_put_str(&p->w, sender, strlen(sender));
	sh_mp_put_str(&p->w, "", 0);
	sh_mp_put_str(&p->w, "", 0);
	sh_mp_put_u64(&p->w, 0);
	sh_mp_put_array(&p->w, (uint32_t)updates);
}

static void put_s(pkt_t *p, const char *s)
{
	sh_mp_put_str(&p->w, s, strlen(s));
}

static void pkt_alive(pkt_t *p, const char *name, uint64_t inc,
                      const char *addr, uint32_t q)
{
	sh_mp_put_array(&p->w, 7);
	sh_mp_put_u64(&p->w, SWIM_ALIVE);
	put_s(p, name);
	sh_mp_put_u64(&p->w, inc);
	put_s(p, addr);
	put_s(p, "");
	sh_mp_put_u64(&p->w, q);
	sh_mp_put_u64(&p->w, 0);
}

static void pkt_doubt(pkt_t *p, swim_state_t kind, const char *name,
                      uint64_t inc, const char *from)
{
	sh_mp_put_array(&p->w, kind == SWIM_LEFT ? 3 : 4);
	sh_mp_put_u64(&p->w, kind);
	put_s(p, name);
	sh_mp_put_u64(&p->w, inc);
	if (kind != SWIM_LEFT)
		put_s(p, from);
}

static int pkt_send(swim_t *s, uint64_t now, pkt_t *p)
{
	int rc = swim_recv(s, now, "ax", p->b.data, p->b.len);
	sh_buf_free(&p->b);
	return rc;
}

/* Feeds node s an alive update about `name` (address addr). */
static void feed_alive(swim_t *s, uint64_t now, const char *name, uint64_t inc,
                       const char *addr)
{
	pkt_t p;
	pkt_begin(&p, 5, "feeder", 1);
	pkt_alive(&p, name, inc, addr, 64);
	assert_int_equal(pkt_send(s, now, &p), SH_OK);
}

static void feed_doubt(swim_t *s, uint64_t now, swim_state_t kind,
                       const char *name, uint64_t inc, const char *from)
{
	pkt_t p;
	pkt_begin(&p, 5, "feeder", 1);
	pkt_doubt(&p, kind, name, inc, from);
	assert_int_equal(pkt_send(s, now, &p), SH_OK);
}

/* ---- tests ---- */

static void fast(swim_config_t *cfg)
{
	(void)cfg;
}

static void test_swim_config_defaults_and_time_scale(void **state)
{
	(void)state;
	swim_config_t cfg;
	swim_t s;
	char name[16], addr[16];
	node_cfg(&cfg, 0, name, addr);
	assert_int_equal(cfg.probe_interval_ms, 1000);
	assert_int_equal(cfg.probe_timeout_ms, 500);
	assert_int_equal(cfg.indirect_checks, 3);
	assert_int_equal(cfg.suspicion_mult, 4);
	assert_int_equal(cfg.suspicion_max_mult, 6);
	assert_int_equal(cfg.retransmit_mult, 4);
	assert_int_equal(cfg.gossip_interval_ms, 200);
	assert_int_equal(cfg.gossip_nodes, 3);
	assert_int_equal(cfg.push_pull_interval_ms, 30000);
	assert_int_equal(cfg.awareness_max, 8);
	cfg.time_scale = 0.01;
	assert_int_equal(swim_init(&s, &cfg), SH_OK);
	assert_int_equal(swim_probe_interval_ms(&s), 10);
	assert_int_equal(swim_probe_timeout_ms(&s), 5);
	assert_int_equal(swim_member_count(&s), 1);
	assert_int_equal(swim_live_count(&s), 1);
	swim_member_info_t info;
	assert_int_equal(swim_member_at(&s, 0, &info), SH_OK);
	assert_true(info.is_self);
	assert_string_equal(info.name, "n0");
	assert_string_equal(info.meta->addr, "a0");
	assert_int_equal(info.meta->partitions, 64);
	assert_int_equal(swim_member_at(&s, 1, &info), SH_ERANGE);
	swim_free(&s);
}

static void test_swim_init_rejects_bad_config(void **state)
{
	(void)state;
	swim_config_t cfg;
	swim_t s;
	char name[16], addr[16];
	char longname[80];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	node_cfg(&cfg, 0, name, addr);
	cfg.name = NULL;
	assert_int_equal(swim_init(&s, &cfg), SH_EINVAL);
	node_cfg(&cfg, 0, name, addr);
	cfg.name = longname;
	assert_int_equal(swim_init(&s, &cfg), SH_EINVAL);
	node_cfg(&cfg, 0, name, addr);
	cfg.name = "has space";
	assert_int_equal(swim_init(&s, &cfg), SH_EINVAL);
	node_cfg(&cfg, 0, name, addr);
	cfg.partitions = 0;
	assert_int_equal(swim_init(&s, &cfg), SH_EINVAL);
	node_cfg(&cfg, 0, name, addr);
	cfg.time_scale = 0;
	assert_int_equal(swim_init(&s, &cfg), SH_EINVAL);
	node_cfg(&cfg, 0, name, addr);
	cfg.piggyback_max = SWIM_PIGGYBACK_HARD_MAX + 1;
	assert_int_equal(swim_init(&s, &cfg), SH_EINVAL);
}

static void test_swim_probe_ack_keeps_everyone_alive(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, fast);
	cl_join_all(c);
	cl_run(c, 10000);
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 3; j++)
			assert_int_equal(view(c, i, j), SWIM_ALIVE);
		const swim_stats_t *st = swim_stats(&c->n[i]);
		assert_true(st->probes >= 8);
		assert_true(st->probes_acked >= 8);
		assert_int_equal(st->probes_failed, 0);
		assert_int_equal(swim_health(&c->n[i]), 0);
	}
	assert_int_equal(count_ev(c, 0, SWIM_EV_UP, "n1"), 1);
	assert_int_equal(count_ev(c, -1, SWIM_EV_SUSPECT, "n1"), 0);
	cl_free(c);
}

static void test_swim_ping_req_relayed(void **state)
{
	(void)state;
	cluster_t *c = cl_new(4, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	c->block[0][1] = c->block[1][0] = 1; /* the direct path is cut */
	cl_run(c, 20000);
	const swim_stats_t *st = swim_stats(&c->n[0]);
	assert_true(st->ping_reqs_sent > 0);
	assert_true(st->probes_indirect_acked > 0);
	assert_int_equal(view(c, 0, 1), SWIM_ALIVE);
	assert_int_equal(count_ev(c, -1, SWIM_EV_DOWN, "n1"), 0);
	assert_int_equal(count_ev(c, -1, SWIM_EV_DOWN, "n0"), 0);
	cl_free(c);
}

static void test_swim_suspect_then_dead_after_timeout(void **state)
{
	(void)state;
	cluster_t *c = cl_new(4, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	assert_true(all_see(c, 3, SWIM_ALIVE));
	uint64_t crash = c->now;
	c->down[3] = 1;
	run_until_all_see(c, 3, SWIM_DEAD, 60000);
	assert_true(count_ev(c, -1, SWIM_EV_SUSPECT, "n3") >= 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(count_ev(c, i, SWIM_EV_DOWN, "n3"), 1);
	/* Nobody declares it dead before the minimum suspicion timeout. */
	uint64_t min = swim_suspicion_timeout_ms(4, 6, 1000, 4, 99, 1);
	for (int k = 0; k < c->ev_len; k++)
		if (c->ev[k].kind == SWIM_EV_DOWN)
			assert_true(c->ev[k].at_ms >= crash + min);
	/* and no live node was doubted */
	for (int j = 0; j < 3; j++)
		assert_true(all_see(c, j, SWIM_ALIVE));
	cl_free(c);
}

static void test_swim_refute_raises_incarnation_everywhere(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	assert_int_equal(swim_incarnation(&c->n[2]), 0);
	feed_doubt(&c->n[0], c->now, SWIM_SUSPECT, "n2", 0, "n1");
	assert_int_equal(view(c, 0, 2), SWIM_SUSPECT);
	cl_pump(c);
	run_until_all_see(c, 2, SWIM_ALIVE, 5000);
	assert_int_equal(swim_incarnation(&c->n[2]), 1);
	assert_int_equal(view_inc(c, 0, 2), 1);
	assert_int_equal(view_inc(c, 1, 2), 1);
	assert_true(swim_stats(&c->n[2])->refutes >= 1);
	assert_int_equal(count_ev(c, 0, SWIM_EV_SUSPECT, "n2"), 1);
	assert_int_equal(count_ev(c, 0, SWIM_EV_UP, "n2"), 2);
	cl_run(c, 30000);
	assert_true(all_see(c, 2, SWIM_ALIVE));
	assert_int_equal(count_ev(c, -1, SWIM_EV_DOWN, "n2"), 0);
	cl_free(c);
}

static void test_swim_leave_is_not_a_failure(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	swim_leave(&c->n[2], c->now);
	swim_ready_t r;
	int done = 0;
	for (int k = 0; k < 100 && !done; k++) {
		cl_pump(c);
		cl_run(c, 100);
		swim_ready(&c->n[2], &r);
		done = r.left_done;
	}
	assert_true(done);
	c->down[2] = 1;
	assert_true(all_see(c, 2, SWIM_LEFT));
	cl_run(c, 30000);
	assert_true(all_see(c, 2, SWIM_LEFT));
	assert_int_equal(count_ev(c, 0, SWIM_EV_LEFT, "n2"), 1);
	assert_int_equal(count_ev(c, -1, SWIM_EV_DOWN, "n2"), 0);
	assert_int_equal(count_ev(c, -1, SWIM_EV_SUSPECT, "n2"), 0);
	assert_int_equal(swim_live_count(&c->n[0]), 2);
	cl_free(c);
}

static void test_swim_rejoin_with_higher_incarnation_after_dead(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	c->down[2] = 1;
	run_until_all_see(c, 2, SWIM_DEAD, 60000);
	uint64_t dead_inc = view_inc(c, 0, 2);
	/* n2 restarts with an empty state and incarnation 0 */
	swim_free(&c->n[2]);
	node_start(c, 2, fast);
	const char *seed = "a0";
	assert_int_equal(swim_join(&c->n[2], c->now, &seed, 1), SH_OK);
	cl_pump(c);
	run_until_all_see(c, 2, SWIM_ALIVE, 10000);
	assert_true(swim_incarnation(&c->n[2]) > dead_inc);
	assert_true(view_inc(c, 0, 2) > dead_inc);
	assert_true(view_inc(c, 1, 2) > dead_inc);
	assert_true(count_ev(c, 1, SWIM_EV_UP, "n2") >= 2);
	assert_int_equal(view(c, 2, 0), SWIM_ALIVE);
	assert_int_equal(view(c, 2, 1), SWIM_ALIVE);
	cl_free(c);
}

static void q128(swim_config_t *cfg)
{
	if (strcmp(cfg->name, "n2") == 0)
		cfg->partitions = 128;
}

static void test_swim_partition_count_mismatch_refused(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, q128);
	cl_join_all(c);
	cl_run(c, 10000);
	assert_int_equal(view(c, 0, 2), -1);
	assert_int_equal(view(c, 1, 2), -1);
	assert_int_equal(view(c, 2, 0), -1);
	assert_int_equal(view(c, 0, 1), SWIM_ALIVE);
	assert_true(swim_stats(&c->n[0])->refused_partitions > 0);
	assert_true(swim_stats(&c->n[2])->refused_partitions > 0);
	int found = 0;
	for (int k = 0; k < c->ev_len; k++) {
		if (c->ev[k].node == 0 && c->ev[k].kind == SWIM_EV_REFUSED)
			found++;
	}
	assert_true(found >= 1);
	/* the event says why and what it announced */
	swim_t *s = &c->n[0];
	pkt_t p;
	pkt_begin(&p, 5, "n9", 1);
	pkt_alive(&p, "n9", 0, "a9", 32);
	assert_int_equal(pkt_send(s, c->now, &p), SH_OK);
	swim_ready_t r;
	swim_ready(s, &r);
	assert_int_equal(r.events_len, 1);
	assert_int_equal(r.events[0].kind, SWIM_EV_REFUSED);
	assert_int_equal(r.events[0].partitions, 32);
	assert_non_null(strstr(r.events[0].reason, "partition"));
	swim_advance(s);
	cl_free(c);
}

static void expect_reject(swim_t *s, const uint8_t *buf, size_t len, int rc,
                          swim_reject_t why)
{
	uint64_t before = swim_stats(s)->rejected[why];
	assert_int_equal(swim_recv(s, 5000, "ax", buf, len), rc);
	assert_int_equal(swim_stats(s)->rejected[why], before + 1);
}

static void test_swim_rejects_garbage_packets(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	uint8_t big[SWIM_PACKET_MAX];
	memset(big, 0x01, sizeof(big));
	expect_reject(s, big, 0, SH_ETRUNC, SWIM_REJECT_EMPTY);
	expect_reject(s, big, sizeof(big), SH_ETOOBIG, SWIM_REJECT_OVERSIZE);
	uint8_t v2[] = {2, 0x90};
	expect_reject(s, v2, sizeof(v2), SH_EVERSION, SWIM_REJECT_VERSION);
	uint8_t junk[] = {1, 0xc1, 0xff};
	expect_reject(s, junk, sizeof(junk), SH_EMALFORMED,
	              SWIM_REJECT_MALFORMED);
	pkt_t p;
	pkt_begin(&p, 9, "x", 0); /* unknown type */
	expect_reject(s, p.b.data, p.b.len, SH_EMALFORMED, SWIM_REJECT_TYPE);
	sh_buf_free(&p.b);
	pkt_begin(&p, 5, "x", 1); /* truncated: one update promised */
	expect_reject(s, p.b.data, p.b.len, SH_ETRUNC, SWIM_REJECT_TRUNCATED);
	sh_buf_free(&p.b);
	pkt_begin(&p, 5, "a-name-that-is-far-too-long-for-shoal-members-xx", 0);
	expect_reject(s, p.b.data, p.b.len, SH_EINVAL, SWIM_REJECT_NAME);
	sh_buf_free(&p.b);
	pkt_begin(&p, 5, "bad\x01", 0);
	expect_reject(s, p.b.data, p.b.len, SH_EINVAL, SWIM_REJECT_NAME);
	sh_buf_free(&p.b);
	pkt_begin(&p, 5, "x", SWIM_PIGGYBACK_HARD_MAX + 1);
	for (int i = 0; i <= SWIM_PIGGYBACK_HARD_MAX; i++)
		pkt_doubt(&p, SWIM_LEFT, "y", 1, NULL);
	expect_reject(s, p.b.data, p.b.len, SH_ETOOBIG,
	              SWIM_REJECT_COUNT_LIMIT);
	sh_buf_free(&p.b);
	pkt_begin(&p, 5, "x", 1); /* partitions out of range */
	pkt_alive(&p, "y", 0, "ay", 0);
	expect_reject(s, p.b.data, p.b.len, SH_EINVAL, SWIM_REJECT_VALUE);
	sh_buf_free(&p.b);
	pkt_begin(&p, 5, "x", 0); /* trailing bytes */
	sh_mp_put_u64(&p.w, 7);
	expect_reject(s, p.b.data, p.b.len, SH_EMALFORMED,
	              SWIM_REJECT_MALFORMED);
	sh_buf_free(&p.b);
	assert_int_equal(swim_member_count(s), 1);
	assert_int_equal(swim_stats(s)->packets_received, 0);
	cl_free(c);
}

static void test_swim_ping_for_another_member_is_counted(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	sh_buf_t b;
	sh_mp_writer_t w;
	sh_buf_init(&b);
	sh_buf_append_u8(&b, SWIM_WIRE_VERSION);
	sh_mp_writer_init(&w, &b);
	sh_mp_put_array(&w, 7);
	sh_mp_put_u64(&w, 1);
	sh_mp_put_u64(&w, 9);
	sh_mp_put_str(&w, "x", 1);
	sh_mp_put_str(&w, "someone", 7);
	sh_mp_put_str(&w, "", 0);
	sh_mp_put_u64(&w, 0);
	sh_mp_put_array(&w, 0);
	assert_int_equal(swim_recv(s, 5000, "ax", b.data, b.len), SH_OK);
	assert_int_equal(swim_stats(s)->rejected[SWIM_REJECT_WRONG_TARGET], 1);
	swim_ready_t r;
	swim_ready(s, &r);
	assert_int_equal(r.packets_len, 0); /* no ack */
	sh_buf_free(&b);
	cl_free(c);
}

static void test_swim_forged_self_claim_is_refuted(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	feed_alive(s, 5000, "n0", 5, "evil");
	assert_int_equal(swim_incarnation(s), 6);
	assert_int_equal(swim_stats(s)->self_claims, 1);
	swim_member_info_t info;
	assert_int_equal(swim_member_get(s, "n0", &info), SH_OK);
	assert_string_equal(info.meta->addr, "a0");
	feed_doubt(s, 5000, SWIM_DEAD, "n0", 6, "n1");
	assert_int_equal(swim_incarnation(s), 7);
	assert_int_equal(info.state, SWIM_ALIVE);
	feed_doubt(s, 5000, SWIM_SUSPECT, "n0", 3, "n1"); /* stale */
	assert_int_equal(swim_incarnation(s), 7);
	cl_free(c);
}

/* Every truncation and many random corruptions: error or accept. */
static void fuzz_one(swim_t *s, const uint8_t *buf, size_t len, sh_rand_t *rnd,
                     int stream)
{
	uint8_t tmp[SWIM_PACKET_MAX * 4];
	sh_buf_t reply;
	sh_buf_init(&reply);
	assert_true(len <= sizeof(tmp));
	for (size_t cut = 0; cut <= len; cut++) {
		memcpy(tmp, buf, cut);
		if (stream)
			swim_recv_state(s, 9000, "ax", tmp, cut, &reply);
		else
			swim_recv(s, 9000, "ax", tmp, cut);
	}
	for (int k = 0; k < 300; k++) {
		memcpy(tmp, buf, len);
		int flips = 1 + (int)sh_rand_below(rnd, 4);
		for (int f = 0; f < flips; f++)
			tmp[sh_rand_below(rnd, len)] =
			    (uint8_t)sh_rand_u64(rnd);
		sh_buf_reset(&reply);
		if (stream)
			swim_recv_state(s, 9000, "ax", tmp, len, &reply);
		else
			swim_recv(s, 9000, "ax", tmp, len);
		swim_tick(s, 9000 + (uint64_t)k);
		swim_advance(s);
	}
	sh_buf_free(&reply);
}

static void test_swim_fuzz_truncations_and_corruptions(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, fast);
	c->capture = 1;
	cl_join_all(c);
	cl_run(c, 2000);
	feed_doubt(&c->n[0], c->now, SWIM_SUSPECT, "n2", 0, "n1");
	cl_run(c, 1000);
	assert_true(c->cap_n >= 10);
	sh_rand_t rnd;
	sh_rand_seed(&rnd, 42);
	swim_t victim;
	swim_config_t cfg;
	char name[16], addr[16];
	node_cfg(&cfg, 5, name, addr);
	assert_int_equal(swim_init(&victim, &cfg), SH_OK);
	for (int k = 0; k < c->cap_n; k++)
		fuzz_one(&victim, c->cap_buf[k], c->cap_len[k], &rnd, 0);
	sh_buf_t st;
	sh_buf_init(&st);
	sh_buf_reset(&c->reply);
	/* a full state, as a stream would carry it */
	const char *seed = "a0";
	swim_t joiner;
	node_cfg(&cfg, 4, name, addr);
	assert_int_equal(swim_init(&joiner, &cfg), SH_OK);
	assert_int_equal(swim_join(&joiner, c->now, &seed, 1), SH_OK);
	swim_ready_t r;
	swim_ready(&joiner, &r);
	assert_int_equal(r.streams_len, 1);
	assert_int_equal(swim_recv_state(&c->n[0], c->now, "a4",
	                                 r.streams[0].data, r.streams[0].len,
	                                 &st),
	                 SH_OK);
	fuzz_one(&victim, r.streams[0].data, r.streams[0].len, &rnd, 1);
	fuzz_one(&victim, st.data, st.len, &rnd, 1);
	assert_true(swim_stats(&victim)->rejected[SWIM_REJECT_TRUNCATED] > 0);
	swim_free(&joiner);
	swim_free(&victim);
	sh_buf_free(&st);
	cl_free(c);
}

static void test_swim_precedence_rule_table(void **state)
{
	(void)state;
	static const struct {
		uint64_t ni;
		swim_state_t ns;
		uint64_t oi;
		swim_state_t os;
		int wins;
	} t[] = {
	    {2, SWIM_ALIVE, 1, SWIM_DEAD, 1},
	    {2, SWIM_ALIVE, 1, SWIM_LEFT, 1},
	    {1, SWIM_DEAD, 2, SWIM_ALIVE, 0},
	    {1, SWIM_SUSPECT, 1, SWIM_ALIVE, 1},
	    {1, SWIM_ALIVE, 1, SWIM_SUSPECT, 0},
	    {1, SWIM_DEAD, 1, SWIM_SUSPECT, 1},
	    {1, SWIM_LEFT, 1, SWIM_SUSPECT, 1},
	    {1, SWIM_SUSPECT, 1, SWIM_DEAD, 0},
	    {1, SWIM_DEAD, 1, SWIM_LEFT, 0},
	    {1, SWIM_LEFT, 1, SWIM_DEAD, 1},
	    {1, SWIM_ALIVE, 1, SWIM_ALIVE, 0},
	    {1, SWIM_SUSPECT, 1, SWIM_SUSPECT, 0},
	    {3, SWIM_SUSPECT, 2, SWIM_SUSPECT, 1},
	    {0, SWIM_LEFT, 1, SWIM_ALIVE, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(
		    swim_overrides(t[i].ni, t[i].ns, t[i].oi, t[i].os),
		    t[i].wins);
	/* and the table applies to received updates */
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	swim_member_info_t info;
	feed_alive(s, 5000, "x", 1, "ax1");
	feed_doubt(s, 5000, SWIM_SUSPECT, "x", 0, "y"); /* stale */
	assert_int_equal(swim_member_get(s, "x", &info), SH_OK);
	assert_int_equal(info.state, SWIM_ALIVE);
	feed_doubt(s, 5000, SWIM_DEAD, "x", 1, "y");
	assert_int_equal(swim_member_get(s, "x", &info), SH_OK);
	assert_int_equal(info.state, SWIM_DEAD);
	feed_alive(s, 5000, "x", 1, "ax1");
	assert_int_equal(swim_member_get(s, "x", &info), SH_OK);
	assert_int_equal(info.state, SWIM_DEAD);
	feed_alive(s, 5000, "x", 2, "ax2");
	assert_int_equal(swim_member_get(s, "x", &info), SH_OK);
	assert_int_equal(info.state, SWIM_ALIVE);
	assert_string_equal(info.meta->addr, "ax2");
	feed_doubt(s, 5000, SWIM_SUSPECT, "unknown", 4, "y");
	assert_int_equal(swim_member_get(s, "unknown", &info), SH_ENOTFOUND);
	cl_free(c);
}

/* Counts the updates of `kind` about `name` in one packet. */
static int count_updates(const uint8_t *buf, size_t len, int kind,
                         const char *name)
{
	sh_mp_reader_t r;
	uint32_t n, m;
	uint64_t k;
	const uint8_t *p;
	size_t plen;
	int found = 0;
	assert_true(len > 1 && buf[0] == SWIM_WIRE_VERSION);
	sh_mp_reader_init(&r, buf + 1, len - 1);
	assert_int_equal(sh_mp_get_array(&r, &n), SH_OK);
	for (int i = 0; i < 6; i++)
		assert_int_equal(sh_mp_skip(&r, 4), SH_OK);
	assert_int_equal(sh_mp_get_array(&r, &n), SH_OK);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(sh_mp_get_array(&r, &m), SH_OK);
		assert_int_equal(sh_mp_get_u64(&r, &k), SH_OK);
		assert_int_equal(sh_mp_get_str(&r, &p, &plen), SH_OK);
		if ((int)k == kind && plen == strlen(name) &&
		    memcmp(p, name, plen) == 0)
			found++;
		for (uint32_t f = 2; f < m; f++)
			assert_int_equal(sh_mp_skip(&r, 4), SH_OK);
	}
	assert_int_equal(sh_mp_reader_left(&r), 0);
	return found;
}

/* Drains node s's batch: counts matching updates, tracks packet sizes. */
static int drain(swim_t *s, int kind, const char *name, size_t *maxlen,
                 int *packets)
{
	swim_ready_t r;
	int n = 0;
	swim_ready(s, &r);
	for (size_t k = 0; k < r.packets_len; k++) {
		assert_true(r.packets[k].len < SWIM_PACKET_MAX);
		if (r.packets[k].len > *maxlen)
			*maxlen = r.packets[k].len;
		n += count_updates(r.packets[k].data, r.packets[k].len, kind,
		                   name);
	}
	*packets += (int)r.packets_len;
	swim_advance(s);
	return n;
}

static void test_swim_retransmit_limit(void **state)
{
	(void)state;
	assert_int_equal(swim_retransmit_limit(4, 1), 4);
	assert_int_equal(swim_retransmit_limit(4, 9), 4);
	assert_int_equal(swim_retransmit_limit(4, 10), 8);
	assert_int_equal(swim_retransmit_limit(4, 99), 8);
	assert_int_equal(swim_retransmit_limit(4, 100), 12);
	assert_int_equal(swim_retransmit_limit(4, 1000), 16);
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	feed_alive(s, 5000, "peer-one", 0, "nowhere1");
	feed_alive(s, 5000, "peer-two", 0, "nowhere2");
	swim_advance(s);
	/* 3 live members: each update goes out 4 * ceil(log10(4)) = 4 times */
	int sent = 0, packets = 0;
	size_t maxlen = 0;
	for (uint64_t t = 5000; t < 60000; t += 50) {
		swim_tick(s, t);
		sent += drain(s, SWIM_ALIVE, "peer-one", &maxlen, &packets);
	}
	assert_int_equal(sent, 4);
	assert_true(packets > 4);
	cl_free(c);
}

static void many(swim_config_t *cfg)
{
	cfg->members_max = 512;
}

static void test_swim_packets_stay_under_bound_with_many_members(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, many);
	swim_t *s = &c->n[0];
	char name[SWIM_NAME_MAX + 1], addr[SWIM_ADDR_MAX + 1];
	for (int i = 0; i < 300; i++) {
		pkt_t p;
		pkt_begin(&p, 5, "feeder", 1);
		memset(name, 'm', SWIM_NAME_MAX);
		memset(addr, 'a', SWIM_ADDR_MAX);
		snprintf(name, sizeof(name), "%04d", i);
		name[4] = 'm';
		name[SWIM_NAME_MAX] = '\0';
		snprintf(addr, sizeof(addr), "%04d", i);
		addr[4] = 'a';
		addr[SWIM_ADDR_MAX] = '\0';
		sh_mp_put_array(&p.w, 7);
		sh_mp_put_u64(&p.w, SWIM_ALIVE);
		put_s(&p, name);
		sh_mp_put_u64(&p.w, 0);
		put_s(&p, addr);
		put_s(&p, addr);
		sh_mp_put_u64(&p.w, 64);
		sh_mp_put_u64(&p.w, UINT64_MAX);
		assert_int_equal(pkt_send(s, 5000, &p), SH_OK);
	}
	assert_int_equal(swim_member_count(s), 301);
	swim_advance(s);
	size_t maxlen = 0;
	int packets = 0;
	for (uint64_t t = 5000; t < 20000; t += 50) {
		swim_tick(s, t);
		drain(s, SWIM_ALIVE, "none", &maxlen, &packets);
	}
	assert_true(packets > 100);
	assert_true(maxlen < SWIM_PACKET_MAX);
	assert_true(maxlen > SWIM_PACKET_MAX - 300); /* they were full */
	/* the full state is not bound by the datagram size */
	sh_buf_t st;
	sh_buf_init(&st);
	const char *seed = "far";
	swim_t j;
	swim_config_t cfg;
	char jn[16], ja[16];
	node_cfg(&cfg, 5, jn, ja);
	assert_int_equal(swim_init(&j, &cfg), SH_OK);
	assert_int_equal(swim_join(&j, 5000, &seed, 1), SH_OK);
	swim_ready_t r;
	swim_ready(&j, &r);
	assert_int_equal(swim_recv_state(s, 5000, "a5", r.streams[0].data,
	                                 r.streams[0].len, &st),
	                 SH_OK);
	assert_true(st.len > 300 * 150);
	assert_int_equal(
	    swim_recv_state(&j, 5000, "far", st.data, st.len, NULL), SH_OK);
	assert_int_equal(swim_member_count(&j), 302);
	swim_free(&j);
	sh_buf_free(&st);
	cl_free(c);
}

static void test_swim_suspicion_timeout_formula(void **state)
{
	(void)state;
	/* n = 10: min = 4 * 1 * 1000, max = 6 * min */
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 10, 0, 1),
	                 24000);
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 10, 1, 1),
	                 11381); /* 24000 - 20000 * log(2) / log(3) */
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 10, 2, 1), 4000);
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 10, 7, 1), 4000);
	/* n below 10 counts as 10; n = 100 doubles, n = 1000 triples */
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 1, 2, 1), 4000);
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 100, 2, 1),
	                 8000);
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 1000, 0, 1),
	                 72000);
	/* without Lifeguard: always the minimum */
	assert_int_equal(swim_suspicion_timeout_ms(4, 6, 1000, 10, 0, 0), 4000);
	/* suspicion_mult 2: k = 0, no confirmations needed */
	assert_int_equal(swim_suspicion_timeout_ms(2, 6, 1000, 10, 0, 1), 2000);
}

static void test_swim_suspicion_shrinks_with_confirmations(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	swim_member_info_t info;
	for (int i = 1; i <= 4; i++) {
		char name[16], addr[16];
		sprintf(name, "p%d", i);
		sprintf(addr, "b%d", i);
		feed_alive(s, 5000, name, 0, addr);
	}
	feed_doubt(s, 6000, SWIM_SUSPECT, "p4", 0, "p1");
	assert_int_equal(swim_member_get(s, "p4", &info), SH_OK);
	assert_int_equal(info.state, SWIM_SUSPECT);
	assert_int_equal(info.confirmations, 0);
	assert_int_equal(info.suspect_deadline_ms, 6000 + 24000);
	feed_doubt(s, 6100, SWIM_SUSPECT, "p4", 0, "p1"); /* not independent */
	assert_int_equal(swim_member_get(s, "p4", &info), SH_OK);
	assert_int_equal(info.confirmations, 0);
	feed_doubt(s, 6200, SWIM_SUSPECT, "p4", 0, "p2");
	assert_int_equal(swim_member_get(s, "p4", &info), SH_OK);
	assert_int_equal(info.confirmations, 1);
	assert_int_equal(info.suspect_deadline_ms, 6000 + 11381);
	feed_doubt(s, 6300, SWIM_SUSPECT, "p4", 0, "p3");
	assert_int_equal(swim_member_get(s, "p4", &info), SH_OK);
	assert_int_equal(info.confirmations, 2);
	assert_int_equal(info.suspect_deadline_ms, 6000 + 4000);
	/* the timer fires at the shrunk deadline */
	swim_tick(s, 9999);
	assert_int_equal(swim_member_get(s, "p4", &info), SH_OK);
	assert_int_equal(info.state, SWIM_SUSPECT);
	swim_tick(s, 10000);
	assert_int_equal(swim_member_get(s, "p4", &info), SH_OK);
	assert_int_equal(info.state, SWIM_DEAD);
	assert_int_equal(swim_stats(s)->deaths_declared, 1);
	cl_free(c);
}

static void test_swim_health_rises_falls_and_scales_timeouts(void **state)
{
	(void)state;
	cluster_t *c = cl_new(4, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	assert_int_equal(swim_health(&c->n[0]), 0);
	c->deaf[0] = 1; /* n0 hears nothing: its probes all fail */
	uint32_t peak = 0;
	for (int k = 0; k < 100 && peak < 8; k++) {
		cl_run(c, 1000);
		if (swim_health(&c->n[0]) > peak)
			peak = swim_health(&c->n[0]);
	}
	assert_int_equal(peak, 8);
	assert_int_equal(swim_probe_interval_ms(&c->n[0]), 9000);
	assert_int_equal(swim_probe_timeout_ms(&c->n[0]), 4500);
	/* the others, who hear each other, stay healthy */
	assert_int_equal(swim_health(&c->n[1]), 0);
	c->deaf[0] = 0;
	for (int k = 0; k < 200 && swim_health(&c->n[0]) > 0; k++)
		cl_run(c, 1000);
	assert_int_equal(swim_health(&c->n[0]), 0);
	assert_int_equal(swim_probe_interval_ms(&c->n[0]), 1000);
	cl_free(c);
}

static void plain_swim(swim_config_t *cfg)
{
	cfg->lifeguard = 0;
}

static void test_swim_without_lifeguard(void **state)
{
	(void)state;
	cluster_t *c = cl_new(4, plain_swim);
	cl_join_all(c);
	cl_run(c, 3000);
	c->deaf[0] = 1;
	cl_run(c, 10000);
	assert_int_equal(swim_health(&c->n[0]), 0);
	assert_int_equal(swim_probe_interval_ms(&c->n[0]), 1000);
	c->deaf[0] = 0;
	swim_t *s = &c->n[1];
	swim_member_info_t info;
	feed_doubt(s, c->now, SWIM_SUSPECT, "n3", view_inc(c, 1, 3) + 5, "x");
	assert_int_equal(swim_member_get(s, "n3", &info), SH_OK);
	assert_int_equal(info.suspect_deadline_ms, c->now + 4000);
	cl_free(c);
}

static void test_swim_push_pull_merges_state(void **state)
{
	(void)state;
	cluster_t *c = cl_new(2, fast);
	swim_t *a = &c->n[0], *b = &c->n[1];
	feed_alive(a, 1000, "x", 3, "ax");
	feed_alive(b, 1000, "x", 2, "ax");
	feed_doubt(b, 1000, SWIM_DEAD, "x", 2, "n1");
	feed_alive(b, 1000, "y", 0, "ay");
	feed_alive(b, 1000, "z", 4, "az");
	feed_doubt(a, 1000, SWIM_SUSPECT, "w", 0, "q"); /* unknown: ignored */
	feed_alive(a, 1000, "v", 1, "av");
	feed_doubt(a, 1000, SWIM_DEAD, "v", 1, "n0");
	swim_advance(a);
	swim_advance(b);
	const char *seed = "a1";
	assert_int_equal(swim_join(a, 1000, &seed, 1), SH_OK);
	c->block[0][1] = 0;
	cl_pump(c);
	swim_member_info_t info;
	for (int i = 0; i < 2; i++) {
		swim_t *s = &c->n[i];
		assert_int_equal(swim_member_get(s, "x", &info), SH_OK);
		assert_int_equal(info.state, SWIM_ALIVE);
		assert_int_equal(info.incarnation, 3);
		assert_int_equal(swim_member_get(s, "y", &info), SH_OK);
		assert_int_equal(swim_member_get(s, "z", &info), SH_OK);
		assert_int_equal(info.incarnation, 4);
		assert_int_equal(view(c, i, 1 - i), SWIM_ALIVE);
	}
	/* a member the peer thinks dead only becomes suspect here */
	assert_int_equal(swim_member_get(b, "v", &info), SH_OK);
	assert_int_equal(info.state, SWIM_SUSPECT);
	assert_int_equal(swim_stats(a)->states_merged, 1);
	assert_int_equal(swim_stats(b)->states_merged, 1);
	/* periodic push-pull: one exchange per interval (30 s) */
	uint64_t before = swim_stats(a)->streams_sent;
	cl_run(c, 61000);
	uint64_t got = swim_stats(a)->streams_sent - before;
	assert_true(got >= 1 && got <= 3);
	cl_free(c);
}

static void test_swim_join_retries_with_backoff(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, fast);
	swim_t *s = &c->n[0];
	const char *seed = "nobody";
	uint64_t at[16];
	int n = 0;
	assert_int_equal(swim_join(s, 0, &seed, 1), SH_OK);
	for (uint64_t t = 0; t <= 150000; t += 10) {
		swim_tick(s, t);
		swim_ready_t r;
		swim_ready(s, &r);
		for (size_t k = 0; k < r.streams_len && n < 16; k++) {
			assert_string_equal(r.streams[k].to, "nobody");
			at[n++] = t;
		}
		swim_advance(s);
	}
	assert_true(n >= 8);
	assert_int_equal(at[0], 0);
	assert_int_equal(at[1] - at[0], 1000);
	assert_int_equal(at[2] - at[1], 2000);
	assert_int_equal(at[3] - at[2], 4000);
	assert_int_equal(at[4] - at[3], 8000);
	assert_int_equal(at[5] - at[4], 16000);
	assert_int_equal(at[6] - at[5], 30000);
	assert_int_equal(at[7] - at[6], 30000);
	/* meanwhile it serves as a cluster of one */
	assert_int_equal(swim_live_count(s), 1);
	assert_int_equal(swim_stats(s)->join_attempts, (uint64_t)n);
	/* own address among the seeds is skipped; too many seeds refused */
	const char *self = "a0";
	assert_int_equal(swim_join(s, 0, &self, 1), SH_OK);
	const char *lots[SWIM_SEEDS_MAX + 1];
	for (int i = 0; i <= SWIM_SEEDS_MAX; i++)
		lots[i] = "x";
	assert_int_equal(swim_join(s, 0, lots, SWIM_SEEDS_MAX + 1), SH_ETOOBIG);
	const char *bad = "";
	assert_int_equal(swim_join(s, 0, &bad, 1), SH_EINVAL);
	cl_free(c);
}

static void test_swim_join_succeeds_once_seed_appears(void **state)
{
	(void)state;
	cluster_t *c = cl_new(2, fast);
	c->down[0] = 1;
	const char *seed = "a0";
	assert_int_equal(swim_join(&c->n[1], c->now, &seed, 1), SH_OK);
	cl_run(c, 5000);
	assert_int_equal(swim_live_count(&c->n[1]), 1);
	c->down[0] = 0;
	cl_run(c, 40000);
	assert_int_equal(view(c, 1, 0), SWIM_ALIVE);
	assert_int_equal(view(c, 0, 1), SWIM_ALIVE);
	uint64_t attempts = swim_stats(&c->n[1])->join_attempts;
	cl_run(c, 60000);
	assert_int_equal(swim_stats(&c->n[1])->join_attempts, attempts);
	cl_free(c);
}

static void test_swim_metadata_update_is_announced(void **state)
{
	(void)state;
	cluster_t *c = cl_new(3, fast);
	cl_join_all(c);
	cl_run(c, 3000);
	assert_int_equal(swim_set_meta(&c->n[1], c->now, "h2:8080"), SH_OK);
	cl_run(c, 3000);
	swim_member_info_t info;
	assert_int_equal(swim_member_get(&c->n[0], "n1", &info), SH_OK);
	assert_string_equal(info.meta->http_addr, "h2:8080");
	assert_int_equal(info.meta->version, 1);
	assert_int_equal(count_ev(c, 0, SWIM_EV_UPDATED, "n1"), 1);
	assert_int_equal(count_ev(c, 2, SWIM_EV_UPDATED, "n1"), 1);
	cl_free(c);
}

static void test_swim_five_nodes_converge_and_detect(void **state)
{
	(void)state;
	cluster_t *c = cl_new(5, fast);
	cl_join_all(c);
	cl_run(c, 5000);
	for (int j = 0; j < 5; j++)
		assert_true(all_see(c, j, SWIM_ALIVE));
	c->down[4] = 1;
	c->down[3] = 1;
	run_until_all_see(c, 4, SWIM_DEAD, 60000);
	run_until_all_see(c, 3, SWIM_DEAD, 60000);
	for (int j = 0; j < 3; j++)
		assert_true(all_see(c, j, SWIM_ALIVE));
	assert_int_equal(swim_live_count(&c->n[0]), 3);
	cl_free(c);
}

static void small_table(swim_config_t *cfg)
{
	cfg->members_max = 6;
	cfg->dead_reclaim_ms = 60000;
}

static void test_swim_dead_members_forgotten_and_evicted(void **state)
{
	(void)state;
	cluster_t *c = cl_new(1, small_table);
	swim_t *s = &c->n[0];
	swim_member_info_t info;
	char name[16], addr[16];
	for (int i = 1; i <= 5; i++) {
		sprintf(name, "m%d", i);
		sprintf(addr, "b%d", i);
		feed_alive(s, 1000, name, 0, addr);
	}
	assert_int_equal(swim_member_count(s), 6);
	feed_alive(s, 1000, "m6", 0, "b6"); /* full, nobody dead: refused */
	assert_int_equal(swim_member_get(s, "m6", &info), SH_ENOTFOUND);
	assert_int_equal(swim_stats(s)->refused_full, 1);
	feed_doubt(s, 2000, SWIM_DEAD, "m2", 0, "x");
	feed_doubt(s, 3000, SWIM_LEFT, "m4", 0, NULL);
	feed_alive(s, 4000, "m6", 0, "b6"); /* evicts m2, dead longest */
	assert_int_equal(swim_member_get(s, "m2", &info), SH_ENOTFOUND);
	assert_int_equal(swim_member_get(s, "m6", &info), SH_OK);
	assert_int_equal(swim_member_get(s, "m4", &info), SH_OK);
	assert_int_equal(info.state, SWIM_LEFT);
	for (int i = 1; i <= 6; i++) {
		sprintf(name, "m%d", i);
		if (i != 2)
			assert_int_equal(swim_member_get(s, name, &info),
			                 SH_OK);
	}
	/* a stale rumour cannot bring a left member back... */
	feed_alive(s, 5000, "m4", 0, "b4");
	assert_int_equal(swim_member_get(s, "m4", &info), SH_OK);
	assert_int_equal(info.state, SWIM_LEFT);
	/* ...and after dead_reclaim_ms it is forgotten */
	for (uint64_t t = 5000; t < 200000; t += 100) {
		swim_tick(s, t);
		swim_advance(s);
	}
	assert_int_equal(swim_member_get(s, "m4", &info), SH_ENOTFOUND);
	assert_int_equal(swim_member_get(s, "n0", &info), SH_OK);
	/* every remaining member is still found through the index */
	for (size_t i = 0; i < swim_member_count(s); i++) {
		assert_int_equal(swim_member_at(s, i, &info), SH_OK);
		swim_member_info_t again;
		assert_int_equal(swim_member_get(s, info.name, &again), SH_OK);
		assert_string_equal(again.name, info.name);
	}
	cl_free(c);
}

static void no_stream_ping(swim_config_t *cfg)
{
	cfg->stream_ping = 0;
}

static void test_swim_stream_ping_saves_probe_when_datagrams_fail(void **state)
{
	(void)state;
	for (int on = 0; on < 2; on++) {
		cluster_t *c = cl_new(2, on ? fast : no_stream_ping);
		cl_join_all(c);
		cl_run(c, 3000);
		assert_int_equal(view(c, 0, 1), SWIM_ALIVE);
		c->udp_block[0][1] = c->udp_block[1][0] = 1;
		cl_run(c, 5000);
		const swim_stats_t *st = swim_stats(&c->n[0]);
		if (on) {
			assert_true(st->stream_pings > 0);
			assert_true(st->probes_stream_acked > 0);
			assert_int_equal(view(c, 0, 1), SWIM_ALIVE);
			assert_int_equal(count_ev(c, -1, SWIM_EV_SUSPECT, "n1"),
			                 0);
		} else {
			assert_int_equal(st->stream_pings, 0);
			assert_int_equal(count_ev(c, 0, SWIM_EV_SUSPECT, "n1"),
			                 1);
		}
		cl_free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_swim_config_defaults_and_time_scale),
	    cmocka_unit_test(test_swim_init_rejects_bad_config),
	    cmocka_unit_test(test_swim_probe_ack_keeps_everyone_alive),
	    cmocka_unit_test(test_swim_ping_req_relayed),
	    cmocka_unit_test(
	        test_swim_stream_ping_saves_probe_when_datagrams_fail),
	    cmocka_unit_test(test_swim_suspect_then_dead_after_timeout),
	    cmocka_unit_test(test_swim_refute_raises_incarnation_everywhere),
	    cmocka_unit_test(test_swim_leave_is_not_a_failure),
	    cmocka_unit_test(
	        test_swim_rejoin_with_higher_incarnation_after_dead),
	    cmocka_unit_test(test_swim_partition_count_mismatch_refused),
	    cmocka_unit_test(test_swim_rejects_garbage_packets),
	    cmocka_unit_test(test_swim_ping_for_another_member_is_counted),
	    cmocka_unit_test(test_swim_forged_self_claim_is_refuted),
	    cmocka_unit_test(test_swim_fuzz_truncations_and_corruptions),
	    cmocka_unit_test(test_swim_precedence_rule_table),
	    cmocka_unit_test(test_swim_retransmit_limit),
	    cmocka_unit_test(
	        test_swim_packets_stay_under_bound_with_many_members),
	    cmocka_unit_test(test_swim_suspicion_timeout_formula),
	    cmocka_unit_test(test_swim_suspicion_shrinks_with_confirmations),
	    cmocka_unit_test(test_swim_health_rises_falls_and_scales_timeouts),
	    cmocka_unit_test(test_swim_without_lifeguard),
	    cmocka_unit_test(test_swim_push_pull_merges_state),
	    cmocka_unit_test(test_swim_join_retries_with_backoff),
	    cmocka_unit_test(test_swim_join_succeeds_once_seed_appears),
	    cmocka_unit_test(test_swim_metadata_update_is_announced),
	    cmocka_unit_test(test_swim_five_nodes_converge_and_detect),
	    cmocka_unit_test(test_swim_dead_members_forgotten_and_evicted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
