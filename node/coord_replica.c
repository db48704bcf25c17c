/*
 * coord_replica.c - internode messages in (coord_recv): the replica side
 * (REPLICA_WRITE: join the incoming object into the own copy and store
 * it, then acknowledge; REPLICA_READ: answer the own copy), and the
 * answers to this node's own requests (acks, read replies, forward
 * replies), matched to their request by id and sender. Every answer
 * leaves in the ready batch, so after the store batch has committed.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

int coord__reject(coord_t *c, coord_reject_t why, int err)
{
	sh_assert(why < COORD_REJECT__COUNT);
	c->stats.rejected[why]++;
	return err;
}

static void send_ack(coord_t *c, const char *to, uint64_t id, int status)
{
	sh_buf_t *b = coord__msg_new(c, to);

	if (b != NULL && coord__wire_write_ack(b, id, status) != 0)
		coord__msg_drop_last(c);
}

int coord__replica_write(coord_t *c, const char *from, const coord__wire_t *m)
{
	coord_obj_t obj;
	store_key_t k;
	dvv_limits_t lim;
	int err;

	memset(&obj, 0, sizeof(obj));
	coord__limits(c, &lim);
	err = coord_obj_decode(&obj, m->record, m->record_len, &lim);
	if (err != 0) {
		if (m->want_ack)
			send_ack(c, from, m->id, err);
		return coord__reject(c, COORD_REJECT_OBJECT, err);
	}
	err =
	    coord__obj_key(c, m->bucket, m->bucket_len, m->key, m->key_len, &k);
	if (err == 0)
		err = coord__local_merge(c, &k, &obj, m->hint_for);
	coord_obj_free(&obj);
	if (err == 0)
		c->stats.replica_writes++;
	if (m->want_ack)
		send_ack(c, from, m->id, err);
	return SH_OK;
}

int coord__replica_read(coord_t *c, const char *from, const coord__wire_t *m)
{
	store_key_t k;
	const uint8_t *val = NULL;
	size_t len = 0;
	sh_buf_t *b;
	int err;

	err =
	    coord__obj_key(c, m->bucket, m->bucket_len, m->key, m->key_len, &k);
	if (err == 0)
		err = store_get(c->store, &k, &val, &len);
	if (err != 0 && err != SH_ENOTFOUND)
		c->stats.store_errors++;
	if (err == 0 && len == 0)
		err = SH_EMALFORMED; /* a record is never empty */
	c->stats.replica_reads++;
	b = coord__msg_new(c, from);
	if (b != NULL && coord__wire_read_reply(b, m->id, err, val, len) != 0)
		coord__msg_drop_last(c);
	return SH_OK;
}

/* the request and target an answer is for, or a rejection */
static int answer_target(coord_t *c, const char *from, const coord__wire_t *m,
                         coord__req_kind_t kind, coord__req_t **q, int *t)
{
	*q = coord__req_find(c, m->id);
	if (*q == NULL || (*q)->kind != kind) {
		c->stats.late_answers++;
		return coord__reject(c, COORD_REJECT_STALE, SH_ENOTFOUND);
	}
	*t = coord__target_find(*q, from);
	if (*t < 0 || (*q)->targets[*t].is_self)
		return coord__reject(c, COORD_REJECT_SENDER, SH_EINVAL);
	return SH_OK;
}

static int on_write_ack(coord_t *c, uint64_t now_ms, const char *from,
                        const coord__wire_t *m)
{
	coord__req_t *q;
	int t, err = answer_target(c, from, m, COORD__REQ_WRITE, &q, &t);

	if (err != 0)
		return err;
	coord__write_ack(c, q, t, m->status, now_ms);
	return SH_OK;
}

/* deliver a read answer to a read, or to a dt update's prefetch */
static void read_answer(coord_t *c, coord__req_t *q, int t,
                        const coord_obj_t *obj, uint64_t now_ms)
{
	if (q->kind == COORD__REQ_WRITE)
		coord__dt_prefetch_answer(c, q, t, obj, now_ms);
	else
		coord__read_answer(c, q, t, obj, now_ms);
}

static int on_read_reply(coord_t *c, uint64_t now_ms, const char *from,
                         const coord__wire_t *m)
{
	coord__req_t *q = coord__req_find(c, m->id);
	coord_obj_t obj;
	dvv_limits_t lim;
	int t, err;

	if (q != NULL && q->kind == COORD__REQ_WRITE && q->prefetching)
		err = answer_target(c, from, m, COORD__REQ_WRITE, &q, &t);
	else
		err = answer_target(c, from, m, COORD__REQ_READ, &q, &t);
	if (err != 0)
		return err;
	memset(&obj, 0, sizeof(obj));
	if (m->status == SH_ENOTFOUND) {
		read_answer(c, q, t, &obj, now_ms);
		return SH_OK;
	}
	if (m->status != 0) {
		/* its stored entry is damaged: repair it with the join */
		q->targets[t].damaged = m->status == SH_EMALFORMED;
		read_answer(c, q, t, NULL, now_ms);
		return SH_OK;
	}
	coord__limits(c, &lim);
	err = coord_obj_decode(&obj, m->record, m->record_len, &lim);
	if (err != 0) {
		q->targets[t].damaged = 1;
		read_answer(c, q, t, NULL, now_ms);
		return coord__reject(c, COORD_REJECT_OBJECT, err);
	}
	read_answer(c, q, t, &obj, now_ms);
	coord_obj_free(&obj);
	return SH_OK;
}

static int dispatch(coord_t *c, uint64_t now_ms, const char *from,
                    const coord__wire_t *m)
{
	switch (m->type) {
	case COORD__M_WRITE: return coord__replica_write(c, from, m);
	case COORD__M_WRITE_ACK: return on_write_ack(c, now_ms, from, m);
	case COORD__M_READ: return coord__replica_read(c, from, m);
	case COORD__M_READ_REPLY: return on_read_reply(c, now_ms, from, m);
	case COORD__M_FORWARD: return coord__forward_recv(c, now_ms, from, m);
	case COORD__M_FORWARD_REPLY:
		return coord__forward_reply_recv(c, now_ms, from, m);
	}
	return coord__reject(c, COORD_REJECT_TYPE, SH_ETYPE);
}

int coord_recv(coord_t *c, uint64_t now_ms, const char *from,
               const uint8_t *data, size_t len)
{
	coord__wire_t m;
	coord_reject_t why = COORD_REJECT_MALFORMED;
	size_t from_len;
	int err;

	sh_assert(store_in_batch(c->store));
	coord__hints_pay(c);
	from_len = from != NULL ? strlen(from) : 0;
	if (from_len == 0 || from_len > COORD_NAME_MAX)
		return coord__reject(c, COORD_REJECT_SENDER, SH_EINVAL);
	if (data == NULL && len > 0)
		return coord__reject(c, COORD_REJECT_MALFORMED, SH_EINVAL);
	err = coord__wire_decode(&m, data, len, &why);
	if (err != 0)
		return coord__reject(c, why, err);
	err = dispatch(c, now_ms, from, &m);
	coord__wire_free(&m);
	return err;
}
