/*
 * ring.c - the ring's public surface (ring/ring.h): configuration, member
 * sets, key hashing, ownership queries, preference lists with fallbacks,
 * and movement between two rings. The ownership computation itself lives
 * in ring_assign.c.
 */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "ring/ring.h"
#include "ring/ring_int.h"

/* Bucket, NUL and key up to this size are hashed from one stack copy. */
#define RING__KEY_FLAT_BYTES 512

void ring_config_default(ring_config_t *cfg)
{
	cfg->partitions = RING_PARTITIONS_DEFAULT;
	cfg->n_replicas = RING_N_DEFAULT;
	cfg->members_max = RING_MEMBERS_DEFAULT;
	cfg->slot_slack_pct = RING_SLACK_PCT_DEFAULT;
}

static int config_check(const ring_config_t *cfg)
{
	uint32_t q = cfg->partitions;

	if (q == 0 || q > RING_PARTITIONS_MAX || (q & (q - 1)) != 0)
		return SH_EINVAL;
	if (cfg->n_replicas < 1 || cfg->n_replicas > RING_N_MAX)
		return SH_EINVAL;
	if (cfg->members_max < 1 || cfg->members_max > RING_MEMBERS_MAX)
		return SH_EINVAL;
	if (cfg->slot_slack_pct > RING_SLACK_PCT_MAX)
		return SH_EINVAL;
	return 0;
}

int ring_init(ring_t *r, const ring_config_t *cfg)
{
	ring_config_t def;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!cfg) {
		ring_config_default(&def);
		cfg = &def;
	}
	rc = config_check(cfg);
	if (rc)
		return rc;
	r->partitions = cfg->partitions;
	while ((1u << r->partition_bits) < r->partitions)
		r->partition_bits++;
	r->n_replicas = cfg->n_replicas;
	r->members_max = cfg->members_max;
	r->slot_slack_pct = cfg->slot_slack_pct;
	return 0;
}

/* The member-dependent part of a ring, built aside and swapped in. */
typedef struct members_state {
	uint32_t count;
	char **names;
	uint16_t *ranking;
	uint32_t *primaries;
	uint32_t *slots;
} members_state_t;

static void state_free(members_state_t *st)
{
	free(st->names); /* one block: pointers, then the bytes */
	free(st->ranking);
	free(st->primaries);
	free(st->slots);
	memset(st, 0, sizeof(*st));
}

void ring_free(ring_t *r)
{
	members_state_t st = {r->member_count, r->names, r->ranking,
	                      r->primaries, r->slots};

	state_free(&st);
	r->member_count = 0;
	r->names = NULL;
	r->ranking = NULL;
	r->primaries = NULL;
	r->slots = NULL;
	r->generation++; /* every change of the members passes here */
}

uint64_t ring_generation(const ring_t *r)
{
	return r->generation;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy names into one block, sort them, reject duplicates. */
static int names_copy(const char *const *names, size_t count, char ***out)
{
	size_t bytes = count * sizeof(char *);
	char **v;
	char *at;

	for (size_t i = 0; i < count; i++) {
		size_t len = names[i] ? strlen(names[i]) : 0;

		if (len == 0 || len > RING_NAME_MAX)
			return SH_EINVAL;
		bytes += len + 1;
	}
	v = malloc(bytes);
	if (!v)
		return SH_ENOMEM;
	at = (char *)(v + count);
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(names[i]) + 1;

		memcpy(at, names[i], len);
		v[i] = at;
		at += len;
	}
	qsort(v, count, sizeof(*v), name_cmp);
	for (size_t i = 1; i < count; i++) {
		if (strcmp(v[i - 1], v[i]) == 0) {
			free(v);
			return SH_EINVAL;
		}
	}
	*out = v;
	return 0;
}

