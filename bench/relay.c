/*
 * relay.c - shoal-relay: the floor a box sets under shoal's three-node
 * request path. Each relay takes GET and SET in RESP (shoal-bench's redis
 * driver) and does what a shoal coordinator does with the network and
 * nothing else: every command goes to every other relay as a frame
 * (batched per peer per loop turn, as shoal batches), each answers at
 * once, and the client's reply leaves after --acks answers (1: shoal's
 * r=2/w=2 with its own copy counted). No HTTP, no storage, no causality:
 * whatever latency a run of shoal-bench sees against three relays is the
 * box's (its syscalls, wakeups and scheduling), not shoal's work.
 * `make bench` runs it beside shoal at the same open-loop rate.
 *
 *   shoal-relay --index I --listen H:P --peers H:P,H:P,H:P
 *               [--acks K] [--value-size N] [--connect-s S]
 *
 * --peers lists every relay's internode address in the same order for
 * all of them; this one listens on entry I. A relay that cannot reach a
 * peer (within --connect-s, 10 s) or write to it exits: it is a measuring tool,
 * and a run with a dead peer measures nothing. A client that sends
 * anything but GET or SET gets an error and is closed; so is an inbound
 * internode connection that sends something other than frames.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bench/relay_proto.h"

#define RELAY_PEERS_MAX  8
#define RELAY_SLOTS      65536 /* commands in flight */
#define RELAY_CMD_MAX    (1u << 20)
#define RELAY_READ_CHUNK 65536
#define RELAY_RETRY_MS   100 /* between connect attempts */

typedef struct relay relay_t;

typedef struct link {
	uv_tcp_t tcp;
	relay_t *r;
	sh_buf_t in, out;
	int client;       /* a client's connection, else a peer's inbound one */
	int closing;      /* no more reads; freed when pending reaches 0 */
	int dirty;        /* out holds bytes for the end of the turn */
	int in_flight;    /* a uv_write of its bytes is under way */
	unsigned pending; /* slots naming it */
	struct link *next_dirty;
} link_t;

typedef struct peer {
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_timer_t retry;
	relay_t *r;
	struct sockaddr_storage addr;
	sh_buf_t out;
	int up, dirty, in_flight;
	unsigned tries;
} peer_t;

typedef struct slot {
	link_t *client; /* NULL: free */
	uint8_t get, answers;
} slot_t;

struct relay {
	uv_loop_t loop;
	uv_tcp_t clients, peers_in;
	uv_prepare_t flush;
	uv_signal_t sigterm, sigint;
	peer_t peers[RELAY_PEERS_MAX];
	unsigned npeers, index, acks;
	unsigned connect_tries; /* --connect-s, in RELAY_RETRY_MS attempts */
	slot_t *slots;
	uint32_t *free_ids;
	uint32_t nfree;
	link_t *dirty;
	uint8_t *value;
	uint32_t value_len;
	uint8_t read_buf[RELAY_READ_CHUNK];
	int exit_code;
};

typedef struct write_req {
	uv_write_t req;
	sh_buf_t buf;
	int *in_flight;
} write_req_t;

static void fail(relay_t *r, const char *what, int err)
{
	fprintf(stderr, "shoal-relay %u: %s: %s\n", r->index, what,
	        err ? uv_strerror(err) : "failed");
	r->exit_code = 1;
	uv_stop(&r->loop);
}

/* ---- writing: whatever a turn queued, in one write per connection ---- */

static void written(uv_write_t *req, int status)
{
	write_req_t *w = (write_req_t *)req;
	*w->in_flight = 0;
	sh_buf_free(&w->buf);
	free(w);
	(void)status; /* a failed stream reports itself on read */
}

/* Try the bytes at once; what the socket does not take goes in a
 * uv_write, and later bytes wait for it (in_flight) to keep the order. */
static int write_out(uv_stream_t *s, sh_buf_t *out, int *in_flight)
{
	if (out->len == 0 || *in_flight)
		return 0;
	uv_buf_t b = uv_buf_init((char *)out->data, (unsigned)out->len);
	int n = uv_try_write(s, &b, 1);
	if (n < 0 && n != UV_EAGAIN)
		return n;
	size_t off = n > 0 ? (size_t)n : 0;
	if (off == out->len) {
		sh_buf_reset(out);
		return 0;
	}
	write_req_t *w = calloc(1, sizeof *w);
	if (w == NULL)
		return UV_ENOMEM;
	w->buf = *out; /* move */
	sh_buf_init(out);
	memmove(w->buf.data, w->buf.data + off, w->buf.len - off);
	w->buf.len -= off;
	w->in_flight = in_flight;
	*in_flight = 1;
	b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
	return uv_write(&w->req, s, &b, 1, written);
}

