/*
 * node.h - the node's shell: the libuv program around the pure cores
 * (DESIGN.md sections 2, 9 and 10, issue 4).
 *
 * The shell is the only part of shoal that includes uv.h. It owns the
 * sockets (UDP for SWIM and TCP for internode frames on --bind, TCP for
 * HTTP on --http), the timers, the signals, the clock and the LMDB store,
 * and feeds the pure cores (gossip/swim.h, node/coord.h, node/http.h):
 *
 *   every loop turn   callbacks feed inputs (datagrams, frames, HTTP
 *                     requests, timer ticks) to the cores; the writes
 *                     they make go to one store batch, opened lazily;
 *   before blocking   (uv_prepare) the batch is committed (group commit,
 *                     fsync with --sync batch), then the outputs of the
 *                     cores are sent (packets, frames, HTTP replies) and
 *                     acknowledged, and one timer is set to the earliest
 *                     deadline any core asked for.
 * So no reply or message about a write leaves before the write is durable.
 *
 * Internode frames (node_peer.c) on the --bind TCP port:
 *   frame = length (4 bytes, big-endian, 1..frame_bytes_max) | body
 *   body  = msgpack array [kind, ...]:
 *     [0, name, addr]    hello: first frame of a connection; names the
 *                        sender and its --bind address
 *     [1, state: bin]    SWIM push-pull: the sender's full state; the
 *                        receiver merges it and answers with kind 2
 *     [2, state: bin]    SWIM push-pull reply: merged, not answered
 *     [3, msg: bin]      a coordinator message (node/coord.h's bytes)
 *     [4, msg: bin]      an anti-entropy message (node/aae.h's bytes)
 * Each node sends on its own outbound connection to a peer (one per peer
 * address, reconnected with backoff) and reads on the connections peers
 * open to it, so a peer pair uses two connections, each one-way. A frame
 * that is too long or malformed closes the connection (and is counted).
 *
 * This header is for main.c: the configuration (flags and config file)
 * and node_run. node_int.h holds the shell's private pieces.
 */
#ifndef SHOAL_NODE_NODE_H
#define SHOAL_NODE_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_log.h"
#include "gossip/swim.h"
#include "node/store.h"

#define NODE_PATH_MAX 1024
/* Defaults of the settings that have no flag of their own in DESIGN.md. */
#define NODE_VALUE_BYTES_MAX_DEFAULT (1024u * 1024)
#define NODE_HTTP_CONNS_MAX_DEFAULT  1024u
#define NODE_HTTP_IDLE_MS_DEFAULT    60000u
#define NODE_PEER_CONNS_MAX_DEFAULT  1024u
#define NODE_SHUTDOWN_MS_DEFAULT     5000u
/* --handoff-bytes-per-s: hinted handoff's replay rate. */
#define NODE_HANDOFF_BYTES_PER_S_DEFAULT ((uint64_t)10 << 20)
/* --aae-interval-ms: a new anti-entropy exchange this often (docs/aae.md). */
#define NODE_AAE_INTERVAL_MS_DEFAULT 2000u
/* --tombstone-grace-s: a delete's tombstone is kept at least so long
 * (node/reap.h, docs/deletes.md). */
#define NODE_TOMBSTONE_GRACE_S_DEFAULT 3600
/* --leave-timeout-ms: bound on a graceful leave's handoff. */
#define NODE_LEAVE_TIMEOUT_MS_DEFAULT 600000u
/* Room for the largest stored object (store.h) and the message around it. */
#define NODE_FRAME_BYTES_MAX_DEFAULT (STORE_VALUE_BYTES_MAX + (1u << 20))

/* Everything `shoal` is told; see node_config_usage for each setting. */
typedef struct node_config {
	char name[SWIM_NAME_MAX + 1];
	char data_dir[NODE_PATH_MAX];
	char bind[SWIM_ADDR_MAX + 1]; /* host:port, TCP and UDP */
	char http[SWIM_ADDR_MAX + 1]; /* host:port */
	char seeds[SWIM_SEEDS_MAX][SWIM_ADDR_MAX + 1];
	size_t seeds_len;
	uint32_t partitions;
	uint32_t n, r, w;
	store_sync_t sync;
	sh_log_level_t log_level;
	uint64_t value_bytes_max;
	uint32_t http_conns_max; /* open HTTP connections */
	uint32_t http_idle_ms; /* close a keep-alive connection idle so long */
	uint32_t peer_conns_max; /* inbound internode connections */
	uint32_t shutdown_ms;    /* bound on finishing in-flight requests */
	uint32_t frame_bytes_max;
	double swim_time_scale;        /* SWIM durations x this (tests: 0.1) */
	uint64_t handoff_bytes_per_s;  /* hint replay rate; 0: no limit */
	uint64_t aae_interval_ms;      /* between AAE exchanges; 0: off */
	uint32_t leave_timeout_ms;     /* bound on handing off at a leave */
	uint64_t tombstone_grace_s;    /* tombstones reaped after this */
	uint64_t checkpoint_mutations; /* --sync batch: LMDB commit after */
	uint32_t inflight_max;         /* requests coordinated at once */
	char config_file[NODE_PATH_MAX];
} node_config_t;

/* node_config_default - fill cfg with the defaults (no name, no data). */
void node_config_default(node_config_t *cfg);

/*
 * node_config_parse - fill cfg from argv (argv[0] is skipped): first the
 * file named by --config, if any (lines "key = value", '#' comments,
 * keys are the flag names without "--"), then the flags, which override
 * the file. Flags take "--key value" or "--key=value".
 * Returns 0; 1 when --help was asked; SH_EINVAL with a message in err
 * (err_size bytes) for an unknown flag, a missing or bad value, or an
 * unreadable config file. Missing --name defaults to the --bind address;
 * missing --data to "./data/<name>".
 */
int node_config_parse(node_config_t *cfg, int argc, char **argv, char *err,
                      size_t err_size);

/* node_config_usage - the flags and their defaults, for --help. */
const char *node_config_usage(void);

/*
 * node_addr_split - split "host:port" or "[v6]:port" into host (hsize
 * bytes) and *port (1..65535). 0 or SH_EINVAL.
 */
int node_addr_split(const char *addr, char *host, size_t hsize, uint16_t *port);

/*
 * node_run - run a node with cfg until it is told to stop (SIGTERM,
 * SIGINT, POST /cluster/leave). Prints its addresses and seeds on stdout
 * when it serves. Returns 0 after a clean stop, or a negative SH_E...
 * code when it could not start (the reason is logged).
 */
int node_run(const node_config_t *cfg);

#endif /* SHOAL_NODE_NODE_H */
