/*
 * schema_internal.h: the compiled form of a schema set, shared by the
 * compiler (schema.c) and the validator (schema_validate.c). Not an API.
 *
 * Ownership rule: struct fg_schema owns everything reachable from it; the
 * json_t pointers in entries are borrowed from the documents it holds.
 */
#ifndef FG_SCHEMA_INTERNAL_H
#define FG_SCHEMA_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ecma_regex.h"
#include "schema.h"

/* Deeper than any sane schema; stops "$ref" loops that never consume
 * instance (e.g. {"$ref": "#"}) before they exhaust the stack. */
#define MAX_DEPTH 400

/* ---- a small pointer-keyed hash map (json_t node -> entry) ---- */

struct pmap {
	const void **keys;
	void **vals;
	size_t cap;
	size_t n;
};

static inline size_t pmap_slot(const struct pmap *m, const void *key)
{
	uint64_t h = (uint64_t)(uintptr_t)key;

	h ^= h >> 29;
	h *= 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 17) & (m->cap - 1);
}

static inline void *pmap_get(const struct pmap *m, const void *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = pmap_slot(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NULL;
}

int fg_pmap_put(struct pmap *m, const void *key, void *val);
void fg_pmap_release(struct pmap *m, void (*free_val)(void *));

/* ---- the compiled schema set ---- */

struct ref_entry {
	char *uri;      /* absolute, with fragment */
	json_t *target; /* borrowed from a registered document; NULL until found */
};

struct pp_entry {
	size_t n;
	const char **keys;   /* borrowed from the patternProperties object */
	pcre2_code **codes;
};

/* Keyword ids: validation dispatches on these instead of comparing
 * strings, which keeps a 100,000-file check cheap. */
enum kw {
	KW_OTHER, KW_TYPE, KW_ENUM, KW_CONST, KW_MULTIPLE_OF, KW_MAXIMUM,
	KW_EXCL_MAXIMUM, KW_MINIMUM, KW_EXCL_MINIMUM, KW_MAX_LENGTH,
	KW_MIN_LENGTH, KW_PATTERN, KW_FORMAT, KW_ITEMS, KW_MAX_ITEMS,
	KW_MIN_ITEMS, KW_UNIQUE_ITEMS, KW_CONTAINS, KW_MAX_PROPERTIES,
	KW_MIN_PROPERTIES, KW_REQUIRED, KW_PROPERTIES, KW_PATTERN_PROPERTIES,
	KW_ADDITIONAL_PROPERTIES, KW_DEPENDENCIES, KW_PROPERTY_NAMES, KW_IF,
	KW_ALL_OF, KW_ANY_OF, KW_ONE_OF, KW_NOT
};

extern const char *const fg_schema_kw_names[];

struct ckw {
	enum kw kw;
	json_t *v;
};

/* One schema object, ready for validation. */
struct cnode {
	int broken;   /* walked leniently (outside the checked keywords) and malformed */
	json_t *ref;  /* the node itself when it holds "$ref" (siblings ignored) */
	size_t n;
	struct ckw items[];
};

struct fg_schema {
	json_t *root;
	json_t *docs;      /* array: a reference to every registered document */
	json_t *registry;  /* absolute URI (or URI#anchor) -> schema node */
	struct pmap refs;      /* object holding "$ref" -> struct ref_entry */
	struct pmap patterns;  /* "pattern" string node -> pcre2_code */
	struct pmap patprops;  /* patternProperties object -> struct pp_entry */
	struct pmap nodes;     /* schema object -> struct cnode */
	pcre2_match_context *mc;
};

/* Whole-number test without libm: every double beyond 2^53 is whole. */
static inline int double_is_whole(double d)
{
	if (d != d || d - d != 0)
		return 0; /* NaN or infinite */
	if (d > 9007199254740992.0 || d < -9007199254740992.0)
		return 1;
	return (double)(long long)d == d;
}

static inline double round_half_away(double d)
{
	if (d > 9007199254740992.0 || d < -9007199254740992.0)
		return d;
	return (double)(long long)(d < 0 ? d - 0.5 : d + 0.5);
}

#endif
