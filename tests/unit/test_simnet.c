/*
 * test_simnet.c - unit tests of shoal-sim's simulated network
 * (tests/sim/sim_net.c) and its event heap (tests/sim/sim_heap.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "tests/sim/sim_heap.h"
#include "tests/sim/sim_net.h"

/* A network of n nodes with a fixed 10 ms delay and no faults. */
static void setup(sim_net_t *net, sh_rand_t *r, uint32_t n, uint64_t seed)
{
	sim_net_cfg_t cfg;
	sim_net_cfg_default(&cfg, n);
	cfg.faults.delay_min_ms = 10;
	cfg.faults.delay_mean_ms = 10;
	cfg.faults.stream_delay_ms = 10;
	cfg.faults.stream_fail_ms = 100;
	sh_rand_seed(r, seed);
	assert_int_equal(sim_net_init(net, &cfg, r), SH_OK);
}

static void set_faults(sim_net_t *net, uint64_t min_ms, uint64_t mean_ms,
                       double loss, double dup, double reorder)
{
	sim_net_faults_t f = net->cfg.faults;
	f.delay_min_ms = min_ms;
	f.delay_mean_ms = mean_ms;
	f.loss = loss;
	f.dup = dup;
	f.reorder = reorder;
	assert_int_equal(sim_net_set_faults(net, &f), SH_OK);
}

static int pop(sim_net_t *net, uint64_t now_ms, sim_net_msg_t *m)
{
	return sim_net_pop(net, now_ms, m);
}

static uint32_t payload_u32(const sim_net_msg_t *m)
{
	uint32_t v;
	assert_int_equal(m->len, sizeof(v));
	memcpy(&v, m->bytes, sizeof(v));
	return v;
}

static void send_u32(sim_net_t *net, uint32_t from, uint32_t to, uint32_t v,
                     uint64_t now_ms)
{
	assert_int_equal(sim_net_send(net, from, to, &v, sizeof(v), now_ms),
	                 SH_OK);
}

static void stream_u32(sim_net_t *net, uint32_t from, uint32_t to, uint32_t v,
                       uint64_t now_ms)
{
	assert_int_equal(
	    sim_net_send_stream(net, from, to, &v, sizeof(v), now_ms), SH_OK);
}

/* Totals: sent + duplicated == delivered + drops, once nothing is queued. */
static void assert_balanced(const sim_net_stats_t *s)
{
	assert_true(s->sent + s->duplicated ==
	            s->delivered + s->dropped_loss + s->dropped_partition +
	                s->dropped_crash + s->dropped_queue);
}

static void test_simnet_heap_orders_by_time_then_seq(void **state)
{
	(void)state;
	sim_heap_t h;
	sh_rand_t r;
	sh_rand_seed(&r, 7);
	assert_int_equal(sim_heap_init(&h, 5000), SH_OK);
	for (uint64_t i = 0; i < 5000; i++)
		assert_int_equal(
		    sim_heap_push(&h, sh_rand_below(&r, 50), i, i * 3), SH_OK);
	assert_int_equal(sim_heap_push(&h, 0, 0, 0), SH_ETOOBIG);
	sim_heap_entry_t prev = {0, 0, 0}, e;
	for (int i = 0; i < 2500; i++) {
		assert_int_equal(sim_heap_pop(&h, &e), SH_OK);
		assert_true(e.at_ms > prev.at_ms ||
		            (e.at_ms == prev.at_ms && e.seq >= prev.seq));
		assert_true(e.value == e.seq * 3);
		prev = e;
	}
	assert_int_equal(sim_heap_len(&h), 2500);
	sim_heap_free(&h);
	assert_int_equal(sim_heap_len(&h), 0);
	assert_true(sim_heap_next_ms(&h) == UINT64_MAX);
	assert_int_equal(sim_heap_pop(&h, &e), SH_ENOTFOUND);
}

static int keep_odd_seq(sim_heap_entry_t *e, void *ctx)
{
	(void)ctx;
	if (e->seq % 4 == 1)
		e->at_ms = 1000 + e->seq; /* moved later */
	return e->seq % 2 == 1;
}

