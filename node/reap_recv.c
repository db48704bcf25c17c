/*
 * reap_recv.c - the reaper's receiving side (reap.h, THE EXCHANGE): a
 * primary answers REAP_CHECK with its own copy's state, the driver counts
 * the REAP_STATE answers, and a REAP_DELETE removes the own copy only if
 * it is still the tombstone that was checked.
 */
#include <string.h>

#include "common/sh_err.h"
#include "node/reap_int.h"

/* REAP_CHECK: describe the own copy to the driver */
static int on_check(reap_t *r, const char *from, const reap__wire_t *m)
{
	store_key_t k;
	store_key_parts_t p;
	reap__copy_t mine;
	sh_buf_t *b;
	int st, hinted = 0;

	if (reap__okey(&k, m->okey, m->okey_len, &p) != 0)
		return SH_EMALFORMED;
	st = reap__local(r, &k, &mine);
	if (st == 0 && !mine.present)
		st = SH_ENOTFOUND;
	if (st == 0 || st == SH_ENOTFOUND)
		hinted = reap__hinted(r, &k, &p);
	if (st != 0 && st != SH_ENOTFOUND)
		r->stats.errors++;
	b = reap__msg_new(r, from);
	if (b == NULL || reap__wire_state(b, m->id, st, &mine, hinted) != 0)
		return SH_ENOMEM;
	return SH_OK;
}

/*
 * A primary without any copy has nothing the tombstone must cancel, but
 * it may be a replica still being filled (a wiped node, a partition on
 * its way from its old owner) that could receive an old value after the
 * reap. So an absent copy counts as agreement only for a tombstone twice
 * the grace old: by then such a transfer has had time to bring the value
 * (which the tombstone then cancels, so the check fails). This is what
 * reaps a tombstone that came back to one replica after the others had
 * reaped it (a read repair or an exchange that raced the reap).
 */
static int absent_ok(const reap__cand_t *cd, const reap__wire_t *m)
{
	return cd->old && m->status == SH_ENOTFOUND && !m->hinted;
}

static reap__cand_t *cand_find(reap_t *r, uint64_t id)
{
	size_t i;

	for (i = 0; i < r->cfg.inflight_max; i++)
		if (r->cands[i].id == id && r->cands[i].started)
			return &r->cands[i];
	return NULL;
}

/* REAP_STATE: one primary's answer to a check of ours */
static int on_state(reap_t *r, const char *from, const reap__wire_t *m)
{
	reap__cand_t *cd = m->id != 0 ? cand_find(r, m->id) : NULL;
	size_t i, done = 0;
	int peer = -1;

	if (cd == NULL)
		return SH_ENOTFOUND;
	for (i = 0; i < cd->peer_count; i++)
		if (strcmp(cd->peers[i], from) == 0)
			peer = (int)i;
	if (peer < 0 || cd->answered[peer])
		return SH_ENOTFOUND; /* not asked, or a duplicate */
	if (absent_ok(cd, m)) {
		cd->answered[peer] = 2;
	} else if (m->status != 0 || !m->tombstone || m->hash != cd->hash ||
	           m->hinted) {
		r->stats.kept++; /* not every replica has the delete yet */
		reap__cand_free(r, cd);
		return SH_OK;
	} else {
		cd->answered[peer] = 1;
	}
	for (i = 0; i < cd->peer_count; i++)
		done += cd->answered[i] != 0;
	if (done == cd->peer_count)
		reap__finish(r, cd);
	return SH_OK;
}

/* REAP_DELETE: every primary had this tombstone; drop ours if unchanged */
static int on_delete(reap_t *r, const reap__wire_t *m)
{
	store_key_t k;
	store_key_parts_t p;

	if (reap__okey(&k, m->okey, m->okey_len, &p) != 0)
		return SH_EMALFORMED;
	if (!reap__delete_if(r, &k, &p, m->hash))
		r->stats.delete_skipped++;
	return SH_OK;
}

int reap_recv(reap_t *r, uint64_t now_ms, const char *from, const uint8_t *data,
              size_t len)
{
	reap__wire_t m;
	int err;

	(void)now_ms;
	if (!store_in_batch(r->store))
		return SH_EINVAL;
	if (from == NULL || from[0] == '\0' || strcmp(from, r->self) == 0) {
		r->stats.rejected++;
		return SH_EINVAL;
	}
	err = reap__wire_decode(&m, data, len);
	if (err == 0 && m.type == REAP_MSG_CHECK)
		err = on_check(r, from, &m);
	else if (err == 0 && m.type == REAP_MSG_STATE)
		err = on_state(r, from, &m);
	else if (err == 0)
		err = on_delete(r, &m);
	if (err != 0 && err != SH_ENOTFOUND && err != SH_ENOMEM)
		r->stats.rejected++;
	return err;
}
