/*
 * store_journal.c - the LMDB store's journal file: opening (zero-filled
 * ahead), building records, appending them with one flush, replaying
 * them. The file and record format is described in store_journal.h.
 *
 * Replay parses bytes from the disk, which may be torn, stale or garbage:
 * every length is checked against what is left before it is used, and a
 * record's mutations reach the callback only after the whole record
 * checked out. Recovery (at open) also tells a torn last record from
 * one damaged in the middle, by looking past it for a later record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/sh_err.h"
#include "node/store_journal.h"

#define JR_HDR        STORE_JOURNAL_HDR_BYTES
#define JR_ZERO_CHUNK ((size_t)1 << 20) /* zeros written per pwrite */
#define JR_READ_CHUNK ((size_t)1 << 20) /* bytes read ahead on replay */
#define JR_KEEP_BYTES ((size_t)1 << 20) /* record memory kept for reuse */
#define JR_MUT_MIN    4                 /* op, space, key_len */
/* the shortest record: a DEL of a one-byte key */
#define JR_REC_MIN (JR_HDR + JR_MUT_MIN + 1)

/* ---- little-endian fields (byte by byte: no alignment assumed) ---- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- plain IO ---- */

/* Write all of buf at off. 0, or -1 with errno set. */
static int jr_pwrite_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int jr_datasync(int fd)
{
	int rc;
	do
		rc = fdatasync(fd);
	while (rc != 0 && errno == EINTR);
	return rc;
}

/* Extend the file from `from` to `to` bytes with zeros, then flush it. */
static int jr_zero_fill(int fd, uint64_t from, uint64_t to)
{
	uint8_t *zeros = calloc(1, JR_ZERO_CHUNK);
	if (zeros == NULL)
		return SH_ENOMEM;
	int rc = 0;
	while (rc == 0 && from < to) {
		size_t n = to - from < JR_ZERO_CHUNK ? (size_t)(to - from)
		                                     : JR_ZERO_CHUNK;
		rc = jr_pwrite_all(fd, zeros, n, from);
		from += n;
	}
	free(zeros);
	if (rc == 0)
		rc = jr_datasync(fd);
	return rc == 0 ? SH_OK : SH_EIO;
}

/* fsync the directory holding path, so a new file's entry is durable. */
static int jr_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir =
	    slash == NULL ? strdup(".") : strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return SH_ENOMEM;
	int fd = open(dir[0] != '\0' ? dir : "/",
	              O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return SH_EIO;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc == 0 ? SH_OK : SH_EIO;
}

/* ---- open, close ---- */

int store_journal_open(store_journal_t *j, const char *path, uint64_t bytes)
{
	if (j == NULL)
		return SH_EINVAL;
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->next_seq = 1;
	if (path == NULL || bytes < STORE_JOURNAL_BYTES_MIN) {
		errno = EINVAL;
		return SH_EINVAL;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return SH_EIO;
	struct stat st;
	int rc = SH_OK;
	if (fstat(fd, &st) != 0) {
		rc = SH_EIO;
	} else if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		rc = SH_EIO;
	} else if ((uint64_t)st.st_size < bytes) {
		rc = jr_zero_fill(fd, (uint64_t)st.st_size, bytes);
	}
	/* every open, not only the one that creates the file: a run that
	 * created it may have stopped before flushing the directory, and a
	 * power loss would then take the file, and the records written to it
	 * since, away */
	if (rc == SH_OK)
		rc = jr_sync_dir(path);
	if (rc != SH_OK) {
		int saved = errno;
		close(fd);
		errno = saved;
		return rc;
	}
	j->fd = fd;
	j->size = (uint64_t)st.st_size < bytes ? bytes : (uint64_t)st.st_size;
	return SH_OK;
}

void store_journal_close(store_journal_t *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	sh_buf_free(&j->rec);
	j->count = 0;
}

/* ---- building a record ---- */