static void test_simnet_heap_filter_keeps_order(void **state)
{
	(void)state;
	sim_heap_t h;
	sh_rand_t r;
	sh_rand_seed(&r, 8);
	assert_int_equal(sim_heap_init(&h, 1000), SH_OK);
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(
		    sim_heap_push(&h, sh_rand_below(&r, 100), i, i), SH_OK);
	sim_heap_filter(&h, keep_odd_seq, NULL);
	assert_int_equal(sim_heap_len(&h), 500);
	sim_heap_entry_t prev = {0, 0, 0}, e;
	int late = 0;
	while (sim_heap_pop(&h, &e) == SH_OK) {
		assert_true(e.seq % 2 == 1);
		assert_true(e.at_ms > prev.at_ms ||
		            (e.at_ms == prev.at_ms && e.seq > prev.seq));
		late += e.at_ms >= 1000;
		prev = e;
	}
	assert_int_equal(late, 250);
	sim_heap_free(&h);
}

static void test_simnet_delivers_in_time_then_seq_order(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 3, 1);
	assert_true(sim_net_next_time(&net) == UINT64_MAX);
	assert_int_equal(sim_net_send(&net, 0, 1, "A", 1, 0), SH_OK);
	assert_int_equal(sim_net_send(&net, 2, 0, "C", 1, 0), SH_OK);
	assert_int_equal(sim_net_send(&net, 1, 2, "B", 1, 3), SH_OK);
	assert_int_equal(sim_net_queued(&net), 3);
	assert_true(sim_net_next_time(&net) == 10);
	assert_int_equal(pop(&net, 9, &m), 0);
	assert_int_equal(pop(&net, 10, &m), 1);
	assert_true(m.at_ms == 10 && m.from == 0 && m.to == 1);
	assert_int_equal(m.kind, SIM_NET_DGRAM);
	assert_memory_equal(m.bytes, "A", 1);
	assert_int_equal(pop(&net, 10, &m), 1);
	assert_true(m.from == 2 && m.to == 0 && m.bytes[0] == 'C');
	assert_int_equal(pop(&net, 10, &m), 0);
	assert_true(sim_net_next_time(&net) == 13);
	assert_int_equal(pop(&net, 50, &m), 1);
	assert_true(m.at_ms == 13 && m.bytes[0] == 'B');
	/* A send back in time is taken to happen at the latest send time. */
	assert_int_equal(sim_net_send(&net, 0, 1, "D", 1, 1), SH_OK);
	assert_true(sim_net_next_time(&net) == 13);
	assert_int_equal(pop(&net, 50, &m), 1);
	assert_true(m.at_ms == 13 && m.bytes[0] == 'D');
	/* A node can send to itself; an empty message is fine. */
	assert_int_equal(sim_net_send(&net, 2, 2, NULL, 0, 20), SH_OK);
	assert_int_equal(pop(&net, 30, &m), 1);
	assert_true(m.from == 2 && m.to == 2 && m.len == 0);
	assert_int_equal(sim_net_queued(&net), 0);
	assert_true(sim_net_stats(&net, SIM_NET_ALL)->delivered == 5);
	sim_net_free(&net);
}

static void test_simnet_loss_rate_roughly_as_configured(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 2, 2);
	set_faults(&net, 10, 10, 0.2, 0.0, 0.0);
	const uint32_t n = 20000;
	for (uint32_t i = 0; i < n; i++)
		send_u32(&net, 0, 1, i, i);
	const sim_net_stats_t *s = sim_net_stats(&net, 0);
	assert_true(s->sent == n);
	assert_true(s->dropped_loss > 3600 && s->dropped_loss < 4400);
	uint64_t got = 0;
	while (pop(&net, UINT64_MAX - 1, &m))
		got++;
	assert_true(got == n - s->dropped_loss);
	assert_true(sim_net_stats(&net, 1)->delivered == got);
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	sim_net_free(&net);
}

static void test_simnet_duplicates_get_their_own_delay(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	static uint8_t seen[10000];
	static uint64_t first_at[10000];
	memset(seen, 0, sizeof(seen));
	setup(&net, &r, 2, 3);
	set_faults(&net, 1, 20, 0.0, 0.25, 0.0);
	for (uint32_t i = 0; i < 10000; i++)
		send_u32(&net, 0, 1, i, 0);
	uint64_t dups = sim_net_stats(&net, 0)->duplicated;
	assert_true(dups > 2200 && dups < 2800);
	uint64_t twice = 0, apart = 0;
	while (pop(&net, UINT64_MAX - 1, &m)) {
		uint32_t i = payload_u32(&m);
		assert_true(i < 10000 && seen[i] < 2);
		if (seen[i]++ == 0) {
			first_at[i] = m.at_ms;
		} else {
			twice++;
			apart += m.at_ms != first_at[i];
		}
	}
	for (uint32_t i = 0; i < 10000; i++)
		assert_true(seen[i] >= 1);
	assert_true(twice == dups);
	assert_true(apart > dups / 2);
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	sim_net_free(&net);
}

