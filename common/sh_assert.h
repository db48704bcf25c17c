/*
 * sh_assert.h - assertions that stay on in release builds.
 *
 * sh_assert is for shoal's own invariants, never for input from the network
 * or disk (reject that with an error code). A failed assertion calls the
 * hook, if one is set (the simulator sets one that prints the seed that
 * replays the run), then prints the expression and aborts.
 */
#ifndef SH_ASSERT_H
#define SH_ASSERT_H

typedef void (*sh_assert_hook_fn)(const char *expr, const char *file, int line);

/*
 * sh_assert_set_hook - set the function called before abort on a failed
 * assertion; NULL removes it. Returns the previous hook.
 */
sh_assert_hook_fn sh_assert_set_hook(sh_assert_hook_fn hook);

/* Called by sh_assert; prints, runs the hook and aborts. Never returns. */
_Noreturn void sh__assert_fail(const char *expr, const char *file, int line);

#define sh_assert(cond)                                                        \
	((cond) ? (void)0 : sh__assert_fail(#cond, __FILE__, __LINE__))

#endif /* SH_ASSERT_H */
