/*
 * schema_uri.h: RFC 3986 reference resolution for "$id" and "$ref", and
 * JSON pointer fragments. Internal to the schema module.
 *
 * Ownership rule: returned strings are new memory the caller frees.
 */
#ifndef FG_SCHEMA_URI_H
#define FG_SCHEMA_URI_H

#include <jansson.h>

/* Resolves `ref` against `base` (RFC 3986 section 5.2); either may be "".
 * Returns new memory or NULL on allocation failure. */
char *fg_uri_resolve(const char *base, const char *ref);

/* Walks JSON pointer `pointer` (already percent-decoded, "" is the root)
 * from `root`; returns a borrowed reference or NULL, and sets *oom to 1
 * when NULL means an allocation failed rather than "no such value". */
json_t *fg_json_pointer_get(json_t *root, const char *pointer, int *oom);

/* Percent-decodes `s`; returns new memory or NULL. Invalid escapes are kept
 * as they are. */
char *fg_uri_percent_decode(const char *s);

#endif
