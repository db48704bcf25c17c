/*
 * test_node.c - unit tests of the shell's pure parts: flags and config
 * file (node_config.c), CRDT operations and values as JSON (node_dt.c).
 * The shell's IO is tested by tests/integration/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "node/node.h"
#include "node/node_dt.h"
#include "node/node_int.h"

static int parse(node_config_t *cfg, char *err, const char *const *args)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "shoal";
	for (; *args != NULL; args++)
		argv[argc++] = (char *)*args;
	node_config_default(cfg);
	return node_config_parse(cfg, argc, argv, err, 256);
}

static void test_node_config_flags(void **state)
{
	(void)state;
	node_config_t cfg;
	char err[256];
	const char *args[] = {"--name",
	                      "n1",
	                      "--bind=127.0.0.1:7001",
	                      "--http",
	                      "127.0.0.1:8001",
	                      "--join",
	                      "127.0.0.1:7002,127.0.0.1:7003",
	                      "--n",
	                      "5",
	                      "--r",
	                      "3",
	                      "--w=4",
	                      "--sync",
	                      "none",
	                      "--partitions",
	                      "128",
	                      "--checkpoint-mutations",
	                      "100",
	                      "--inflight-max",
	                      "64",
	                      NULL};
	assert_int_equal(parse(&cfg, err, args), 0);
	assert_string_equal(cfg.name, "n1");
	assert_string_equal(cfg.bind, "127.0.0.1:7001");
	assert_int_equal(cfg.seeds_len, 2);
	assert_string_equal(cfg.seeds[1], "127.0.0.1:7003");
	assert_int_equal(cfg.n, 5);
	assert_int_equal(cfg.w, 4);
	assert_int_equal(cfg.sync, STORE_SYNC_NONE);
	assert_int_equal(cfg.partitions, 128);
	assert_string_equal(cfg.data_dir, "./data/n1");
	assert_int_equal(cfg.checkpoint_mutations, 100);
	assert_int_equal(cfg.inflight_max, 64);
}

static void test_node_config_errors(void **state)
{
	(void)state;
	node_config_t cfg;
	char err[256];
	const char *bad[][4] = {
	    {"--bogus", "1", NULL},
	    {"--n", "2", "--r", NULL},
	    {"--bind", "nohost", NULL},
	    {"--partitions", "100", NULL},
	    {"--sync", "maybe", NULL},
	    {"--n", "0", NULL},
	    {"--log-level", "loud", NULL},
	    {"stray", NULL},
	    {"--bind", "0.0.0.0:7000", NULL},
	    {"--checkpoint-mutations", "0", NULL},
	    {"--checkpoint-mutations", "many", NULL},
	    {"--inflight-max", "0", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(parse(&cfg, err, bad[i]), SH_EINVAL);
		assert_true(err[0] != '\0');
	}
	const char *rn[] = {"--n", "2", "--r", "3", NULL};
	assert_int_equal(parse(&cfg, err, rn), SH_EINVAL);
	const char *help[] = {"--help", NULL};
	assert_int_equal(parse(&cfg, err, help), 1);
}

static void test_node_config_file(void **state)
{
	(void)state;
	char path[] = "/tmp/shoal-test-node-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# comment\n  name = fromfile \nn = 1\nr=1\n"
	                   "w = 1\nhttp = 127.0.0.1:9001\n\n";
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	node_config_t cfg;
	char err[256];
	const char *args[] = {"--name", "fromflag", "--config", path, NULL};
	assert_int_equal(parse(&cfg, err, args), 0);
	assert_string_equal(cfg.name, "fromflag"); /* flags win */
	assert_int_equal(cfg.n, 1);
	assert_string_equal(cfg.http, "127.0.0.1:9001");
	FILE *f = fopen(path, "w");
	fputs("nonsense line\n", f);
	fclose(f);
	const char *args2[] = {"--config", path, NULL};
	assert_int_equal(parse(&cfg, err, args2), SH_EINVAL);
	assert_non_null(strstr(err, ":1:"));
	unlink(path);
}

