/*
 * sim_net.h - shoal-sim's simulated network, reused by every simulator mode.
 *
 * Nodes are small integers 0..nodes-1 (the caller maps them to addresses).
 * Time is virtual, in milliseconds, handed in by the caller; every random
 * choice comes from one sh_rand_t the caller seeds, so the same seed and the
 * same sequence of calls give the same deliveries, bit for bit.
 *
 * Two kinds of message:
 *   - datagrams (UDP-like): each is delayed by its own random delay, may be
 *     lost, duplicated (the copy gets its own delay) or held back for
 *     reordering;
 *   - stream messages (TCP-like, for push-pull and other bulk exchanges):
 *     never lost, never duplicated, delivered in order per (from, to) pair
 *     after a fixed stream_delay_ms (or later, if that was lowered while
 *     earlier stream messages were in flight). A stream message that cannot get
 *     through (partition, crashed peer) is not silently lost: the sender
 *     gets a SIM_NET_STREAM_FAILED notice carrying the same bytes
 *     stream_fail_ms later (a connect or read timeout).
 *
 * Delay of a datagram: delay_min_ms plus an exponentially distributed extra
 * with mean (delay_mean_ms - delay_min_ms), rounded to the nearest ms and
 * capped at 16 times that mean, so delay_mean_ms is the mean total delay.
 * Independent random delays already reorder messages; in addition, with
 * probability `reorder` a datagram is held back by a further uniform
 * 1..reorder_ms. Random draws per datagram, in order: loss, delay, reorder,
 * duplication, and the duplicate's delay and reorder.
 *
 * Faults and when they are checked:
 *   - Partitions (isolate a node, split into groups, majorities ring) are
 *     checked when a message is sent and again when it arrives: a message
 *     in flight when a partition starts is dropped on arrival (a stream
 *     message turns into a failure notice); healing does not bring back
 *     what was dropped. Messages already in a paused node's inbox have
 *     arrived and are not affected by later partitions.
 *   - Pause: the node stops processing; messages that arrive for it wait in
 *     its inbox (in arrival order) and are delivered at the resume time, in
 *     the order they were sent. A paused node's own messages already in
 *     flight still arrive; sending from a paused node is allowed (the
 *     simulator should not run its timers meanwhile).
 *   - Crash: at once, every queued message to the node (in flight or in its
 *     inbox) and every message from it still in flight is dropped (what
 *     already sits in a paused node's inbox has arrived and stays); stream
 *     messages to it turn into failure notices to their live senders, and
 *     notices addressed to it are discarded. Sends to or from a crashed
 *     node are dropped (counted). Restart makes it reachable again with an
 *     empty inbox; the caller re-creates the node's state.
 *
 * Delivery is pull-style: sim_net_next_time says when the next message is
 * due and sim_net_pop hands out due messages one at a time, so a loop can
 * interleave deliveries with node timers in time order. Messages due at the
 * same ms come out in the order they were queued (a sequence number).
 *
 * Bounded: at most queue_max messages are queued (in flight, in inboxes and
 * pending notices together); a send beyond that is dropped and counted.
 * Message buffers are pooled and reused, so a steady run does not allocate.
 */
#ifndef SHOAL_SIM_NET_H
#define SHOAL_SIM_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_rand.h"
#include "tests/sim/sim_heap.h"

/* Pass as the node to sim_net_stats for the totals over all nodes. */
#define SIM_NET_ALL UINT32_MAX

/* Groups at or above this value are reserved for sim_net_isolate. */
#define SIM_NET_GROUP_MAX 0x7fffffffu

/* Largest queue_max sim_net_init accepts. */
#define SIM_NET_QUEUE_MAX (1u << 28)

typedef enum sim_net_kind {
	SIM_NET_DGRAM = 0,         /* a datagram */
	SIM_NET_STREAM = 1,        /* a reliable, ordered stream message */
	SIM_NET_STREAM_FAILED = 2, /* notice: a stream message did not arrive */
} sim_net_kind_t;

/* The fault model; may be changed during a run with sim_net_set_faults. */
typedef struct sim_net_faults {
	uint64_t delay_min_ms;    /* every datagram takes at least this */
	uint64_t delay_mean_ms;   /* mean datagram delay, >= delay_min_ms */
	double loss;              /* datagram loss probability, 0..1 */
	double dup;               /* datagram duplication probability, 0..1 */
	double reorder;           /* probability of an extra hold-back, 0..1 */
	uint64_t reorder_ms;      /* largest extra hold-back, >= 1 if reorder */
	uint64_t stream_delay_ms; /* delay of every stream message */
	uint64_t stream_fail_ms;  /* from a failed stream send to its notice */
} sim_net_faults_t;

