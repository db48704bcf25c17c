/*
 * node_int.h - the shell's private pieces, shared by node_*.c (node.h
 * says what the shell does and the internode frame format).
 *
 * One node_t per process, on one thread (the libuv loop). Handles are
 * embedded in the structs that own them; a struct is freed only from the
 * close callback of its last handle.
 */
#ifndef SHOAL_NODE_NODE_INT_H
#define SHOAL_NODE_NODE_INT_H

#include <uv.h>

#include "antientropy/hint.h"
#include "common/sh_buf.h"
#include "common/sh_rand.h"
#include "gossip/swim.h"
#include "node/aae.h"
#include "node/coord.h"
#include "node/http.h"
#include "node/json.h"
#include "node/node.h"
#include "node/reap.h"
#include "node/store.h"
#include "node/xfer.h"
#include "ring/ring.h"

/* Internode frame kinds (node.h). */
enum {
	NODE_FRAME_HELLO = 0,
	NODE_FRAME_STATE = 1,
	NODE_FRAME_STATE_REPLY = 2,
	NODE_FRAME_COORD = 3,
	NODE_FRAME_AAE = 4, /* node/aae.h's messages */
};

/* Bytes queued to one peer before new frames to it are dropped. */
#define NODE_PEER_QUEUE_BYTES_MAX (256u * 1024 * 1024)
/* First and longest wait before reconnecting to a peer. */
#define NODE_PEER_BACKOFF_MIN_MS 100u
#define NODE_PEER_BACKOFF_MAX_MS 1000u
/* Bytes kept for a peer while waiting to reconnect; more are dropped. */
#define NODE_PEER_DOWN_QUEUE_BYTES_MAX (4u * 1024 * 1024)
/* An outbound connection whose written bytes have not moved this long is
 * closed and its queue dropped (a peer that does not read would hold up
 * to NODE_PEER_QUEUE_BYTES_MAX for ever); x swim_time_scale. */
#define NODE_PEER_STALL_MS 10000u
/* Peer addresses kept at once, well above any cluster's size: a hello
 * names any address it likes (STATE replies go there). */
#define NODE_PEERS_MAX 1024u
/* At NODE_PEERS_MAX, a peer no frame was queued to for this long may make
 * room for a new one (node__peer_reclaim); x swim_time_scale. */
#define NODE_PEER_IDLE_MS 60000u
/* An inbound connection must send its hello within this of its accept,
 * and each frame within this of its first byte; x swim_time_scale. */
#define NODE_PEER_FRAME_MS 30000u
/* Housekeeping period: idle sweep, shutdown progress. */
#define NODE_HOUSE_MS 100u
/* How long a node started with seeds refuses requests while it learns the
 * members (coord.h, joining), before serving alone; x swim_time_scale. */
#define NODE_JOIN_WAIT_MS 5000u
/* --sync batch: writes stopped this long, checkpoint the journal
 * (node__commit_idle). */
#define NODE_IDLE_CHECKPOINT_MS 1000u

/* ---- latency histograms and counters (node_stats.c) ---- */

/* Log-scaled buckets: 8 per power of two of microseconds, up to 2^40 us. */
#define NODE_HIST_SUB     8
#define NODE_HIST_BUCKETS (40 * NODE_HIST_SUB)

typedef struct node_hist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t max_us;
	uint64_t buckets[NODE_HIST_BUCKETS];
} node_hist_t;

/* The client operations timed per op. */
typedef enum node_op {
	NODE_OP_GET = 0,
	NODE_OP_PUT,
	NODE_OP_DELETE,
	NODE_OP_DT_GET,
	NODE_OP_DT_UPDATE,
	NODE_OP__COUNT
} node_op_t;

/* Status classes counted per op. */
enum { NODE_ST_2XX = 0, NODE_ST_3XX, NODE_ST_4XX, NODE_ST_5XX, NODE_ST__N };

