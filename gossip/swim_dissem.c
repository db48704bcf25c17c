/*
 * swim_dissem.c - dissemination: the queue of updates waiting to be
 * piggybacked, and the assembly of every outgoing packet.
 *
 * Each member holds at most one pending update (a newer one about the same
 * member replaces it). Pending updates sit in a binary heap ordered by
 * (times sent ascending, age newest-first), so a packet takes the updates
 * sent the fewest times, newest first, while they fit under
 * SWIM_PACKET_MAX and piggyback_max. An update is dropped after
 * retransmit_mult * ceil(log10(n + 1)) sends, n the members in the table
 * (dead ones included, as memberlist counts them).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "gossip/swim_int.h"

uint32_t swim_retransmit_limit(uint32_t retransmit_mult, size_t n)
{
	uint32_t digits = (uint32_t)ceil(log10((double)n + 1.0));
	if (digits < 1)
		digits = 1;
	return retransmit_mult * digits;
}

static int before(const swim__bc_t *a, const swim__bc_t *b)
{
	if (a->transmits != b->transmits)
		return a->transmits < b->transmits;
	return a->id > b->id;
}

static void heap_set(swim_t *s, uint32_t pos, swim__bc_t e)
{
	s->heap[pos] = e;
	s->bc_pos[e.idx] = (int32_t)pos;
}

static void sift_up(swim_t *s, uint32_t pos)
{
	swim__bc_t e = s->heap[pos];
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!before(&e, &s->heap[parent]))
			break;
		heap_set(s, pos, s->heap[parent]);
		pos = parent;
	}
	heap_set(s, pos, e);
}

static void sift_down(swim_t *s, uint32_t pos)
{
	swim__bc_t e = s->heap[pos];
	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= s->heap_len)
			break;
		if (child + 1 < s->heap_len &&
		    before(&s->heap[child + 1], &s->heap[child]))
			child++;
		if (!before(&s->heap[child], &e))
			break;
		heap_set(s, pos, s->heap[child]);
		pos = child;
	}
	heap_set(s, pos, e);
}

static void heap_push(swim_t *s, uint32_t idx)
{
	const swim__member_t *m = &s->members[idx];
	sh_assert(s->heap_len < s->members_cap);
	s->heap[s->heap_len].idx = idx;
	s->heap[s->heap_len].transmits = m->bc_transmits;
	s->heap[s->heap_len].id = m->bc_id;
	s->heap_len++;
	sift_up(s, s->heap_len - 1);
}

static void heap_remove(swim_t *s, uint32_t pos)
{
	uint32_t idx = s->heap[pos].idx;
	swim__bc_t last = s->heap[--s->heap_len];
	s->bc_pos[idx] = -1;
	if (pos == s->heap_len)
		return;
	heap_set(s, pos, last);
	sift_down(s, pos);
	sift_up(s, (uint32_t)s->bc_pos[last.idx]);
}

void swim__bcast(swim_t *s, uint32_t idx, uint8_t kind, const char *from)
{
	swim__member_t *m = &s->members[idx];
	m->bc_kind = kind;
	m->bc_transmits = 0;
	m->bc_id = s->bc_next_id++;
	if (from != NULL)
		strcpy(m->bc_from, from);
	else
		m->bc_from[0] = '\0';
	int32_t pos = s->bc_pos[idx];
	if (pos >= 0) {
		s->heap[pos].transmits = 0;
		s->heap[pos].id = m->bc_id;
		sift_up(s, (uint32_t)pos);
		return;
	}
	heap_push(s, idx);
}

void swim__bcast_drop(swim_t *s, uint32_t idx)
{
	if (s->bc_pos[idx] >= 0)
		heap_remove(s, (uint32_t)s->bc_pos[idx]);
}

void swim__heap_moved(swim_t *s, uint32_t from_idx, uint32_t to_idx)
{
	(void)from_idx;
	s->heap[s->bc_pos[to_idx]].idx = to_idx;
}

/* Appends one update to scratch if it fits in *budget bytes. */
static int add_entry(swim_t *s, const swim__member_t *m, uint8_t kind,
                     const char *from, size_t *budget)
{
	size_t prev = s->scratch.len;
	if (swim__encode_update(&s->scratch, m, kind, from) != SH_OK ||
	    s->scratch.len - prev > *budget) {
		s->scratch.len = prev;
		return 0;
	}
	*budget -= s->scratch.len - prev;
	return 1;
}

