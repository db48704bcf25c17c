/*
 * aae_int.h - private pieces of the anti-entropy driver (node/aae*.c).
 */
#ifndef SHOAL_NODE_AAE_INT_H
#define SHOAL_NODE_AAE_INT_H

#include "node/aae.h"

/* One replicated partition. */
typedef struct aae_part {
	merkle_t tree;
	int rebuild_due;    /* rebuild (again) when its turn comes */
	uint32_t peer_turn; /* round robin over the other owners */
	aae_last_t last;
} aae_part_t;

/* One exchange, either role. */
typedef struct aae_side {
	int initiator;
	uint32_t partition;
	uint64_t xid;
	char peer[COORD_NAME_MAX + 1];
	merkle_exchange_t x;
	int x_ended;          /* the merkle exchange is DONE or ABORTED */
	int finished;         /* counted and recorded: free it */
	uint64_t deadline_ms; /* the merkle exchange's */
	int result;           /* as aae_last_t.result */
	/* responder: the comparison ended with differences (DONE OK), so the
	 * initiator's REPAIRs may still come; the side stays until its peer
	 * is silent for timeout_ms or opens its next exchange */
	int awaits_repairs;
	int scanning; /* collecting local keys for x */
	store_cursor_t cursor;
	uint64_t started_ms, heard_ms;
	/* initiator: keys still to repair, [u16 blen][bucket][u16 klen][key]
	 * [u8 want_back], read from repair_at */
	sh_buf_t repairs;
	size_t repair_at;
	uint32_t replies_pending;
	uint64_t keys_repaired, bytes_sent;
} aae_side_t;

/* A decoded REPAIR or REPLY entry (pointers into the message). */
typedef struct aae__entry {
	const uint8_t *bucket, *key, *record;
	size_t blen, klen, rlen;
	int has_record, want_back;
} aae__entry_t;

/* A decoded message; entries are read with aae__entry_next. */
typedef struct aae__msg {
	int type;
	const uint8_t *merkle; /* MERKLE */
	size_t merkle_len;
	uint64_t xid;
	uint32_t partition;
	int64_t status;  /* REFUSE */
	uint64_t joined; /* REPLY */
	uint32_t count;  /* entries */
	const uint8_t *entries;
	size_t entries_len;
} aae__msg_t;

/* aae_wire.c */
int aae__decode(const uint8_t *p, size_t len, aae__msg_t *m);
int aae__entry_next(const uint8_t **p, const uint8_t *end, int type,
                    aae__entry_t *e);
int aae__enc_merkle(sh_buf_t *out, const uint8_t *msg, size_t len);
int aae__enc_refuse(sh_buf_t *out, uint64_t xid, uint32_t partition,
                    int status);
/* Begin a REPAIR (type 3) or REPLY (type 4) of count entries. */
int aae__enc_head(sh_buf_t *out, int type, uint64_t xid, uint32_t partition,
                  uint64_t joined, uint32_t count);
int aae__enc_entry(sh_buf_t *out, int type, const aae__entry_t *e);

/* aae.c */
/* Output and scratch memory kept between messages: twice a default
 * REPAIR, so usual messages reuse it while one grown by large records is
 * given back after use. */
#define AAE__BUF_KEEP_BYTES ((size_t)2 << 20)
/* aae__buf_trim - empty b; free it when it grew past the keep size. */
void aae__buf_trim(sh_buf_t *b);
/* aae__emit - queue out_bytes from mark as a message to `to`. */
void aae__emit(aae_t *a, const char *to, size_t mark);
aae_part_t *aae__part(aae_t *a, uint32_t p);
/* aae__obj_key - the object key of (bucket, key) with the ring's
 * partition. */
int aae__obj_key(aae_t *a, const uint8_t *b, size_t blen, const uint8_t *k,
                 size_t klen, store_key_t *out);

/* aae_xchg.c */
int aae__start(aae_t *a, uint64_t now_ms, uint32_t p, const char *peer);
void aae__side_tick(aae_t *a, aae_side_t *s, uint64_t now_ms);
int aae__side_done(const aae_side_t *s);
void aae__side_free(aae_t *a, aae_side_t *s);
int aae__side_busy(const aae_side_t *s);
uint64_t aae__side_deadline(const aae_side_t *s, uint32_t timeout_ms);
int aae__recv_merkle(aae_t *a, uint64_t now_ms, const char *from,
                     const aae__msg_t *m);
int aae__recv_refuse(aae_t *a, uint64_t now_ms, const char *from,
                     const aae__msg_t *m);
int aae__recv_repair(aae_t *a, uint64_t now_ms, const char *from,
                     const aae__msg_t *m);
int aae__recv_reply(aae_t *a, uint64_t now_ms, const char *from,
                    const aae__msg_t *m);

#endif /* SHOAL_NODE_AAE_INT_H */
