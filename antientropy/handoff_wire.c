/*
 * handoff_wire.c - the internode messages of hinted and ownership
 * handoff: encoders and a strict, allocation-free decoder. The format is
 * described in handoff.h (WIRE FORMAT).
 */
#include <string.h>

#include "antientropy/handoff_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"

/* The smallest object key: partition (2), 0x00, one key byte. */
#define WIRE_OKEY_MIN 4

static void put_head(sh_mp_writer_t *w, uint32_t arity, handoff_wire_type_t t,
                     uint64_t id)
{
	sh_mp_put_array(w, arity);
	sh_mp_put_u64(w, HANDOFF_WIRE_VERSION);
	sh_mp_put_u64(w, (uint64_t)t);
	sh_mp_put_u64(w, id);
}

/* Append the already-encoded pairs of body as an array of count. */
static int put_body(sh_mp_writer_t *w, sh_buf_t *out, const sh_buf_t *body,
                    size_t count)
{
	sh_assert(count <= HANDOFF_WIRE_ENTRIES_MAX);
	if (sh_mp_put_array(w, (uint32_t)count) != 0)
		return w->err;
	if (body->len != 0 && sh_buf_append(out, body->data, body->len) != 0)
		return SH_ENOMEM;
	return 0;
}

int handoff__wire_hint_batch(sh_buf_t *out, uint64_t id, const char *primary,
                             const sh_buf_t *body, size_t count)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 5, HANDOFF_WIRE_HINT_BATCH, id);
	sh_mp_put_bin(&w, primary, strlen(primary));
	return put_body(&w, out, body, count);
}

int handoff__wire_handoff_batch(sh_buf_t *out, uint64_t id, uint32_t partition,
                                int final, const sh_buf_t *body, size_t count)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 6, HANDOFF_WIRE_BATCH, id);
	sh_mp_put_u64(&w, partition);
	sh_mp_put_bool(&w, final);
	return put_body(&w, out, body, count);
}

int handoff_wire_ack(sh_buf_t *out, handoff_wire_type_t type, uint64_t id,
                     int status)
{
	sh_mp_writer_t w;

	if ((type != HANDOFF_WIRE_HINT_ACK && type != HANDOFF_WIRE_ACK) ||
	    status > 0)
		return SH_EINVAL;
	sh_mp_writer_init(&w, out);
	put_head(&w, 4, type, id);
	return sh_mp_put_i64(&w, status);
}

/* ---- decoding ---- */

static int arity_of(handoff_wire_type_t t)
{
	switch (t) {
	case HANDOFF_WIRE_HINT_BATCH: return 5;
	case HANDOFF_WIRE_HINT_ACK: return 4;
	case HANDOFF_WIRE_BATCH: return 6;
	case HANDOFF_WIRE_ACK: return 4;
	}
	return 0;
}

/* Array head, version and type. */
static int get_head(sh_mp_reader_t *r, uint32_t *arity, uint64_t *type)
{
	uint64_t version;
	int err;

	if ((err = sh_mp_get_array(r, arity)) != 0)
		return err;
	if (*arity < 2)
		return SH_EMALFORMED;
	if ((err = sh_mp_get_u64(r, &version)) != 0)
		return err;
	if (version != HANDOFF_WIRE_VERSION)
		return SH_EVERSION;
	return sh_mp_get_u64(r, type);
}

int handoff_wire_type(const uint8_t *data, size_t len)
{
	sh_mp_reader_t r;
	uint32_t arity;
	uint64_t type;
	int err;

	if (data == NULL)
		return SH_ETRUNC;
	sh_mp_reader_init(&r, data, len);
	if ((err = get_head(&r, &arity, &type)) != 0)
		return err;
	if (type > 255 || arity_of((handoff_wire_type_t)type) == 0)
		return 0;
	return (int)type;
}

static int get_bin_bounded(sh_mp_reader_t *r, const uint8_t **p, size_t *len,
                           size_t min, size_t max)
{
	int err = sh_mp_get_bin(r, p, len);

	if (err != 0)
		return err;
	if (*len < min)
		return SH_EMALFORMED;
	return *len > max ? SH_ETOOBIG : 0;
}