typedef struct node_stats {
	uint64_t started_ms;
	uint64_t http_requests;  /* every request handed out */
	uint64_t http_conns;     /* accepted */
	uint64_t http_refused;   /* refused: connection limit */
	uint64_t http_idle;      /* closed for idleness or a stalled write */
	uint64_t http_throttled; /* requests held back: replies unread */
	uint64_t ops[NODE_OP__COUNT];
	uint64_t status[NODE_OP__COUNT][NODE_ST__N];
	node_hist_t latency[NODE_OP__COUNT];
	uint64_t commits, commit_errors;
	uint64_t commits_sealed; /* committed off the loop (node_commit.c) */
	uint64_t reads_while_committing; /* reads served meanwhile */
	node_hist_t commit_latency;
	uint64_t frames_in, frames_out, frame_errors, frames_dropped;
	uint64_t peer_stalled;   /* outbound closed: writes did not move */
	uint64_t peers_refused;  /* frames dropped: peer table full */
	uint64_t peer_conns;     /* inbound accepted */
	uint64_t peer_refused;   /* inbound closed: --peer-conns-max */
	uint64_t peer_timed_out; /* inbound closed: hello or frame late */
	uint64_t bytes_in, bytes_out;
	uint64_t udp_in, udp_out, udp_errors;
} node_stats_t;

/* node_hist_add - record one value in microseconds. */
void node_hist_add(node_hist_t *h, uint64_t us);
/* node_hist_quantile - the value at quantile q (0..1), in microseconds:
 * the upper bound of the bucket holding it; 0 when empty. */
uint64_t node_hist_quantile(const node_hist_t *h, double q);
/* node_op_name - "get", "put", "delete", "dt_get", "dt_update". */
const char *node_op_name(node_op_t op);

/* ---- connections ---- */

typedef struct node node_t;

/* An HTTP connection (node_http.c). */
typedef struct node_hconn {
	node_t *node;
	uv_tcp_t tcp;
	http_conn_t hc;
	uint64_t id;
	uint64_t last_ms;  /* last byte in or out */
	uint32_t writes;   /* uv_write requests in flight */
	size_t queued;     /* their bytes not yet written */
	uint64_t write_ms; /* last write completed (or the first queued) */
	uint64_t req_ms;   /* a request began coming; 0: none */
	uint32_t waiting;  /* requests handed to the coordinator */
	int reading;
	int closing;
	int refused;  /* over the connection limit: close after the 503 */
	int pump_due; /* on node_t.pump_list */
	/* a sealed batch is committing (node_commit.c): */
	int held;      /* a reply that waits for its commit: no output */
	int deferred;  /* a write waits in the pipeline for the commit */
	int throttled; /* queued over NODE__HTTP_QUEUED_MAX: no dispatch */
	struct node_hconn *pump_next;
	struct node_hconn *prev, *next;
} node_hconn_t;

/* Our outbound internode connection to one peer address (node_peer.c). */
typedef struct node_peer {
	node_t *node;
	uv_tcp_t tcp;
	uv_connect_t connect;
	char addr[SWIM_ADDR_MAX + 1];
	int state; /* NODE_PEER_* in node_peer.c */
	int handle_open;
	sh_buf_t queue;      /* frames not yet handed to uv_write */
	size_t inflight;     /* bytes handed to uv_write, not done */
	uint64_t retry_ms;   /* no connect attempt before this */
	uint64_t backoff_ms; /* next wait after a failure */
	/* progress of the writes in flight (node__peer_sweep): bytes handed
	 * to uv_write ever, of them those the socket took when last looked
	 * at, and when that last changed */
	uint64_t handed, drained, moved_ms;
	uint64_t used_ms; /* a frame was last queued to it */
	struct node_peer *next;
} node_peer_t;

