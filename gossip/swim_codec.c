/*
 * swim_codec.c - the SWIM wire format: packets with piggybacked updates,
 * and full-state messages for push-pull streams. The format is described
 * in swim.h. Decoding checks every type, arity, count, length and range
 * before anything is applied, and reports why it rejected an input.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "gossip/swim_int.h"

int swim__reject_code(swim_reject_t why)
{
	switch (why) {
	case SWIM_REJECT_EMPTY:
	case SWIM_REJECT_TRUNCATED: return SH_ETRUNC;
	case SWIM_REJECT_OVERSIZE:
	case SWIM_REJECT_COUNT_LIMIT: return SH_ETOOBIG;
	case SWIM_REJECT_VERSION: return SH_EVERSION;
	case SWIM_REJECT_MALFORMED:
	case SWIM_REJECT_TYPE: return SH_EMALFORMED;
	default: return SH_EINVAL;
	}
}

int swim__str_eq(swim__str_t a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && (n == 0 || memcmp(a.p, b, n) == 0);
}

/* Copies src into dst, which holds at least src.len + 1 bytes. */
void swim__str_copy(char *dst, swim__str_t src)
{
	if (src.len > 0)
		memcpy(dst, src.p, src.len);
	dst[src.len] = '\0';
}

/* Printable ASCII without spaces, between min and max bytes long. */
static int valid_text(swim__str_t v, size_t min, size_t max)
{
	if (v.len < min || v.len > max)
		return 0;
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] < 0x21 || v.p[i] > 0x7e)
			return 0;
	return 1;
}

/* Maps a reader error to a reject reason. */
static swim_reject_t mp_why(int rc)
{
	return rc == SH_ETRUNC ? SWIM_REJECT_TRUNCATED : SWIM_REJECT_MALFORMED;
}

#define FAIL(reason)                                                           \
	do {                                                                   \
		*why = (reason);                                               \
		return swim__reject_code(*why);                                \
	} while (0)

#define MP(expr)                                                               \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != SH_OK)                                              \
			FAIL(mp_why(rc_));                                     \
	} while (0)

static int get_text(sh_mp_reader_t *r, swim__str_t *v, size_t min, size_t max,
                    swim_reject_t *why)
{
	MP(sh_mp_get_str(r, &v->p, &v->len));
	if (!valid_text(*v, min, max))
		FAIL(SWIM_REJECT_NAME);
	return SH_OK;
}

static int get_uint(sh_mp_reader_t *r, uint64_t *v, uint64_t max,
                    swim_reject_t *why)
{
	MP(sh_mp_get_u64(r, v));
	if (*v > max)
		FAIL(SWIM_REJECT_VALUE);
	return SH_OK;
}

/* addr, http_addr, partitions, meta_version: the alive fields. */
static int get_meta(sh_mp_reader_t *r, swim__update_t *u, swim_reject_t *why)
{
	uint64_t q;
	int rc;
	if ((rc = get_text(r, &u->addr, 1, SWIM_ADDR_MAX, why)) != SH_OK)
		return rc;
	if ((rc = get_text(r, &u->http, 0, SWIM_ADDR_MAX, why)) != SH_OK)
		return rc;
	if ((rc = get_uint(r, &q, SWIM_PARTITIONS_MAX, why)) != SH_OK)
		return rc;
	if (q == 0)
		FAIL(SWIM_REJECT_VALUE);
	u->partitions = (uint32_t)q;
	return get_uint(r, &u->meta_version, UINT64_MAX, why);
}

static int get_update(sh_mp_reader_t *r, swim__update_t *u, swim_reject_t *why)
{
	static const uint32_t arity[4] = {7, 4, 4, 3};
	uint32_t n;
	uint64_t kind;
	int rc;
	memset(u, 0, sizeof(*u));
	MP(sh_mp_get_array(r, &n));
	if (n < 1)
		FAIL(SWIM_REJECT_MALFORMED);
	MP(sh_mp_get_u64(r, &kind));
	if (kind > SWIM_LEFT)
		FAIL(SWIM_REJECT_TYPE);
	if (n != arity[kind])
		FAIL(SWIM_REJECT_MALFORMED);
	u->kind = (uint8_t)kind;
	if ((rc = get_text(r, &u->name, 1, SWIM_NAME_MAX, why)) != SH_OK)
		return rc;
	if ((rc = get_uint(r, &u->inc, UINT64_MAX - 1, why)) != SH_OK)
		return rc;
	if (kind == SWIM_ALIVE)
		return get_meta(r, u, why);
	if (kind == SWIM_LEFT)
		return SH_OK;
	return get_text(r, &u->from, 1, SWIM_NAME_MAX, why);
}

