/*
 * merkle_sub.c - the exchange's walk below the segments (merkle.h, "Below
 * the segments"): both sides hold the keys they fed for a step, sorted by
 * key hash, so every path is a contiguous run of them; the initiator asks
 * for the children's counts and sums of the paths that differ, level by
 * level, and for the keys of the few paths that stay different. Nothing
 * below the segments is stored: the sums are computed from the step's
 * keys when asked.
 */
#include <stdlib.h>
#include <string.h>

#include "antientropy/merkle.h"
#include "antientropy/merkle_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"

/* splitmix64's finaliser: a bijective mix of 64 bits. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A key's digest; a path's sum is the XOR of its keys' digests. */
static uint64_t digest(const merkle__kent_t *e)
{
	return mix64(e->key_hash ^ mix64(e->obj_hash ^ 0x9e3779b97f4a7c15ull));
}

/* The 32 bits that travel: salted by the exchange, so two different key
 * sets that collide here will not collide again in the next exchange. */
static uint32_t wire_sum(const merkle_exchange_t *x, uint64_t sum)
{
	return (uint32_t)(mix64(sum ^ x->xid) >> 32);
}

uint64_t merkle__path_of(const merkle_t *t, uint64_t key_hash, uint32_t len)
{
	sh_assert(len >= 1 && len <= MERKLE_PATH_BITS_MAX);
	uint64_t below = key_hash << t->cfg.partition_bits;
	return (1ull << len) | (below >> (64 - len));
}

/* The first hash bits below the partition under a path (no tree needed:
 * orders paths). */
static uint64_t path_lo(uint64_t path)
{
	uint32_t len = merkle__path_len(path);
	return (path ^ (1ull << len)) << (64 - len);
}

void merkle__path_range(const merkle_t *t, uint64_t path, uint64_t *lo,
                        uint64_t *hi)
{
	uint32_t len = merkle__path_len(path), pb = t->cfg.partition_bits;
	uint64_t base = pb ? (uint64_t)t->cfg.partition << (64 - pb) : 0;
	*lo = base | (path_lo(path) >> pb);
	*hi = *lo | ((~0ull >> len) >> pb);
}

/* 1 if a path of this length may be split in 1 << bits children. */
static int can_split(const merkle_t *t, uint32_t len, uint32_t bits)
{
	return len + bits <= MERKLE_PATH_BITS_MAX &&
	       len + bits <= 64 - t->cfg.partition_bits;
}

/* First entry of sorted l whose key hash is >= kh. */
static size_t lower_bound(const merkle__klist_t *l, uint64_t kh)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->v[mid].key_hash < kh)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Each child's key count and digest XOR (cnt, sum: 1 << bits each). */
static void child_sums(const merkle_exchange_t *x, const merkle__klist_t *l,
                       uint64_t path, uint32_t bits, uint32_t *cnt,
                       uint64_t *sum)
{
	uint32_t fan = 1u << bits, len = merkle__path_len(path) + bits;
	uint64_t lo, hi;
	memset(cnt, 0, fan * sizeof *cnt);
	memset(sum, 0, fan * sizeof *sum);
	merkle__path_range(x->tree, path, &lo, &hi);
	for (size_t i = lower_bound(l, lo); i < l->n && l->v[i].key_hash <= hi;
	     i++) {
		uint64_t c =
		    merkle__path_of(x->tree, l->v[i].key_hash, len) & (fan - 1);
		cnt[c]++;
		sum[c] ^= digest(&l->v[i]);
	}
}

/* Mark the local keys under path for the step's comparison. */
static void mark(merkle_exchange_t *x, uint64_t path)
{
	merkle__klist_t *l = &x->local;
	uint64_t lo, hi;
	merkle__path_range(x->tree, path, &lo, &hi);
	for (size_t i = lower_bound(l, lo); i < l->n && l->v[i].key_hash <= hi;
	     i++)
		l->v[i].mark = 1;
}