/* A connection a peer opened to us (node_peer.c). */
typedef struct node_inbound {
	node_t *node;
	uv_tcp_t tcp;
	sh_buf_t in;
	char name[SWIM_NAME_MAX + 1]; /* from the hello, "" before it */
	char addr[SWIM_ADDR_MAX + 1];
	int closing;
	int deferred; /* frames wait in `in` while a sealed batch commits */
	uint64_t accepted_ms;
	uint64_t frame_ms; /* an incomplete frame's first byte; 0: none */
	struct node_inbound *prev, *next;
} node_inbound_t;

/* A client request the coordinator is working on (node_kv.c). */
typedef struct node_pending {
	uint64_t client_id; /* the coordinator's; 0: free slot */
	uint64_t conn_id;
	node_hconn_t *conn;
	uint64_t seq; /* the HTTP request's */
	uint64_t start_us;
	node_op_t op;             /* NODE_OP__COUNT: not timed (replicas) */
	uint32_t untyped_removes; /* dt update: see node_dt.h */
} node_pending_t;

struct node {
	node_config_t cfg;
	uv_loop_t loop;
	uv_timer_t timer; /* the earliest deadline of swim and coord */
	uv_timer_t house; /* housekeeping, every NODE_HOUSE_MS */
	uv_prepare_t prepare;
	uv_signal_t sigterm, sigint;
	uv_udp_t udp;
	uv_tcp_t peer_listen;
	uv_tcp_t http_listen;
	int http_listening;

	store_t store;      /* the tap over store_disk: every writer uses it */
	store_t store_disk; /* LMDB */
	uint64_t epoch;
	sh_rand_t rand;
	swim_t swim;
	coord_t coord;
	int coord_open;
	uint64_t timer_due_ms; /* what timer is set to, UINT64_MAX: none */

	node_peer_t *peers;
	node_inbound_t *inbound;
	uint32_t peers_len;
	uint32_t inbound_len;
	uint64_t peer_frame_ms; /* NODE_PEER_FRAME_MS, scaled */
	uint64_t peer_stall_ms; /* NODE_PEER_STALL_MS, scaled */
	uint64_t peer_idle_ms;  /* NODE_PEER_IDLE_MS, scaled */
	node_hconn_t *conns;
	uint32_t conns_len;
	uint64_t next_conn_id;

	node_pending_t *pending;
	uint32_t pending_cap, pending_len, pending_hint;
	uint64_t pending_gen;
	node_hconn_t *pump_list; /* replied to while outputs were delivered */

	/* A sealed batch committing on the thread pool (node_commit.c):
	 * meanwhile reads go on against the committed state, writes wait,
	 * and the sealed batch's outputs are held. */
	int committing;
	int holding; /* node__kv_outputs is delivering held outputs */
	uv_work_t commit_work;
	int commit_rc;         /* store_commit_sealed's */
	uint64_t commit_seq;   /* coord_batch_seq of the sealed batch */
	uint64_t commit_t0_us; /* when it was sealed */
	uint64_t wrote_ms;     /* when a batch last wrote */
	int idle_flushed;      /* node__commit_idle ran since that write */
	sh_buf_t held_times;   /* held replies' starts (node_kv.c) */

	int stopping;  /* stop asked: no new requests */
	int leaving;   /* POST /cluster/leave: 1 handing off, 2 announcing,
	                * 3 sweeping, 4 stopping (node_xfer.c) */
	int exit_code; /* what node_run returns */
	uint64_t stop_deadline_ms;
	uint64_t leave_deadline_ms; /* stop even if "left" is not spread */
	int members_dirty;
	uint64_t join_wait_ms; /* NODE_JOIN_WAIT_MS, scaled */
	sh_buf_t scratch;