static void test_simnet_random_delays_reorder(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 2, 4);
	set_faults(&net, 5, 25, 0.0, 0.0, 0.0);
	for (uint32_t i = 0; i < 10000; i++)
		send_u32(&net, 0, 1, i, i);
	uint64_t sum = 0, inversions = 0, min = UINT64_MAX;
	uint32_t last = 0;
	while (pop(&net, UINT64_MAX - 1, &m)) {
		uint32_t i = payload_u32(&m);
		uint64_t d = m.at_ms - i;
		sum += d;
		min = d < min ? d : min;
		inversions += i < last;
		last = i;
	}
	assert_true(min >= 5);
	assert_true(sum > 10000 * 23 && sum < 10000 * 27);
	assert_true(inversions > 1000);
	/* The explicit hold-back: 1..reorder_ms more, on a fixed delay. */
	set_faults(&net, 5, 5, 0.0, 0.0, 1.0);
	for (uint32_t i = 0; i < 1000; i++)
		send_u32(&net, 0, 1, i, 100000);
	uint64_t lo = UINT64_MAX, hi = 0;
	while (pop(&net, UINT64_MAX - 1, &m)) {
		lo = m.at_ms < lo ? m.at_ms : lo;
		hi = m.at_ms > hi ? m.at_ms : hi;
	}
	assert_true(lo >= 100000 + 6 && lo < 100000 + 10);
	assert_true(hi <= 100000 + 5 + 50 && hi > 100000 + 50);
	sim_net_free(&net);
}

/* FNV-1a over a value's bytes. */
static uint64_t mix(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* A busy run with every fault; returns a hash of the delivery trace. */
static uint64_t run_trace(uint64_t seed)
{
	sim_net_t net;
	sh_rand_t r, work;
	sim_net_msg_t m;
	setup(&net, &r, 20, seed);
	set_faults(&net, 1, 30, 0.1, 0.05, 0.1);
	sh_rand_seed(&work, 99); /* the same sends whatever the seed */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (uint64_t t = 0; t < 2000; t++) {
		uint32_t from = (uint32_t)sh_rand_below(&work, 20);
		uint32_t to = (uint32_t)sh_rand_below(&work, 20);
		uint32_t v = (uint32_t)t;
		if (t % 7 == 0)
			sim_net_send_stream(&net, from, to, &v, sizeof(v), t);
		else
			sim_net_send(&net, from, to, &v, sizeof(v), t);
		if (t == 500)
			sim_net_isolate(&net, 3);
		if (t == 700)
			sim_net_crash(&net, 5, t);
		if (t == 900)
			sim_net_heal(&net);
		while (pop(&net, t, &m)) {
			h = mix(h, &m.at_ms, sizeof(m.at_ms));
			h = mix(h, &m.from, sizeof(m.from));
			h = mix(h, &m.to, sizeof(m.to));
			h = mix(h, &m.kind, sizeof(m.kind));
			h = mix(h, m.bytes, m.len);
		}
	}
	while (pop(&net, UINT64_MAX - 1, &m))
		h = mix(h, &m.at_ms, sizeof(m.at_ms));
	h = mix(h, sim_net_stats(&net, SIM_NET_ALL), sizeof(sim_net_stats_t));
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	sim_net_free(&net);
	return h;
}

static void test_simnet_same_seed_same_trace(void **state)
{
	(void)state;
	uint64_t a = run_trace(1);
	assert_true(a == run_trace(1));
	assert_true(a != run_trace(2));
	assert_true(run_trace(2) == run_trace(2));
}

static void assert_reach(const sim_net_t *net, uint32_t n, const char *rows)
{
	for (uint32_t a = 0; a < n; a++)
		for (uint32_t b = 0; b < n; b++)
			assert_int_equal(sim_net_reachable(net, a, b),
			                 rows[a * n + b] == '1');
}

static void test_simnet_isolate_and_heal(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 4, 5);
	assert_int_equal(sim_net_isolate(&net, 2), SH_OK);
	assert_int_equal(sim_net_isolate(&net, 4), SH_EINVAL);
	assert_reach(&net, 4,
	             "1101"
	             "1101"
	             "0010"
	             "1101");
	send_u32(&net, 0, 2, 1, 0);
	send_u32(&net, 2, 1, 2, 0);
	send_u32(&net, 0, 1, 3, 0);
	stream_u32(&net, 0, 2, 4, 0);
	const sim_net_stats_t *s = sim_net_stats(&net, SIM_NET_ALL);
	assert_true(s->dropped_partition == 3 && s->stream_failed == 1);
	assert_int_equal(pop(&net, 10, &m), 1);
	assert_true(m.to == 1 && payload_u32(&m) == 3);
	assert_int_equal(pop(&net, 99, &m), 0);
	assert_int_equal(pop(&net, 100, &m), 1); /* stream_fail_ms later */
	assert_int_equal(m.kind, SIM_NET_STREAM_FAILED);
	assert_true(m.from == 2 && m.to == 0 && payload_u32(&m) == 4);
	sim_net_heal(&net);
	assert_reach(&net, 4,
	             "1111"
	             "1111"
	             "1111"
	             "1111");
	send_u32(&net, 0, 2, 5, 200);
	assert_int_equal(pop(&net, 210, &m), 1);
	assert_true(m.to == 2 && payload_u32(&m) == 5);
	assert_true(s->delivered == 2); /* notices are not deliveries */
	sim_net_free(&net);
}

