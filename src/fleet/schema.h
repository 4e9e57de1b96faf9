/*
 * schema.h: JSON Schema draft 7 validation over jansson values.
 *
 * A struct fg_schema holds one root schema plus any other schema documents
 * registered with it (so "$ref" can reach them by "$id" or URI). It never
 * fetches anything over a network: a "$ref" to a document that was not
 * registered is an error naming the URI.
 *
 * What it implements: every draft 7 validation keyword; "pattern" and
 * "patternProperties" as ECMA-262 regular expressions (PCRE2, compiled once
 * in fg_schema_new); "format" is asserted for date-time, date, time, uuid,
 * hostname, ipv4, ipv6, uri, uri-reference, email and regex, and other
 * formats pass; enum/const/uniqueItems treat 1 and 1.0 as equal. anyOf and
 * oneOf failures are one finding that summarizes each alternative.
 * Messages never show an instance value (it may be a secret): they name
 * its place (pointer, line, column), its type and the rule. Keys and
 * schema strings in them are escaped (fg_diags_add, fg_buf_put_escaped), so
 * pushed content cannot forge hook output.
 *
 * Ownership rule: fg_schema_new and fg_schema_add_resource take a new
 * reference to the json_t they are given (the caller keeps its own); the
 * struct fg_schema returned through `out` belongs to the caller and is freed
 * with fg_schema_free. Diagnostics are appended to a caller-owned fg_diags.
 */
#ifndef FG_SCHEMA_H
#define FG_SCHEMA_H

#include <jansson.h>

#include "diag.h"
#include "ecma_regex.h"
#include "error.h"
#include "yaml_load.h"

struct fg_schema;

/* Compiles `root` (an object or a boolean schema). base_uri may be NULL.
 * Returns 0, or FG_EINVALID when the schema itself is malformed (bad regex,
 * wrong keyword type), naming the schema location ("#/properties/x/pattern"),
 * FG_ELIMIT when it nests deeper than a fixed limit, or FG_ENOMEM. */
int fg_schema_new(struct fg_schema **out, json_t *root, const char *base_uri,
		  struct fg_error *err);

/* Registers another schema document under `uri` (and its own "$id"s), so
 * "$ref"s to that URI resolve; may be called before or after validating.
 * Returns 0, FG_EINVALID as for fg_schema_new, or FG_ENOMEM. */
int fg_schema_add_resource(struct fg_schema *schema, json_t *doc,
			   const char *uri, struct fg_error *err);

/* For a schema nobody may register more documents with (a fleet's own):
 * 0 when every "$ref" resolves to a schema, else FG_ENOTFOUND (a $ref to
 * nothing), FG_ELIMIT (a loop of $refs that never reaches a schema) or
 * FG_EINVALID (a $ref to something that is not a schema), with a message
 * "invalid schema at '#<pointer of the $ref>': ..." naming the URI. */
int fg_schema_check_refs(const struct fg_schema *schema, struct fg_error *err);

/* Validates `instance` (borrowed). Appends one fg_diag per violation with
 * the instance's JSON pointer, the schema keyword, a message, and, when
 * `doc` is given, doc->path and the line and column of the offending value
 * (of its parent object for a missing property). `diags` may be NULL when
 * only the verdict is wanted; validation then stops at the first violation.
 * Returns 0 when valid, 1 when invalid, or a negative FG_E* code with err
 * set: FG_ENOTFOUND for an unresolvable $ref (naming the URI), FG_ELIMIT for
 * a $ref loop that never reaches a value or a schema so costly (nested
 * anyOf/oneOf) that it exceeds a fixed evaluation budget, FG_EINVALID for a
 * $ref to a malformed schema outside the checked keywords, FG_ENOMEM. One fg_schema may be
 * used by several threads at once. */
int fg_schema_validate(const struct fg_schema *schema, const json_t *instance,
		       const struct fg_yaml_doc *doc, struct fg_diags *diags,
		       struct fg_error *err);

/* The work one check (a push) may spend validating with the schemas it was
 * given, shared across calls: regular-expression work (ecma_regex.h) and
 * schema evaluations (a $ref, a sub-schema of anyOf, ... each count one;
 * some 30 ns each), which bound nested combinators over many
 * documents as MAX_STEPS bounds them over one. */
struct fg_schema_budget {
	struct fg_regex_budget regex;
	unsigned long long steps;  /* schema evaluations still allowed */
	int steps_exhausted;
};

#define FG_SCHEMA_STEP_BUDGET 50000000ULL
#define FG_SCHEMA_BUDGET_INIT { .regex = FG_REGEX_BUDGET_INIT, \
	.steps = FG_SCHEMA_STEP_BUDGET, .steps_exhausted = 0 }

/* fg_schema_validate with every regular-expression match ("pattern",
 * "patternProperties", also through "additionalProperties", and format
 * "regex") charged to `budget`, which the caller shares across calls (one
 * budget for a whole fleet check). A match that hits its own limit is never
 * a pass: a finding of its keyword, and the verdict is invalid even inside
 * not/anyOf/if. A spent budget is FG_ELIMIT with budget->regex.exhausted
 * (a message naming the keyword) or budget->steps_exhausted set.
 * fg_schema_validate gives each call a fresh FG_SCHEMA_BUDGET_INIT. */
int fg_schema_validate_budget(const struct fg_schema *schema, const json_t *instance,
			      const struct fg_yaml_doc *doc,
			      struct fg_schema_budget *budget, struct fg_diags *diags,
			      struct fg_error *err);

/* Frees the schema; accepts NULL. */
void fg_schema_free(struct fg_schema *schema);

#endif
