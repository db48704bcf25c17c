/*
 * gen_corpus.c - fuzz-gen-corpus: writes the seed inputs of every fuzz
 * target, made with the real encoders, to OUTDIR/<target>/<name>:
 *   http        requests of every route and method, pipelined, chunked,
 *               100-continue, HTTP/1.0, bad ones;
 *   json        CRDT operation bodies and JSON of every kind of value;
 *   dvv         encoded kv objects (siblings, tombstones) and client
 *               contexts;
 *   crdt        encoded objects of every type, maps nested;
 *   causal      encoded contexts, with and without a cloud;
 *   swim        the packets and stream messages a real cluster sends to
 *               n0, as frames for fuzz_swim.c;
 *   coord_wire  the internode messages a real four-node cluster sends to
 *               n0 while it serves fuzz_coord.h's requests, as frames for
 *               fuzz_coord_wire.c; stored records of both kinds.
 *   merkle      a whole anti-entropy exchange between fuzz_merkle.h's two
 *               replicas, every message as a frame for fuzz_merkle.c, with
 *               and without the walk below the segments; its prefixes.
 *   aae         what n2 of fuzz_aae.h sends n1 while each runs an
 *               exchange with the other (MERKLE, REPAIR, REPLY), as frames
 *               for fuzz_aae.c, and its prefixes; a REFUSE and messages
 *               of every type encoded alone.
 *   journal     journal files written by node/store_journal.c (one record;
 *               puts, dels and del_prefixes over several records; a torn
 *               tail; a new round over an older one's records; seqs that
 *               wrap), each behind fuzz_journal.c's mode and sel bytes.
 * Plus, for each, truncated and byte-flipped variants of some inputs.
 * Deterministic: the same build writes the same files. Usage:
 *   fuzz-gen-corpus OUTDIR
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "crdt/causal.h"
#include "crdt/crdt.h"
#include "crdt/dvv.h"
#include "fuzz_aae.h"
#include "fuzz_coord.h"
#include "fuzz_merkle.h"
#include "fuzz_util.h"
#include "gossip/swim.h"
#include "node/aae_int.h"
#include "node/store_journal.h"

static const char *outdir;
static unsigned written;

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
}

/* write_file - OUTDIR/target/name := p[0..len). */
static void put(const char *target, const char *name, const void *p, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || (len != 0 && fwrite(p, 1, len, f) != len) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	written++;
}

/* put plus a truncated (half) and a corrupted (one byte flipped) copy. */
static void put_variants(const char *target, const char *name, const void *p,
                         size_t len)
{
	char vname[256];
	uint8_t *copy;

	put(target, name, p, len);
	if (len < 2)
		return;
	snprintf(vname, sizeof(vname), "%s.trunc", name);
	put(target, vname, p, len / 2);
	copy = malloc(len);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, p, len);
	copy[len * 2 / 3] ^= 0x41;
	snprintf(vname, sizeof(vname), "%s.flip", name);
	put(target, vname, copy, len);
	free(copy);
}

static void put_buf(const char *target, const char *name, const sh_buf_t *b,
                    int variants)
{
	if (variants)
		put_variants(target, name, b->data, b->len);
	else
		put(target, name, b->data, b->len);
}

static void frame_put(sh_buf_t *b, uint8_t tag, const void *p, size_t len)
{
	uint8_t h[3];

	FUZZ_CHECK(len <= 0xffff);
	h[0] = tag;
	h[1] = (uint8_t)(len & 0xff);
	h[2] = (uint8_t)(len >> 8);
	FUZZ_CHECK(sh_buf_append(b, h, 3) == 0);
	FUZZ_CHECK(sh_buf_append(b, p, len) == 0);
}

/* ---- http ---- */

