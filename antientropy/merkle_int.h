/*
 * merkle_int.h - declarations shared by the files of the Merkle module
 * (merkle.c, merkle_codec.c, merkle_exchange.c); not part of the API.
 * The message layout is described at the top of merkle.h.
 */
#ifndef SHOAL_MERKLE_INT_H
#define SHOAL_MERKLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/merkle.h"
#include "common/sh_buf.h"

/* 1 if the geometry is one merkle_init accepts. */
int merkle__geometry_ok(uint32_t segments, uint32_t fanout,
                        uint32_t partition_bits);

/* 1 if key_hash falls in t's partition. */
int merkle__in_partition(const merkle_t *t, uint64_t key_hash);

void merkle__put_u64be(uint8_t *p, uint64_t v);
uint64_t merkle__get_u64be(const uint8_t *p);

/*
 * Encoders: each appends one whole message to out. 0 or SH_ENOMEM (out
 * may then hold a partial message: the caller truncates it back).
 */
int merkle__enc_open(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     uint32_t segments, uint32_t fanout,
                     uint32_t partition_bits, uint64_t root);
/* NODES_REQ (type MERKLE_MSG_NODES_REQ) or KEYS_REQ: level ignored. */
int merkle__enc_ids(sh_buf_t *out, merkle_msg_type_t type, uint64_t xid,
                    uint32_t partition, uint32_t level, const uint32_t *ids,
                    uint32_t n);
int merkle__enc_nodes(sh_buf_t *out, uint64_t xid, uint32_t partition,
                      uint32_t level, const uint32_t *parents, uint32_t n,
                      const uint64_t *hashes, uint32_t hn);
/* KEYS with keys l->v[first .. first+n). */
int merkle__enc_keys(sh_buf_t *out, uint64_t xid, uint32_t partition, int last,
                     const merkle__klist_t *l, size_t first, uint32_t n);
int merkle__enc_done(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     int64_t status);

#endif /* SHOAL_MERKLE_INT_H */
