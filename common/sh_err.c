/* sh_err.c - messages and names for the SH_E... codes of sh_err.h. */
#include "common/sh_err.h"

const char *sh_strerror(int err)
{
	switch (err) {
	case SH_OK: return "success";
#define SH__ERR_MSG(name, value, msg)                                          \
	case name: return msg;
		SH_ERRNO_MAP(SH__ERR_MSG)
#undef SH__ERR_MSG
	}
	return "unknown error";
}

const char *sh_errname(int err)
{
	switch (err) {
	case SH_OK: return "SH_OK";
#define SH__ERR_NAME(name, value, msg)                                         \
	case name: return #name;
		SH_ERRNO_MAP(SH__ERR_NAME)
#undef SH__ERR_NAME
	}
	return "SH_UNKNOWN";
}
