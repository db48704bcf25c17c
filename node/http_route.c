/*
 * http_route.c - the routes of DESIGN.md section 9 (http.h): matching a
 * request's decoded path segments and method to a route, bucket and key;
 * percent-decoding; the quorum query parameters and their validation.
 */
#include "node/http.h"

#include <stdio.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/http_int.h"

static int http__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long http__pct_decode(const char *s, size_t n, int plus_space, char *out)
{
	size_t o = 0, i = 0;
	/* a path segment (no '+' to turn into a space) usually holds no
	 * '%' at all: copy what precedes the first one in one go */
	if (!plus_space && n > 8) {
		const char *pct = memchr(s, '%', n);
		i = pct != NULL ? (size_t)(pct - s) : n;
		memcpy(out, s, i);
		o = i;
	}
	for (; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			int hi = http__hex(s[i + 1]);
			int lo = http__hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			out[o++] = ' ';
		} else {
			out[o++] = c;
		}
	}
	return (long)o;
}

/* ---- query parameters ---- */

/* Longest decoded parameter name or value looked at. */
#define HTTP__PARAM_BYTES 64

/* A parameter name made printable for messages (<= 32 bytes). */
static void http__printable(const char *s, size_t n, char *out, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < size && i < 32; i++) {
		uint8_t c = (uint8_t)s[i];
		out[k++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	if (n > 32 && k + 4 < size) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static int http__uint(const char *v, size_t n, uint32_t lo, uint32_t hi,
                      uint32_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x < lo || x > hi)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int http__bool(const char *v, size_t n, int *out)
{
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 1 && v[0] == '1')) {
		*out = 1;
		return 0;
	}
	if ((n == 5 && memcmp(v, "false", 5) == 0) || (n == 1 && v[0] == '0')) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* n, r and w first, in that order: http__param_find names them by
 * index. */
static const struct http__param {
	const char *name;
	size_t name_len;
	uint32_t bit;
	uint32_t lo, hi;
	size_t off; /* of the uint32_t field in http_params_t */
} http__params[] = {
    {"n", 1, HTTP_PARAM_N, 0, HTTP_PARAM_REPLICAS_MAX,
     offsetof(http_params_t, n)},
    {"r", 1, HTTP_PARAM_R, 0, HTTP_PARAM_REPLICAS_MAX,
     offsetof(http_params_t, r)},
    {"w", 1, HTTP_PARAM_W, 0, HTTP_PARAM_REPLICAS_MAX,
     offsetof(http_params_t, w)},
    {"pr", 2, HTTP_PARAM_PR, 0, HTTP_PARAM_REPLICAS_MAX,
     offsetof(http_params_t, pr)},
    {"pw", 2, HTTP_PARAM_PW, 0, HTTP_PARAM_REPLICAS_MAX,
     offsetof(http_params_t, pw)},
    {"timeout_ms", 10, HTTP_PARAM_TIMEOUT_MS, 1, HTTP_PARAM_TIMEOUT_MS_MAX,
     offsetof(http_params_t, timeout_ms)},
    {"sloppy", 6, HTTP_PARAM_SLOPPY, 0, 1, 0},
};

/* The parameter named name (nl bytes), or NULL. n, r and w, which
 * clients send on every request, by their letter. */
static const struct http__param *http__param_find(const char *name, size_t nl)
{
	if (nl == 1) {
		switch (name[0]) {
		case 'n': return &http__params[0];
		case 'r': return &http__params[1];
		case 'w': return &http__params[2];
		default: return NULL;
		}
	}
	for (size_t i = 3; i < sizeof http__params / sizeof http__params[0];
	     i++) {
		const struct http__param *e = &http__params[i];
		if (e->name_len == nl && memcmp(e->name, name, nl) == 0)
			return e; /* names are unique */
	}
	return NULL;
}

/* One decoded name=value pair into p; 0 or -1 with err written. The
 * name is made printable only for a message: the good case needs none. */
static int http__param(const char *name, size_t nl, const char *val, size_t vl,
                       http_params_t *p, char *err, size_t esz)
{
	char shown[48];
	const struct http__param *d = http__param_find(name, nl);
	if (d == NULL) {
		http__printable(name, nl, shown, sizeof shown);
		snprintf(err, esz, "unknown query parameter '%s'", shown);
		return -1;
	}
	if (p->present & d->bit) {
		snprintf(err, esz, "query parameter '%s' given twice", d->name);
		return -1;
	}
	if (d->bit == HTTP_PARAM_SLOPPY) {
		if (http__bool(val, vl, &p->sloppy) != 0) {
			snprintf(err, esz,
			         "query parameter 'sloppy' must be true, "
			         "false, 1 or 0");
			return -1;
		}
	} else if (http__uint(val, vl, d->lo, d->hi,
	                      (uint32_t *)((char *)p + d->off)) != 0) {
		snprintf(err, esz,
		         "query parameter '%s' must be an integer from %u "
		         "to %u",
		         d->name, (unsigned)d->lo, (unsigned)d->hi);
		return -1;
	}
	p->present |= d->bit;
	return 0;
}

/*
 * Applies one piece "name=value" (n bytes at s; eq: the offset of its
 * first '=', or n when it has none). A piece with nothing to decode (no
 * '%', no '+': what clients send, "n=1") is read where it lies; others
 * are decoded into buffers first. Either way a name or value over
 * HTTP__PARAM_BYTES is refused as before.
 */
static int http__piece(const char *s, size_t n, size_t eq, int encoded,
                       http_params_t *p, char *err, size_t esz)
{
	char name[HTTP__PARAM_BYTES], val[HTTP__PARAM_BYTES];
	size_t nl = eq;
	size_t vl = eq < n ? n - nl - 1 : 0;
	if (!encoded && nl <= sizeof name && vl <= sizeof val)
		return http__param(s, nl, s + nl + 1, vl, p, err, esz);
	long dn = -1, dv = -1;
	if (nl <= sizeof name)
		dn = http__pct_decode(s, nl, 1, name);
	if (vl <= sizeof val)
		dv = eq < n ? http__pct_decode(s + eq + 1, vl, 1, val) : 0;
	if (dn < 0) {
		char shown[48];
		http__printable(s, nl, shown, sizeof shown);
		snprintf(err, esz, "bad query parameter name '%s'", shown);
		return -1;
	}
	if (dv < 0) {
		/* over long or badly encoded: a bad value for a known name,
		 * an unknown parameter otherwise */
		val[0] = '%';
		return http__param(name, (size_t)dn, val, 1, p, err, esz);
	}
	return http__param(name, (size_t)dn, val, (size_t)dv, p, err, esz);
}

int http_params_parse(const char *q, size_t len, http_params_t *p, char *err,
                      size_t err_size)
{
	sh_assert(err != NULL && err_size > 0);
	memset(p, 0, sizeof *p);
	err[0] = '\0';
	size_t i = 0;
	/* Each round consumes one piece and its '&', in one pass over its
	 * bytes (pieces are a few bytes: a loop beats memchr calls). */
	while (i < len) {
		size_t start = i, eq = SIZE_MAX;
		int encoded = 0;
		for (; i < len && q[i] != '&'; i++) {
			if (q[i] == '=' && eq == SIZE_MAX)
				eq = i - start;
			else if (q[i] == '%' || q[i] == '+')
				encoded = 1;
		}
		size_t n = i - start;
		if (n > 0 && http__piece(q + start, n, eq < n ? eq : n, encoded,
		                         p, err, err_size) != 0)
			return SH_EINVAL;
		i++;
	}
	return SH_OK;
}

/* ---- routes ---- */

#define HTTP__M(m) (1u << (m))
#define HTTP__GET  (HTTP__M(HTTP_METH_GET) | HTTP__M(HTTP_METH_HEAD))

static const struct http__rdef {
	const char *seg0, *seg1; /* fixed segments; seg1 NULL for one */
	int has_bk;              /* {bucket}/{key} follow */
	int has_params;          /* takes the quorum parameters */
	http_route_t route;
	uint32_t methods; /* HTTP__M bits */
	const char *allow;
	const char *pattern; /* for messages */
} http__routes[] = {
    {"kv", NULL, 1, 1, HTTP_ROUTE_KV,
     HTTP__GET | HTTP__M(HTTP_METH_PUT) | HTTP__M(HTTP_METH_DELETE),
     "GET, HEAD, PUT, DELETE", "/kv/{bucket}/{key}"},
    {"dt", NULL, 1, 1, HTTP_ROUTE_DT, HTTP__GET | HTTP__M(HTTP_METH_POST),
     "GET, HEAD, POST", "/dt/{bucket}/{key}"},
    {"cluster", "members", 0, 0, HTTP_ROUTE_MEMBERS, HTTP__GET, "GET, HEAD",
     "/cluster/members"},
    {"cluster", "ring", 0, 0, HTTP_ROUTE_RING, HTTP__GET, "GET, HEAD",
     "/cluster/ring"},
    {"cluster", "preflist", 1, 1, HTTP_ROUTE_PREFLIST, HTTP__GET, "GET, HEAD",
     "/cluster/preflist/{bucket}/{key}"},
    {"cluster", "replicas", 1, 1, HTTP_ROUTE_REPLICAS, HTTP__GET, "GET, HEAD",
     "/cluster/replicas/{bucket}/{key}"},
    {"cluster", "hints", 0, 0, HTTP_ROUTE_HINTS, HTTP__GET, "GET, HEAD",
     "/cluster/hints"},
    {"cluster", "aae", 0, 0, HTTP_ROUTE_AAE, HTTP__GET, "GET, HEAD",
     "/cluster/aae"},
    {"cluster", "transfers", 0, 0, HTTP_ROUTE_TRANSFERS, HTTP__GET, "GET, HEAD",
     "/cluster/transfers"},
    {"cluster", "leave", 0, 0, HTTP_ROUTE_LEAVE, HTTP__M(HTTP_METH_POST),
     "POST", "/cluster/leave"},
    {"stats", NULL, 0, 0, HTTP_ROUTE_STATS, HTTP__GET, "GET, HEAD", "/stats"},
    {"metrics", NULL, 0, 0, HTTP_ROUTE_METRICS, HTTP__GET, "GET, HEAD",
     "/metrics"},
    {"health", NULL, 0, 0, HTTP_ROUTE_HEALTH, HTTP__GET, "GET, HEAD",
     "/health"},
};

#define HTTP__NROUTES (sizeof http__routes / sizeof http__routes[0])

static int http__seg_is(const http_str_t *seg, const char *s)
{
	size_t n = strlen(s);
	return seg->len == n && memcmp(seg->ptr, s, n) == 0;
}

static const struct http__rdef *http__find(const http_req_t *req)
{
	for (size_t i = 0; i < HTTP__NROUTES; i++) {
		const struct http__rdef *d = &http__routes[i];
		uint32_t fixed = d->seg1 != NULL ? 2 : 1;
		if (req->seg_count != fixed + (d->has_bk ? 2u : 0u))
			continue;
		if (!http__seg_is(&req->segs[0], d->seg0))
			continue;
		if (d->seg1 != NULL && !http__seg_is(&req->segs[1], d->seg1))
			continue;
		return d;
	}
	return NULL;
}

/* Sets the status and the message a followed by b. */
static int http__fail(http_match_t *m, int status, const char *a, const char *b)
{
	m->status = status;
	snprintf(m->error, sizeof m->error, "%s%s", a, b);
	return SH_EINVAL;
}

/* Bucket and key checks: 400 empty or NUL in the bucket, 413 too long. */
static int http__check_names(http_match_t *m)
{
	static const char *what[2] = {"bucket", "key"};
	size_t len[2] = {m->bucket_len, m->key_len};
	for (int i = 0; i < 2; i++) {
		if (len[i] == 0)
			return http__fail(m, 400, what[i],
			                  " must not be empty");
		if (len[i] > HTTP_NAME_BYTES_MAX) {
			m->status = 413;
			snprintf(m->error, sizeof m->error,
			         "%s is %zu bytes, over the limit of %u",
			         what[i], len[i], HTTP_NAME_BYTES_MAX);
			return SH_EINVAL;
		}
	}
	if (memchr(m->bucket, 0, m->bucket_len) != NULL)
		return http__fail(m, 400, "bucket must not contain a NUL byte",
		                  "");
	return SH_OK;
}

static void http__shown_path(const http_req_t *req, char *out, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < req->path.len && k + 4 < size && i < 100; i++) {
		uint8_t c = (uint8_t)req->path.ptr[i];
		out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[k] = '\0';
}

int http_route_match(const http_req_t *req, http_match_t *m)
{
	char shown[112];
	memset(m, 0, sizeof *m);
	m->method = req->method;
	if (req->path_bad)
		return http__fail(m, 400, "malformed percent-encoding in path",
		                  "");
	const struct http__rdef *d = req->segs_over ? NULL : http__find(req);
	if (d == NULL) {
		http__shown_path(req, shown, sizeof shown);
		return http__fail(m, 404, "no such path: ", shown);
	}
	m->route = d->route;
	if (req->method == HTTP_METH_OTHER ||
	    !(d->methods & HTTP__M(req->method))) {
		m->allow = d->allow;
		m->status = 405;
		snprintf(m->error, sizeof m->error,
		         "method %s not allowed on %s (allowed: %s)",
		         req->method_name != NULL ? req->method_name : "?",
		         d->pattern, d->allow);
		return SH_EINVAL;
	}
	if (d->has_bk) {
		uint32_t b = d->seg1 != NULL ? 2 : 1;
		m->bucket = (const uint8_t *)req->segs[b].ptr;
		m->bucket_len = req->segs[b].len;
		m->key = (const uint8_t *)req->segs[b + 1].ptr;
		m->key_len = req->segs[b + 1].len;
		if (http__check_names(m) != SH_OK)
			return SH_EINVAL;
	}
	if (d->has_params && req->query.ptr != NULL &&
	    http_params_parse(req->query.ptr, req->query.len, &m->params,
	                      m->error, sizeof m->error) != SH_OK) {
		m->status = 400;
		return SH_EINVAL;
	}
	return SH_OK;
}

const char *http_route_name(http_route_t route)
{
	switch (route) {
	case HTTP_ROUTE_NONE: return "none";
	case HTTP_ROUTE_KV: return "kv";
	case HTTP_ROUTE_DT: return "dt";
	case HTTP_ROUTE_MEMBERS: return "members";
	case HTTP_ROUTE_RING: return "ring";
	case HTTP_ROUTE_PREFLIST: return "preflist";
	case HTTP_ROUTE_REPLICAS: return "replicas";
	case HTTP_ROUTE_LEAVE: return "leave";
	case HTTP_ROUTE_STATS: return "stats";
	case HTTP_ROUTE_METRICS: return "metrics";
	case HTTP_ROUTE_HEALTH: return "health";
	case HTTP_ROUTE_HINTS: return "hints";
	case HTTP_ROUTE_AAE: return "aae";
	case HTTP_ROUTE_TRANSFERS: return "transfers";
	}
	return "none";
}
