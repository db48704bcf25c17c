/*
 * aae_wire.c - the anti-entropy driver's messages (format at the top of
 * node/aae.h): encoders into an sh_buf_t, and a strict decoder that
 * validates every field before anything reads it and never allocates.
 */
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "node/aae_int.h"

int aae__enc_merkle(sh_buf_t *out, const uint8_t *msg, size_t len)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	sh_mp_put_array(&w, 3);
	sh_mp_put_u64(&w, AAE_MSG_VERSION);
	sh_mp_put_u64(&w, AAE_MSG_MERKLE);
	return sh_mp_put_bin(&w, msg, len);
}

int aae__enc_refuse(sh_buf_t *out, uint64_t xid, uint32_t partition, int status)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	sh_mp_put_array(&w, 5);
	sh_mp_put_u64(&w, AAE_MSG_VERSION);
	sh_mp_put_u64(&w, AAE_MSG_REFUSE);
	sh_mp_put_u64(&w, xid);
	sh_mp_put_u64(&w, partition);
	return sh_mp_put_i64(&w, status);
}

int aae_refusal(const uint8_t *data, size_t len, sh_buf_t *out)
{
	aae__msg_t m;
	int rc = aae__decode(data, len, &m);
	if (rc != SH_OK)
		return rc;
	if (m.type == AAE_MSG_MERKLE) {
		merkle_msg_t mm;
		rc = merkle_msg_decode(m.merkle, m.merkle_len, &mm);
		/* a DONE ends the exchange: nothing to answer */
		if (rc != SH_OK || mm.type == MERKLE_MSG_DONE)
			return rc;
		m.xid = mm.xid;
		m.partition = mm.partition;
	} else if (m.type != AAE_MSG_REPAIR) {
		return SH_OK; /* answers (REFUSE, REPLY) want none */
	}
	return aae__enc_refuse(out, m.xid, m.partition, SH_EDISABLED);
}

int aae__enc_head(sh_buf_t *out, int type, uint64_t xid, uint32_t partition,
                  uint64_t joined, uint32_t count)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	sh_mp_put_array(&w, type == AAE_MSG_REPLY ? 6 : 5);
	sh_mp_put_u64(&w, AAE_MSG_VERSION);
	sh_mp_put_u64(&w, (uint64_t)type);
	sh_mp_put_u64(&w, xid);
	sh_mp_put_u64(&w, partition);
	if (type == AAE_MSG_REPLY)
		sh_mp_put_u64(&w, joined);
	return sh_mp_put_array(&w, count);
}

int aae__enc_entry(sh_buf_t *out, int type, const aae__entry_t *e)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	sh_mp_put_array(&w, type == AAE_MSG_REPAIR ? 4 : 3);
	sh_mp_put_bin(&w, e->bucket, e->blen);
	sh_mp_put_bin(&w, e->key, e->klen);
	if (type == AAE_MSG_REPAIR) {
		if (e->has_record)
			sh_mp_put_bin(&w, e->record, e->rlen);
		else
			sh_mp_put_nil(&w);
		return sh_mp_put_bool(&w, e->want_back);
	}
	return sh_mp_put_bin(&w, e->record, e->rlen);
}