/* [type, seq, sender, target, target_addr, flags] of a packet. */
static int get_head(sh_mp_reader_t *r, swim__msg_t *msg, swim_reject_t *why)
{
	uint32_t n;
	uint64_t v;
	int rc;
	MP(sh_mp_get_array(r, &n));
	if (n != 7)
		FAIL(SWIM_REJECT_MALFORMED);
	MP(sh_mp_get_u64(r, &v));
	if (v < SWIM__PING || v > SWIM__GOSSIP)
		FAIL(SWIM_REJECT_TYPE);
	msg->type = (uint8_t)v;
	if ((rc = get_uint(r, &v, UINT32_MAX, why)) != SH_OK)
		return rc;
	msg->seq = (uint32_t)v;
	if ((rc = get_text(r, &msg->sender, 1, SWIM_NAME_MAX, why)) != SH_OK)
		return rc;
	if ((rc = get_text(r, &msg->target, 0, SWIM_NAME_MAX, why)) != SH_OK)
		return rc;
	rc = get_text(r, &msg->target_addr, 0, SWIM_ADDR_MAX, why);
	if (rc != SH_OK)
		return rc;
	return get_uint(r, &msg->flags, SWIM__FLAGS_ALL, why);
}

int swim__decode_packet(const uint8_t *buf, size_t len, swim__msg_t *msg,
                        swim_reject_t *why)
{
	sh_mp_reader_t r;
	uint32_t n;
	int rc;
	if (len == 0)
		FAIL(SWIM_REJECT_EMPTY);
	if (len >= SWIM_PACKET_MAX)
		FAIL(SWIM_REJECT_OVERSIZE);
	if (buf[0] != SWIM_WIRE_VERSION)
		FAIL(SWIM_REJECT_VERSION);
	sh_mp_reader_init(&r, buf + 1, len - 1);
	if ((rc = get_head(&r, msg, why)) != SH_OK)
		return rc;
	MP(sh_mp_get_array(&r, &n));
	if (n > SWIM_PIGGYBACK_HARD_MAX)
		FAIL(SWIM_REJECT_COUNT_LIMIT);
	for (uint32_t i = 0; i < n; i++)
		if ((rc = get_update(&r, &msg->updates[i], why)) != SH_OK)
			return rc;
	msg->updates_len = n;
	if (sh_mp_reader_left(&r) != 0)
		FAIL(SWIM_REJECT_MALFORMED);
	if (msg->type == SWIM__PING_REQ &&
	    (msg->target.len == 0 || msg->target_addr.len == 0))
		FAIL(SWIM_REJECT_NAME);
	return SH_OK;
}

static int put_cstr(sh_mp_writer_t *w, const char *s)
{
	return sh_mp_put_str(w, s, strlen(s));
}

int swim__encode_header(sh_buf_t *b, uint8_t type, uint32_t seq,
                        const char *sender, const char *target,
                        const char *target_addr, uint64_t flags)
{
	sh_mp_writer_t w;
	int rc = sh_buf_append_u8(b, SWIM_WIRE_VERSION);
	if (rc != SH_OK)
		return rc;
	sh_mp_writer_init(&w, b);
	sh_mp_put_array(&w, 7);
	sh_mp_put_u64(&w, type);
	sh_mp_put_u64(&w, seq);
	put_cstr(&w, sender);
	put_cstr(&w, target);
	put_cstr(&w, target_addr);
	return sh_mp_put_u64(&w, flags);
}