static void link_closed(uv_handle_t *h)
{
	link_t *l = h->data;
	sh_buf_free(&l->in);
	sh_buf_free(&l->out);
	free(l);
}

static void link_release(link_t *l)
{
	if (l->closing && l->pending == 0 && !l->dirty &&
	    !uv_is_closing((uv_handle_t *)&l->tcp))
		uv_close((uv_handle_t *)&l->tcp, link_closed);
}

static void on_flush(uv_prepare_t *h)
{
	relay_t *r = h->data;
	for (unsigned i = 0; i < r->npeers; i++) {
		peer_t *p = &r->peers[i];
		if (p->dirty && p->up) {
			p->dirty = 0;
			int rc = write_out((uv_stream_t *)&p->tcp, &p->out,
			                   &p->in_flight);
			if (rc != 0)
				fail(r, "peer write", rc);
		}
	}
	while (r->dirty != NULL) {
		link_t *l = r->dirty;
		r->dirty = l->next_dirty;
		l->dirty = 0;
		if (write_out((uv_stream_t *)&l->tcp, &l->out, &l->in_flight))
			l->closing = 1;
		link_release(l);
	}
}

static void mark(link_t *l)
{
	if (!l->dirty) {
		l->dirty = 1;
		l->next_dirty = l->r->dirty;
		l->r->dirty = l;
	}
}

/* ---- the relay's work ---- */

static void send_frame(relay_t *r, unsigned to, const relay_frame_t *f)
{
	peer_t *p = &r->peers[to];
	if (relay_frame_put(&p->out, f) != 0) {
		fail(r, "out of memory", 0);
		return;
	}
	p->dirty = 1;
}

static void client_answer(relay_t *r, link_t *c, int get)
{
	char head[32];
	int n =
	    get ? snprintf(head, sizeof head, "$%" PRIu32 "\r\n", r->value_len)
	        : snprintf(head, sizeof head, "+OK\r\n");
	if (sh_buf_append(&c->out, head, (size_t)n) != 0 ||
	    (get && (sh_buf_append(&c->out, r->value, r->value_len) != 0 ||
	             sh_buf_append(&c->out, "\r\n", 2) != 0))) {
		c->closing = 1;
		return;
	}
	mark(c);
}

static void on_reply(relay_t *r, const relay_frame_t *f)
{
	if (f->id >= RELAY_SLOTS || r->slots[f->id].client == NULL)
		return; /* not ours: ignore, as a stale answer */
	slot_t *s = &r->slots[f->id];
	link_t *c = s->client;
	s->answers++;
	if (s->answers == r->acks && !c->closing)
		client_answer(r, c, s->get);
	if (s->answers < r->npeers - 1)
		return;
	s->client = NULL;
	r->free_ids[r->nfree++] = f->id;
	c->pending--;
	link_release(c);
}

static void on_command(relay_t *r, link_t *c, relay_cmd_t cmd)
{
	if (r->nfree == 0) {
		fail(r, "more commands in flight than slots", 0);
		return;
	}
	uint32_t id = r->free_ids[--r->nfree];
	r->slots[id] = (slot_t){.client = c, .get = cmd == RELAY_CMD_GET};
	c->pending++;
	relay_frame_t f = {
	    .kind = cmd == RELAY_CMD_GET ? RELAY_FRAME_GET : RELAY_FRAME_SET,
	    .from = (uint8_t)r->index,
	    .id = id,
	    .len = cmd == RELAY_CMD_SET ? r->value_len : 0,
	    .value = r->value,
	};
	for (unsigned i = 0; i < r->npeers; i++)
		if (i != r->index)
			send_frame(r, i, &f);
}

/* No more reads from l; it goes once nothing names it and its bytes left. */
static void link_stop(link_t *l)
{
	l->closing = 1;
	uv_read_stop((uv_stream_t *)&l->tcp);
	link_release(l);
}