static void test_simnet_split_in_groups(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	setup(&net, &r, 5, 6);
	const uint32_t g[5] = {0, 1, 0, 1, 1};
	assert_int_equal(sim_net_split(&net, g), SH_OK);
	assert_reach(&net, 5,
	             "10100"
	             "01011"
	             "10100"
	             "01011"
	             "01011");
	/* Isolating inside a split cuts the node off from its group too. */
	assert_int_equal(sim_net_isolate(&net, 4), SH_OK);
	assert_reach(&net, 5,
	             "10100"
	             "01010"
	             "10100"
	             "01010"
	             "00001");
	const uint32_t bad[5] = {0, 0, SIM_NET_GROUP_MAX + 1, 0, 0};
	assert_int_equal(sim_net_split(&net, bad), SH_EINVAL);
	assert_int_equal(sim_net_reachable(&net, 4, 4), 1);
	assert_int_equal(sim_net_reachable(&net, 1, 4), 0); /* unchanged */
	assert_int_equal(sim_net_reachable(&net, 0, 5), 0); /* no node 5 */
	sim_net_heal(&net);
	assert_int_equal(sim_net_reachable(&net, 1, 4), 1);
	sim_net_free(&net);
}

static void test_simnet_majorities_ring_n5(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	setup(&net, &r, 5, 7);
	sim_net_ring(&net);
	assert_reach(&net, 5,
	             "11001"
	             "11100"
	             "01110"
	             "00111"
	             "10011");
	sim_net_heal(&net);
	assert_int_equal(sim_net_reachable(&net, 0, 2), 1);
	sim_net_free(&net);
}

static void test_simnet_majorities_ring_n6(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	setup(&net, &r, 6, 8);
	sim_net_ring(&net);
	/* Each node reaches itself, one before and two after it. */
	assert_reach(&net, 6,
	             "111001"
	             "111100"
	             "011110"
	             "001111"
	             "100111"
	             "110011");
	sim_net_free(&net);
}

/* Every node reaches, and is reached by, a majority, no two the same. */
static void test_simnet_majorities_ring_every_size(void **state)
{
	(void)state;
	for (uint32_t n = 1; n <= 40; n++) {
		sim_net_t net;
		sh_rand_t r;
		setup(&net, &r, n, n);
		sim_net_ring(&net);
		for (uint32_t a = 0; a < n; a++) {
			uint32_t out = 0, in = 0, same = 0;
			for (uint32_t b = 0; b < n; b++) {
				out += (uint32_t)sim_net_reachable(&net, a, b);
				in += (uint32_t)sim_net_reachable(&net, b, a);
			}
			assert_int_equal(out, n / 2 + 1);
			assert_int_equal(in, n / 2 + 1);
			for (uint32_t c = 0; c < n && n >= 3; c++) {
				int eq = 1;
				for (uint32_t b = 0; b < n; b++)
					eq &= sim_net_reachable(&net, a, b) ==
					      sim_net_reachable(&net, c, b);
				same += (uint32_t)eq;
			}
			assert_true(n < 3 || same == 1);
		}
		sim_net_free(&net);
	}
}

