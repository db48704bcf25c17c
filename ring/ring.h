/*
 * ring.h - shoal's partitioned hash ring: which nodes own which keys.
 *
 * This header is the ring's manual. The ring is a pure function of the set
 * of live member names: every node that sees the same members computes the
 * same owners, so the ring needs no gossip of its own (DESIGN.md section 4,
 * ALGORITHMS.md section 4). No IO, no clock, no randomness beyond hashing.
 *
 * Keys. A key's hash is xxh3_64 of the bytes `bucket \0 key`; its partition
 * is the top log2(Q) bits of that hash, Q being the number of partitions (a
 * power of two fixed for the cluster's life).
 *
 * Ownership. For every partition the ring keeps a ranking of all members.
 * Its first n entries (n = cfg.n_replicas, or every member when there are
 * fewer) are the partition's owners; rank 0 is the primary; the rest of the
 * ranking is the order in which fallbacks are taken. How it is computed:
 *
 *  1. Each member ranks all Q partitions by score(p, m) = xxh3_64 of the
 *     member name's bytes, a zero byte, then the partition number as 4
 *     big-endian bytes (highest score first). Its preference for p is its
 *     rank of p, so every member has exactly one favourite partition, one
 *     second favourite, and so on: a member cannot be lucky or unlucky as a
 *     whole, which removes most of plain rendezvous hashing's imbalance.
 *  2. Each partition takes as owners the n members that prefer it most
 *     (rendezvous hashing on those preferences). A member joining only
 *     enters partitions it prefers more than their current n-th owner, and
 *     displaces exactly that owner; nobody else moves.
 *  3. Bounded loads: with ideal = Q*n/N and s = cfg.slot_slack_pct/100, a
 *     member holding more than hi = ceil(ideal * (1 + s)) owner slots, or
 *     fewer than lo = floor(ideal * (1 - 2s)), gives or takes slots along
 *     cheapest chains (successive shortest paths of a min-cost flow whose
 *     cost is lost preference): the result is the assignment within
 *     [lo, hi] that keeps the most preference. The slack trades slot
 *     balance against movement. With 0 every member holds floor or ceil of
 *     ideal, but a join moves 1.25 times the joiner's fair share on
 *     average: when N changes, members pinned at a bound must shed or pull
 *     slots from third parties. With the default 20, measured on random
 *     member sets at Q=64, n=3, N=2..16 (`shoal-sim ring --sets`), a join
 *     moves 1.01 times the fair share on average (1.04 at N=16) and more
 *     than 1.25 times it in about 1% of sets (5% at N=16); at Q >= 256
 *     the worst seen is 1.22.
 *  4. Primaries are then chosen among each partition's owners, again by a
 *     min-cost flow, so that no member is primary for more than ceil(Q/N)
 *     partitions (nor fewer than floor(Q/N) when the owner sets allow it).
 *     Should the owner sets leave no way to do that (Hall's condition
 *     fails: always for n = 1 with hi > ceil(Q/N), practically never
 *     otherwise), step 3 is redone with hi = n * ceil(Q/N), which
 *     guarantees it. Moving a primary moves no data, only rank order.
 *  5. Ranking: the primary, the other owners by preference, then every
 *     other member by preference.
 * Members are sorted by name (bytewise) before any of this, and every tie is
 * broken by that order, so the order of arrival never matters.
 *
 * Movement. moved slots between two rings = the number of (partition,
 * member) pairs where member is among the new ring's first n owners of the
 * partition but not among the old ring's: the replica copies that must be
 * streamed to a node that did not hold them. ring_moved_slots counts it;
 * divided by Q*n it is the "moved fraction" that `shoal-sim ring` reports
 * (ideal on a join to N+1 members: 1/(N+1)).
 *
 * Memory. The caller allocates ring_t and calls ring_init/ring_free. The
 * ring owns copies of the member names and an ownership table of Q * N
 * 16-bit entries. Pointers and indices it hands out stay valid until the
 * next successful ring_set_members or ring_free. A ring_t is not safe for
 * concurrent modification; concurrent reads are fine.
 *
 * Cost. ring_set_members does O(Q*N) hashing and sorting, then one
 * shortest-path search per unit of imbalance it corrects. Measured: Q=64,
 * N=16 well under a millisecond; Q=1024, N=64 about 15 ms; Q=4096, N=1024
 * or Q=65536, N=64 about 2 s.
 */
