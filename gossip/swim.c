/*
 * swim.c - the SWIM state machine's lifecycle and timers: init, tick
 * (probes, suspicion timeouts, gossip, push-pull, join retries), join,
 * leave, received packets and states, and the pull interface (swim_ready,
 * swim_advance). The protocol and wire format are described in swim.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "gossip/swim_int.h"

void swim_config_default(swim_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->partitions = 64;
	cfg->time_scale = 1.0;
	cfg->lifeguard = 1;
	cfg->stream_ping = 1;
	cfg->probe_interval_ms = 1000;
	cfg->probe_timeout_ms = 500;
	cfg->indirect_checks = 3;
	cfg->suspicion_mult = 4;
	cfg->suspicion_max_mult = 6;
	cfg->retransmit_mult = 4;
	cfg->gossip_interval_ms = 200;
	cfg->gossip_nodes = 3;
	cfg->gossip_to_dead_ms = 30000;
	cfg->push_pull_interval_ms = 30000;
	cfg->awareness_max = 8;
	cfg->join_backoff_min_ms = 1000;
	cfg->join_backoff_max_ms = 30000;
	cfg->dead_reclaim_ms = 600000;
	cfg->members_max = 4096;
	cfg->piggyback_max = 32;
	cfg->packets_max = 128;
	cfg->streams_max = 8;
	cfg->events_max = 8192;
}

/* Printable ASCII without spaces, min..max bytes. */
static int valid_cstr(const char *v, size_t min, size_t max)
{
	if (v == NULL)
		return min == 0;
	size_t n = strnlen(v, max + 1);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)v[i] < 0x21 || (uint8_t)v[i] > 0x7e)
			return 0;
	return 1;
}

static int check_config(const swim_config_t *c)
{
	if (!valid_cstr(c->name, 1, SWIM_NAME_MAX) ||
	    !valid_cstr(c->addr, 1, SWIM_ADDR_MAX) ||
	    !valid_cstr(c->http_addr, 0, SWIM_ADDR_MAX))
		return SH_EINVAL;
	if (c->partitions == 0 || c->partitions > SWIM_PARTITIONS_MAX ||
	    !(c->time_scale > 0.0) || c->probe_interval_ms == 0 ||
	    c->probe_timeout_ms == 0 ||
	    c->probe_timeout_ms > c->probe_interval_ms ||
	    c->indirect_checks > 16 || c->suspicion_mult < 2 ||
	    c->suspicion_mult > SWIM__CONFIRM_MAX + 1 ||
	    c->suspicion_max_mult < 1 || c->retransmit_mult < 1 ||
	    c->gossip_interval_ms == 0 || c->gossip_nodes > 16 ||
	    c->push_pull_interval_ms == 0 || c->awareness_max > 64 ||
	    c->join_backoff_min_ms == 0 ||
	    c->join_backoff_max_ms < c->join_backoff_min_ms ||
	    c->members_max < 1 || c->members_max > (1u << 20) ||
	    c->piggyback_max < 1 ||
	    c->piggyback_max > SWIM_PIGGYBACK_HARD_MAX || c->packets_max < 8 ||
	    c->streams_max < 1 || c->events_max < 1)
		return SH_EINVAL;
	return SH_OK;
}

static uint64_t scaled(const swim_config_t *c, uint32_t ms)
{
	double v = (double)ms * c->time_scale;
	return v < 1.0 ? 1 : (uint64_t)v;
}

static void set_timing(swim_t *s)
{
	const swim_config_t *c = &s->cfg;
	s->t.probe_interval = scaled(c, c->probe_interval_ms);
	s->t.probe_timeout = scaled(c, c->probe_timeout_ms);
	s->t.gossip_interval = scaled(c, c->gossip_interval_ms);
	s->t.gossip_to_dead = scaled(c, c->gossip_to_dead_ms);
	s->t.push_pull_interval = scaled(c, c->push_pull_interval_ms);
	s->t.join_backoff_min = scaled(c, c->join_backoff_min_ms);
	s->t.join_backoff_max = scaled(c, c->join_backoff_max_ms);
	s->t.dead_reclaim = scaled(c, c->dead_reclaim_ms);
}

static int add_self(swim_t *s, const swim_config_t *cfg)
{
	swim__update_t u;
	memset(&u, 0, sizeof(u));
	u.kind = SWIM_ALIVE;
	u.name.p = (const uint8_t *)cfg->name;
	u.name.len = strlen(cfg->name);
	u.addr.p = (const uint8_t *)cfg->addr;
	u.addr.len = strlen(cfg->addr);
	u.http.p = (const uint8_t *)(cfg->http_addr ? cfg->http_addr : "");
	u.http.len = strlen((const char *)u.http.p);
	u.partitions = cfg->partitions;
	u.inc = cfg->incarnation;
	s->probe_dirty = 1; /* we never probe ourselves */
	if (swim__add(s, 0, &u) != 0)
		return SH_ENOMEM;
	swim__bcast(s, 0, SWIM_ALIVE, NULL);
	return SH_OK;
}