/* Read one entry at *p; moves *p past it. 0 or a decode error. */
int aae__entry_next(const uint8_t **p, const uint8_t *end, int type,
                    aae__entry_t *e)
{
	sh_mp_reader_t r;
	uint32_t n;
	uint32_t want = type == AAE_MSG_REPAIR ? 4 : 3;
	memset(e, 0, sizeof *e);
	sh_mp_reader_init(&r, *p, (size_t)(end - *p));
	int rc = sh_mp_get_array(&r, &n);
	if (rc != SH_OK)
		return rc;
	if (n != want)
		return SH_EMALFORMED;
	if ((rc = sh_mp_get_bin(&r, &e->bucket, &e->blen)) != SH_OK ||
	    (rc = sh_mp_get_bin(&r, &e->key, &e->klen)) != SH_OK)
		return rc;
	if (e->blen == 0 || e->blen > STORE_BUCKET_BYTES_MAX || e->klen == 0 ||
	    e->klen > STORE_KEY_BYTES_MAX ||
	    memchr(e->bucket, 0, e->blen) != NULL)
		return SH_EMALFORMED;
	if (type == AAE_MSG_REPAIR && sh_mp_peek_nil(&r)) {
		rc = sh_mp_get_nil(&r);
	} else {
		rc = sh_mp_get_bin(&r, &e->record, &e->rlen);
		e->has_record = rc == SH_OK;
		if (rc == SH_OK && e->rlen == 0)
			rc = SH_EMALFORMED;
	}
	if (rc == SH_OK && type == AAE_MSG_REPAIR)
		rc = sh_mp_get_bool(&r, &e->want_back);
	if (rc == SH_OK)
		*p = r.p;
	return rc;
}

/* The entries of a REPAIR or REPLY: check them all once. */
static int aae__check_entries(aae__msg_t *m, sh_mp_reader_t *r)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n > AAE_REPAIR_KEYS_MAX)
		return SH_ETOOBIG;
	m->count = n;
	m->entries = r->p;
	for (uint32_t i = 0; i < n; i++) {
		aae__entry_t e;
		rc = aae__entry_next(&r->p, r->end, m->type, &e);
		if (rc != SH_OK)
			return rc;
	}
	m->entries_len = (size_t)(r->p - m->entries);
	return SH_OK;
}

static int aae__get_u32(sh_mp_reader_t *r, uint32_t *v)
{
	uint64_t x;
	int rc = sh_mp_get_u64(r, &x);
	if (rc == SH_OK && x > UINT16_MAX)
		rc = SH_ERANGE; /* partitions fit the store's 2 bytes */
	*v = (uint32_t)x;
	return rc;
}

int aae__decode(const uint8_t *p, size_t len, aae__msg_t *m)
{
	sh_mp_reader_t r;
	uint32_t n;
	uint64_t ver, type;
	int rc;
	memset(m, 0, sizeof *m);
	sh_mp_reader_init(&r, p, len);
	if ((rc = sh_mp_get_array(&r, &n)) != SH_OK ||
	    (rc = sh_mp_get_u64(&r, &ver)) != SH_OK ||
	    (rc = sh_mp_get_u64(&r, &type)) != SH_OK)
		return rc == SH_OK ? SH_EMALFORMED : rc;
	if (ver != AAE_MSG_VERSION)
		return SH_EVERSION;
	m->type = (int)type;
	if (type == AAE_MSG_MERKLE) {
		if (n != 3)
			return SH_EMALFORMED;
		rc = sh_mp_get_bin(&r, &m->merkle, &m->merkle_len);
	} else if (type >= AAE_MSG_REFUSE && type <= AAE_MSG_REPLY) {
		uint32_t want = type == AAE_MSG_REPLY ? 6 : 5;
		if (n != want)
			return SH_EMALFORMED;
		if ((rc = sh_mp_get_u64(&r, &m->xid)) != SH_OK ||
		    (rc = aae__get_u32(&r, &m->partition)) != SH_OK)
			return rc;
		if (type == AAE_MSG_REFUSE) {
			rc = sh_mp_get_i64(&r, &m->status);
			if (rc == SH_OK &&
			    (m->status >= 0 || m->status < -1000))
				rc = SH_ERANGE;
		} else {
			if (type == AAE_MSG_REPLY)
				rc = sh_mp_get_u64(&r, &m->joined);
			if (rc == SH_OK)
				rc = aae__check_entries(m, &r);
		}
	} else {
		return SH_ETYPE;
	}
	if (rc == SH_OK && sh_mp_reader_left(&r) != 0)
		rc = SH_EMALFORMED;
	return rc;
}
