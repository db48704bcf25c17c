/*
 * node_config.c - the settings of `shoal` (node.h): defaults, flags and
 * the config file of "key = value" lines with the same names (DESIGN.md
 * section 10). Flags override the file, whatever their order.
 */
#include "node/node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "node/coord.h"
#include "ring/ring.h"

#define NODE__LINE_MAX 2048

void node_config_default(node_config_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->bind, sizeof cfg->bind, "127.0.0.1:7101");
	snprintf(cfg->http, sizeof cfg->http, "127.0.0.1:8101");
	cfg->partitions = RING_PARTITIONS_DEFAULT;
	cfg->n = 3;
	cfg->r = 2;
	cfg->w = 2;
	cfg->sync = STORE_SYNC_BATCH;
	cfg->log_level = SH_LOG_INFO;
	cfg->value_bytes_max = NODE_VALUE_BYTES_MAX_DEFAULT;
	cfg->http_conns_max = NODE_HTTP_CONNS_MAX_DEFAULT;
	cfg->http_idle_ms = NODE_HTTP_IDLE_MS_DEFAULT;
	cfg->peer_conns_max = NODE_PEER_CONNS_MAX_DEFAULT;
	cfg->shutdown_ms = NODE_SHUTDOWN_MS_DEFAULT;
	cfg->frame_bytes_max = NODE_FRAME_BYTES_MAX_DEFAULT;
	cfg->swim_time_scale = 1.0;
	cfg->leave_timeout_ms = NODE_LEAVE_TIMEOUT_MS_DEFAULT;
	cfg->handoff_bytes_per_s = NODE_HANDOFF_BYTES_PER_S_DEFAULT;
	cfg->aae_interval_ms = NODE_AAE_INTERVAL_MS_DEFAULT;
	cfg->tombstone_grace_s = NODE_TOMBSTONE_GRACE_S_DEFAULT;
	cfg->checkpoint_mutations = STORE_LMDB_CHECKPOINT_MUTATIONS_DEFAULT;
	cfg->inflight_max = COORD_INFLIGHT_MAX_DEFAULT;
}

const char *node_config_usage(void)
{
	return "usage: shoal [flags]\n"
	       "  --name NAME            node name (default: the --bind "
	       "address)\n"
	       "  --data DIR             data directory (default: "
	       "./data/NAME)\n"
	       "  --bind HOST:PORT       internode TCP + SWIM UDP "
	       "(default 127.0.0.1:7101)\n"
	       "  --http HOST:PORT       HTTP API (default 127.0.0.1:8101)\n"
	       "  --join HOST:PORT[,..]  seeds to join through (--bind "
	       "addresses)\n"
	       "  --partitions Q         ring partitions, a power of two "
	       "(default 64)\n"
	       "  --n N --r R --w W      default quorums (3, 2, 2)\n"
	       "  --sync batch|none      fsync every group commit or not "
	       "(batch)\n"
	       "  --log-level LEVEL      debug, info, warn, error (info)\n"
	       "  --value-bytes-max B    largest value (1048576)\n"
	       "  --http-conns-max N     open HTTP connections (1024)\n"
	       "  --http-idle-ms MS      close idle HTTP connections (60000)\n"
	       "  --peer-conns-max N     inbound internode connections "
	       "(1024)\n"
	       "  --shutdown-ms MS       bound on finishing requests at "
	       "exit (5000)\n"
	       "  --frame-bytes-max B    largest internode frame "
	       "(269484032)\n"
	       "  --swim-time-scale X    SWIM durations times X (1.0; "
	       "tests 0.1)\n"
	       "  --handoff-bytes-per-s B  hinted handoff replay rate, 0 "
	       "no limit (10485760)\n"
	       "  --aae-interval-ms MS   start an anti-entropy exchange this "
	       "often, 0 off (2000)\n"
	       "  --tombstone-grace-s S  keep tombstones at least S seconds "
	       "(3600)\n"
	       "  --checkpoint-mutations N  --sync batch: commit LMDB after "
	       "N journaled mutations (8192)\n"
	       "  --inflight-max N       requests coordinated at once; more "
	       "get 503 (4096)\n"
	       "  --leave-timeout-ms MS  bound on handing off at POST "
	       "/cluster/leave (600000)\n"
	       "  --config FILE          'key = value' lines, same names; "
	       "flags win\n"
	       "  --help                 this text\n";
}

static int node__fail(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int node__fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return SH_EINVAL;
}

