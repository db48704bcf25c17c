/*
 * handoff_int.h - private pieces shared by the hint and handoff machines
 * (antientropy/hint*.c, antientropy/handoff*.c). Not a public header.
 *
 * A stream (handoff__stream_t) is what both machines repeat per
 * destination: scan a sorted keyspace after a cursor in bounded batches,
 * encode each batch as one wire message, wait for the token bucket, send,
 * wait for the ack (retrying the same batch after a timeout), then move the
 * cursor to the batch's last key. The hint machine runs one stream per
 * primary, the handoff machine one per move (partition, receiver).
 */
#ifndef SHOAL_ANTIENTROPY_HANDOFF_INT_H
#define SHOAL_ANTIENTROPY_HANDOFF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/handoff.h"
#include "common/sh_buf.h"

/* Where a stream is. */
typedef enum handoff__st {
	HANDOFF__ST_IDLE = 0,  /* nothing to do (paused, done, or waiting) */
	HANDOFF__ST_SCAN,      /* wants a scan (reported by ready) */
	HANDOFF__ST_SCANNING,  /* scan reported; entries being fed */
	HANDOFF__ST_THROTTLED, /* batch built, waiting for tokens */
	HANDOFF__ST_INFLIGHT,  /* batch sent, waiting for its ack */
	HANDOFF__ST_BACKOFF,   /* waiting until deadline_ms, then SCAN */
} handoff__st_t;

/* One entry of the batch being built or in flight. */
typedef struct handoff__item {
	size_t key_off;       /* in stream.keys */
	size_t key_len;       /* the scanned key (hint key or object key) */
	uint64_t record_hash; /* handoff_record_hash of what was sent */
	int has_record;       /* 0: the object was missing, nothing sent */
} handoff__item_t;

typedef struct handoff__stream {
	handoff__st_t st;
	uint8_t cursor[HANDOFF_KEY_BYTES_MAX]; /* last acked key */
	size_t cursor_len;                     /* 0: from the start */
	/* the batch */
	uint64_t batch_id;
	char to[HANDOFF_NAME_MAX + 1]; /* receiver of the batch */
	sh_buf_t keys;                 /* the batch's scanned keys */
	handoff__item_t *items;
	size_t item_count, item_cap;
	sh_buf_t body;        /* encoded [okey, record] pairs */
	size_t body_count;    /* pairs in body */
	size_t record_bytes;  /* record bytes in body */
	sh_buf_t msg;         /* the whole message, once built */
	int refused;          /* an entry was refused: range not exhausted */
	int exhausted;        /* the scan behind this batch hit the end */
	int send_pending;     /* msg to be reported by the next ready */
	uint64_t deadline_ms; /* INFLIGHT: ack timeout; BACKOFF: retry */
	uint32_t attempts;    /* sends of the current batch */
} handoff__stream_t;

/* Limits a stream's batches obey. */
typedef struct handoff__limits {
	size_t keys_max;  /* entries per batch */
	size_t bytes_max; /* record bytes per batch (one bigger entry alone
	                   * is allowed) */
} handoff__limits_t;

void handoff__stream_init(handoff__stream_t *s);
void handoff__stream_free(handoff__stream_t *s);

/* Drop the batch (not the cursor); state becomes st. */
void handoff__stream_drop_batch(handoff__stream_t *s, handoff__st_t st);

/*
 * Offer one scanned entry to the batch. Returns 0 if taken, HANDOFF_FULL
 * if the batch cannot take it (the stream marks itself not exhausted),
 * SH_EINVAL for a key or record over its limit, SH_ENOMEM.
 * record NULL: the object is missing (kept in the batch, not sent).
 */
int handoff__stream_offer(handoff__stream_t *s, const handoff__limits_t *lim,
                          const uint8_t *key, size_t key_len,
                          const uint8_t *okey, size_t okey_len,
                          const uint8_t *record, size_t record_len);

/*
 * The token bucket allows sending the built message now: consume and mark
 * send_pending, state INFLIGHT with the ack deadline. Else stay THROTTLED.
 * Returns 1 if sent.
 */
int handoff__stream_try_send(handoff__stream_t *s, handoff_bucket_t *b,
                             uint64_t now_ms, uint64_t ack_timeout_ms);

/* The last key of the batch becomes the cursor. */
void handoff__stream_commit_cursor(handoff__stream_t *s);

/* Key i of the batch. */
const uint8_t *handoff__stream_key(const handoff__stream_t *s, size_t i);

/* When this stream next needs a tick (UINT64_MAX: never on its own). */
uint64_t handoff__stream_deadline(const handoff__stream_t *s,
                                  const handoff_bucket_t *b, uint64_t now_ms);

/* Encoders of the batch messages (the entries come from body). */
int handoff__wire_hint_batch(sh_buf_t *out, uint64_t id, const char *primary,
                             const sh_buf_t *body, size_t count);
int handoff__wire_handoff_batch(sh_buf_t *out, uint64_t id, uint32_t partition,
                                int final, const sh_buf_t *body, size_t count);

/* Decode an ack of type want: id and status. Errors as handoff_wire_decode. */
int handoff__wire_decode_ack(const uint8_t *data, size_t len,
                             handoff_wire_type_t want, uint64_t *id,
                             int *status);

/* Bounded copy of a NUL-terminated name; SH_EINVAL if empty or too long. */
int handoff__name_copy(char *dst, const char *src);

#endif /* SHOAL_ANTIENTROPY_HANDOFF_INT_H */