static int get_entries(sh_mp_reader_t *r, size_t record_bytes_max,
                       handoff_wire_msg_t *out)
{
	uint32_t n, pair;
	int err;

	if ((err = sh_mp_get_array(r, &n)) != 0)
		return err;
	if (n > HANDOFF_WIRE_ENTRIES_MAX)
		return SH_ETOOBIG;
	for (uint32_t i = 0; i < n; i++) {
		handoff_wire_entry_t *e = &out->entries[i];

		if ((err = sh_mp_get_array(r, &pair)) != 0)
			return err;
		if (pair != 2)
			return SH_EMALFORMED;
		err = get_bin_bounded(r, &e->okey, &e->okey_len, WIRE_OKEY_MIN,
		                      HANDOFF_OKEY_BYTES_MAX);
		if (err != 0)
			return err;
		err = get_bin_bounded(r, &e->record, &e->record_len, 1,
		                      record_bytes_max);
		if (err != 0)
			return err;
	}
	out->count = n;
	return 0;
}

static int get_status(sh_mp_reader_t *r, int *status)
{
	int64_t v;
	int err = sh_mp_get_i64(r, &v);

	if (err != 0)
		return err;
	if (v > 0 || v < INT32_MIN)
		return SH_ERANGE;
	*status = (int)v;
	return 0;
}

static int get_rest(sh_mp_reader_t *r, size_t record_bytes_max,
                    handoff_wire_msg_t *out)
{
	uint64_t part;
	int err;

	switch (out->type) {
	case HANDOFF_WIRE_HINT_ACK:
	case HANDOFF_WIRE_ACK: return get_status(r, &out->status);
	case HANDOFF_WIRE_HINT_BATCH:
		err = get_bin_bounded(r, &out->primary, &out->primary_len, 1,
		                      HANDOFF_NAME_MAX);
		if (err != 0)
			return err;
		return get_entries(r, record_bytes_max, out);
	case HANDOFF_WIRE_BATCH:
		if ((err = sh_mp_get_u64(r, &part)) != 0)
			return err;
		if (part > UINT16_MAX)
			return SH_ERANGE;
		out->partition = (uint32_t)part;
		if ((err = sh_mp_get_bool(r, &out->final)) != 0)
			return err;
		return get_entries(r, record_bytes_max, out);
	}
	return SH_ETYPE;
}

int handoff_wire_decode(const uint8_t *data, size_t len,
                        size_t record_bytes_max, handoff_wire_msg_t *out)
{
	sh_mp_reader_t r;
	uint32_t arity;
	uint64_t type;
	int err;

	if (data == NULL || out == NULL || record_bytes_max == 0)
		return data == NULL ? SH_ETRUNC : SH_EINVAL;
	out->count = 0;
	out->primary = NULL;
	out->primary_len = 0;
	out->status = 0;
	out->partition = 0;
	out->final = 0;
	sh_mp_reader_init(&r, data, len);
	if ((err = get_head(&r, &arity, &type)) != 0)
		return err;
	if (type > 255 || arity_of((handoff_wire_type_t)type) == 0)
		return SH_ETYPE;
	out->type = (handoff_wire_type_t)type;
	if (arity != (uint32_t)arity_of(out->type))
		return SH_EMALFORMED;
	if ((err = sh_mp_get_u64(&r, &out->id)) != 0)
		return err;
	if ((err = get_rest(&r, record_bytes_max, out)) != 0)
		return err;
	return sh_mp_reader_left(&r) == 0 ? 0 : SH_EMALFORMED;
}

int handoff__wire_decode_ack(const uint8_t *data, size_t len,
                             handoff_wire_type_t want, uint64_t *id,
                             int *status)
{
	sh_mp_reader_t r;
	uint32_t arity;
	uint64_t type;
	int err;

	if (data == NULL)
		return SH_ETRUNC;
	sh_mp_reader_init(&r, data, len);
	if ((err = get_head(&r, &arity, &type)) != 0)
		return err;
	if (type != (uint64_t)want)
		return SH_ETYPE;
	if (arity != 4)
		return SH_EMALFORMED;
	if ((err = sh_mp_get_u64(&r, id)) != 0)
		return err;
	if ((err = get_status(&r, status)) != 0)
		return err;
	return sh_mp_reader_left(&r) == 0 ? 0 : SH_EMALFORMED;
}