int swim_init(swim_t *s, const swim_config_t *cfg)
{
	memset(s, 0, sizeof(*s));
	int rc = check_config(cfg);
	if (rc != SH_OK)
		return rc;
	s->cfg = *cfg;
	s->cfg.name = s->cfg.addr = s->cfg.http_addr = NULL;
	set_timing(s);
	sh_rand_seed(&s->rand, cfg->seed);
	s->index_cap = 16;
	while (s->index_cap < 2 * cfg->members_max)
		s->index_cap *= 2;
	s->index = malloc(s->index_cap * sizeof(*s->index));
	s->streams = calloc(cfg->streams_max, sizeof(*s->streams));
	if (s->index == NULL || s->streams == NULL) {
		swim_free(s);
		return SH_ENOMEM;
	}
	memset(s->index, 0xff, s->index_cap * sizeof(*s->index));
	rc = swim__reserve(s, 16 < cfg->members_max ? 16 : cfg->members_max);
	if (rc == SH_OK)
		rc = add_self(s, cfg);
	if (rc != SH_OK) {
		swim_free(s);
		return rc;
	}
	s->join_backoff_ms = s->t.join_backoff_min;
	return SH_OK;
}

void swim_free(swim_t *s)
{
	free(s->members);
	free(s->hashes);
	free(s->bc_pos);
	free(s->index);
	free(s->probe_list);
	free(s->suspects);
	free(s->heap);
	free(s->packets);
	free(s->streams);
	free(s->events);
	sh_buf_free(&s->out_bytes);
	sh_buf_free(&s->stream_bytes);
	sh_buf_free(&s->scratch);
	memset(s, 0, sizeof(*s));
}

/* Timers start at the first call that tells us the time, with jitter. */
void swim__start(swim_t *s, uint64_t now_ms)
{
	if (s->started)
		return;
	s->started = 1;
	s->next_probe_ms =
	    now_ms + sh_rand_below(&s->rand, s->t.probe_interval);
	s->next_gossip_ms =
	    now_ms + sh_rand_below(&s->rand, s->t.gossip_interval);
	s->next_push_pull_ms = now_ms + s->t.push_pull_interval / 2 +
	                       sh_rand_below(&s->rand, s->t.push_pull_interval);
	s->join_next_ms = now_ms;
}

int swim__stream(swim_t *s, const char *to, uint64_t flags)
{
	if (s->streams_len >= s->cfg.streams_max) {
		s->stats.streams_dropped++;
		return SH_ETOOBIG;
	}
	size_t off = s->stream_bytes.len;
	int rc = swim__encode_state(s, &s->stream_bytes, flags, 0);
	if (rc != SH_OK) {
		s->stream_bytes.len = off;
		return rc;
	}
	swim_stream_t *st = &s->streams[s->streams_len++];
	snprintf(st->to, sizeof(st->to), "%s", to);
	st->off_ = off;
	st->len = s->stream_bytes.len - off;
	st->data = NULL;
	s->stats.streams_sent++;
	return SH_OK;
}

static void gossip_tick(swim_t *s, uint64_t now_ms)
{
	uint32_t picked[16];
	if (now_ms < s->next_gossip_ms)
		return;
	s->next_gossip_ms = now_ms + s->t.gossip_interval;
	if (s->heap_len == 0)
		return;
	uint32_t n = swim__pick(s, picked, s->cfg.gossip_nodes, SWIM__NONE,
	                        now_ms, SWIM__PICK_GOSSIP);
	for (uint32_t i = 0; i < n; i++)
		swim__send(s, s->members[picked[i]].meta.addr, SWIM__GOSSIP, 0,
		           "", "", 0, SWIM__NONE, 1);
}

static void push_pull_tick(swim_t *s, uint64_t now_ms)
{
	uint32_t peer;
	if (s->leaving || now_ms < s->next_push_pull_ms)
		return;
	s->next_push_pull_ms = now_ms + s->t.push_pull_interval;
	if (swim__pick(s, &peer, 1, SWIM__NONE, now_ms, SWIM__PICK_SYNC) == 1)
		swim__stream(s, s->members[peer].meta.addr, SWIM__FLAG_REPLY);
}

