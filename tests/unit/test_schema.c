#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "error.h"
#include "schema.h"
#include "schema_format.h"
#include "schema_uri.h"
#include "yaml_load.h"

/* Compiles a schema from JSON text; fails the test on any error. */
static struct fg_schema *compile(const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_DECODE_ANY, &jerr);
	struct fg_schema *s = NULL;
	struct fg_error err = FG_ERROR_INIT;

	assert_non_null(root);
	if (fg_schema_new(&s, root, NULL, &err) < 0)
		fail_msg("schema did not compile: %s", err.message);
	json_decref(root);
	return s;
}

/* Validates JSON text; returns the verdict, messages land in diags. */
static int check(const struct fg_schema *s, const char *text, struct fg_diags *diags)
{
	json_error_t jerr;
	json_t *inst = json_loads(text, JSON_DECODE_ANY, &jerr);
	struct fg_error err = FG_ERROR_INIT;
	int rc;

	assert_non_null(inst);
	rc = fg_schema_validate(s, inst, NULL, diags, &err);
	json_decref(inst);
	return rc;
}

static int compile_error(const char *text, struct fg_error *err)
{
	json_t *root = json_loads(text, 0, NULL);
	struct fg_schema *s = NULL;
	int rc;

	assert_non_null(root);
	rc = fg_schema_new(&s, root, NULL, err);
	assert_null(s);
	json_decref(root);
	return rc;
}

static void test_enum_message(void **state)
{
	struct fg_schema *s = compile("{\"enum\": [\"a\", \"b\"]}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(s, "\"x\"", &d), 1);
	assert_int_equal(d.count, 1);
	assert_string_equal(d.items[0].message, "value is not one of [a, b]");
	assert_string_equal(d.items[0].keyword, "enum");
	assert_string_equal(d.items[0].pointer, "");
	fg_diags_release(&d);
	assert_int_equal(check(s, "\"b\"", &d), 0);
	assert_int_equal(d.count, 0);
	/* verdict only */
	assert_int_equal(check(s, "\"x\"", NULL), 1);
	assert_int_equal(check(s, "\"a\"", NULL), 0);
	fg_schema_free(s);
}

static void test_messages_escape_controls_and_keep_utf8(void **state)
{
	struct fg_schema *s = compile("{\"additionalProperties\": false, "
				      "\"properties\": {\"a\": {\"maxLength\": 1}}}");
	struct fg_diags d = FG_DIAGS_INIT;
	const char *m;

	assert_int_equal(check(s, "{\"x\\nfleetgate: accepted\": 1}", &d), 1);
	assert_string_equal(d.items[0].message,
			    "additional property 'x\\nfleetgate: accepted' is not allowed");
	/* a value never appears in a message: it may be a secret */
	assert_int_equal(check(s, "{\"a\": \"S3cr3t-WIFI-value\"}", &d), 1);
	m = d.items[1].message;
	assert_string_equal(m, "string has 17 characters, more than the maximum 1");
	assert_null(strstr(m, "S3cr3t"));
	fg_diags_release(&d);
	fg_schema_free(s);
}

static void test_object_messages(void **state)
{
	struct fg_schema *s = compile(
		"{\"type\": \"object\", \"required\": [\"name\", \"id\"],"
		" \"properties\": {\"id\": {\"type\": \"string\"}, \"name\": {}},"
		" \"additionalProperties\": false}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(s, "{\"id\": 7, \"foo\": 1}", &d), 1);
	assert_int_equal(d.count, 3); /* every violation, not just the first */
	assert_string_equal(d.items[0].message, "missing required property 'name'");
	assert_string_equal(d.items[0].keyword, "required");
	assert_string_equal(d.items[1].pointer, "/id");
	assert_string_equal(d.items[1].message,
			    "value is of type 'integer', expected 'string'");
	assert_string_equal(d.items[2].pointer, "/foo");
	assert_string_equal(d.items[2].keyword, "additionalProperties");
	assert_string_equal(d.items[2].message, "additional property 'foo' is not allowed");
	fg_diags_release(&d);
	fg_schema_free(s);
}

