/*
 * sim_aae.h - the pieces of `shoal-sim aae` (sim_aae.c: options, replicas
 * and the report; sim_aae_run.c: driving the exchanges and the repairs).
 * Memory only: three replicas' trees over synthetic keys, no network but
 * a model of one, deterministic for given arguments.
 */
#ifndef SIM_AAE_H
#define SIM_AAE_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/merkle.h"

#define AAE_REPLICAS 3

typedef struct aae_opts {
	uint64_t keys;        /* keys every replica holds before the damage */
	double diff;          /* fraction of keys made to differ on replica 3 */
	uint32_t value_bytes; /* size of each synthetic object */
	uint32_t partitions;  /* Q, a power of two */
	uint32_t segments;    /* merkle segments per partition */
	uint32_t fanout;      /* merkle fanout */
	uint32_t sub_fanout;  /* exchange's sub-segment fanout (0: off) */
	uint32_t rounds_max;  /* rounds of exchanges before giving up */
	uint32_t latency_us;  /* one-way latency of the network model */
	uint32_t mbit_s;      /* bandwidth of the network model */
	uint64_t seed;
} aae_opts_t;

/* One key of the universe, in key-hash order. */
typedef struct aae_key {
	uint64_t key_hash;
	uint32_t idx; /* names the key: "k" and idx in 10 digits */
} aae_key_t;

typedef struct aae_replica {
	uint32_t *ver;   /* per slot: the object's version, 0 when absent */
	uint64_t *objh;  /* per slot: its object hash (0 when absent) */
	merkle_t *trees; /* one per partition */
} aae_replica_t;

/* Bytes by what they carried. */
typedef struct aae_bytes {
	uint64_t tree;    /* OPEN, NODES_REQ, NODES, DONE */
	uint64_t sums;    /* sub-segment sums and their requests */
	uint64_t keys;    /* KEYS_REQ, KEYS and key-range requests */
	uint64_t objects; /* repairs: objects and the names asking for them */
} aae_bytes_t;

typedef struct aae_bench {
	aae_opts_t o;
	uint32_t pbits;
	size_t n;          /* slots: keys plus the keys only replica 3 has */
	aae_key_t *u;      /* slots, sorted by key hash */
	uint32_t *slot_of; /* idx -> slot */
	size_t *pstart;    /* partitions + 1 slot offsets */
	aae_replica_t r[AAE_REPLICAS];
	uint8_t *obj; /* scratch: one synthetic object */
	/* damage done to replica 3 */
	uint64_t changed, missing, extra, differing_keys, differing_bytes;
	/* what the exchanges did */
	aae_bytes_t bytes;
	uint64_t exchanges, equal_roots, aborted, rounds, msgs;
	uint64_t repairs, objects_moved, wrong_repairs;
	uint64_t levels_walked, keys_sent;
	double sim_s; /* network model: serial exchanges */
} aae_bench_t;

/* sim_aae_obj_hash - the hash of key idx's object at version ver (> 0). */
uint64_t sim_aae_obj_hash(aae_bench_t *b, uint32_t idx, uint32_t ver);

/* sim_aae_name - key idx's name into buf (11 bytes, not terminated). */
void sim_aae_name(uint32_t idx, char buf[11]);

/* sim_aae_set - replica r's slot now holds version ver (0: absent); keeps
 * its tree in step. 0 or a negative SH_E... code. */
int sim_aae_set(aae_bench_t *b, int r, size_t slot, uint32_t ver);

/* sim_aae_partition_of - the partition of a slot's key. */
uint32_t sim_aae_partition_of(const aae_bench_t *b, size_t slot);

/*
 * sim_aae_round - one round: for every partition, exchanges between
 * replica pairs (1,2), (1,3), (2,3), the lower one initiating, each
 * repairing what it finds. *all_equal (out) is 1 when every exchange of
 * the round found equal roots. 0, or a negative code when an exchange
 * failed.
 */
int sim_aae_round(aae_bench_t *b, int *all_equal);

#define AAE_BUCKET     "bench"
#define AAE_BUCKET_LEN 5
#define AAE_NAME_LEN   11

#endif /* SIM_AAE_H */
