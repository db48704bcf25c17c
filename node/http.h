/*
 * http.h - the node's HTTP/1.1 layer, sans-IO: bytes in, requests out;
 * replies in, bytes out. No sockets, no event loop, no clock.
 *
 * The wire protocol is HTTP/1.1 (RFC 9112) with keep-alive and pipelining;
 * the API it carries is DESIGN.md section 9. Parsing uses http-parser 2.9
 * (Debian's libhttp-parser), which stays private to this module.
 *
 * Pieces:
 *   http_conn_*    one connection: feed received bytes, take parsed
 *                  requests in order, hand back replies in any order, take
 *                  the bytes to write, which leave in request order.
 *   http_reply_*   serialize a response (status line, headers, body); JSON
 *                  error bodies; multipart/mixed bodies for siblings.
 *   http_route_*   map a request to a shoal route, bucket and key.
 *   http_params_*  the per-request quorum parameters of the query string.
 *
 * How a shell drives a connection (all calls on one thread):
 *
 *   on read:     http_conn_feed(c, buf, n); pump(c);
 *   on EOF:      http_conn_eof(c); pump(c);
 *   pump:        for (;;) {
 *                        req = http_conn_next(c);
 *                        if (req != NULL) { dispatch(req); continue; }
 *                        if (http_conn_take_output(c, &out) <= 0) break;
 *                }
 *                write out (keep it until the write completes);
 *                read only while http_conn_wants_input(c);
 *   dispatch:    route, then sooner or later http_conn_reply(c, seq, ...)
 *                followed by pump(c);
 *   write done:  if http_conn_should_close(c) and nothing is left to
 *                write: close the socket, http_conn_free(c).
 *
 * Errors in the byte stream (malformed request, headers over the limit, a
 * body over the limit) are answered by the connection itself, in order,
 * with a JSON error reply and "Connection: close"; see http_conn_feed.
 * Timeouts (idle or slow clients) belong to the shell, which owns time.
 */
#ifndef SHOAL_HTTP_H
#define SHOAL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "node/json.h"

/* ---- limits ---- */

#define HTTP_HEADER_BYTES_MAX_DEFAULT (16u * 1024)
/* The default value limit (1 MiB) plus slack for a CRDT operation body. */
#define HTTP_BODY_BYTES_MAX_DEFAULT  (1024u * 1024 + 64 * 1024)
#define HTTP_PIPELINE_MAX_DEFAULT    16u
#define HTTP_STASH_BYTES_MAX_DEFAULT (256u * 1024)
/* Bucket and key, each, after percent-decoding (DESIGN.md section 3). */
#define HTTP_NAME_BYTES_MAX 1024u
/* Path segments kept per request; a longer path matches no route. */
#define HTTP_SEGS_MAX 6
/* Room for a route or parameter error message, NUL included. */
#define HTTP_ERROR_BYTES 160
/* Largest n, r, w, pr, pw and timeout_ms a query may ask for. */
#define HTTP_PARAM_REPLICAS_MAX   64u
#define HTTP_PARAM_TIMEOUT_MS_MAX 600000u

/* ---- requests ---- */

typedef enum http_meth {
	HTTP_METH_OTHER = 0, /* any other method: see http_req_t.method_name */
	HTTP_METH_GET,
	HTTP_METH_HEAD,
	HTTP_METH_PUT,
	HTTP_METH_POST,
	HTTP_METH_DELETE,
} http_meth_t;

/* A byte string that is not owned: ptr is NULL when absent. */
typedef struct http_str {
	const char *ptr;
	size_t len;
} http_str_t;

/*
 * A parsed request. Every pointer points into memory the connection owns,
 * valid from http_conn_next until http_conn_reply for this seq (or
 * http_conn_free): copy what must outlive the reply. target, segs, host,
 * content_type and context are also NUL-terminated, though segments may
 * hold NULs of their own (%00): use the lengths. path and query are
 * slices of target and are not NUL-terminated.
 */
