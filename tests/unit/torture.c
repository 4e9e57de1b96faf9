#include "torture.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TORTURE_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define TORTURE_NO_INTERPOSE 1
#endif
#endif

#ifndef TORTURE_NO_INTERPOSE

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

/* Process-wide state of the replacement allocator. */
static int counting;        /* count and maybe fail while fn runs */
static size_t calls;        /* allocations attempted in this run */
static size_t fail_at;      /* 1-based allocation to fail; 0 for none */
static int failed;          /* the failure was injected in this run */
static long live;           /* allocations taken minus released in this run */

static int should_fail(void)
{
	if (!counting)
		return 0;
	calls++;
	if (fail_at && calls == fail_at) {
		failed = 1;
		return 1;
	}
	return 0;
}

/* Declared here: we are defining the libc symbols themselves. */
void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

void *malloc(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = __libc_malloc(size);
	if (p && counting)
		live++;
	return p;
}

void *calloc(size_t nmemb, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = __libc_calloc(nmemb, size);
	if (p && counting)
		live++;
	return p;
}

void *realloc(void *ptr, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = __libc_realloc(ptr, size);
	if (counting) {
		if (!ptr && p)
			live++;
		else if (ptr && !p && size == 0)
			live--;
	}
	return p;
}

void free(void *ptr)
{
	if (ptr && counting)
		live--;
	__libc_free(ptr);
}

static int run_once(torture_fn fn, void *ctx, size_t fail)
{
	int rc;

	calls = 0;
	live = 0;
	failed = 0;
	fail_at = fail;
	counting = 1;
	rc = fn(ctx);
	counting = 0;
	fail_at = 0;
	return rc;
}

int torture_available(const char **reason)
{
	/* volatile: the compiler must not fold malloc/free away */
	void *(*volatile do_malloc)(size_t) = malloc;
	void *p;

	calls = 0;
	fail_at = 1;
	counting = 1;
	p = do_malloc(16);
	counting = 0;
	fail_at = 0;
	if (p) {
		free(p);
		if (reason)
			*reason = "malloc is not interposed in this process";
		return 0;
	}
	return 1;
}

size_t torture_count(torture_fn fn, void *ctx, int *rc)
{
	int r = run_once(fn, ctx, 0);

	if (rc)
		*rc = r;
	return calls;
}

static void note(struct torture_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct torture_result *res, const char *fmt, ...)
{
	va_list ap;

	res->failures++;
	if (res->failures > 1)
		return;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

int torture_run(torture_fn fn, void *ctx, int expected, size_t max_points,
		struct torture_result *res)
{
	size_t n;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = run_once(fn, ctx, 0);
	res->allocations = calls;
	res->baseline = rc;
	if (live != 0)
		note(res, "run without failures: returned %d, %ld allocations not freed",
		     rc, live);
	for (n = 1; !max_points || n <= max_points; n++) {
		rc = run_once(fn, ctx, n);
		if (!failed) {
			/* fn made fewer than n allocations: every point is done */
			if (rc != res->baseline || live != 0)
				note(res, "run past the last allocation (%zu): returned %d (before: %d), %ld allocations not freed",
				     n, rc, res->baseline, live);
			break;
		}
		res->points++;
		if (rc != expected)
			note(res, "allocation %zu failed: returned %d instead of the expected code (%ld live)",
			     n, rc, live);
		else if (live != 0)
			note(res, "allocation %zu failed: returned %d but %ld allocations not freed",
			     n, rc, live);
	}
	return res->failures ? -1 : 0;
}

#else /* TORTURE_NO_INTERPOSE */

int torture_available(const char **reason)
{
	if (reason)
		*reason = "AddressSanitizer owns malloc in this build; the valgrind pass runs it";
	return 0;
}

size_t torture_count(torture_fn fn, void *ctx, int *rc)
{
	int r = fn(ctx);

	if (rc)
		*rc = r;
	return 0;
}

int torture_run(torture_fn fn, void *ctx, int expected, size_t max_points,
		struct torture_result *res)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->message, sizeof(res->message), "not available");
	return -1;
}

#endif
