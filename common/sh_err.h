/*
 * sh_err.h - shoal's error codes.
 *
 * Every fallible function in shoal returns 0 on success or one of the
 * negative SH_E... codes below. The table is one X-macro so the codes and
 * their messages cannot drift apart (libuv's uv-errno pattern).
 */
#ifndef SH_ERR_H
#define SH_ERR_H

/* X(name, value, message) */
#define SH_ERRNO_MAP(X)                                                        \
	X(SH_EINVAL, -1, "invalid argument")                                   \
	X(SH_ENOMEM, -2, "out of memory")                                      \
	X(SH_ETRUNC, -3, "input truncated")                                    \
	X(SH_EMALFORMED, -4, "input malformed")                                \
	X(SH_ETOOBIG, -5, "size or count over its limit")                      \
	X(SH_EVERSION, -6, "unsupported encoding version")                     \
	X(SH_ENOTFOUND, -7, "not found")                                       \
	X(SH_ETYPE, -8, "type mismatch")                                       \
	X(SH_EDEPTH, -9, "nesting too deep")                                   \
	X(SH_EEXIST, -10, "already exists")                                    \
	X(SH_ERANGE, -11, "value out of range")                                \
	X(SH_EIO, -12, "storage or I/O error")                                 \
	X(SH_EFULL, -13, "storage full")                                       \
	X(SH_EBUSY, -14, "busy, try again later")                              \
	X(SH_EDISABLED, -15, "turned off")

enum sh_err {
	SH_OK = 0,
#define SH__ERR_ENUM(name, value, msg) name = (value),
	SH_ERRNO_MAP(SH__ERR_ENUM)
#undef SH__ERR_ENUM
};

/*
 * sh_strerror - the message for an error code.
 * Returns a static string; unknown codes give "unknown error".
 */
const char *sh_strerror(int err);

/* sh_errname - the code's name, e.g. "SH_ETRUNC" (static string). */
const char *sh_errname(int err);

#endif /* SH_ERR_H */
