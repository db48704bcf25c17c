/* test_relay_proto.c - shoal-relay's protocols (bench/relay_proto.c): RESP
 * commands split whole, incomplete while any byte is missing, refused when
 * malformed, other than GET/SET, or over the bound; frames round-trip,
 * stay incomplete while any byte is missing, and refuse unknown kinds and
 * oversize values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench/relay_proto.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static const char GET_A[] = "*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n";
static const char SET_A[] = "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$3\r\nabc\r\n";

static void test_relay_resp_whole_commands(void **state)
{
	(void)state;
	relay_cmd_t cmd = 0;
	assert_int_equal(relay_resp_next(S(GET_A), 1024, &cmd),
	                 (long)sizeof(GET_A) - 1);
	assert_int_equal(cmd, RELAY_CMD_GET);
	assert_int_equal(relay_resp_next(S(SET_A), 1024, &cmd),
	                 (long)sizeof(SET_A) - 1);
	assert_int_equal(cmd, RELAY_CMD_SET);
	/* two in a row: the first one's length */
	char two[128];
	snprintf(two, sizeof two, "%s%s", SET_A, GET_A);
	assert_int_equal(
	    relay_resp_next((const uint8_t *)two, strlen(two), 1024, &cmd),
	    (long)sizeof(SET_A) - 1);
	assert_int_equal(cmd, RELAY_CMD_SET);
}

static void test_relay_resp_incomplete(void **state)
{
	(void)state;
	relay_cmd_t cmd;
	for (size_t n = 0; n < sizeof(SET_A) - 1; n++)
		assert_int_equal(
		    relay_resp_next((const uint8_t *)SET_A, n, 1024, &cmd), 0);
	/* a prefix already over the bound is refused, not waited for */
	assert_int_equal(relay_resp_next((const uint8_t *)SET_A, 20, 16, &cmd),
	                 -1);
}

static void test_relay_resp_refused(void **state)
{
	(void)state;
	relay_cmd_t cmd;
	assert_int_equal(relay_resp_next(S("PING\r\n"), 1024, &cmd), -1);
	assert_int_equal(relay_resp_next(S("*1\r\n$4\r\nPING\r\n"), 1024, &cmd),
	                 -1);
	assert_int_equal(
	    relay_resp_next(S("*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"), 1024, &cmd),
	    -1);
	/* SET with one argument, GET with two */
	assert_int_equal(
	    relay_resp_next(S("*2\r\n$3\r\nSET\r\n$1\r\nk\r\n"), 1024, &cmd),
	    -1);
	assert_int_equal(
	    relay_resp_next(S("*3\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\nv\r\n"),
	                    1024, &cmd),
	    -1);
	/* a length that is no number, too many digits, a missing CRLF */
	assert_int_equal(relay_resp_next(S("*2\r\n$x\r\n"), 1024, &cmd), -1);
	assert_int_equal(
	    relay_resp_next(S("*2\r\n$12345678901\r\n"), 1024, &cmd), -1);
	assert_int_equal(
	    relay_resp_next(S("*2\r\n$3\r\nGETxx$1\r\nk\r\n"), 1024, &cmd), -1);
	/* a bulk string over the bound, before its bytes arrive */
	assert_int_equal(
	    relay_resp_next(S("*2\r\n$3\r\nGET\r\n$5000\r\n"), 1024, &cmd), -1);
}

static void test_relay_frame_round_trip(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	const uint8_t val[5] = {1, 2, 3, 4, 5};
	relay_frame_t in = {.kind = RELAY_FRAME_SET,
	                    .from = 2,
	                    .id = 0x01020304,
	                    .len = sizeof val,
	                    .value = val};
	relay_frame_t ack = {.kind = RELAY_FRAME_REPLY, .from = 1, .id = 7};
	assert_int_equal(relay_frame_put(&b, &in), 0);
	assert_int_equal(relay_frame_put(&b, &ack), 0);
	assert_int_equal(b.len, 2 * RELAY_FRAME_HEAD + sizeof val);
	relay_frame_t out;
	long n = relay_frame_next(b.data, b.len, 1024, &out);
	assert_int_equal(n, RELAY_FRAME_HEAD + sizeof val);
	assert_int_equal(out.kind, RELAY_FRAME_SET);
	assert_int_equal(out.from, 2);
	assert_int_equal(out.id, 0x01020304);
	assert_int_equal(out.len, sizeof val);
	assert_memory_equal(out.value, val, sizeof val);
	assert_int_equal(
	    relay_frame_next(b.data + n, b.len - (size_t)n, 1024, &out),
	    RELAY_FRAME_HEAD);
	assert_int_equal(out.kind, RELAY_FRAME_REPLY);
	assert_int_equal(out.id, 7);
	assert_int_equal(out.len, 0);
	for (size_t k = 0; k < (size_t)n; k++)
		assert_int_equal(relay_frame_next(b.data, k, 1024, &out), 0);
	/* a value over the bound; kinds 0 and 4 */
	assert_int_equal(relay_frame_next(b.data, b.len, 4, &out), -1);
	b.data[0] = 0;
	assert_int_equal(relay_frame_next(b.data, b.len, 1024, &out), -1);
	b.data[0] = 4;
	assert_int_equal(relay_frame_next(b.data, 1, 1024, &out), -1);
	sh_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_resp_whole_commands),
	    cmocka_unit_test(test_relay_resp_incomplete),
	    cmocka_unit_test(test_relay_resp_refused),
	    cmocka_unit_test(test_relay_frame_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
