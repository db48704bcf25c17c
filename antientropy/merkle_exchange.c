/*
 * merkle_exchange.c - the anti-entropy exchange between two replicas of a
 * partition, as a sans-IO state machine (antientropy/merkle.h, where the
 * flow and the message format are described).
 *
 * The initiator walks the trees top-down: `cur` holds the differing nodes
 * of `level` still to expand, `next` the differing nodes found one level
 * down; at most branches_per_step parents go in one NODES_REQ, and only one
 * request is outstanding at a time. Once the walk reaches the segments,
 * `cur` holds the differing segments (ascending) and the key steps take
 * them segments_per_step at a time. The responder keeps no walk state: it
 * answers each request from its tree, and for KEYS_REQ from the keys its
 * caller feeds.
 */
#include <stdlib.h>
#include <string.h>

#include "antientropy/merkle.h"
#include "antientropy/merkle_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"

/* The phases, shorter (merkle_int.h names them). */
#define P_IDLE        MERKLE__P_IDLE
#define P_WALK        MERKLE__P_WALK
#define P_KEYS        MERKLE__P_KEYS
#define P_SERVE       MERKLE__P_SERVE
#define P_COLLECT     MERKLE__P_COLLECT
#define P_END         MERKLE__P_END
#define P_SUB_FIRST   MERKLE__P_SUB_FIRST
#define P_SUB_COLLECT MERKLE__P_SUB_COLLECT

void merkle_xconfig_default(merkle_xconfig_t *cfg)
{
	sh_assert(cfg != NULL);
	cfg->branches_per_step = MERKLE_BRANCHES_DEFAULT;
	cfg->segments_per_step = MERKLE_SEGS_PER_STEP_DEFAULT;
	cfg->keys_per_msg = MERKLE_KEYS_PER_MSG_DEFAULT;
	cfg->keys_per_step_max = MERKLE_KEYS_PER_STEP_DEFAULT;
	cfg->timeout_ms = MERKLE_TIMEOUT_MS_DEFAULT;
	cfg->sub_fanout = MERKLE_SUB_FANOUT_DEFAULT;
}

static int xconfig_ok(const merkle_xconfig_t *c)
{
	return c->branches_per_step >= 1 &&
	       c->branches_per_step <= MERKLE_BRANCHES_MAX &&
	       c->segments_per_step >= 1 &&
	       c->segments_per_step <= MERKLE_SEGS_PER_STEP_MAX &&
	       c->keys_per_msg >= 1 &&
	       c->keys_per_msg <= MERKLE_KEYS_PER_MSG_MAX &&
	       c->keys_per_step_max >= 1 &&
	       c->keys_per_step_max <= MERKLE_KEYS_PER_STEP_MAX &&
	       c->timeout_ms > 0 &&
	       (c->sub_fanout == 0 ||
	        (c->sub_fanout >= 2 && c->sub_fanout <= MERKLE_SUB_FANOUT_MAX &&
	         (c->sub_fanout & (c->sub_fanout - 1)) == 0));
}

int merkle_exchange_init(merkle_exchange_t *x, const merkle_xconfig_t *cfg,
                         merkle_t *tree)
{
	sh_assert(x != NULL && cfg != NULL && tree != NULL);
	if (!xconfig_ok(cfg))
		return SH_EINVAL;
	memset(x, 0, sizeof *x);
	x->cfg = *cfg;
	x->tree = tree;
	x->deadline_ms = UINT64_MAX;
	size_t s = tree->cfg.segments;
	x->cur = malloc(s * sizeof *x->cur);
	x->next = malloc(s * sizeof *x->next);
	x->want = calloc((s + 7) / 8, 1);
	x->hbuf = malloc(s * sizeof *x->hbuf);
	if (x->cur == NULL || x->next == NULL || x->want == NULL ||
	    x->hbuf == NULL) {
		merkle_exchange_free(x);
		return SH_ENOMEM;
	}
	return 0;
}

