/*
 * shoalctl.c - `shoalctl`, shoal's admin and client CLI (DESIGN.md
 * section 10, issue 4): a tiny blocking HTTP/1.1 client over plain
 * sockets (one request per connection, Connection: close) for the API of
 * DESIGN.md section 9. It links no node internals.
 *
 *   shoalctl [-H host:port] COMMAND [options]
 *     members | ring | preflist B K | get B K | put B K VALUE|- |
 *     del B K | dt-get B K | dt B K JSON | stats | metrics | health | leave
 *     | hints | transfers
 *   options: --n N --r R --w W --pr N --pw N --timeout-ms MS --sloppy B
 *            --context C (put, del) --type CONTENT-TYPE (put)
 *
 * Exit status: 0 for 2xx and 300, 1 for 404 and other errors (the body
 * goes to stderr), 2 for usage errors, 3 when the node cannot be reached.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CTL_URL_MAX  8192
#define CTL_BODY_MAX ((size_t)256 << 20)

typedef struct ctl_resp {
	int status;
	char *raw; /* the whole response, NUL-terminated; owned */
	size_t raw_len;
	char *body; /* into raw */
	size_t body_len;
	char ctype[256];
	char context[8192];
} ctl_resp_t;

typedef struct ctl_opts {
	const char *host;
	char query[512];
	const char *context;
	const char *type;
} ctl_opts_t;

static void ctl_usage(void)
{
	fputs("usage: shoalctl [-H host:port] COMMAND [args] [options]\n"
	      "  members | ring | stats | metrics | health | leave\n"
	      "  hints              hinted handoff: pending per destination\n"
	      "  aae                anti-entropy: totals, last exchange per "
	      "partition\n"
	      "  transfers          ownership handoff: moves in flight\n"
	      "  preflist B K       the nodes that hold B/K\n"
	      "  get B K            value(s) and context\n"
	      "  put B K VALUE|-    store VALUE (or stdin); --context C, "
	      "--type T\n"
	      "  del B K            delete; --context C\n"
	      "  dt-get B K         a CRDT's value (JSON)\n"
	      "  dt B K JSON        a CRDT operation, e.g. "
	      "'{\"type\":\"counter\",\"increment\":1}'\n"
	      "  options: --n --r --w --pr --pw --timeout-ms --sloppy\n"
	      "  -H defaults to $SHOAL_HTTP or 127.0.0.1:8101\n",
	      stderr);
}

/* Append s percent-encoded (unreserved characters stay) to out. */
static void ctl_escape(char *out, size_t size, const char *s)
{
	size_t len = strlen(out);
	for (; *s && len + 4 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			out[len++] = (char)ch;
		else
			len += (size_t)snprintf(out + len, size - len, "%%%02X",
			                        ch);
	}
	out[len] = '\0';
}