static int state_build(const ring_t *r, const char *const *names, size_t count,
                       members_state_t *st)
{
	ring__shape_t shape;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = names_copy(names, count, &st->names);
	if (rc)
		return rc;
	st->count = (uint32_t)count;
	st->ranking = malloc((size_t)r->partitions * count * sizeof(uint16_t));
	st->primaries = calloc(count, sizeof(uint32_t));
	st->slots = calloc(count, sizeof(uint32_t));
	if (!st->ranking || !st->primaries || !st->slots) {
		state_free(st);
		return SH_ENOMEM;
	}
	shape.parts = r->partitions;
	shape.members = (uint32_t)count;
	shape.n = r->n_replicas < count ? r->n_replicas : (uint32_t)count;
	shape.slack_pct = r->slot_slack_pct;
	rc = ring__assign(&shape, st->names, st->ranking, st->primaries,
	                  st->slots);
	if (rc)
		state_free(st);
	return rc;
}

int ring_set_members(ring_t *r, const char *const *names, size_t count)
{
	members_state_t st;
	int rc;

	if (count > r->members_max ||
	    (uint64_t)count * r->partitions > RING_CELLS_MAX)
		return SH_ETOOBIG;
	if (count > 0 && !names)
		return SH_EINVAL;
	if (count == 0) {
		ring_free(r);
		return 0;
	}
	rc = state_build(r, names, count, &st);
	if (rc)
		return rc;
	ring_free(r);
	r->member_count = st.count;
	r->names = st.names;
	r->ranking = st.ranking;
	r->primaries = st.primaries;
	r->slots = st.slots;
	return 0;
}

uint64_t ring_key_hash(const void *bucket, size_t blen, const void *key,
                       size_t klen)
{
	static const uint8_t zero = 0;
	XXH3_state_t st;
	uint8_t flat[RING__KEY_FLAT_BYTES];

	/* Every request hashes its key, some twice: the one-shot hash of a
	 * copy costs a fraction of a streaming state's reset, updates and
	 * digest, and gives the same value. */
	if (blen < sizeof(flat) && klen < sizeof(flat) - blen) {
		if (blen)
			memcpy(flat, bucket, blen);
		flat[blen] = 0;
		if (klen)
			memcpy(flat + blen + 1, key, klen);
		return XXH3_64bits(flat, blen + 1 + klen);
	}
	XXH3_INITSTATE(&st);
	XXH3_64bits_reset(&st);
	if (blen)
		XXH3_64bits_update(&st, bucket, blen);
	XXH3_64bits_update(&st, &zero, 1);
	if (klen)
		XXH3_64bits_update(&st, key, klen);
	return XXH3_64bits_digest(&st);
}

uint32_t ring_partition(const ring_t *r, uint64_t hash)
{
	if (r->partition_bits == 0)
		return 0;
	return (uint32_t)(hash >> (64 - r->partition_bits));
}

uint32_t ring_partitions(const ring_t *r)
{
	return r->partitions;
}

uint32_t ring_n_replicas(const ring_t *r)
{
	return r->n_replicas;
}

uint32_t ring_member_count(const ring_t *r)
{
	return r->member_count;
}

const char *ring_member_name(const ring_t *r, uint32_t m)
{
	return m < r->member_count ? r->names[m] : NULL;
}

int ring_member_find(const ring_t *r, const char *name)
{
	size_t lo = 0, hi = r->member_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, r->names[mid]);

		if (c == 0)
			return (int)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SH_ENOTFOUND;
}

int ring_owner(const ring_t *r, uint32_t partition, uint32_t rank)
{
	if (partition >= r->partitions || rank >= r->member_count)
		return SH_ERANGE;
	return r->ranking[(size_t)partition * r->member_count + rank];
}

unsigned ring_owners(const ring_t *r, uint32_t partition, unsigned n,
                     uint32_t *out)
{
	unsigned k = n < r->member_count ? n : r->member_count;
	const uint16_t *row;

	if (partition >= r->partitions || k == 0)
		return 0; /* no members: no ranking to point into */
	row = r->ranking + (size_t)partition * r->member_count;
	for (unsigned i = 0; i < k; i++)
		out[i] = row[i];
	return k;
}

uint32_t ring_primaries(const ring_t *r, uint32_t m)
{
	return m < r->member_count ? r->primaries[m] : 0;
}

uint32_t ring_slots(const ring_t *r, uint32_t m)
{
	return m < r->member_count ? r->slots[m] : 0;
}

