/*
 * relay_proto.c - RESP command splitting and relay frames (relay_proto.h).
 */
#include <string.h>
#include <strings.h>

#include "bench/relay_proto.h"
#include "common/sh_err.h"

/* A "<c><digits>\r\n" line at *at: its number; -1 malformed; -2 incomplete.
 * Digits are bounded so the number fits and a missing CRLF is found early. */
static long resp_number(const uint8_t *buf, size_t len, size_t *at, char c)
{
	size_t i = *at;
	long v = 0;
	if (i >= len)
		return -2;
	if (buf[i++] != (uint8_t)c)
		return -1;
	size_t digits = 0;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (++digits > 9)
			return -1;
		v = v * 10 + (buf[i] - '0');
	}
	if (i + 2 > len)
		return -2;
	if (digits == 0 || buf[i] != '\r' || buf[i + 1] != '\n')
		return -1;
	*at = i + 2;
	return v;
}

long relay_resp_next(const uint8_t *buf, size_t len, size_t max,
                     relay_cmd_t *cmd)
{
	size_t at = 0;
	long argc = resp_number(buf, len, &at, '*');
	if (argc == -2)
		return len > max ? -1 : 0;
	if (argc != 2 && argc != 3)
		return -1;
	const uint8_t *name = NULL;
	long name_len = 0;
	for (long i = 0; i < argc; i++) {
		long n = resp_number(buf, len, &at, '$');
		if (n == -1 || (n >= 0 && (size_t)n > max))
			return -1;
		if (n == -2 || at + (size_t)n + 2 > len)
			return len > max ? -1 : 0;
		if (buf[at + (size_t)n] != '\r' ||
		    buf[at + (size_t)n + 1] != '\n')
			return -1;
		if (i == 0) {
			name = buf + at;
			name_len = n;
		}
		at += (size_t)n + 2;
	}
	if (at > max)
		return -1;
	if (name_len == 3 && argc == 2 &&
	    strncasecmp((const char *)name, "GET", 3) == 0)
		*cmd = RELAY_CMD_GET;
	else if (name_len == 3 && argc == 3 &&
	         strncasecmp((const char *)name, "SET", 3) == 0)
		*cmd = RELAY_CMD_SET;
	else
		return -1;
	return (long)at;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int relay_frame_put(sh_buf_t *out, const relay_frame_t *f)
{
	uint8_t head[RELAY_FRAME_HEAD];
	head[0] = (uint8_t)f->kind;
	head[1] = f->from;
	put_u32(head + 2, f->id);
	put_u32(head + 6, f->len);
	size_t mark = out->len;
	if (sh_buf_append(out, head, sizeof head) != 0 ||
	    sh_buf_append(out, f->value, f->len) != 0) {
		out->len = mark;
		return SH_ENOMEM;
	}
	return 0;
}

long relay_frame_next(const uint8_t *buf, size_t len, uint32_t max,
                      relay_frame_t *f)
{
	if (len < 1)
		return 0;
	if (buf[0] < RELAY_FRAME_GET || buf[0] > RELAY_FRAME_REPLY)
		return -1;
	if (len < RELAY_FRAME_HEAD)
		return 0;
	f->kind = (relay_frame_kind_t)buf[0];
	f->from = buf[1];
	f->id = get_u32(buf + 2);
	f->len = get_u32(buf + 6);
	if (f->len > max)
		return -1;
	if (len - RELAY_FRAME_HEAD < f->len)
		return 0;
	f->value = buf + RELAY_FRAME_HEAD;
	return (long)(RELAY_FRAME_HEAD + f->len);
}
