/*
 * swim.h - SWIM membership with Lifeguard, as a pure state machine
 * (DESIGN.md section 5, ALGORITHMS.md section 5, issue 3).
 *
 * The core never touches a socket or a clock. The caller feeds it:
 *   swim_recv        a datagram that arrived (from address, bytes),
 *   swim_recv_state  a full-state exchange that arrived over a stream,
 *   swim_tick        the current time, at least at every deadline it asked,
 *   swim_join, swim_leave, swim_set_meta  the node's own decisions,
 * and then pulls the outputs with swim_ready (packets to send, stream
 * exchanges wanted, member events, the next deadline) and acknowledges
 * them with swim_advance. Time is `now_ms`, any monotonic millisecond
 * count; randomness comes from a PRNG seeded from the config, so a run is
 * a function of its inputs.
 *
 * Identity: a member is its name. Addresses are opaque strings
 * ("127.0.0.1:7001") that the caller's transport understands; packets are
 * addressed to them and swim_recv is told where a packet came from.
 *
 * Protocol, in short: every probe interval the node pings the next member
 * of a shuffled round-robin list; without an ack within the probe timeout it
 * asks k others to ping it (ping-req) and relay the ack (or a nack); with no
 * ack by the end of the interval the member becomes suspect. A suspect is
 * declared dead when its suspicion timeout ends, unless it refutes by raising
 * its incarnation. Updates (alive, suspect, dead, left) ride piggybacked on
 * every packet, fewest-sent first, each about
 * retransmit_mult * ceil(log10(n + 1)) times; between probes, updates are
 * also gossiped to gossip_nodes random members every gossip interval.
 * Lifeguard stretches our own timeouts while we look unhealthy, shrinks a
 * suspicion's timeout as independent suspicions of it arrive, and tells the
 * suspect first. A periodic full-state push-pull heals partitions.
 * See docs/swim.md for the choices made where the issue is silent.
 *
 * Wire format (every packet < SWIM_PACKET_MAX bytes):
 *   packet  = version byte (SWIM_WIRE_VERSION) then the msgpack array
 *             [type, seq, sender, target, target_addr, flags, [update...]]
 *             type: 1 ping, 2 ping-req, 3 ack, 4 nack, 5 gossip
 *   update  = [0, name, inc, addr, http_addr, partitions, meta_version]  alive
 *           | [1, name, inc, from]                                    suspect
 *           | [2, name, inc, from]                                       dead
 *           | [3, name, inc]                                             left
 *   state   = version byte then [6, flags, sender, [member...]]  (streams)
 *   member  = [name, inc, state, addr, http_addr, partitions, meta_version]
 * Decoding validates every field and count and never asserts on input.
 */
#ifndef SHOAL_GOSSIP_SWIM_H
#define SHOAL_GOSSIP_SWIM_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "common/sh_rand.h"

#define SWIM_WIRE_VERSION 1
/* Longest member name (same bound as a crdt actor name) and address. */
#define SWIM_NAME_MAX 47
#define SWIM_ADDR_MAX 63
/* Every packet the core emits is strictly shorter than this. */
#define SWIM_PACKET_MAX 1400
/* Most updates one packet may carry, sent or accepted. */
#define SWIM_PIGGYBACK_HARD_MAX 64
/* Most members a full-state message may list. */
#define SWIM_STATE_MEMBERS_MAX 65536
/* Most seed addresses swim_join keeps. */
#define SWIM_SEEDS_MAX 16
/* Largest partition count a member may announce. */
#define SWIM_PARTITIONS_MAX (1u << 20)

typedef enum swim_state {
	SWIM_ALIVE = 0,
	SWIM_SUSPECT = 1,
	SWIM_DEAD = 2,
	SWIM_LEFT = 3,
} swim_state_t;

/* swim_state_name - "alive", "suspect", "dead", "left" (static string). */
const char *swim_state_name(swim_state_t st);

/* A member's metadata; strings are NUL-terminated. */
typedef struct swim_meta {
	char addr[SWIM_ADDR_MAX + 1];      /* internode address (UDP + TCP) */
	char http_addr[SWIM_ADDR_MAX + 1]; /* client API address, may be "" */
	uint32_t partitions;               /* the ring's Q; must equal ours */
	uint64_t version;                  /* raised by each swim_set_meta */
} swim_meta_t;

/*
 * Configuration. Fill with swim_config_default, then set at least name,
 * addr and partitions. Every duration is multiplied by time_scale at init
 * (1.0 = memberlist's LAN profile; 0.01 makes a test run 100x faster).
 */