	/* hinted handoff (node_hint.c) */
	hint_t hint;
	int hint_open;
	handoff_wire_msg_t *hint_msg;      /* decoded HINT_BATCH, reused */
	struct node_hint_scan *hint_scans; /* dests_max, node_hint.c */
	sh_buf_t hint_keys;                /* a scan's hint keys */
	sh_buf_t hint_acks;    /* HINT_ACKs waiting for the commit */
	sh_buf_t hint_recount; /* primaries whose hints to count: names, each
	                        * ending in NUL */
	/* primaries this node stored hints for (coord_ready_t.hinted), to
	 * count again (at most once a second each) so that replay to one
	 * that is up starts */
	struct node_hint_due {
		char name[COORD_NAME_MAX + 1];
		uint64_t next_ms; /* no recount before */
		int dirty;        /* hints stored since the last recount */
	} hint_due[COORD_HINTED_MAX];
	int hint_due_all;         /* more primaries than that: count all */
	int hint_recount_all;     /* count all in the next recount */
	uint64_t hint_due_all_ms; /* no count of all before */
	uint64_t hints_received;  /* objects joined from HINT_BATCHes */
	/* active anti-entropy (node_aae.c) */
	aae_t aae;
	int aae_open;
	uint64_t aae_ticked_ms; /* uv_now of the last tick: one per turn */

	/* ownership handoff and graceful leave (node_xfer.c) */
	xfer_t xfer;
	int xfer_open;
	uint64_t leave_timeout_at_ms; /* --leave-timeout-ms after the POST */
	uint64_t leaves_abandoned;
	/* the tombstone reaper (node_reap.c) */
	reap_t reap;
	int reap_open;
	node_stats_t stats;
};

/* ---- node_loop.c ---- */

/* node__now_ms / node__now_us - the monotonic clock. */
uint64_t node__now_ms(void);
uint64_t node__now_us(void);
/* node__batch - open the store batch of this loop turn if none is open;
 * 0 or the store's error (SH_EBUSY while a sealed batch commits). */
int node__batch(node_t *n);

/* ---- node_commit.c ---- */

/* What node__commit did besides 0 (committed) and errors. */
#define NODE_COMMIT_SEALED 1 /* committing on the thread pool */

/* node__commit - commit the open batch, if any: 0, a code above, or the
 * commit's error (the coordinator's batch has then failed). */
int node__commit(node_t *n);

/* node__commit_idle - at the end of a turn, outside a batch: once writes have
 * stopped for NODE_IDLE_CHECKPOINT_MS, checkpoint the journal (store_flush;
 * nothing when it holds nothing). */
void node__commit_idle(node_t *n, uint64_t now_ms);

/* node__reads_wait - 1 while the sealed batch is one reads must wait for
 * (a checkpoint, store_sealed_reads): requests and frames then wait. */
int node__reads_wait(const node_t *n);
/* node__stop - begin a clean stop (idempotent). */
void node__stop(node_t *n, const char *why);
/* node__members_changed - push the member list to the coordinator. */
void node__members_changed(node_t *n);

/* ---- node_udp.c ---- */

/* node__resolve - "host:port" into a socket address. 0 or SH_EINVAL. */
int node__resolve(const char *addr, struct sockaddr_storage *out);
/* node__sockaddr_str - a socket address as "ip:port" (size bytes). */
void node__sockaddr_str(const struct sockaddr *sa, char *out, size_t size);
int node__udp_start(node_t *n);
void node__udp_send(node_t *n, const char *to, const uint8_t *data, size_t len);

/* ---- node_peer.c ---- */

int node__peer_start(node_t *n);
/* node__peer_send - queue one frame [kind, bin] to the peer at addr. */
void node__peer_send(node_t *n, const char *addr, int kind, const uint8_t *data,
                     size_t len);
/* node__peer_up - SWIM says the peer at addr is up: reconnect at once. */
void node__peer_up(node_t *n, const char *addr);
/* node__peer_flush - start writes and reconnects that are due. */
void node__peer_flush(node_t *n, uint64_t now_ms);
/* node__peer_sweep - housekeeping: close connections past their bounds. */
void node__peer_sweep(node_t *n, uint64_t now_ms);
void node__peer_close_all(node_t *n);
/* node__peer_commit_done - the sealed batch committed (ok 1) or failed:
 * send the frames held meanwhile (or drop them all), and handle the
 * frames that waited. */
