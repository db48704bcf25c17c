/*
 * sim_net.c - shoal-sim's simulated network: delays, loss, duplication,
 * reordering, partitions, pauses and crashes in virtual time (see
 * sim_net.h for the model and its semantics).
 *
 * Queued messages live in a pool of slots, each with a payload buffer that
 * only ever grows and is reused, so a steady run does not allocate. The
 * heap orders slots by (due time, seq). A paused node's inbox is a FIFO
 * list of slots threaded through `next`; free slots form a LIFO list the
 * same way. Partition checks are O(1): a group id per node, and the
 * majorities ring by index distance.
 */
#include "tests/sim/sim_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"

#define NONE UINT32_MAX

/* Isolated node i gets group ISOLATED + i: a group of its own. */
#define ISOLATED (SIM_NET_GROUP_MAX + 1u)

/* The exponential extra delay is capped at this many times its mean. */
#define DELAY_CAP_FACTOR 16

enum { ALIVE = 0, PAUSED = 1, CRASHED = 2 };

typedef struct sim_net__msg {
	uint8_t *buf; /* owned, reused; cap bytes */
	uint32_t cap;
	uint32_t len;
	uint32_t from;
	uint32_t to;
	uint64_t seq;    /* queue order, kept while waiting in an inbox */
	uint32_t next;   /* inbox or free list link */
	uint8_t kind;    /* sim_net_kind_t */
	uint8_t arrived; /* reached a paused inbox: past the network */
} sim_net__msg_t;

typedef struct sim_net__node {
	sim_net_stats_t stats;
	uint32_t group;
	uint32_t inbox_head; /* oldest arrival, or NONE */
	uint32_t inbox_tail;
	uint8_t state;
} sim_net__node_t;

/* Count n of `field` for `node` and in the totals. */
#define COUNT(net, node, field, n)                                             \
	do {                                                                   \
		(net)->nodes[(node)].stats.field += (n);                       \
		(net)->total.field += (n);                                     \
	} while (0)

void sim_net_cfg_default(sim_net_cfg_t *cfg, uint32_t nodes)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = nodes;
	cfg->queue_max = 1u << 20;
	cfg->msg_bytes_max = 64 * 1024;
	cfg->faults.delay_min_ms = 1;
	cfg->faults.delay_mean_ms = 2;
	cfg->faults.reorder_ms = 50;
	cfg->faults.stream_delay_ms = 2;
	cfg->faults.stream_fail_ms = 1000;
}

static int prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

static int faults_ok(const sim_net_faults_t *f)
{
	/* Bounds keep now + delay far from overflow for any sane now_ms. */
	const uint64_t day_ms = 24ull * 3600 * 1000;
	return prob_ok(f->loss) && prob_ok(f->dup) && prob_ok(f->reorder) &&
	       f->delay_mean_ms >= f->delay_min_ms &&
	       f->delay_mean_ms <= day_ms && f->reorder_ms <= day_ms &&
	       (f->reorder == 0.0 || f->reorder_ms >= 1) &&
	       f->stream_delay_ms <= day_ms && f->stream_fail_ms <= day_ms;
}

int sim_net_init(sim_net_t *net, const sim_net_cfg_t *cfg, sh_rand_t *rand)
{
	sh_assert(net != NULL && cfg != NULL);
	memset(net, 0, sizeof(*net));
	net->free_head = NONE;
	net->cur = NONE;
	if (rand == NULL || cfg->nodes == 0 || cfg->nodes >= ISOLATED ||
	    cfg->queue_max == 0 || cfg->queue_max > SIM_NET_QUEUE_MAX ||
	    !faults_ok(&cfg->faults))
		return SH_EINVAL;
	net->nodes = calloc(cfg->nodes, sizeof(*net->nodes));
	if (net->nodes == NULL)
		return SH_ENOMEM;
	for (uint32_t i = 0; i < cfg->nodes; i++) {
		net->nodes[i].inbox_head = NONE;
		net->nodes[i].inbox_tail = NONE;
	}
	int rc = sim_heap_init(&net->heap, cfg->queue_max);
	sh_assert(rc == SH_OK);
	net->cfg = *cfg;
	net->rand = rand;
	return SH_OK;
}