#ifndef RING_H
#define RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_PARTITIONS_DEFAULT 64
#define RING_PARTITIONS_MAX     65536 /* partitions is a power of two <= this */
#define RING_N_DEFAULT          3
#define RING_N_MAX              16 /* most owners per partition / preflist n */
#define RING_NAME_MAX           64 /* bytes in a member name, without NUL */
#define RING_MEMBERS_DEFAULT    256
#define RING_MEMBERS_MAX        1024
#define RING_CELLS_MAX          (1u << 22) /* most partitions x members */
#define RING_SLACK_PCT_DEFAULT  20
#define RING_SLACK_PCT_MAX      100

/*
 * Configuration. Every node of a cluster must use the same partitions,
 * n_replicas and slot_slack_pct, or they compute different owners.
 */
typedef struct ring_config {
	uint32_t partitions;  /* Q: a power of two, 1..RING_PARTITIONS_MAX */
	uint32_t n_replicas;  /* owners per partition: 1..RING_N_MAX */
	uint32_t members_max; /* most members accepted: 1..RING_MEMBERS_MAX */
	uint32_t
	    slot_slack_pct; /* owner-slot balance band: 0..RING_SLACK_PCT_MAX */
} ring_config_t;

/*
 * The ring. Allocated by the caller; every field is private: read it
 * through the functions below.
 */
typedef struct ring {
	uint32_t partitions;
	uint32_t partition_bits; /* log2(partitions) */
	uint32_t n_replicas;
	uint32_t members_max;
	uint32_t slot_slack_pct;
	uint32_t member_count;
	char **names;        /* member_count names, sorted; owned */
	uint16_t *ranking;   /* partitions x member_count member indices */
	uint32_t *primaries; /* per member: partitions it is primary for */
	uint32_t *slots;     /* per member: owner slots (ranks < n) it holds */
	uint64_t generation; /* see ring_generation */
} ring_t;

/* One node of a preference list. */
typedef struct ring_pref {
	const char *name;      /* member name, owned by the ring */
	uint32_t member;       /* index in the ring's sorted member list */
	uint32_t rank;         /* position in the partition's ranking */
	uint8_t is_up;         /* what is_up said (1 when is_up was NULL) */
	uint8_t is_fallback;   /* 1: a fallback standing in for a primary */
	int16_t stands_in_for; /* fallback: index in entries[] of the primary
	                          it replaces; -1 for primaries */
	int16_t fallback;      /* primary: index in entries[] of its fallback;
	                          -1 when it is up or no fallback was found */
} ring_pref_t;

/*
 * A key's preference list. entries[0 .. n-1] are the partition's first n
 * owners in ranking order, up or down; entries[n .. count-1] are fallbacks,
 * in the order of the primaries they stand in for.
 */
typedef struct ring_preflist {
	uint32_t partition;
	unsigned n_asked;    /* n as passed to ring_preflist */
	unsigned n;          /* primaries listed: min(n_asked, members) */
	uint8_t n_capped;    /* 1 when n < n_asked */
	unsigned count;      /* entries filled: n + fallbacks */
	unsigned down;       /* primaries that are down */
	unsigned unreplaced; /* down primaries left without a fallback */
	ring_pref_t entries[2 * RING_N_MAX];
} ring_preflist_t;

/*
 * ring_config_default - fill *cfg (out) with the defaults: 64 partitions,
 * n_replicas 3, members_max 256, slot_slack_pct 20.
 */
void ring_config_default(ring_config_t *cfg);

/*
 * ring_init - make *r (out, caller-allocated) an empty ring with the
 * configuration *cfg (in, copied; NULL means the defaults).
 * Returns 0, or SH_EINVAL when a field is out of its range (partitions not
 * a power of two in 1..65536, n_replicas not in 1..RING_N_MAX, members_max
 * not in 1..RING_MEMBERS_MAX, slot_slack_pct over RING_SLACK_PCT_MAX); on
 * error *r is left empty and ring_free on it is harmless.
 */
int ring_init(ring_t *r, const ring_config_t *cfg);

/* ring_free - release everything *r owns and leave it empty (no members). */
void ring_free(ring_t *r);

