/*
 * fuzz_journal.c - libFuzzer target for the journal's replay
 * (node/store_journal.c), which parses the bytes of DATA/journal: torn,
 * stale or garbage after a crash. Format: store_journal.h.
 *
 * Input: mode (1 byte), sel (1 byte), then the journal file itself, padded
 * with zeros to STORE_JOURNAL_BYTES_MIN (a missing mode or sel is 0).
 *   mode bit 0   before writing the file, rewrite every record's checksum
 *                (headers walked from offset 0 as the format says, up to
 *                the first length that runs past the end), so most inputs
 *                get past it to the mutation parser;
 *   mode bit 1   the second replay's after_seq is the first record's seq
 *                plus sel as a signed byte (else sel itself);
 *   mode bits 4-7  if not 0, the callback fails (SH_EBUSY) on that call.
 * The file goes to a temporary file under /tmp (removed after), opened with
 * store_journal_open at max(file, minimum) bytes and replayed from
 * after_seq 0, then from the chosen after_seq, then again from the first
 * replay's last_seq.
 *
 * Properties: replay never crashes or reads out of bounds; every mutation
 * handed over is well formed (op, space, lengths within limits, pointers
 * set) and is byte for byte the one at its place in the file; records
 * replayed have a right checksum, follow one another (seq +1, the first
 * after_seq + 1) and are handed whole (the record's count of mutations,
 * ending exactly at its payload's end); last_seq is the last record seen
 * whole; SH_EIO comes before any mutation; an error of the callback stops
 * the replay with that code; replaying from last_seq hands over nothing.
 * Nothing depends on timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/sh_err.h"
#include "fuzz_util.h"
#include "node/store_journal.h"

#define HDR STORE_JOURNAL_HDR_BYTES

/* A record's place in the file, as the headers say (not checked). */
typedef struct rec_at {
	uint64_t off, seq, plen;
	uint32_t count;
} rec_at_t;

/* What the callback checks against: the file and its records. */
typedef struct replay_state {
	const uint8_t *file;
	size_t size;
	const rec_at_t *recs;
	size_t nrecs;
	uint64_t after_seq;
	unsigned fail_at; /* fail on this call (1-based); 0: never */
	unsigned calls;
	int in_rec;         /* a record is being handed over */
	uint64_t seq;       /* its seq */
	const rec_at_t *at; /* its place */
	uint64_t cursor;    /* where its next mutation starts in the file */
	uint32_t seen;      /* its mutations handed so far */
} replay_state_t;

static uint64_t le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Walk the headers from offset 0; with fix, rewrite each checksum. recs
 * has room for size / HDR records: each takes more than HDR bytes. */
static size_t walk_records(uint8_t *file, size_t size, int fix, rec_at_t *recs)
{
	size_t n = 0;
	uint64_t off = 0;
	while (size - off >= HDR) {
		uint8_t *h = file + off;
		uint64_t plen = le(h + 16, 4);
		if (plen > size - off - HDR)
			break;
		if (fix) {
			uint64_t sum = XXH3_64bits(h + 8, HDR - 8 + plen);
			for (int i = 0; i < 8; i++)
				h[i] = (uint8_t)(sum >> (8 * i));
		}
		recs[n].off = off;
		recs[n].seq = le(h + 8, 8);
		recs[n].plen = plen;
		recs[n].count = (uint32_t)le(h + 20, 4);
		n++;
		off += HDR + plen;
	}
	return n;
}

/* The record being handed over is complete. */
static void check_rec_done(const replay_state_t *st)
{
	FUZZ_CHECK(st->seen == st->at->count);
	FUZZ_CHECK(st->cursor == st->at->off + HDR + st->at->plen);
}

/* A new record starts with seq: it follows, and its checksum is right. */
static void start_rec(replay_state_t *st, uint64_t seq)
{
	if (st->in_rec) {
		check_rec_done(st);
		FUZZ_CHECK(seq == st->seq + 1);
	} else {
		FUZZ_CHECK(seq == st->after_seq + 1);
	}
	/* records run from offset 0 with seqs +1: its index follows */
	FUZZ_CHECK(st->nrecs > 0);
	uint64_t i = seq - st->recs[0].seq;
	FUZZ_CHECK(i < st->nrecs);
	const rec_at_t *r = &st->recs[i];
	const uint8_t *h = st->file + r->off;
	FUZZ_CHECK(r->seq == seq);
	FUZZ_CHECK(XXH3_64bits(h + 8, HDR - 8 + r->plen) == le(h, 8));
	st->in_rec = 1;
	st->seq = seq;
	st->at = r;
	st->cursor = r->off + HDR;
	st->seen = 0;
}

/* m is well formed on its own. */
static void check_mut_form(const journal_mut_t *m)
{
	FUZZ_CHECK(m->op >= JOURNAL_PUT && m->op <= JOURNAL_DEL_PREFIX);
	FUZZ_CHECK((unsigned)m->space < STORE_SPACES);
	FUZZ_CHECK(m->key_len <= STORE_RAW_KEY_BYTES_MAX);
	FUZZ_CHECK(m->key_len > 0 || m->op == JOURNAL_DEL_PREFIX);
	FUZZ_CHECK(m->key != NULL || m->key_len == 0);
	if (m->op == JOURNAL_PUT) { /* val and limit of others: unspecified */
		FUZZ_CHECK(m->val != NULL);
		FUZZ_CHECK(m->val_len <= STORE_VALUE_BYTES_MAX);
	}
}