typedef struct swim_config {
	const char *name;      /* identity, 1..SWIM_NAME_MAX printable bytes */
	const char *addr;      /* our internode address, 1..SWIM_ADDR_MAX */
	const char *http_addr; /* NULL or up to SWIM_ADDR_MAX bytes */
	uint32_t partitions;   /* Q, 1..SWIM_PARTITIONS_MAX */
	uint64_t seed;         /* seeds the PRNG */
	uint64_t incarnation;  /* starting incarnation (0 for a fresh node) */
	double time_scale;     /* > 0, default 1.0 */
	int lifeguard;         /* 1 (default) or 0 for plain SWIM */
	int stream_ping;       /* 1 (default): also ping over a stream */

	uint32_t probe_interval_ms;     /* 1000 */
	uint32_t probe_timeout_ms;      /* 500 */
	uint32_t indirect_checks;       /* k = 3 */
	uint32_t suspicion_mult;        /* 4 (2..9) */
	uint32_t suspicion_max_mult;    /* 6 (>= 1) */
	uint32_t retransmit_mult;       /* 4 */
	uint32_t gossip_interval_ms;    /* 200 */
	uint32_t gossip_nodes;          /* 3 */
	uint32_t gossip_to_dead_ms;     /* 30000: gossip to the newly dead */
	uint32_t push_pull_interval_ms; /* 30000 */
	uint32_t awareness_max;         /* 8: health score 0..8 */
	uint32_t join_backoff_min_ms;   /* 1000: first join retry */
	uint32_t join_backoff_max_ms;   /* 30000: retries back off to this */
	uint32_t dead_reclaim_ms;       /* 600000: forget dead/left members */

	uint32_t members_max;   /* 4096: table bound, self included */
	uint32_t piggyback_max; /* 32: updates per packet (<= HARD_MAX) */
	uint32_t packets_max;   /* 128: packets per output batch */
	uint32_t streams_max;   /* 8: stream exchanges per batch */
	uint32_t events_max;    /* 8192: events per batch */
} swim_config_t;

/* swim_config_default - fill *cfg with the LAN defaults (no name or addr). */
void swim_config_default(swim_config_t *cfg);

/* ---- outputs ---- */

typedef enum swim_event_kind {
	SWIM_EV_UP = 0,      /* member joined, came back, or refuted */
	SWIM_EV_SUSPECT = 1, /* member is suspected (still a member) */
	SWIM_EV_DOWN = 2,    /* member declared dead */
	SWIM_EV_LEFT = 3,    /* member left gracefully */
	SWIM_EV_UPDATED = 4, /* alive member's metadata changed */
	SWIM_EV_REFUSED = 5, /* a would-be member was refused (see reason) */
} swim_event_kind_t;

/* swim_event_kind_name - "up", "suspect", ... (static string). */
const char *swim_event_kind_name(swim_event_kind_t kind);

typedef struct swim_event {
	swim_event_kind_t kind;
	uint64_t incarnation;
	uint64_t at_ms;      /* now_ms of the call that produced it */
	uint32_t partitions; /* REFUSED: the partition count it announced */
	const char *reason;  /* REFUSED: static text; else NULL */
	char name[SWIM_NAME_MAX + 1];
} swim_event_t;

typedef struct swim_packet {
	char to[SWIM_ADDR_MAX + 1];
	const uint8_t *data; /* set by swim_ready */
	size_t len;          /* < SWIM_PACKET_MAX */
	size_t off_;         /* private */
} swim_packet_t;

/*
 * A stream exchange the caller should run (a full state, or a stream
 * ping): open a reliable stream to `to`, send data, read one reply and
 * hand it to swim_recv_state (with reply NULL). A failed stream needs no
 * report: timers retry, probes time out.
 */
typedef struct swim_stream {
	char to[SWIM_ADDR_MAX + 1];
	const uint8_t *data; /* set by swim_ready */
	size_t len;
	size_t off_; /* private */
} swim_stream_t;

/*
 * One batch of outputs. Every pointer stays valid, and the contents
 * unchanged, until the next call of any swim_ function other than
 * swim_ready, the lookups and swim_stats.
 */
typedef struct swim_ready {
	const swim_packet_t *packets;
	size_t packets_len;
	const swim_stream_t *streams;
	size_t streams_len;
	const swim_event_t *events;
	size_t events_len;
	int events_lost;           /* events were dropped: re-read the table */
	int left_done;             /* after swim_leave: our "left" is spread */
	uint64_t next_deadline_ms; /* call swim_tick at or after this time */
} swim_ready_t;