/* Asks every seed for its state, and pings it so UDP alone also works. */
static void join_attempt(swim_t *s)
{
	s->stats.join_attempts++;
	for (uint32_t i = 0; i < s->seeds_len; i++) {
		swim__stream(s, s->seeds[i],
		             SWIM__FLAG_REPLY | SWIM__FLAG_JOIN);
		swim__send(s, s->seeds[i], SWIM__PING, ++s->seq, "", "", 0, 0,
		           0);
	}
}

static void join_tick(swim_t *s, uint64_t now_ms)
{
	if (s->leaving || s->seeds_len == 0)
		return;
	if (s->live > 1) {
		s->join_backoff_ms = s->t.join_backoff_min;
		return;
	}
	if (now_ms < s->join_next_ms)
		return;
	join_attempt(s);
	s->join_next_ms = now_ms + s->join_backoff_ms;
	s->join_backoff_ms *= 2;
	if (s->join_backoff_ms > s->t.join_backoff_max)
		s->join_backoff_ms = s->t.join_backoff_max;
}

void swim_tick(swim_t *s, uint64_t now_ms)
{
	swim__start(s, now_ms);
	swim__relay_tick(s, now_ms);
	swim__suspicion_tick(s, now_ms);
	swim__probe_tick(s, now_ms);
	gossip_tick(s, now_ms);
	push_pull_tick(s, now_ms);
	join_tick(s, now_ms);
}

int swim_join(swim_t *s, uint64_t now_ms, const char *const *seeds,
              size_t count)
{
	if (count > SWIM_SEEDS_MAX)
		return SH_ETOOBIG;
	for (size_t i = 0; i < count; i++)
		if (!valid_cstr(seeds[i], 1, SWIM_ADDR_MAX))
			return SH_EINVAL;
	swim__start(s, now_ms);
	s->seeds_len = 0;
	for (size_t i = 0; i < count; i++)
		if (strcmp(seeds[i], s->members[0].meta.addr) != 0)
			strcpy(s->seeds[s->seeds_len++], seeds[i]);
	s->join_backoff_ms = s->t.join_backoff_min;
	if (s->seeds_len == 0 || s->leaving)
		return SH_OK;
	/* An explicit join always asks the seeds, even if we know others. */
	join_attempt(s);
	s->join_next_ms = now_ms + s->join_backoff_ms;
	s->join_backoff_ms = 2 * s->join_backoff_ms < s->t.join_backoff_max
	                         ? 2 * s->join_backoff_ms
	                         : s->t.join_backoff_max;
	return SH_OK;
}

void swim_leave(swim_t *s, uint64_t now_ms)
{
	uint32_t picked[16];
	if (s->leaving)
		return;
	swim__start(s, now_ms);
	s->leaving = 1;
	s->probe.active = 0;
	swim__set_state(s, 0, SWIM_LEFT, now_ms);
	swim__bcast(s, 0, SWIM_LEFT, NULL);
	uint32_t n = swim__pick(s, picked, s->cfg.gossip_nodes, SWIM__NONE,
	                        now_ms, SWIM__PICK_LIVE);
	for (uint32_t i = 0; i < n; i++)
		swim__send(s, s->members[picked[i]].meta.addr, SWIM__GOSSIP, 0,
		           "", "", 0, SWIM__NONE, 1);
}

int swim_set_meta(swim_t *s, uint64_t now_ms, const char *http_addr)
{
	if (http_addr == NULL)
		http_addr = "";
	if (!valid_cstr(http_addr, 0, SWIM_ADDR_MAX))
		return strlen(http_addr) > SWIM_ADDR_MAX ? SH_ETOOBIG
		                                         : SH_EINVAL;
	swim__start(s, now_ms);
	swim__member_t *self = &s->members[0];
	strcpy(self->meta.http_addr, http_addr);
	self->meta.version++;
	self->incarnation++;
	if (!s->leaving)
		swim__bcast(s, 0, SWIM_ALIVE, NULL);
	return SH_OK;
}

/*
 * A packet from a member we do not know means gossip missed it (or it
 * missed us): exchange full state with it rather than wait for the next
 * push-pull. At most once per probe interval, so it costs nothing steady.
 */
static void stranger_sync(swim_t *s, uint64_t now_ms, const char *from_addr,
                          const swim__msg_t *msg)
{
	if (s->leaving || now_ms < s->next_stranger_sync_ms ||
	    swim__find(s, msg->sender.p, msg->sender.len) != SWIM__NONE)
		return;
	s->next_stranger_sync_ms = now_ms + s->t.probe_interval;
	s->stats.stranger_syncs++;
	swim__stream(s, from_addr, SWIM__FLAG_REPLY);
}

