/*
 * swim_int.h - declarations shared by the files of gossip/ (not public).
 *
 *   swim.c          lifecycle, tick, join/leave, gossip, push-pull, outputs
 *   swim_probe.c    probes, ping-req relays, handling of received messages
 *   swim_members.c  member table, precedence rule, events, refutation
 *   swim_dissem.c   piggyback queue and packet assembly
 *   swim_codec.c    wire format (described in swim.h)
 *   swim_health.c   Lifeguard: health score and suspicion timeouts
 */
#ifndef SHOAL_GOSSIP_SWIM_INT_H
#define SHOAL_GOSSIP_SWIM_INT_H

#include "gossip/swim.h"

#include "common/sh_mp.h"

/* Message types on the wire. */
enum {
	SWIM__PING = 1,
	SWIM__PING_REQ = 2,
	SWIM__ACK = 3,
	SWIM__NACK = 4,
	SWIM__GOSSIP = 5,
	SWIM__STATE = 6,
};

/* Flags: ping-req wants a nack; a state message wants a reply. */
#define SWIM__FLAG_NACK  1u
#define SWIM__FLAG_REPLY 1u
#define SWIM__FLAG_JOIN  2u
#define SWIM__FLAGS_ALL  3u

#define SWIM__NONE UINT32_MAX

/* A string inside received bytes (not NUL-terminated). */
typedef struct swim__str {
	const uint8_t *p;
	size_t len;
} swim__str_t;

/* One decoded update (kind is a swim_state_t) or state-sync member. */
typedef struct swim__update {
	uint8_t kind;
	swim__str_t name, from, addr, http;
	uint64_t inc, meta_version;
	uint32_t partitions;
} swim__update_t;

typedef struct swim__msg {
	uint8_t type;
	uint32_t seq;
	uint64_t flags;
	swim__str_t sender, target, target_addr;
	uint32_t updates_len;
	swim__update_t updates[SWIM_PIGGYBACK_HARD_MAX];
} swim__msg_t;

/* Header of a state message; members follow in the reader. */
typedef struct swim__state_hdr {
	uint64_t flags;
	swim__str_t sender;
	uint32_t count;
} swim__state_hdr_t;

/* ---- swim_codec.c ---- */
int swim__reject_code(swim_reject_t why);
int swim__decode_packet(const uint8_t *buf, size_t len, swim__msg_t *msg,
                        swim_reject_t *why);
int swim__encode_header(sh_buf_t *b, uint8_t type, uint32_t seq,
                        const char *sender, const char *target,
                        const char *target_addr, uint64_t flags);
int swim__encode_update(sh_buf_t *b, const swim__member_t *m, uint8_t kind,
                        const char *from);
int swim__encode_state(const swim_t *s, sh_buf_t *b, uint64_t flags,
                       int self_only);
int swim__state_begin(sh_mp_reader_t *r, const uint8_t *buf, size_t len,
                      swim__state_hdr_t *hdr, swim_reject_t *why);
int swim__state_member(sh_mp_reader_t *r, swim__update_t *u,
                       swim_reject_t *why);
int swim__str_eq(swim__str_t a, const char *b);
void swim__str_copy(char *dst, swim__str_t src);

/* ---- swim_members.c ---- */
uint64_t swim__hash(const void *p, size_t len);
uint32_t swim__find(const swim_t *s, const void *name, size_t len);
int swim__reserve(swim_t *s, uint32_t want);
uint32_t swim__add(swim_t *s, uint64_t now_ms, const swim__update_t *u);
void swim__remove(swim_t *s, uint32_t idx);
void swim__reclaim(swim_t *s, uint64_t now_ms);
int swim__is_live(const swim__member_t *m);
void swim__set_state(swim_t *s, uint32_t idx, uint8_t st, uint64_t now_ms);
void swim__emit(swim_t *s, uint64_t now_ms, swim_event_kind_t kind,
                const char *name, uint64_t inc);
void swim__apply(swim_t *s, uint64_t now_ms, const swim__update_t *u);
void swim__refute(swim_t *s, uint64_t now_ms, uint64_t claimed_inc,
                  int health_penalty);

/* ---- swim_dissem.c ---- */
void swim__bcast(swim_t *s, uint32_t idx, uint8_t kind, const char *from);
void swim__bcast_drop(swim_t *s, uint32_t idx);
void swim__heap_moved(swim_t *s, uint32_t from_idx, uint32_t to_idx);
int swim__send(swim_t *s, const char *to, uint8_t type, uint32_t seq,
               const char *target, const char *target_addr, uint64_t flags,
               uint32_t first_idx, int need_updates);

/* ---- swim_health.c ---- */
void swim__awareness_delta(swim_t *s, int delta);
uint64_t swim__scale(const swim_t *s, uint64_t ms);
void swim__suspicion_start(swim_t *s, uint32_t idx, uint64_t now_ms,
                           swim__str_t from);
int swim__suspicion_confirm(swim_t *s, uint32_t idx, swim__str_t from);
void swim__suspicion_end(swim_t *s, uint32_t idx);
uint64_t swim__suspicion_deadline(const swim_t *s, const swim__member_t *m);
void swim__suspicion_tick(swim_t *s, uint64_t now_ms);

/* ---- swim_probe.c ---- */
void swim__probe_tick(swim_t *s, uint64_t now_ms);
void swim__relay_tick(swim_t *s, uint64_t now_ms);
uint64_t swim__probe_deadline(const swim_t *s);
uint64_t swim__relay_deadline(const swim_t *s);
void swim__probe_list_add(swim_t *s, uint32_t idx);
void swim__handle_msg(swim_t *s, uint64_t now_ms, const char *from_addr,
                      const swim__msg_t *msg);
uint32_t swim__pick(swim_t *s, uint32_t *out, uint32_t k, uint32_t exclude,
                    uint64_t now_ms, int mode);

/* swim__pick modes */
#define SWIM__PICK_LIVE   0 /* alive or suspect */
#define SWIM__PICK_GOSSIP 1 /* live, or dead less than gossip_to_dead ago */
#define SWIM__PICK_SYNC   2 /* anything but left (reconnects to the dead) */

/* ---- swim.c ---- */
void swim__start(swim_t *s, uint64_t now_ms);
int swim__stream(swim_t *s, const char *to, uint64_t flags);
int swim__stream_ping(swim_t *s, const char *to, uint32_t seq,
                      const char *target);

#endif /* SHOAL_GOSSIP_SWIM_INT_H */