static void put_meta(sh_mp_writer_t *w, const swim_meta_t *meta)
{
	put_cstr(w, meta->addr);
	put_cstr(w, meta->http_addr);
	sh_mp_put_u64(w, meta->partitions);
	sh_mp_put_u64(w, meta->version);
}

int swim__encode_update(sh_buf_t *b, const swim__member_t *m, uint8_t kind,
                        const char *from)
{
	static const uint32_t arity[4] = {7, 4, 4, 3};
	sh_mp_writer_t w;
	sh_assert(kind <= SWIM_LEFT);
	sh_mp_writer_init(&w, b);
	sh_mp_put_array(&w, arity[kind]);
	sh_mp_put_u64(&w, kind);
	sh_mp_put_str(&w, m->name, m->name_len);
	sh_mp_put_u64(&w, m->incarnation);
	if (kind == SWIM_ALIVE)
		put_meta(&w, &m->meta);
	else if (kind != SWIM_LEFT)
		put_cstr(&w, from);
	return w.err;
}

static void put_member(sh_mp_writer_t *w, const swim__member_t *m)
{
	sh_mp_put_array(w, 7);
	sh_mp_put_str(w, m->name, m->name_len);
	sh_mp_put_u64(w, m->incarnation);
	sh_mp_put_u64(w, m->state);
	put_meta(w, &m->meta);
}

int swim__encode_state(const swim_t *s, sh_buf_t *b, uint64_t flags,
                       int self_only)
{
	sh_mp_writer_t w;
	uint32_t n = self_only ? 1 : s->members_len;
	int rc = sh_buf_append_u8(b, SWIM_WIRE_VERSION);
	if (rc != SH_OK)
		return rc;
	sh_mp_writer_init(&w, b);
	sh_mp_put_array(&w, 4);
	sh_mp_put_u64(&w, SWIM__STATE);
	sh_mp_put_u64(&w, flags);
	sh_mp_put_str(&w, s->members[0].name, s->members[0].name_len);
	sh_mp_put_array(&w, n);
	for (uint32_t i = 0; i < n; i++)
		put_member(&w, &s->members[i]);
	return w.err;
}

int swim__state_begin(sh_mp_reader_t *r, const uint8_t *buf, size_t len,
                      swim__state_hdr_t *hdr, swim_reject_t *why)
{
	uint32_t n;
	uint64_t v;
	int rc;
	if (len == 0)
		FAIL(SWIM_REJECT_EMPTY);
	if (buf[0] != SWIM_WIRE_VERSION)
		FAIL(SWIM_REJECT_VERSION);
	sh_mp_reader_init(r, buf + 1, len - 1);
	MP(sh_mp_get_array(r, &n));
	if (n != 4)
		FAIL(SWIM_REJECT_MALFORMED);
	MP(sh_mp_get_u64(r, &v));
	if (v != SWIM__STATE)
		FAIL(SWIM_REJECT_TYPE);
	if ((rc = get_uint(r, &hdr->flags, SWIM__FLAGS_ALL, why)) != SH_OK)
		return rc;
	rc = get_text(r, &hdr->sender, 1, SWIM_NAME_MAX, why);
	if (rc != SH_OK)
		return rc;
	MP(sh_mp_get_array(r, &hdr->count));
	if (hdr->count > SWIM_STATE_MEMBERS_MAX)
		FAIL(SWIM_REJECT_COUNT_LIMIT);
	return SH_OK;
}

int swim__state_member(sh_mp_reader_t *r, swim__update_t *u, swim_reject_t *why)
{
	uint32_t n;
	uint64_t st;
	int rc;
	memset(u, 0, sizeof(*u));
	MP(sh_mp_get_array(r, &n));
	if (n != 7)
		FAIL(SWIM_REJECT_MALFORMED);
	if ((rc = get_text(r, &u->name, 1, SWIM_NAME_MAX, why)) != SH_OK)
		return rc;
	if ((rc = get_uint(r, &u->inc, UINT64_MAX - 1, why)) != SH_OK)
		return rc;
	if ((rc = get_uint(r, &st, SWIM_LEFT, why)) != SH_OK)
		return rc;
	u->kind = (uint8_t)st;
	return get_meta(r, u, why);
}
