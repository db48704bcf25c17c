/*
 * handoff_reap.c - the tombstone reaping rule and its bookkeeping: a
 * tombstone goes only when every replica acknowledged it and the grace
 * period has passed. See handoff.h ("tombstone reaping").
 */
#include <string.h>
#include <xxhash.h>

#include "antientropy/handoff.h"
#include "common/sh_err.h"

static uint64_t name_hash(const char *name)
{
	return XXH3_64bits(name, strlen(name));
}

void handoff_tomb_init(handoff_tomb_t *t, uint64_t written_ms)
{
	memset(t, 0, sizeof(*t));
	t->written_ms = written_ms;
}

static int has_hash(const handoff_tomb_t *t, uint64_t h)
{
	uint32_t n = t->acked_count < RING_N_MAX ? t->acked_count : RING_N_MAX;

	for (uint32_t i = 0; i < n; i++)
		if (t->acked[i] == h)
			return 1;
	return 0;
}

int handoff_tomb_ack(handoff_tomb_t *t, const char *name)
{
	uint64_t h;

	if (name == NULL || name[0] == '\0')
		return SH_EINVAL;
	h = name_hash(name);
	if (has_hash(t, h))
		return 0;
	if (t->acked_count >= RING_N_MAX)
		return SH_EFULL;
	t->acked[t->acked_count++] = h;
	return 0;
}

int handoff_tomb_acked(const handoff_tomb_t *t, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return 0;
	return has_hash(t, name_hash(name));
}

int handoff_tomb_reapable(const handoff_tomb_t *t, const char *const *replicas,
                          size_t count, uint64_t now_ms, uint64_t grace_s)
{
	uint64_t grace_ms;

	if (t == NULL || replicas == NULL || count == 0)
		return 0;
	if (grace_s > UINT64_MAX / 1000)
		return 0;
	grace_ms = grace_s * 1000;
	if (t->written_ms > UINT64_MAX - grace_ms ||
	    now_ms < t->written_ms + grace_ms)
		return 0;
	for (size_t i = 0; i < count; i++)
		if (!handoff_tomb_acked(t, replicas[i]))
			return 0;
	return 1;
}