void sim_net_free(sim_net_t *net)
{
	for (uint32_t i = 0; i < net->msgs_len; i++)
		free(net->msgs[i].buf);
	free(net->msgs);
	free(net->nodes);
	sim_heap_free(&net->heap);
	memset(net, 0, sizeof(*net));
	net->free_head = NONE;
	net->cur = NONE;
}

int sim_net_set_faults(sim_net_t *net, const sim_net_faults_t *faults)
{
	if (!faults_ok(faults))
		return SH_EINVAL;
	net->cfg.faults = *faults;
	return SH_OK;
}

/* ---- message slots ---- */

/* A free slot, or NONE when the queue is full or memory runs out. */
static uint32_t slot_get(sim_net_t *net)
{
	if (net->used >= net->cfg.queue_max)
		return NONE;
	uint32_t s = net->free_head;
	if (s != NONE) {
		net->free_head = net->msgs[s].next;
	} else {
		if (net->msgs_len == net->msgs_cap) {
			/* queue_max + 1: the popped message keeps its slot. */
			uint64_t cap =
			    net->msgs_cap ? 2ull * net->msgs_cap : 64;
			if (cap > (uint64_t)net->cfg.queue_max + 1)
				cap = (uint64_t)net->cfg.queue_max + 1;
			sim_net__msg_t *m =
			    realloc(net->msgs, cap * sizeof(*m));
			if (m == NULL)
				return NONE;
			net->msgs = m;
			net->msgs_cap = (uint32_t)cap;
		}
		s = net->msgs_len++;
		net->msgs[s] = (sim_net__msg_t){.next = NONE};
	}
	net->used++;
	return s;
}

/* Return a queued message's slot to the free list. */
static void slot_put(sim_net_t *net, uint32_t s)
{
	sh_assert(net->used > 0);
	net->used--;
	net->msgs[s].next = net->free_head;
	net->free_head = s;
}

/* Copy the payload into slot s, growing its buffer if needed. */
static int slot_fill(sim_net__msg_t *m, const void *bytes, size_t len)
{
	if (len > m->cap) {
		size_t cap = m->cap ? m->cap : 64;
		while (cap < len)
			cap *= 2;
		uint8_t *buf = realloc(m->buf, cap);
		if (buf == NULL)
			return SH_ENOMEM;
		m->buf = buf;
		m->cap = (uint32_t)cap;
	}
	if (len > 0)
		memcpy(m->buf, bytes, len);
	m->len = (uint32_t)len;
	return SH_OK;
}

/* Put slot s in the heap at at_ms under a fresh seq. Cannot fail. */
static void queue_slot(sim_net_t *net, uint32_t s, uint64_t at_ms)
{
	net->msgs[s].seq = net->seq_next++;
	net->msgs[s].arrived = 0;
	int rc = sim_heap_push(&net->heap, at_ms, net->msgs[s].seq, s);
	/* The heap holds at most queue_max entries and `used` bounds them. */
	sh_assert(rc == SH_OK);
}

/* Queue a message due at at_ms. 0 or SH_ENOMEM (queue full or no memory). */
static int enqueue(sim_net_t *net, uint32_t from, uint32_t to, uint8_t kind,
                   const void *bytes, size_t len, uint64_t at_ms)
{
	uint32_t s = slot_get(net);
	if (s == NONE)
		return SH_ENOMEM;
	sim_net__msg_t *m = &net->msgs[s];
	if (slot_fill(m, bytes, len) != SH_OK) {
		slot_put(net, s);
		return SH_ENOMEM;
	}
	m->from = from;
	m->to = to;
	m->kind = kind;
	queue_slot(net, s, at_ms);
	return SH_OK;
}

/* Turn the stream message in slot s into a failure notice to its sender. */
static void to_notice(sim_net_t *net, uint32_t s)
{
	sim_net__msg_t *m = &net->msgs[s];
	sh_assert(m->kind == SIM_NET_STREAM);
	uint32_t sender = m->from;
	m->from = m->to;
	m->to = sender;
	m->kind = SIM_NET_STREAM_FAILED;
	COUNT(net, sender, stream_failed, 1);
}

/* ---- partitions ---- */

static int ring_reaches(uint32_t n, uint32_t a, uint32_t b)
{
	uint32_t m = n / 2 + 1;    /* a majority, a included */
	uint32_t lo = (m - 1) / 2; /* of those, how many precede a */
	return ((uint64_t)b + n - a + lo) % n < m;
}