static void jr_rec_clear(store_journal_t *j)
{
	if (j->rec.cap > JR_KEEP_BYTES)
		sh_buf_free(&j->rec); /* one huge batch does not pin memory */
	else
		sh_buf_reset(&j->rec);
	j->count = 0;
}

/*
 * Append one mutation: head (op, space, key_len), the key, then `tail`
 * (tail_len bytes: PUT's val_len or DEL_PREFIX's limit) and the value.
 * All room is reserved first, so a failure leaves the record as it was.
 */
static int jr_append(store_journal_t *j, journal_op_t op, store_space_t sp,
                     const uint8_t *k, size_t kl, const uint8_t *tail,
                     size_t tail_len, const uint8_t *v, size_t vl)
{
	if ((unsigned)sp >= STORE_SPACES || (k == NULL && kl > 0) ||
	    (v == NULL && vl > 0))
		return SH_EINVAL;
	if (kl > STORE_RAW_KEY_BYTES_MAX || vl > STORE_VALUE_BYTES_MAX)
		return SH_ETOOBIG;
	size_t head = j->count == 0 ? JR_HDR : 0;
	uint64_t need = JR_MUT_MIN + (uint64_t)kl + tail_len + vl;
	uint64_t payload = j->count == 0 ? 0 : j->rec.len - JR_HDR;
	if (payload + need > UINT32_MAX || j->count == UINT32_MAX)
		return SH_EFULL;
	if (j->count == 0)
		sh_buf_reset(&j->rec);
	if (sh_buf_reserve(&j->rec, head + (size_t)need) != SH_OK)
		return SH_ENOMEM;
	uint8_t *p = j->rec.data + j->rec.len;
	if (head > 0) {
		memset(p, 0, head); /* filled in by store_journal_write */
		p += head;
	}
	p[0] = (uint8_t)op;
	p[1] = (uint8_t)sp;
	put_le(p + 2, kl, 2);
	p += JR_MUT_MIN;
	if (kl > 0)
		memcpy(p, k, kl);
	p += kl;
	if (tail_len > 0)
		memcpy(p, tail, tail_len);
	p += tail_len;
	if (vl > 0)
		memcpy(p, v, vl);
	j->rec.len += head + (size_t)need;
	j->count++;
	return SH_OK;
}

int store_journal_put(store_journal_t *j, store_space_t sp, const uint8_t *k,
                      size_t kl, const uint8_t *v, size_t vl)
{
	uint8_t len[4];
	if (kl == 0)
		return SH_EINVAL;
	put_le(len, vl, 4); /* vl is checked against the limit first */
	return jr_append(j, JOURNAL_PUT, sp, k, kl, len, sizeof(len), v, vl);
}

int store_journal_del(store_journal_t *j, store_space_t sp, const uint8_t *k,
                      size_t kl)
{
	if (kl == 0)
		return SH_EINVAL;
	return jr_append(j, JOURNAL_DEL, sp, k, kl, NULL, 0, NULL, 0);
}

int store_journal_del_prefix(store_journal_t *j, store_space_t sp,
                             const uint8_t *prefix, size_t pl, uint64_t limit)
{
	uint8_t lim[8];
	put_le(lim, limit, 8);
	return jr_append(j, JOURNAL_DEL_PREFIX, sp, prefix, pl, lim,
	                 sizeof(lim), NULL, 0);
}

uint32_t store_journal_count(const store_journal_t *j)
{
	return j->count;
}

static uint64_t jr_rec_bytes(const store_journal_t *j)
{
	return j->count == 0 ? 0 : (uint64_t)j->rec.len;
}

int store_journal_fits(const store_journal_t *j)
{
	return j->tail <= j->size && jr_rec_bytes(j) <= j->size - j->tail;
}

uint64_t store_journal_used(const store_journal_t *j)
{
	return j->tail;
}

void store_journal_discard(store_journal_t *j)
{
	jr_rec_clear(j);
}

