/*
 * reap_wire.c - the reaper's messages (the format is in reap.h, WIRE):
 * encoders and a strict decoder that checks every type, length and range,
 * rejects trailing bytes and never asserts on its input.
 */
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "node/reap_int.h"

static void put_head(sh_mp_writer_t *w, uint32_t arity, reap_msg_type_t t)
{
	sh_mp_put_array(w, arity);
	sh_mp_put_u64(w, REAP_WIRE_VERSION);
	sh_mp_put_u64(w, (uint64_t)t);
}

int reap__wire_check(sh_buf_t *out, uint64_t id, const uint8_t *okey,
                     size_t okey_len)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 4, REAP_MSG_CHECK);
	sh_mp_put_u64(&w, id);
	return sh_mp_put_bin(&w, okey, okey_len);
}

int reap__wire_state(sh_buf_t *out, uint64_t id, int status,
                     const reap__copy_t *copy, int hinted)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 7, REAP_MSG_STATE);
	sh_mp_put_u64(&w, id);
	sh_mp_put_i64(&w, status);
	sh_mp_put_bool(&w, copy->tombstone);
	sh_mp_put_u64(&w, copy->hash);
	return sh_mp_put_bool(&w, hinted);
}

int reap__wire_delete(sh_buf_t *out, const uint8_t *okey, size_t okey_len,
                      uint64_t hash)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 4, REAP_MSG_DELETE);
	sh_mp_put_bin(&w, okey, okey_len);
	return sh_mp_put_u64(&w, hash);
}

int reap_wire_type(const uint8_t *p, size_t len)
{
	sh_mp_reader_t r;
	uint32_t n;
	uint64_t v, t;

	sh_mp_reader_init(&r, p, len);
	if (sh_mp_get_array(&r, &n) != 0 || n < 2 ||
	    sh_mp_get_u64(&r, &v) != 0 || v != REAP_WIRE_VERSION ||
	    sh_mp_get_u64(&r, &t) != 0)
		return 0;
	return t >= REAP_MSG_CHECK && t <= REAP_MSG_DELETE ? (int)t : 0;
}

static int get_okey(sh_mp_reader_t *r, reap__wire_t *m)
{
	int err = sh_mp_get_bin(r, &m->okey, &m->okey_len);

	if (err != 0)
		return err;
	return m->okey_len >= 4 && m->okey_len <= STORE_OBJ_KEY_BYTES_MAX
	           ? 0
	           : SH_EMALFORMED;
}

static int get_state(sh_mp_reader_t *r, reap__wire_t *m)
{
	int64_t st;
	int err = sh_mp_get_u64(r, &m->id);

	if (err == 0)
		err = sh_mp_get_i64(r, &st);
	if (err == 0 && (st > 0 || st < -1000))
		err = SH_ERANGE;
	if (err == 0) {
		m->status = (int)st;
		err = sh_mp_get_bool(r, &m->tombstone);
	}
	if (err == 0)
		err = sh_mp_get_u64(r, &m->hash);
	if (err == 0)
		err = sh_mp_get_bool(r, &m->hinted);
	return err;
}

int reap__wire_decode(reap__wire_t *m, const uint8_t *p, size_t len)
{
	sh_mp_reader_t r;
	uint32_t n;
	uint64_t v, t;
	int err;

	memset(m, 0, sizeof(*m));
	sh_mp_reader_init(&r, p, len);
	err = sh_mp_get_array(&r, &n);
	if (err == 0)
		err = sh_mp_get_u64(&r, &v);
	if (err == 0 && v != REAP_WIRE_VERSION)
		err = SH_EVERSION;
	if (err == 0)
		err = sh_mp_get_u64(&r, &t);
	if (err != 0)
		return err;
	if (t == REAP_MSG_CHECK && n == 4) {
		err = sh_mp_get_u64(&r, &m->id);
		if (err == 0)
			err = get_okey(&r, m);
	} else if (t == REAP_MSG_STATE && n == 7) {
		err = get_state(&r, m);
	} else if (t == REAP_MSG_DELETE && n == 4) {
		err = get_okey(&r, m);
		if (err == 0)
			err = sh_mp_get_u64(&r, &m->hash);
	} else {
		return SH_ETYPE;
	}
	if (err == 0 && sh_mp_reader_left(&r) != 0)
		err = SH_EMALFORMED;
	if (err == 0)
		m->type = (reap_msg_type_t)t;
	return err;
}