/* m is the mutation at the cursor, inside its record; move past it. */
static void check_mut_bytes(replay_state_t *st, const journal_mut_t *m)
{
	uint64_t end = st->at->off + HDR + st->at->plen;
	uint64_t need = 4 + m->key_len +
	                (m->op == JOURNAL_PUT          ? 4 + m->val_len
	                 : m->op == JOURNAL_DEL_PREFIX ? 8
	                                               : 0);
	FUZZ_CHECK(st->cursor <= end && need <= end - st->cursor);
	const uint8_t *p = st->file + st->cursor;
	FUZZ_CHECK(p[0] == m->op && p[1] == m->space);
	FUZZ_CHECK(le(p + 2, 2) == m->key_len);
	FUZZ_CHECK(m->key_len == 0 || memcmp(p + 4, m->key, m->key_len) == 0);
	p += 4 + m->key_len;
	if (m->op == JOURNAL_PUT) {
		FUZZ_CHECK(le(p, 4) == m->val_len);
		FUZZ_CHECK(m->val_len == 0 ||
		           memcmp(p + 4, m->val, m->val_len) == 0);
	} else if (m->op == JOURNAL_DEL_PREFIX) {
		FUZZ_CHECK(le(p, 8) == m->limit);
	}
	st->cursor += need;
	st->seen++;
}

static int on_mut(void *arg, uint64_t seq, const journal_mut_t *m)
{
	replay_state_t *st = arg;
	FUZZ_CHECK(m != NULL);
	st->calls++;
	if (!st->in_rec || seq != st->seq)
		start_rec(st, seq);
	check_mut_form(m);
	check_mut_bytes(st, m);
	return st->calls == st->fail_at ? SH_EBUSY : 0;
}

/* One replay from after_seq with every property checked; its last_seq. */
static uint64_t replay(store_journal_t *j, replay_state_t *st,
                       uint64_t after_seq, unsigned *calls)
{
	uint64_t last = 0x5a5a5a5a5a5a5a5aull; /* must be overwritten */
	st->after_seq = after_seq;
	st->calls = 0;
	st->in_rec = 0;
	uint64_t tail0 = j->tail, next0 = j->next_seq;
	int rc = store_journal_replay(j, after_seq, on_mut, st, &last);
	FUZZ_CHECK(j->tail == tail0 && j->next_seq == next0);
	*calls = st->calls;
	if (st->fail_at != 0 && st->calls == st->fail_at) {
		FUZZ_CHECK(rc == SH_EBUSY);
		FUZZ_CHECK(last == st->seq - 1); /* the record before it */
		return last;
	}
	FUZZ_CHECK(rc == SH_OK || (rc == SH_EIO && st->calls == 0));
	if (st->in_rec) {
		check_rec_done(st);
		FUZZ_CHECK(last == st->seq);
	} else {
		FUZZ_CHECK(last == after_seq);
	}
	return last;
}

/* Write file[0..size) to a new temporary file; its path in tmpl. */
static int write_temp(char *tmpl, const uint8_t *file, size_t size)
{
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, file + done, size - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	if (done == size)
		return 0;
	unlink(tmpl);
	return -1;
}

static void run(const uint8_t *file, size_t size, const rec_at_t *recs,
                size_t nrecs, uint8_t mode, uint8_t sel)
{
	char path[] = "/tmp/shoal-fuzz-journal-XXXXXX";
	store_journal_t j;
	replay_state_t st = {.file = file,
	                     .size = size,
	                     .recs = recs,
	                     .nrecs = nrecs,
	                     .fail_at = mode >> 4};
	unsigned calls;

	FUZZ_CHECK(write_temp(path, file, size) == 0);
	FUZZ_CHECK(store_journal_open(&j, path, size) == SH_OK);
	FUZZ_CHECK(j.size == size);
	uint64_t last = replay(&j, &st, 0, &calls);
	int failed = st.fail_at != 0 && calls == st.fail_at;
	uint64_t after = sel;
	if ((mode & 2) && nrecs > 0)
		after = recs[0].seq + (uint64_t)(int64_t)(int8_t)sel;
	replay(&j, &st, after, &calls);
	if (!failed && last > 0) {
		st.fail_at =
		    0; /* the whole journal was seen: nothing is left */
		FUZZ_CHECK(replay(&j, &st, last, &calls) == last);
		FUZZ_CHECK(calls == 0);
	}
	store_journal_close(&j);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = size > 0 ? data[0] : 0;
	uint8_t sel = size > 1 ? data[1] : 0;
	size_t skip = size < 2 ? size : 2;
	size_t fsize = size - skip;

	if (fsize < STORE_JOURNAL_BYTES_MIN)
		fsize = STORE_JOURNAL_BYTES_MIN;
	uint8_t *file = calloc(1, fsize);
	rec_at_t *recs = malloc(fsize / HDR * sizeof(*recs));
	FUZZ_CHECK(file != NULL && recs != NULL);
	if (size > skip)
		memcpy(file, data + skip, size - skip);
	size_t nrecs = walk_records(file, fsize, mode & 1, recs);
	run(file, fsize, recs, nrecs, mode, sel);
	free(recs);
	free(file);
	return 0;
}
