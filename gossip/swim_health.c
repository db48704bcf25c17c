/*
 * swim_health.c - Lifeguard (ALGORITHMS.md section 5): the local health
 * score that stretches our own probe timeouts while we look unhealthy, and
 * dynamic suspicion timeouts that start long and shrink as independent
 * confirmations of a suspicion arrive. With cfg.lifeguard 0 the score stays
 * 0 and every suspicion lasts the minimum timeout (plain SWIM).
 */
#include <math.h>

#include "common/sh_assert.h"
#include "gossip/swim_int.h"

void swim__awareness_delta(swim_t *s, int delta)
{
	if (!s->cfg.lifeguard)
		return;
	int64_t v = (int64_t)s->awareness + delta;
	if (v < 0)
		v = 0;
	if (v > (int64_t)s->cfg.awareness_max)
		v = s->cfg.awareness_max;
	s->awareness = (uint32_t)v;
}

uint64_t swim__scale(const swim_t *s, uint64_t ms)
{
	return ms * (s->awareness + 1);
}

uint32_t swim_health(const swim_t *s)
{
	return s->awareness;
}

uint64_t swim_probe_interval_ms(const swim_t *s)
{
	return swim__scale(s, s->t.probe_interval);
}

uint64_t swim_probe_timeout_ms(const swim_t *s)
{
	return swim__scale(s, s->t.probe_timeout);
}

uint64_t swim_suspicion_timeout_ms(uint32_t suspicion_mult,
                                   uint32_t suspicion_max_mult,
                                   uint64_t interval_ms, size_t n, uint32_t c,
                                   int lifeguard)
{
	double nodes_scale = n > 1 ? log10((double)n) : 0.0;
	if (nodes_scale < 1.0)
		nodes_scale = 1.0;
	double min = (double)suspicion_mult * nodes_scale * (double)interval_ms;
	int k = (int)suspicion_mult - 2;
	if (!lifeguard || k < 1)
		return (uint64_t)min;
	double max = (double)suspicion_max_mult * min;
	double t = max - (max - min) * log((double)c + 1.0) / log(k + 1.0);
	if (t < min)
		t = min;
	return (uint64_t)floor(t);
}

uint64_t swim__suspicion_deadline(const swim_t *s, const swim__member_t *m)
{
	return m->suspect_start_ms +
	       swim_suspicion_timeout_ms(s->cfg.suspicion_mult,
	                                 s->cfg.suspicion_max_mult,
	                                 s->t.probe_interval, s->live,
	                                 m->confirmations, s->cfg.lifeguard);
}

static int in_suspects(const swim_t *s, uint32_t idx)
{
	const swim__member_t *m = &s->members[idx];
	return m->suspect_pos < s->suspects_len &&
	       s->suspects[m->suspect_pos] == idx;
}

void swim__suspicion_start(swim_t *s, uint32_t idx, uint64_t now_ms,
                           swim__str_t from)
{
	swim__member_t *m = &s->members[idx];
	sh_assert(m->state == SWIM_SUSPECT);
	m->suspect_start_ms = now_ms;
	m->confirmations = 0;
	m->confirm_len = 1;
	m->confirm_hash[0] = swim__hash(from.p, from.len);
	if (!in_suspects(s, idx)) {
		sh_assert(s->suspects_len < s->members_cap);
		m->suspect_pos = s->suspects_len;
		s->suspects[s->suspects_len++] = idx;
	}
}

int swim__suspicion_confirm(swim_t *s, uint32_t idx, swim__str_t from)
{
	swim__member_t *m = &s->members[idx];
	int k = (int)s->cfg.suspicion_mult - 2;
	if (!s->cfg.lifeguard || k < 1 || m->confirmations >= k)
		return 0;
	uint64_t h = swim__hash(from.p, from.len);
	for (uint32_t i = 0; i < m->confirm_len; i++)
		if (m->confirm_hash[i] == h)
			return 0;
	if (m->confirm_len < SWIM__CONFIRM_MAX)
		m->confirm_hash[m->confirm_len++] = h;
	m->confirmations++;
	return 1;
}

void swim__suspicion_end(swim_t *s, uint32_t idx)
{
	if (!in_suspects(s, idx))
		return;
	uint32_t pos = s->members[idx].suspect_pos;
	uint32_t last = s->suspects[--s->suspects_len];
	s->suspects[pos] = last;
	s->members[last].suspect_pos = pos;
}

/* Declares dead every suspect whose timeout has run out. */
void swim__suspicion_tick(swim_t *s, uint64_t now_ms)
{
	uint32_t i = 0;
	uint32_t bound = s->suspects_len;
	for (uint32_t n = 0; n < bound && i < s->suspects_len; n++) {
		uint32_t idx = s->suspects[i];
		swim__member_t *m = &s->members[idx];
		if (now_ms < swim__suspicion_deadline(s, m)) {
			i++;
			continue;
		}
		/* set_state swaps the last suspect into slot i */
		swim__set_state(s, idx, SWIM_DEAD, now_ms);
		s->stats.deaths_declared++;
		swim__bcast(s, idx, SWIM_DEAD, s->members[0].name);
		swim__emit(s, now_ms, SWIM_EV_DOWN, m->name, m->incarnation);
	}
}