static int push(uint64_t **v, size_t *n, size_t *cap, uint64_t path)
{
	int rc = sh_array_reserve((void **)v, cap, *n + 1, sizeof **v);
	if (rc == 0)
		(*v)[(*n)++] = path;
	return rc;
}

/* ---- the initiator ---- */

/* Ask for the children's sums of the next paths of sub_cur. */
static int ask_sums(merkle_exchange_t *x, uint64_t now_ms, int first)
{
	size_t n = x->sub_cur_n - x->sub_pos;
	if (n > MERKLE_PATHS_MAX)
		n = MERKLE_PATHS_MAX;
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(
	    x, at,
	    merkle__enc_paths(&x->out_bytes, MERKLE_MSG_SUMS_REQ, x->xid,
	                      x->tree->cfg.partition, first, x->sub_bits,
	                      x->sub_cur + x->sub_pos, (uint32_t)n));
	if (rc != 0)
		return merkle__abort(x, rc, 0);
	x->sub_pos += n;
	x->sub_asked = n;
	if (!first)
		x->stats.paths_sent += n;
	x->phase = first ? MERKLE__P_SUB_FIRST : MERKLE__P_SUB_SUMS;
	merkle__await_peer(x, now_ms);
	return 0;
}

static int cmp_path(const void *pa, const void *pb)
{
	uint64_t a = path_lo(*(const uint64_t *)pa);
	uint64_t b = path_lo(*(const uint64_t *)pb);
	return a < b ? -1 : a > b;
}

/* Ask for the keys of the next paths of sub_keys, or end the step. */
static int ask_keys(merkle_exchange_t *x, uint64_t now_ms)
{
	if (x->sub_pos >= x->sub_keys_n) {
		int rc = merkle__compare_lists(x, 1);
		x->stats.segments_compared += x->step_n;
		merkle__step_clear(x);
		if (rc != 0)
			return merkle__abort(x, rc, 1);
		return merkle__key_step_next(x, now_ms);
	}
	size_t n = x->sub_keys_n - x->sub_pos;
	if (n > MERKLE_PATHS_MAX)
		n = MERKLE_PATHS_MAX;
	size_t at = x->out_bytes.len;
	int rc = merkle__queue_msg(
	    x, at,
	    merkle__enc_paths(&x->out_bytes, MERKLE_MSG_PKEYS_REQ, x->xid,
	                      x->tree->cfg.partition, 0, 0,
	                      x->sub_keys + x->sub_pos, (uint32_t)n));
	if (rc != 0)
		return merkle__abort(x, rc, 0);
	x->sub_pos += n;
	x->sub_asked = n;
	x->phase = MERKLE__P_SUB_KEYS;
	merkle__await_peer(x, now_ms);
	return 0;
}

/* The sums of a level are in: go down a level, or on to the keys. */
static int walk_on(merkle_exchange_t *x, uint64_t now_ms)
{
	if (x->sub_pos >= x->sub_cur_n && x->sub_next_n > 0) {
		uint64_t *tv = x->sub_cur;
		size_t tc = x->sub_cur_cap;
		x->sub_cur = x->sub_next;
		x->sub_cur_cap = x->sub_next_cap;
		x->sub_cur_n = x->sub_next_n;
		x->sub_next = tv;
		x->sub_next_cap = tc;
		x->sub_next_n = 0;
		x->sub_pos = 0;
	}
	if (x->sub_pos < x->sub_cur_n)
		return ask_sums(x, now_ms, 0);
	if (x->sub_keys_n > 1)
		qsort(x->sub_keys, x->sub_keys_n, sizeof *x->sub_keys,
		      cmp_path);
	x->sub_pos = 0;
	return ask_keys(x, now_ms);
}

/* Compare the children of path (i-th of SUMS m) with ours; sort each
 * differing child into: done (peer has none), keys to ask, split again. */