typedef struct http_req {
	uint64_t seq;            /* reply slot: pass to http_conn_reply */
	http_meth_t method;      /* HTTP_METH_OTHER for the rest */
	const char *method_name; /* "GET", "PATCH", ... (static) */
	unsigned http_major;     /* 1 */
	unsigned http_minor;     /* 0 or 1 */
	/* 1 when the connection stays open after the reply: HTTP/1.1 unless
	 * "Connection: close", HTTP/1.0 only with "Connection: keep-alive" */
	int keep_alive;
	http_str_t target; /* the request-target as received */
	http_str_t path;   /* raw path (no query), not decoded */
	http_str_t query;  /* raw query after '?', not decoded; NULL if none */
	/* path segments between '/', each percent-decoded after the split
	 * (so "%2F" is a '/' inside a segment); "/kv/b/k" gives "kv","b","k" */
	http_str_t segs[HTTP_SEGS_MAX];
	uint32_t seg_count;
	int segs_over;   /* 1: more than HTTP_SEGS_MAX segments (not kept) */
	int path_bad;    /* 1: bad percent-encoding in the path (segs unset) */
	http_str_t host; /* Host header */
	http_str_t content_type; /* Content-Type header */
	http_str_t context;      /* X-Shoal-Context header */
	int has_content_length;  /* Content-Length header present */
	uint64_t content_length;
	int chunked;         /* the body came with Transfer-Encoding: chunked */
	const uint8_t *body; /* body bytes (NULL when body_len is 0) */
	size_t body_len;
} http_req_t;

/* ---- connections ---- */

typedef struct http_conn_cfg {
	/* request line plus header lines (and chunked trailers); over it the
	 * request is answered 431 before its headers are stored */
	size_t header_bytes_max;
	/* body bytes; a larger Content-Length is answered 413 as soon as the
	 * headers end, before any body byte is stored; a chunked body is cut
	 * off with 413 when it grows past the limit */
	size_t body_bytes_max;
	/* requests parsed and not yet written out (taken by
	 * http_conn_take_output); when full the connection stops parsing
	 * and asks for no more input until replies leave */
	uint32_t pipeline_max;
	/* received bytes kept unparsed while the pipeline is full; a shell
	 * that keeps feeding past it gets SH_ETOOBIG */
	size_t stash_bytes_max;
} http_conn_cfg_t;

struct http_parser; /* http-parser's, private to this module */
struct http__slot;  /* one pipelined request and its reply */

/* A connection. Caller-allocated; fields are private (see http_conn.c). */
typedef struct http_conn {
	void *data; /* the shell's, untouched */
	http_conn_cfg_t cfg;
	struct http_parser *parser; /* owned */
	struct http__slot *slots;   /* owned, cfg.pipeline_max of them */
	uint64_t head_seq;    /* oldest request whose reply is not written */
	uint64_t deliver_seq; /* next request to hand out by http_conn_next */
	uint64_t next_seq;    /* seq of the next request to start */
	uint64_t close_seq;   /* write no reply after this one (UINT64_MAX) */
	sh_buf_t stash;       /* unparsed input while paused */
	size_t stash_off;
	sh_buf_t hfield;   /* header name being received */
	sh_buf_t hval;     /* header value being received (known headers) */
	size_t hdr_bytes;  /* header bytes of the current request so far */
	int in_value;      /* the parser is inside a header value */
	int hkind;         /* which header that value belongs to (private) */
	int in_trailers;   /* headers done: header lines now are trailers */
	int paused;        /* pipeline full: parsing stopped */
	int eof;           /* the peer sent its last byte */
	int input_closed;  /* no more requests will be parsed */
	int broken;        /* out of memory: close without replying */
	int close_written; /* the reply with Connection: close was taken */
	int fail_status;   /* our reason to stop the parser, or 0 */
	const char *fail_msg;
	int err_status; /* status of the error that closed input, or 0 */
	const char *err_msg;
} http_conn_t;

/* http_conn_cfg_default - fill cfg with the defaults above. */
void http_conn_cfg_default(http_conn_cfg_t *cfg);

/*
 * http_conn_init - make c a fresh connection with limits cfg (copied; NULL:
 * the defaults; zero fields: their defaults). Allocates the parser and
 * cfg.pipeline_max request slots. 0, SH_EINVAL (pipeline_max above 1024)
 * or SH_ENOMEM (c needs no http_conn_free then).
 */
int http_conn_init(http_conn_t *c, const http_conn_cfg_t *cfg);

/*
 * http_conn_free - release everything c owns, including requests handed
 * out and not answered (their pointers become invalid) and output not yet
 * taken. c can be initialised again.
 */
void http_conn_free(http_conn_t *c);

