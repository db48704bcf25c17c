/*
 * sim_args.h - parsing of shoal-sim's option values, shared by every mode,
 * so that each mode rejects a bad value the same way.
 */
#ifndef SHOAL_SIM_ARGS_H
#define SHOAL_SIM_ARGS_H

#include <stdint.h>

/*
 * sim_arg_u64 - v (in, may be NULL) as a decimal integer in [min, max]
 * into *out. Digits only: no sign, no spaces, nothing after the number.
 * 0, or SH_EINVAL (then *out is untouched).
 */
int sim_arg_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out);

/*
 * sim_arg_fraction - v (in, may be NULL) as a number in [0, 1) into *out,
 * e.g. a loss rate. 0, or SH_EINVAL (then *out is untouched).
 */
int sim_arg_fraction(const char *v, double *out);

#endif /* SHOAL_SIM_ARGS_H */
