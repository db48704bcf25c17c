/* sh_buf.c - the growable byte buffer of sh_buf.h. */
#include "common/sh_buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"

void sh_buf_init(sh_buf_t *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void sh_buf_free(sh_buf_t *b)
{
	free(b->data);
	sh_buf_init(b);
}

void sh_buf_reset(sh_buf_t *b)
{
	b->len = 0;
}

int sh_buf_reserve(sh_buf_t *b, size_t extra)
{
	if (extra <= b->cap - b->len)
		return SH_OK;
	if (extra > SIZE_MAX / 2 - b->len)
		return SH_ENOMEM;
	size_t want = b->len + extra;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (p == NULL)
		return SH_ENOMEM;
	b->data = p;
	b->cap = cap;
	return SH_OK;
}

int sh_buf__grow_append(sh_buf_t *b, const void *p, size_t len)
{
	int rc = sh_buf_reserve(b, len);
	if (rc != SH_OK)
		return rc;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return SH_OK;
}

int sh_array_reserve(void **p, size_t *cap, size_t want, size_t elem_size)
{
	if (want <= *cap)
		return SH_OK;
	size_t ncap = *cap ? *cap : 4;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2)
			return SH_ENOMEM;
		ncap *= 2;
	}
	if (elem_size != 0 && ncap > SIZE_MAX / elem_size)
		return SH_ENOMEM;
	void *np = realloc(*p, ncap * elem_size);
	if (np == NULL)
		return SH_ENOMEM;
	*p = np;
	*cap = ncap;
	return SH_OK;
}