static void test_simnet_partition_drops_in_flight(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 3, 9);
	send_u32(&net, 0, 1, 1, 0);
	stream_u32(&net, 0, 1, 2, 0);
	send_u32(&net, 0, 2, 3, 0);
	const uint32_t g[3] = {0, 1, 0};
	assert_int_equal(sim_net_split(&net, g), SH_OK);
	assert_int_equal(pop(&net, 10, &m), 1);
	assert_true(m.to == 2 && payload_u32(&m) == 3);
	assert_int_equal(pop(&net, 10, &m), 0);
	sim_net_heal(&net); /* healing does not bring them back */
	assert_int_equal(pop(&net, 109, &m), 0);
	assert_int_equal(pop(&net, 110, &m), 1);
	assert_int_equal(m.kind, SIM_NET_STREAM_FAILED);
	assert_true(m.at_ms == 110 && m.from == 1 && m.to == 0);
	assert_true(payload_u32(&m) == 2);
	const sim_net_stats_t *s = sim_net_stats(&net, 0);
	assert_true(s->dropped_partition == 2 && s->stream_failed == 1);
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	assert_int_equal(sim_net_queued(&net), 0);
	sim_net_free(&net);
}

static void test_simnet_crash_drops_and_restart(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 3, 10);
	send_u32(&net, 0, 1, 1, 0);   /* to the crashing node: dropped */
	send_u32(&net, 1, 2, 2, 0);   /* from it: dropped */
	stream_u32(&net, 2, 1, 3, 0); /* stream to it: notice to 2 */
	send_u32(&net, 0, 2, 4, 0);   /* unrelated: delivered */
	assert_int_equal(sim_net_crash(&net, 1, 5), SH_OK);
	assert_int_equal(sim_net_crash(&net, 1, 5), SH_OK); /* no-op */
	assert_int_equal(sim_net_is_crashed(&net, 1), 1);
	assert_int_equal(sim_net_queued(&net), 2);
	assert_true(sim_net_stats(&net, 0)->dropped_crash == 1);
	assert_true(sim_net_stats(&net, 1)->dropped_crash == 1);
	assert_true(sim_net_stats(&net, 2)->dropped_crash == 1);
	send_u32(&net, 0, 1, 5, 5);   /* to a crashed node */
	send_u32(&net, 1, 0, 6, 5);   /* from a crashed node */
	stream_u32(&net, 0, 1, 7, 5); /* notice to 0 at 105 */
	stream_u32(&net, 1, 0, 8, 5); /* nothing at all */
	assert_true(sim_net_stats(&net, SIM_NET_ALL)->dropped_crash == 7);
	assert_int_equal(pop(&net, 200, &m), 1);
	assert_true(m.at_ms == 10 && m.to == 2 && payload_u32(&m) == 4);
	/* Both notices are due at 105; the one the crash made came first. */
	assert_int_equal(pop(&net, 200, &m), 1);
	assert_true(m.at_ms == 105 && m.to == 2 && m.from == 1);
	assert_true(m.kind == SIM_NET_STREAM_FAILED && payload_u32(&m) == 3);
	assert_int_equal(pop(&net, 200, &m), 1);
	assert_true(m.at_ms == 105 && m.to == 0 && m.from == 1);
	assert_true(m.kind == SIM_NET_STREAM_FAILED && payload_u32(&m) == 7);
	assert_int_equal(pop(&net, 200, &m), 0);
	assert_int_equal(sim_net_pause(&net, 1), SH_EINVAL);
	assert_int_equal(sim_net_restart(&net, 0), SH_EINVAL);
	assert_int_equal(sim_net_restart(&net, 1), SH_OK);
	assert_int_equal(sim_net_is_crashed(&net, 1), 0);
	send_u32(&net, 0, 1, 9, 300);
	send_u32(&net, 1, 2, 10, 300);
	assert_int_equal(pop(&net, 310, &m), 1);
	assert_true(m.to == 1 && payload_u32(&m) == 9);
	assert_int_equal(pop(&net, 310, &m), 1);
	assert_true(m.from == 1 && payload_u32(&m) == 10);
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	sim_net_free(&net);
}

