/*
 * ecma_regex.h: ECMA-262 regular expressions (as JSON Schema's "pattern"
 * means them) compiled with PCRE2.
 *
 * It owns the translation of the few ECMA constructs PCRE2 reads
 * differently (\s and \S cover Unicode white space, \d and \w stay ASCII,
 * "$" matches only at the very end, "[^]" matches anything) and the match
 * limits that keep a pushed pattern from backtracking forever. It never
 * caches; the schema module compiles each pattern once.
 *
 * Ownership rule: a pcre2_code returned through `out` belongs to the caller
 * and is freed with pcre2_code_free.
 */
#ifndef FG_ECMA_REGEX_H
#define FG_ECMA_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "error.h"

/* Compiles `len` bytes of ECMA-262 pattern. Returns 0, FG_EINVALID with the
 * PCRE2 reason and offset in err, or FG_ENOMEM. */
int fg_ecma_regex_compile(pcre2_code **out, const char *pattern, size_t len,
			  struct fg_error *err);

/* Whether `len` bytes are a valid ECMA-262 pattern with the "u" flag (the
 * strict reading JSON Schema's format "regex" asks for): 1 or 0. */
int fg_ecma_regex_is_valid(const char *pattern, size_t len);

/* Searches (unanchored, like RegExp.prototype.test) `subject`. Returns 1 on
 * a match, 0 on none, FG_ELIMIT when the match limit was hit, or FG_ENOMEM
 * when PCRE2 could not allocate its backtracking frames. md and mc
 * may be shared across calls by one thread. */
int fg_ecma_regex_search(const pcre2_code *code, const char *subject,
			 size_t len, pcre2_match_data *md,
			 pcre2_match_context *mc);

/* A match context with the limits fleetgate uses; NULL on allocation
 * failure. Free with pcre2_match_context_free. */
pcre2_match_context *fg_ecma_regex_match_context(void);

#endif
