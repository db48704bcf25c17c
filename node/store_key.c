/*
 * store_key.c - the key layouts of the three keyspaces (store.h top):
 *   objects  partition (2 bytes, big-endian) | bucket | 0x00 | key
 *   hints    primary_len (1 byte) | primary | object key
 *   meta     name
 * Building validates the limits; parsing never trusts the bytes.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/store_int.h"

int store_key_object(store_key_t *out, uint16_t partition, const void *bucket,
                     size_t bucket_len, const void *key, size_t key_len)
{
	if (bucket_len > STORE_BUCKET_BYTES_MAX ||
	    key_len > STORE_KEY_BYTES_MAX)
		return SH_ETOOBIG;
	if ((bucket == NULL && bucket_len > 0) || (key == NULL && key_len > 0))
		return SH_EINVAL;
	if (bucket_len > 0 && memchr(bucket, 0, bucket_len) != NULL)
		return SH_EINVAL;
	out->space = STORE_OBJECTS;
	store__put_be16(out->bytes, partition);
	if (bucket_len > 0)
		memcpy(out->bytes + 2, bucket, bucket_len);
	out->bytes[2 + bucket_len] = 0;
	if (key_len > 0)
		memcpy(out->bytes + 3 + bucket_len, key, key_len);
	out->len = 3 + bucket_len + key_len;
	return SH_OK;
}

int store_key_hint(store_key_t *out, const void *primary, size_t primary_len,
                   const store_key_t *object)
{
	if (primary == NULL || primary_len == 0 ||
	    object->space != STORE_OBJECTS)
		return SH_EINVAL;
	if (primary_len > STORE_PRIMARY_BYTES_MAX)
		return SH_ETOOBIG;
	sh_assert(object->len <= STORE_OBJ_KEY_BYTES_MAX);
	out->space = STORE_HINTS;
	out->bytes[0] = (uint8_t)primary_len;
	memcpy(out->bytes + 1, primary, primary_len);
	memcpy(out->bytes + 1 + primary_len, object->bytes, object->len);
	out->len = 1 + primary_len + object->len;
	return SH_OK;
}

int store_key_hint_object(store_key_t *out, const store_key_t *hint)
{
	if (hint->space != STORE_HINTS)
		return SH_EINVAL;
	store_key_parts_t parts;
	int rc = store_key_parse(STORE_HINTS, hint->bytes, hint->len, &parts);
	if (rc != SH_OK)
		return rc;
	size_t skip = 1 + parts.primary_len;
	out->space = STORE_OBJECTS;
	out->len = hint->len - skip;
	memmove(out->bytes, hint->bytes + skip, out->len);
	return SH_OK;
}

int store_key_meta(store_key_t *out, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return SH_EINVAL;
	size_t len = strnlen(name, STORE_META_BYTES_MAX + 1);
	if (len > STORE_META_BYTES_MAX)
		return SH_ETOOBIG;
	out->space = STORE_META;
	memcpy(out->bytes, name, len);
	out->len = len;
	return SH_OK;
}

/* Parse the object part (partition | bucket | 0 | key) of raw[0..len). */
static int parse_object(const uint8_t *raw, size_t len, store_key_parts_t *out)
{
	if (len < 3 || len > STORE_OBJ_KEY_BYTES_MAX)
		return SH_EMALFORMED;
	const uint8_t *zero = memchr(raw + 2, 0, len - 2);
	if (zero == NULL)
		return SH_EMALFORMED;
	size_t bucket_len = (size_t)(zero - (raw + 2));
	size_t key_len = len - 3 - bucket_len;
	if (bucket_len > STORE_BUCKET_BYTES_MAX ||
	    key_len > STORE_KEY_BYTES_MAX)
		return SH_EMALFORMED;
	out->partition = store__get_be16(raw);
	out->bucket = raw + 2;
	out->bucket_len = bucket_len;
	out->key = zero + 1;
	out->key_len = key_len;
	return SH_OK;
}

int store_key_parse(store_space_t space, const uint8_t *raw, size_t len,
                    store_key_parts_t *out)
{
	memset(out, 0, sizeof(*out));
	if (space == STORE_OBJECTS)
		return parse_object(raw, len, out);
	if (space != STORE_HINTS)
		return SH_EINVAL;
	if (len < 1 || raw[0] == 0 || (size_t)raw[0] + 1 > len)
		return SH_EMALFORMED;
	size_t plen = raw[0];
	int rc = parse_object(raw + 1 + plen, len - 1 - plen, out);
	if (rc != SH_OK)
		return rc;
	out->primary = raw + 1;
	out->primary_len = plen;
	return SH_OK;
}