int swim_recv(swim_t *s, uint64_t now_ms, const char *from_addr,
              const uint8_t *buf, size_t len)
{
	swim__msg_t msg;
	swim_reject_t why = SWIM_REJECT_MALFORMED;
	sh_assert(from_addr != NULL && (buf != NULL || len == 0));
	swim__start(s, now_ms);
	int rc = swim__decode_packet(buf, len, &msg, &why);
	if (rc != SH_OK) {
		s->stats.rejected[why]++;
		return rc;
	}
	s->stats.packets_received++;
	s->stats.bytes_received += len;
	for (uint32_t i = 0; i < msg.updates_len; i++)
		swim__apply(s, now_ms, &msg.updates[i]);
	swim__handle_msg(s, now_ms, from_addr, &msg);
	stranger_sync(s, now_ms, from_addr, &msg);
	return SH_OK;
}

/* Validates a whole state message; *sender_refused if its Q differs. */
static int state_check(swim_t *s, sh_mp_reader_t *r,
                       const swim__state_hdr_t *hdr, int *sender_refused,
                       swim_reject_t *why)
{
	swim__update_t u;
	*sender_refused = 0;
	for (uint32_t i = 0; i < hdr->count; i++) {
		int rc = swim__state_member(r, &u, why);
		if (rc != SH_OK)
			return rc;
		if (u.name.len == hdr->sender.len &&
		    memcmp(u.name.p, hdr->sender.p, u.name.len) == 0 &&
		    u.partitions != s->members[0].meta.partitions)
			*sender_refused = 1;
	}
	if (sh_mp_reader_left(r) != 0) {
		*why = SWIM_REJECT_MALFORMED;
		return swim__reject_code(*why);
	}
	return SH_OK;
}

/* Merges one member of a state message (already validated). */
static void state_merge(swim_t *s, uint64_t now_ms, swim__update_t *u,
                        swim__str_t sender)
{
	if (u->kind == SWIM_DEAD)
		u->kind = SWIM_SUSPECT; /* let it refute before we agree */
	if (u->kind == SWIM_SUSPECT) {
		u->from = sender;
		if (swim__find(s, u->name.p, u->name.len) == SWIM__NONE) {
			swim__update_t alive = *u;
			alive.kind = SWIM_ALIVE;
			swim__apply(s, now_ms, &alive);
		}
	}
	swim__apply(s, now_ms, u);
}

static int recv_state(swim_t *s, uint64_t now_ms, const uint8_t *buf,
                      size_t len, sh_buf_t *reply);

/* A ping or ack that came over a stream (the probe's fallback). */
static int recv_stream_packet(swim_t *s, const uint8_t *buf, size_t len,
                              sh_buf_t *reply)
{
	swim__msg_t msg;
	swim_reject_t why = SWIM_REJECT_MALFORMED;
	int rc = swim__decode_packet(buf, len, &msg, &why);
	if (rc == SH_OK && msg.type != SWIM__PING && msg.type != SWIM__ACK) {
		why = SWIM_REJECT_TYPE;
		rc = swim__reject_code(why);
	}
	if (rc != SH_OK) {
		s->stats.rejected[why]++;
		return rc;
	}
	if (msg.type == SWIM__ACK) {
		swim__probe_t *p = &s->probe;
		if (p->active && msg.seq == p->seq) {
			p->active = 0;
			s->stats.probes_stream_acked++;
		}
		return SH_OK;
	}
	if (!swim__str_eq(msg.target, s->members[0].name)) {
		s->stats.rejected[SWIM_REJECT_WRONG_TARGET]++;
		return SH_OK;
	}
	if (reply == NULL)
		return SH_OK;
	rc = swim__encode_header(reply, SWIM__ACK, msg.seq, s->members[0].name,
	                         "", "", 0);
	return rc == SH_OK ? sh_buf_append_u8(reply, 0x90) : rc;
}

int swim__stream_ping(swim_t *s, const char *to, uint32_t seq,
                      const char *target)
{
	if (s->streams_len >= s->cfg.streams_max) {
		s->stats.streams_dropped++;
		return SH_ETOOBIG;
	}
	size_t off = s->stream_bytes.len;
	int rc = swim__encode_header(&s->stream_bytes, SWIM__PING, seq,
	                             s->members[0].name, target, "", 0);
	if (rc == SH_OK)
		rc = sh_buf_append_u8(&s->stream_bytes, 0x90);
	if (rc != SH_OK) {
		s->stream_bytes.len = off;
		return rc;
	}
	swim_stream_t *st = &s->streams[s->streams_len++];
	snprintf(st->to, sizeof(st->to), "%s", to);
	st->off_ = off;
	st->len = s->stream_bytes.len - off;
	st->data = NULL;
	s->stats.stream_pings++;
	return SH_OK;
}