static void klist_free(merkle__klist_t *l)
{
	free(l->v);
	sh_buf_free(&l->arena);
	memset(l, 0, sizeof *l);
}

void merkle_exchange_free(merkle_exchange_t *x)
{
	if (x == NULL)
		return;
	free(x->cur);
	free(x->next);
	free(x->want);
	free(x->hbuf);
	klist_free(&x->local);
	klist_free(&x->remote);
	sh_buf_free(&x->out_bytes);
	free(x->outs);
	free(x->repairs);
	free(x->repair_off);
	sh_buf_free(&x->repair_arena);
	merkle__sub_free(x);
	memset(x, 0, sizeof *x);
}

/* ---- outputs ---- */

/* Record the message just appended at out_bytes[start..]. */
int merkle__queue_msg(merkle_exchange_t *x, size_t start, int rc)
{
	if (rc == 0)
		rc = sh_array_reserve((void **)&x->outs, &x->out_cap,
		                      x->out_n + 1, sizeof *x->outs);
	if (rc != 0) {
		x->out_bytes.len = start;
		return rc;
	}
	size_t len = x->out_bytes.len - start;
	x->outs[x->out_n].data = NULL;
	x->outs[x->out_n].len = len;
	x->out_n++;
	x->stats.msgs_sent++;
	x->stats.bytes_sent += len;
	return 0;
}

static uint32_t partition_of(const merkle_exchange_t *x)
{
	return x->tree->cfg.partition;
}

static void end(merkle_exchange_t *x, merkle_xstate_t state, int error)
{
	x->state = state;
	x->phase = P_END;
	x->error = error;
	x->deadline_ms = UINT64_MAX;
	x->want_announced = 0;
}

/* Abort with err; tell the peer when notify. Returns err. */
int merkle__abort(merkle_exchange_t *x, int err, int notify)
{
	sh_assert(err < 0);
	if (notify) {
		size_t at = x->out_bytes.len;
		merkle__queue_msg(x, at,
		                  merkle__enc_done(&x->out_bytes, x->xid,
		                                   partition_of(x), err));
	}
	end(x, MERKLE_X_ABORTED, err);
	return err;
}

void merkle__await_peer(merkle_exchange_t *x, uint64_t now_ms)
{
	x->deadline_ms = now_ms + x->cfg.timeout_ms;
}

/* Queue DONE(status) and end as DONE. */
static int finish(merkle_exchange_t *x, int64_t status)
{
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(
	    x, at,
	    merkle__enc_done(&x->out_bytes, x->xid, partition_of(x), status));
	if (rc != 0)
		return merkle__abort(x, rc, 0);
	end(x, MERKLE_X_DONE, 0);
	return 0;
}

static int add_repair(merkle_exchange_t *x, merkle_repair_kind_t kind,
                      const merkle__kent_t *e, uint64_t lh, uint64_t rh)
{
	size_t want = x->repair_n + 1;
	int rc = sh_array_reserve((void **)&x->repairs, &x->repair_cap, want,
	                          sizeof *x->repairs);
	if (rc == 0)
		rc = sh_array_reserve((void **)&x->repair_off,
		                      &x->repair_off_cap, want,
		                      sizeof *x->repair_off);
	size_t at = x->repair_arena.len;
	if (rc == 0)
		rc = sh_buf_append(&x->repair_arena, e->p,
		                   (size_t)e->blen + e->klen);
	if (rc != 0)
		return rc;
	merkle_repair_t *r = &x->repairs[x->repair_n];
	memset(r, 0, sizeof *r);
	r->bucket_len = e->blen;
	r->key_len = e->klen;
	r->kind = kind;
	r->local_hash = lh;
	r->remote_hash = rh;
	x->repair_off[x->repair_n] = at;
	x->repair_n++;
	x->stats.keys_repaired++;
	return 0;
}

