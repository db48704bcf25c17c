/*
 * swim_probe.c - failure detection: the probe round, ping-req through k
 * relays (with Lifeguard nacks), relaying for others, and the handling of
 * every received packet type (ALGORITHMS.md section 5).
 *
 * One probe runs at a time. It starts at next_probe_ms with a ping to the
 * next member of a shuffled round-robin list; if no ack has come by
 * start + probe timeout it sends ping-req to k random members; if no ack
 * (direct or relayed) has come by start + probe interval, the member
 * becomes suspect. Both durations are scaled by our health score + 1.
 */
#include <stdio.h>
#include <string.h>

#include "common/sh_assert.h"
#include "gossip/swim_int.h"

void swim__probe_list_add(swim_t *s, uint32_t idx)
{
	if (s->probe_dirty || s->probe_len >= s->members_cap)
		return;
	/* A new member goes to a random place among those not yet probed. */
	s->probe_list[s->probe_len++] = idx;
	uint32_t span = s->probe_len - s->probe_pos;
	uint32_t j = s->probe_pos + (uint32_t)sh_rand_below(&s->rand, span);
	s->probe_list[s->probe_len - 1] = s->probe_list[j];
	s->probe_list[j] = idx;
}

/* Forgets expired dead members, then shuffles the live ones anew. */
static void probe_rebuild(swim_t *s, uint64_t now_ms)
{
	swim__reclaim(s, now_ms);
	s->probe_dirty = 0;
	s->probe_len = 0;
	s->probe_pos = 0;
	for (uint32_t i = 1; i < s->members_len; i++)
		if (swim__is_live(&s->members[i]))
			s->probe_list[s->probe_len++] = i;
	for (uint32_t i = s->probe_len; i > 1; i--) {
		uint32_t j = (uint32_t)sh_rand_below(&s->rand, i);
		uint32_t t = s->probe_list[i - 1];
		s->probe_list[i - 1] = s->probe_list[j];
		s->probe_list[j] = t;
	}
}

static uint32_t next_target(swim_t *s, uint64_t now_ms)
{
	uint32_t bound = s->probe_len + 2;
	for (uint32_t n = 0; n < bound; n++) {
		if (s->probe_dirty || s->probe_pos >= s->probe_len) {
			probe_rebuild(s, now_ms);
			if (s->probe_len == 0)
				return SWIM__NONE;
		}
		uint32_t idx = s->probe_list[s->probe_pos++];
		if (idx > 0 && idx < s->members_len &&
		    swim__is_live(&s->members[idx]))
			return idx;
	}
	return SWIM__NONE;
}

static int pick_ok(const swim_t *s, uint32_t i, uint64_t now_ms, int mode)
{
	const swim__member_t *m = &s->members[i];
	if (swim__is_live(m))
		return 1;
	if (mode == SWIM__PICK_SYNC)
		return m->state == SWIM_DEAD;
	if (mode == SWIM__PICK_GOSSIP)
		return m->state == SWIM_DEAD &&
		       now_ms < m->state_change_ms + s->t.gossip_to_dead;
	return 0;
}

uint32_t swim__pick(swim_t *s, uint32_t *out, uint32_t k, uint32_t exclude,
                    uint64_t now_ms, int mode)
{
	uint32_t got = 0;
	if (s->members_len <= 64) {
		/* Small table: choose among all eligible members. */
		uint32_t all[64];
		uint32_t n = 0;
		for (uint32_t i = 1; i < s->members_len; i++)
			if (i != exclude && pick_ok(s, i, now_ms, mode))
				all[n++] = i;
		for (; got < k && n > 0; got++) {
			uint32_t j = (uint32_t)sh_rand_below(&s->rand, n);
			out[got] = all[j];
			all[j] = all[--n];
		}
		return got;
	}
	/* Large table: sample, with a bounded number of attempts. */
	uint32_t attempts = 8 * k + 16;
	for (uint32_t a = 0; a < attempts && got < k; a++) {
		uint32_t i =
		    1 + (uint32_t)sh_rand_below(&s->rand, s->members_len - 1);
		if (i == exclude || !pick_ok(s, i, now_ms, mode))
			continue;
		uint32_t j = 0;
		while (j < got && out[j] != i)
			j++;
		if (j == got)
			out[got++] = i;
	}
	return got;
}