void node__peer_commit_done(node_t *n, int ok);
/* node__peer_free_all - after the loop ended: free the peer structs. */
void node__peer_free_all(node_t *n);

/* ---- node_http.c ---- */

int node__http_start(node_t *n);
void node__http_stop_listening(node_t *n);
void node__http_close_all(node_t *n);
/* node__http_pump - hand out requests and write what may leave. */
void node__http_pump(node_hconn_t *c);
/* node__http_commit_done - the sealed batch committed (ok 1) or failed:
 * let held replies leave (or close their connections) and pump the
 * connections that waited. */
void node__http_commit_done(node_t *n, int ok);
/* node__http_writing - 1 while some reply is still being written. */
int node__http_writing(const node_t *n);
/* node__http_sweep - close connections idle since before the limit. */
void node__http_sweep(node_t *n, uint64_t now_ms);

/* ---- node_api.c: routes ---- */

/* node__api_dispatch - answer or hand on one request of connection c. */
void node__api_dispatch(node_t *n, node_hconn_t *c, const http_req_t *req);
/* node__reply_json - answer seq with status and a JSON body. */
void node__reply_json(node_hconn_t *c, uint64_t seq, int status,
                      const sh_buf_t *body);
/* node__reply_error - answer seq with {"error": msg}. */
void node__reply_error(node_hconn_t *c, uint64_t seq, int status,
                       const char *msg);

/* ---- node_stats.c ---- */

/* node__stats_json / node__stats_prom - /stats and /metrics bodies. */
int node__stats_json(node_t *n, sh_buf_t *out);
int node__stats_prom(node_t *n, sh_buf_t *out);

/* ---- node_kv.c: /kv and /dt through the coordinator ---- */

void node__kv_dispatch(node_t *n, node_hconn_t *c, const http_req_t *req,
                       const http_match_t *m);
/* node__kv_outputs - deliver the coordinator's ready batch. */
void node__kv_outputs(node_t *n, const coord_ready_t *rd);
/* node__kv_recv - a coordinator message from the peer called from. */
void node__kv_recv(node_t *n, const char *from, const uint8_t *data,
                   size_t len);
/* node__kv_conn_gone - forget the requests of a closed connection. */
void node__kv_conn_gone(node_t *n, node_hconn_t *c);
/* node__kv_pump_marked - pump the connections replied to. */
void node__kv_pump_marked(node_t *n);
/* node__b64_encode - base64 of p[0..len) into out (reset first). */
int node__b64_encode(const uint8_t *p, size_t len, sh_buf_t *out);
/* node__pending_find - the request of a client id, or NULL. */
node_pending_t *node__pending_find(node_t *n, uint64_t client_id);
/* node__pending_answer - count and time a reply (held: when the sealed
 * commit it waits for is done); free the slot. */
void node__pending_answer(node_t *n, node_pending_t *p, int status, int held);
/* node__kv_held_timed - a sealed commit is done: time its held replies. */
void node__kv_held_timed(node_t *n);
/* node__kv_replicas - /cluster/replicas. */
void node__kv_replicas(node_t *n, node_hconn_t *c, const http_req_t *req,
                       const http_match_t *m);

/* ---- node_hint.c: hinted handoff ---- */

/* node__hint_open / node__hint_close - the replay machine and buffers. */
int node__hint_open(node_t *n);
void node__hint_close(node_t *n);
/* node__hint_count - count primary's stored hints (NULL: every primary's)
 * and hand the counts to the machine (hint_set_pending). */
void node__hint_count(node_t *n, const char *primary);
/* node__hint_member - a SWIM event (SWIM_EV_*) about member name. */
void node__hint_member(node_t *n, const char *name, int kind);
/* node__hint_stored - the coordinator's ready batch stored hints for
 * these primaries (coord_ready_t.hinted); more: for others too. */
void node__hint_stored(node_t *n, const char (*names)[COORD_NAME_MAX + 1],
                       size_t count, int more);