static void test_numbers_equal_across_types(void **state)
{
	struct fg_schema *s = compile("{\"enum\": [1, [2.0], {\"a\": 3}]}");
	struct fg_schema *u = compile("{\"uniqueItems\": true}");
	struct fg_schema *c = compile("{\"const\": 5}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(s, "1.0", &d), 0);
	assert_int_equal(check(s, "[2]", &d), 0);
	assert_int_equal(check(s, "{\"a\": 3.0}", &d), 0);
	assert_int_equal(check(s, "true", &d), 1);
	assert_int_equal(check(u, "[1, 1.0]", &d), 1);
	assert_int_equal(check(u, "[1, true]", &d), 0);
	assert_int_equal(check(c, "5.0", &d), 0);
	assert_int_equal(check(c, "5.5", &d), 1);
	assert_string_equal(d.items[d.count - 1].message, "value must be 5");
	fg_diags_release(&d);
	fg_schema_free(s);
	fg_schema_free(u);
	fg_schema_free(c);
}

static void test_unique_items_large_and_loose(void **state)
{
	struct fg_schema *u = compile("{\"uniqueItems\": true}");
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *arr = json_array();
	int i;

	assert_int_equal(check(u, "[{\"a\": 1, \"b\": [2]}, {\"b\": [2.0], \"a\": 1.0}]", &d), 1);
	assert_string_equal(d.items[0].message, "items 0 and 1 are equal; items must be unique");
	assert_int_equal(check(u, "[{\"a\": 1}, {\"a\": 2}, [1], [1, 1], 0, -0.0, \"0\"]", &d), 1);
	assert_string_equal(d.items[1].message, "items 4 and 5 are equal; items must be unique");
	/* 100,000 distinct items must not take 5e9 comparisons */
	for (i = 0; i < 100000; i++)
		json_array_append_new(arr, json_integer(i));
	assert_int_equal(fg_schema_validate(u, arr, NULL, &d, &err), 0);
	json_array_append_new(arr, json_real(99999.0));
	assert_int_equal(fg_schema_validate(u, arr, NULL, &d, &err), 1);
	assert_string_equal(d.items[2].message,
			    "items 99999 and 100000 are equal; items must be unique");
	json_decref(arr);
	fg_diags_release(&d);
	fg_schema_free(u);
}

static void test_anyof_is_one_summarized_error(void **state)
{
	struct fg_schema *s = compile(
		"{\"anyOf\": [{\"type\": \"string\"}, {\"required\": [\"secret\"]}]}");
	struct fg_schema *o = compile(
		"{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(s, "{\"a\": 1}", &d), 1);
	assert_int_equal(d.count, 1);
	assert_string_equal(d.items[0].keyword, "anyOf");
	assert_non_null(strstr(d.items[0].message, "none of the 2 schemas"));
	assert_non_null(strstr(d.items[0].message, "#1: missing required property 'secret'"));
	fg_diags_release(&d);
	assert_int_equal(check(o, "3", &d), 1);
	assert_int_equal(d.count, 1);
	assert_non_null(strstr(d.items[0].message, "matches 2 schemas of oneOf (#0, #1)"));
	fg_diags_release(&d);
	assert_int_equal(check(o, "1.5", &d), 1);
	assert_int_equal(check(o, "2.5", &d), 0);
	fg_diags_release(&d);
	fg_schema_free(s);
	fg_schema_free(o);
}

static void test_yaml_locations(void **state)
{
	static const char yaml[] =
		"name: kiosk\n"
		"configuration:\n"
		"  url: 42\n"
		"  extra: yes\n";
	struct fg_yaml_limits lim = FG_YAML_LIMITS_INIT;
	struct fg_yaml_doc *doc = NULL;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_schema *s = compile(
		"{\"properties\": {\"configuration\": {"
		"  \"properties\": {\"url\": {\"type\": \"string\"}},"
		"  \"required\": [\"token\"],"
		"  \"additionalProperties\": false}}}");

	assert_int_equal(fg_yaml_load_buffer(&doc, "devices/a.yaml", yaml,
					     strlen(yaml), &lim, &err), 0);
	assert_int_equal(fg_schema_validate(s, doc->root, doc, &d, &err), 1);
	assert_int_equal(d.count, 3);
	/* url: 42 is on line 3; the value starts in column 8 */
	assert_string_equal(d.items[0].pointer, "/configuration/url");
	assert_string_equal(d.items[0].path, "devices/a.yaml");
	assert_int_equal(d.items[0].line, 3);
	assert_int_equal(d.items[0].column, 8);
	/* a missing property is reported where its object is */
	assert_string_equal(d.items[1].keyword, "required");
	assert_int_equal(d.items[1].line, 3);
	assert_string_equal(d.items[2].pointer, "/configuration/extra");
	assert_int_equal(d.items[2].line, 4);
	fg_diags_release(&d);
	fg_yaml_doc_free(doc);
	fg_schema_free(s);
}

static void test_bad_regex_names_schema_pointer(void **state)
{
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(compile_error("{\"properties\": {\"name\": {\"pattern\": \"a(b\"}}}",
				       &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "'#/properties/name/pattern'"));
	assert_non_null(strstr(err.message, "a(b"));
	assert_int_equal(compile_error("{\"patternProperties\": {\"[z-a]\": true}}", &err),
			 FG_EINVALID);
	assert_non_null(strstr(err.message, "'#/patternProperties/[z-a]'"));
}

static void test_bad_keyword_types(void **state)
{
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(compile_error("{\"type\": \"text\"}", &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "'#/type'"));
	assert_int_equal(compile_error("{\"items\": {\"required\": \"a\"}}", &err),
			 FG_EINVALID);
	assert_non_null(strstr(err.message, "'#/items/required'"));
	assert_int_equal(compile_error("{\"minLength\": -1}", &err), FG_EINVALID);
	assert_int_equal(compile_error("{\"anyOf\": []}", &err), FG_EINVALID);
	assert_int_equal(compile_error("{\"properties\": {\"a\": 5}}", &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "'#/properties/a'"));
	/* unknown keywords are annotations: anything goes */
	assert_int_equal(compile_error("{\"x-note\": {\"type\": 5}, \"type\": \"text\"}", &err),
			 FG_EINVALID);
	assert_null(strstr(err.message, "x-note"));
}

static void test_unresolvable_ref(void **state)
{
	struct fg_schema *s = compile(
		"{\"properties\": {\"a\": {\"$ref\": \"other.json#/definitions/x\"},"
		" \"b\": {\"$ref\": \"#/definitions/missing\"}}}");
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *inst = json_pack("{s:i}", "a", 1);

	assert_int_equal(fg_schema_validate(s, inst, NULL, &d, &err), FG_ENOTFOUND);
	assert_non_null(strstr(err.message, "unresolvable $ref 'other.json#/definitions/x'"));
	json_decref(inst);
	inst = json_pack("{s:i}", "b", 1);
	assert_int_equal(fg_schema_validate(s, inst, NULL, &d, &err), FG_ENOTFOUND);
	assert_non_null(strstr(err.message, "#/definitions/missing"));
	/* a $ref that is never reached costs nothing */
	json_decref(inst);
	inst = json_pack("{s:i}", "c", 1);
	assert_int_equal(fg_schema_validate(s, inst, NULL, &d, &err), 0);
	json_decref(inst);
	fg_diags_release(&d);
	fg_schema_free(s);
}

static void test_refs_ids_and_resources(void **state)
{
	struct fg_schema *s = NULL;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	json_t *root = json_loads(
		"{\"$id\": \"http://example.com/root.json\","
		" \"definitions\": {\"a~b/c%d\": {\"type\": \"integer\"},"
		"   \"sub\": {\"$id\": \"sub/\", \"items\": {\"$ref\": \"item.json\"}}},"
		" \"properties\": {\"n\": {\"$ref\": \"#/definitions/a~0b~1c%25d\"},"
		"   \"list\": {\"$ref\": \"#/definitions/sub\"}}}", 0, NULL);
	json_t *item = json_loads("{\"type\": \"string\"}", 0, NULL);

	assert_int_equal(fg_schema_new(&s, root, NULL, &err), 0);
	assert_int_equal(fg_schema_add_resource(s, item, "http://example.com/sub/item.json",
						&err), 0);
	assert_int_equal(check(s, "{\"n\": 1, \"list\": [\"x\"]}", &d), 0);
	assert_int_equal(check(s, "{\"n\": \"1\", \"list\": [2]}", &d), 1);
	assert_int_equal(d.count, 2);
	assert_string_equal(d.items[1].pointer, "/list/0");
	fg_diags_release(&d);
	fg_schema_free(s);
	json_decref(root);
	json_decref(item);
}

static void test_ref_loop_is_an_error(void **state)
{
	struct fg_schema *s = compile("{\"$ref\": \"#\"}");
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *inst = json_integer(1);

	assert_int_equal(fg_schema_validate(s, inst, NULL, &d, &err), FG_ELIMIT);
	assert_non_null(strstr(err.message, "$ref loop"));
	json_decref(inst);
	fg_schema_free(s);
}

static void test_catastrophic_pattern_is_bounded(void **state)
{
	struct fg_schema *s = compile("{\"pattern\": \"^(a+)+$\"}");
	struct fg_diags d = FG_DIAGS_INIT;

	/* 2^40 backtracking paths: the match limit must stop it and the value
	 * is refused rather than accepted */
	assert_int_equal(check(s, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"", &d), 1);
	assert_non_null(strstr(d.items[0].message, "backtracking limit"));
	fg_diags_release(&d);
	fg_schema_free(s);
}

#define EVIL "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\""
#define EVIL_KEY "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_"

static const struct fg_diag *with_keyword(const struct fg_diags *d, const char *kw)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->items[i].keyword && !strcmp(d->items[i].keyword, kw))
			return &d->items[i];
	fail_msg("no finding of keyword %s", kw);
	return NULL;
}