void store_journal_reset(store_journal_t *j, uint64_t seq, uint64_t seed)
{
	j->tail = 0;
	j->next_seq = seq + 1;
	j->seed = seed;
}

/* ---- writing ---- */

int store_journal_write(store_journal_t *j)
{
	if (j->count == 0) {
		jr_rec_clear(j);
		return SH_OK;
	}
	if (!store_journal_fits(j))
		return SH_EFULL;
	uint8_t *h = j->rec.data;
	put_le(h + 8, j->next_seq, 8);
	put_le(h + 16, j->rec.len - JR_HDR, 4);
	put_le(h + 20, j->count, 4);
	put_le(h, XXH3_64bits_withSeed(h + 8, j->rec.len - 8, j->seed), 8);
	if (jr_pwrite_all(j->fd, h, j->rec.len, j->tail) != 0 ||
	    jr_datasync(j->fd) != 0)
		return SH_EIO;
	j->tail += j->rec.len;
	j->next_seq++;
	jr_rec_clear(j);
	return SH_OK;
}

/* ---- replay ---- */

/* A read-ahead window over the file: [off, off + buf.len); records are
 * checked with the round's seed. */
typedef struct jr_reader {
	int fd;
	uint64_t size;
	uint64_t seed;
	uint64_t off;
	sh_buf_t buf;
} jr_reader_t;

/*
 * Make the file's bytes [off, off + len) available at *p. 1 if they are,
 * 0 if the file ends before (the journal ends there), SH_EIO or SH_ENOMEM.
 */