/* Drop the first `used` bytes of l's input: the messages handled. */
static void link_consume(link_t *l, size_t used)
{
	memmove(l->in.data, l->in.data + used, l->in.len - used);
	l->in.len -= used;
}

static void client_input(link_t *c)
{
	size_t off = 0;
	long n;
	relay_cmd_t cmd;
	while ((n = relay_resp_next(c->in.data + off, c->in.len - off,
	                            RELAY_CMD_MAX, &cmd)) > 0) {
		off += (size_t)n;
		on_command(c->r, c, cmd);
	}
	if (n < 0) {
		static const char err[] =
		    "-ERR shoal-relay takes GET and SET\r\n";
		sh_buf_append(&c->out, err, sizeof err - 1);
		mark(c);
		link_stop(c);
		return;
	}
	link_consume(c, off);
}

/* A peer asks: answer at once (a GET's answer carries a value). */
static void answer_peer(relay_t *r, const relay_frame_t *ask)
{
	if (ask->from >= r->npeers || ask->from == r->index)
		return;
	int get = ask->kind == RELAY_FRAME_GET;
	relay_frame_t a = {
	    .kind = RELAY_FRAME_REPLY,
	    .from = (uint8_t)r->index,
	    .id = ask->id,
	    .len = get ? r->value_len : 0,
	    .value = r->value,
	};
	send_frame(r, ask->from, &a);
}

static void peer_input(link_t *l)
{
	relay_t *r = l->r;
	size_t off = 0;
	long n;
	relay_frame_t f;
	while ((n = relay_frame_next(l->in.data + off, l->in.len - off,
	                             RELAY_CMD_MAX, &f)) > 0) {
		off += (size_t)n;
		if (f.kind == RELAY_FRAME_REPLY)
			on_reply(r, &f);
		else
			answer_peer(r, &f);
	}
	if (n < 0) { /* whoever it is, it is no relay of ours */
		fprintf(stderr,
		        "shoal-relay %u: garbage on the internode port\n",
		        r->index);
		link_stop(l);
		return;
	}
	link_consume(l, off);
}

/* ---- connections ---- */

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	link_t *l = h->data;
	(void)size;
	b->base = (char *)l->r->read_buf;
	b->len = sizeof l->r->read_buf;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	link_t *l = s->data;
	if (n < 0) {
		link_stop(l);
		return;
	}
	if (sh_buf_append(&l->in, b->base, (size_t)n) != 0) {
		fail(l->r, "out of memory", 0);
		return;
	}
	if (l->client)
		client_input(l);
	else
		peer_input(l);
}

static void on_accept(uv_stream_t *server, int status)
{
	relay_t *r = server->data;
	if (status < 0)
		return;
	link_t *l = calloc(1, sizeof *l);
	if (l == NULL)
		return;
	l->r = r;
	l->client = server == (uv_stream_t *)&r->clients;
	uv_tcp_init(&r->loop, &l->tcp);
	l->tcp.data = l;
	if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0) {
		uv_close((uv_handle_t *)&l->tcp, link_closed);
		return;
	}
	uv_tcp_nodelay(&l->tcp, 1);
	uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
}

static void peer_connect(peer_t *p);

static void on_retry(uv_timer_t *t)
{
	peer_connect(t->data);
}

/* The handle is reused for the next attempt only once it is closed. */
static void on_failed_closed(uv_handle_t *h)
{
	peer_t *p = h->data;
	uv_timer_start(&p->retry, on_retry, RELAY_RETRY_MS, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
	peer_t *p = req->data;
	if (status == 0) {
		p->up = 1;
		uv_tcp_nodelay(&p->tcp, 1);
		return;
	}
	if (++p->tries >= p->r->connect_tries) {
		fail(p->r, "connect to a peer", status);
		return;
	}
	uv_close((uv_handle_t *)&p->tcp, on_failed_closed);
}

static void peer_connect(peer_t *p)
{
	uv_tcp_init(&p->r->loop, &p->tcp);
	p->tcp.data = p;
	p->connect.data = p;
	int rc = uv_tcp_connect(&p->connect, &p->tcp,
	                        (const struct sockaddr *)&p->addr, on_connect);
	if (rc != 0)
		fail(p->r, "connect", rc);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	uv_stop(s->loop);
}

/* ---- command line ---- */

static int parse_addr(const char *s, size_t len, struct sockaddr_storage *out)
{
	char host[64];
	const char *colon = memchr(s, ':', len);
	if (colon == NULL || (size_t)(colon - s) >= sizeof host)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	int port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return -1;
	return uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0 ? 0 : -1;
}

static int parse_peers(relay_t *r, const char *list)
{
	while (*list && r->npeers < RELAY_PEERS_MAX) {
		size_t n = strcspn(list, ",");
		if (parse_addr(list, n, &r->peers[r->npeers++].addr) != 0)
			return -1;
		list += n;
		if (*list == ',')
			list++;
	}
	return *list ? -1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: shoal-relay --index I --listen H:P --peers "
	        "H:P,H:P[,...]\n"
	        "       [--acks K] [--value-size N] [--connect-s S]\n"
	        "  (IPv4 addresses; --peers: every relay's internode address, "
	        "the same list for all)\n");
	return 2;
}

