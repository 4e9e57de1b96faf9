/*
 * ecma_regex.h: ECMA-262 regular expressions (as JSON Schema's "pattern"
 * means them) compiled with PCRE2.
 *
 * It owns the translation of the few ECMA constructs PCRE2 reads
 * differently (\s and \S cover Unicode white space, \d and \w stay ASCII,
 * "$" matches only at the very end, "[^]" matches anything), the match
 * limits that keep a pushed pattern from backtracking forever, and the
 * budget that bounds the matching of a whole push. It never
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

/* The regular-expression work one check may spend, shared by every match
 * of it (a push's whole fleet check), in PCRE2 match-limit units (about a
 * backtracking step each; a few ns with the JIT, some 25 ns without).
 * A match is tried with a small limit first and, only if it needs more,
 * again with 8 times as much, up to FG_REGEX_MATCH_LIMIT; every attempt is
 * charged its full limit, so what is charged is an upper bound of the work
 * done, whatever pattern and subject a push brings. */
struct fg_regex_budget {
	unsigned long long left; /* units still allowed */
	int exhausted;           /* a match was refused or cut short for it */
};

/* One match never takes more than this (10x below PCRE2's default). */
#define FG_REGEX_MATCH_LIMIT 100000u
/* A whole check: well above what 100,000 devices with a handful of sane
 * patterns each need, below a few seconds of matching on one core. */
#define FG_REGEX_BUDGET_UNITS 100000000ULL
#define FG_REGEX_BUDGET_INIT { .left = FG_REGEX_BUDGET_UNITS, .exhausted = 0 }

/* Searches (unanchored, like RegExp.prototype.test) `subject`. Returns 1 on
 * a match, 0 on none, FG_ELIMIT when a limit stopped it (the per-match
 * limit, the depth, PCRE2's heap or JIT stack, or the budget: then
 * budget->exhausted is set), or FG_ENOMEM when PCRE2 could not allocate.
 * `mc` (from fg_ecma_regex_match_context) gets its match limit set per
 * attempt, so md and mc belong to one thread. budget may be NULL: one
 * attempt with FG_REGEX_MATCH_LIMIT. */
int fg_ecma_regex_search(const pcre2_code *code, const char *subject,
			 size_t len, pcre2_match_data *md,
			 pcre2_match_context *mc, struct fg_regex_budget *budget);

/* Charges `units` of other regular-expression work (compiling a pushed
 * pattern) to the budget: 0, or FG_ELIMIT with budget->exhausted set. */
int fg_ecma_regex_charge(struct fg_regex_budget *budget, unsigned long long units);

/* A match context with the limits fleetgate uses; NULL on allocation
 * failure. Free with pcre2_match_context_free. */
pcre2_match_context *fg_ecma_regex_match_context(void);

#endif
