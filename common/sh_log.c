/* sh_log.c - the stderr logger of sh_log.h. */
#include "common/sh_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_err.h"

static sh_log_level_t sh__log_level = SH_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sh_log_set_level(sh_log_level_t level)
{
	sh__log_level = level;
}

int sh_log_parse_level(const char *name, sh_log_level_t *level)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (sh_log_level_t)i;
			return SH_OK;
		}
	}
	return SH_EINVAL;
}

void sh_log(sh_log_level_t level, const char *fmt, ...)
{
	if (level < sh__log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%s] ", level_names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