/*
 * http_conn_feed - parse len received bytes at buf (borrowed for the call;
 * bytes that cannot be parsed yet because the pipeline is full are copied).
 * buf may be NULL with len 0. Complete requests become available through
 * http_conn_next, in order.
 *
 * Bad input is not an error of this call: the connection answers it, in
 * request order after the replies to earlier requests, and stops reading.
 * The replies (JSON {"error": ...}, with Connection: close) are
 *   400  malformed request line, header, chunk or percent-encoding the
 *        parser rejects; duplicate Host, Content-Type or X-Shoal-Context;
 *   413  Content-Length over body_bytes_max (the body is not read), or a
 *        chunked body that grows past it;
 *   431  request line and headers over header_bytes_max;
 *   501  a Transfer-Encoding other than one lone "chunked" (e.g. "gzip,
 *        chunked", or two Transfer-Encoding lines): the body is not read;
 *   505  an HTTP version other than 1.x (http-parser takes 0.9 and x.y).
 * http_conn_error tells which. Bytes after a request that closes the
 * connection (Connection: close, HTTP/1.0, an upgrade) are ignored.
 *
 * Returns 0; SH_ETOOBIG when more than stash_bytes_max bytes were fed while
 * http_conn_wants_input said no; SH_ENOMEM. After either error the
 * connection is broken: close it without writing more.
 */
int http_conn_feed(http_conn_t *c, const void *buf, size_t len);

/*
 * http_conn_eof - the peer will send nothing more. A partly received
 * request is dropped; complete ones are still answered, then
 * http_conn_should_close becomes true.
 */
void http_conn_eof(http_conn_t *c);

/*
 * http_conn_next - the next complete request not yet handed out, or NULL.
 * Requests come out in the order they arrived, each once. The request is
 * valid until http_conn_reply for its seq; every request handed out must
 * get exactly one reply, or the replies after it never leave.
 */
const http_req_t *http_conn_next(http_conn_t *c);

/*
 * http_conn_peek - the request http_conn_next would hand out, without
 * handing it out (so a caller may leave it waiting), or NULL.
 */
const http_req_t *http_conn_peek(const http_conn_t *c);

/* ---- replies ---- */

/*
 * A response to serialize. Zero it (or http_reply_init) and set what
 * applies. All pointers are borrowed for the call that serializes it.
 */
typedef struct http_reply {
	int status;               /* 100..599 */
	const char *content_type; /* Content-Type, or NULL for none */
	/* body bytes (NULL when body_len is 0; may be NULL with body_len
	 * set when head, to announce a length without building the body) */
	const void *body;
	size_t body_len;
	const char *context; /* X-Shoal-Context value, or NULL for none */
	size_t context_len;
	const char *allow; /* Allow header value (405), or NULL */
	/* more header lines, each "Name: value\r\n", or NULL */
	const char *headers;
	int close; /* Connection: close (and the connection will close) */
	int head;  /* answer to HEAD: headers and Content-Length, no body */
} http_reply_t;

/* http_reply_init - zero r and set its status. */
void http_reply_init(http_reply_t *r, int status);

/*
 * http_reply_write - append the response r to out: "HTTP/1.1 status
 * reason", Content-Type, Content-Length (not for 1xx, 204 and 304),
 * X-Shoal-Context, Allow, the extra headers, "Connection: keep-alive" or
 * "Connection: close", a blank line, then the body (none for HEAD).
 * Returns 0; SH_EINVAL for a status outside 100..599, a body on 1xx/204/
 * 304, or a header value holding CR, LF or another control character
 * (out unchanged then); SH_ENOMEM.
 */
int http_reply_write(sh_buf_t *out, const http_reply_t *r);

/*
 * http_conn_reply - answer request seq with r. The connection serializes r
 * into the request's slot, closing the connection after it (and setting
 * Connection: close) when r->close or the request was not keep-alive, and
 * sending no body when the request was HEAD (r->head is ignored; r->body
 * may then be NULL with body_len set). The request's memory is released:
 * its pointers become invalid, though r may point into it (it is
 * serialized first). Replies may come in any order; bytes leave in
 * request order through http_conn_take_output.
 * Returns 0; SH_EINVAL when seq is not a request handed out and not yet
 * answered, or r is invalid (see http_reply_write); SH_ENOMEM. A reply
 * for a request after one that closed the connection is accepted and
 * dropped.
 */
int http_conn_reply(http_conn_t *c, uint64_t seq, const http_reply_t *r);

/*
 * http_conn_reply_error - answer seq with status and the JSON body
 * {"error":error} (error NUL-terminated, escaped), Content-Type
 * application/json; allow, when not NULL, becomes the Allow header (405).
 * Returns as http_conn_reply.
 */