/*
 * Takes the best pending updates into scratch; returns how many. Updates
 * that did not fit go back unchanged; sent ones count a transmission.
 */
static uint32_t take_updates(swim_t *s, uint32_t count, uint32_t skip_idx,
                             size_t budget)
{
	uint32_t popped[2 * SWIM_PIGGYBACK_HARD_MAX];
	uint8_t sent[2 * SWIM_PIGGYBACK_HARD_MAX];
	uint32_t npopped = 0;
	uint32_t max = s->cfg.piggyback_max;
	while (count < max && s->heap_len > 0 &&
	       npopped < 2 * SWIM_PIGGYBACK_HARD_MAX) {
		uint32_t idx = s->heap[0].idx;
		heap_remove(s, 0);
		popped[npopped] = idx;
		const swim__member_t *m = &s->members[idx];
		sent[npopped] =
		    idx != skip_idx &&
		    add_entry(s, m, m->bc_kind, m->bc_from, &budget);
		count += sent[npopped++];
	}
	uint32_t limit =
	    swim_retransmit_limit(s->cfg.retransmit_mult, s->members_len);
	for (uint32_t i = 0; i < npopped; i++) {
		swim__member_t *m = &s->members[popped[i]];
		if (sent[i] && ++m->bc_transmits >= limit)
			continue; /* spread enough: drop it */
		heap_push(s, popped[i]);
	}
	return count;
}

static int push_packet(swim_t *s, const char *to, size_t off)
{
	if (s->packets_len >= s->packets_cap) {
		uint32_t cap = s->packets_cap ? s->packets_cap * 2 : 16;
		if (cap > s->cfg.packets_max)
			cap = s->cfg.packets_max;
		swim_packet_t *p = NULL;
		if (cap > s->packets_len)
			p = realloc(s->packets, cap * sizeof(*p));
		if (p == NULL) {
			s->stats.packets_dropped++;
			s->out_bytes.len = off;
			return SH_ETOOBIG;
		}
		s->packets = p;
		s->packets_cap = cap;
	}
	swim_packet_t *p = &s->packets[s->packets_len++];
	snprintf(p->to, sizeof(p->to), "%s", to);
	p->off_ = off;
	p->len = s->out_bytes.len - off;
	p->data = NULL;
	s->stats.packets_sent++;
	s->stats.bytes_sent += p->len;
	return SH_OK;
}

int swim__send(swim_t *s, const char *to, uint8_t type, uint32_t seq,
               const char *target, const char *target_addr, uint64_t flags,
               uint32_t first_idx, int need_updates)
{
	size_t off = s->out_bytes.len;
	int rc =
	    swim__encode_header(&s->out_bytes, type, seq, s->members[0].name,
	                        target, target_addr, flags);
	if (rc != SH_OK) {
		s->out_bytes.len = off;
		return rc;
	}
	size_t used = s->out_bytes.len - off;
	sh_assert(used + 3 < SWIM_PACKET_MAX);
	size_t budget = SWIM_PACKET_MAX - 1 - used - 3;
	uint32_t count = 0;
	sh_buf_reset(&s->scratch);
	if (first_idx != SWIM__NONE) {
		const swim__member_t *m = &s->members[first_idx];
		count += add_entry(s, m, m->state, s->members[0].name, &budget);
	}
	count = take_updates(s, count, first_idx, budget);
	if (count == 0 && need_updates) {
		s->out_bytes.len = off;
		return SH_OK;
	}
	uint8_t hdr[3] = {(uint8_t)(0x90 | count), 0, 0};
	size_t hdr_len = 1;
	if (count > 15) {
		hdr[0] = 0xdc;
		hdr[1] = (uint8_t)(count >> 8);
		hdr[2] = (uint8_t)count;
		hdr_len = 3;
	}
	if (sh_buf_append(&s->out_bytes, hdr, hdr_len) != SH_OK ||
	    (s->scratch.len > 0 && sh_buf_append(&s->out_bytes, s->scratch.data,
	                                         s->scratch.len) != SH_OK)) {
		s->out_bytes.len = off;
		return SH_ENOMEM;
	}
	sh_assert(s->out_bytes.len - off < SWIM_PACKET_MAX);
	return push_packet(s, to, off);
}