static int ctl_connect(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (colon == NULL || (size_t)(colon - hostport) >= sizeof host)
		return -1;
	const char *h = hostport;
	size_t hlen = (size_t)(colon - hostport);
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	struct addrinfo hints = {0}, *res, *ai;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {60, 0}; /* a stuck node fails the call */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int ctl_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int ctl_read_all(int fd, ctl_resp_t *r)
{
	size_t cap = 65536;
	r->raw = malloc(cap + 1);
	r->raw_len = 0;
	while (r->raw != NULL) {
		if (r->raw_len == cap) {
			if (cap >= CTL_BODY_MAX)
				return -1;
			char *p = realloc(r->raw, 2 * cap + 1);
			if (p == NULL)
				return -1;
			r->raw = p;
			cap *= 2;
		}
		ssize_t k = read(fd, r->raw + r->raw_len, cap - r->raw_len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		r->raw_len += (size_t)k;
	}
	if (r->raw == NULL)
		return -1;
	r->raw[r->raw_len] = '\0';
	return 0;
}

/* Copy header `name`'s value from the head (up to end) into out. */
static void ctl_header(const char *head, const char *end, const char *name,
                       char *out, size_t size)
{
	size_t nlen = strlen(name);
	out[0] = '\0';
	for (const char *p = strstr(head, "\r\n"); p && p < end;
	     p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		const char *v = line + nlen + 1;
		while (*v == ' ')
			v++;
		const char *e = strstr(v, "\r\n");
		size_t len = e ? (size_t)(e - v) : strlen(v);
		if (len >= size)
			len = size - 1;
		memcpy(out, v, len);
		out[len] = '\0';
		return;
	}
}

static int ctl_parse(ctl_resp_t *r)
{
	char *end = strstr(r->raw, "\r\n\r\n");
	if (end == NULL || sscanf(r->raw, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	ctl_header(r->raw, end, "Content-Type", r->ctype, sizeof r->ctype);
	ctl_header(r->raw, end, "X-Shoal-Context", r->context,
	           sizeof r->context);
	r->body = end + 4;
	r->body_len = r->raw_len - (size_t)(r->body - r->raw);
	return 0;
}

static int ctl_request(const ctl_opts_t *o, const char *method,
                       const char *path, const char *body, size_t body_len,
                       const char *ctype, const char *context, ctl_resp_t *r)
{
	int fd = ctl_connect(o->host);
	if (fd < 0) {
		fprintf(stderr, "shoalctl: cannot connect to %s\n", o->host);
		exit(3);
	}
	char head[CTL_URL_MAX + 9000];
	int len = snprintf(head, sizeof head,
	                   "%s %s HTTP/1.1\r\nHost: %s\r\n"
	                   "Connection: close\r\nContent-Length: %zu\r\n",
	                   method, path, o->host, body_len);
	if (ctype != NULL)
		len += snprintf(head + len, sizeof head - (size_t)len,
		                "Content-Type: %s\r\n", ctype);
	if (context != NULL && context[0])
		len += snprintf(head + len, sizeof head - (size_t)len,
		                "X-Shoal-Context: %s\r\n", context);
	len += snprintf(head + len, sizeof head - (size_t)len, "\r\n");
	memset(r, 0, sizeof *r);
	int rc = ctl_write_all(fd, head, (size_t)len);
	if (rc == 0 && body_len > 0)
		rc = ctl_write_all(fd, body, body_len);
	if (rc == 0)
		rc = ctl_read_all(fd, r);
	close(fd);
	if (rc == 0)
		rc = ctl_parse(r);
	if (rc != 0) {
		fprintf(stderr, "shoalctl: no valid reply from %s\n", o->host);
		exit(3);
	}
	return r->status;
}

static void ctl_print_body(FILE *f, const ctl_resp_t *r)
{
	fwrite(r->body, 1, r->body_len, f);
	if (r->body_len > 0 && r->body[r->body_len - 1] != '\n')
		fputc('\n', f);
}

/* Print each part of a multipart/mixed body, one sibling after another. */
static void ctl_print_siblings(const ctl_resp_t *r)
{
	const char *b = strstr(r->ctype, "boundary=");
	if (b == NULL) {
		ctl_print_body(stdout, r);
		return;
	}
	char delim[300];
	snprintf(delim, sizeof delim, "--%s", b + 9);
	size_t dlen = strlen(delim);
	const char *end = r->body + r->body_len;
	const char *p = strstr(r->body, delim);
	int i = 0;
	while (p != NULL && p + dlen + 2 <= end && strncmp(p + dlen, "--", 2)) {
		const char *hdr = p + dlen + 2;
		const char *data = strstr(hdr, "\r\n\r\n");
		if (data == NULL)
			break;
		data += 4;
		const char *next = data;
		while (
		    next + dlen + 2 <= end &&
		    (memcmp(next, "\r\n", 2) || memcmp(next + 2, delim, dlen)))
			next++;
		if (next + dlen + 2 > end)
			break;
		char ctype[256];
		ctl_header(hdr - 2, data, "Content-Type", ctype, sizeof ctype);
		printf("sibling %d (%s):\n", ++i, ctype);
		fwrite(data, 1, (size_t)(next - data), stdout);
		printf("\n");
		p = next + 2;
	}
}

static int ctl_finish(const ctl_resp_t *r, int print_ok)
{
	int ok = r->status >= 200 && r->status < 400;
	if (!ok) {
		fprintf(stderr, "%d ", r->status);
		ctl_print_body(stderr, r);
	} else if (print_ok && r->body_len > 0) {
		ctl_print_body(stdout, r);
	}
	return ok ? 0 : 1;
}

static void ctl_kv_path(char *path, size_t size, const char *root,
                        const char *bucket, const char *key, const char *query)
{
	snprintf(path, size, "/%s/", root);
	ctl_escape(path, size, bucket);
	strncat(path, "/", size - strlen(path) - 1);
	ctl_escape(path, size, key);
	if (query != NULL && query[0]) {
		strncat(path, "?", size - strlen(path) - 1);
		strncat(path, query, size - strlen(path) - 1);
	}
}

static char *ctl_read_stdin(size_t *len)
{
	size_t cap = 65536;
	char *buf = malloc(cap);
	*len = 0;
	while (buf != NULL) {
		if (*len == cap) {
			char *p =
			    cap < CTL_BODY_MAX ? realloc(buf, 2 * cap) : NULL;
			if (p == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
		size_t k = fread(buf + *len, 1, cap - *len, stdin);
		if (k == 0)
			break;
		*len += k;
	}
	return buf;
}

static int ctl_get(const ctl_opts_t *o, const char *b, const char *k)
{
	char path[CTL_URL_MAX];
	ctl_resp_t r;
	ctl_kv_path(path, sizeof path, "kv", b, k, o->query);
	ctl_request(o, "GET", path, NULL, 0, NULL, NULL, &r);
	if (r.status == 200)
		ctl_print_body(stdout, &r);
	else if (r.status == 300)
		ctl_print_siblings(&r);
	else
		ctl_finish(&r, 0);
	if (r.context[0])
		printf("context: %s\n", r.context);
	free(r.raw);
	return r.status == 200 || r.status == 300 ? 0 : 1;
}

static int ctl_write(const ctl_opts_t *o, const char *method, const char *root,
                     const char *b, const char *k, const char *val, size_t len,
                     const char *ctype)
{
	char path[CTL_URL_MAX];
	ctl_resp_t r;
	ctl_kv_path(path, sizeof path, root, b, k, o->query);
	ctl_request(o, method, path, val, len, ctype, o->context, &r);
	int rc = ctl_finish(&r, 0);
	if (rc == 0 && r.context[0])
		printf("context: %s\n", r.context);
	free(r.raw);
	return rc;
}

static int ctl_simple(const ctl_opts_t *o, const char *method, const char *path)
{
	ctl_resp_t r;
	ctl_request(o, method, path, NULL, 0, NULL, NULL, &r);
	int rc = ctl_finish(&r, 1);
	free(r.raw);
	return rc;
}

static int ctl_put(const ctl_opts_t *o, char **a)
{
	size_t len = strlen(a[2]);
	char *val = a[2];
	int from_stdin = strcmp(a[2], "-") == 0;
	if (from_stdin && (val = ctl_read_stdin(&len)) == NULL) {
		fprintf(stderr, "shoalctl: cannot read stdin\n");
		return 2;
	}
	int rc = ctl_write(o, "PUT", "kv", a[0], a[1], val, len,
	                   o->type ? o->type : "text/plain");
	if (from_stdin)
		free(val);
	return rc;
}

/* Run COMMAND with its positional arguments a[0..na). */
static int ctl_run(const ctl_opts_t *o, const char *cmd, char **a, int na)
{
	char path[CTL_URL_MAX];
	int need = 0;
	if (!strcmp(cmd, "preflist") || !strcmp(cmd, "get") ||
	    !strcmp(cmd, "del") || !strcmp(cmd, "dt-get") ||
	    !strcmp(cmd, "replicas"))
		need = 2;
	else if (!strcmp(cmd, "put") || !strcmp(cmd, "dt"))
		need = 3;
	if (na != need) {
		ctl_usage();
		return 2;
	}
	if (!strcmp(cmd, "members"))
		return ctl_simple(o, "GET", "/cluster/members");
	if (!strcmp(cmd, "ring"))
		return ctl_simple(o, "GET", "/cluster/ring");
	if (!strcmp(cmd, "stats"))
		return ctl_simple(o, "GET", "/stats");
	if (!strcmp(cmd, "hints"))
		return ctl_simple(o, "GET", "/cluster/hints");
	if (!strcmp(cmd, "aae"))
		return ctl_simple(o, "GET", "/cluster/aae");
	if (!strcmp(cmd, "transfers"))
		return ctl_simple(o, "GET", "/cluster/transfers");
	if (!strcmp(cmd, "metrics"))
		return ctl_simple(o, "GET", "/metrics");
	if (!strcmp(cmd, "health"))
		return ctl_simple(o, "GET", "/health");
	if (!strcmp(cmd, "leave"))
		return ctl_simple(o, "POST", "/cluster/leave");
	if (!strcmp(cmd, "preflist") || !strcmp(cmd, "replicas")) {
		ctl_kv_path(path, sizeof path,
		            cmd[0] == 'p' ? "cluster/preflist"
		                          : "cluster/replicas",
		            a[0], a[1], o->query);
		return ctl_simple(o, "GET", path);
	}
	if (!strcmp(cmd, "dt-get")) {
		ctl_kv_path(path, sizeof path, "dt", a[0], a[1], o->query);
		return ctl_simple(o, "GET", path);
	}
	if (!strcmp(cmd, "get"))
		return ctl_get(o, a[0], a[1]);
	if (!strcmp(cmd, "put"))
		return ctl_put(o, a);
	if (!strcmp(cmd, "del"))
		return ctl_write(o, "DELETE", "kv", a[0], a[1], NULL, 0, NULL);
	if (!strcmp(cmd, "dt"))
		return ctl_write(o, "POST", "dt", a[0], a[1], a[2],
		                 strlen(a[2]), "application/json");
	fprintf(stderr, "shoalctl: unknown command '%s'\n", cmd);
	ctl_usage();
	return 2;
}

static int ctl_option(ctl_opts_t *o, const char *name, const char *val)
{
	static const char *const params[] = {"n",  "r",          "w",     "pr",
	                                     "pw", "timeout-ms", "sloppy"};
	if (!strcmp(name, "context")) {
		o->context = val;
		return 0;
	}
	if (!strcmp(name, "type")) {
		o->type = val;
		return 0;
	}
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
		if (strcmp(name, params[i]) != 0)
			continue;
		size_t len = strlen(o->query);
		snprintf(o->query + len, sizeof o->query - len,
		         "%s%s=", len ? "&" : "",
		         i == 5 ? "timeout_ms" : params[i]);
		ctl_escape(o->query, sizeof o->query, val);
		return 0;
	}
	fprintf(stderr, "shoalctl: unknown option --%s\n", name);
	return -1;
}

int main(int argc, char **argv)
{
	ctl_opts_t o = {0};
	char *pos[8];
	int npos = 0;
	o.host = getenv("SHOAL_HTTP") ? getenv("SHOAL_HTTP") : "127.0.0.1:8101";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			ctl_usage();
			return 0;
		}
		if (!strcmp(a, "-H") && i + 1 < argc) {
			o.host = argv[++i];
		} else if (!strncmp(a, "--", 2) && a[2] && i + 1 < argc) {
			if (ctl_option(&o, a + 2, argv[++i]) != 0)
				return 2;
		} else if (!strncmp(a, "--", 2) && a[2]) {
			fprintf(stderr, "shoalctl: %s needs a value\n", a);
			return 2;
		} else if (npos < 8) {
			pos[npos++] = argv[i];
		} else {
			ctl_usage();
			return 2;
		}
	}
	if (npos == 0) {
		ctl_usage();
		return 2;
	}
	return ctl_run(&o, pos[0], pos + 1, npos - 1);
}