int swim_recv_state(swim_t *s, uint64_t now_ms, const char *from_addr,
                    const uint8_t *buf, size_t len, sh_buf_t *reply)
{
	(void)from_addr;
	swim__start(s, now_ms);
	/* A packet is an array of 7 after the version byte; a state of 4. */
	if (len >= 2 && buf[1] == 0x97)
		return recv_stream_packet(s, buf, len, reply);
	return recv_state(s, now_ms, buf, len, reply);
}

static int recv_state(swim_t *s, uint64_t now_ms, const uint8_t *buf,
                      size_t len, sh_buf_t *reply)
{
	sh_mp_reader_t r;
	swim__state_hdr_t hdr;
	swim__update_t u;
	swim_reject_t why = SWIM_REJECT_MALFORMED;
	int refused = 0;
	int rc = swim__state_begin(&r, buf, len, &hdr, &why);
	sh_mp_reader_t again = r;
	if (rc == SH_OK)
		rc = state_check(s, &r, &hdr, &refused, &why);
	if (rc != SH_OK) {
		s->stats.rejected[why]++;
		return rc;
	}
	for (uint32_t i = 0; i < hdr.count; i++) {
		rc = swim__state_member(&again, &u, &why);
		sh_assert(rc == SH_OK);
		state_merge(s, now_ms, &u, hdr.sender);
	}
	s->stats.states_merged++;
	if ((hdr.flags & SWIM__FLAG_REPLY) && reply != NULL)
		return swim__encode_state(s, reply, 0, refused);
	return SH_OK;
}

static uint64_t next_deadline(const swim_t *s)
{
	if (!s->started)
		return 0;
	uint64_t d = swim__probe_deadline(s);
	uint64_t r = swim__relay_deadline(s);
	if (r < d)
		d = r;
	for (uint32_t i = 0; i < s->suspects_len; i++) {
		uint64_t t =
		    swim__suspicion_deadline(s, &s->members[s->suspects[i]]);
		if (t < d)
			d = t;
	}
	if (s->heap_len > 0 && s->next_gossip_ms < d)
		d = s->next_gossip_ms;
	if (!s->leaving && s->members_len > 1 && s->next_push_pull_ms < d)
		d = s->next_push_pull_ms;
	if (!s->leaving && s->seeds_len > 0 && s->live <= 1 &&
	    s->join_next_ms < d)
		d = s->join_next_ms;
	return d;
}

void swim_ready(swim_t *s, swim_ready_t *out)
{
	for (uint32_t i = 0; i < s->packets_len; i++)
		s->packets[i].data = s->out_bytes.data + s->packets[i].off_;
	for (uint32_t i = 0; i < s->streams_len; i++)
		s->streams[i].data = s->stream_bytes.data + s->streams[i].off_;
	out->packets = s->packets;
	out->packets_len = s->packets_len;
	out->streams = s->streams;
	out->streams_len = s->streams_len;
	out->events = s->events;
	out->events_len = s->events_len;
	out->events_lost = s->events_lost;
	out->left_done = s->leaving && (s->bc_pos[0] < 0 || s->live == 0);
	out->next_deadline_ms = next_deadline(s);
}

void swim_advance(swim_t *s)
{
	s->packets_len = 0;
	s->streams_len = 0;
	s->events_len = 0;
	s->events_lost = 0;
	sh_buf_reset(&s->out_bytes);
	sh_buf_reset(&s->stream_bytes);
}

uint64_t swim_incarnation(const swim_t *s)
{
	return s->members[0].incarnation;
}

const swim_stats_t *swim_stats(const swim_t *s)
{
	return &s->stats;
}

const char *swim_state_name(swim_state_t st)
{
	static const char *const names[] = {"alive", "suspect", "dead", "left"};
	return (unsigned)st < 4 ? names[st] : "unknown";
}

const char *swim_event_kind_name(swim_event_kind_t kind)
{
	static const char *const names[] = {"up",   "suspect", "down",
	                                    "left", "updated", "refused"};
	return (unsigned)kind < 6 ? names[kind] : "unknown";
}

const char *swim_reject_name(swim_reject_t r)
{
	static const char *const names[] = {
	    "empty",     "oversize",     "bad_version", "truncated",
	    "malformed", "unknown_type", "bad_name",    "count_limit",
	    "bad_value", "wrong_target"};
	return (unsigned)r < SWIM_REJECT__COUNT ? names[r] : "unknown";
}
