/*
 * handoff_stream.c - one resumable, batched, throttled, acknowledged
 * stream over a sorted keyspace: the engine under both the hint machine
 * (one stream per primary) and the handoff machine (one per move). See
 * handoff_int.h.
 *
 * A batch's pairs are encoded into `body` as they are offered, so the
 * whole message is built once, at the end of the scan, by prefixing the
 * head; a retry resends the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "antientropy/handoff_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"

void handoff__stream_init(handoff__stream_t *s)
{
	memset(s, 0, sizeof(*s));
	s->st = HANDOFF__ST_IDLE;
}

void handoff__stream_free(handoff__stream_t *s)
{
	sh_buf_free(&s->keys);
	sh_buf_free(&s->body);
	sh_buf_free(&s->msg);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

void handoff__stream_drop_batch(handoff__stream_t *s, handoff__st_t st)
{
	sh_buf_reset(&s->keys);
	sh_buf_reset(&s->body);
	sh_buf_reset(&s->msg);
	s->item_count = 0;
	s->body_count = 0;
	s->record_bytes = 0;
	s->refused = 0;
	s->exhausted = 0;
	s->send_pending = 0;
	s->attempts = 0;
	s->to[0] = '\0';
	s->st = st;
}

static int stream_fits(const handoff__stream_t *s, const handoff__limits_t *lim,
                       size_t record_len)
{
	if (s->item_count >= lim->keys_max ||
	    s->body_count >= HANDOFF_WIRE_ENTRIES_MAX)
		return 0;
	if (s->body_count == 0)
		return 1; /* one entry always fits, however big */
	return s->record_bytes + record_len <= lim->bytes_max;
}

static int stream_push_item(handoff__stream_t *s, const uint8_t *key,
                            size_t key_len, const uint8_t *record,
                            size_t record_len)
{
	handoff__item_t *it;
	int err;

	err = sh_array_reserve((void **)&s->items, &s->item_cap,
	                       s->item_count + 1, sizeof(*s->items));
	if (err != 0)
		return err;
	if ((err = sh_buf_append(&s->keys, key, key_len)) != 0)
		return err;
	it = &s->items[s->item_count++];
	it->key_off = s->keys.len - key_len;
	it->key_len = key_len;
	it->has_record = record != NULL;
	it->record_hash =
	    record != NULL ? handoff_record_hash(record, record_len) : 0;
	return 0;
}

int handoff__stream_offer(handoff__stream_t *s, const handoff__limits_t *lim,
                          const uint8_t *key, size_t key_len,
                          const uint8_t *okey, size_t okey_len,
                          const uint8_t *record, size_t record_len)
{
	size_t body_len = s->body.len, keys_len = s->keys.len;
	sh_mp_writer_t w;
	int err;

	sh_assert(s->st == HANDOFF__ST_SCANNING);
	if (key == NULL || key_len == 0 || key_len > HANDOFF_KEY_BYTES_MAX ||
	    okey == NULL || okey_len < 4 || okey_len > HANDOFF_OKEY_BYTES_MAX)
		return SH_EINVAL;
	if (record != NULL && record_len == 0)
		return SH_EINVAL;
	if (!stream_fits(s, lim, record != NULL ? record_len : 0)) {
		s->refused = 1;
		return HANDOFF_FULL;
	}
	if ((err = stream_push_item(s, key, key_len, record, record_len)) != 0)
		return err;
	if (record == NULL)
		return 0;
	sh_mp_writer_init(&w, &s->body);
	sh_mp_put_array(&w, 2);
	sh_mp_put_bin(&w, okey, okey_len);
	if (sh_mp_put_bin(&w, record, record_len) != 0) {
		s->body.len = body_len;
		s->keys.len = keys_len;
		s->item_count--;
		return SH_ENOMEM;
	}
	s->body_count++;
	s->record_bytes += record_len;
	return 0;
}

int handoff__stream_try_send(handoff__stream_t *s, handoff_bucket_t *b,
                             uint64_t now_ms, uint64_t ack_timeout_ms)
{
	sh_assert(s->st == HANDOFF__ST_THROTTLED && s->msg.len != 0);
	if (!handoff_bucket_take(b, now_ms, s->msg.len))
		return 0;
	s->st = HANDOFF__ST_INFLIGHT;
	s->send_pending = 1;
	s->attempts++;
	s->deadline_ms = now_ms + ack_timeout_ms;
	return 1;
}

void handoff__stream_commit_cursor(handoff__stream_t *s)
{
	const handoff__item_t *last;

	if (s->item_count == 0)
		return;
	last = &s->items[s->item_count - 1];
	memcpy(s->cursor, s->keys.data + last->key_off, last->key_len);
	s->cursor_len = last->key_len;
}

const uint8_t *handoff__stream_key(const handoff__stream_t *s, size_t i)
{
	sh_assert(i < s->item_count);
	return s->keys.data + s->items[i].key_off;
}

uint64_t handoff__stream_deadline(const handoff__stream_t *s,
                                  const handoff_bucket_t *b, uint64_t now_ms)
{
	switch (s->st) {
	case HANDOFF__ST_INFLIGHT:
	case HANDOFF__ST_BACKOFF: return s->deadline_ms;
	case HANDOFF__ST_THROTTLED:
		return handoff_bucket_when(b, now_ms, s->msg.len);
	default: return HANDOFF_NO_DEADLINE;
	}
}