int sim_net_reachable(const sim_net_t *net, uint32_t from, uint32_t to)
{
	if (from >= net->cfg.nodes || to >= net->cfg.nodes)
		return 0;
	if (from == to)
		return 1;
	if (net->nodes[from].group != net->nodes[to].group)
		return 0;
	return !net->ring || ring_reaches(net->cfg.nodes, from, to);
}

int sim_net_isolate(sim_net_t *net, uint32_t node)
{
	if (node >= net->cfg.nodes)
		return SH_EINVAL;
	net->nodes[node].group = ISOLATED + node;
	return SH_OK;
}

int sim_net_split(sim_net_t *net, const uint32_t *group)
{
	if (group == NULL)
		return SH_EINVAL;
	for (uint32_t i = 0; i < net->cfg.nodes; i++)
		if (group[i] > SIM_NET_GROUP_MAX)
			return SH_EINVAL;
	for (uint32_t i = 0; i < net->cfg.nodes; i++)
		net->nodes[i].group = group[i];
	return SH_OK;
}

void sim_net_ring(sim_net_t *net)
{
	net->ring = 1;
}

void sim_net_heal(sim_net_t *net)
{
	for (uint32_t i = 0; i < net->cfg.nodes; i++)
		net->nodes[i].group = 0;
	net->ring = 0;
}

/* ---- sending ---- */

/* One datagram delay: min + capped exponential extra + maybe a hold-back. */
static uint64_t dgram_delay(sim_net_t *net)
{
	const sim_net_faults_t *f = &net->cfg.faults;
	uint64_t d = f->delay_min_ms;
	if (f->delay_mean_ms > f->delay_min_ms) {
		double mean = (double)(f->delay_mean_ms - f->delay_min_ms);
		double x = -log1p(-sh_rand_double(net->rand)) * mean;
		double cap = mean * DELAY_CAP_FACTOR;
		d += (uint64_t)((x < cap ? x : cap) + 0.5);
	}
	if (sh_rand_chance(net->rand, f->reorder))
		d += 1 + sh_rand_below(net->rand, f->reorder_ms);
	return d;
}

/* Check a send's arguments; on success count it and return its time. */
static int send_begin(sim_net_t *net, uint32_t from, uint32_t to,
                      const void *bytes, size_t len, uint64_t *now_ms)
{
	if (from >= net->cfg.nodes || to >= net->cfg.nodes ||
	    (bytes == NULL && len > 0))
		return SH_EINVAL;
	if (len > net->cfg.msg_bytes_max)
		return SH_ETOOBIG;
	if (*now_ms < net->send_ms)
		*now_ms = net->send_ms;
	net->send_ms = *now_ms;
	COUNT(net, from, sent, 1);
	COUNT(net, from, sent_bytes, len);
	return SH_OK;
}

int sim_net_send(sim_net_t *net, uint32_t from, uint32_t to, const void *bytes,
                 size_t len, uint64_t now_ms)
{
	int rc = send_begin(net, from, to, bytes, len, &now_ms);
	if (rc != SH_OK)
		return rc;
	if (net->nodes[from].state == CRASHED ||
	    net->nodes[to].state == CRASHED) {
		COUNT(net, from, dropped_crash, 1);
		return SH_OK;
	}
	if (!sim_net_reachable(net, from, to)) {
		COUNT(net, from, dropped_partition, 1);
		return SH_OK;
	}
	if (sh_rand_chance(net->rand, net->cfg.faults.loss)) {
		COUNT(net, from, dropped_loss, 1);
		return SH_OK;
	}
	rc = enqueue(net, from, to, SIM_NET_DGRAM, bytes, len,
	             now_ms + dgram_delay(net));
	if (rc != SH_OK) {
		COUNT(net, from, dropped_queue, 1);
		return rc;
	}
	if (sh_rand_chance(net->rand, net->cfg.faults.dup)) {
		COUNT(net, from, duplicated, 1);
		/* A copy that finds the queue full is a counted drop, but the
		 * send itself succeeded. */
		if (enqueue(net, from, to, SIM_NET_DGRAM, bytes, len,
		            now_ms + dgram_delay(net)) != SH_OK)
			COUNT(net, from, dropped_queue, 1);
	}
	return SH_OK;
}

