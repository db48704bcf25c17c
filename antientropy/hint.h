/*
 * hint.h - hinted handoff replay as a pure state machine (DESIGN.md
 * section 8, ALGORITHMS.md section 7). This header is its manual.
 *
 * A fallback that stored a write for a down primary P keeps the object in
 * its objects keyspace and a hint (P, object key) with an empty value in
 * its hints keyspace (node/store.h, node/coord.h). This machine plans the
 * replay of those hints; the caller (the node, the simulator) does the
 * storage and the network. No IO, no clock: time is now_ms.
 *
 * PER DESTINATION (one per primary with hints, at most dests_max):
 *   - hint_primary_up(P) starts (or resumes) replay; hint_primary_down(P)
 *     pauses it: the batch in flight is forgotten (its hints stay), and
 *     replay resumes from the cursor on the next up.
 *   - The machine asks for a scan (hint_ready -> scans): "up to
 *     batch_keys_max hints of P after `after`". The caller runs
 *     store_scan_hints(P, cursor after `after`, limit), and for each hint
 *     reads the object it names from the objects keyspace and calls
 *     hint_feed with the hint key, the object key and the record (NULL if
 *     the object is gone). hint_feed returns HANDOFF_FULL when the batch
 *     is full: stop the scan there (the entry was not taken). Then
 *     hint_scan_end(done = the store cursor's done flag, err).
 *   - The batch (HINT_BATCH, handoff.h's wire format) carries the current
 *     objects, not a log: the primary joins each into its own copy, stores
 *     them, and answers HINT_ACK (hint_recv or hint_ack).
 *   - The batch waits for the token bucket (handoff.h: bytes per second
 *     over now_ms) before it is reported in hint_ready -> msgs.
 *   - On the ack, and only then, the batch's hints are reported in
 *     hint_ready -> dels, and the cursor moves to the batch's last hint
 *     key. A batch not acked within ack_timeout_ms is sent again (counted
 *     failed). An ack with an error status backs off for ack_timeout_ms
 *     and rescans from the cursor.
 *   - When a scan finds the end of P's hints and the pass sent anything,
 *     another pass starts from the beginning (it finds the hints the
 *     caller kept, see DELETES, and hints written behind the cursor); a
 *     pass that finds nothing ends replay for P (the destination is idle
 *     until the next hint_primary_up or hint_set_pending with a count).
 *
 * DELETES. Each reported delete names the hint key, whether a record was
 * sent and handoff_record_hash of that record. The caller deletes the
 * hint only if the object it names is unchanged: still present with a
 * record of that hash (or still missing when none was sent). Otherwise a
 * write reached this fallback after the batch was read: keep the hint,
 * the next pass replays the newer object. So no write is lost to the race
 * between replay and new hinted writes.
 *
 * A PRIMARY THAT LEFT. hint_primary_left(P): P is no longer in the ring;
 * its hints go to each key's current owner. Scan requests for P then say
 * need_owner = 1, and the caller fills hint_entry_t.owner with the
 * object's owner in the current ring (choose an owner that is up and was
 * not already a replica if you can; any owner is correct, the join is
 * idempotent; NULL if no owner is reachable now: the entry is refused and
 * the destination backs off). A batch goes to one owner: an entry with
 * another owner ends the batch (it is refused and comes first in the next
 * one; keys are in partition order, so batches stay large). An owner
 * equal to this node (config self) needs no message: the object is
 * already in this node's objects keyspace, so those hints are deleted at
 * once. A left primary counts as up.
 *
 * BOUNDS. One batch in flight per destination; at most batch_keys_max
 * hints and about batch_bytes_max record bytes per batch (a larger single
 * object travels alone); at most dests_max destinations (an idle, drained
 * one is reused).
 *
 * DRIVING IT (one thread), in each turn of the loop:
 *   hint_primary_up/down/left, hint_recv, hint_tick(now_ms)   inputs
 *   hint_ready(h, &out):
 *     send out.msgs[i] to out.msgs[i].to (internode frames);
 *     for each out.dels[i]: check and delete the hint (see DELETES) in the
 *       store batch;
 *     remember out.scans[i] (their bytes stay valid until hint_scan_end)
 *   hint_advance(h);
 *   for each scan: store_scan_hints + hint_feed ..., hint_scan_end
 *   arm a timer for out.next_deadline_ms.
 * Scan ends may produce messages: call hint_ready again (or next turn).
 *
 * MEMORY. The caller allocates hint_t; hint_init / hint_free. Outputs of
 * hint_ready are valid until hint_advance; between the two only read them
 * (asserted). Inputs are borrowed for the call.
 */
#ifndef SHOAL_ANTIENTROPY_HINT_H
#define SHOAL_ANTIENTROPY_HINT_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/handoff.h"
#include "common/sh_buf.h"