typedef struct sim_net_cfg {
	uint32_t nodes;         /* node ids are 0..nodes-1; >= 1 */
	uint32_t queue_max;     /* most messages queued at once; >= 1 */
	uint32_t msg_bytes_max; /* largest message accepted */
	sim_net_faults_t faults;
} sim_net_cfg_t;

/*
 * Counters. For one node, the sending side (sent, sent_bytes, duplicated,
 * dropped_*, stream_failed) counts messages it sent and the receiving side
 * (delivered, delivered_bytes, held) messages addressed to it. In the
 * totals, whenever nothing is queued:
 *   sent + duplicated == delivered + dropped_loss + dropped_partition
 *                        + dropped_crash + dropped_queue
 * Failure notices are not messages: they appear only in stream_failed.
 */
typedef struct sim_net_stats {
	uint64_t sent;              /* send calls with valid arguments */
	uint64_t sent_bytes;        /* their payload bytes */
	uint64_t delivered;         /* messages handed out by sim_net_pop */
	uint64_t delivered_bytes;   /* their payload bytes */
	uint64_t duplicated;        /* extra datagram copies made */
	uint64_t dropped_loss;      /* datagrams lost at random */
	uint64_t dropped_partition; /* blocked when sent or on arrival */
	uint64_t dropped_crash;     /* to or from a crashed node */
	uint64_t dropped_queue;     /* queue at queue_max (or out of memory) */
	uint64_t stream_failed;     /* failure notices queued for the sender */
	uint64_t held;              /* arrivals that waited for a resume */
} sim_net_stats_t;

/* A delivered message. bytes belongs to the network, see sim_net_pop. */
typedef struct sim_net_msg {
	uint64_t at_ms; /* delivery time (<= the now_ms given to pop) */
	uint32_t from; /* sender; for a notice, the peer that was not reached */
	uint32_t to;   /* receiver; for a notice, the stream's sender */
	sim_net_kind_t kind;
	const uint8_t *bytes; /* the payload as sent */
	size_t len;
} sim_net_msg_t;

struct sim_net__msg;
struct sim_net__node;

/* Caller-allocated. Fields are private; use the functions below. */
typedef struct sim_net {
	sim_net_cfg_t cfg;
	sh_rand_t *rand; /* borrowed */
	sim_heap_t heap; /* due time, seq -> message slot */
	struct sim_net__msg *msgs;
	uint32_t msgs_len; /* slots ever used */
	uint32_t msgs_cap; /* slots allocated */
	uint32_t free_head;
	uint32_t used; /* queued messages: heap plus inboxes */
	uint32_t cur;  /* slot handed out by the last pop */
	struct sim_net__node *nodes;
	sim_net_stats_t total;
	uint64_t seq_next;
	uint64_t send_ms;   /* latest time a send was made at */
	uint64_t stream_ms; /* latest stream arrival time queued */
	int ring;           /* majorities ring on */
} sim_net_t;

/*
 * sim_net_cfg_default - fill cfg for `nodes` nodes: a reliable LAN with
 * 1 ms minimum and 2 ms mean delay, no loss, duplication or reordering,
 * stream messages after 2 ms, failure notices after 1000 ms, 1 << 20
 * queued messages of up to 64 KiB.
 */
void sim_net_cfg_default(sim_net_cfg_t *cfg, uint32_t nodes);

/*
 * sim_net_init - set up net from cfg (copied), drawing randomness from
 * rand, which the caller seeds and keeps alive until sim_net_free. All
 * nodes start alive, unpartitioned, with empty counters.
 * Returns 0, SH_EINVAL for a bad configuration, or SH_ENOMEM; on error
 * nothing needs freeing.
 */
int sim_net_init(sim_net_t *net, const sim_net_cfg_t *cfg, sh_rand_t *rand);

/* sim_net_free - release everything net owns, queued messages included. */
void sim_net_free(sim_net_t *net);

/*
 * sim_net_set_faults - replace the fault model for later sends (messages
 * already queued keep their times). 0 or SH_EINVAL (net unchanged).
 */
int sim_net_set_faults(sim_net_t *net, const sim_net_faults_t *faults);

/*
 * sim_net_send - send a datagram of len bytes (copied) from `from` to `to`
 * at now_ms. now_ms should not go backwards between sends; if it does, the
 * send is taken to happen at the latest time seen. A lost or blocked
 * datagram is dropped silently (and counted), as on a real network.
 * Returns 0 (queued or dropped), SH_EINVAL for a bad node id or NULL bytes
 * with len > 0, SH_ETOOBIG when len > msg_bytes_max, or SH_ENOMEM when the
 * queue is full (dropped, counted in dropped_queue).
 */
