/*
 * sim_aae_run.c - the exchanges of `shoal-sim aae` (sim_aae.h): two
 * merkle_exchange_t per (partition, replica pair), messages handed from
 * one to the other in memory and counted by type, key requests answered
 * from the replicas' slots, repairs applied by merging both objects.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "tests/sim/sim_aae.h"

/* Turns of one exchange before it counts as stuck. */
#define TURNS_MAX 1000000

typedef struct side {
	merkle_exchange_t x;
	int r;      /* replica */
	uint32_t p; /* partition */
} side_t;

/* Per message: its bytes into the right bucket, and the model's time. */
static void count_msg(aae_bench_t *b, const merkle_out_t *m)
{
	merkle_msg_t d;
	b->msgs++;
	b->sim_s += b->o.latency_us / 1e6 +
	            (double)m->len * 8 / ((double)b->o.mbit_s * 1e6);
	if (merkle_msg_decode(m->data, m->len, &d) != 0) {
		b->bytes.tree += m->len; /* cannot happen: counted anyway */
		return;
	}
	switch (d.type) {
	case MERKLE_MSG_KEYS_REQ:
	case MERKLE_MSG_KEYS: b->bytes.keys += m->len; break;
	case MERKLE_MSG_OPEN:
	case MERKLE_MSG_NODES_REQ:
	case MERKLE_MSG_NODES:
	case MERKLE_MSG_DONE: b->bytes.tree += m->len; break;
	default: b->bytes.sums += m->len; break;
	}
}

/* Slots [*lo, *hi) of partition p's segment seg. */
static void segment_slots(const aae_bench_t *b, const merkle_t *t, uint32_t p,
                          uint32_t seg, size_t *lo, size_t *hi)
{
	size_t a = b->pstart[p], z = b->pstart[p + 1];
	size_t l = a, h = z;
	while (l < h) { /* first slot whose segment >= seg */
		size_t mid = l + (h - l) / 2;
		if (merkle_segment_of(t, b->u[mid].key_hash) < seg)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	h = z;
	while (l < h) { /* first slot whose segment > seg */
		size_t mid = l + (h - l) / 2;
		if (merkle_segment_of(t, b->u[mid].key_hash) <= seg)
			l = mid + 1;
		else
			h = mid;
	}
	*hi = l;
}

/* Feed s's replica's keys of the wanted segments, then end the list. */
static int feed_keys(aae_bench_t *b, side_t *s, const uint32_t *segs, size_t n)
{
	const aae_replica_t *rep = &b->r[s->r];
	char name[AAE_NAME_LEN];
	for (size_t i = 0; i < n; i++) {
		size_t lo, hi;
		segment_slots(b, s->x.tree, s->p, segs[i], &lo, &hi);
		for (size_t slot = lo; slot < hi; slot++) {
			if (rep->ver[slot] == 0)
				continue;
			sim_aae_name(b->u[slot].idx, name);
			int rc = merkle_exchange_key(
			    &s->x, AAE_BUCKET, AAE_BUCKET_LEN, name,
			    AAE_NAME_LEN, rep->objh[slot]);
			if (rc != 0)
				return rc;
		}
	}
	return merkle_exchange_keys_end(&s->x, 0);
}

/* The key a repair names, as a slot; SIZE_MAX if it is not one of ours. */
static size_t repair_slot(const aae_bench_t *b, const merkle_repair_t *r)
{
	if (r->bucket_len != AAE_BUCKET_LEN || r->key_len != AAE_NAME_LEN ||
	    memcmp(r->bucket, AAE_BUCKET, AAE_BUCKET_LEN) != 0 ||
	    r->key[0] != 'k')
		return SIZE_MAX;
	uint64_t idx = 0;
	for (size_t i = 1; i < AAE_NAME_LEN; i++)
		idx = idx * 10 + (uint64_t)(r->key[i] - '0');
	return idx < b->n ? b->slot_of[idx] : SIZE_MAX;
}

/*
 * Repair one key as a read repair does: the initiator fetches the peer's
 * object (asking by name), merges (the newer version wins) and writes the
 * merge to each side that lacked it (sending it by name to the peer).
 */
static int repair(aae_bench_t *b, int me, int peer, const merkle_repair_t *r)
{
	size_t slot = repair_slot(b, r);
	if (slot == SIZE_MAX) {
		b->wrong_repairs++;
		return 0;
	}
	uint32_t vm = b->r[me].ver[slot], vp = b->r[peer].ver[slot];
	int right = r->kind == MERKLE_REPAIR_DIFFERENT    ? vm && vp && vm != vp
	            : r->kind == MERKLE_REPAIR_LOCAL_ONLY ? vm && !vp
	            : r->kind == MERKLE_REPAIR_REMOTE_ONLY ? !vm && vp
	                                                   : 0;
	if (!right) {
		b->wrong_repairs++;
		return 0;
	}
	uint64_t name = AAE_BUCKET_LEN + AAE_NAME_LEN;
	uint32_t v = vm > vp ? vm : vp;
	b->repairs++;
	if (vp) { /* fetch */
		b->bytes.objects += name + b->o.value_bytes;
		b->objects_moved++;
	}
	if (v != vp) { /* push */
		b->bytes.objects += name + b->o.value_bytes;
		b->objects_moved++;
	}
	int rc = sim_aae_set(b, me, slot, v);
	return rc != 0 ? rc : sim_aae_set(b, peer, slot, v);
}

/*
 * One turn of side s: hand its messages to the peer, apply its repairs,
 * answer its request for keys. *moved (out) is 1 when it had anything.
 */
static int turn(aae_bench_t *b, side_t *s, side_t *peer, int *moved)
{
	merkle_ready_t rd;
	merkle_exchange_ready(&s->x, &rd);
	*moved = rd.msg_count > 0 || rd.want_keys || rd.repair_count > 0;
	for (size_t i = 0; i < rd.msg_count; i++) {
		count_msg(b, &rd.msgs[i]);
		/* rejected messages are the peer's business: it counts them */
		(void)merkle_exchange_recv(&peer->x, 0, rd.msgs[i].data,
		                           rd.msgs[i].len);
	}
	if (rd.repair_count > 0)
		b->sim_s += 2.0 * b->o.latency_us / 1e6; /* one batch */
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < rd.repair_count; i++)
		rc = repair(b, s->r, peer->r, &rd.repairs[i]);
	uint32_t *segs = NULL;
	size_t nseg = rd.want_keys ? rd.want_count : 0;
	if (rc == 0 && nseg > 0) {
		segs = malloc(nseg * sizeof *segs);
		if (segs == NULL)
			rc = SH_ENOMEM;
		else
			memcpy(segs, rd.want_segments, nseg * sizeof *segs);
	}
	merkle_exchange_advance(&s->x);
	if (rc == 0 && rd.want_keys)
		rc = feed_keys(b, s, segs, nseg);
	free(segs);
	return rc;
}

