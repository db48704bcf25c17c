/* sh_assert.c - the failure path of sh_assert and its hook. */
#include "common/sh_assert.h"

#include <stdio.h>
#include <stdlib.h>

static sh_assert_hook_fn sh__assert_hook;

sh_assert_hook_fn sh_assert_set_hook(sh_assert_hook_fn hook)
{
	sh_assert_hook_fn old = sh__assert_hook;
	sh__assert_hook = hook;
	return old;
}

void sh__assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "shoal: assertion failed: %s (%s:%d)\n", expr, file,
	        line);
	fflush(stderr);
	if (sh__assert_hook != NULL) {
		sh_assert_hook_fn hook = sh__assert_hook;
		sh__assert_hook = NULL; /* a failing hook must not recurse */
		hook(expr, file, line);
	}
	abort();
}