/* Why an input was rejected; stats.rejected[] counts each reason. */
typedef enum swim_reject {
	SWIM_REJECT_EMPTY = 0, /* zero-length input */
	SWIM_REJECT_OVERSIZE,  /* datagram of SWIM_PACKET_MAX bytes or more */
	SWIM_REJECT_VERSION,   /* version byte is not ours */
	SWIM_REJECT_TRUNCATED, /* input ends inside an item */
	SWIM_REJECT_MALFORMED, /* wrong msgpack type, arity or trailing bytes */
	SWIM_REJECT_TYPE,      /* unknown message or update type */
	SWIM_REJECT_NAME, /* name or address empty, too long, unprintable */
	SWIM_REJECT_COUNT_LIMIT,  /* more updates or members than allowed */
	SWIM_REJECT_VALUE,        /* a field out of range (state, partitions) */
	SWIM_REJECT_WRONG_TARGET, /* a ping for another member (address reuse)
	                           */
	SWIM_REJECT__COUNT
} swim_reject_t;

/* swim_reject_name - "truncated", "bad_version", ... (static string). */
const char *swim_reject_name(swim_reject_t r);

typedef struct swim_stats {
	uint64_t packets_sent, bytes_sent;
	uint64_t packets_received, bytes_received;
	uint64_t streams_sent, states_merged;
	uint64_t stream_pings, probes_stream_acked;
	uint64_t probes, probes_acked, probes_indirect_acked, probes_failed;
	uint64_t ping_reqs_sent, nacks_received, relays_dropped;
	uint64_t suspects_raised; /* our own probes that failed into suspect */
	uint64_t deaths_declared; /* our suspicion timeouts that expired */
	uint64_t refutes;         /* times we raised our incarnation */
	uint64_t self_claims;     /* an alive "us" with a higher incarnation */
	uint64_t refused_partitions; /* updates about members with another Q */
	uint64_t refused_full;       /* new members refused: table full */
	uint64_t join_attempts;
	uint64_t stranger_syncs;  /* push-pulls with unknown senders */
	uint64_t updates_applied; /* updates that changed the table */
	uint64_t packets_dropped; /* batch full */
	uint64_t streams_dropped; /* batch full */
	uint64_t events_dropped;  /* batch full */
	uint64_t rejected[SWIM_REJECT__COUNT];
} swim_stats_t;

/* ---- private state (read through the functions below) ---- */

#define SWIM__CONFIRM_MAX   8
#define SWIM__RELAYS_MAX    32
#define SWIM__REFUSED_CACHE 16

typedef struct swim__member {
	char name[SWIM_NAME_MAX + 1];
	swim_meta_t meta;
	uint64_t incarnation;
	uint64_t state_change_ms;
	uint64_t name_hash;
	uint8_t name_len;
	uint8_t state;
	/* Lifeguard suspicion, valid while state == SWIM_SUSPECT */
	uint8_t confirmations; /* independent suspicions beyond the first */
	uint8_t confirm_len;
	uint32_t suspect_pos; /* index in s->suspects */
	uint64_t suspect_start_ms;
	uint64_t confirm_hash[SWIM__CONFIRM_MAX];
	/* the pending broadcast about this member, if bc_pos[idx] >= 0 */
	uint8_t bc_kind;
	uint32_t bc_transmits;
	uint64_t bc_id;
	char bc_from[SWIM_NAME_MAX + 1];
} swim__member_t;

/* A pending broadcast in the heap; the key is copied here for speed. */
typedef struct swim__bc {
	uint32_t idx;       /* member index */
	uint32_t transmits; /* == members[idx].bc_transmits */
	uint64_t id;        /* == members[idx].bc_id */
} swim__bc_t;

typedef struct swim__relay {
	uint32_t seq;        /* our ping to the target */
	uint32_t origin_seq; /* the requester's seq */
	int want_nack;
	uint64_t nack_at_ms;
	char origin[SWIM_ADDR_MAX + 1];
} swim__relay_t;

typedef struct swim__probe {
	int active;
	int acked;
	int indirect_sent;
	uint32_t seq;
	uint32_t nacks_expected, nacks;
	uint64_t start_ms, timeout_ms, end_ms;
	char target[SWIM_NAME_MAX + 1];
} swim__probe_t;

/* Durations after time_scale, in ms (each at least 1). */
typedef struct swim__timing {
	uint64_t probe_interval, probe_timeout, gossip_interval, gossip_to_dead;
	uint64_t push_pull_interval, join_backoff_min, join_backoff_max;
	uint64_t dead_reclaim;
} swim__timing_t;