static void test_simnet_pause_holds_until_resume(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 3, 11);
	assert_int_equal(sim_net_pause(&net, 1), SH_OK);
	assert_int_equal(sim_net_pause(&net, 1), SH_EINVAL);
	assert_int_equal(sim_net_is_paused(&net, 1), 1);
	send_u32(&net, 0, 1, 1, 0);
	stream_u32(&net, 2, 1, 2, 1);
	send_u32(&net, 2, 1, 3, 2);
	send_u32(&net, 1, 0, 4, 3); /* a paused node's sends still go */
	assert_int_equal(pop(&net, 100, &m), 1);
	assert_true(m.to == 0 && payload_u32(&m) == 4);
	assert_int_equal(pop(&net, 100, &m), 0);
	assert_int_equal(sim_net_queued(&net), 3);
	assert_true(sim_net_next_time(&net) == UINT64_MAX);
	assert_true(sim_net_stats(&net, 1)->held == 3);
	sim_net_isolate(&net, 1); /* arrived messages are past the network */
	assert_int_equal(sim_net_resume(&net, 1, 500), SH_OK);
	assert_int_equal(sim_net_resume(&net, 1, 500), SH_EINVAL);
	assert_true(sim_net_next_time(&net) == 500);
	for (uint32_t v = 1; v <= 3; v++) {
		assert_int_equal(pop(&net, 500, &m), 1);
		assert_true(m.at_ms == 500 && m.to == 1);
		assert_true(payload_u32(&m) == v);
	}
	sim_net_heal(&net);
	/* A crash empties the inbox; its streams' senders are told. */
	assert_int_equal(sim_net_pause(&net, 1), SH_OK);
	send_u32(&net, 0, 1, 5, 600);
	stream_u32(&net, 2, 1, 6, 600);
	assert_int_equal(pop(&net, 700, &m), 0);
	assert_int_equal(sim_net_crash(&net, 1, 700), SH_OK);
	assert_int_equal(pop(&net, 800, &m), 1);
	assert_true(m.kind == SIM_NET_STREAM_FAILED && m.to == 2);
	assert_true(m.at_ms == 800 && payload_u32(&m) == 6);
	assert_int_equal(sim_net_queued(&net), 0);
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	sim_net_free(&net);
}

static void test_simnet_stream_in_order_never_lost(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r, work;
	sim_net_msg_t m;
	uint32_t next_sent[6][6] = {{0}}, next_got[6][6] = {{0}};
	setup(&net, &r, 6, 12);
	set_faults(&net, 1, 50, 0.5, 0.5, 0.5);
	sh_rand_seed(&work, 5);
	uint64_t streams = 0;
	for (uint64_t t = 0; t < 20000; t++) {
		uint32_t a = (uint32_t)sh_rand_below(&work, 6);
		uint32_t b = (uint32_t)sh_rand_below(&work, 6);
		if (t == 10000) { /* a lower delay must not overtake */
			sim_net_faults_t f = net.cfg.faults;
			f.stream_delay_ms = 1;
			assert_int_equal(sim_net_set_faults(&net, &f), SH_OK);
		}
		if (sh_rand_chance(&work, 0.5)) {
			stream_u32(&net, a, b, next_sent[a][b]++, t / 3);
			streams++;
		} else {
			send_u32(&net, a, b, UINT32_MAX, t / 3);
		}
		while (pop(&net, t / 3, &m)) {
			if (m.kind != SIM_NET_STREAM)
				continue;
			assert_int_equal(payload_u32(&m),
			                 next_got[m.from][m.to]++);
		}
	}
	while (pop(&net, UINT64_MAX - 1, &m))
		if (m.kind == SIM_NET_STREAM)
			assert_int_equal(payload_u32(&m),
			                 next_got[m.from][m.to]++);
	for (int a = 0; a < 6; a++)
		for (int b = 0; b < 6; b++)
			assert_int_equal(next_got[a][b], next_sent[a][b]);
	assert_true(sim_net_stats(&net, SIM_NET_ALL)->stream_failed == 0);
	assert_true(streams > 9000);
	sim_net_free(&net);
}

