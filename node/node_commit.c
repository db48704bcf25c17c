/*
 * node_commit.c - the group commit of the node's store batches.
 *
 * With --sync none a batch commits in the loop at the end of the turn
 * that wrote it: the commit costs less than handing it to a thread.
 *
 * SEALED COMMITS (--sync batch). A durable commit waits for the disk (two
 * ordered flushes in LMDB), and while the loop waited in it no read could
 * be answered. So a batch that wrote is sealed (store.h) and committed on
 * the thread pool; until node__commit_after:
 *   - its outputs are held: replies stay in their connections (held),
 *     frames in the peer queues (node__peer_flush waits);
 *   - GET and HEAD requests are served outside a batch, from the
 *     committed state, and their replies leave at once;
 *   - a request that would write waits in its connection's pipeline,
 *     and so does everything behind a held reply; frames that may write
 *     wait in their inbound connection; the cores' timers and per-turn
 *     drivers wait for the next batch.
 * Writes then gather into the next batch while the disk works, and the
 * next commit starts as soon as this one ends. (Keeping that batch open
 * a moment longer, for the writes of the clients the commit just
 * answered, was measured: fewer, fuller commits, the same ops/s.)
 */
#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_int.h"

/* Count a commit that took since t0_us and log its failure. */
static void node__commit_count(node_t *n, int rc, uint64_t t0_us)
{
	node_hist_add(&n->stats.commit_latency, node__now_us() - t0_us);
	n->stats.commits++;
	if (rc != SH_OK) {
		n->stats.commit_errors++;
		sh_log(SH_LOG_ERROR, "store_commit: %s (%s)", sh_strerror(rc),
		       store_errmsg(&n->store));
	}
}

static void node__commit_work(uv_work_t *w)
{
	node_t *n = w->data;
	n->commit_rc = store_commit_sealed(&n->store);
}

static void node__commit_after(uv_work_t *w, int status)
{
	node_t *n = w->data;
	int rc =
	    store_sealed_done(&n->store, status == 0 ? n->commit_rc : SH_EIO);
	n->committing = 0;
	node__commit_count(n, rc, n->commit_t0_us);
	if (rc != SH_OK && n->coord_open)
		coord_batch_lost(&n->coord, n->commit_seq, rc);
	node__hint_acks(n, rc == SH_OK);
	node__xfer_committed(n, rc == SH_OK);
	node__peer_commit_done(n, rc == SH_OK);
	node__kv_held_timed(n);
	node__http_commit_done(n, rc == SH_OK);
}

/* Seal the batch and start its commit: NODE_COMMIT_SEALED, or, if it
 * could not start, the result of committing it here. */
static int node__commit_sealed(node_t *n, uint64_t t0)
{
	uint64_t seq = n->coord_open ? coord_batch_seq(&n->coord) : 0;
	int rc = store_seal(&n->store);
	if (rc != SH_OK || !store_sealed(&n->store))
		return rc;
	n->commit_work.data = n;
	if (uv_queue_work(&n->loop, &n->commit_work, node__commit_work,
	                  node__commit_after) == 0) {
		n->committing = 1;
		n->stats.commits_sealed++;
		n->commit_seq = seq;
		n->commit_t0_us = t0;
		return NODE_COMMIT_SEALED;
	}
	return store_sealed_done(&n->store, store_commit_sealed(&n->store));
}

int node__commit(node_t *n)
{
	if (!store_in_batch(&n->store))
		return SH_OK;
	uint64_t t0 = node__now_us();
	int rc;
	int dirty = store_batch_dirty(&n->store);
	if (dirty) {
		n->wrote_ms = t0 / 1000;
		n->idle_flushed = 0;
	}
	if (n->cfg.sync == STORE_SYNC_BATCH && !n->stopping && dirty) {
		rc = node__commit_sealed(n, t0);
		if (rc == NODE_COMMIT_SEALED)
			return rc;
	} else {
		rc = store_commit(&n->store);
	}
	node__commit_count(n, rc, t0);
	if (rc != SH_OK && n->coord_open)
		coord_batch_failed(&n->coord, rc);
	return rc;
}

/* An idle node's journal (--sync batch) holds its last writes, the open
 * LMDB transaction their dirty pages and the overlay their copies, until
 * the next checkpoint, which only writes bring. Once the writes stop,
 * checkpoint them here: data.mdb then holds everything and a restart
 * replays nothing. In the loop, as no write waits: a few ms at most
 * (bounded by --checkpoint-mutations). */
void node__commit_idle(node_t *n, uint64_t now_ms)
{
	if (n->cfg.sync != STORE_SYNC_BATCH || n->idle_flushed ||
	    n->committing || n->stopping || store_in_batch(&n->store) ||
	    now_ms - n->wrote_ms < NODE_IDLE_CHECKPOINT_MS)
		return;
	n->idle_flushed = 1; /* once per pause, whatever it returns */
	int rc = store_flush(&n->store);
	if (rc != SH_OK) {
		n->stats.commit_errors++;
		sh_log(SH_LOG_ERROR, "idle checkpoint: %s (%s)",
		       sh_strerror(rc), store_errmsg(&n->store));
	}
}

int node__reads_wait(const node_t *n)
{
	return n->committing &&
	       store_sealed_reads(&n->store) == STORE_SEAL_READS_WAIT;
}