#define HINT_BATCH_KEYS_DEFAULT     128
#define HINT_BATCH_BYTES_DEFAULT    ((size_t)1 << 20)
#define HINT_ACK_TIMEOUT_MS_DEFAULT 10000
#define HINT_DESTS_DEFAULT          64
#define HINT_DESTS_MAX              4096

typedef struct hint_config {
	const char *self;         /* this node's name; copied */
	size_t batch_keys_max;    /* hints per batch: 128 (1..1024) */
	size_t batch_bytes_max;   /* record bytes per batch: 1 MiB */
	uint64_t ack_timeout_ms;  /* resend / back off after: 10 s */
	size_t dests_max;         /* destinations: 64 (1..HINT_DESTS_MAX) */
	uint64_t bytes_per_s;     /* own bucket's rate when bucket is NULL;
	                           * 0 = unlimited */
	handoff_bucket_t *bucket; /* borrowed, may be shared with handoff_t;
	                           * NULL: an own bucket at bytes_per_s */
	uint64_t id_base;         /* first batch id (differ between runs) */
} hint_config_t;

/* The state of one destination (hint_dests). */
typedef enum hint_dest_state {
	HINT_DEST_IDLE = 0,  /* nothing to replay, or drained */
	HINT_DEST_DOWN,      /* the primary is down: paused */
	HINT_DEST_SCANNING,  /* reading hints */
	HINT_DEST_THROTTLED, /* batch waits for the byte budget */
	HINT_DEST_SENDING,   /* batch in flight */
	HINT_DEST_BACKOFF,   /* after a failure, until a deadline */
} hint_dest_state_t;

/* One destination, as listed by hint_dests. */
typedef struct hint_dest_info {
	const char *name; /* valid until the next call that changes h */
	hint_dest_state_t state;
	int left;          /* the primary left: hints go to current owners */
	uint64_t pending;  /* last count given by hint_set_pending, minus
	                    * hints deleted since (approximate) */
	uint64_t replayed; /* hints acknowledged */
	uint64_t failed;   /* batches timed out or refused */
	uint64_t bytes;    /* message bytes sent (retries included) */
} hint_dest_info_t;

typedef struct hint_stats {
	uint64_t replayed;   /* hints acknowledged (deletes reported) */
	uint64_t failed;     /* batches timed out or acked with an error */
	uint64_t bytes;      /* message bytes sent */
	uint64_t batches;    /* batches sent (retries included) */
	uint64_t redirected; /* hints of left primaries sent to owners */
	uint64_t stale_acks; /* acks for no batch in flight */
	uint64_t rejected;   /* messages hint_recv could not decode */
	uint64_t dests_full; /* destinations refused: table full */
} hint_stats_t;

/* A scan the caller must run (hint_ready). */
typedef struct hint_scan {
	const char *primary;  /* store_scan_hints(primary, ...) */
	const uint8_t *after; /* hint key to start after; after_len 0: from
	                       * the start of primary's hints */
	size_t after_len;
	size_t limit;   /* most entries to feed */
	int need_owner; /* fill hint_entry_t.owner (primary left) */
} hint_scan_t;

/* A message to send (hint_ready). */
typedef struct hint_msg {
	const char *to;
	const uint8_t *data;
	size_t len;
} hint_msg_t;

/* A hint whose batch was acknowledged (hint_ready): see DELETES. */
typedef struct hint_del {
	const char *primary;
	const uint8_t *hint_key; /* the whole hint key (hints keyspace) */
	size_t hint_key_len;
	int had_record;       /* 1: a record was sent; 0: object was missing */
	uint64_t record_hash; /* handoff_record_hash of the sent record */
} hint_del_t;

typedef struct hint_ready {
	const hint_scan_t *scans;
	size_t scan_count;
	const hint_msg_t *msgs;
	size_t msg_count;
	const hint_del_t *dels;
	size_t del_count;
	uint64_t next_deadline_ms; /* HANDOFF_NO_DEADLINE: none */
} hint_ready_t;

/* One scanned hint, fed back by the caller. Borrowed for the call. */
typedef struct hint_entry {
	const uint8_t *hint_key; /* 1..HANDOFF_KEY_BYTES_MAX bytes */
	size_t hint_key_len;
	const uint8_t *obj_key; /* the object key the hint names */
	size_t obj_key_len;
	const uint8_t *record; /* the object's stored record; NULL: gone */
	size_t record_len;
	const char *owner; /* need_owner only: the key's current owner
	                    * to hand it to; NULL: none reachable */
} hint_entry_t;

struct hint_dest;
struct hint__del;