/* Lifeguard's buddy system: a ping to a suspect carries its suspicion. */
static uint32_t buddy(const swim_t *s, uint32_t idx)
{
	if (idx == SWIM__NONE || !s->cfg.lifeguard ||
	    s->members[idx].state != SWIM_SUSPECT)
		return SWIM__NONE;
	return idx;
}

static void start_probe(swim_t *s, uint64_t now_ms)
{
	s->next_probe_ms = now_ms + swim_probe_interval_ms(s);
	uint32_t idx = next_target(s, now_ms);
	if (idx == SWIM__NONE)
		return;
	swim__probe_t *p = &s->probe;
	const swim__member_t *m = &s->members[idx];
	memset(p, 0, sizeof(*p));
	p->active = 1;
	p->seq = ++s->seq;
	p->start_ms = now_ms;
	p->timeout_ms = now_ms + swim_probe_timeout_ms(s);
	p->end_ms = s->next_probe_ms;
	strcpy(p->target, m->name);
	s->stats.probes++;
	swim__send(s, m->meta.addr, SWIM__PING, p->seq, m->name, "", 0,
	           buddy(s, idx), 0);
}

static void send_indirect(swim_t *s, uint64_t now_ms)
{
	swim__probe_t *p = &s->probe;
	uint32_t k = s->cfg.indirect_checks;
	uint32_t picked[16];
	p->indirect_sent = 1;
	uint32_t idx = swim__find(s, p->target, strlen(p->target));
	if (idx == SWIM__NONE || k == 0)
		return;
	uint64_t flags = s->cfg.lifeguard ? SWIM__FLAG_NACK : 0;
	uint32_t n = swim__pick(s, picked, k, idx, now_ms, SWIM__PICK_LIVE);
	for (uint32_t i = 0; i < n; i++) {
		const swim__member_t *m = &s->members[picked[i]];
		swim__send(s, m->meta.addr, SWIM__PING_REQ, p->seq, p->target,
		           s->members[idx].meta.addr, flags, SWIM__NONE, 0);
	}
	s->stats.ping_reqs_sent += n;
	p->nacks_expected = s->cfg.lifeguard ? n : 0;
	/* As memberlist: a stream ping too, so that datagram loss alone
	   does not make a suspect. */
	if (s->cfg.stream_ping)
		swim__stream_ping(s, s->members[idx].meta.addr, p->seq,
		                  p->target);
}

/* The probe interval ended without an ack: suspect the target. */
static void fail_probe(swim_t *s, uint64_t now_ms)
{
	swim__probe_t *p = &s->probe;
	p->active = 0;
	s->stats.probes_failed++;
	/* Missing nacks mean our own network is the likely culprit. */
	if (p->nacks_expected > 0) {
		if (p->nacks < p->nacks_expected)
			swim__awareness_delta(
			    s, (int)(p->nacks_expected - p->nacks));
	} else {
		swim__awareness_delta(s, 1);
	}
	uint32_t idx = swim__find(s, p->target, strlen(p->target));
	if (idx == SWIM__NONE || !swim__is_live(&s->members[idx]))
		return;
	const swim__member_t *m = &s->members[idx];
	const swim__member_t *self = &s->members[0];
	swim__update_t u;
	memset(&u, 0, sizeof(u));
	u.kind = SWIM_SUSPECT;
	u.name.p = (const uint8_t *)m->name;
	u.name.len = m->name_len;
	u.inc = m->incarnation;
	u.from.p = (const uint8_t *)self->name;
	u.from.len = self->name_len;
	if (m->state == SWIM_ALIVE)
		s->stats.suspects_raised++;
	swim__apply(s, now_ms, &u);
}

void swim__probe_tick(swim_t *s, uint64_t now_ms)
{
	swim__probe_t *p = &s->probe;
	if (s->leaving) {
		p->active = 0;
		return;
	}
	if (p->active) {
		if (!p->indirect_sent && now_ms >= p->timeout_ms)
			send_indirect(s, now_ms);
		if (now_ms < p->end_ms)
			return;
		fail_probe(s, now_ms);
	}
	if (now_ms >= s->next_probe_ms)
		start_probe(s, now_ms);
}

