/*
 * swim_members.c - the member table and the precedence rule.
 *
 * members[0] is this node. The table is an array indexed by an open-
 * addressing hash of names (linear probing, backward-shift deletion), so a
 * lookup costs O(1) however large the cluster. Dead and left members stay
 * (so stale rumours cannot resurrect them) until dead_reclaim_ms has passed
 * or the table is full. Removal swaps the last member into the hole and
 * fixes every structure that refers to it by index.
 *
 * swim__apply is the one place updates enter: higher incarnation wins; at
 * equal incarnation dead/left > suspect > alive; only a member raises its
 * own incarnation, which it does here when it hears itself doubted.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "gossip/swim_int.h"

/* FNV-1a, 64-bit. */
uint64_t swim__hash(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint32_t swim__find(const swim_t *s, const void *name, size_t len)
{
	uint64_t h = swim__hash(name, len);
	uint32_t mask = s->index_cap - 1;
	uint32_t i = (uint32_t)h & mask;
	for (uint32_t n = 0; n < s->index_cap; n++, i = (i + 1) & mask) {
		uint32_t idx = s->index[i];
		if (idx == SWIM__NONE)
			return SWIM__NONE;
		if (s->hashes[idx] != h)
			continue;
		const swim__member_t *m = &s->members[idx];
		if (m->name_len == len && memcmp(m->name, name, len) == 0)
			return idx;
	}
	return SWIM__NONE;
}

/* The index slot holding member idx (which must be indexed). */
static uint32_t index_slot(const swim_t *s, uint32_t idx)
{
	uint32_t mask = s->index_cap - 1;
	uint32_t i = (uint32_t)s->hashes[idx] & mask;
	for (uint32_t n = 0; n < s->index_cap; n++, i = (i + 1) & mask)
		if (s->index[i] == idx)
			return i;
	sh_assert(!"member missing from index");
	return 0;
}

static void index_insert(swim_t *s, uint32_t idx)
{
	uint32_t mask = s->index_cap - 1;
	uint32_t i = (uint32_t)s->hashes[idx] & mask;
	for (uint32_t n = 0; n < s->index_cap; n++, i = (i + 1) & mask) {
		if (s->index[i] == SWIM__NONE) {
			s->index[i] = idx;
			return;
		}
	}
	sh_assert(!"member index full");
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void index_delete(swim_t *s, uint32_t slot)
{
	uint32_t mask = s->index_cap - 1;
	uint32_t i = slot;
	uint32_t j = slot;
	for (uint32_t n = 0; n < s->index_cap; n++) {
		j = (j + 1) & mask;
		uint32_t idx = s->index[j];
		if (idx == SWIM__NONE)
			break;
		uint32_t home = (uint32_t)s->hashes[idx] & mask;
		/* The entry may move to i unless its home lies in (i, j]. */
		int stays =
		    i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			s->index[i] = idx;
			i = j;
		}
	}
	s->index[i] = SWIM__NONE;
}

static int grow(void **p, size_t elem, uint32_t cap)
{
	void *q = realloc(*p, elem * cap);
	if (q == NULL)
		return SH_ENOMEM;
	*p = q;
	return SH_OK;
}

int swim__reserve(swim_t *s, uint32_t want)
{
	if (want <= s->members_cap)
		return SH_OK;
	uint32_t cap = s->members_cap ? s->members_cap : 16;
	while (cap < want)
		cap *= 2;
	if (cap > s->cfg.members_max)
		cap = s->cfg.members_max;
	if (cap < want)
		return SH_ETOOBIG;
	if (grow((void **)&s->members, sizeof(*s->members), cap) ||
	    grow((void **)&s->probe_list, sizeof(uint32_t), cap) ||
	    grow((void **)&s->suspects, sizeof(uint32_t), cap) ||
	    grow((void **)&s->heap, sizeof(*s->heap), cap) ||
	    grow((void **)&s->hashes, sizeof(*s->hashes), cap) ||
	    grow((void **)&s->bc_pos, sizeof(*s->bc_pos), cap))
		return SH_ENOMEM;
	s->members_cap = cap;
	return SH_OK;
}

int swim__is_live(const swim__member_t *m)
{
	return m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT;
}

void swim__set_state(swim_t *s, uint32_t idx, uint8_t st, uint64_t now_ms)
{
	swim__member_t *m = &s->members[idx];
	int was_live = swim__is_live(m);
	if (m->state == SWIM_SUSPECT && st != SWIM_SUSPECT)
		swim__suspicion_end(s, idx);
	m->state = st;
	m->state_change_ms = now_ms;
	if (was_live && !swim__is_live(m))
		s->live--;
	else if (!was_live && swim__is_live(m))
		s->live++;
}

void swim__remove(swim_t *s, uint32_t idx)
{
	sh_assert(idx > 0 && idx < s->members_len);
	sh_assert(!swim__is_live(&s->members[idx]));
	swim__bcast_drop(s, idx);
	index_delete(s, index_slot(s, idx));
	uint32_t last = s->members_len - 1;
	if (idx != last) {
		uint32_t slot = index_slot(s, last);
		s->members[idx] = s->members[last];
		s->hashes[idx] = s->hashes[last];
		s->bc_pos[idx] = s->bc_pos[last];
		s->index[slot] = idx;
		swim__member_t *m = &s->members[idx];
		if (s->bc_pos[idx] >= 0)
			swim__heap_moved(s, last, idx);
		if (m->state == SWIM_SUSPECT)
			s->suspects[m->suspect_pos] = idx;
	}
	s->members_len--;
	s->probe_dirty = 1;
}

/* Forgets dead and left members whose time is up. */
void swim__reclaim(swim_t *s, uint64_t now_ms)
{
	for (uint32_t i = s->members_len; i-- > 1;) {
		swim__member_t *m = &s->members[i];
		if (!swim__is_live(m) &&
		    now_ms >= m->state_change_ms + s->t.dead_reclaim)
			swim__remove(s, i);
	}
}

/* Makes room for one more member by forgetting the longest dead one. */
static int evict_one(swim_t *s)
{
	uint32_t best = SWIM__NONE;
	for (uint32_t i = 1; i < s->members_len; i++) {
		const swim__member_t *m = &s->members[i];
		if (swim__is_live(m))
			continue;
		if (best == SWIM__NONE ||
		    m->state_change_ms < s->members[best].state_change_ms)
			best = i;
	}
	if (best == SWIM__NONE)
		return 0;
	swim__remove(s, best);
	return 1;
}

static void set_meta(swim_meta_t *meta, const swim__update_t *u)
{
	swim__str_copy(meta->addr, u->addr);
	swim__str_copy(meta->http_addr, u->http);
	meta->partitions = u->partitions;
	meta->version = u->meta_version;
}

static int meta_differs(const swim_meta_t *meta, const swim__update_t *u)
{
	return !swim__str_eq(u->addr, meta->addr) ||
	       !swim__str_eq(u->http, meta->http_addr) ||
	       meta->version != u->meta_version;
}

uint32_t swim__add(swim_t *s, uint64_t now_ms, const swim__update_t *u)
{
	if (s->members_len >= s->cfg.members_max && !evict_one(s)) {
		s->stats.refused_full++;
		return SWIM__NONE;
	}
	if (swim__reserve(s, s->members_len + 1) != SH_OK) {
		s->stats.refused_full++;
		return SWIM__NONE;
	}
	uint32_t idx = s->members_len++;
	swim__member_t *m = &s->members[idx];
	memset(m, 0, sizeof(*m));
	swim__str_copy(m->name, u->name);
	m->name_len = (uint8_t)u->name.len;
	m->name_hash = swim__hash(m->name, m->name_len);
	s->hashes[idx] = m->name_hash;
	set_meta(&m->meta, u);
	m->incarnation = u->inc;
	m->state = SWIM_DEAD;
	s->bc_pos[idx] = -1;
	index_insert(s, idx);
	swim__set_state(s, idx, SWIM_ALIVE, now_ms);
	swim__probe_list_add(s, idx);
	return idx;
}

void swim__emit(swim_t *s, uint64_t now_ms, swim_event_kind_t kind,
                const char *name, uint64_t inc)
{
	if (s->events_len >= s->events_cap) {
		uint32_t cap = s->events_cap ? s->events_cap * 2 : 64;
		if (cap > s->cfg.events_max)
			cap = s->cfg.events_max;
		if (cap <= s->events_len ||
		    grow((void **)&s->events, sizeof(*s->events), cap)) {
			s->stats.events_dropped++;
			s->events_lost = 1;
			return;
		}
		s->events_cap = cap;
	}
	swim_event_t *e = &s->events[s->events_len++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->incarnation = inc;
	e->at_ms = now_ms;
	strcpy(e->name, name);
}

/* A member announcing another partition count never enters the table. */
static void refuse(swim_t *s, uint64_t now_ms, const swim__update_t *u)
{
	s->stats.refused_partitions++;
	uint64_t h = swim__hash(u->name.p, u->name.len) ^ u->partitions;
	for (uint32_t i = 0; i < SWIM__REFUSED_CACHE; i++)
		if (s->refused[i] == h)
			return; /* reported recently: count only */
	s->refused[s->refused_pos] = h;
	s->refused_pos = (s->refused_pos + 1) % SWIM__REFUSED_CACHE;
	char name[SWIM_NAME_MAX + 1];
	swim__str_copy(name, u->name);
	uint32_t before = s->events_len;
	swim__emit(s, now_ms, SWIM_EV_REFUSED, name, u->inc);
	if (s->events_len > before) {
		swim_event_t *e = &s->events[before];
		e->partitions = u->partitions;
		e->reason = "partition count differs from ours";
	}
}

void swim__refute(swim_t *s, uint64_t now_ms, uint64_t claimed_inc,
                  int health_penalty)
{
	swim__member_t *self = &s->members[0];
	uint64_t inc =
	    claimed_inc > self->incarnation ? claimed_inc : self->incarnation;
	self->incarnation = inc + 1;
	self->state_change_ms = now_ms;
	s->stats.refutes++;
	if (health_penalty)
		swim__awareness_delta(s, 1);
	swim__bcast(s, 0, SWIM_ALIVE, NULL);
}

/* An update about ourselves: refute doubts, never accept them. */
static void apply_self(swim_t *s, uint64_t now_ms, const swim__update_t *u)
{
	const swim__member_t *self = &s->members[0];
	if (s->leaving)
		return;
	if (u->kind == SWIM_ALIVE) {
		if (u->inc > self->incarnation) {
			s->stats.self_claims++;
			swim__refute(s, now_ms, u->inc, 0);
		}
		return;
	}
	if (u->inc >= self->incarnation)
		swim__refute(s, now_ms, u->inc, u->kind != SWIM_LEFT);
}

static const swim_event_kind_t state_event[4] = {SWIM_EV_UP, SWIM_EV_SUSPECT,
                                                 SWIM_EV_DOWN, SWIM_EV_LEFT};

/* Applies an update that overrides what member idx holds. */
static void accept_update(swim_t *s, uint64_t now_ms, uint32_t idx,
                          const swim__update_t *u)
{
	swim__member_t *m = &s->members[idx];
	int was_live = swim__is_live(m);
	int was_alive = m->state == SWIM_ALIVE;
	int meta_changed = 0;
	m->incarnation = u->inc;
	if (u->kind == SWIM_ALIVE) {
		meta_changed = meta_differs(&m->meta, u);
		set_meta(&m->meta, u);
	}
	swim__set_state(s, idx, u->kind, now_ms);
	if (u->kind == SWIM_SUSPECT)
		swim__suspicion_start(s, idx, now_ms, u->from);
	s->stats.updates_applied++;
	char from[SWIM_NAME_MAX + 1];
	swim__str_copy(from, u->from);
	swim__bcast(s, idx, u->kind, from);
	if (u->kind == SWIM_SUSPECT && !was_live)
		swim__emit(s, now_ms, SWIM_EV_UP, m->name, m->incarnation);
	if (u->kind == SWIM_ALIVE && was_alive) {
		if (meta_changed)
			swim__emit(s, now_ms, SWIM_EV_UPDATED, m->name,
			           m->incarnation);
		return;
	}
	swim__emit(s, now_ms, state_event[u->kind], m->name, m->incarnation);
}

void swim__apply(swim_t *s, uint64_t now_ms, const swim__update_t *u)
{
	const swim__member_t *self = &s->members[0];
	if (swim__str_eq(u->name, self->name)) {
		apply_self(s, now_ms, u);
		return;
	}
	if (u->kind == SWIM_ALIVE && u->partitions != self->meta.partitions) {
		refuse(s, now_ms, u);
		return;
	}
	uint32_t idx = swim__find(s, u->name.p, u->name.len);
	if (idx == SWIM__NONE) {
		if (u->kind != SWIM_ALIVE)
			return; /* no metadata to add it with */
		idx = swim__add(s, now_ms, u);
		if (idx == SWIM__NONE)
			return;
		s->stats.updates_applied++;
		swim__bcast(s, idx, SWIM_ALIVE, NULL);
		swim__emit(s, now_ms, SWIM_EV_UP, s->members[idx].name, u->inc);
		return;
	}
	swim__member_t *m = &s->members[idx];
	if (swim_overrides(u->inc, u->kind, m->incarnation, m->state)) {
		accept_update(s, now_ms, idx, u);
		return;
	}
	/* Lifeguard: the same suspicion from someone else confirms it. */
	if (u->kind == SWIM_SUSPECT && m->state == SWIM_SUSPECT &&
	    u->inc == m->incarnation &&
	    swim__suspicion_confirm(s, idx, u->from)) {
		char from[SWIM_NAME_MAX + 1];
		swim__str_copy(from, u->from);
		swim__bcast(s, idx, SWIM_SUSPECT, from);
	}
}

int swim_overrides(uint64_t new_inc, swim_state_t new_st, uint64_t old_inc,
                   swim_state_t old_st)
{
	/* left outranks dead: only the member itself says "left", and members
	 * that missed its leave declare it dead at the same incarnation; if
	 * dead held, their rings would keep a departed owner for good. */
	static const int rank[4] = {0, 1, 2, 3};
	if (new_inc != old_inc)
		return new_inc > old_inc;
	return rank[new_st & 3] > rank[old_st & 3];
}

/* ---- lookups ---- */

static void fill_info(const swim_t *s, uint32_t i, swim_member_info_t *out)
{
	const swim__member_t *m = &s->members[i];
	out->name = m->name;
	out->meta = &m->meta;
	out->state = (swim_state_t)m->state;
	out->incarnation = m->incarnation;
	out->state_change_ms = m->state_change_ms;
	out->suspect_deadline_ms = 0;
	out->confirmations = 0;
	if (m->state == SWIM_SUSPECT) {
		out->suspect_deadline_ms = swim__suspicion_deadline(s, m);
		out->confirmations = m->confirmations;
	}
	out->is_self = i == 0;
}

size_t swim_member_count(const swim_t *s)
{
	return s->members_len;
}

size_t swim_live_count(const swim_t *s)
{
	return s->live;
}

int swim_member_at(const swim_t *s, size_t i, swim_member_info_t *out)
{
	if (i >= s->members_len)
		return SH_ERANGE;
	fill_info(s, (uint32_t)i, out);
	return SH_OK;
}

int swim_member_get(const swim_t *s, const char *name, swim_member_info_t *out)
{
	uint32_t idx = swim__find(s, name, strlen(name));
	if (idx == SWIM__NONE)
		return SH_ENOTFOUND;
	fill_info(s, idx, out);
	return SH_OK;
}