static int compare_path(merkle_exchange_t *x, const merkle_msg_t *m, uint32_t i,
                        uint64_t path)
{
	uint32_t bits = x->sub_bits, fan = 1u << bits;
	uint32_t cnt[MERKLE_SUB_FANOUT_MAX];
	uint64_t sum[MERKLE_SUB_FANOUT_MAX];
	uint32_t len = merkle__path_len(path) + bits;
	child_sums(x, &x->local, path, bits, cnt, sum);
	for (uint32_t c = 0; c < fan; c++) {
		uint32_t rcnt = m->counts[i * fan + c];
		uint32_t lcnt = cnt[c] > 255 ? 255 : cnt[c];
		if (rcnt == lcnt &&
		    merkle_msg_sum(m, i * fan + c) == wire_sum(x, sum[c]))
			continue;
		uint64_t child = (path << bits) | c;
		int rc = 0;
		if (rcnt == 0) { /* every local key there is LOCAL_ONLY */
			mark(x, child);
		} else if (cnt[c] <= 1 || rcnt <= 1 ||
		           !can_split(x->tree, len, bits)) {
			mark(x, child);
			rc = push(&x->sub_keys, &x->sub_keys_n,
			          &x->sub_keys_cap, child);
		} else {
			rc = push(&x->sub_next, &x->sub_next_n,
			          &x->sub_next_cap, child);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* SUMS answering the outstanding SUMS_REQ (our local keys are in). */
static int on_sums(merkle_exchange_t *x, uint64_t now_ms, const merkle_msg_t *m)
{
	size_t base = x->sub_pos - x->sub_asked;
	if (m->bits != x->sub_bits || m->path_count != x->sub_asked)
		return SH_EINVAL;
	x->sub_asked = 0;
	for (uint32_t i = 0; i < m->path_count; i++) {
		int rc = compare_path(x, m, i, x->sub_cur[base + i]);
		if (rc != 0)
			return merkle__abort(x, rc, 1);
	}
	return walk_on(x, now_ms);
}

/* 1 if key_hash falls under one of the paths asked in the last PKEYS. */
static int asked_for(const merkle_exchange_t *x, uint64_t key_hash)
{
	const uint64_t *v = x->sub_keys + (x->sub_pos - x->sub_asked);
	size_t lo = 0, hi = x->sub_asked;
	uint64_t below = key_hash << x->tree->cfg.partition_bits;
	while (lo < hi) { /* first path starting after the key */
		size_t mid = lo + (hi - lo) / 2;
		if (path_lo(v[mid]) <= below)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	uint64_t a, b;
	merkle__path_range(x->tree, v[lo - 1], &a, &b);
	return key_hash >= a && key_hash <= b;
}

/* KEYS answering the outstanding PKEYS_REQ. */
static int on_pkeys(merkle_exchange_t *x, uint64_t now_ms,
                    const merkle_msg_t *m)
{
	merkle_key_iter_t it;
	merkle_key_t k;
	int rc;
	merkle_msg_keys(m, &it);
	while ((rc = merkle_msg_key_next(&it, &k)) == 1) {
		uint64_t kh =
		    merkle_key_hash(k.bucket, k.bucket_len, k.key, k.key_len);
		if (!merkle__in_partition(x->tree, kh) || !asked_for(x, kh))
			return merkle__abort(x, SH_EMALFORMED, 1);
		rc = merkle__klist_add(x, &x->remote, &k, kh);
		if (rc != 0)
			return merkle__abort(x, rc, 1);
		x->stats.keys_received++;
	}
	if (rc < 0)
		return merkle__abort(x, rc, 1);
	if (!m->last)
		return 0;
	x->sub_asked = 0;
	return ask_keys(x, now_ms);
}

int merkle__sub_step_start(merkle_exchange_t *x, uint64_t now_ms)
{
	uint32_t bits = 0;
	while ((1u << bits) < x->cfg.sub_fanout)
		bits++;
	x->sub_bits = bits;
	x->sub_cur_n = x->sub_next_n = x->sub_keys_n = 0;
	x->sub_pos = x->sub_asked = 0;
	sh_buf_reset(&x->sub_pend);
	uint32_t sb = x->tree->seg_bits;
	for (uint32_t i = 0; i < x->step_n; i++) {
		uint64_t path = (1ull << sb) | x->cur[x->step_at + i];
		int rc =
		    push(&x->sub_cur, &x->sub_cur_n, &x->sub_cur_cap, path);
		if (rc != 0)
			return merkle__abort(x, rc, 0);
	}
	return ask_sums(x, now_ms, 1);
}

int merkle__sub_recv(merkle_exchange_t *x, uint64_t now_ms,
                     const merkle_msg_t *m, const void *buf, size_t len)
{
	if (m->type == MERKLE_MSG_KEYS) {
		if (x->phase != MERKLE__P_SUB_KEYS || x->sub_asked == 0)
			return SH_EINVAL;
		merkle__await_peer(x, now_ms);
		return on_pkeys(x, now_ms, m);
	}
	if (x->phase == MERKLE__P_SUB_SUMS)
		return on_sums(x, now_ms, m);
	if (x->phase != MERKLE__P_SUB_FIRST || x->sub_pend.len > 0)
		return SH_EINVAL;
	if (x->local_done)
		return on_sums(x, now_ms, m);
	/* our keys are still coming: keep the answer until they are in */
	int rc = sh_buf_append(&x->sub_pend, buf, len);
	if (rc != 0)
		return merkle__abort(x, rc, 1);
	x->deadline_ms = UINT64_MAX; /* our caller's turn, not the peer's */
	return 0;
}

int merkle__sub_local_done(merkle_exchange_t *x, uint64_t now_ms)
{
	merkle__klist_sort(&x->local);
	if (x->sub_pend.len == 0)
		return 0; /* the peer's first SUMS is still to come */
	merkle_msg_t m;
	int rc = merkle_msg_decode(x->sub_pend.data, x->sub_pend.len, &m);
	sh_assert(rc == 0); /* it decoded when it came */
	rc = on_sums(x, now_ms, &m);
	if (rc == SH_EINVAL) /* it did not answer what we asked */
		return merkle__abort(x, SH_EMALFORMED, 1);
	return rc;
}

/* ---- the responder ---- */

void merkle__sub_release(merkle_exchange_t *x)
{
	if (!x->sub_held)
		return;
	merkle__step_clear(x);
	x->sub_held = 0;
}

/* Queue SUMS for the n paths at v, from the step's keys. */
static int send_sums(merkle_exchange_t *x, const uint64_t *v, uint32_t n)
{
	uint32_t fan = 1u << x->sub_bits;
	size_t children = (size_t)n * fan;
	uint8_t *counts = malloc(children);
	uint32_t *sums = malloc(children * sizeof *sums);
	int rc = counts && sums ? 0 : SH_ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		uint32_t cnt[MERKLE_SUB_FANOUT_MAX];
		uint64_t sum[MERKLE_SUB_FANOUT_MAX];
		child_sums(x, &x->local, v[i], x->sub_bits, cnt, sum);
		for (uint32_t c = 0; c < fan; c++) {
			counts[i * fan + c] =
			    (uint8_t)(cnt[c] > 255 ? 255 : cnt[c]);
			sums[i * fan + c] = wire_sum(x, sum[c]);
		}
	}
	size_t at = x->out_bytes.len;
	if (rc == 0)
		rc = merkle__queue_msg(x, at,
		                       merkle__enc_sums(&x->out_bytes, x->xid,
		                                        x->tree->cfg.partition,
		                                        x->sub_bits, n, counts,
		                                        sums));
	free(counts);
	free(sums);
	return rc != 0 ? merkle__abort(x, rc, 0) : 0;
}

/* First SUMS_REQ of a step: its paths are segments; collect their keys. */
static int serve_first(merkle_exchange_t *x, const merkle_msg_t *m)
{
	merkle__sub_release(x);
	uint32_t sb = x->tree->seg_bits;
	x->sub_cur_n = 0;
	for (uint32_t i = 0; i < m->path_count; i++) {
		uint64_t path = merkle_msg_path(m, i);
		if (merkle__path_len(path) != sb)
			return merkle__abort(x, SH_EMALFORMED, 1);
		x->cur[i] = (uint32_t)(path ^ (1ull << sb));
		int rc =
		    push(&x->sub_cur, &x->sub_cur_n, &x->sub_cur_cap, path);
		if (rc != 0)
			return merkle__abort(x, rc, 1);
	}
	x->sub_bits = m->bits;
	merkle__step_begin(x, 0, m->path_count);
	x->phase = MERKLE__P_SUB_COLLECT;
	x->deadline_ms = UINT64_MAX; /* our caller's turn, not the peer's */
	return 0;
}

int merkle__sub_collected(merkle_exchange_t *x, uint64_t now_ms)
{
	merkle__klist_sort(&x->local);
	x->sub_held = 1;
	x->phase = MERKLE__P_SERVE;
	int rc = send_sums(x, x->sub_cur, (uint32_t)x->sub_cur_n);
	if (rc == 0)
		merkle__await_peer(x, now_ms);
	return rc;
}

/* 1 if every path of m lies in one of the step's segments and leaves
 * room for `room` bits below it. */
static int paths_in_step(const merkle_exchange_t *x, const merkle_msg_t *m,
                         uint32_t room)
{
	uint32_t sb = x->tree->seg_bits;
	for (uint32_t i = 0; i < m->path_count; i++) {
		uint64_t path = merkle_msg_path(m, i);
		uint32_t len = merkle__path_len(path);
		if (len < sb || (room && !can_split(x->tree, len, room)))
			return 0;
		uint64_t prefix = path ^ (1ull << len);
		if (!merkle__want_has(x, (uint32_t)(prefix >> (len - sb))))
			return 0;
	}
	return 1;
}

/* PKEYS_REQ: the step's keys under the paths asked, in KEYS. */
static int serve_keys(merkle_exchange_t *x, const merkle_msg_t *m)
{
	merkle__klist_t *sel = &x->remote; /* unused on this side */
	sel->n = 0;
	for (uint32_t i = 0; i < m->path_count; i++) {
		uint64_t lo, hi;
		merkle__path_range(x->tree, merkle_msg_path(m, i), &lo, &hi);
		const merkle__klist_t *l = &x->local;
		for (size_t k = lower_bound(l, lo);
		     k < l->n && l->v[k].key_hash <= hi; k++) {
			int rc = sh_array_reserve((void **)&sel->v, &sel->cap,
			                          sel->n + 1, sizeof *sel->v);
			if (rc != 0)
				return merkle__abort(x, rc, 1);
			sel->v[sel->n++] = l->v[k];
		}
	}
	return merkle__send_keys(x, sel->v, sel->n);
}

int merkle__sub_serve(merkle_exchange_t *x, uint64_t now_ms,
                      const merkle_msg_t *m)
{
	if (m->type == MERKLE_MSG_SUMS_REQ && m->first)
		return serve_first(x, m);
	if (!x->sub_held)
		return SH_EINVAL; /* no step's keys to answer from */
	int sums = m->type == MERKLE_MSG_SUMS_REQ;
	if ((sums && m->bits != x->sub_bits) ||
	    !paths_in_step(x, m, sums ? m->bits : 0))
		return merkle__abort(x, SH_EMALFORMED, 1);
	int rc;
	if (sums) { /* the paths, decoded into scratch unused on this side */
		x->sub_next_n = 0;
		for (uint32_t i = 0; i < m->path_count; i++)
			if (push(&x->sub_next, &x->sub_next_n, &x->sub_next_cap,
			         merkle_msg_path(m, i)) != 0)
				return merkle__abort(x, SH_ENOMEM, 1);
		x->stats.paths_sent += m->path_count;
		rc = send_sums(x, x->sub_next, m->path_count);
	} else {
		rc = serve_keys(x, m);
	}
	if (rc == 0)
		merkle__await_peer(x, now_ms);
	return rc;
}

void merkle__sub_free(merkle_exchange_t *x)
{
	free(x->sub_cur);
	free(x->sub_next);
	free(x->sub_keys);
	sh_buf_free(&x->sub_pend);
}