int node_addr_split(const char *addr, char *host, size_t hsize, uint16_t *port)
{
	const char *colon;
	const char *h = addr;
	size_t hlen;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (close == NULL || close[1] != ':')
			return SH_EINVAL;
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return SH_EINVAL;
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0 || hlen >= hsize)
		return SH_EINVAL;
	/* One spelling per port: digits only, no leading zero (nor sign or
	 * space, which strtoul takes). Peers are kept per address string,
	 * so "h:080" would be another peer for the listener at "h:80". */
	const char *digits = colon + 1;
	size_t dlen = strspn(digits, "0123456789");
	if (dlen == 0 || dlen > 5 || digits[dlen] != '\0' || digits[0] == '0')
		return SH_EINVAL;
	unsigned long p = strtoul(digits, NULL, 10);
	if (p > 65535)
		return SH_EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return SH_OK;
}

static int node__set_addr(char *dst, size_t size, const char *key,
                          const char *val, char *err, size_t esize)
{
	char host[SWIM_ADDR_MAX + 1];
	uint16_t port;
	if (strlen(val) >= size ||
	    node_addr_split(val, host, sizeof host, &port) != SH_OK)
		return node__fail(err, esize,
		                  "--%s: '%s' is not HOST:PORT (port 1..65535)",
		                  key, val);
	snprintf(dst, size, "%s", val);
	return SH_OK;
}

static int node__set_u64(uint64_t *dst, const char *key, const char *val,
                         uint64_t min, uint64_t max, char *err, size_t esize)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		return node__fail(err, esize,
		                  "--%s: '%s' is not an integer from %llu to "
		                  "%llu",
		                  key, val, (unsigned long long)min,
		                  (unsigned long long)max);
	*dst = v;
	return SH_OK;
}

static int node__set_u32(uint32_t *dst, const char *key, const char *val,
                         uint64_t min, uint64_t max, char *err, size_t esize)
{
	uint64_t v = 0; /* gcc -O3 does not see node__set_u64 set it */
	int rc = node__set_u64(&v, key, val, min, max, err, esize);
	if (rc == SH_OK)
		*dst = (uint32_t)v;
	return rc;
}

static int node__set_join(node_config_t *cfg, const char *val, char *err,
                          size_t esize)
{
	char list[NODE__LINE_MAX];
	if (strlen(val) >= sizeof list)
		return node__fail(err, esize, "--join: list too long");
	snprintf(list, sizeof list, "%s", val);
	cfg->seeds_len = 0;
	char *save = NULL;
	for (char *tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*tok == '\0')
			continue;
		if (cfg->seeds_len == SWIM_SEEDS_MAX)
			return node__fail(err, esize,
			                  "--join: more than %d seeds",
			                  SWIM_SEEDS_MAX);
		int rc = node__set_addr(cfg->seeds[cfg->seeds_len],
		                        sizeof cfg->seeds[0], "join", tok, err,
		                        esize);
		if (rc != SH_OK)
			return rc;
		cfg->seeds_len++;
	}
	return SH_OK;
}

static int node__set_str(char *dst, size_t size, const char *key,
                         const char *val, char *err, size_t esize)
{
	if (val[0] == '\0' || strlen(val) >= size)
		return node__fail(err, esize, "--%s: must be 1 to %zu bytes",
		                  key, size - 1);
	snprintf(dst, size, "%s", val);
	return SH_OK;
}

static int node__set_name(node_config_t *cfg, const char *val, char *err,
                          size_t esize)
{
	for (const char *p = val; *p; p++)
		if (*p <= ' ' || *p > '~')
			return node__fail(err, esize,
			                  "--name: printable characters "
			                  "only, no spaces");
	return node__set_str(cfg->name, sizeof cfg->name, "name", val, err,
	                     esize);
}

/* Settings that are text: names, paths, addresses, enums. */
static int node__set_text(node_config_t *cfg, const char *key, const char *val,
                          char *err, size_t esize)
{
	if (strcmp(key, "name") == 0)
		return node__set_name(cfg, val, err, esize);
	if (strcmp(key, "data") == 0)
		return node__set_str(cfg->data_dir, sizeof cfg->data_dir, key,
		                     val, err, esize);
	if (strcmp(key, "bind") == 0)
		return node__set_addr(cfg->bind, sizeof cfg->bind, key, val,
		                      err, esize);
	if (strcmp(key, "http") == 0)
		return node__set_addr(cfg->http, sizeof cfg->http, key, val,
		                      err, esize);
	if (strcmp(key, "join") == 0)
		return node__set_join(cfg, val, err, esize);
	if (strcmp(key, "sync") == 0) {
		if (store_sync_parse(val, &cfg->sync) != SH_OK)
			return node__fail(err, esize,
			                  "--sync: 'batch' or 'none', not '%s'",
			                  val);
		return SH_OK;
	}
	if (strcmp(key, "log-level") == 0) {
		if (sh_log_parse_level(val, &cfg->log_level) != SH_OK)
			return node__fail(err, esize,
			                  "--log-level: debug, info, warn or "
			                  "error, not '%s'",
			                  val);
		return SH_OK;
	}
	if (strcmp(key, "swim-time-scale") == 0) {
		char *end;
		double v = strtod(val, &end);
		if (*end != '\0' || end == val || !(v >= 0.001 && v <= 100))
			return node__fail(err, esize,
			                  "--swim-time-scale: a number from "
			                  "0.001 to 100, not '%s'",
			                  val);
		cfg->swim_time_scale = v;
		return SH_OK;
	}
	return 1; /* not a text setting */
}