/* patternProperties used to treat a key its pattern could not decide as
 * not matching and skip the sub-schema: a limit hit is never a pass. */
static void test_pattern_properties_limit_fails_closed(void **state)
{
	struct fg_schema *pp = compile("{\"patternProperties\": "
				       "{\"^(a+)+$\": {\"type\": \"integer\"}}}");
	struct fg_schema *extra = compile("{\"patternProperties\": {\"^(a+)+$\": true},"
					  " \"additionalProperties\": false}");
	struct fg_diags d = FG_DIAGS_INIT;
	const struct fg_diag *it;

	assert_int_equal(check(pp, "{\"" EVIL_KEY "\": \"x\"}", &d), 1);
	it = with_keyword(&d, "patternProperties");
	assert_string_equal(it->pointer, "/" EVIL_KEY);
	assert_non_null(strstr(it->message, "backtracking limit"));
	fg_diags_release(&d);
	assert_int_equal(check(pp, "{\"" EVIL_KEY "\": \"x\"}", NULL), 1);
	assert_int_equal(check(extra, "{\"" EVIL_KEY "\": 1}", &d), 1);
	assert_non_null(with_keyword(&d, "patternProperties"));
	fg_diags_release(&d);
	assert_int_equal(check(extra, "{\"aaa\": 1}", &d), 0);
	fg_schema_free(pp);
	fg_schema_free(extra);
}