/*
 * ring_set_members - recompute ownership for exactly these members.
 * names (in): count NUL-terminated names of 1..RING_NAME_MAX bytes, in any
 * order; the ring copies them, the caller keeps its own. count 0 empties
 * the ring.
 * Returns 0; SH_EINVAL for a NULL or empty name, a name over RING_NAME_MAX
 * bytes or a name given twice; SH_ETOOBIG for count > members_max or
 * partitions * count > RING_CELLS_MAX (which bounds memory at about 40
 * MiB while computing); SH_ENOMEM. On error the ring is unchanged. On success
 * every pointer and index previously returned by the ring is invalid.
 */
int ring_set_members(ring_t *r, const char *const *names, size_t count);

/*
 * ring_key_hash - xxh3_64 of the bytes bucket[0..blen) \0 key[0..klen).
 * bucket and key (in) may be NULL when their length is 0.
 */
uint64_t ring_key_hash(const void *bucket, size_t blen, const void *key,
                       size_t klen);

/* ring_partition - the partition of a key hash: its top log2(Q) bits. */
uint32_t ring_partition(const ring_t *r, uint64_t hash);

/* ring_partitions - Q. */
uint32_t ring_partitions(const ring_t *r);

/* ring_n_replicas - the configured owners per partition. */
uint32_t ring_n_replicas(const ring_t *r);

/*
 * ring_generation - a number that changes whenever r's members may have
 * changed (every ring_set_members and ring_free; ring_init starts it at
 * 0). The same ring_t at the same generation has the same ownership, so
 * a caller that checks every loop turn whether the ring moved compares
 * this instead of the member lists. Meaningless across two ring_t.
 */
uint64_t ring_generation(const ring_t *r);

/* ring_member_count - the number of members (0 for an empty ring). */
uint32_t ring_member_count(const ring_t *r);

/*
 * ring_member_name - the name of member index m (0 <= m < member_count,
 * in bytewise name order), owned by the ring; NULL when m is out of range.
 */
const char *ring_member_name(const ring_t *r, uint32_t m);

/*
 * ring_member_find - the index of the member called name (in), or
 * SH_ENOTFOUND.
 */
int ring_member_find(const ring_t *r, const char *name);

/*
 * ring_owner - the member index at position rank (0 = primary) of
 * partition's ranking, rank < member_count. Returns it, or SH_ERANGE when
 * partition or rank is out of range (always for an empty ring).
 */
int ring_owner(const ring_t *r, uint32_t partition, uint32_t rank);

/*
 * ring_owners - write the member indices of partition's first n ranks to
 * out (out, room for n). Returns how many were written: min(n,
 * member_count), 0 when partition is out of range.
 */
unsigned ring_owners(const ring_t *r, uint32_t partition, unsigned n,
                     uint32_t *out);

/* ring_primaries - partitions member m is primary for (0 if out of range). */
uint32_t ring_primaries(const ring_t *r, uint32_t m);

/*
 * ring_slots - owner slots member m holds: partitions where it is among the
 * first n_replicas ranks (0 if out of range).
 */
uint32_t ring_slots(const ring_t *r, uint32_t m);

/*
 * ring_preflist - the preference list of a key.
 * key_hash (in): from ring_key_hash. n (in): replicas wanted, >= 1; capped
 * at the member count and at RING_N_MAX, in which case out->n_capped is 1.
 * is_up (in, may be NULL = everyone up): called at most once per member
 * looked at, with arg, returns nonzero when that member is healthy.
 * out (out): the partition's first n owners (primaries) in ranking order;
 * for each primary that is down, in order, a fallback: the next member
 * further down the same ranking that is up and not already listed. A down
 * primary with no healthy member left to take its place stays listed
 * without one (out->unreplaced counts them). Entries past out->count are
 * left as they were.
 * Returns 0; SH_ENOTFOUND when the ring has no members (out is then empty:
 * n 0, count 0, n_capped 1); SH_EINVAL when n is 0. No allocation.
 */
int ring_preflist(const ring_t *r, uint64_t key_hash, unsigned n,
                  int (*is_up)(void *arg, const char *name), void *arg,
                  ring_preflist_t *out);

/*
 * ring_moved_slots - the replica copies that must move going from ring
 * `from` to ring `to` (both in, same partitions): the number of (partition,
 * member) pairs where the member is among to's first n ranks of the
 * partition and not among from's (members matched by name). n is capped at
 * each ring's member count. Returns the count; SH_EINVAL when the partition
 * counts differ or n is 0; SH_ENOMEM.
 */
int ring_moved_slots(const ring_t *from, const ring_t *to, unsigned n);

#endif /* RING_H */