/* Set one setting by its name (without "--"). */
static int node__set(node_config_t *cfg, const char *key, const char *val,
                     char *err, size_t esize)
{
	int rc = node__set_text(cfg, key, val, err, esize);
	if (rc <= 0)
		return rc;
	if (strcmp(key, "partitions") == 0) {
		rc = node__set_u32(&cfg->partitions, key, val, 1,
		                   RING_PARTITIONS_MAX, err, esize);
		if (rc == SH_OK && (cfg->partitions & (cfg->partitions - 1)))
			return node__fail(err, esize,
			                  "--partitions: %s is not a power of "
			                  "two",
			                  val);
		return rc;
	}
	if (strcmp(key, "n") == 0)
		return node__set_u32(&cfg->n, key, val, 1, RING_N_MAX, err,
		                     esize);
	if (strcmp(key, "r") == 0)
		return node__set_u32(&cfg->r, key, val, 1, RING_N_MAX, err,
		                     esize);
	if (strcmp(key, "w") == 0)
		return node__set_u32(&cfg->w, key, val, 1, RING_N_MAX, err,
		                     esize);
	if (strcmp(key, "value-bytes-max") == 0)
		return node__set_u64(&cfg->value_bytes_max, key, val, 1,
		                     STORE_VALUE_BYTES_MAX / 4, err, esize);
	if (strcmp(key, "http-conns-max") == 0)
		return node__set_u32(&cfg->http_conns_max, key, val, 1, 100000,
		                     err, esize);
	if (strcmp(key, "peer-conns-max") == 0)
		return node__set_u32(&cfg->peer_conns_max, key, val, 1, 100000,
		                     err, esize);
	if (strcmp(key, "http-idle-ms") == 0)
		return node__set_u32(&cfg->http_idle_ms, key, val, 100,
		                     86400000, err, esize);
	if (strcmp(key, "shutdown-ms") == 0)
		return node__set_u32(&cfg->shutdown_ms, key, val, 0, 600000,
		                     err, esize);
	if (strcmp(key, "tombstone-grace-s") == 0)
		return node__set_u64(&cfg->tombstone_grace_s, key, val, 0,
		                     (uint64_t)10 * 365 * 86400, err, esize);
	if (strcmp(key, "leave-timeout-ms") == 0)
		return node__set_u32(&cfg->leave_timeout_ms, key, val, 100,
		                     86400000, err, esize);
	if (strcmp(key, "checkpoint-mutations") == 0)
		return node__set_u64(&cfg->checkpoint_mutations, key, val, 1,
		                     (uint64_t)1 << 24, err, esize);
	if (strcmp(key, "inflight-max") == 0)
		return node__set_u32(&cfg->inflight_max, key, val, 1,
		                     COORD_INFLIGHT_MAX_MAX, err, esize);
	if (strcmp(key, "aae-interval-ms") == 0)
		return node__set_u64(&cfg->aae_interval_ms, key, val, 0,
		                     (uint64_t)86400000, err, esize);
	if (strcmp(key, "handoff-bytes-per-s") == 0)
		return node__set_u64(&cfg->handoff_bytes_per_s, key, val, 0,
		                     (uint64_t)1 << 40, err, esize);
	if (strcmp(key, "frame-bytes-max") == 0)
		return node__set_u32(&cfg->frame_bytes_max, key, val, 4096,
		                     1u << 30, err, esize);
	return node__fail(err, esize, "unknown setting --%s (see --help)", key);
}

static char *node__trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	                   s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static int node__read_file(node_config_t *cfg, const char *path, char *err,
                           size_t esize)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return node__fail(err, esize, "--config: cannot read %s: %s",
		                  path, strerror(errno));
	char line[NODE__LINE_MAX];
	unsigned lineno = 0;
	int rc = SH_OK;
	while (rc == SH_OK && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		char *s = node__trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			rc = node__fail(err, esize,
			                "%s:%u: expected 'key = value'", path,
			                lineno);
			break;
		}
		*eq = '\0';
		char *key = node__trim(s);
		char *val = node__trim(eq + 1);
		if (strcmp(key, "config") == 0)
			continue;
		char sub[256];
		rc = node__set(cfg, key, val, sub, sizeof sub);
		if (rc != SH_OK)
			node__fail(err, esize, "%s:%u: %s", path, lineno, sub);
	}
	fclose(f);
	return rc;
}