static void gen_http(void)
{
	static const struct {
		const char *name, *text;
	} reqs[] = {
	    {"get", "GET /kv/b/k HTTP/1.1\r\nHost: x\r\n\r\n"},
	    {"get-params",
	     "GET /kv/b/k?r=1&pr=1&timeout_ms=100&sloppy=false HTTP/1.1\r\n"
	     "Host: x\r\n\r\n"},
	    {"put",
	     "PUT /kv/b/k?w=3&n=3&pw=2 HTTP/1.1\r\nHost: x\r\nContent-Type: "
	     "text/plain\r\nContent-Length: 5\r\nX-Shoal-Context: "
	     "g0MBkpCQ\r\n\r\nhello"},
	    {"put-chunked",
	     "PUT /kv/b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\n abc\r\n0\r\nTrailer: "
	     "t\r\n\r\n"},
	    {"put-continue", "PUT /kv/b/k HTTP/1.1\r\nHost: x\r\nExpect: "
	                     "100-continue\r\nContent-Length: 3\r\n\r\nabc"},
	    {"delete", "DELETE /kv/b/k HTTP/1.1\r\nHost: x\r\nX-Shoal-Context: "
	               "g0MBkpCQ\r\n\r\n"},
	    {"dt-post",
	     "POST /dt/carts/u1 HTTP/1.1\r\nHost: x\r\nContent-Type: "
	     "application/json\r\nContent-Length: 67\r\n\r\n"
	     "{\"type\":\"map\",\"update\":{\"sku-1\":{\"counter\":{"
	     "\"increment\":2}}}}"},
	    {"dt-get", "GET /dt/carts/u1?r=3 HTTP/1.1\r\nHost: x\r\n\r\n"},
	    {"head", "HEAD /kv/b/k HTTP/1.1\r\nHost: x\r\n\r\n"},
	    {"members", "GET /cluster/members HTTP/1.1\r\n\r\n"},
	    {"ring", "GET /cluster/ring HTTP/1.1\r\n\r\n"},
	    {"preflist", "GET /cluster/preflist/b/k?n=2 HTTP/1.1\r\n\r\n"},
	    {"replicas", "GET /cluster/replicas/b/k HTTP/1.1\r\n\r\n"},
	    {"leave",
	     "POST /cluster/leave HTTP/1.1\r\nContent-Length: 0\r\n\r\n"},
	    {"stats", "GET /stats HTTP/1.1\r\n\r\n"},
	    {"metrics", "GET /metrics HTTP/1.1\r\n\r\n"},
	    {"health", "GET /health HTTP/1.0\r\n\r\n"},
	    {"keepalive-10",
	     "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	     "GET /stats HTTP/1.0\r\n\r\n"},
	    {"close", "GET /kv/b/k HTTP/1.1\r\nConnection: close\r\n\r\nGET /x "
	              "HTTP/1.1\r\n\r\n"},
	    {"pipelined",
	     "GET /kv/b/1 HTTP/1.1\r\n\r\nGET /kv/b/2 HTTP/1.1\r\n\r\n"
	     "PUT /kv/b/3 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"
	     "GET /kv/b/4 HTTP/1.1\r\n\r\nDELETE /kv/b/5 HTTP/1.1\r\n\r\n"
	     "GET /health HTTP/1.1\r\n\r\n"},
	    {"percent",
	     "GET /kv/b%2Fc/k%00%20z?n=%33 HTTP/1.1\r\nHost: x\r\n\r\n"},
	    {"bad-percent", "GET /kv/b/%zz HTTP/1.1\r\n\r\n"},
	    {"bad-param", "GET /kv/b/k?q=1&r=99&r=1 HTTP/1.1\r\n\r\n"},
	    {"bad-quorum", "GET /kv/b/k?n=1&r=2 HTTP/1.1\r\n\r\n"},
	    {"method", "PATCH /kv/b/k HTTP/1.1\r\n\r\n"},
	    {"notfound", "GET /nope/a/b/c/d/e/f/g HTTP/1.1\r\n\r\n"},
	    {"empty-bucket", "GET /kv//k HTTP/1.1\r\n\r\n"},
	    {"dup-host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
	    {"big-length",
	     "PUT /kv/b/k HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"},
	    {"garbage", "\x01\x02 / HTTP/9.9\r\n\r\n"},
	    {"upgrade", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
	                "Upgrade\r\n\r\nxx"},
	};
	char big[1200];
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		put_variants("http", reqs[i].name, reqs[i].text,
		             strlen(reqs[i].text));
	/* a header past the tight limit (256) but within the default */
	memcpy(big, "GET /kv/b/k HTTP/1.1\r\nX-Long: ", 30);
	memset(big + 30, 'a', 1000);
	memcpy(big + 1030, "\r\n\r\n", 4);
	put("http", "long-header", big, 1034);
}

/* ---- json ---- */

static void gen_json(void)
{
	static const struct {
		const char *name, *text;
	} docs[] = {
	    {"counter", "{\"type\":\"counter\",\"increment\":-3}"},
	    {"set",
	     "{\"type\":\"set\",\"add\":[\"a\",\"b\"],\"remove\":[\"c\"]}"},
	    {"register", "{\"type\":\"register\",\"assign\":\"v\"}"},
	    {"map", "{\"type\":\"map\",\"update\":{\"sku-1\":{\"counter\":{"
	            "\"increment\":2}},\"tags\":{\"set\":{\"add\":[\"x\"]}}},"
	            "\"remove\":[{\"name\":\"old\",\"type\":\"register\"}]}"},
	    {"numbers", "[0,-0,1,-1,18446744073709551615,-9223372036854775808,"
	                "18446744073709551616,1.5,-2.5e-3,1E+308,1e999,0.1]"},
	    {"strings",
	     "[\"\",\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\",\"\\u0000\","
	     "\"\\u00e9\\u20ac\",\"\\ud83d\\ude00\",\"\xc3\xa9\xe2\x82\xac\"]"},
	    {"literals", "[true,false,null,{},[],[[]],{\"a\":{}}]"},
	    {"nested", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]"},
	    {"ws", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n"},
	    {"nul-key", "{\"a\\u0000b\":1,\"a\":2}"},
	    {"dup-key", "{\"a\":1,\"a\":2}"},
	    {"trailing-comma", "[1,2,]"},
	    {"leading-zero", "[01]"},
	    {"lone-surrogate", "[\"\\ud800\"]"},
	    {"bad-utf8", "[\"\xc0\xaf\xed\xa0\x80\"]"},
	    {"scalar", "42"},
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		put_variants("json", docs[i].name, docs[i].text,
		             strlen(docs[i].text));
}

/* ---- causal contexts, dvv objects, crdts ---- */

static void actor(crdt_actor_t *a, const char *name, uint64_t epoch)
{
	FUZZ_CHECK(crdt_actor_init(a, name, strlen(name), epoch) == 0);
}

static void put_ctx(const char *name, const crdt_ctx_t *ctx)
{
	sh_buf_t b;
	sh_mp_writer_t w;

	sh_buf_init(&b);
	sh_mp_writer_init(&w, &b);
	FUZZ_CHECK(crdt_ctx_encode(ctx, &w) == 0);
	put_buf("causal", name, &b, 1);
	sh_buf_reset(&b);
	FUZZ_CHECK(dvv_ctx_encode(ctx, &b) == 0);
	put_buf("dvv", name, &b, 1);
	sh_buf_free(&b);
}

static void put_record(const char *name, const coord_obj_t *obj)
{
	sh_buf_t b;
	char rname[128];

	sh_buf_init(&b);
	FUZZ_CHECK(sh_buf_append_u8(&b, 0x80) == 0);
	FUZZ_CHECK(coord_obj_encode(obj, &b) == 0);
	snprintf(rname, sizeof(rname), "record-%s", name);
	put_buf("coord_wire", rname, &b, 1);
	sh_buf_free(&b);
}

static void gen_causal(void)
{
	crdt_ctx_t c;
	crdt_dot_t d;
	crdt_actor_t a, b;

	actor(&a, "n1", 101);
	actor(&b, "n2", 102);
	crdt_ctx_init(&c);
	put_ctx("ctx-empty", &c);
	FUZZ_CHECK(crdt_ctx_next(&c, &a, &d) == 0);
	FUZZ_CHECK(crdt_ctx_next(&c, &a, &d) == 0);
	FUZZ_CHECK(crdt_ctx_next(&c, &b, &d) == 0);
	put_ctx("ctx-vv", &c);
	d.actor = b;
	d.counter = 5;
	FUZZ_CHECK(crdt_ctx_add(&c, &d) == 0);
	d.counter = 9;
	FUZZ_CHECK(crdt_ctx_add(&c, &d) == 0);
	actor(&d.actor, "n3", 7);
	d.counter = 3;
	FUZZ_CHECK(crdt_ctx_add(&c, &d) == 0);
	put_ctx("ctx-cloud", &c);
	crdt_ctx_free(&c);
}

static void gen_dvv(void)
{
	crdt_actor_t a, b;
	dvv_t o1, o2;
	crdt_ctx_t ctx;
	dvv_value_t v;
	sh_buf_t buf;
	coord_obj_t rec;

	actor(&a, "n1", 101);
	actor(&b, "n2", 102);
	dvv_init(&o1);
	dvv_init(&o2);
	crdt_ctx_init(&ctx);
	sh_buf_init(&buf);
	memset(&v, 0, sizeof(v));
	FUZZ_CHECK(dvv_encode(&o1, &buf) == 0);
	put_buf("dvv", "obj-empty", &buf, 0);
	v.value = (const uint8_t *)"hello";
	v.value_len = 5;
	v.content_type = "text/plain";
	v.content_type_len = 10;
	v.timestamp_ms = 1700000000000ull;
	FUZZ_CHECK(dvv_update(&o1, NULL, &a, &v, NULL) == 0);
	sh_buf_reset(&buf);
	FUZZ_CHECK(dvv_encode(&o1, &buf) == 0);
	put_buf("dvv", "obj-one", &buf, 1);
	memset(&rec, 0, sizeof(rec));
	rec.kind = COORD_KIND_KV;
	rec.kv = o1;
	put_record("kv-one", &rec);
	/* a concurrent write elsewhere, then the join: two siblings */
	v.value = (const uint8_t *)"world!";
	v.value_len = 6;
	FUZZ_CHECK(dvv_update(&o2, NULL, &b, &v, NULL) == 0);
	FUZZ_CHECK(dvv_sync(&o1, &o2) == 0);
	sh_buf_reset(&buf);
	FUZZ_CHECK(dvv_encode(&o1, &buf) == 0);
	put_buf("dvv", "obj-siblings", &buf, 1);
	rec.kv = o1;
	put_record("kv-siblings", &rec);
	FUZZ_CHECK(dvv_join(&o1, &ctx) == 0);
	put_ctx("ctx-join", &ctx);
	/* a delete with that context: one tombstone */
	memset(&v, 0, sizeof(v));
	v.tombstone = 1;
	v.timestamp_ms = 1700000000001ull;
	FUZZ_CHECK(dvv_update(&o1, &ctx, &b, &v, NULL) == 0);
	sh_buf_reset(&buf);
	FUZZ_CHECK(dvv_encode(&o1, &buf) == 0);
	put_buf("dvv", "obj-tombstone", &buf, 1);
	rec.kv = o1;
	put_record("kv-tombstone", &rec);
	sh_buf_free(&buf);
	crdt_ctx_free(&ctx);
	dvv_free(&o1);
	dvv_free(&o2);
}

static void put_crdt(const char *name, const crdt_t *c)
{
	sh_buf_t b;
	coord_obj_t rec;
	sh_mp_writer_t w;
	char cname[128];

	sh_buf_init(&b);
	FUZZ_CHECK(crdt_encode(c, &b) == 0);
	put_buf("crdt", name, &b, 1);
	sh_buf_free(&b);
	memset(&rec, 0, sizeof(rec));
	rec.kind = COORD_KIND_DT;
	rec.dt = *c;
	put_record(name, &rec);
	/* its context, for the causal target */
	sh_buf_init(&b);
	sh_mp_writer_init(&w, &b);
	FUZZ_CHECK(crdt_ctx_encode(&c->ctx, &w) == 0);
	snprintf(cname, sizeof(cname), "ctx-of-%s", name);
	put_buf("causal", cname, &b, 0);
	sh_buf_free(&b);
}

static void gen_crdt(void)
{
	crdt_actor_t a, b;
	crdt_t c, d;
	crdt_op_t inc, add, asg, nested;

	actor(&a, "n1", 101);
	actor(&b, "n2", 102);

	FUZZ_CHECK(crdt_init(&c, CRDT_COUNTER) == 0);
	put_crdt("counter-empty", &c);
	FUZZ_CHECK(crdt_counter_increment(&c, &a, 5) == 0);
	FUZZ_CHECK(crdt_counter_increment(&c, &b, -2) == 0);
	FUZZ_CHECK(crdt_counter_increment(&c, &a, 1) == 0);
	put_crdt("counter", &c);
	crdt_free(&c);

	FUZZ_CHECK(crdt_init(&c, CRDT_SET) == 0);
	FUZZ_CHECK(crdt_set_add(&c, &a, "apple", 5) == 0);
	FUZZ_CHECK(crdt_set_add(&c, &b, "pear", 4) == 0);
	FUZZ_CHECK(crdt_set_add(&c, &a, "", 0) == 0);
	FUZZ_CHECK(crdt_set_remove(&c, &b, "apple", 5) == 0);
	FUZZ_CHECK(crdt_init(&d, CRDT_SET) == 0);
	FUZZ_CHECK(crdt_set_add(&d, &b, "pear", 4) == 0);
	FUZZ_CHECK(crdt_merge(&c, &d) == 0);
	put_crdt("set", &c);
	crdt_free(&c);
	crdt_free(&d);

	FUZZ_CHECK(crdt_init(&c, CRDT_REGISTER) == 0);
	FUZZ_CHECK(crdt_register_assign(&c, &a, 1000, "v1", 2) == 0);
	FUZZ_CHECK(crdt_init(&d, CRDT_REGISTER) == 0);
	FUZZ_CHECK(crdt_register_assign(&d, &b, 1000, "v2", 2) == 0);
	FUZZ_CHECK(crdt_merge(&c, &d) == 0); /* two concurrent entries */
	put_crdt("register", &c);
	crdt_free(&c);
	crdt_free(&d);

	memset(&inc, 0, sizeof(inc));
	inc.kind = CRDT_OP_COUNTER_INCREMENT;
	inc.u.increment = 3;
	memset(&add, 0, sizeof(add));
	add.kind = CRDT_OP_SET_ADD;
	add.u.element.bytes = "x";
	add.u.element.len = 1;
	memset(&asg, 0, sizeof(asg));
	asg.kind = CRDT_OP_REGISTER_ASSIGN;
	asg.u.value.bytes = "val";
	asg.u.value.len = 3;
	memset(&nested, 0, sizeof(nested));
	nested.kind = CRDT_OP_MAP_UPDATE;
	nested.u.field.name = "inner";
	nested.u.field.name_len = 5;
	nested.u.field.type = CRDT_COUNTER;
	nested.u.field.op = &inc;
	FUZZ_CHECK(crdt_init(&c, CRDT_MAP) == 0);
	FUZZ_CHECK(
	    crdt_map_update(&c, &a, 1000, "qty", 3, CRDT_COUNTER, &inc) == 0);
	FUZZ_CHECK(crdt_map_update(&c, &a, 1000, "tags", 4, CRDT_SET, &add) ==
	           0);
	FUZZ_CHECK(
	    crdt_map_update(&c, &b, 1000, "name", 4, CRDT_REGISTER, &asg) == 0);
	FUZZ_CHECK(crdt_map_update(&c, &b, 1000, "sub", 3, CRDT_MAP, &nested) ==
	           0);
	FUZZ_CHECK(
	    crdt_map_update(&c, &a, 1000, "gone", 4, CRDT_COUNTER, &inc) == 0);
	FUZZ_CHECK(crdt_map_remove(&c, &a, "gone", 4, CRDT_COUNTER) == 0);
	put_crdt("map", &c);
	crdt_free(&c);
}

/* ---- swim ---- */

#define SWIM_NODES 3

typedef struct swim_net {
	swim_t s[SWIM_NODES];
	char name[SWIM_NODES][8], addr[SWIM_NODES][8];
	sh_buf_t seq;     /* frames delivered to n0, in order */
	unsigned to0;     /* frames delivered to n0 */
	unsigned singles; /* single-frame files written */
} swim_net_t;

static int swim_index(const swim_net_t *n, const char *addr)
{
	int i;

	for (i = 0; i < SWIM_NODES; i++)
		if (strcmp(n->addr[i], addr) == 0)
			return i;
	return -1;
}

static void swim_record(swim_net_t *n, uint8_t tag, int from, const uint8_t *p,
                        size_t len)
{
	sh_buf_t one;
	char name[64];

	tag |= (uint8_t)((from - 1) << 4); /* a1 -> 0, a2 -> 1 */
	if (n->to0 < 80)
		frame_put(&n->seq, tag, p, len);
	n->to0++;
	if (n->singles < 40) {
		sh_buf_init(&one);
		frame_put(&one, tag, p, len);
		snprintf(name, sizeof(name), "frame-%02u", n->singles++);
		put_buf("swim", name, &one, n->singles % 4 == 0);
		sh_buf_free(&one);
	}
}

/* Pull node i's outputs and deliver them (recursively, bounded by the
 * batch limits: replies to streams are delivered at once). */
static void swim_pump(swim_net_t *n, int i, uint64_t now_ms)
{
	swim_ready_t r;
	sh_buf_t *pk, reply;
	size_t k, count;
	int j;

	swim_ready(&n->s[i], &r);
	/* copy: delivering may touch the sender's batch */
	count = r.packets_len + r.streams_len;
	pk = calloc(count + 1, sizeof(*pk));
	FUZZ_CHECK(pk != NULL);
	for (k = 0; k < r.packets_len; k++)
		FUZZ_CHECK(sh_buf_append(&pk[k], r.packets[k].data,
		                         r.packets[k].len) == 0);
	for (k = 0; k < r.streams_len; k++)
		FUZZ_CHECK(sh_buf_append(&pk[r.packets_len + k],
		                         r.streams[k].data,
		                         r.streams[k].len) == 0);
	{
		char(*to)[SWIM_ADDR_MAX + 1] = calloc(count + 1, sizeof(*to));
		size_t np = r.packets_len;

		FUZZ_CHECK(to != NULL);
		for (k = 0; k < r.packets_len; k++)
			strcpy(to[k], r.packets[k].to);
		for (k = 0; k < r.streams_len; k++)
			strcpy(to[np + k], r.streams[k].to);
		swim_advance(&n->s[i]);
		for (k = 0; k < count; k++) {
			int stream = k >= np;

			j = swim_index(n, to[k]);
			if (j < 0)
				continue;
			if (j == 0)
				swim_record(n, stream ? 3 : 0, i, pk[k].data,
				            pk[k].len);
			if (!stream) {
				swim_recv(&n->s[j], now_ms, n->addr[i],
				          pk[k].data, pk[k].len);
				continue;
			}
			sh_buf_init(&reply);
			swim_recv_state(&n->s[j], now_ms, n->addr[i],
			                pk[k].data, pk[k].len, &reply);
			if (reply.len > 0) {
				if (i == 0)
					swim_record(n, 1, j, reply.data,
					            reply.len);
				swim_recv_state(&n->s[i], now_ms, n->addr[j],
				                reply.data, reply.len, NULL);
			}
			sh_buf_free(&reply);
		}
		free(to);
	}
	for (k = 0; k < count; k++)
		sh_buf_free(&pk[k]);
	free(pk);
}

static void gen_swim(void)
{
	static swim_net_t n;
	swim_config_t cfg;
	const char *seed = "a0";
	uint64_t now_ms;
	int i, round;

	memset(&n, 0, sizeof(n));
	for (i = 0; i < SWIM_NODES; i++) {
		snprintf(n.name[i], sizeof(n.name[i]), "n%d", i);
		snprintf(n.addr[i], sizeof(n.addr[i]), "a%d", i);
		swim_config_default(&cfg);
		cfg.name = n.name[i];
		cfg.addr = n.addr[i];
		cfg.http_addr = "h0";
		cfg.partitions = 64;
		cfg.seed = (uint64_t)i + 1;
		cfg.members_max = 64;
		cfg.time_scale = 0.1;
		FUZZ_CHECK(swim_init(&n.s[i], &cfg) == 0);
	}
	now_ms = 1000;
	for (i = 1; i < SWIM_NODES; i++)
		FUZZ_CHECK(swim_join(&n.s[i], now_ms, &seed, 1) == 0);
	for (round = 0; round < 300; round++) {
		for (i = 0; i < SWIM_NODES; i++) {
			/* n2 goes quiet for a while: suspect, dead, back */
			if (i == 2 && round >= 100 && round < 200)
				continue;
			swim_tick(&n.s[i], now_ms);
			swim_pump(&n, i, now_ms);
		}
		if (round == 250)
			swim_leave(&n.s[1], now_ms);
		now_ms += 10;
	}
	put_buf("swim", "sequence", &n.seq, 0);
	for (i = 0; i < SWIM_NODES; i++)
		swim_free(&n.s[i]);
	sh_buf_free(&n.seq);
}

/* ---- coord ---- */

typedef struct coord_msgq {
	int from, to;
	sh_buf_t body;
} coord_msgq_t;

typedef struct coord_net {
	coord_t c[FUZZ_COORD_NODES];
	store_t st[FUZZ_COORD_NODES];
	coord_msgq_t q[4096];
	size_t q_head, q_len;
	sh_buf_t seq; /* frames to n0, mode byte first */
	unsigned to0;
} coord_net_t;

static int coord_index(const char *name)
{
	int i;

	for (i = 0; i < FUZZ_COORD_NODES; i++)
		if (strcmp(fuzz_coord_names[i], name) == 0)
			return i;
	return -1;
}

/* collect node i's outputs into the queue (its batch is committed) */
static void coord_collect(coord_net_t *n, int i)
{
	coord_ready_t r;
	size_t k;

	coord_ready(&n->c[i], &r);
	for (k = 0; k < r.msg_count; k++) {
		coord_msgq_t *m;

		FUZZ_CHECK(n->q_len < sizeof(n->q) / sizeof(n->q[0]));
		m = &n->q[n->q_len++];
		m->from = i;
		m->to = coord_index(r.msgs[k].to);
		FUZZ_CHECK(m->to >= 0);
		sh_buf_init(&m->body);
		FUZZ_CHECK(sh_buf_append(&m->body, r.msgs[k].data,
		                         r.msgs[k].len) == 0);
	}
	coord_advance(&n->c[i]);
}

static void gen_coord(void)
{
	static coord_net_t n;
	static const char *const msg_names[] = {
	    "?",          "write",   "write-ack",    "read",
	    "read-reply", "forward", "forward-reply"};
	unsigned seen[8] = {0};
	coord_value_t v = {(const uint8_t *)"fwd", 3, NULL, 0};
	char key[16], name[64];
	int i;

	memset(&n, 0, sizeof(n));
	for (i = 0; i < FUZZ_COORD_NODES; i++)
		fuzz_coord_open(&n.c[i], &n.st[i], i);
	FUZZ_CHECK(sh_buf_append_u8(&n.seq, 1) == 0);
	fuzz_coord_start(&n.c[0], &n.st[0]);
	coord_collect(&n, 0);
	/* n3 takes a write it does not replicate: forwarded (to n0 when n0
	 * is its first primary) */
	fuzz_coord_key(&n.c[0], 1, key);
	FUZZ_CHECK(store_begin(&n.st[3]) == 0);
	FUZZ_CHECK(coord_kv_put(&n.c[3], FUZZ_COORD_T0, 7, "f", 1, key,
	                        strlen(key), NULL, &v, NULL, 0) == 0);
	FUZZ_CHECK(store_commit(&n.st[3]) == 0);
	coord_collect(&n, 3);
	while (n.q_head < n.q_len) {
		coord_msgq_t *m = &n.q[n.q_head++];
		uint64_t now_ms = FUZZ_COORD_T0 + 1;

		if (m->to == 0) {
			uint8_t type = m->body.len > 2 ? m->body.data[2] : 0;
			sh_buf_t one;

			now_ms += n.to0++;
			frame_put(&n.seq, (uint8_t)(m->from - 1), m->body.data,
			          m->body.len);
			if (type < 7 && seen[type]++ < 2) {
				sh_buf_init(&one);
				FUZZ_CHECK(sh_buf_append_u8(&one, 1) == 0);
				frame_put(&one, (uint8_t)(m->from - 1),
				          m->body.data, m->body.len);
				snprintf(name, sizeof(name), "msg-%s-%u",
				         msg_names[type], seen[type]);
				put_buf("coord_wire", name, &one, 1);
				/* the same to a node with nothing in flight */
				one.data[0] = 0;
				snprintf(name, sizeof(name), "msg-%s-%u-idle",
				         msg_names[type], seen[type]);
				put_buf("coord_wire", name, &one, 0);
				sh_buf_free(&one);
			}
		}
		FUZZ_CHECK(store_begin(&n.st[m->to]) == 0);
		(void)coord_recv(&n.c[m->to], now_ms, fuzz_coord_names[m->from],
		                 m->body.data, m->body.len);
		FUZZ_CHECK(store_commit(&n.st[m->to]) == 0);
		coord_collect(&n, m->to);
		sh_buf_free(&m->body);
	}
	put_buf("coord_wire", "sequence", &n.seq, 0);
	for (i = 0; i < FUZZ_COORD_NODES; i++)
		fuzz_coord_close(&n.c[i], &n.st[i]);
	sh_buf_free(&n.seq);
}

/* ---- merkle ---- */

/* Hand x's messages to its peer, recorded as frames with tag; answer a
 * request for keys. Returns 1 if x had anything. */
static int merkle_turn(sh_buf_t *seq, merkle_exchange_t *x, int replica,
                       merkle_exchange_t *peer, uint8_t tag)
{
	merkle_ready_t rd;
	merkle_exchange_ready(x, &rd);
	int moved = rd.msg_count > 0 || rd.want_keys;
	for (size_t i = 0; i < rd.msg_count; i++) {
		frame_put(seq, tag, rd.msgs[i].data, rd.msgs[i].len);
		(void)merkle_exchange_recv(peer, 1000, rd.msgs[i].data,
		                           rd.msgs[i].len);
	}
	int want = rd.want_keys;
	merkle_exchange_advance(x);
	if (want)
		fuzz_merkle_feed(x, replica, 1000);
	return moved;
}

static void gen_merkle(void)
{
	for (uint32_t sub = 0; sub <= 4; sub += 4) {
		merkle_t ta, tb;
		merkle_exchange_t r, in;
		merkle_xconfig_t xc;
		sh_buf_t seq;
		sh_buf_init(&seq);
		fuzz_merkle_tree(&ta, 0);
		fuzz_merkle_tree(&tb, 1);
		fuzz_merkle_xconfig(&xc);
		xc.sub_fanout = sub;
		FUZZ_CHECK(merkle_exchange_init(&r, &xc, &ta) == 0);
		FUZZ_CHECK(merkle_exchange_init(&in, &xc, &tb) == 0);
		FUZZ_CHECK(merkle_exchange_start(&in, 1000, FUZZ_MERKLE_XID) ==
		           0);
		int moved = 1;
		for (int turn = 0; moved && turn < 10000; turn++) {
			/* I's messages go to R (tag 0), R's to I (tag 1) */
			moved = merkle_turn(&seq, &in, 1, &r, 0);
			moved |= merkle_turn(&seq, &r, 0, &in, 1);
		}
		FUZZ_CHECK(!moved && in.state == MERKLE_X_DONE);
		put_buf("merkle", sub ? "exchange-sub" : "exchange-keys", &seq,
		        1);
		/* prefixes: the exchange stopped at every third message */
		sh_buf_t pre;
		sh_buf_init(&pre);
		fuzz_frames_t f;
		const uint8_t *body;
		size_t len;
		uint8_t tag;
		unsigned n = 0;
		fuzz_frames_init(&f, seq.data, seq.len);
		while (fuzz_frames_next(&f, &tag, &body, &len)) {
			frame_put(&pre, tag, body, len);
			if (++n % 3 == 0) {
				char name[64];
				snprintf(name, sizeof name, "%s-%u",
				         sub ? "sub" : "keys", n);
				put_buf("merkle", name, &pre, 0);
			}
		}
		sh_buf_free(&pre);
		sh_buf_free(&seq);
		merkle_exchange_free(&r);
		merkle_exchange_free(&in);
		merkle_free(&ta);
		merkle_free(&tb);
	}
}

/* ---- aae ---- */

/* n1's messages go to n2, in a store batch of their own. */
static void aae_to_n2(fuzz_aae_node_t *n1, fuzz_aae_node_t *n2, uint64_t now)
{
	aae_ready_t rd;

	aae_ready(&n1->a, &rd);
	for (size_t i = 0; i < rd.msg_count; i++) {
		FUZZ_CHECK(store_begin(&n2->s) == 0);
		(void)aae_recv(&n2->a, now, "n1", rd.msgs[i].data,
		               rd.msgs[i].len);
		FUZZ_CHECK(store_commit(&n2->s) == 0);
	}
	aae_advance(&n1->a);
}

/* One turn: n2 ticks; each of its messages to n1 becomes a frame (from
 * n2, n1 ticks first), or, when it has none, an empty frame that only
 * ticks n1; n1's answers go back to n2 at once. Returns what n2 sent. */
static size_t aae_turn(sh_buf_t *seq, fuzz_aae_node_t *n1, uint64_t *now1,
                       fuzz_aae_node_t *n2, uint64_t now2)
{
	aae_ready_t rd;
	sh_buf_t out; /* n2's messages, as frames: its outputs end with
	               * the next call that hands it anything */
	fuzz_frames_t f;
	const uint8_t *body;
	size_t len, sent = 0;
	uint8_t tag;

	sh_buf_init(&out);
	aae_tick(&n2->a, now2);
	aae_ready(&n2->a, &rd);
	for (size_t i = 0; i < rd.msg_count; i++)
		if (strcmp(rd.msgs[i].to, "n1") == 0)
			frame_put(&out, FUZZ_AAE_TAG_TICK, rd.msgs[i].data,
			          rd.msgs[i].len);
	aae_advance(&n2->a);
	if (out.len == 0)
		frame_put(&out, FUZZ_AAE_TAG_TICK, NULL, 0);
	fuzz_frames_init(&f, out.data, out.len);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		frame_put(seq, tag, body, len);
		(void)fuzz_aae_step(n1, now1, tag, body, len);
		aae_to_n2(n1, n2, now2);
		sent += len > 0;
	}
	sh_buf_free(&out);
	return sent;
}

/* Messages of every type, each alone in one frame from n2. */
static void gen_aae_single(void)
{
	static const uint8_t rec[] = {1, 2, 3};
	aae__entry_t e = {(const uint8_t *)"b",
	                  (const uint8_t *)"k0",
	                  rec,
	                  1,
	                  2,
	                  sizeof(rec),
	                  1,
	                  1};
	sh_buf_t m, seq;

	sh_buf_init(&m);
	sh_buf_init(&seq);
	FUZZ_CHECK(aae__enc_refuse(&m, 42, 3, SH_EFULL) == 0);
	frame_put(&seq, 0, m.data, m.len);
	put_buf("aae", "refuse", &seq, 1);
	for (int type = AAE_MSG_REPAIR; type <= AAE_MSG_REPLY; type++) {
		sh_buf_reset(&m);
		sh_buf_reset(&seq);
		FUZZ_CHECK(aae__enc_head(&m, type, 42, 3, 1, 2) == 0);
		FUZZ_CHECK(aae__enc_entry(&m, type, &e) == 0);
		e.has_record = 0; /* a REPAIR's "I lack it" */
		FUZZ_CHECK(aae__enc_entry(&m, type, &e) == 0);
		e.has_record = 1;
		frame_put(&seq, FUZZ_AAE_TAG_TICK, m.data, m.len);
		put_buf("aae", type == AAE_MSG_REPAIR ? "repair" : "reply",
		        &seq, 1);
	}
	sh_buf_reset(&m);
	sh_buf_reset(&seq);
	FUZZ_CHECK(aae__enc_merkle(&m, rec, sizeof(rec)) == 0);
	frame_put(&seq, 1, m.data, m.len);
	put_buf("aae", "merkle-short", &seq, 1);
	sh_buf_free(&m);
	sh_buf_free(&seq);
}

static void gen_aae(void)
{
	fuzz_aae_node_t n1, n2;
	uint64_t now1 = FUZZ_AAE_T0, now2 = FUZZ_AAE_T0;
	sh_buf_t seq, pre;
	fuzz_frames_t f;
	const uint8_t *body;
	size_t len;
	uint8_t tag;
	unsigned n = 0;

	sh_buf_init(&seq);
	fuzz_aae_open(&n1, 0);
	fuzz_aae_open(&n2, 1);
	/* until both have repaired keys as initiator, and are idle */
	for (int turn = 0; turn < 2000; turn++) {
		now2 += FUZZ_AAE_STEP_MS;
		size_t sent = aae_turn(&seq, &n1, &now1, &n2, now2);
		if (sent == 0 && aae_stats(&n1.a)->keys_repaired > 0 &&
		    aae_stats(&n2.a)->keys_repaired > 0 && !aae_busy(&n1.a) &&
		    !aae_busy(&n2.a))
			break;
	}
	FUZZ_CHECK(aae_stats(&n2.a)->keys_repaired > 0);
	FUZZ_CHECK(aae_stats(&n1.a)->keys_repaired > 0);
	put_buf("aae", "exchanges", &seq, 1);
	/* prefixes: cut after every fourth message */
	sh_buf_init(&pre);
	fuzz_frames_init(&f, seq.data, seq.len);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		frame_put(&pre, tag, body, len);
		if (len > 0 && ++n % 4 == 0) {
			char name[64];
			snprintf(name, sizeof name, "exchanges-%u", n);
			put_buf("aae", name, &pre, 0);
		}
	}
	sh_buf_free(&pre);
	sh_buf_free(&seq);
	fuzz_aae_close(&n1);
	fuzz_aae_close(&n2);
	gen_aae_single();
}

/* ---- journal ---- */

/* A journal file being written, for fuzz_journal.c's seeds. */
typedef struct gen_journal {
	char dir[64];
	char path[96];
	store_journal_t j;
} gen_journal_t;

static void journal_open(gen_journal_t *g, uint64_t bytes)
{
	snprintf(g->dir, sizeof(g->dir), "/tmp/shoal-gen-journal-XXXXXX");
	FUZZ_CHECK(mkdtemp(g->dir) != NULL);
	snprintf(g->path, sizeof(g->path), "%s/journal", g->dir);
	FUZZ_CHECK(store_journal_open(&g->j, g->path, bytes) == 0);
}

static void journal_close(gen_journal_t *g)
{
	store_journal_close(&g->j);
	FUZZ_CHECK(unlink(g->path) == 0 && rmdir(g->dir) == 0);
}

/* One record: a put of key to a value of vl bytes, then a del of key. */
static void journal_rec(gen_journal_t *g, const char *key, size_t vl)
{
	static uint8_t val[3000];

	FUZZ_CHECK(vl <= sizeof(val));
	memset(val, 'v', vl);
	FUZZ_CHECK(store_journal_put(&g->j, STORE_OBJECTS, (const uint8_t *)key,
	                             strlen(key), val, vl) == 0);
	FUZZ_CHECK(store_journal_del(&g->j, STORE_HINTS, (const uint8_t *)key,
	                             strlen(key)) == 0);
	FUZZ_CHECK(store_journal_write(&g->j) == 0);
}

/* Seed name: mode, sel, then the file's first `len` bytes. */
static void journal_put(gen_journal_t *g, const char *name, uint8_t mode,
                        uint8_t sel, size_t len, int variants)
{
	uint8_t *p = malloc(len + 2);
	ssize_t n;

	FUZZ_CHECK(p != NULL);
	p[0] = mode;
	p[1] = sel;
	n = pread(g->j.fd, p + 2, len, 0);
	FUZZ_CHECK(n == (ssize_t)len);
	if (variants)
		put_variants("journal", name, p, len + 2);
	else
		put("journal", name, p, len + 2);
	free(p);
}

static void gen_journal_mixed(void)
{
	static const uint8_t pfx[] = {0x00, 0x07};
	gen_journal_t g;

	journal_open(&g, STORE_JOURNAL_BYTES_MIN);
	journal_rec(&g, "k0", 5);
	FUZZ_CHECK(store_journal_del_prefix(&g.j, STORE_OBJECTS, pfx,
	                                    sizeof(pfx), 100) == 0);
	FUZZ_CHECK(store_journal_put(&g.j, STORE_META, (const uint8_t *)"m", 1,
	                             (const uint8_t *)"", 0) == 0);
	FUZZ_CHECK(store_journal_write(&g.j) == 0);
	FUZZ_CHECK(store_journal_del_prefix(&g.j, STORE_HINTS, NULL, 0,
	                                    UINT64_MAX) == 0);
	FUZZ_CHECK(store_journal_write(&g.j) == 0);
	journal_rec(&g, "k1", 40);
	size_t used = (size_t)store_journal_used(&g.j);
	journal_put(&g, "mixed", 0, 0, used, 1);
	journal_put(&g, "mixed-fix", 1, 0, used, 0);
	journal_put(&g, "mixed-after-2", 0, 2, used, 0);
	journal_put(&g, "mixed-after-first", 2, 0xff, used, 0);
	journal_put(&g, "mixed-fail-3", 0x30, 0, used, 0);
	journal_put(&g, "torn", 0, 0, used - 7, 0);
	journal_close(&g);
}

/* Records 1..4, then a checkpoint at 4 and record 5 over record 1. */
static void gen_journal_stale(void)
{
	gen_journal_t g;

	journal_open(&g, STORE_JOURNAL_BYTES_MIN);
	for (int i = 0; i < 4; i++)
		journal_rec(&g, "key", 8);
	size_t used = (size_t)store_journal_used(&g.j);
	store_journal_reset(&g.j, 4, 0);
	journal_rec(&g, "key", 8);
	journal_put(&g, "stale-after-4", 0, 4, used, 1);
	journal_put(&g, "stale-after-0", 0, 0, used, 0);
	journal_put(&g, "stale-after-first", 2, 0xff, used, 0);
	journal_close(&g);
}

/* Seqs UINT64_MAX - 1, UINT64_MAX, 0; a record bigger than the minimum. */
static void gen_journal_edges(void)
{
	gen_journal_t g;

	journal_open(&g, STORE_JOURNAL_BYTES_MIN);
	store_journal_reset(&g.j, UINT64_MAX - 2, 0);
	for (int i = 0; i < 3; i++)
		journal_rec(&g, "w", 1);
	journal_put(&g, "wrap", 2, 0xff, (size_t)store_journal_used(&g.j), 0);
	journal_close(&g);

	journal_open(&g, 2 * STORE_JOURNAL_BYTES_MIN);
	journal_rec(&g, "big", 3000);
	journal_rec(&g, "big", 1500);
	FUZZ_CHECK(store_journal_used(&g.j) > STORE_JOURNAL_BYTES_MIN);
	journal_put(&g, "big", 0, 0, (size_t)store_journal_used(&g.j), 0);
	journal_close(&g);
}

static void gen_journal(void)
{
	gen_journal_t g;

	journal_open(&g, STORE_JOURNAL_BYTES_MIN);
	journal_rec(&g, "k", 3);
	journal_put(&g, "one", 0, 0, (size_t)store_journal_used(&g.j), 1);
	journal_close(&g);
	gen_journal_mixed();
	gen_journal_stale();
	gen_journal_edges();
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-gen-corpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir_p(outdir);
	gen_http();
	gen_json();
	gen_causal();
	gen_dvv();
	gen_crdt();
	gen_swim();
	gen_coord();
	gen_merkle();
	gen_aae();
	gen_journal();
	printf("fuzz-gen-corpus: %u files in %s\n", written, outdir);
	return 0;
}