typedef struct swim {
	swim_config_t cfg; /* copy; its strings are not used after init */
	swim__timing_t t;
	sh_rand_t rand;
	swim_stats_t stats;
	int started, leaving;
	uint32_t seq;
	uint32_t awareness;
	uint64_t bc_next_id;

	/* member table: members[0] is us; index by name hash */
	swim__member_t *members;
	uint32_t members_len, members_cap;
	uint64_t *hashes; /* name hash of each member, by index */
	int32_t *bc_pos;  /* each member's place in heap, -1 if none */
	uint32_t *index;  /* open addressing, UINT32_MAX = empty */
	uint32_t index_cap;
	uint32_t live; /* alive + suspect, us included */

	uint32_t *probe_list, probe_len, probe_pos;
	int probe_dirty;
	uint32_t *suspects, suspects_len;
	swim__bc_t *heap; /* pending broadcasts: fewest sent, newest first */
	uint32_t heap_len;

	swim__probe_t probe;
	swim__relay_t relays[SWIM__RELAYS_MAX];
	uint32_t relays_len;
	uint64_t next_probe_ms, next_gossip_ms, next_push_pull_ms;
	uint64_t next_stranger_sync_ms;

	char seeds[SWIM_SEEDS_MAX][SWIM_ADDR_MAX + 1];
	uint32_t seeds_len;
	uint64_t join_next_ms, join_backoff_ms;

	uint64_t refused[SWIM__REFUSED_CACHE];
	uint32_t refused_pos;

	/* outputs of the current batch */
	swim_packet_t *packets;
	uint32_t packets_len, packets_cap;
	swim_stream_t *streams;
	uint32_t streams_len;
	swim_event_t *events;
	uint32_t events_len, events_cap;
	int events_lost;
	sh_buf_t out_bytes, stream_bytes, scratch;
} swim_t;

/* ---- lifecycle ---- */

/*
 * swim_init - make s a one-member cluster (itself, alive) from cfg, which
 * is copied (its strings are copied too; cfg may go away after the call).
 * Nothing is sent until the first swim_tick or swim_join.
 * Errors: SH_EINVAL for a missing or bad name/address, a partition count
 * out of range or an inconsistent setting; SH_ETOOBIG for strings over
 * their limits; SH_ENOMEM. On error s holds nothing to free.
 */
int swim_init(swim_t *s, const swim_config_t *cfg);

/* swim_free - release everything s owns. s may be re-initialised. */
void swim_free(swim_t *s);

/* ---- inputs ---- */

/*
 * swim_recv - process one datagram of len bytes that arrived from
 * from_addr (NUL-terminated, borrowed for the call). The bytes are only
 * read during the call. Returns 0, or for rejected input a negative code
 * (SH_ETRUNC, SH_EMALFORMED, SH_ETOOBIG, SH_EVERSION, SH_EINVAL) after
 * counting the reason in stats.rejected; rejected input changes nothing
 * else. Never asserts on the bytes.
 */
int swim_recv(swim_t *s, uint64_t now_ms, const char *from_addr,
              const uint8_t *buf, size_t len);

/*
 * swim_recv_state - handle one message that arrived over a stream from
 * from_addr. Two kinds travel on streams:
 *   - a full state (push-pull): every member is merged by the precedence
 *     rule (a member the peer believes dead only becomes suspect here, so
 *     it can refute). If it asks for a reply and reply is not NULL, our
 *     own full state is appended to *reply (caller-owned buffer) to be
 *     sent back on the same stream; a peer whose partition count differs
 *     from ours gets only our own entry, so that it can refuse us.
 *   - a stream ping (the fallback of a probe whose datagrams went
 *     unanswered, as memberlist's TCP ping): its ack is appended to
 *     *reply; the ack, when it comes back, completes the probe.
 * Pass reply NULL for a message that is itself a reply. Errors as
 * swim_recv (a state has no size limit but SWIM_STATE_MEMBERS_MAX
 * members), or SH_ENOMEM while writing the reply; rejected input changes
 * nothing.
 */
int swim_recv_state(swim_t *s, uint64_t now_ms, const char *from_addr,
                    const uint8_t *buf, size_t len, sh_buf_t *reply);

/*
 * swim_tick - run every timer due at now_ms: probes, ping-req, suspicion
 * timeouts, gossip, push-pull, join retries. Call it at or after each
 * next_deadline_ms (late calls are fine; each timer fires at most once).
 */
void swim_tick(swim_t *s, uint64_t now_ms);