int sim_net_send_stream(sim_net_t *net, uint32_t from, uint32_t to,
                        const void *bytes, size_t len, uint64_t now_ms)
{
	int rc = send_begin(net, from, to, bytes, len, &now_ms);
	if (rc != SH_OK)
		return rc;
	if (net->nodes[from].state == CRASHED) {
		COUNT(net, from, dropped_crash, 1);
		return SH_OK;
	}
	int crashed = net->nodes[to].state == CRASHED;
	if (crashed || !sim_net_reachable(net, from, to)) {
		if (crashed)
			COUNT(net, from, dropped_crash, 1);
		else
			COUNT(net, from, dropped_partition, 1);
		rc = enqueue(net, to, from, SIM_NET_STREAM_FAILED, bytes, len,
		             now_ms + net->cfg.faults.stream_fail_ms);
		if (rc == SH_OK)
			COUNT(net, from, stream_failed, 1);
		return rc;
	}
	/* Stream arrival times never go backwards and seq breaks ties, so
	 * messages of one pair arrive in the order they were sent. */
	uint64_t at_ms = now_ms + net->cfg.faults.stream_delay_ms;
	if (at_ms < net->stream_ms)
		at_ms = net->stream_ms; /* stream_delay_ms was lowered */
	rc = enqueue(net, from, to, SIM_NET_STREAM, bytes, len, at_ms);
	if (rc != SH_OK) {
		COUNT(net, from, dropped_queue, 1);
		return rc;
	}
	net->stream_ms = at_ms;
	return SH_OK;
}

/* ---- delivery ---- */

uint64_t sim_net_next_time(const sim_net_t *net)
{
	return sim_heap_next_ms(&net->heap);
}

void sim_net_release(sim_net_t *net)
{
	if (net->cur == NONE)
		return;
	/* The popped slot no longer counts as queued; free it directly. */
	net->msgs[net->cur].next = net->free_head;
	net->free_head = net->cur;
	net->cur = NONE;
}

/* A message arriving across a partition: drop it or notify its sender. */
static void arrive_blocked(sim_net_t *net, uint32_t s, uint64_t at_ms)
{
	sim_net__msg_t *m = &net->msgs[s];
	COUNT(net, m->from, dropped_partition, 1);
	if (m->kind == SIM_NET_STREAM) {
		to_notice(net, s);
		queue_slot(net, s, at_ms + net->cfg.faults.stream_fail_ms);
	} else {
		slot_put(net, s);
	}
}

/* Append slot s to the paused receiver's inbox. */
static void inbox_add(sim_net_t *net, uint32_t s)
{
	sim_net__msg_t *m = &net->msgs[s];
	sim_net__node_t *n = &net->nodes[m->to];
	m->arrived = 1;
	m->next = NONE;
	if (n->inbox_tail == NONE)
		n->inbox_head = s;
	else
		net->msgs[n->inbox_tail].next = s;
	n->inbox_tail = s;
	if (m->kind != SIM_NET_STREAM_FAILED)
		COUNT(net, m->to, held, 1);
}

int sim_net_pop(sim_net_t *net, uint64_t now_ms, sim_net_msg_t *msg)
{
	sim_net_release(net);
	sim_heap_entry_t e;
	while (sim_heap_next_ms(&net->heap) <= now_ms) {
		sim_heap_pop(&net->heap, &e);
		uint32_t s = (uint32_t)e.value;
		sim_net__msg_t *m = &net->msgs[s];
		if (m->kind != SIM_NET_STREAM_FAILED && !m->arrived &&
		    !sim_net_reachable(net, m->from, m->to)) {
			arrive_blocked(net, s, e.at_ms);
			continue;
		}
		if (net->nodes[m->to].state == PAUSED) {
			inbox_add(net, s);
			continue;
		}
		/* A crash removes everything queued to the node at once. */
		sh_assert(net->nodes[m->to].state == ALIVE);
		if (m->kind != SIM_NET_STREAM_FAILED) {
			COUNT(net, m->to, delivered, 1);
			COUNT(net, m->to, delivered_bytes, m->len);
		}
		sh_assert(net->used > 0);
		net->used--;
		net->cur = s;
		*msg = (sim_net_msg_t){.at_ms = e.at_ms,
		                       .from = m->from,
		                       .to = m->to,
		                       .kind = (sim_net_kind_t)m->kind,
		                       .bytes = m->buf,
		                       .len = m->len};
		return 1;
	}
	return 0;
}

/* ---- node states ---- */