int http_conn_reply_error(http_conn_t *c, uint64_t seq, int status,
                          const char *error, const char *allow);

/*
 * http_conn_take_output - append to out every byte that may be written
 * now: the replies at the head of the request order that are complete,
 * and a "100 Continue" for the head request when it asked for one
 * (Expect: 100-continue), all its headers are in, it is HTTP/1.1 with a
 * body that was not refused, and that body has not started. out is the
 * caller's and must stay alive until written; when out is empty the
 * bytes may be moved in without copying. Taking replies frees pipeline
 * room, so parsing of stashed input resumes: call http_conn_next again.
 * Returns the number of responses appended (0 when none), or SH_ENOMEM.
 */
int http_conn_take_output(http_conn_t *c, sh_buf_t *out);

/*
 * http_conn_wants_input - 1 when the shell should read from the socket:
 * the pipeline has room and the connection still accepts requests.
 */
int http_conn_wants_input(const http_conn_t *c);

/*
 * http_conn_in_request - 1 while a request has begun and has not arrived
 * whole (headers and body), so the shell can bound how long a client may
 * take to send it (a client trickling a byte at a time would otherwise
 * hold a connection open however long the idle timeout is).
 */
int http_conn_in_request(const http_conn_t *c);

/*
 * http_conn_should_close - 1 when, once the taken output is written, the
 * socket should be closed: the reply that closes the connection has been
 * taken, or input ended and every reply has been taken, or the connection
 * is broken (SH_ENOMEM, SH_ETOOBIG).
 */
int http_conn_should_close(const http_conn_t *c);

/*
 * http_conn_error - the status (400, 413, 431, 501, 505) of the error that
 * made the connection stop reading, with *msg (if msg is not NULL) set to
 * its static description; 0 when there was none.
 */
int http_conn_error(const http_conn_t *c, const char **msg);

/*
 * http_conn_pending - requests received and not yet written out (those
 * handed out and not answered included); for stats and shutdown.
 */
uint32_t http_conn_pending(const http_conn_t *c);

/*
 * http_conn_mem_bytes - bytes of heap the connection holds now (slots,
 * request and reply buffers, stash), for limits and stats.
 */
size_t http_conn_mem_bytes(const http_conn_t *c);

/* ---- JSON errors and multipart bodies ---- */

/*
 * http_error_begin - start a JSON error body {"error":error, in body
 * (appended, borrowed), leaving the object open so the caller can add
 * members with w (e.g. for 503: "needed", "acknowledged", "stored_on").
 * http_error_end - close the object; returns json_w_end's result.
 * Example: {"error":"quorum","needed":2,"acknowledged":1,"stored_on":[]}
 */
int http_error_begin(json_w_t *w, sh_buf_t *body, const char *error);
int http_error_end(json_w_t *w);

/* Room for the Content-Type of a multipart body, NUL included. */
#define HTTP_MULTIPART_TYPE_BYTES 128

/* One part of a multipart body; pointers borrowed for the call. */
typedef struct http_part {
	const char *content_type; /* NULL: application/octet-stream */
	const char *headers;      /* more "Name: value\r\n" lines, or NULL */
	const void *data;
	size_t len;
} http_part_t;

/*
 * http_multipart_write - append a multipart/mixed body (RFC 2046) holding
 * parts[0..count-1] to body, and write its Content-Type, e.g.
 * "multipart/mixed; boundary=shoal-siblings", to content_type (size bytes, at
 * least HTTP_MULTIPART_TYPE_BYTES). The boundary is chosen so that it
 * occurs in no part's data or headers (it grows past "shoal-siblings"
 * only when that word occurs), so any bytes are safe as parts; it is a
 * function of the parts only (no randomness). Each part is
 * "--B\r\nContent-Type: T\r\n<headers>\r\n<data>\r\n", then "--B--\r\n".
 * Returns 0; SH_EINVAL (count 0, size too small, a header with CR/LF or
 * control characters; body unchanged); SH_ENOMEM.
 */
int http_multipart_write(sh_buf_t *body, const http_part_t *parts, size_t count,
                         char *content_type, size_t size);

/* ---- routes ---- */