/* A not/anyOf/if around an undecided match cannot turn it into a pass. */
static void test_limit_inside_not_fails_closed(void **state)
{
	struct fg_schema *n = compile("{\"not\": {\"pattern\": \"^(a+)+$\"}}");
	struct fg_schema *any = compile("{\"anyOf\": [{\"pattern\": \"^(a+)+$\"}, "
					"{\"not\": {\"pattern\": \"^(a+)+$\"}}]}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(n, EVIL, &d), 1);
	assert_non_null(strstr(with_keyword(&d, "pattern")->message, "could not be checked"));
	fg_diags_release(&d);
	assert_int_equal(check(n, "\"b\"", &d), 0);
	assert_int_equal(check(any, EVIL, &d), 1);
	fg_diags_release(&d);
	assert_int_equal(check(any, EVIL, NULL), 1);
	fg_schema_free(n);
	fg_schema_free(any);
}

/* Every match is charged to the budget, at least its first attempt; a
 * spent budget ends the validation naming the keyword. */
static void test_regex_budget(void **state)
{
	struct fg_schema *s = compile("{\"additionalProperties\": {\"pattern\": \"^a\"}}");
	struct fg_schema *evil = compile("{\"additionalProperties\": {\"pattern\": \"^(a+)+$\"}}");
	struct fg_schema *fmt = compile("{\"format\": \"regex\"}");
	struct fg_schema_budget sb = FG_SCHEMA_BUDGET_INIT;
	struct fg_regex_budget *b = &sb.regex;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	json_t *ten = json_loads("{\"a\":\"a\",\"b\":\"a\",\"c\":\"a\",\"d\":\"a\","
				 "\"e\":\"a\",\"f\":\"a\",\"g\":\"a\",\"h\":\"a\","
				 "\"i\":\"a\",\"j\":\"b\"}", 0, NULL);
	json_t *bad = json_loads("{\"a\": " EVIL ", \"b\": " EVIL ", \"c\": " EVIL "}",
				 0, NULL);
	json_t *re = json_string("^x+$");
	unsigned long long before = b->left;

	if (fg_schema_validate_budget(s, ten, NULL, &sb, NULL, &err) != 1)
		fail_msg("%s", err.message);
	assert_int_equal(before - b->left, 10 * 64);  /* stops at "j": 10 matches */
	/* three values, each at the per-match limit; the budget allows two */
	b->left = 2 * 137440 + 1000;
	b->exhausted = 0;
	assert_int_equal(fg_schema_validate_budget(evil, bad, NULL, &sb, &d, &err), FG_ELIMIT);
	assert_true(b->exhausted);
	assert_int_equal(d.count, 2);  /* the two at the per-match limit */
	fg_diags_release(&d);
	assert_non_null(strstr(err.message, "regular-expression budget is spent: the "
			       "schema's 'pattern' needs more work than one check may spend"));
	/* a spent budget stays spent: the next validation stops at once */
	assert_int_equal(fg_schema_validate_budget(s, ten, NULL, &sb, NULL, &err), FG_ELIMIT);
	b->left = 5;  /* compiling "^x+$" costs its length + 1 */
	b->exhausted = 0;
	assert_int_equal(fg_schema_validate_budget(fmt, re, NULL, &sb, NULL, &err), 0);
	assert_int_equal(b->left, 0);
	assert_int_equal(fg_schema_validate_budget(fmt, re, NULL, &sb, NULL, &err), FG_ELIMIT);
	assert_non_null(strstr(err.message, "'format'"));
	json_decref(ten);
	json_decref(bad);
	json_decref(re);
	fg_schema_free(s);
	fg_schema_free(evil);
	fg_schema_free(fmt);
}

/* Schema evaluations are counted across calls too: a schema that costs
 * just under the per-validation cap cannot be run over many documents. */
static void test_step_budget(void **state)
{
	struct fg_schema *s = compile("{\"anyOf\": [{\"type\": \"string\"}, "
				      "{\"type\": \"integer\"}]}");
	struct fg_schema_budget b = FG_SCHEMA_BUDGET_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *inst = json_integer(1);
	int i;

	b.steps = 10;
	for (i = 0; i < 3; i++)  /* root, #0, #1: 3 evaluations each */
		assert_int_equal(fg_schema_validate_budget(s, inst, NULL, &b, NULL, &err), 0);
	assert_int_equal(b.steps, 1);
	assert_int_equal(fg_schema_validate_budget(s, inst, NULL, &b, NULL, &err), FG_ELIMIT);
	assert_true(b.steps_exhausted);
	assert_non_null(strstr(err.message, "more schema evaluations than one check may spend"));
	json_decref(inst);
	fg_schema_free(s);
}

static void test_ref_into_unchecked_places(void **state)
{
	/* keywords outside the vocabulary are not checked unless a $ref
	 * reaches them; then a malformed one is an error, not a crash */
	struct fg_schema *bad = compile(
		"{\"x-extra\": {\"type\": 5}, \"properties\": {\"a\": {\"$ref\": \"#/x-extra\"}}}");
	struct fg_schema *good = compile(
		"{\"default\": {\"type\": \"string\"}, \"$ref\": \"#/default\"}");
	struct fg_schema *notschema = compile(
		"{\"enum\": [1], \"properties\": {\"a\": {\"$ref\": \"#/enum/0\"}}}");
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *inst = json_pack("{s:i}", "a", 1);

	assert_int_equal(fg_schema_validate(bad, inst, NULL, &d, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "malformed schema"));
	assert_int_equal(fg_schema_validate(notschema, inst, NULL, &d, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "does not point to a schema"));
	assert_int_equal(check(good, "\"s\"", &d), 0);
	assert_int_equal(check(good, "3", &d), 1);
	json_decref(inst);
	fg_diags_release(&d);
	fg_schema_free(bad);
	fg_schema_free(good);
	fg_schema_free(notschema);
}

static void test_exponential_schema_is_bounded(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	struct fg_schema *s;
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *inst = json_integer(1);
	int i;

	/* l<n> is anyOf [l<n-1>, l<n-1>] and l0 is false: a small schema
	 * that costs 2^40 evaluations */
	fg_buf_puts(&b, "{\"$ref\": \"#/definitions/l40\", \"definitions\": {\"l0\": false");
	for (i = 1; i <= 40; i++)
		fg_buf_printf(&b, ", \"l%d\": {\"anyOf\": [{\"$ref\": \"#/definitions/l%d\"}, "
			      "{\"$ref\": \"#/definitions/l%d\"}]}", i, i - 1, i - 1);
	fg_buf_puts(&b, "}}");
	s = compile(fg_buf_cstr(&b));
	assert_int_equal(fg_schema_validate(s, inst, NULL, &d, &err), FG_ELIMIT);
	assert_non_null(strstr(err.message, "schema evaluations"));
	json_decref(inst);
	fg_diags_release(&d);
	fg_buf_release(&b);
	fg_schema_free(s);
}

static void test_ecma_regex_dialect(void **state)
{
	struct fg_schema *digit = compile("{\"pattern\": \"^\\\\d+$\"}");
	struct fg_schema *space = compile("{\"pattern\": \"^a\\\\sb$\"}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(digit, "\"123\"", &d), 0);
	/* ECMA \d is ASCII only: ARABIC-INDIC DIGIT ZERO is not a digit */
	assert_int_equal(check(digit, "\"\\u0660\"", &d), 1);
	/* ECMA $ does not match before a final newline */
	assert_int_equal(check(digit, "\"123\\n\"", &d), 1);
	/* ECMA \s includes NO-BREAK SPACE */
	assert_int_equal(check(space, "\"a\\u00a0b\"", &d), 0);
	assert_int_equal(check(space, "\"a_b\"", &d), 1);
	assert_non_null(strstr(d.items[d.count - 1].message,
			       "string does not match pattern"));
	fg_diags_release(&d);
	fg_schema_free(digit);
	fg_schema_free(space);
}

