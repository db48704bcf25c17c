/*
 * reap_int.h - the reaper's private declarations, shared by node/reap*.c
 * (reap.h is the public manual).
 */
#ifndef SHOAL_NODE_REAP_INT_H
#define SHOAL_NODE_REAP_INT_H

#include <stdio.h>

#include "node/reap.h"

/* A tombstone being checked with the other primaries (id 0: free slot). */
typedef struct reap__cand {
	uint64_t id;
	int started; /* checks sent (0: found by the scan, not yet started) */
	uint64_t deadline_ms;
	uint64_t hash; /* the tombstone's object hash here */
	size_t okey_len;
	uint8_t okey[STORE_OBJ_KEY_BYTES_MAX];
	size_t peer_count; /* the other primaries */
	char peers[COORD_N_MAX][COORD_NAME_MAX + 1];
	uint8_t answered[COORD_N_MAX]; /* 1: the same tombstone, 2: absent */
	int old; /* twice the grace old: absent copies are acceptable */
} reap__cand_t;

/* A node's own copy of a key, as REAP_STATE reports it. */
typedef struct reap__copy {
	int present;
	int tombstone;
	uint64_t hash;
} reap__copy_t;

/* A decoded message; pointers point into the input. */
typedef struct reap__wire {
	reap_msg_type_t type;
	uint64_t id;         /* CHECK, STATE */
	const uint8_t *okey; /* CHECK, DELETE */
	size_t okey_len;
	int status;    /* STATE: 0, SH_ENOTFOUND or another SH_E code */
	int tombstone; /* STATE */
	uint64_t hash; /* STATE, DELETE */
	int hinted;    /* STATE */
} reap__wire_t;

/* ---- reap.c ---- */

/* reap__msg_new - a new outgoing message to `to`: its empty buffer, or
 * NULL (SH_ENOMEM). */
sh_buf_t *reap__msg_new(reap_t *r, const char *to);
/* reap__okey - copy an object key into *k and split it into *parts
 * (pointing into k). 0 or SH_EMALFORMED. */
int reap__okey(store_key_t *k, const uint8_t *okey, size_t okey_len,
               store_key_parts_t *parts);
/* reap__local - the own copy of k. 0, or a store or decode error. */
int reap__local(reap_t *r, const store_key_t *k, reap__copy_t *out);
/* reap__primaries - the key's n primaries (and fallbacks) into *pl. */
int reap__primaries(reap_t *r, const store_key_parts_t *p, ring_preflist_t *pl);
/* reap__hinted - 1 if this node holds a hint for k naming one of its
 * primaries (or cannot tell), else 0. */
int reap__hinted(reap_t *r, const store_key_t *k, const store_key_parts_t *p);
/* reap__delete_if - delete the own copy of k if it is a tombstone of
 * `hash` and no hint names it; 1 if deleted (counted in reaped). */
int reap__delete_if(reap_t *r, const store_key_t *k, const store_key_parts_t *p,
                    uint64_t hash);
/* reap__cand_free - release a slot. */
void reap__cand_free(reap_t *r, reap__cand_t *cd);
/* reap__finish - every primary agreed on cd: delete, tell the others. */
void reap__finish(reap_t *r, reap__cand_t *cd);

/* ---- reap_wire.c: the codec ---- */

int reap__wire_check(sh_buf_t *out, uint64_t id, const uint8_t *okey,
                     size_t okey_len);
int reap__wire_state(sh_buf_t *out, uint64_t id, int status,
                     const reap__copy_t *copy, int hinted);
int reap__wire_delete(sh_buf_t *out, const uint8_t *okey, size_t okey_len,
                      uint64_t hash);
/* reap__wire_decode - decode p[0..len) into *m. 0 or SH_EMALFORMED,
 * SH_ETRUNC, SH_EVERSION, SH_ETYPE. */
int reap__wire_decode(reap__wire_t *m, const uint8_t *p, size_t len);

#endif /* SHOAL_NODE_REAP_INT_H */
