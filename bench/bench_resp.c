/*
 * bench_resp.c - the Redis driver: plain RESP2 GET and SET (key
 * "bench:<bucket>:<prefix><n>"), for comparing shoal with redis-server on the
 * same box. Reads, updates, inserts and read-modify-writes (GET then SET, no
 * context); the CRDT cart operations have no Redis equivalent here.
 */
#include <stdio.h>
#include <string.h>

#include "bench/bench_driver.h"
#include "common/sh_err.h"

static int resp_supports(bench_op_kind_t kind)
{
	return kind <= BENCH_OP_RMW;
}

static int resp_encode(const bench_enc_t *e, const bench_op_t *op, int phase,
                       const bench_reply_t *prev, sh_buf_t *out)
{
	(void)prev;
	char key[96], head[160];
	int kl = snprintf(key, sizeof(key), "bench:%s:%s%llu", op->bucket,
	                  e->prefix, (unsigned long long)op->key);
	int get = op->kind == BENCH_OP_READ ||
	          (op->kind == BENCH_OP_RMW && phase == 0);
	int n;
	if (get)
		n = snprintf(head, sizeof(head),
		             "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kl, key);
	else
		n = snprintf(head, sizeof(head),
		             "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%u\r\n", kl, key,
		             (unsigned)(op->value_bytes < e->value_max
		                            ? op->value_bytes
		                            : e->value_max));
	int rc = sh_buf_append(out, head, (size_t)n);
	if (rc || get)
		return rc;
	size_t len =
	    op->value_bytes < e->value_max ? op->value_bytes : e->value_max;
	rc = sh_buf_append(out, e->value, len);
	return rc ? rc : sh_buf_append(out, "\r\n", 2);
}

/* The length of the line at p (without CRLF), or -1 if no CRLF yet. */
static long line_len(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len && i < 1024 * 1024; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return (long)i;
	return -1;
}

long bench_resp_parse(const uint8_t *p, size_t len, bench_reply_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	long ll = line_len(p, len);
	if (ll < 0)
		return len > 1024 * 1024 ? SH_EMALFORMED : 0;
	switch (p[0]) {
	case '+':
	case ':': out->status = 200; return ll + 2;
	case '-': out->status = 500; return ll + 2;
	case '$': break;
	default: return SH_EMALFORMED;
	}
	if (ll == 3 && memcmp(p, "$-1", 3) == 0) {
		out->status = 404;
		return ll + 2;
	}
	long long n = 0;
	if (ll < 2 || ll > 12)
		return SH_EMALFORMED;
	for (long i = 1; i < ll; i++) {
		if (p[i] < '0' || p[i] > '9')
			return SH_EMALFORMED;
		n = n * 10 + (p[i] - '0');
	}
	size_t total = (size_t)ll + 2 + (size_t)n + 2;
	if (len < total)
		return 0;
	if (p[total - 2] != '\r' || p[total - 1] != '\n')
		return SH_EMALFORMED;
	out->status = 200;
	out->siblings = 1;
	return (long)total;
}

const bench_driver_t bench_resp_driver = {
    .name = "redis",
    .supports = resp_supports,
    .encode = resp_encode,
    .parse = bench_resp_parse,
};
