/*
 * fuzz_util.h - helpers shared by the fuzz targets (tests/fuzz/), header
 * only so each target stays one translation unit.
 *
 * FUZZ_CHECK(cond): a property that must hold; abort() (which libFuzzer
 * and the replay driver report as a crash) when it does not. On for every
 * build type: it is the point of the target.
 *
 * Frames: targets that take a sequence of messages read their input as
 *   frame = tag (1 byte), length (2 bytes, little endian), body
 * repeated; a length past the end of the input takes what is left. The
 * tag's meaning is the target's (sender, kind of message). gen_corpus.c
 * writes frames with fuzz_frame_put.
 */
#ifndef SHOAL_FUZZ_UTIL_H
#define SHOAL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s\n",        \
			        __FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

typedef struct fuzz_frames {
	const uint8_t *p;
	size_t left;
} fuzz_frames_t;

static inline void fuzz_frames_init(fuzz_frames_t *f, const uint8_t *p,
                                    size_t len)
{
	f->p = p;
	f->left = len;
}

/* The next frame: 1 with *tag, *body, *len set; 0 at the end. */
static inline int fuzz_frames_next(fuzz_frames_t *f, uint8_t *tag,
                                   const uint8_t **body, size_t *len)
{
	size_t n;

	if (f->left < 3)
		return 0;
	*tag = f->p[0];
	n = (size_t)f->p[1] | (size_t)f->p[2] << 8;
	f->p += 3;
	f->left -= 3;
	if (n > f->left)
		n = f->left;
	*body = f->p;
	*len = n;
	f->p += n;
	f->left -= n;
	return 1;
}

/* FNV-1a of the input: a seed that is a function of the bytes. */
static inline uint64_t fuzz_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif /* SHOAL_FUZZ_UTIL_H */