/* node__hint_turn - tick, send, delete, scan; the next deadline. */
uint64_t node__hint_turn(node_t *n);
/* node__hint_recv - a HINT_BATCH or HINT_ACK from the peer called from
 * (its --bind address addr, where the ack goes). */
void node__hint_recv(node_t *n, const char *from, const char *addr,
                     const uint8_t *data, size_t len);
/* node__hint_acks - after the commit: send the queued acks (committed 1)
 * or drop them (0: the commit failed, the senders resend). */
void node__hint_acks(node_t *n, int committed);
/* ---- node_reap.c: the tombstone reaper ---- */

/* node__reap_open / node__reap_close - the reaper machine. */
int node__reap_open(node_t *n);
void node__reap_close(node_t *n);
/* node__reap_tick - a bounded step of the reaper's pass (housekeeping). */
void node__reap_tick(node_t *n);
/* node__reap_outputs - after the commit: send the reaper's messages. */
void node__reap_outputs(node_t *n);
/* node__reap_recv - a reaper message from the peer called from. */
void node__reap_recv(node_t *n, const char *from, const uint8_t *data,
                     size_t len);
/* node__reap_json / node__reap_prom - the figures (/stats "reap";
 * /metrics). */
void node__reap_json(node_t *n, json_w_t *w);
void node__reap_prom(node_t *n, sh_buf_t *out);

/* node__hint_json / node__hint_prom - the figures (/cluster/hints and
 * /stats' "hints"; /metrics). */
void node__hint_json(node_t *n, json_w_t *w);
void node__hint_prom(node_t *n, sh_buf_t *out);

/* ---- node_aae.c: active anti-entropy ---- */

/* node__aae_open / node__aae_close - the driver and its store hooks
 * (after the coordinator; --aae-interval-ms 0 leaves it off). */
int node__aae_open(node_t *n);
void node__aae_close(node_t *n);
/* node__aae_recv - an AAE frame from member from (in the turn's batch). */
void node__aae_recv(node_t *n, const char *from, const uint8_t *data,
                    size_t len);
/* node__aae_turn - after the commit: tick, send; the next deadline. */
uint64_t node__aae_turn(node_t *n);
/* node__aae_json - /stats' "aae"; node__aae_cluster_json - /cluster/aae;
 * node__aae_prom - /metrics. */
void node__aae_json(node_t *n, json_w_t *w);
void node__aae_cluster_json(node_t *n, json_w_t *w);
void node__aae_prom(node_t *n, sh_buf_t *out);

/* ---- node_xfer.c: ownership handoff and graceful leave ---- */

/* node__xfer_open / node__xfer_close - the driver (after the hints). */
int node__xfer_open(node_t *n);
void node__xfer_close(node_t *n);
/* node__xfer_member - a SWIM event (SWIM_EV_*) about member name. */
void node__xfer_member(node_t *n, const char *name, int kind);
/* node__xfer_recv - a HANDOFF_BATCH or HANDOFF_ACK from member from. */
void node__xfer_recv(node_t *n, const char *from, const uint8_t *data,
                     size_t len);
/* node__xfer_committed - after the commit: send the queued acks (ok 1)
 * or forget them (0). */
void node__xfer_committed(node_t *n, int ok);
/* node__xfer_turn - run the driver and the leave; the next deadline. */
uint64_t node__xfer_turn(node_t *n);
/* node__xfer_leave - POST /cluster/leave: start handing off. 0 (also when
 * already leaving) or an error with *why for the client. */
int node__xfer_leave(node_t *n, const char **why);
/* node__xfer_left - SWIM spread our "left" (or its bound passed): sweep,
 * then stop. */
void node__xfer_left(node_t *n, const char *why);
/* node__xfer_json - /cluster/transfers (list 1) and /stats' "handoff";
 * node__xfer_prom - /metrics. */
void node__xfer_json(node_t *n, json_w_t *w, int list);
void node__xfer_prom(node_t *n, sh_buf_t *out);

#endif /* SHOAL_NODE_NODE_INT_H */