static const char *const node__keys[] = {
    "name",
    "data",
    "bind",
    "http",
    "join",
    "partitions",
    "n",
    "r",
    "w",
    "sync",
    "log-level",
    "value-bytes-max",
    "http-conns-max",
    "http-idle-ms",
    "peer-conns-max",
    "shutdown-ms",
    "frame-bytes-max",
    "swim-time-scale",
    "aae-interval-ms",
    "handoff-bytes-per-s",
    "tombstone-grace-s",
    "checkpoint-mutations",
    "inflight-max",
    "leave-timeout-ms",
    "config",
};

static int node__known(const char *key)
{
	for (size_t i = 0; i < sizeof node__keys / sizeof node__keys[0]; i++)
		if (strcmp(key, node__keys[i]) == 0)
			return 1;
	return 0;
}

/* Split argv[*i] into key and value ("--k v" or "--k=v"). */
static int node__flag(int argc, char **argv, int *i, char *key, size_t ksize,
                      const char **val, char *err, size_t esize)
{
	const char *a = argv[*i];
	if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
		return node__fail(err, esize,
		                  "unexpected argument '%s' (see --help)", a);
	const char *eq = strchr(a + 2, '=');
	size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	if (klen >= ksize)
		return node__fail(err, esize, "unknown flag '%s'", a);
	memcpy(key, a + 2, klen);
	key[klen] = '\0';
	if (strcmp(key, "help") == 0) {
		*val = NULL;
		return SH_OK;
	}
	if (!node__known(key))
		return node__fail(err, esize, "unknown flag '%s' (see --help)",
		                  a);
	if (eq != NULL) {
		*val = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return node__fail(err, esize, "%s needs a value", a);
		*val = argv[++*i];
	}
	return SH_OK;
}

static int node__finish(node_config_t *cfg, char *err, size_t esize)
{
	if (cfg->name[0] == '\0') {
		size_t len = strlen(cfg->bind);
		if (len >= sizeof cfg->name)
			return node__fail(
			    err, esize,
			    "--name is needed (--bind is too long "
			    "to serve as a name)");
		memcpy(cfg->name, cfg->bind, len + 1);
	}
	if (cfg->data_dir[0] == '\0')
		snprintf(cfg->data_dir, sizeof cfg->data_dir, "./data/%s",
		         cfg->name);
	if (cfg->r > cfg->n || cfg->w > cfg->n)
		return node__fail(err, esize,
		                  "--r (%u) and --w (%u) must not exceed --n "
		                  "(%u)",
		                  cfg->r, cfg->w, cfg->n);
	char host[SWIM_ADDR_MAX + 1];
	uint16_t port;
	node_addr_split(cfg->bind, host, sizeof host, &port);
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		return node__fail(err, esize,
		                  "--bind %s: peers reach a node at its --bind "
		                  "address; give one they can reach, not %s",
		                  cfg->bind, host);
	if (strcmp(cfg->bind, cfg->http) == 0)
		return node__fail(err, esize,
		                  "--bind and --http must differ (%s)",
		                  cfg->bind);
	return SH_OK;
}

int node_config_parse(node_config_t *cfg, int argc, char **argv, char *err,
                      size_t err_size)
{
	char key[64];
	const char *val;
	/* The file first, so that flags override it. */
	for (int i = 1; i < argc; i++) {
		int rc = node__flag(argc, argv, &i, key, sizeof key, &val, err,
		                    err_size);
		if (rc != SH_OK)
			return rc;
		if (val == NULL)
			return 1;
		if (strcmp(key, "config") == 0) {
			rc = node__set_str(cfg->config_file,
			                   sizeof cfg->config_file, key, val,
			                   err, err_size);
			if (rc == SH_OK)
				rc = node__read_file(cfg, val, err, err_size);
			if (rc != SH_OK)
				return rc;
		}
	}
	for (int i = 1; i < argc; i++) {
		node__flag(argc, argv, &i, key, sizeof key, &val, err,
		           err_size);
		if (strcmp(key, "config") == 0)
			continue;
		int rc = node__set(cfg, key, val, err, err_size);
		if (rc != SH_OK)
			return rc;
	}
	return node__finish(cfg, err, err_size);
}