static int parse_args(relay_t *r, int argc, char **argv,
                      struct sockaddr_storage *listen)
{
	int have_listen = 0, have_index = 0;
	int connect_s = 10;
	r->acks = 1;
	r->value_len = 100;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--index") == 0) {
			r->index = (unsigned)atoi(v);
			have_index = 1;
		} else if (strcmp(k, "--listen") == 0) {
			if (parse_addr(v, strlen(v), listen) != 0)
				return -1;
			have_listen = 1;
		} else if (strcmp(k, "--peers") == 0) {
			if (parse_peers(r, v) != 0)
				return -1;
		} else if (strcmp(k, "--acks") == 0) {
			r->acks = (unsigned)atoi(v);
		} else if (strcmp(k, "--value-size") == 0) {
			r->value_len = (uint32_t)atoi(v);
		} else if (strcmp(k, "--connect-s") == 0) {
			connect_s = atoi(v);
		} else {
			return -1;
		}
	}
	if (argc % 2 == 0 || !have_listen || !have_index || r->npeers < 2 ||
	    r->index >= r->npeers || r->acks < 1 || r->acks > r->npeers - 1 ||
	    r->value_len > RELAY_CMD_MAX / 2 || connect_s < 1 ||
	    connect_s > 3600)
		return -1;
	r->connect_tries = (unsigned)connect_s * 1000 / RELAY_RETRY_MS;
	return 0;
}

static int listen_on(relay_t *r, uv_tcp_t *t,
                     const struct sockaddr_storage *addr)
{
	uv_tcp_init(&r->loop, t);
	t->data = r;
	int rc = uv_tcp_bind(t, (const struct sockaddr *)addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)t, 512, on_accept);
	return rc;
}

int main(int argc, char **argv)
{
	static relay_t r;
	struct sockaddr_storage listen;
	if (parse_args(&r, argc, argv, &listen) != 0)
		return usage();
	r.slots = calloc(RELAY_SLOTS, sizeof *r.slots);
	r.free_ids = calloc(RELAY_SLOTS, sizeof *r.free_ids);
	r.value = malloc(r.value_len + 1);
	if (!r.slots || !r.free_ids || !r.value)
		return 1;
	memset(r.value, 'v', r.value_len);
	for (uint32_t i = 0; i < RELAY_SLOTS; i++)
		r.free_ids[r.nfree++] = RELAY_SLOTS - 1 - i;
	uv_loop_init(&r.loop);
	int rc = listen_on(&r, &r.clients, &listen);
	if (rc == 0)
		rc = listen_on(&r, &r.peers_in, &r.peers[r.index].addr);
	if (rc != 0) {
		fprintf(stderr, "shoal-relay: listen: %s\n", uv_strerror(rc));
		return 1;
	}
	for (unsigned i = 0; i < r.npeers; i++) {
		peer_t *p = &r.peers[i];
		p->r = &r;
		if (i == r.index)
			continue;
		uv_timer_init(&r.loop, &p->retry);
		p->retry.data = p;
		peer_connect(p);
	}
	uv_prepare_init(&r.loop, &r.flush);
	r.flush.data = &r;
	uv_prepare_start(&r.flush, on_flush);
	uv_signal_init(&r.loop, &r.sigterm);
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	uv_signal_init(&r.loop, &r.sigint);
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	return r.exit_code;
}
