/*
 * ring_int.h - declarations shared by the files of ring/ and nothing else:
 * the ownership computation (ring_assign.c) called by ring.c.
 */
#ifndef RING_INT_H
#define RING_INT_H

#include <stdint.h>

/* The shape of one ownership computation. */
typedef struct ring__shape {
	uint32_t parts;     /* Q, a power of two */
	uint32_t members;   /* N >= 1 */
	uint32_t n;         /* owners per partition, 1..min(n_replicas, N) */
	uint32_t slack_pct; /* owner-slot balance band */
} ring__shape_t;

/*
 * ring__assign - compute ownership for the sorted, distinct names
 * (shape->members of them). Writes ranking (parts x members member indices,
 * row p = partition p's ranking), primaries and slots (per member).
 * Returns 0 or SH_ENOMEM (outputs then undefined).
 */
int ring__assign(const ring__shape_t *shape, char *const *names,
                 uint16_t *ranking, uint32_t *primaries, uint32_t *slots);

/*
 * ring__score - score(p, name): xxh3_64 of the name's bytes, a zero byte,
 * then p as 4 big-endian bytes (the same framing as a key's `bucket \0 key`).
 */
uint64_t ring__score(uint32_t partition, const char *name);

#endif /* RING_INT_H */