static void test_simnet_queue_bound_enforced(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	sim_net_cfg_t cfg;
	sim_net_cfg_default(&cfg, 2);
	cfg.queue_max = 100;
	cfg.faults.dup = 1.0;
	sh_rand_seed(&r, 13);
	assert_int_equal(sim_net_init(&net, &cfg, &r), SH_OK);
	uint32_t v = 0;
	for (int i = 0; i < 50; i++)
		assert_int_equal(sim_net_send(&net, 0, 1, &v, 4, 0), SH_OK);
	assert_int_equal(sim_net_queued(&net), 100);
	assert_int_equal(sim_net_send(&net, 0, 1, &v, 4, 0), SH_ENOMEM);
	assert_int_equal(sim_net_send_stream(&net, 0, 1, &v, 4, 0), SH_ENOMEM);
	assert_int_equal(sim_net_queued(&net), 100);
	assert_true(sim_net_stats(&net, 0)->dropped_queue == 2);
	/* Draining makes room again; the pool never outgrows the bound. */
	for (int round = 0; round < 100; round++) {
		while (pop(&net, UINT64_MAX - 1, &m))
			;
		assert_int_equal(sim_net_send(&net, 0, 1, &v, 4, 0), SH_OK);
	}
	assert_true(net.msgs_cap <= 101);
	while (pop(&net, UINT64_MAX - 1, &m))
		;
	assert_balanced(sim_net_stats(&net, SIM_NET_ALL));
	sim_net_free(&net);
}

