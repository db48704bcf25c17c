/*
 * relay_proto.h - shoal-relay's two protocols, pure (no IO): the RESP
 * commands it takes from shoal-bench's redis driver (GET and SET) and the
 * frames relays send each other. relay.c is the program around them.
 */
#ifndef RELAY_PROTO_H
#define RELAY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"

typedef enum { RELAY_CMD_GET = 1, RELAY_CMD_SET = 2 } relay_cmd_t;

/*
 * relay_resp_next - the first command in buf[0..len), in RESP's array
 * form (what redis-cli and shoal-bench send): its kind in *cmd and its
 * length in bytes as the result. 0: incomplete, more bytes needed. -1: not
 * a GET with one argument or a SET with two, malformed, or longer than max
 * bytes (the relay answers an error and closes the connection).
 */
long relay_resp_next(const uint8_t *buf, size_t len, size_t max,
                     relay_cmd_t *cmd);

/* Frames: [kind u8, from u8, id u32, value length u32] (big-endian), then
 * the value. GET and SET ask (a SET carries the value); REPLY answers with
 * the same id (a GET's reply carries a value). */
#define RELAY_FRAME_HEAD 10

typedef enum {
	RELAY_FRAME_GET = 1,
	RELAY_FRAME_SET = 2,
	RELAY_FRAME_REPLY = 3,
} relay_frame_kind_t;

typedef struct relay_frame {
	relay_frame_kind_t kind;
	uint8_t from; /* the sender's index in the relays' list */
	uint32_t id;  /* chosen by the asking relay, echoed by the reply */
	uint32_t len; /* value bytes after the head */
	const uint8_t *value;
} relay_frame_t;

/* relay_frame_put - append a frame; 0 or SH_ENOMEM. */
int relay_frame_put(sh_buf_t *out, const relay_frame_t *f);

/* relay_frame_next - the frame at buf[0..len) into *f (value points into
 * buf): bytes it takes; 0 incomplete; -1 an unknown kind or a value over
 * max bytes (the relay drops the link). */
long relay_frame_next(const uint8_t *buf, size_t len, uint32_t max,
                      relay_frame_t *f);

#endif
