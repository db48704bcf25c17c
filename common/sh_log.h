/*
 * sh_log.h - leveled logging to stderr, for the programs (node, sim, bench).
 *
 * Pure cores do not log: they report through their outputs. The level is
 * process-wide; messages below it cost one comparison.
 */
#ifndef SH_LOG_H
#define SH_LOG_H

typedef enum sh_log_level {
	SH_LOG_DEBUG = 0,
	SH_LOG_INFO = 1,
	SH_LOG_WARN = 2,
	SH_LOG_ERROR = 3,
} sh_log_level_t;

/* sh_log_set_level - messages below level are dropped. Default: INFO. */
void sh_log_set_level(sh_log_level_t level);

/* sh_log_parse_level - "debug", "info", "warn", "error" into *level; 0 or
 * SH_EINVAL. */
int sh_log_parse_level(const char *name, sh_log_level_t *level);

/* sh_log - printf-style message at level, prefixed with the level name. */
void sh_log(sh_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* SH_LOG_H */