void merkle_exchange_ready(merkle_exchange_t *x, merkle_ready_t *out)
{
	sh_assert(x != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	size_t at = 0;
	for (size_t i = 0; i < x->out_n; i++) {
		x->outs[i].data = x->out_bytes.data + at;
		at += x->outs[i].len;
	}
	sh_assert(at == x->out_bytes.len);
	out->msgs = x->outs;
	out->msg_count = x->out_n;
	if (x->want_announced) {
		out->want_keys = 1;
		out->want_segments = x->cur + x->step_at;
		out->want_count = x->step_n;
	}
	for (size_t i = 0; i < x->repair_n; i++) {
		const uint8_t *p = x->repair_arena.data + x->repair_off[i];
		x->repairs[i].bucket = p;
		x->repairs[i].key = p + x->repairs[i].bucket_len;
	}
	out->repairs = x->repairs;
	out->repair_count = x->repair_n;
	out->state = x->state;
	out->error = x->error;
	out->roots_equal = x->roots_equal;
	out->deadline_ms = x->deadline_ms;
}

void merkle_exchange_advance(merkle_exchange_t *x)
{
	sh_assert(x != NULL);
	sh_buf_reset(&x->out_bytes);
	x->out_n = 0;
	x->want_announced = 0;
	sh_buf_reset(&x->repair_arena);
	x->repair_n = 0;
}

const merkle_xstats_t *merkle_exchange_stats(const merkle_exchange_t *x)
{
	return &x->stats;
}

void merkle_stats_add(merkle_stats_t *s, const merkle_exchange_t *x)
{
	sh_assert(s != NULL && x != NULL);
	const merkle_xstats_t *a = &x->stats;
	merkle_xstats_t *b = &s->sum;
	s->exchanges_started++;
	if (x->state == MERKLE_X_DONE)
		s->exchanges_completed++;
	else
		s->exchanges_aborted++;
	b->msgs_sent += a->msgs_sent;
	b->bytes_sent += a->bytes_sent;
	b->msgs_received += a->msgs_received;
	b->bytes_received += a->bytes_received;
	b->msgs_rejected += a->msgs_rejected;
	b->levels_walked += a->levels_walked;
	b->branches_sent += a->branches_sent;
	b->nodes_compared += a->nodes_compared;
	b->segments_compared += a->segments_compared;
	b->keys_fed += a->keys_fed;
	b->keys_sent += a->keys_sent;
	b->keys_received += a->keys_received;
	b->keys_repaired += a->keys_repaired;
	b->paths_sent += a->paths_sent;
}

/* ---- key lists ---- */

static void want_set(merkle_exchange_t *x, uint32_t seg, int on)
{
	if (on)
		x->want[seg / 8] |= (uint8_t)(1u << (seg % 8));
	else
		x->want[seg / 8] &= (uint8_t) ~(1u << (seg % 8));
}

int merkle__want_has(const merkle_exchange_t *x, uint32_t seg)
{
	return (x->want[seg / 8] >> (seg % 8)) & 1;
}

/* Start collecting keys for segments cur[at .. at+n). */
void merkle__step_begin(merkle_exchange_t *x, uint32_t at, uint32_t n)
{
	x->step_at = at;
	x->step_n = n;
	for (uint32_t i = 0; i < n; i++)
		want_set(x, x->cur[at + i], 1);
	x->local.n = 0;
	sh_buf_reset(&x->local.arena);
	x->remote.n = 0;
	sh_buf_reset(&x->remote.arena);
	x->local_done = 0;
	x->remote_done = 0;
	x->want_announced = 1;
}

void merkle__step_clear(merkle_exchange_t *x)
{
	for (uint32_t i = 0; i < x->step_n; i++)
		want_set(x, x->cur[x->step_at + i], 0);
}

/* Append a key to l; SH_ETOOBIG past the step's bound. */
int merkle__klist_add(merkle_exchange_t *x, merkle__klist_t *l,
                      const merkle_key_t *k, uint64_t key_hash)
{
	if (l->n >= x->cfg.keys_per_step_max)
		return SH_ETOOBIG;
	int rc =
	    sh_array_reserve((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
	size_t at = l->arena.len;
	if (rc == 0)
		rc = sh_buf_append(&l->arena, k->bucket, k->bucket_len);
	if (rc == 0)
		rc = sh_buf_append(&l->arena, k->key, k->key_len);
	if (rc != 0) {
		l->arena.len = at;
		return rc;
	}
	merkle__kent_t *e = &l->v[l->n++];
	e->key_hash = key_hash;
	e->obj_hash = k->obj_hash;
	e->off = at;
	e->p = NULL;
	e->blen = (uint16_t)k->bucket_len;
	e->klen = (uint16_t)k->key_len;
	e->mark = 0;
	return 0;
}

static int kent_cmp(const void *pa, const void *pb)
{
	const merkle__kent_t *a = pa, *b = pb;
	if (a->key_hash != b->key_hash)
		return a->key_hash < b->key_hash ? -1 : 1;
	if (a->blen != b->blen || a->klen != b->klen)
		return a->blen != b->blen ? (a->blen < b->blen ? -1 : 1)
		                          : (a->klen < b->klen ? -1 : 1);
	size_t n = (size_t)a->blen + a->klen;
	return n ? memcmp(a->p, b->p, n) : 0;
}

void merkle__klist_sort(merkle__klist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		l->v[i].p = l->arena.data + l->v[i].off;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, kent_cmp);
}

/* Merge the sorted lists and report every difference. */
int merkle__compare_lists(merkle_exchange_t *x, int marked_only)
{
	merkle__klist_t *L = &x->local, *R = &x->remote;
	merkle__klist_sort(L);
	merkle__klist_sort(R);
	if (marked_only) { /* keep the marked keys, in order */
		size_t n = 0;
		for (size_t k = 0; k < L->n; k++)
			if (L->v[k].mark)
				L->v[n++] = L->v[k];
		L->n = n;
	}
	size_t i = 0, j = 0;
	int rc = 0;
	while (rc == 0 && (i < L->n || j < R->n)) {
		int c = i >= L->n   ? 1
		        : j >= R->n ? -1
		                    : kent_cmp(&L->v[i], &R->v[j]);
		if (c < 0) {
			rc = add_repair(x, MERKLE_REPAIR_LOCAL_ONLY, &L->v[i],
			                L->v[i].obj_hash, 0);
			i++;
		} else if (c > 0) {
			rc = add_repair(x, MERKLE_REPAIR_REMOTE_ONLY, &R->v[j],
			                0, R->v[j].obj_hash);
			j++;
		} else {
			if (L->v[i].obj_hash != R->v[j].obj_hash)
				rc = add_repair(x, MERKLE_REPAIR_DIFFERENT,
				                &L->v[i], L->v[i].obj_hash,
				                R->v[j].obj_hash);
			i++;
			j++;
		}
	}
	return rc;
}

/* ---- the initiator ---- */

/* Take the next step of differing segments, or finish. */
int merkle__key_step_next(merkle_exchange_t *x, uint64_t now_ms)
{
	if (x->cur_pos >= x->cur_n)
		return finish(x, MERKLE_DONE_OK);
	uint32_t n = x->cur_n - x->cur_pos;
	if (n > x->cfg.segments_per_step)
		n = x->cfg.segments_per_step;
	merkle__step_begin(x, x->cur_pos, n);
	x->cur_pos += n;
	/* with few keys a segment, its keys cost less than its sums */
	if (x->cfg.sub_fanout > 0 &&
	    merkle_keys(x->tree) >= (uint64_t)MERKLE_SUB_KEYS_PER_SEGMENT_MIN *
	                                x->tree->cfg.segments)
		return merkle__sub_step_start(x, now_ms);
	x->phase = P_KEYS;
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(
	    x, at,
	    merkle__enc_ids(&x->out_bytes, MERKLE_MSG_KEYS_REQ, x->xid,
	                    partition_of(x), 0, x->cur + x->step_at, n));
	if (rc != 0)
		return merkle__abort(x, rc, 0);
	merkle__await_peer(x, now_ms);
	return 0;
}

/* Both key lists of the step are in: report, then go on. */
static int step_compare(merkle_exchange_t *x, uint64_t now_ms)
{
	int rc = merkle__compare_lists(x, 0);
	x->stats.segments_compared += x->step_n;
	merkle__step_clear(x);
	if (rc != 0)
		return merkle__abort(x, rc, 1);
	return merkle__key_step_next(x, now_ms);
}

/* Ask for the children of the next parents of cur, or move down. */
static int walk_next(merkle_exchange_t *x, uint64_t now_ms)
{
	merkle_t *t = x->tree;
	if (x->cur_pos >= x->cur_n) {
		if (x->next_n == 0)
			return finish(x, MERKLE_DONE_OK);
		uint32_t *tmp = x->cur;
		x->cur = x->next;
		x->next = tmp;
		x->cur_n = x->next_n;
		x->cur_pos = 0;
		x->next_n = 0;
		x->level++;
		x->stats.levels_walked++;
		if (x->level == t->depth)
			return merkle__key_step_next(x, now_ms);
	}
	uint32_t n = x->cur_n - x->cur_pos;
	if (n > x->cfg.branches_per_step)
		n = x->cfg.branches_per_step;
	x->asked_at = x->cur_pos;
	x->asked_n = n;
	x->cur_pos += n;
	x->stats.branches_sent += n;
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(x, at,
	                           merkle__enc_ids(&x->out_bytes,
	                                           MERKLE_MSG_NODES_REQ, x->xid,
	                                           partition_of(x), x->level,
	                                           x->cur + x->asked_at, n));
	if (rc != 0)
		return merkle__abort(x, rc, 0);
	merkle__await_peer(x, now_ms);
	return 0;
}

int merkle_exchange_start(merkle_exchange_t *x, uint64_t now_ms, uint64_t xid)
{
	sh_assert(x != NULL);
	if (x->phase != P_IDLE || !merkle_is_built(x->tree))
		return SH_EINVAL;
	merkle_t *t = x->tree;
	x->initiator = 1;
	x->xid = xid;
	x->state = MERKLE_X_RUNNING;
	x->phase = P_WALK;
	x->level = 0;
	x->cur[0] = 0;
	x->cur_n = 1;
	x->cur_pos = 1;
	x->asked_at = 0;
	x->asked_n = 1;
	x->next_n = 0;
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(
	    x, at,
	    merkle__enc_open(&x->out_bytes, xid, t->cfg.partition,
	                     t->cfg.segments, t->cfg.fanout,
	                     t->cfg.partition_bits, merkle_root(t)));
	if (rc != 0)
		return merkle__abort(x, rc, 0);
	merkle__await_peer(x, now_ms);
	return 0;
}

/* NODES answering the outstanding request: note differing children. */
static int on_nodes(merkle_exchange_t *x, uint64_t now_ms,
                    const merkle_msg_t *m)
{
	merkle_t *t = x->tree;
	if (m->level != x->level || m->id_count != x->asked_n)
		return SH_EINVAL;
	for (uint32_t i = 0; i < m->id_count; i++)
		if (merkle_msg_id(m, i) != x->cur[x->asked_at + i])
			return SH_EINVAL;
	uint32_t per = t->size[x->level + 1] / t->size[x->level];
	if (m->hash_count != per * m->id_count)
		return merkle__abort(x, SH_EMALFORMED, 1);
	uint64_t mine[MERKLE_FANOUT_MAX];
	for (uint32_t i = 0; i < m->id_count; i++) {
		uint32_t parent = merkle_msg_id(m, i), count;
		int rc = merkle_children(t, x->level, parent, mine, &count);
		sh_assert(rc == 0 && count == per);
		for (uint32_t c = 0; c < per; c++) {
			x->stats.nodes_compared++;
			if (mine[c] != merkle_msg_hash(m, i * per + c))
				x->next[x->next_n++] = parent * per + c;
		}
	}
	x->asked_n = 0;
	return walk_next(x, now_ms);
}

/* KEYS from the responder during a key step. */
static int on_keys(merkle_exchange_t *x, uint64_t now_ms, const merkle_msg_t *m)
{
	merkle_key_iter_t it;
	merkle_key_t k;
	int rc;
	merkle_msg_keys(m, &it);
	while ((rc = merkle_msg_key_next(&it, &k)) == 1) {
		uint64_t kh =
		    merkle_key_hash(k.bucket, k.bucket_len, k.key, k.key_len);
		if (!merkle__in_partition(x->tree, kh) ||
		    !merkle__want_has(x, merkle_segment_of(x->tree, kh)))
			return merkle__abort(x, SH_EMALFORMED, 1);
		rc = merkle__klist_add(x, &x->remote, &k, kh);
		if (rc != 0)
			return merkle__abort(x, rc, 1);
		x->stats.keys_received++;
	}
	if (rc < 0)
		return merkle__abort(x, rc, 1);
	if (m->last) {
		x->remote_done = 1;
		x->deadline_ms = UINT64_MAX;
		if (x->local_done)
			return step_compare(x, now_ms);
	}
	return 0;
}

static int recv_initiator(merkle_exchange_t *x, uint64_t now_ms,
                          const merkle_msg_t *m, const void *buf, size_t len)
{
	if (m->type == MERKLE_MSG_DONE) {
		if (m->status == MERKLE_DONE_EQUAL && x->phase == P_WALK &&
		    x->level == 0 && x->next_n == 0) {
			x->roots_equal = 1;
			end(x, MERKLE_X_DONE, 0);
			return 0;
		}
		int err = m->status < 0 ? (int)m->status : SH_EMALFORMED;
		merkle__abort(x, err, 0);
		return 0;
	}
	if (m->type == MERKLE_MSG_NODES && x->phase == P_WALK && x->asked_n > 0)
		return on_nodes(x, now_ms, m);
	if (m->type == MERKLE_MSG_KEYS && x->phase == P_KEYS &&
	    !x->remote_done) {
		merkle__await_peer(x, now_ms);
		return on_keys(x, now_ms, m);
	}
	if ((m->type == MERKLE_MSG_SUMS || m->type == MERKLE_MSG_KEYS) &&
	    x->phase >= P_SUB_FIRST)
		return merkle__sub_recv(x, now_ms, m, buf, len);
	return SH_EINVAL;
}

/* ---- the responder ---- */

static int on_open(merkle_exchange_t *x, const merkle_msg_t *m)
{
	merkle_t *t = x->tree;
	x->xid = m->xid;
	x->state = MERKLE_X_RUNNING;
	if (!merkle_is_built(t) || m->segments != t->cfg.segments ||
	    m->fanout != t->cfg.fanout ||
	    m->partition_bits != t->cfg.partition_bits)
		return merkle__abort(x, SH_EINVAL, 1);
	if (m->root == merkle_root(t)) {
		x->roots_equal = 1;
		return finish(x, MERKLE_DONE_EQUAL);
	}
	x->phase = P_SERVE;
	uint32_t parent = 0;
	uint64_t h[MERKLE_FANOUT_MAX];
	uint32_t count;
	int rc = merkle_children(t, 0, 0, h, &count);
	sh_assert(rc == 0);
	x->stats.branches_sent++;
	size_t at = x->out_bytes.len;
	rc = merkle__queue_msg(x, at,
	                       merkle__enc_nodes(&x->out_bytes, x->xid,
	                                         t->cfg.partition, 0, &parent,
	                                         1, h, count));
	return rc != 0 ? merkle__abort(x, rc, 0) : 0;
}

static int on_nodes_req(merkle_exchange_t *x, const merkle_msg_t *m)
{
	merkle_t *t = x->tree;
	if (m->level >= t->depth || x->sub_held) /* sub_held: walk is over */
		return merkle__abort(x, SH_EMALFORMED, 1);
	uint32_t per = t->size[m->level + 1] / t->size[m->level];
	size_t need = (size_t)m->id_count * per;
	if (need > t->cfg.segments) /* repeated parents: not a real walk */
		return merkle__abort(x, SH_EMALFORMED, 1);
	for (uint32_t i = 0; i < m->id_count; i++) {
		uint32_t p = merkle_msg_id(m, i), count;
		if (p >= t->size[m->level])
			return merkle__abort(x, SH_EMALFORMED, 1);
		x->cur[i] = p;
		int rc = merkle_children(t, m->level, p,
		                         x->hbuf + (size_t)i * per, &count);
		sh_assert(rc == 0 && count == per);
	}
	x->stats.branches_sent += m->id_count;
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(
	    x, at,
	    merkle__enc_nodes(&x->out_bytes, x->xid, t->cfg.partition, m->level,
	                      x->cur, m->id_count, x->hbuf, (uint32_t)need));
	return rc != 0 ? merkle__abort(x, rc, 0) : 0;
}

static int on_keys_req(merkle_exchange_t *x, const merkle_msg_t *m)
{
	merkle__sub_release(x);
	for (uint32_t i = 0; i < m->id_count; i++) {
		uint32_t seg = merkle_msg_id(m, i);
		if (seg >= x->tree->cfg.segments)
			return merkle__abort(x, SH_EMALFORMED, 1);
		x->cur[i] = seg;
	}
	merkle__step_begin(x, 0, m->id_count);
	x->phase = P_COLLECT;
	x->deadline_ms = UINT64_MAX; /* our caller's turn, not the peer's */
	return 0;
}

int merkle__send_keys(merkle_exchange_t *x, const merkle__kent_t *v, size_t n)
{
	/* the entries' bytes are in the local list's arena */
	merkle__klist_t l = {(merkle__kent_t *)v, n, n, x->local.arena};
	size_t first = 0;
	do {
		size_t count = 0, bytes = 0;
		while (first + count < l.n && count < x->cfg.keys_per_msg &&
		       bytes < MERKLE_MSG_BYTES_TARGET) {
			const merkle__kent_t *e = &l.v[first + count];
			bytes += (size_t)e->blen + e->klen + 16;
			count++;
		}
		int last = first + count == l.n;
		size_t at = x->out_bytes.len;
		int rc = merkle__queue_msg(
		    x, at,
		    merkle__enc_keys(&x->out_bytes, x->xid, partition_of(x),
		                     last, &l, first, (uint32_t)count));
		if (rc != 0)
			return merkle__abort(x, rc, 0);
		x->stats.keys_sent += count;
		first += count;
	} while (first < l.n);
	return 0;
}

/* The responder's keys of the step go out in KEYS messages. */
static int send_keys(merkle_exchange_t *x, uint64_t now_ms)
{
	int rc = merkle__send_keys(x, x->local.v, x->local.n);
	if (rc != 0)
		return rc;
	x->stats.segments_compared += x->step_n;
	merkle__step_clear(x);
	x->phase = P_SERVE;
	merkle__await_peer(x, now_ms);
	return 0;
}

static int recv_responder(merkle_exchange_t *x, uint64_t now_ms,
                          const merkle_msg_t *m)
{
	if (x->phase == P_IDLE) {
		if (m->type != MERKLE_MSG_OPEN)
			return SH_EINVAL;
		int rc = on_open(x, m);
		if (rc == 0 && x->phase == P_SERVE)
			merkle__await_peer(x, now_ms);
		return rc;
	}
	if (m->type == MERKLE_MSG_DONE) {
		merkle__sub_release(x);
		if (m->status == MERKLE_DONE_OK)
			end(x, MERKLE_X_DONE, 0);
		else
			merkle__abort(
			    x, m->status < 0 ? (int)m->status : SH_EMALFORMED,
			    0);
		return 0;
	}
	if (x->phase != P_SERVE)
		return SH_EINVAL;
	int rc;
	if (m->type == MERKLE_MSG_NODES_REQ)
		rc = on_nodes_req(x, m);
	else if (m->type == MERKLE_MSG_KEYS_REQ)
		rc = on_keys_req(x, m);
	else if (m->type == MERKLE_MSG_SUMS_REQ ||
	         m->type == MERKLE_MSG_PKEYS_REQ)
		rc = merkle__sub_serve(x, now_ms, m);
	else
		return SH_EINVAL;
	if (rc == 0 && x->phase == P_SERVE)
		merkle__await_peer(x, now_ms);
	return rc;
}

/* ---- inputs ---- */

int merkle_exchange_recv(merkle_exchange_t *x, uint64_t now_ms, const void *buf,
                         size_t len)
{
	sh_assert(x != NULL);
	merkle_msg_t m;
	x->stats.msgs_received++;
	x->stats.bytes_received += len;
	int rc = merkle_msg_decode(buf, len, &m);
	if (rc == 0 &&
	    (x->phase == P_END || m.partition != x->tree->cfg.partition ||
	     (x->phase != P_IDLE && m.xid != x->xid)))
		rc = SH_EINVAL;
	if (rc == 0 && x->phase == P_IDLE && x->initiator)
		rc = SH_EINVAL;
	if (rc != 0) {
		x->stats.msgs_rejected++;
		return rc;
	}
	if (x->initiator)
		rc = recv_initiator(x, now_ms, &m, buf, len);
	else
		rc = recv_responder(x, now_ms, &m);
	if (rc == SH_EINVAL && x->phase != P_END)
		x->stats.msgs_rejected++;
	return rc;
}

int merkle_exchange_tick(merkle_exchange_t *x, uint64_t now_ms)
{
	sh_assert(x != NULL);
	if (x->phase == P_END || x->deadline_ms == UINT64_MAX ||
	    now_ms < x->deadline_ms)
		return 0;
	return merkle__abort(x, SH_ERANGE, 1);
}

static int collecting(const merkle_exchange_t *x)
{
	return ((x->phase == P_KEYS || x->phase == P_SUB_FIRST) &&
	        !x->local_done) ||
	       x->phase == P_COLLECT || x->phase == P_SUB_COLLECT;
}

int merkle_exchange_wants(const merkle_exchange_t *x, uint64_t key_hash)
{
	sh_assert(x != NULL);
	return collecting(x) && merkle__in_partition(x->tree, key_hash) &&
	       merkle__want_has(x, merkle_segment_of(x->tree, key_hash));
}

int merkle_exchange_key(merkle_exchange_t *x, const void *bucket, size_t blen,
                        const void *key, size_t klen, uint64_t obj_hash)
{
	sh_assert(x != NULL);
	if (!collecting(x))
		return SH_EINVAL;
	if (blen > MERKLE_BUCKET_BYTES_MAX || klen > MERKLE_KEY_BYTES_MAX)
		return SH_ETOOBIG;
	uint64_t kh = merkle_key_hash(bucket, blen, key, klen);
	if (!merkle_exchange_wants(x, kh))
		return 0;
	merkle_key_t k = {bucket, blen, key, klen, obj_hash};
	int rc = merkle__klist_add(x, &x->local, &k, kh);
	if (rc == SH_ETOOBIG)
		return merkle__abort(x, rc, 1);
	if (rc == 0)
		x->stats.keys_fed++;
	return rc;
}

int merkle_exchange_keys_end(merkle_exchange_t *x, uint64_t now_ms)
{
	sh_assert(x != NULL);
	if (!collecting(x))
		return SH_EINVAL;
	if (x->phase == P_COLLECT)
		return send_keys(x, now_ms);
	if (x->phase == P_SUB_COLLECT)
		return merkle__sub_collected(x, now_ms);
	x->local_done = 1;
	if (x->phase == P_SUB_FIRST)
		return merkle__sub_local_done(x, now_ms);
	if (x->remote_done)
		return step_compare(x, now_ms);
	return 0;
}