typedef struct hint {
	hint_config_t cfg;
	char self[HANDOFF_NAME_MAX + 1];
	handoff_bucket_t own_bucket;
	handoff_bucket_t *bucket;
	struct hint_dest *dests;
	size_t dest_count;
	uint64_t next_id;
	uint64_t now_ms; /* latest time seen */
	int in_ready;
	hint_stats_t stats;
	/* outputs */
	hint_scan_t *scans; /* dests_max */
	hint_msg_t *msgs;   /* dests_max */
	size_t scan_count, msg_count;
	struct hint__del *del_recs; /* deletes since the last advance */
	hint_del_t *dels;           /* filled by hint_ready */
	size_t del_count, del_cap, dels_cap;
	sh_buf_t del_bytes; /* their primaries' names and hint keys */
} hint_t;

/* hint_config_default - fill *cfg (out) with the defaults (self NULL). */
void hint_config_default(hint_config_t *cfg);

/*
 * hint_init - make *h (out, caller-allocated) a machine with no
 * destinations. cfg (in) is copied; cfg->bucket is borrowed and must
 * outlive h. Returns 0, SH_EINVAL (no self, a limit out of range),
 * SH_ENOMEM. On error nothing needs freeing.
 */
int hint_init(hint_t *h, const hint_config_t *cfg);

/* hint_free - release everything h owns. */
void hint_free(hint_t *h);

/*
 * hint_primary_up - SWIM says primary (in, NUL-terminated name) is alive:
 * start or resume its replay from its cursor. Creates the destination if
 * needed (a scan then tells whether it has hints). Returns 0, SH_EINVAL
 * (bad name), SH_EFULL (dests_max destinations, none reusable), SH_ENOMEM.
 */
int hint_primary_up(hint_t *h, uint64_t now_ms, const char *primary);

/*
 * hint_primary_down - primary is down: pause its replay (a batch in
 * flight is forgotten, its hints stay). Unknown names are ignored.
 */
void hint_primary_down(hint_t *h, uint64_t now_ms, const char *primary);

/*
 * hint_primary_left - primary left the cluster: replay its hints to each
 * key's current owner (see A PRIMARY THAT LEFT), starting now. Errors as
 * hint_primary_up.
 */
int hint_primary_left(hint_t *h, uint64_t now_ms, const char *primary);

/*
 * hint_set_pending - the caller's count of primary's stored hints (for
 * stats; e.g. from a scan at start-up, or +1 per hint written). A count
 * above 0 for an up, drained destination starts a new pass. Creates the
 * destination when count > 0. Errors as hint_primary_up.
 */
int hint_set_pending(hint_t *h, uint64_t now_ms, const char *primary,
                     uint64_t count);

/*
 * hint_feed - one scanned entry of the scan reported for primary (in).
 * Returns 0 (taken), HANDOFF_FULL (not taken: end the scan here), or
 * SH_EINVAL (no scan running for primary, a key over its limit, an empty
 * record), SH_ENOMEM. Entries must come in scan order.
 */
int hint_feed(hint_t *h, const char *primary, const hint_entry_t *e);

/*
 * hint_scan_end - the scan for primary is over. done (in): the store
 * cursor reached the end of primary's hints; err (in): 0, or the store's
 * error (the destination backs off, nothing is lost). Builds the batch.
 * Returns 0 or SH_EINVAL (no scan running for primary), SH_ENOMEM (the
 * destination backs off).
 */
int hint_scan_end(hint_t *h, uint64_t now_ms, const char *primary, int done,
                  int err);

/*
 * hint_ack - from (in) acknowledged batch id with status (0 stored, else
 * an SH_E code). Returns 0, or SH_ENOTFOUND for an ack that matches no
 * batch in flight from that node (late, duplicate: harmless, counted).
 */
int hint_ack(hint_t *h, uint64_t now_ms, const char *from, uint64_t id,
             int status);

/*
 * hint_recv - a HINT_ACK message data[0..len) (in) from `from`: decodes
 * it (handoff_wire_decode) and calls hint_ack. Returns 0, the decoder's
 * error (counted in stats.rejected; SH_ETYPE for another message type),
 * or hint_ack's.
 */
int hint_recv(hint_t *h, uint64_t now_ms, const char *from, const uint8_t *data,
              size_t len);

/* hint_tick - the time is now_ms: send throttled batches, retry, resume. */
void hint_tick(hint_t *h, uint64_t now_ms);

/*
 * hint_ready - fill *out (out) with the outputs (see hint_ready_t). Valid
 * until hint_advance.
 */
void hint_ready(hint_t *h, hint_ready_t *out);

/* hint_advance - the caller acted on the outputs of hint_ready. */
void hint_advance(hint_t *h);

/*
 * hint_dests - fill out[0..cap) (out) with the destinations; returns how
 * many there are (may exceed cap). Names valid until h changes.
 */
size_t hint_dests(const hint_t *h, hint_dest_info_t *out, size_t cap);

/* hint_stats - the totals (see hint_stats_t). */
void hint_stats(const hint_t *h, hint_stats_t *out);

#endif /* SHOAL_ANTIENTROPY_HINT_H */