int sim_net_send(sim_net_t *net, uint32_t from, uint32_t to, const void *bytes,
                 size_t len, uint64_t now_ms);

/*
 * sim_net_send_stream - send a stream message; as sim_net_send, except
 * that it is never lost, duplicated or reordered within its (from, to)
 * pair. If it cannot be delivered (partition when sent or on arrival, `to`
 * crashed) the sender gets a SIM_NET_STREAM_FAILED notice with the same
 * bytes, stream_fail_ms later. Nothing is sent or notified when `from` is
 * crashed. Returns as sim_net_send; SH_ENOMEM means neither the message
 * nor a notice could be queued.
 */
int sim_net_send_stream(sim_net_t *net, uint32_t from, uint32_t to,
                        const void *bytes, size_t len, uint64_t now_ms);

/*
 * sim_net_next_time - when the earliest queued message is due, UINT64_MAX
 * when none is. It is a lower bound: a pop at that time may hand out
 * nothing, if the message is dropped on arrival or goes to a paused inbox.
 */
uint64_t sim_net_next_time(const sim_net_t *net);

/*
 * sim_net_pop - hand out the next message due at or before now_ms into
 * *msg, applying partitions and pauses to the messages it passes over.
 * Returns 1 when *msg is filled, 0 when nothing more is due by now_ms.
 * msg->bytes stays valid until the next sim_net_pop, sim_net_release or
 * sim_net_free; other calls (sends included) leave it alone.
 */
int sim_net_pop(sim_net_t *net, uint64_t now_ms, sim_net_msg_t *msg);

/* sim_net_release - give back the last popped message's buffer early. */
void sim_net_release(sim_net_t *net);

/*
 * Partitions. Node a reaches node b when a == b, or when both are in the
 * same group and, if the majorities ring is on, b is among the
 * floor(n/2) + 1 nodes nearest a on the ring 0, 1, ..., n-1, 0 (a itself,
 * floor(n/2 - 1/2) nodes before it and the rest after it). For odd n the
 * ring is symmetric; for even n it has one-way links at the edge of each
 * node's majority (n = 6: a reaches a-1..a+2, so 0 reaches 2 but 2 does
 * not reach 0), as in Jepsen's majorities-ring. Assign node ids at random
 * to get a random ring. Groups and ring combine; heal clears both.
 */

/* sim_net_isolate - cut node off from every other node. 0 or SH_EINVAL. */
int sim_net_isolate(sim_net_t *net, uint32_t node);

/*
 * sim_net_split - put node i in group[i] (nodes entries, each at most
 * SIM_NET_GROUP_MAX); only nodes in one group reach each other. Replaces
 * earlier groups and isolations. 0 or SH_EINVAL (net unchanged).
 */
int sim_net_split(sim_net_t *net, const uint32_t *group);

/* sim_net_ring - turn on the majorities ring described above. */
void sim_net_ring(sim_net_t *net);

/* sim_net_heal - end every partition: one group, ring off. */
void sim_net_heal(sim_net_t *net);

/* sim_net_reachable - whether a message from `from` gets to `to` now. */
int sim_net_reachable(const sim_net_t *net, uint32_t from, uint32_t to);

/*
 * sim_net_pause - stop delivering to an alive node (messages wait in its
 * inbox). 0, or SH_EINVAL when the node is not alive and running.
 */
int sim_net_pause(sim_net_t *net, uint32_t node);

/*
 * sim_net_resume - let a paused node run again; its inbox is queued for
 * delivery at now_ms. 0, SH_EINVAL when the node is not paused.
 */
int sim_net_resume(sim_net_t *net, uint32_t node, uint64_t now_ms);

/*
 * sim_net_crash - crash a node at now_ms (see the top of this file);
 * crashing a crashed node does nothing. 0 or SH_EINVAL.
 */
int sim_net_crash(sim_net_t *net, uint32_t node, uint64_t now_ms);

/* sim_net_restart - bring a crashed node back. 0, SH_EINVAL if not crashed. */
int sim_net_restart(sim_net_t *net, uint32_t node);

/* sim_net_is_paused, sim_net_is_crashed - the node's state (0 or 1). */
int sim_net_is_paused(const sim_net_t *net, uint32_t node);
int sim_net_is_crashed(const sim_net_t *net, uint32_t node);

/* sim_net_queued - messages queued now (in flight, inboxes, notices). */
uint32_t sim_net_queued(const sim_net_t *net);

/*
 * sim_net_stats - counters of one node, or the totals for SIM_NET_ALL.
 * The pointer stays valid until sim_net_free; NULL for a bad node id.
 */
const sim_net_stats_t *sim_net_stats(const sim_net_t *net, uint32_t node);

#endif /* SHOAL_SIM_NET_H */
