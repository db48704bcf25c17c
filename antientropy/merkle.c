/*
 * merkle.c - the anti-entropy hash tree (antientropy/merkle.h): geometry,
 * key terms, O(1) updates with lazily recomputed upper levels, and the
 * rebuild from storage through a shadow segment array and a key cursor.
 * The exchange is in merkle_exchange.c, its messages in merkle_codec.c.
 */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "antientropy/merkle.h"
#include "antientropy/merkle_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "ring/ring.h"

/* Largest bucket NUL key hash record hashed in one shot (merkle_term). */
#define MERKLE__TERM_FLAT_BYTES 256

#define MERKLE__CURSOR_BYTES                                                   \
	(MERKLE_BUCKET_BYTES_MAX + 1 + MERKLE_KEY_BYTES_MAX)

void merkle_config_default(merkle_config_t *cfg)
{
	sh_assert(cfg != NULL);
	cfg->segments = MERKLE_SEGMENTS_DEFAULT;
	cfg->fanout = MERKLE_FANOUT_DEFAULT;
	cfg->partition_bits = 6;
	cfg->partition = 0;
}

static int is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static uint32_t log2u(uint32_t v)
{
	uint32_t b = 0;
	while ((1u << b) < v)
		b++;
	return b;
}

int merkle__geometry_ok(uint32_t segments, uint32_t fanout,
                        uint32_t partition_bits)
{
	if (!is_pow2(segments) || segments < MERKLE_SEGMENTS_MIN ||
	    segments > MERKLE_SEGMENTS_MAX)
		return 0;
	if (!is_pow2(fanout) || fanout < 2 || fanout > MERKLE_FANOUT_MAX)
		return 0;
	return partition_bits <= MERKLE_PARTITION_BITS_MAX;
}

int merkle_init(merkle_t *t, const merkle_config_t *cfg)
{
	sh_assert(t != NULL && cfg != NULL);
	if (!merkle__geometry_ok(cfg->segments, cfg->fanout,
	                         cfg->partition_bits))
		return SH_EINVAL;
	if (cfg->partition_bits < 32 &&
	    cfg->partition >= (1u << cfg->partition_bits))
		return SH_EINVAL;
	merkle_t n;
	memset(&n, 0, sizeof n);
	n.cfg = *cfg;
	n.seg_bits = log2u(cfg->segments);
	n.fan_bits = log2u(cfg->fanout);
	n.depth = (n.seg_bits + n.fan_bits - 1) / n.fan_bits;
	sh_assert(n.depth >= 1 && n.depth < MERKLE_LEVELS_MAX);
	size_t total = 0, upper = 0;
	for (uint32_t d = 0; d <= n.depth; d++) {
		uint32_t down = (n.depth - d) * n.fan_bits;
		n.size[d] = down >= n.seg_bits ? 1 : 1u << (n.seg_bits - down);
		total += n.size[d];
		if (d < n.depth)
			upper += n.size[d];
	}
	n.nodes = calloc(total, sizeof *n.nodes);
	n.flags = calloc(upper, 1);
	if (n.nodes == NULL || n.flags == NULL) {
		free(n.nodes);
		free(n.flags);
		return SH_ENOMEM;
	}
	size_t at = 0, fat = 0;
	for (uint32_t d = 0; d <= n.depth; d++) {
		n.level[d] = n.nodes + at;
		at += n.size[d];
		if (d < n.depth) {
			n.dirty[d] = n.flags + fat;
			memset(n.dirty[d], 1, n.size[d]);
			fat += n.size[d];
		}
	}
	*t = n;
	return 0;
}

void merkle_free(merkle_t *t)
{
	if (t == NULL)
		return;
	merkle_rebuild_cancel(t);
	free(t->nodes);
	free(t->flags);
	memset(t, 0, sizeof *t);
}

/* the ring's key hash: a key's segment is cut from the same bits that
 * place it in its partition */
uint64_t merkle_key_hash(const void *bucket, size_t blen, const void *key,
                         size_t klen)
{
	return ring_key_hash(bucket, blen, key, klen);
}