/*
 * swim_join - join a cluster through seed addresses (count strings,
 * borrowed for the call; our own address is skipped). Emits a full-state
 * exchange and a join ping to every seed; while no other member is known,
 * the node retries with exponential backoff from join_backoff_min_ms to
 * join_backoff_max_ms, serving meanwhile as a cluster of one. count 0
 * is a cluster of one that never retries. Errors: SH_EINVAL for an empty
 * or overlong address, SH_ETOOBIG for count > SWIM_SEEDS_MAX.
 */
int swim_join(swim_t *s, uint64_t now_ms, const char *const *seeds,
              size_t count);

/*
 * swim_leave - leave gracefully: announce "left" (not a failure) to the
 * cluster, stop probing and joining. Keep feeding the node until
 * ready.left_done, then stop it. Calling it again does nothing.
 */
void swim_leave(swim_t *s, uint64_t now_ms);

/*
 * swim_set_meta - change our HTTP address (NUL-terminated, borrowed);
 * raises our incarnation and metadata version and gossips it; others
 * report SWIM_EV_UPDATED. Errors: SH_ETOOBIG for an overlong address.
 */
int swim_set_meta(swim_t *s, uint64_t now_ms, const char *http_addr);

/* ---- outputs ---- */

/*
 * swim_ready - fill *out with the current batch (see swim_ready_t for
 * lifetimes). Calling it twice without swim_advance gives the same batch.
 */
void swim_ready(swim_t *s, swim_ready_t *out);

/* swim_advance - drop the current batch; its pointers become invalid. */
void swim_advance(swim_t *s);

/* ---- lookups (for the node and the simulator) ---- */

/* A read-only view of one member; pointers valid until the next input. */
typedef struct swim_member_info {
	const char *name;
	const swim_meta_t *meta;
	swim_state_t state;
	uint64_t incarnation;
	uint64_t state_change_ms;
	uint64_t
	    suspect_deadline_ms; /* SUSPECT: when it will be declared dead */
	uint32_t confirmations;  /* SUSPECT: independent confirmations */
	int is_self;
} swim_member_info_t;

/* swim_member_count - members in the table, self and dead included. */
size_t swim_member_count(const swim_t *s);

/* swim_live_count - alive + suspect members, self included. */
size_t swim_live_count(const swim_t *s);

/*
 * swim_member_at - the i-th member (0 <= i < swim_member_count; 0 is us)
 * into *out. Order changes when members are forgotten. SH_ERANGE past end.
 */
int swim_member_at(const swim_t *s, size_t i, swim_member_info_t *out);

/* swim_member_get - the member named name into *out; 0 or SH_ENOTFOUND. */
int swim_member_get(const swim_t *s, const char *name, swim_member_info_t *out);

/* swim_incarnation - our own current incarnation. */
uint64_t swim_incarnation(const swim_t *s);

/* swim_health - our Lifeguard health score, 0 (healthy)..awareness_max. */
uint32_t swim_health(const swim_t *s);

/* swim_stats - counters since init (pointer into s). */
const swim_stats_t *swim_stats(const swim_t *s);

/* swim_probe_interval_ms / swim_probe_timeout_ms - scaled by health + 1. */
uint64_t swim_probe_interval_ms(const swim_t *s);
uint64_t swim_probe_timeout_ms(const swim_t *s);

/*
 * swim_suspicion_timeout_ms - Lifeguard's suspicion timeout after c
 * independent confirmations among n live members:
 *   min = suspicion_mult * max(1, log10(n)) * interval_ms
 *   max = suspicion_max_mult * min
 *   max - (max - min) * log(c + 1) / log(k + 1), k = suspicion_mult - 2,
 * never below min (min at once when k < 1). With lifeguard 0: always min.
 */
uint64_t swim_suspicion_timeout_ms(uint32_t suspicion_mult,
                                   uint32_t suspicion_max_mult,
                                   uint64_t interval_ms, size_t n, uint32_t c,
                                   int lifeguard);

/*
 * swim_overrides - the precedence rule: 1 if an update (new_inc, new_st)
 * replaces what we hold (old_inc, old_st). Higher incarnation wins; at
 * equal incarnation left > dead > suspect > alive (left outranks dead:
 * a member that left must leave the rings of those who declared it dead).
 */
int swim_overrides(uint64_t new_inc, swim_state_t new_st, uint64_t old_inc,
                   swim_state_t old_st);

/* swim_retransmit_limit - retransmit_mult * ceil(log10(n + 1)). */
uint32_t swim_retransmit_limit(uint32_t retransmit_mult, size_t n);

#endif /* SHOAL_GOSSIP_SWIM_H */