static int node_in(const sim_net_t *net, uint32_t node, int state)
{
	return node < net->cfg.nodes && net->nodes[node].state == state;
}

int sim_net_is_paused(const sim_net_t *net, uint32_t node)
{
	return node_in(net, node, PAUSED);
}

int sim_net_is_crashed(const sim_net_t *net, uint32_t node)
{
	return node_in(net, node, CRASHED);
}

int sim_net_pause(sim_net_t *net, uint32_t node)
{
	if (!node_in(net, node, ALIVE))
		return SH_EINVAL;
	net->nodes[node].state = PAUSED;
	return SH_OK;
}

int sim_net_resume(sim_net_t *net, uint32_t node, uint64_t now_ms)
{
	if (!node_in(net, node, PAUSED))
		return SH_EINVAL;
	sim_net__node_t *n = &net->nodes[node];
	n->state = ALIVE;
	/* Keep each message's seq: the inbox comes out in sending order and
	 * ahead of same-pair stream messages still in flight. */
	for (uint32_t s = n->inbox_head; s != NONE;) {
		uint32_t next = net->msgs[s].next;
		int rc = sim_heap_push(&net->heap, now_ms, net->msgs[s].seq, s);
		sh_assert(rc == SH_OK);
		s = next;
	}
	n->inbox_head = NONE;
	n->inbox_tail = NONE;
	return SH_OK;
}

typedef struct crash_ctx {
	sim_net_t *net;
	uint32_t node;
	uint64_t now_ms;
} crash_ctx_t;

/*
 * What a crash of ctx->node does to queued slot s: 1 to keep it (possibly
 * turned into a notice due at *at_ms), 0 when it was dropped and freed.
 */
static int crash_slot(crash_ctx_t *c, uint32_t s, uint64_t *at_ms)
{
	sim_net_t *net = c->net;
	sim_net__msg_t *m = &net->msgs[s];
	if (m->kind == SIM_NET_STREAM_FAILED) {
		if (m->to != c->node)
			return 1;
		slot_put(net, s);
		return 0;
	}
	if (m->from != c->node && m->to != c->node)
		return 1;
	COUNT(net, m->from, dropped_crash, 1);
	if (m->kind == SIM_NET_STREAM && m->from != c->node) {
		to_notice(net, s);
		m->seq = net->seq_next++;
		m->arrived = 0;
		*at_ms = c->now_ms + net->cfg.faults.stream_fail_ms;
		return 1;
	}
	slot_put(net, s);
	return 0;
}

static int crash_filter(sim_heap_entry_t *e, void *ctx)
{
	crash_ctx_t *c = ctx;
	uint32_t s = (uint32_t)e->value;
	if (!crash_slot(c, s, &e->at_ms))
		return 0;
	e->seq = c->net->msgs[s].seq;
	return 1;
}

int sim_net_crash(sim_net_t *net, uint32_t node, uint64_t now_ms)
{
	if (node >= net->cfg.nodes)
		return SH_EINVAL;
	sim_net__node_t *n = &net->nodes[node];
	if (n->state == CRASHED)
		return SH_OK;
	n->state = CRASHED;
	crash_ctx_t c = {net, node, now_ms};
	/* The inbox first: what survives (notices to senders) joins the
	 * heap, which the filter then passes over and keeps. */
	for (uint32_t s = n->inbox_head; s != NONE;) {
		uint32_t next = net->msgs[s].next;
		uint64_t at_ms = now_ms;
		if (crash_slot(&c, s, &at_ms)) {
			int rc = sim_heap_push(&net->heap, at_ms,
			                       net->msgs[s].seq, s);
			sh_assert(rc == SH_OK);
		}
		s = next;
	}
	n->inbox_head = NONE;
	n->inbox_tail = NONE;
	sim_heap_filter(&net->heap, crash_filter, &c);
	return SH_OK;
}

int sim_net_restart(sim_net_t *net, uint32_t node)
{
	if (!node_in(net, node, CRASHED))
		return SH_EINVAL;
	net->nodes[node].state = ALIVE;
	return SH_OK;
}

uint32_t sim_net_queued(const sim_net_t *net)
{
	return net->used;
}

const sim_net_stats_t *sim_net_stats(const sim_net_t *net, uint32_t node)
{
	if (node == SIM_NET_ALL)
		return &net->total;
	if (node >= net->cfg.nodes)
		return NULL;
	return &net->nodes[node].stats;
}