typedef enum http_route {
	HTTP_ROUTE_NONE = 0,
	HTTP_ROUTE_KV,       /* /kv/{bucket}/{key}: GET HEAD PUT DELETE */
	HTTP_ROUTE_DT,       /* /dt/{bucket}/{key}: GET HEAD POST */
	HTTP_ROUTE_MEMBERS,  /* /cluster/members: GET HEAD */
	HTTP_ROUTE_RING,     /* /cluster/ring: GET HEAD */
	HTTP_ROUTE_PREFLIST, /* /cluster/preflist/{bucket}/{key}: GET HEAD */
	HTTP_ROUTE_REPLICAS, /* /cluster/replicas/{bucket}/{key}: GET HEAD */
	HTTP_ROUTE_LEAVE,    /* /cluster/leave: POST */
	HTTP_ROUTE_STATS,    /* /stats: GET HEAD */
	HTTP_ROUTE_METRICS,  /* /metrics: GET HEAD */
	HTTP_ROUTE_HEALTH,   /* /health: GET HEAD */
	HTTP_ROUTE_HINTS,    /* /cluster/hints: GET HEAD */
	HTTP_ROUTE_AAE,      /* /cluster/aae: GET HEAD */
	/* /cluster/transfers: GET HEAD */
	HTTP_ROUTE_TRANSFERS,
} http_route_t;

/* Bits of http_params_t.present. */
enum {
	HTTP_PARAM_N = 1u << 0,
	HTTP_PARAM_R = 1u << 1,
	HTTP_PARAM_W = 1u << 2,
	HTTP_PARAM_PR = 1u << 3,
	HTTP_PARAM_PW = 1u << 4,
	HTTP_PARAM_TIMEOUT_MS = 1u << 5,
	HTTP_PARAM_SLOPPY = 1u << 6,
};

/* Per-request quorum parameters (DESIGN.md section 6). */
typedef struct http_params {
	uint32_t present; /* HTTP_PARAM_* bits of the fields given */
	uint32_t n, r, w, pr, pw;
	uint32_t timeout_ms;
	int sloppy; /* 0 or 1 */
} http_params_t;

/* The outcome of http_route_match. */
typedef struct http_match {
	http_route_t route; /* HTTP_ROUTE_NONE when status is 404 */
	http_meth_t method; /* the request's */
	/* bucket and key (percent-decoded) for the routes that have them,
	 * pointing into the request (same lifetime); else NULL, 0 */
	const uint8_t *bucket;
	size_t bucket_len;
	const uint8_t *key;
	size_t key_len;
	http_params_t
	    params; /* from the query, for KV, DT, PREFLIST, REPLICAS */
	/* 0 when matched; else the status to answer: 400 (bad path, empty or
	 * NUL-holding bucket, bad parameter), 404 (no such path), 405 (method
	 * not allowed: see allow), 413 (bucket or key over
	 * HTTP_NAME_BYTES_MAX) */
	int status;
	const char *allow; /* 405: the Allow header value (static), else NULL */
	char error[HTTP_ERROR_BYTES]; /* message when status != 0, else "" */
} http_match_t;

/*
 * http_route_match - match req against the routes of DESIGN.md section 9
 * and, for the routes that take them, parse the query parameters. HEAD is
 * allowed wherever GET is (answer it as GET: http_conn_reply drops the
 * body). Routes without parameters ignore the query. Checks in order:
 * path encoding (400), path (404), method (405), bucket and key (400 empty
 * or, for the bucket, holding a NUL byte, which the storage layout
 * "bucket \0 key" cannot carry; 413 too long), parameters (400).
 * Returns 0 when matched, else SH_EINVAL with m->status and m->error set
 * (answer with http_conn_reply_error(c, seq, m->status, m->error,
 * m->allow)).
 */
int http_route_match(const http_req_t *req, http_match_t *m);

/* http_route_name - "kv", "dt", "members", ... (static), "none". */
const char *http_route_name(http_route_t route);

/*
 * http_params_parse - parse a raw query string (len bytes at q, without
 * the '?'; percent-encoding and '+' for space are decoded) into *p.
 * Accepted: n, r, w, pr, pw (0..HTTP_PARAM_REPLICAS_MAX), timeout_ms
 * (1..HTTP_PARAM_TIMEOUT_MS_MAX), decimal digits only; sloppy (true,
 * false, 1, 0). Empty pieces ("a=1&&b=2") are skipped.
 * Returns 0, or SH_EINVAL with a message naming the parameter in err
 * (err_size bytes, NUL-terminated; e.g. "unknown query parameter 'x'",
 * "query parameter 'r' must be an integer from 0 to 64", "query parameter
 * 'w' given twice"). *p is zeroed first.
 */
int http_params_parse(const char *q, size_t len, http_params_t *p, char *err,
                      size_t err_size);

#endif /* SHOAL_HTTP_H */