static void test_simnet_bytes_stay_valid_until_next_pop(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	static uint8_t big[60000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	setup(&net, &r, 2, 14);
	assert_int_equal(sim_net_send(&net, 0, 1, big, sizeof(big), 0), SH_OK);
	assert_int_equal(pop(&net, 10, &m), 1);
	for (uint32_t i = 0; i < 1000; i++)
		send_u32(&net, 1, 0, i, 10);
	assert_int_equal(m.len, sizeof(big));
	assert_memory_equal(m.bytes, big, sizeof(big));
	sim_net_release(&net);
	sim_net_release(&net);
	uint32_t i = 0;
	while (pop(&net, 100, &m))
		assert_int_equal(payload_u32(&m), i++);
	assert_int_equal(i, 1000);
	sim_net_free(&net);
}

static void test_simnet_counters_per_node_add_up(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_msg_t m;
	setup(&net, &r, 8, 15);
	set_faults(&net, 1, 20, 0.1, 0.1, 0.1);
	for (uint64_t t = 0; t < 4000; t++) {
		uint32_t a = (uint32_t)(t * 7 % 8), b = (uint32_t)(t % 8);
		if (t % 5 == 0)
			stream_u32(&net, a, b, 0, t);
		else
			send_u32(&net, a, b, 0, t);
		if (t == 1000)
			sim_net_ring(&net);
		if (t == 2000)
			sim_net_crash(&net, 6, t);
		if (t == 3000)
			sim_net_heal(&net);
		while (pop(&net, t, &m))
			;
	}
	while (pop(&net, UINT64_MAX - 1, &m))
		;
	sim_net_stats_t sum;
	memset(&sum, 0, sizeof(sum));
	for (uint32_t i = 0; i < 8; i++) {
		const sim_net_stats_t *s = sim_net_stats(&net, i);
		sum.sent += s->sent;
		sum.sent_bytes += s->sent_bytes;
		sum.delivered += s->delivered;
		sum.delivered_bytes += s->delivered_bytes;
		sum.dropped_crash += s->dropped_crash;
		sum.dropped_partition += s->dropped_partition;
		sum.stream_failed += s->stream_failed;
	}
	const sim_net_stats_t *t = sim_net_stats(&net, SIM_NET_ALL);
	assert_true(sum.sent == 4000 && t->sent == 4000);
	assert_true(sum.sent_bytes == t->sent_bytes);
	assert_true(sum.delivered == t->delivered);
	assert_true(sum.delivered_bytes == t->delivered_bytes);
	assert_true(sum.dropped_crash == t->dropped_crash);
	assert_true(sum.dropped_partition == t->dropped_partition);
	assert_true(sum.stream_failed == t->stream_failed);
	assert_true(t->dropped_loss > 0 && t->dropped_partition > 0);
	assert_true(t->dropped_crash > 0 && t->stream_failed > 0);
	assert_balanced(t);
	assert_null(sim_net_stats(&net, 8));
	sim_net_free(&net);
}

static void test_simnet_rejects_bad_arguments(void **state)
{
	(void)state;
	sim_net_t net;
	sh_rand_t r;
	sim_net_cfg_t cfg;
	sh_rand_seed(&r, 16);
	sim_net_cfg_default(&cfg, 0);
	assert_int_equal(sim_net_init(&net, &cfg, &r), SH_EINVAL);
	sim_net_cfg_default(&cfg, 4);
	assert_int_equal(sim_net_init(&net, &cfg, NULL), SH_EINVAL);
	cfg.queue_max = 0;
	assert_int_equal(sim_net_init(&net, &cfg, &r), SH_EINVAL);
	sim_net_cfg_default(&cfg, 4);
	cfg.faults.delay_mean_ms = 0; /* below the minimum */
	assert_int_equal(sim_net_init(&net, &cfg, &r), SH_EINVAL);
	sim_net_cfg_default(&cfg, 4);
	cfg.msg_bytes_max = 8;
	assert_int_equal(sim_net_init(&net, &cfg, &r), SH_OK);
	sim_net_faults_t f = cfg.faults;
	f.loss = 1.5;
	assert_int_equal(sim_net_set_faults(&net, &f), SH_EINVAL);
	f.loss = NAN;
	assert_int_equal(sim_net_set_faults(&net, &f), SH_EINVAL);
	f.loss = 0.0;
	f.reorder = 0.5;
	f.reorder_ms = 0;
	assert_int_equal(sim_net_set_faults(&net, &f), SH_EINVAL);
	assert_int_equal(sim_net_send(&net, 4, 0, "x", 1, 0), SH_EINVAL);
	assert_int_equal(sim_net_send(&net, 0, 4, "x", 1, 0), SH_EINVAL);
	assert_int_equal(sim_net_send(&net, 0, 1, NULL, 1, 0), SH_EINVAL);
	assert_int_equal(sim_net_send(&net, 0, 1, "123456789", 9, 0),
	                 SH_ETOOBIG);
	assert_int_equal(sim_net_send_stream(&net, 0, 1, "123456789", 9, 0),
	                 SH_ETOOBIG);
	assert_true(sim_net_stats(&net, SIM_NET_ALL)->sent == 0);
	assert_int_equal(sim_net_pause(&net, 4), SH_EINVAL);
	assert_int_equal(sim_net_resume(&net, 0, 0), SH_EINVAL);
	assert_int_equal(sim_net_crash(&net, 4, 0), SH_EINVAL);
	assert_int_equal(sim_net_restart(&net, 4), SH_EINVAL);
	assert_int_equal(sim_net_split(&net, NULL), SH_EINVAL);
	sim_net_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simnet_heap_orders_by_time_then_seq),
	    cmocka_unit_test(test_simnet_heap_filter_keeps_order),
	    cmocka_unit_test(test_simnet_delivers_in_time_then_seq_order),
	    cmocka_unit_test(test_simnet_loss_rate_roughly_as_configured),
	    cmocka_unit_test(test_simnet_duplicates_get_their_own_delay),
	    cmocka_unit_test(test_simnet_random_delays_reorder),
	    cmocka_unit_test(test_simnet_same_seed_same_trace),
	    cmocka_unit_test(test_simnet_isolate_and_heal),
	    cmocka_unit_test(test_simnet_split_in_groups),
	    cmocka_unit_test(test_simnet_majorities_ring_n5),
	    cmocka_unit_test(test_simnet_majorities_ring_n6),
	    cmocka_unit_test(test_simnet_majorities_ring_every_size),
	    cmocka_unit_test(test_simnet_partition_drops_in_flight),
	    cmocka_unit_test(test_simnet_crash_drops_and_restart),
	    cmocka_unit_test(test_simnet_pause_holds_until_resume),
	    cmocka_unit_test(test_simnet_stream_in_order_never_lost),
	    cmocka_unit_test(test_simnet_queue_bound_enforced),
	    cmocka_unit_test(test_simnet_bytes_stay_valid_until_next_pop),
	    cmocka_unit_test(test_simnet_counters_per_node_add_up),
	    cmocka_unit_test(test_simnet_rejects_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