static void pref_set(ring_pref_t *e, const ring_t *r, uint32_t m, uint32_t rank,
                     int up)
{
	e->name = r->names[m];
	e->member = m;
	e->rank = rank;
	e->is_up = (uint8_t)(up != 0);
	e->is_fallback = 0;
	e->stands_in_for = -1;
	e->fallback = -1;
}

/* Give each down primary the next healthy member further down the row. */
static void preflist_fallbacks(const ring_t *r, const uint16_t *row,
                               int (*is_up)(void *, const char *), void *arg,
                               ring_preflist_t *out)
{
	uint32_t next = out->n;

	for (unsigned i = 0; i < out->n; i++) {
		ring_pref_t *fb;
		int found = 0;

		if (out->entries[i].is_up)
			continue;
		while (next < r->member_count && !found) {
			uint32_t m = row[next];

			found = !is_up || is_up(arg, r->names[m]);
			next++;
		}
		if (!found) {
			out->unreplaced++;
			continue;
		}
		fb = &out->entries[out->count];
		pref_set(fb, r, row[next - 1], next - 1, 1);
		fb->is_fallback = 1;
		fb->stands_in_for = (int16_t)i;
		out->entries[i].fallback = (int16_t)out->count;
		out->count++;
	}
}

int ring_preflist(const ring_t *r, uint64_t key_hash, unsigned n,
                  int (*is_up)(void *arg, const char *name), void *arg,
                  ring_preflist_t *out)
{
	const uint16_t *row;
	unsigned k;

	/* the counts only: entries are written up to count, and the 32 of
	 * them (768 bytes) would cost more to clear than the rest of the
	 * call (every request computes its preflist) */
	memset(out, 0, offsetof(ring_preflist_t, entries));
	out->n_asked = n;
	out->partition = ring_partition(r, key_hash);
	if (n == 0)
		return SH_EINVAL;
	if (r->member_count == 0) {
		out->n_capped = 1;
		return SH_ENOTFOUND;
	}
	k = n;
	if (k > RING_N_MAX)
		k = RING_N_MAX;
	if (k > r->member_count)
		k = r->member_count;
	out->n = k;
	out->n_capped = k < n;
	row = r->ranking + (size_t)out->partition * r->member_count;
	for (unsigned i = 0; i < k; i++) {
		uint32_t m = row[i];
		int up = !is_up || is_up(arg, r->names[m]);

		pref_set(&out->entries[i], r, m, i, up);
		out->down += !up;
	}
	out->count = k;
	if (out->down)
		preflist_fallbacks(r, row, is_up, arg, out);
	return 0;
}

/* For each member of `to`, its index in `from` or -1 (both sorted). */
static void match_names(const ring_t *from, const ring_t *to, int32_t *map)
{
	uint32_t i = 0, j = 0;

	while (j < to->member_count) {
		int c = i < from->member_count
		            ? strcmp(from->names[i], to->names[j])
		            : 1;

		if (c < 0) {
			i++;
		} else {
			map[j] = c == 0 ? (int32_t)i : -1;
			i += c == 0;
			j++;
		}
	}
}

int ring_moved_slots(const ring_t *from, const ring_t *to, unsigned n)
{
	unsigned nf = n < from->member_count ? n : from->member_count;
	unsigned nt = n < to->member_count ? n : to->member_count;
	int32_t *map;
	int moved = 0;

	if (from->partitions != to->partitions || n == 0)
		return SH_EINVAL;
	if (to->member_count == 0)
		return 0;
	map = malloc(to->member_count * sizeof(*map));
	if (!map)
		return SH_ENOMEM;
	match_names(from, to, map);
	for (uint32_t p = 0; p < to->partitions; p++) {
		const uint16_t *rt = to->ranking + (size_t)p * to->member_count;
		const uint16_t *rf =
		    from->ranking + (size_t)p * from->member_count;

		for (unsigned a = 0; a < nt; a++) {
			int held = 0;

			for (unsigned b = 0; b < nf && !held; b++)
				held = map[rt[a]] == (int32_t)rf[b];
			moved += !held;
		}
	}
	free(map);
	return moved;
}
