#include "ecma_regex.h"
#include "buf.h"

#include <stdint.h>
#include <string.h>

/* PCRE2's JIT code reads whole words past a subject's end, which memcheck
 * reports unless libpcre2 itself was built for valgrind; the interpreter
 * gives the same answers, so under valgrind we skip the JIT. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FG_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef FG_UNDER_VALGRIND
#define FG_UNDER_VALGRIND() 0
#endif

/* ECMA-262 WhiteSpace and LineTerminator code points, which \s matches;
 * written as \uhhhh because PCRE2_ALT_BSUX makes that the escape. */
#define ECMA_SPACE "\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a" \
	"\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

/* Escapes PCRE2 gives a meaning (anchors \A \Z \z, \h, \R, \Q...\E...)
 * that ECMA-262 reads as the plain letter. */
#define PCRE_ONLY_ESCAPES "aeghijlmoqyzACEGHIJKLMNOQRTUVXYZ"

/* Per match: far above what a sane pattern needs on a fleet value, far
 * below what hangs a pre-receive hook. A match starts with FIRST_ATTEMPT
 * units (a sane pattern needs a handful) and grows by GROWTH. */
#define DEPTH_LIMIT 10000
#define FIRST_ATTEMPT 64u
#define GROWTH 8u

static int translate(struct fg_buf *out, const char *p, size_t len)
{
	size_t i;
	int in_class = 0;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == '\\' && i + 1 < len) {
			char n = p[i + 1];

			i++;
			if (n == 's' && !in_class)
				fg_buf_puts(out, "[" ECMA_SPACE "]");
			else if (n == 'S' && !in_class)
				fg_buf_puts(out, "[^" ECMA_SPACE "]");
			else if (n == 's')
				fg_buf_puts(out, ECMA_SPACE);
			else if (n && strchr(PCRE_ONLY_ESCAPES, n))
				fg_buf_putc(out, n); /* ECMA: an identity escape */
			else {
				fg_buf_putc(out, '\\');
				fg_buf_putc(out, n);
			}
			continue;
		}
		if (c == '[' && !in_class)
			in_class = 1;
		else if (c == ']' && in_class)
			in_class = 0;
		fg_buf_putc(out, c);
	}
	return out->failed ? FG_ENOMEM : 0;
}

int fg_ecma_regex_compile(pcre2_code **out, const char *pattern, size_t len,
			  struct fg_error *err)
{
	struct fg_buf b = FG_BUF_INIT;
	int errcode = 0;
	PCRE2_SIZE erroff = 0;
	pcre2_code *code;
	PCRE2_UCHAR msg[256];
	int rc;

	*out = NULL;
	if (translate(&b, pattern, len) < 0) {
		fg_buf_release(&b);
		return fg_error_oom(err);
	}
	/* No PCRE2_UCP: ECMA's \d, \w and \b are ASCII-only. */
	code = pcre2_compile((PCRE2_SPTR)fg_buf_cstr(&b), b.len,
			     PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY |
				     PCRE2_ALLOW_EMPTY_CLASS,
			     &errcode, &erroff, NULL);
	fg_buf_release(&b);
	if (!code) {
		if (errcode == PCRE2_ERROR_NOMEMORY || errcode == PCRE2_ERROR_HEAP_FAILED)
			return fg_error_oom(err);
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return fg_error_set(err, FG_EINVALID,
				    "invalid regular expression '%.*s': %s",
				    (int)(len > 200 ? 200 : len), pattern,
				    (const char *)msg);
	}
	if (!FG_UNDER_VALGRIND()) {
		/* without JIT the interpreter is slower, never wrong; but a failed
		 * allocation is reported like any other */
		rc = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
		if (rc == PCRE2_ERROR_NOMEMORY) {
			pcre2_code_free(code);
			return fg_error_oom(err);
		}
	}
	*out = code;
	return 0;
}

static int search_once(const pcre2_code *code, const char *subject, size_t len,
		       pcre2_match_data *md, pcre2_match_context *mc, uint32_t limit)
{
	int rc;

	pcre2_set_match_limit(mc, limit);
	rc = pcre2_match(code, (PCRE2_SPTR)subject, len, 0, 0, md, mc);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_NOMEMORY)
		return FG_ENOMEM;
	return rc == PCRE2_ERROR_MATCHLIMIT ? 2 : FG_ELIMIT;
}

int fg_ecma_regex_search(const pcre2_code *code, const char *subject,
			 size_t len, pcre2_match_data *md,
			 pcre2_match_context *mc, struct fg_regex_budget *budget)
{
	uint32_t limit = budget ? FIRST_ATTEMPT : FG_REGEX_MATCH_LIMIT, allowed;
	int rc;

	for (;;) {
		allowed = limit;
		if (budget) {
			if (budget->left < allowed)
				allowed = (uint32_t)budget->left;
			budget->left -= allowed;
			if (!allowed) {
				budget->exhausted = 1;
				return FG_ELIMIT;
			}
		}
		rc = search_once(code, subject, len, md, mc, allowed);
		if (rc != 2)
			return rc;
		if (allowed < limit) {  /* the budget cut it short */
			budget->exhausted = 1;
			return FG_ELIMIT;
		}
		if (limit >= FG_REGEX_MATCH_LIMIT)
			return FG_ELIMIT;
		limit = limit > FG_REGEX_MATCH_LIMIT / GROWTH ? FG_REGEX_MATCH_LIMIT
							       : limit * GROWTH;
	}
}

int fg_ecma_regex_charge(struct fg_regex_budget *budget, unsigned long long units)
{
	if (!budget)
		return 0;
	if (budget->left < units) {
		budget->left = 0;
		budget->exhausted = 1;
		return FG_ELIMIT;
	}
	budget->left -= units;
	return 0;
}

pcre2_match_context *fg_ecma_regex_match_context(void)
{
	pcre2_match_context *mc = pcre2_match_context_create(NULL);

	if (!mc)
		return NULL;
	pcre2_set_match_limit(mc, FG_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, DEPTH_LIMIT);
	return mc;
}

int fg_ecma_regex_is_valid(const char *pattern, size_t len)
{
	pcre2_code *code = NULL;
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (pattern[i] != '\\')
			continue;
		if (pattern[i + 1] && strchr(PCRE_ONLY_ESCAPES, pattern[i + 1]))
			return 0; /* a syntax error under the "u" flag */
		i++;
	}
	if (fg_ecma_regex_compile(&code, pattern, len, NULL) < 0)
		return 0;
	pcre2_code_free(code);
	return 1;
}
