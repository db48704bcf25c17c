/*
 * sim_heap.h - the simulator's priority queue of timed events.
 *
 * A binary min-heap of (at_ms, seq, value) entries ordered by time, then by
 * seq, so that events due at the same virtual millisecond come out in a
 * fixed order and a run stays a function of its seed. The caller supplies
 * seq (usually from a counter it increments per push); value is the
 * caller's payload, e.g. a message slot or a node id and timer kind.
 *
 * The network (sim_net.c) queues its messages here; a simulator loop can use
 * a second heap for node timers and interleave the two by sim_heap_next_ms.
 */
#ifndef SHOAL_SIM_HEAP_H
#define SHOAL_SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_heap_entry {
	uint64_t at_ms; /* when the event is due */
	uint64_t seq;   /* tie-break among equal at_ms, smaller first */
	uint64_t value; /* the caller's payload */
} sim_heap_entry_t;

/* Caller-allocated. Fields are private; use the functions below. */
typedef struct sim_heap {
	sim_heap_entry_t *e; /* owned; e[0] is the earliest */
	size_t len;
	size_t cap;
	size_t len_max;
} sim_heap_t;

/*
 * sim_heap_filter_fn - called once per entry by sim_heap_filter. Return
 * nonzero to keep the entry, 0 to remove it. The function may change the
 * entry's at_ms, seq and value; the heap is rebuilt afterwards.
 */
typedef int (*sim_heap_filter_fn)(sim_heap_entry_t *e, void *ctx);

/*
 * sim_heap_init - make h an empty heap that will hold at most len_max
 * entries (len_max >= 1). Memory is allocated as the heap grows.
 * Returns 0 or SH_EINVAL.
 */
int sim_heap_init(sim_heap_t *h, size_t len_max);

/* sim_heap_free - release h's memory; h is empty afterwards. */
void sim_heap_free(sim_heap_t *h);

/*
 * sim_heap_push - add an entry. O(log n).
 * Returns 0, SH_ETOOBIG when the heap holds len_max entries, or SH_ENOMEM;
 * on error the heap is unchanged.
 */
int sim_heap_push(sim_heap_t *h, uint64_t at_ms, uint64_t seq, uint64_t value);

/*
 * sim_heap_top - the earliest entry, or NULL when empty. The pointer stays
 * valid until the next call that changes the heap.
 */
const sim_heap_entry_t *sim_heap_top(const sim_heap_t *h);

/* sim_heap_pop - remove the earliest entry into *out. 0 or SH_ENOTFOUND. */
int sim_heap_pop(sim_heap_t *h, sim_heap_entry_t *out);

/* sim_heap_next_ms - at_ms of the earliest entry, UINT64_MAX when empty. */
uint64_t sim_heap_next_ms(const sim_heap_t *h);

/* sim_heap_len - the number of entries. */
size_t sim_heap_len(const sim_heap_t *h);

/*
 * sim_heap_filter - call fn on every entry (in array order, which is a
 * function of the pushes and pops so far), drop those it rejects, and
 * restore the heap order. O(n); meant for rare events such as a crash.
 */
void sim_heap_filter(sim_heap_t *h, sim_heap_filter_fn fn, void *ctx);

#endif /* SHOAL_SIM_HEAP_H */