void merkle__put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t merkle__get_u64be(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

uint64_t merkle_term(const void *bucket, size_t blen, const void *key,
                     size_t klen, uint64_t obj_hash)
{
	static const uint8_t zero = 0;
	uint8_t h[8];
	uint8_t flat[MERKLE__TERM_FLAT_BYTES];
	XXH3_state_t st;

	merkle__put_u64be(h, obj_hash);
	/* Every write hashes two terms (old and new): the one-shot hash of a
	 * copy costs a fraction of a streaming state's reset, updates and
	 * digest, and gives the same value. */
	if (blen < sizeof(flat) - 9 && klen < sizeof(flat) - 9 - blen) {
		if (blen)
			memcpy(flat, bucket, blen);
		flat[blen] = 0;
		if (klen)
			memcpy(flat + blen + 1, key, klen);
		memcpy(flat + blen + 1 + klen, h, sizeof h);
		return XXH3_64bits(flat, blen + 1 + klen + sizeof h);
	}
	XXH3_INITSTATE(&st);
	XXH3_64bits_reset(&st);
	if (blen)
		XXH3_64bits_update(&st, bucket, blen);
	XXH3_64bits_update(&st, &zero, 1);
	if (klen)
		XXH3_64bits_update(&st, key, klen);
	XXH3_64bits_update(&st, h, sizeof h);
	return XXH3_64bits_digest(&st);
}

uint32_t merkle_segment_of(const merkle_t *t, uint64_t key_hash)
{
	return (uint32_t)((key_hash << t->cfg.partition_bits) >>
	                  (64 - t->seg_bits));
}

int merkle__in_partition(const merkle_t *t, uint64_t key_hash)
{
	if (t->cfg.partition_bits == 0)
		return 1;
	return (key_hash >> (64 - t->cfg.partition_bits)) == t->cfg.partition;
}

/* Mark the ancestors of segment seg dirty, stopping at one that is. */
static void mark_dirty(merkle_t *t, uint32_t seg)
{
	uint32_t idx = seg;
	for (uint32_t d = t->depth; d-- > 0;) {
		idx = (uint32_t)(((uint64_t)idx * t->size[d]) / t->size[d + 1]);
		if (t->dirty[d][idx])
			return;
		t->dirty[d][idx] = 1;
	}
}

/*
 * The byte string `bucket \0 key` into buf (MERKLE__CURSOR_BYTES); its
 * length, for comparison with the rebuild cursor.
 */
static size_t joined_key(uint8_t *buf, const void *bucket, size_t blen,
                         const void *key, size_t klen)
{
	if (blen)
		memcpy(buf, bucket, blen);
	buf[blen] = 0;
	if (klen)
		memcpy(buf + blen + 1, key, klen);
	return blen + 1 + klen;
}

/* memcmp order, shorter first: the store's key order. */
static int cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b,
                     size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int merkle_update(merkle_t *t, const void *bucket, size_t blen, const void *key,
                  size_t klen, const uint64_t *old_hash,
                  const uint64_t *new_hash)
{
	sh_assert(t != NULL && t->nodes != NULL);
	if (blen > MERKLE_BUCKET_BYTES_MAX || klen > MERKLE_KEY_BYTES_MAX)
		return SH_ETOOBIG;
	uint64_t kh = merkle_key_hash(bucket, blen, key, klen);
	if (!merkle__in_partition(t, kh))
		return SH_EINVAL;
	if (old_hash == NULL && new_hash == NULL)
		return 0;
	if (old_hash != NULL && new_hash != NULL && *old_hash == *new_hash)
		return 0;
	uint64_t delta = 0;
	if (old_hash != NULL)
		delta ^= merkle_term(bucket, blen, key, klen, *old_hash);
	if (new_hash != NULL)
		delta ^= merkle_term(bucket, blen, key, klen, *new_hash);
	int64_t dk = (new_hash != NULL) - (old_hash != NULL);
	uint32_t seg = merkle_segment_of(t, kh);
	t->level[t->depth][seg] ^= delta;
	t->keys += (uint64_t)dk;
	t->updates++;
	mark_dirty(t, seg);
	if (t->shadow != NULL && t->cursor_set) {
		uint8_t buf[MERKLE__CURSOR_BYTES];
		size_t len = joined_key(buf, bucket, blen, key, klen);
		if (cmp_bytes(buf, len, t->cursor, t->cursor_len) <= 0) {
			t->shadow[seg] ^= delta;
			t->shadow_keys += (uint64_t)dk;
		}
	}
	return 0;
}

/* Recompute node (d, i) if dirty, cleaning its subtree first. */
static void clean(merkle_t *t, uint32_t d, uint32_t i)
{
	if (d >= t->depth || !t->dirty[d][i])
		return;
	uint32_t per = t->size[d + 1] / t->size[d];
	uint8_t buf[8 * MERKLE_FANOUT_MAX];
	for (uint32_t c = 0; c < per; c++) {
		uint32_t ci = i * per + c;
		clean(t, d + 1, ci);
		merkle__put_u64be(buf + 8 * c, t->level[d + 1][ci]);
	}
	t->level[d][i] = XXH3_64bits(buf, 8 * (size_t)per);
	t->dirty[d][i] = 0;
}

uint64_t merkle_root(merkle_t *t)
{
	sh_assert(t != NULL && t->nodes != NULL);
	clean(t, 0, 0);
	return t->level[0][0];
}

uint32_t merkle_depth(const merkle_t *t)
{
	return t->depth;
}

uint32_t merkle_level_size(const merkle_t *t, uint32_t level)
{
	return level <= t->depth ? t->size[level] : 0;
}

int merkle_node(merkle_t *t, uint32_t level, uint32_t index, uint64_t *out)
{
	sh_assert(t != NULL && out != NULL);
	if (level > t->depth || index >= t->size[level])
		return SH_ERANGE;
	clean(t, level, index);
	*out = t->level[level][index];
	return 0;
}

int merkle_children(merkle_t *t, uint32_t level, uint32_t index, uint64_t *out,
                    uint32_t *count)
{
	sh_assert(t != NULL && out != NULL && count != NULL);
	if (level >= t->depth || index >= t->size[level])
		return SH_ERANGE;
	uint32_t per = t->size[level + 1] / t->size[level];
	for (uint32_t c = 0; c < per; c++) {
		uint32_t ci = index * per + c;
		clean(t, level + 1, ci);
		out[c] = t->level[level + 1][ci];
	}
	*count = per;
	return 0;
}

int merkle_is_built(const merkle_t *t)
{
	return t->built;
}

uint64_t merkle_keys(const merkle_t *t)
{
	return t->keys;
}

int merkle_rebuild_start(merkle_t *t)
{
	sh_assert(t != NULL && t->nodes != NULL);
	uint64_t *shadow = calloc(t->cfg.segments, sizeof *shadow);
	uint8_t *cursor = t->cursor;
	if (cursor == NULL)
		cursor = malloc(MERKLE__CURSOR_BYTES);
	if (shadow == NULL || cursor == NULL) {
		free(shadow);
		if (cursor != t->cursor)
			free(cursor);
		return SH_ENOMEM;
	}
	free(t->shadow);
	t->shadow = shadow;
	t->cursor = cursor;
	t->cursor_len = 0;
	t->cursor_set = 0;
	t->shadow_keys = 0;
	return 0;
}

int merkle_rebuild_add(merkle_t *t, const void *bucket, size_t blen,
                       const void *key, size_t klen, uint64_t obj_hash)
{
	sh_assert(t != NULL);
	if (t->shadow == NULL)
		return SH_EINVAL;
	if (blen > MERKLE_BUCKET_BYTES_MAX || klen > MERKLE_KEY_BYTES_MAX)
		return SH_ETOOBIG;
	uint64_t kh = merkle_key_hash(bucket, blen, key, klen);
	if (!merkle__in_partition(t, kh))
		return SH_EINVAL;
	uint8_t buf[MERKLE__CURSOR_BYTES];
	size_t len = joined_key(buf, bucket, blen, key, klen);
	if (t->cursor_set && cmp_bytes(buf, len, t->cursor, t->cursor_len) <= 0)
		return SH_EINVAL;
	memcpy(t->cursor, buf, len);
	t->cursor_len = len;
	t->cursor_set = 1;
	t->shadow[merkle_segment_of(t, kh)] ^=
	    merkle_term(bucket, blen, key, klen, obj_hash);
	t->shadow_keys++;
	return 0;
}

int merkle_rebuilding(const merkle_t *t)
{
	return t->shadow != NULL;
}

int merkle_rebuild_finish(merkle_t *t)
{
	sh_assert(t != NULL);
	if (t->shadow == NULL)
		return SH_EINVAL;
	uint64_t *segs = t->level[t->depth];
	memcpy(segs, t->shadow, (size_t)t->cfg.segments * sizeof *segs);
	for (uint32_t d = 0; d < t->depth; d++)
		memset(t->dirty[d], 1, t->size[d]);
	t->keys = t->shadow_keys;
	t->built = 1;
	t->rebuilds++;
	merkle_rebuild_cancel(t);
	return 0;
}

void merkle_rebuild_cancel(merkle_t *t)
{
	free(t->shadow);
	free(t->cursor);
	t->shadow = NULL;
	t->cursor = NULL;
	t->cursor_len = 0;
	t->cursor_set = 0;
	t->shadow_keys = 0;
}
