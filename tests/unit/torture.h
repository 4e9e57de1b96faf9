/*
 * torture.h: allocation-failure testing in the style of curl's torture mode.
 *
 * Linked into a test program, torture.c replaces malloc, calloc, realloc and
 * free for the whole process (glibc supports replacing them; the real ones
 * are reached as __libc_malloc and friends), so allocations made inside
 * libyaml and jansson fail on cue too, not only ours.
 *
 * torture_run() calls fn once to count its allocations (its return value is
 * the baseline: 0, or an FG_E* code when fn is given bad input on purpose),
 * then again for N = 1, 2, ... with the Nth allocation failing, until a run
 * meets no failure. Every run with a failure must return `expected` (usually
 * FG_ENOMEM), a run without one the baseline, and every run must give back
 * every allocation it took.
 *
 * Under AddressSanitizer (which owns malloc itself) the replacement is not
 * compiled in and torture_available() says why; callers skip.
 *
 * Ownership rule: fn owns everything it allocates and must free it before it
 * returns, on success and on failure alike; torture keeps no memory.
 */
#ifndef FG_TORTURE_H
#define FG_TORTURE_H

#include <stddef.h>

/* One run of the code under test: returns 0 or a negative FG_E* code. */
typedef int (*torture_fn)(void *ctx);

struct torture_result {
	size_t allocations; /* allocations in a run without failures */
	int baseline;       /* what fn returned in that run */
	size_t points;      /* failure points tested (runs with a failure) */
	size_t failures;    /* runs that broke a rule, see message */
	char message[512];  /* the first broken rule, for the test log */
};

/* Returns 1 if allocation failures can be injected in this build, else 0
 * and, if reason is non-NULL, a static sentence saying why not. */
int torture_available(const char **reason);

/* Runs fn as described above. Returns 0 when every rule held, -1 otherwise
 * (details in res). Stops at max_points failure points (0: no limit). */
int torture_run(torture_fn fn, void *ctx, int expected, size_t max_points,
		struct torture_result *res);

/* Runs fn once and returns how many allocations it made (0 if counting is
 * not available); *rc gets fn's return value. */
size_t torture_count(torture_fn fn, void *ctx, int *rc);

#endif