static int jr_read(jr_reader_t *r, uint64_t off, uint64_t len,
                   const uint8_t **p)
{
	if (off > r->size || len > r->size - off)
		return 0;
	if (off >= r->off && off + len <= r->off + r->buf.len) {
		*p = r->buf.data + (off - r->off);
		return 1;
	}
	uint64_t want = len > JR_READ_CHUNK ? len : JR_READ_CHUNK;
	if (want > r->size - off)
		want = r->size - off;
	sh_buf_reset(&r->buf);
	r->off = off;
	if (sh_buf_reserve(&r->buf, (size_t)want) != SH_OK)
		return SH_ENOMEM;
	while (r->buf.len < want) {
		ssize_t n =
		    pread(r->fd, r->buf.data + r->buf.len,
		          (size_t)want - r->buf.len, (off_t)(off + r->buf.len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SH_EIO;
		if (n == 0)
			break; /* the file shrank under us: it ends here */
		r->buf.len += (size_t)n;
	}
	if (r->buf.len < len)
		return 0;
	*p = r->buf.data;
	return 1;
}

/*
 * Walk a record's payload: check every mutation and, with fn, hand each
 * to it. SH_EMALFORMED if the payload breaks the format, else SH_OK or
 * fn's negative code.
 */
static int jr_walk(const uint8_t *p, uint64_t len, uint32_t count, uint64_t seq,
                   int (*fn)(void *, uint64_t, const journal_mut_t *),
                   void *arg)
{
	uint64_t at = 0;
	if (count == 0 || count > len / JR_MUT_MIN)
		return SH_EMALFORMED;
	for (uint32_t i = 0; i < count; i++) {
		journal_mut_t m = {0};
		if (len - at < JR_MUT_MIN)
			return SH_EMALFORMED;
		m.op = (journal_op_t)p[at];
		m.space = (store_space_t)p[at + 1];
		m.key_len = (size_t)get_le(p + at + 2, 2);
		at += JR_MUT_MIN;
		if (p[at - 4] < JOURNAL_PUT || p[at - 4] > JOURNAL_DEL_PREFIX ||
		    p[at - 3] >= STORE_SPACES ||
		    m.key_len > STORE_RAW_KEY_BYTES_MAX ||
		    (m.key_len == 0 && m.op != JOURNAL_DEL_PREFIX) ||
		    len - at < m.key_len)
			return SH_EMALFORMED;
		m.key = p + at;
		at += m.key_len;
		if (m.op == JOURNAL_PUT) {
			if (len - at < 4)
				return SH_EMALFORMED;
			m.val_len = (size_t)get_le(p + at, 4);
			at += 4;
			if (m.val_len > STORE_VALUE_BYTES_MAX ||
			    len - at < m.val_len)
				return SH_EMALFORMED;
			m.val = p + at;
			at += m.val_len;
		} else if (m.op == JOURNAL_DEL_PREFIX) {
			if (len - at < 8)
				return SH_EMALFORMED;
			m.limit = get_le(p + at, 8);
			at += 8;
		}
		if (fn != NULL) {
			int rc = fn(arg, seq, &m);
			if (rc < 0)
				return rc;
		}
	}
	return at == len ? SH_OK : SH_EMALFORMED;
}

/*
 * Read the record at off. 1 with *seq, *rec (header and payload) and
 * *rec_len if it is valid (checksum and format), 0 if the journal ends
 * there, or SH_EIO / SH_ENOMEM.
 */
static int jr_record(jr_reader_t *r, uint64_t off, uint64_t *seq,
                     const uint8_t **rec, uint64_t *rec_len)
{
	const uint8_t *h;
	int rc = jr_read(r, off, JR_HDR, &h);
	if (rc <= 0)
		return rc;
	uint64_t sum = get_le(h, 8);
	*seq = get_le(h + 8, 8);
	uint64_t plen = get_le(h + 16, 4);
	uint32_t count = (uint32_t)get_le(h + 20, 4);
	rc = jr_read(r, off, JR_HDR + plen, &h);
	if (rc <= 0)
		return rc;
	if (XXH3_64bits_withSeed(h + 8, JR_HDR - 8 + plen, r->seed) != sum ||
	    jr_walk(h + JR_HDR, plen, count, *seq, NULL, NULL) != SH_OK)
		return 0;
	*rec = h;
	*rec_len = JR_HDR + plen;
	return 1;
}

/*
 * Replay from offset 0 through r (see store_journal_replay); *end gets
 * the offset of the record it stopped at (the file's size, or past it,
 * if the records ran to the end).
 */
static int jr_replay(jr_reader_t *r, uint64_t after_seq,
                     int (*fn)(void *, uint64_t, const journal_mut_t *),
                     void *arg, uint64_t *last_seq, uint64_t *end)
{
	uint64_t off = 0, prev = 0, seq, len;
	const uint8_t *rec;
	int rc;
	*last_seq = after_seq;
	/* each record is over JR_HDR bytes: at most size / JR_HDR turns */
	while ((rc = jr_record(r, off, &seq, &rec, &len)) == 1) {
		if (off == 0 && seq > after_seq && seq - after_seq > 1) {
			rc = SH_EIO; /* records after_seq + 1... are missing */
			break;
		}
		if (off > 0 && seq != prev + 1)
			break; /* an older round's record: the end */
		if (seq > after_seq) {
			rc = jr_walk(rec + JR_HDR, len - JR_HDR,
			             (uint32_t)get_le(rec + 20, 4), seq, fn,
			             arg);
			if (rc != SH_OK)
				break;
			*last_seq = seq;
		}
		prev = seq;
		off += len;
	}
	*end = off;
	return rc < 0 ? rc : SH_OK;
}

int store_journal_replay(store_journal_t *j, uint64_t after_seq,
                         int (*fn)(void *arg, uint64_t seq,
                                   const journal_mut_t *m),
                         void *arg, uint64_t *last_seq)
{
	jr_reader_t r = {.fd = j->fd, .size = j->size, .seed = j->seed};
	uint64_t end;
	int rc = jr_replay(&r, after_seq, fn, arg, last_seq, &end);
	sh_buf_free(&r.buf);
	return rc;
}

/*
 * Could a record with this seq at off be one of the round's, written
 * after the record at `from` that follows `last`? Records last + 1 ..
 * seq - 1 would lie between, each at least JR_REC_MIN bytes. This cheap
 * test comes before the checksum at every offset; gap_max, the most
 * records the rest of the file holds, turns most bytes away without the
 * division.
 */
static int jr_could_follow(uint64_t seq, uint64_t off, uint64_t from,
                           uint64_t last, uint64_t gap_max)
{
	return seq > last && seq - last - 1 <= gap_max &&
	       seq - last - 1 <= (off - from) / JR_REC_MIN;
}

/*
 * The bytes from off to the end of the read-ahead window at *p, *n of
 * them, read anew when the window holds fewer than a record's header
 * and payload's shortest. 1, 0 if the file ends first, SH_EIO / SH_ENOMEM.
 */
static int jr_read_on(jr_reader_t *r, uint64_t off, const uint8_t **p,
                      uint64_t *n)
{
	if (off >= r->off && off + JR_REC_MIN <= r->off + r->buf.len) {
		*p = r->buf.data + (off - r->off);
		*n = r->off + r->buf.len - off;
		return 1;
	}
	*n = r->size - off < JR_READ_CHUNK ? r->size - off : JR_READ_CHUNK;
	return jr_read(r, off, *n, p);
}

/*
 * The first offset i of p[0..n) at which a seq could follow (see
 * jr_could_follow), or one where fewer than JR_REC_MIN bytes are left.
 * The seq field is shifted along a byte at a time, not read again.
 */
static uint64_t jr_skip(const uint8_t *p, uint64_t n, uint64_t off,
                        uint64_t from, uint64_t last, uint64_t gap_max)
{
	uint64_t i = 0, seq = get_le(p + 8, 8);
	while (i + JR_REC_MIN <= n &&
	       !jr_could_follow(seq, off + i, from, last, gap_max)) {
		seq = seq >> 8 | (uint64_t)p[i + 16] << 56;
		i++;
	}
	return i;
}

/*
 * Look at every offset from `from` on for a valid record that could
 * follow last (jr_could_follow). 1 with d->next_off and d->next_seq if
 * one is there, 0 if not, or SH_EIO / SH_ENOMEM. Reads the file once,
 * a window at a time, and checksums only the candidates.
 */
static int jr_find_later(jr_reader_t *r, uint64_t from, uint64_t last,
                         journal_damage_t *d)
{
	uint64_t off = from, gap_max = (r->size - from) / JR_REC_MIN;
	/* each turn moves off forward by at least one byte */
	while (off + JR_REC_MIN <= r->size) {
		const uint8_t *p;
		uint64_t n;
		int rc = jr_read_on(r, off, &p, &n);
		if (rc <= 0)
			return rc;
		uint64_t i = jr_skip(p, n, off, from, last, gap_max);
		off += i;
		if (i + JR_REC_MIN > n)
			continue; /* the window is done: read the next one */
		uint64_t seq, len;
		const uint8_t *rec;
		rc = jr_record(r, off, &seq, &rec, &len);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			d->next_off = off;
			d->next_seq = seq;
			return 1;
		}
		off++;
	}
	return 0;
}

int store_journal_recover(store_journal_t *j, uint64_t after_seq,
                          int (*fn)(void *arg, uint64_t seq,
                                    const journal_mut_t *m),
                          void *arg, uint64_t *last_seq,
                          journal_damage_t *damage)
{
	jr_reader_t r = {.fd = j->fd, .size = j->size, .seed = j->seed};
	uint64_t end;
	memset(damage, 0, sizeof(*damage));
	int rc = jr_replay(&r, after_seq, fn, arg, last_seq, &end);
	if (rc == SH_OK && end < r.size) {
		rc = jr_find_later(&r, end, *last_seq, damage);
		damage->bad_off = end;
		if (rc == 1)
			rc = SH_EIO;
	}
	sh_buf_free(&r.buf);
	return rc;
}
