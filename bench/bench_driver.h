/*
 * bench_driver.h - the protocol drivers of shoal-bench: each turns an
 * operation into request bytes and parses reply bytes, without IO (the
 * libuv loop in bench_run.c owns the sockets). Drivers: "http" (shoal's
 * HTTP API, bench_http.c) and "redis" (RESP GET/SET, bench_resp.c); a new
 * protocol is one more bench_driver_t.
 */
#ifndef BENCH_DRIVER_H
#define BENCH_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "bench/bench_workload.h"
#include "common/sh_buf.h"

#define BENCH_CTX_MAX    4096 /* longest context kept for a F write */
#define BENCH_PREFIX_MAX 32   /* longest key prefix */

/* What a reply said, as far as the bench cares. */
typedef struct bench_reply {
	int status;         /* HTTP status; RESP: 200, 404 nil, 500 -ERR */
	unsigned siblings;  /* reads: values returned (0 for 404) */
	const uint8_t *ctx; /* X-Shoal-Context, into the parsed bytes */
	size_t ctx_len;     /* 0: none */
} bench_reply_t;

/* Per-run settings a driver needs to encode requests. */
typedef struct bench_enc {
	char query[64];                    /* "?n=3&r=2&w=2" or "" */
	char prefix[BENCH_PREFIX_MAX + 1]; /* before every key name, or "" */
	const uint8_t *value;              /* value_max filler bytes */
	size_t value_max;
} bench_enc_t;

typedef struct bench_driver {
	const char *name;
	/* Can it run this operation kind? */
	int (*supports)(bench_op_kind_t kind);
	/*
	 * Append the request for `op` to out. phase is 0, or 1 for the write
	 * of a RMW. prev, when not NULL, holds the context a write sends (the
	 * RMW's read, or the last one seen for the key); its ctx bytes need
	 * stay valid only for the call. Returns SH_OK or SH_ENOMEM.
	 */
	int (*encode)(const bench_enc_t *e, const bench_op_t *op, int phase,
	              const bench_reply_t *prev, sh_buf_t *out);
	/*
	 * Parse one reply at the start of p[0..len): returns the bytes it
	 * takes (> 0) and fills *out (pointers into p), 0 when more bytes are
	 * needed, or SH_EMALFORMED.
	 */
	long (*parse)(const uint8_t *p, size_t len, bench_reply_t *out);
} bench_driver_t;

extern const bench_driver_t bench_http_driver;
extern const bench_driver_t bench_resp_driver;

/* bench_http_parse, bench_resp_parse - the two parsers, for the tests. */
long bench_http_parse(const uint8_t *p, size_t len, bench_reply_t *out);
long bench_resp_parse(const uint8_t *p, size_t len, bench_reply_t *out);

#endif /* BENCH_DRIVER_H */