static void test_length_counts_code_points(void **state)
{
	struct fg_schema *s = compile("{\"maxLength\": 3, \"minLength\": 2}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(s, "\"\\u00e4\\u00f6\\u00fc\"", &d), 0);
	assert_int_equal(check(s, "\"\\ud83d\\ude00\"", &d), 1); /* one emoji */
	assert_string_equal(d.items[0].message,
			    "string has 1 characters, fewer than the minimum 2");
	fg_diags_release(&d);
	fg_schema_free(s);
}

static void test_formats(void **state)
{
	struct { const char *fmt, *s; int ok; } cases[] = {
		{ "uuid", "3fb4632b-96b9-475d-ac89-02255bd15b6f", 1 },
		{ "uuid", "3fb4632b-96b9-475d-ac89-02255bd15b6", 0 },
		{ "date-time", "2025-10-10T10:56:00Z", 1 },
		{ "date-time", "2025-02-29T10:56:00+01:00", 0 },
		{ "date-time", "2024-02-29t10:56:00.5-01:00", 1 },
		{ "date", "2025-13-01", 0 },
		{ "time", "23:59:60Z", 1 },
		{ "hostname", "mender.example.com", 1 },
		{ "hostname", "-bad.example.com", 0 },
		{ "ipv4", "192.168.0.1", 1 },
		{ "ipv4", "192.168.0.01", 0 },
		{ "ipv4", "256.1.1.1", 0 },
		{ "ipv6", "fe80::1", 1 },
		{ "ipv6", "fe80:::1", 0 },
		{ "uri", "https://intranet.example.com/board?x=1#top", 1 },
		{ "uri", "//example.com/relative", 0 },
		{ "uri", "http://exa mple.com/", 0 },
		{ "uri-reference", "../a/b#c", 1 },
		{ "email", "ops@example.com", 1 },
		{ "email", "ops.example.com", 0 },
		{ "no-such-format", "anything", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = fg_schema_format_check(cases[i].fmt, cases[i].s, strlen(cases[i].s));

		if (got != cases[i].ok)
			fail_msg("%s '%s': got %d, want %d", cases[i].fmt, cases[i].s, got,
				 cases[i].ok);
	}
}

static void test_uri_resolution(void **state)
{
	struct { const char *base, *ref, *want; } cases[] = {
		{ "http://a/b/c/d;p?q", "g", "http://a/b/c/g" },
		{ "http://a/b/c/d;p?q", "../g", "http://a/b/g" },
		{ "http://a/b/c/d;p?q", "../../../g", "http://a/g" },
		{ "http://a/b/c/d;p?q", "#s", "http://a/b/c/d;p?q#s" },
		{ "http://a/b/c/d;p?q", "//g", "http://g" },
		{ "http://a/b/c/d;p?q", "./g/.", "http://a/b/c/g/" },
		{ "", "#/definitions/a", "#/definitions/a" },
		{ "http://localhost:1234/", "folder/", "http://localhost:1234/folder/" },
		{ "urn:x", "#foo", "urn:x#foo" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = fg_uri_resolve(cases[i].base, cases[i].ref);

		assert_non_null(got);
		if (strcmp(got, cases[i].want))
			fail_msg("resolve('%s', '%s') = '%s', want '%s'", cases[i].base,
				 cases[i].ref, got, cases[i].want);
		free(got);
	}
}

static void test_boolean_and_conditional_schemas(void **state)
{
	struct fg_schema *f = compile("false");
	struct fg_schema *c = compile(
		"{\"if\": {\"properties\": {\"kind\": {\"const\": \"kiosk\"}}},"
		" \"then\": {\"required\": [\"url\"]}, \"else\": {\"not\": {\"required\": [\"url\"]}}}");
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(check(f, "{}", &d), 1);
	assert_int_equal(check(c, "{\"kind\": \"kiosk\", \"url\": \"x\"}", &d), 1 - 1);
	assert_int_equal(d.count, 1);
	assert_int_equal(check(c, "{\"kind\": \"kiosk\"}", &d), 1);
	assert_string_equal(d.items[1].message, "missing required property 'url'");
	assert_int_equal(check(c, "{\"kind\": \"sensor\", \"url\": \"x\"}", &d), 1);
	assert_string_equal(d.items[2].keyword, "not");
	fg_diags_release(&d);
	fg_schema_free(f);
	fg_schema_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enum_message),
		cmocka_unit_test(test_object_messages),
		cmocka_unit_test(test_messages_escape_controls_and_keep_utf8),
		cmocka_unit_test(test_pattern_properties_limit_fails_closed),
		cmocka_unit_test(test_limit_inside_not_fails_closed),
		cmocka_unit_test(test_regex_budget),
		cmocka_unit_test(test_step_budget),
		cmocka_unit_test(test_numbers_equal_across_types),
		cmocka_unit_test(test_unique_items_large_and_loose),
		cmocka_unit_test(test_anyof_is_one_summarized_error),
		cmocka_unit_test(test_yaml_locations),
		cmocka_unit_test(test_bad_regex_names_schema_pointer),
		cmocka_unit_test(test_bad_keyword_types),
		cmocka_unit_test(test_unresolvable_ref),
		cmocka_unit_test(test_refs_ids_and_resources),
		cmocka_unit_test(test_ref_loop_is_an_error),
		cmocka_unit_test(test_ecma_regex_dialect),
		cmocka_unit_test(test_catastrophic_pattern_is_bounded),
		cmocka_unit_test(test_ref_into_unchecked_places),
		cmocka_unit_test(test_exponential_schema_is_bounded),
		cmocka_unit_test(test_length_counts_code_points),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_uri_resolution),
		cmocka_unit_test(test_boolean_and_conditional_schemas),
	};

	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
