/*
 * http_int.h - private declarations shared by the files of the HTTP module
 * (http_conn.c, http_reply.c, http_route.c). Not part of the API: http.h.
 */
#ifndef SHOAL_HTTP_INT_H
#define SHOAL_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "node/http.h"

/* Lifecycle of a pipeline slot. */
enum http__slot_state {
	HTTP__FREE = 0, /* unused */
	HTTP__PARSING,  /* the parser is receiving this request */
	HTTP__READY,    /* complete, not yet handed out by http_conn_next */
	HTTP__TAKEN,    /* handed out, waiting for http_conn_reply */
	HTTP__DONE,     /* reply serialized, waiting for take_output */
};

/* Where a header value sits in a slot's head buffer. */
typedef struct http__span {
	size_t off;
	size_t len;
	int set;
} http__span_t;

/* One pipelined request: its parsed form, its bytes and its reply. */
struct http__slot {
	http_req_t req;
	sh_buf_t head;  /* target, kept header values, decoded segments */
	sh_buf_t body;  /* body bytes */
	sh_buf_t reply; /* serialized reply */
	http__span_t target, host, content_type, context;
	uint8_t state;        /* enum http__slot_state */
	uint8_t expect_asked; /* an Expect: 100-continue line came */
	/* a 100 is owed: set only once the headers are complete, for an
	 * HTTP/1.1 request with a body that was not refused */
	uint8_t expect_continue;
	uint8_t continue_sent;
	uint8_t close;       /* the reply closes the connection */
	uint8_t target_done; /* the target is complete and NUL-terminated */
	uint8_t te_seen;     /* a Transfer-Encoding line came */
	uint8_t te_bad;      /* a coding other than one lone chunked: 501 */
};

/* Buffers above this capacity are freed rather than kept for reuse. */
#define HTTP__KEEP_BYTES_MAX (16u * 1024)

/*
 * http__pct_decode - percent-decode n bytes at s into out (room for n
 * bytes); with plus_space, '+' becomes ' ' (query strings). Returns the
 * decoded length, or -1 on a '%' not followed by two hex digits.
 */
long http__pct_decode(const char *s, size_t n, int plus_space, char *out);

/*
 * http__header_value_ok - 1 when the len bytes at v may be a header value
 * (no control characters but HTAB); http__header_lines_ok - 1 when s is
 * empty or whole "Name: value\r\n" lines with valid values.
 */
int http__header_value_ok(const char *v, size_t len);
int http__header_lines_ok(const char *s);

/*
 * http__error_reply - append a complete JSON error response {"error":
 * error[, "detail": detail]} with status to out. 0 or SH_ENOMEM.
 */
int http__error_reply(sh_buf_t *out, int status, const char *error,
                      const char *detail, const char *allow, int close);

#endif /* SHOAL_HTTP_INT_H */
