/*
 * handoff_bucket.c - the handoff throttle (a token bucket over the
 * caller's now_ms), the record hash, and small helpers shared by the hint
 * and handoff machines. See handoff.h.
 *
 * Tokens are kept in milli-bytes so that a refill over a few milliseconds
 * at a low rate is not lost to rounding: bytes_per_s * elapsed_ms is
 * exactly the milli-bytes earned.
 */
#include <string.h>
#include <xxhash.h>

#include "antientropy/handoff_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"

#define BUCKET_BURST_MIN ((uint64_t)64 << 10)
/* Rates above this are treated as this (keeps milli-byte math in range). */
#define BUCKET_RATE_MAX ((uint64_t)1 << 40)

void handoff_bucket_init(handoff_bucket_t *b, uint64_t bytes_per_s,
                         uint64_t burst_bytes)
{
	memset(b, 0, sizeof(*b));
	if (bytes_per_s > BUCKET_RATE_MAX)
		bytes_per_s = BUCKET_RATE_MAX;
	b->bytes_per_s = bytes_per_s;
	if (burst_bytes == 0)
		burst_bytes = bytes_per_s > BUCKET_BURST_MIN ? bytes_per_s
		                                             : BUCKET_BURST_MIN;
	if (burst_bytes > BUCKET_RATE_MAX)
		burst_bytes = BUCKET_RATE_MAX;
	b->burst_bytes = burst_bytes;
	b->tokens_mb = (int64_t)(burst_bytes * 1000);
}

/* The tokens the bucket would hold at now_ms (a time before the last one
 * counts as the last one: now_ms is monotonic, but be safe). */
static int64_t bucket_level(const handoff_bucket_t *b, uint64_t now_ms)
{
	int64_t cap = (int64_t)(b->burst_bytes * 1000);
	uint64_t dt, room;

	if (!b->started || now_ms <= b->last_ms)
		return b->tokens_mb;
	dt = now_ms - b->last_ms;
	if (b->tokens_mb >= cap)
		return cap;
	room = (uint64_t)(cap - b->tokens_mb);
	/* earned = rate * dt milli-bytes; compare without overflow */
	if (dt >= room / b->bytes_per_s + 1)
		return cap;
	return b->tokens_mb + (int64_t)(b->bytes_per_s * dt);
}

static uint64_t bucket_need(const handoff_bucket_t *b, uint64_t bytes)
{
	return bytes < b->burst_bytes ? bytes : b->burst_bytes;
}

int handoff_bucket_take(handoff_bucket_t *b, uint64_t now_ms, uint64_t bytes)
{
	if (b->bytes_per_s == 0)
		return 1;
	b->tokens_mb = bucket_level(b, now_ms);
	if (!b->started || now_ms > b->last_ms)
		b->last_ms = now_ms;
	b->started = 1;
	if (b->tokens_mb < (int64_t)(bucket_need(b, bytes) * 1000))
		return 0;
	if (bytes > BUCKET_RATE_MAX)
		bytes = BUCKET_RATE_MAX;
	b->tokens_mb -= (int64_t)(bytes * 1000);
	return 1;
}

uint64_t handoff_bucket_when(const handoff_bucket_t *b, uint64_t now_ms,
                             uint64_t bytes)
{
	int64_t level, need;

	if (b->bytes_per_s == 0)
		return now_ms;
	level = bucket_level(b, now_ms);
	need = (int64_t)(bucket_need(b, bytes) * 1000);
	if (level >= need)
		return now_ms;
	if (b->started && b->last_ms > now_ms)
		now_ms = b->last_ms;
	return now_ms +
	       ((uint64_t)(need - level) + b->bytes_per_s - 1) / b->bytes_per_s;
}

uint64_t handoff_record_hash(const uint8_t *record, size_t len)
{
	return XXH3_64bits(len != 0 ? record : (const uint8_t *)"", len);
}

int handoff__name_copy(char *dst, const char *src)
{
	size_t n;

	if (src == NULL)
		return SH_EINVAL;
	n = strnlen(src, HANDOFF_NAME_MAX + 1);
	if (n == 0 || n > HANDOFF_NAME_MAX)
		return SH_EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}