static void test_node_addr_split(void **state)
{
	(void)state;
	char host[64];
	uint16_t port;
	assert_int_equal(node_addr_split("1.2.3.4:80", host, 64, &port), 0);
	assert_string_equal(host, "1.2.3.4");
	assert_int_equal(port, 80);
	assert_int_equal(node_addr_split("[::1]:7000", host, 64, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(node_addr_split("host:0", host, 64, &port), SH_EINVAL);
	assert_int_equal(node_addr_split("host:99999", host, 64, &port),
	                 SH_EINVAL);
	assert_int_equal(node_addr_split(":80", host, 64, &port), SH_EINVAL);
	assert_int_equal(node_addr_split("host", host, 64, &port), SH_EINVAL);
}

/* One spelling per port: another would be another peer (node_peer.c). */
static void test_node_addr_split_port_spelling(void **state)
{
	(void)state;
	char host[64];
	uint16_t port;
	assert_int_equal(node_addr_split("h:65535", host, 64, &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(node_addr_split("h:1", host, 64, &port), 0);
	assert_int_equal(port, 1);
	const char *bad[] = {"h:080",   "h:00080",
	                     "h:+80",   "h: 80",
	                     "h:-80",   "h:80 ",
	                     "h:0x50",  "[::1]:07000",
	                     "h:65536", "h:000000000000000000080",
	                     "h:"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(node_addr_split(bad[i], host, 64, &port),
		                 SH_EINVAL);
}

static int dt_parse(node_dt_req_t *d, const char *json)
{
	memset(d, 0, sizeof *d);
	return node_dt_parse(d, (const uint8_t *)json, strlen(json));
}

static void test_node_dt_parse_cart(void **state)
{
	(void)state;
	node_dt_req_t *d = malloc(sizeof *d);
	assert_non_null(d);
	assert_int_equal(
	    dt_parse(d, "{\"type\":\"map\",\"update\":{\"sku-1\":{\"counter\":"
	                "{\"increment\":2}},\"tags\":{\"set\":{\"add\":[\"a\","
	                "\"b\"]}}},\"remove\":[\"sku-9\",{\"name\":\"x\","
	                "\"type\":\"register\"}]}"),
	    0);
	assert_int_equal(d->type, CRDT_MAP);
	/* 1 counter update + 2 set adds + 4 untyped removes + 1 typed */
	assert_int_equal(d->count, 8);
	assert_int_equal(d->untyped_removes, 1);
	assert_int_equal(d->ops[0].kind, CRDT_OP_MAP_UPDATE);
	assert_int_equal(d->ops[0].u.field.type, CRDT_COUNTER);
	assert_int_equal(d->ops[0].u.field.op->kind, CRDT_OP_COUNTER_INCREMENT);
	assert_int_equal(d->ops[0].u.field.op->u.increment, 2);
	assert_int_equal(d->ops[2].u.field.op->kind, CRDT_OP_SET_ADD);
	assert_int_equal(d->ops[7].kind, CRDT_OP_MAP_REMOVE);
	assert_int_equal(d->ops[7].u.field.type, CRDT_REGISTER);
	node_dt_free(d);
	free(d);
}

static void test_node_dt_parse_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{",
	    "[]",
	    "{\"type\":\"nope\"}",
	    "{\"type\":\"counter\"}",
	    "{\"type\":\"counter\",\"increment\":1.5}",
	    "{\"type\":\"counter\",\"add\":[\"a\"]}",
	    "{\"type\":\"set\",\"add\":\"a\"}",
	    "{\"type\":\"set\",\"add\":[1]}",
	    "{\"type\":\"register\",\"assign\":3}",
	    "{\"type\":\"map\",\"update\":{\"f\":{\"counter\":1}}}",
	    "{\"type\":\"map\",\"update\":{\"f\":{\"a\":{},\"b\":{}}}}",
	    "{\"type\":\"map\",\"remove\":[{\"name\":\"f\"}]}",
	    /* keys holding NUL are other keys, not the name before it */
	    "{\"type\":\"counter\",\"increment\\u0000junk\":5}",
	    "{\"type\":\"counter\",\"increment\":1,\"type\\u0000x\":1}",
	    "{\"type\":\"counter\",\"increment\":1,\"context\\u0000\":1}",
	    "{\"type\":\"set\",\"add\\u0000\":[\"a\"]}",
	    "{\"type\":\"set\",\"remove\\u0000\":[\"a\"]}",
	    "{\"type\":\"register\",\"assign\\u0000\":\"x\"}",
	    "{\"type\":\"map\",\"update\\u0000\":{}}",
	};
	node_dt_req_t *d = malloc(sizeof *d);
	assert_non_null(d);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (dt_parse(d, bad[i]) != SH_EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		assert_true(d->err[0] != '\0');
		node_dt_free(d);
	}
	/* the message does not pass such a key off as the known one */
	assert_int_equal(
	    dt_parse(d, "{\"type\":\"counter\",\"increment\\u0000j\":5}"),
	    SH_EINVAL);
	assert_string_equal(d->err, "unknown counter operation \"increment\""
	                            " (the key holds a NUL byte)");
	node_dt_free(d);
	free(d);
}

/* Parse ops, apply them to a fresh object, render its value. */
static void apply_render(const char *ops, const char *want)
{
	node_dt_req_t *d = malloc(sizeof *d);
	assert_non_null(d);
	assert_int_equal(dt_parse(d, ops), 0);
	crdt_t c;
	crdt_actor_t a;
	assert_int_equal(crdt_init(&c, d->type), 0);
	assert_int_equal(crdt_actor_init(&a, "n1", 2, 7), 0);
	for (size_t i = 0; i < d->count; i++) {
		int rc = crdt_apply(&c, &a, 1000, &d->ops[i]);
		assert_true(rc == 0 || rc == SH_ENOTFOUND);
	}
	sh_buf_t out = {0};
	json_w_t w;
	json_w_init(&w, &out);
	json_w_obj_begin(&w);
	node_dt_value_json(&w, &c);
	json_w_obj_end(&w);
	assert_int_equal(json_w_end(&w), 0);
	sh_buf_append_u8(&out, 0);
	assert_string_equal((const char *)out.data, want);
	sh_buf_free(&out);
	crdt_free(&c);
	node_dt_free(d);
	free(d);
}

static void test_node_dt_values(void **state)
{
	(void)state;
	apply_render("{\"type\":\"counter\",\"increment\":-3}",
	             "{\"type\":\"counter\",\"value\":-3}");
	apply_render("{\"type\":\"set\",\"add\":[\"b\",\"a\"],\"remove\":"
	             "[\"b\"]}",
	             "{\"type\":\"set\",\"value\":[\"a\"]}");
	apply_render("{\"type\":\"register\",\"assign\":\"x\"}",
	             "{\"type\":\"register\",\"value\":\"x\"}");
	apply_render("{\"type\":\"map\",\"update\":{\"s\":{\"counter\":{"
	             "\"increment\":2}},\"s2\":{\"map\":{\"update\":{\"in\":"
	             "{\"register\":{\"assign\":\"v\"}}}}}}}",
	             "{\"type\":\"map\",\"value\":{\"s\":{\"counter\":2},"
	             "\"s2\":{\"map\":{\"in\":{\"register\":\"v\"}}}}}");
}

/* Base64 by the book, one character at a time, to check against. */
static void b64_ref(const uint8_t *p, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
	                        "uvwxyz0123456789+/";
	size_t j = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[j++] = a[v >> 18 & 63];
		out[j++] = a[v >> 12 & 63];
		out[j++] = i + 1 < len ? a[v >> 6 & 63] : '=';
		out[j++] = i + 2 < len ? a[v & 63] : '=';
	}
	out[j] = '\0';
}

/* The context's base64: RFC 4648's vectors, every 12-bit half of a
 * group, and random bytes of every length up to 80, against the
 * reference. */
static void test_node_b64_encode(void **state)
{
	(void)state;
	static const char *const vec[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	sh_buf_t out;
	sh_buf_init(&out);
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		assert_int_equal(node__b64_encode((const uint8_t *)vec[i][0],
		                                  strlen(vec[i][0]), &out),
		                 SH_OK);
		assert_string_equal((const char *)out.data, vec[i][1]);
		assert_int_equal(out.len, strlen(vec[i][1]));
	}
	uint8_t bytes[80];
	char want[120];
	for (uint32_t v = 0; v < 4096; v++) {
		uint32_t g = v << 12 | (4095 - v);
		bytes[0] = (uint8_t)(g >> 16);
		bytes[1] = (uint8_t)(g >> 8);
		bytes[2] = (uint8_t)g;
		b64_ref(bytes, 3, want);
		assert_int_equal(node__b64_encode(bytes, 3, &out), SH_OK);
		assert_string_equal((const char *)out.data, want);
	}
	sh_rand_t rng;
	sh_rand_seed(&rng, 6);
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)round % (sizeof bytes + 1);
		for (size_t k = 0; k < len; k++)
			bytes[k] = (uint8_t)sh_rand_u64(&rng);
		b64_ref(bytes, len, want);
		assert_int_equal(node__b64_encode(bytes, len, &out), SH_OK);
		assert_string_equal((const char *)out.data, want);
	}
	sh_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_config_flags),
	    cmocka_unit_test(test_node_config_errors),
	    cmocka_unit_test(test_node_config_file),
	    cmocka_unit_test(test_node_addr_split),
	    cmocka_unit_test(test_node_addr_split_port_spelling),
	    cmocka_unit_test(test_node_dt_parse_cart),
	    cmocka_unit_test(test_node_dt_parse_errors),
	    cmocka_unit_test(test_node_dt_values),
	    cmocka_unit_test(test_node_b64_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