static void tally(aae_bench_t *b, const side_t *ini, const side_t *resp)
{
	const merkle_xstats_t *a = merkle_exchange_stats(&ini->x);
	const merkle_xstats_t *c = merkle_exchange_stats(&resp->x);
	b->exchanges++;
	b->equal_roots += ini->x.state == MERKLE_X_DONE && ini->x.roots_equal;
	b->aborted += ini->x.state != MERKLE_X_DONE;
	b->levels_walked += a->levels_walked;
	b->keys_sent += a->keys_sent + c->keys_sent;
}

/* One exchange of partition p, replica ri initiating towards rr. */
static int exchange(aae_bench_t *b, uint32_t p, int ri, int rr, int *equal)
{
	side_t s[2];
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	xc.sub_fanout = b->o.sub_fanout;
	memset(s, 0, sizeof s);
	int rc = merkle_exchange_init(&s[0].x, &xc, &b->r[ri].trees[p]);
	if (rc == 0)
		rc = merkle_exchange_init(&s[1].x, &xc, &b->r[rr].trees[p]);
	s[0].r = ri, s[0].p = p, s[1].r = rr, s[1].p = p;
	uint64_t st = b->o.seed + b->exchanges;
	if (rc == 0)
		rc = merkle_exchange_start(&s[0].x, 0, sh_splitmix64(&st));
	int moved = 1;
	for (int i = 0; rc == 0 && moved && i < TURNS_MAX; i++) {
		int m0 = 0, m1 = 0;
		rc = turn(b, &s[0], &s[1], &m0);
		if (rc == 0)
			rc = turn(b, &s[1], &s[0], &m1);
		moved = m0 || m1;
	}
	if (rc == 0 && moved)
		rc = SH_ERANGE; /* still talking after TURNS_MAX turns */
	tally(b, &s[0], &s[1]);
	*equal = s[0].x.state == MERKLE_X_DONE && s[0].x.roots_equal;
	if (rc == 0 && s[0].x.state != MERKLE_X_DONE)
		rc = s[0].x.error ? s[0].x.error : SH_EINVAL;
	merkle_exchange_free(&s[0].x);
	merkle_exchange_free(&s[1].x);
	return rc;
}

int sim_aae_round(aae_bench_t *b, int *all_equal)
{
	static const int pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
	*all_equal = 1;
	for (uint32_t p = 0; p < b->o.partitions; p++)
		for (int k = 0; k < 3; k++) {
			int eq = 0;
			int rc = exchange(b, p, pairs[k][0], pairs[k][1], &eq);
			if (rc != 0)
				return rc;
			*all_equal &= eq;
		}
	return 0;
}
