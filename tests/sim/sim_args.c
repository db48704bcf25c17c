/* sim_args.c - shoal-sim's option values (sim_args.h). */
#include "tests/sim/sim_args.h"

#include <errno.h>
#include <stdlib.h>

#include "common/sh_err.h"

int sim_arg_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (v == NULL || *v < '0' || *v > '9')
		return SH_EINVAL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return SH_EINVAL;
	*out = x;
	return SH_OK;
}

int sim_arg_fraction(const char *v, double *out)
{
	char *end;
	if (v == NULL || *v == '\0')
		return SH_EINVAL;
	errno = 0;
	double x = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !(x >= 0.0 && x < 1.0))
		return SH_EINVAL;
	*out = x;
	return SH_OK;
}
