/*
 * json_int.h - private helpers shared by the files of the JSON module
 * (json_write.c, json_read.c). Not part of the API: see json.h.
 */
#ifndef SHOAL_JSON_INT_H
#define SHOAL_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * json__utf8_len - the length (1-4) of the well-formed UTF-8 sequence that
 * starts at s, with n >= 1 bytes available; 0 when the bytes are not
 * well-formed UTF-8 (overlong, surrogate, above U+10FFFF, bad or missing
 * continuation byte).
 */
size_t json__utf8_len(const uint8_t *s, size_t n);

#endif /* SHOAL_JSON_INT_H */