uint64_t swim__probe_deadline(const swim_t *s)
{
	if (s->leaving)
		return UINT64_MAX;
	const swim__probe_t *p = &s->probe;
	uint64_t d = s->next_probe_ms;
	if (p->active && !p->indirect_sent && p->timeout_ms < d)
		d = p->timeout_ms;
	if (p->active && p->end_ms < d)
		d = p->end_ms;
	return d;
}

/* ---- relaying for others ---- */

static void relay_remove(swim_t *s, uint32_t i)
{
	s->relays[i] = s->relays[--s->relays_len];
}

void swim__relay_tick(swim_t *s, uint64_t now_ms)
{
	uint32_t i = 0;
	for (uint32_t n = 0; n < SWIM__RELAYS_MAX && i < s->relays_len; n++) {
		swim__relay_t *r = &s->relays[i];
		if (now_ms < r->nack_at_ms) {
			i++;
			continue;
		}
		if (r->want_nack)
			swim__send(s, r->origin, SWIM__NACK, r->origin_seq, "",
			           "", 0, SWIM__NONE, 0);
		relay_remove(s, i);
	}
}

uint64_t swim__relay_deadline(const swim_t *s)
{
	uint64_t d = UINT64_MAX;
	for (uint32_t i = 0; i < s->relays_len; i++)
		if (s->relays[i].nack_at_ms < d)
			d = s->relays[i].nack_at_ms;
	return d;
}

static void relay_start(swim_t *s, uint64_t now_ms, const char *origin,
                        const swim__msg_t *msg)
{
	if (s->relays_len >= SWIM__RELAYS_MAX) {
		s->stats.relays_dropped++;
		return;
	}
	swim__relay_t *r = &s->relays[s->relays_len++];
	r->seq = ++s->seq;
	r->origin_seq = msg->seq;
	r->want_nack = (msg->flags & SWIM__FLAG_NACK) != 0;
	/* Nack before the requester's interval ends, so it counts. */
	r->nack_at_ms = now_ms + swim_probe_timeout_ms(s) * 4 / 5;
	snprintf(r->origin, sizeof(r->origin), "%s", origin);
	char target[SWIM_NAME_MAX + 1];
	char addr[SWIM_ADDR_MAX + 1];
	swim__str_copy(target, msg->target);
	swim__str_copy(addr, msg->target_addr);
	uint32_t idx = swim__find(s, target, msg->target.len);
	swim__send(s, addr, SWIM__PING, r->seq, target, "", 0, buddy(s, idx),
	           0);
}

static void on_ack(swim_t *s, const swim__msg_t *msg)
{
	swim__probe_t *p = &s->probe;
	if (p->active && msg->seq == p->seq) {
		p->active = 0;
		if (!p->indirect_sent) {
			s->stats.probes_acked++;
			swim__awareness_delta(s, -1);
		} else {
			s->stats.probes_indirect_acked++;
		}
		return;
	}
	for (uint32_t i = 0; i < s->relays_len; i++) {
		swim__relay_t *r = &s->relays[i];
		if (r->seq != msg->seq)
			continue;
		swim__send(s, r->origin, SWIM__ACK, r->origin_seq, "", "", 0,
		           SWIM__NONE, 0);
		relay_remove(s, i);
		return;
	}
}

void swim__handle_msg(swim_t *s, uint64_t now_ms, const char *from_addr,
                      const swim__msg_t *msg)
{
	switch (msg->type) {
	case SWIM__PING:
		if (msg->target.len > 0 &&
		    !swim__str_eq(msg->target, s->members[0].name)) {
			s->stats.rejected[SWIM_REJECT_WRONG_TARGET]++;
			return;
		}
		/* A join ping (no target) learns who we are from the ack. */
		swim__send(s, from_addr, SWIM__ACK, msg->seq, "", "", 0,
		           msg->target.len == 0 ? 0 : SWIM__NONE, 0);
		return;
	case SWIM__PING_REQ: relay_start(s, now_ms, from_addr, msg); return;
	case SWIM__ACK: on_ack(s, msg); return;
	case SWIM__NACK:
		if (s->probe.active && msg->seq == s->probe.seq &&
		    s->probe.nacks < s->probe.nacks_expected) {
			s->probe.nacks++;
			s->stats.nacks_received++;
		}
		return;
	default: return; /* gossip: its updates are all it carries */
	}
}
