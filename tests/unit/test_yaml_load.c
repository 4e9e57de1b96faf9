/*
 * Tests of the strict YAML loader: the core schema, value locations, a corpus
 * of hostile files (tests/data/yaml-bad/) and allocation failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "torture.h"
#include "yaml_load.h"

/* Loads a NUL-terminated string; returns the doc or NULL with err set. */
static struct fg_yaml_doc *load(const char *text, int *rc, struct fg_error *err)
{
	struct fg_yaml_doc *doc = NULL;

	fg_error_clear(err);
	*rc = fg_yaml_load_buffer(&doc, "t.yaml", text, strlen(text), NULL, err);
	return doc;
}

/* The value of `key: <scalar>` as the loader resolves it (new reference). */
static json_t *scalar(const char *yaml_value)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	char *text = fg_asprintf("v: %s\n", yaml_value);
	json_t *v;
	int rc;

	assert_non_null(text);
	doc = load(text, &rc, &err);
	free(text);
	if (rc != 0)
		print_error("loading 'v: %s' failed: %s\n", yaml_value, err.message);
	assert_int_equal(rc, 0);
	v = json_incref(json_object_get(doc->root, "v"));
	assert_non_null(v);
	fg_yaml_doc_free(doc);
	return v;
}

static void assert_string_scalar(const char *yaml_value, const char *expected)
{
	json_t *v = scalar(yaml_value);

	if (!json_is_string(v))
		print_error("'%s' did not stay a string\n", yaml_value);
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), expected);
	json_decref(v);
}

static void assert_integer_scalar(const char *yaml_value, json_int_t expected)
{
	json_t *v = scalar(yaml_value);

	if (!json_is_integer(v))
		print_error("'%s' is not an integer\n", yaml_value);
	assert_true(json_is_integer(v));
	assert_true(json_integer_value(v) == expected);
	json_decref(v);
}

static void assert_real_scalar(const char *yaml_value, double expected)
{
	json_t *v = scalar(yaml_value);

	if (!json_is_real(v))
		print_error("'%s' is not a real\n", yaml_value);
	assert_true(json_is_real(v));
	assert_true(fabs(json_real_value(v) - expected) <= fabs(expected) * 1e-12);
	json_decref(v);
}

static void assert_type_scalar(const char *yaml_value, json_type type)
{
	json_t *v = scalar(yaml_value);

	if (json_typeof(v) != type)
		print_error("'%s' has type %d, expected %d\n", yaml_value,
			    (int)json_typeof(v), (int)type);
	assert_int_equal(json_typeof(v), type);
	json_decref(v);
}

/* Asserts that text is refused with "t.yaml:line:col: " and `what`. */
static void assert_refused(const char *text, int code, int line, int col,
			   const char *what)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	char where[64];
	int rc;

	doc = load(text, &rc, &err);
	if (doc)
		print_error("'%s' loaded\n", text);
	assert_null(doc);
	snprintf(where, sizeof(where), "t.yaml:%d:%d: ", line, col);
	if (rc != code || !strstr(err.message, where) || !strstr(err.message, what))
		print_error("for %s\n got %d '%s'\n want %d '%s...%s'\n", text, rc,
			    err.message, code, where, what);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err.message, where));
	assert_non_null(strstr(err.message, what));
}

static void test_core_schema_booleans(void **state)
{
	assert_type_scalar("true", JSON_TRUE);
	assert_type_scalar("false", JSON_FALSE);
	assert_type_scalar("True", JSON_TRUE);
	assert_type_scalar("FALSE", JSON_FALSE);
	/* the Norway problem: YAML 1.1 booleans stay strings */
	assert_string_scalar("no", "no");
	assert_string_scalar("NO", "NO");
	assert_string_scalar("yes", "yes");
	assert_string_scalar("on", "on");
	assert_string_scalar("Off", "Off");
	assert_string_scalar("y", "y");
	assert_string_scalar("tRUE", "tRUE");
	/* quoting and !!str keep text even when it looks like a boolean */
	assert_string_scalar("\"true\"", "true");
	assert_string_scalar("'false'", "false");
	assert_string_scalar("!!str true", "true");
}

static void test_core_schema_null(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	int rc;

	assert_type_scalar("null", JSON_NULL);
	assert_type_scalar("Null", JSON_NULL);
	assert_type_scalar("NULL", JSON_NULL);
	assert_type_scalar("~", JSON_NULL);
	assert_type_scalar("", JSON_NULL);
	assert_string_scalar("nULL", "nULL");
	assert_string_scalar("\"~\"", "~");
	assert_string_scalar("none", "none");

	/* an empty file is a document without a root, not an error */
	doc = load("", &rc, &err);
	assert_int_equal(rc, 0);
	assert_non_null(doc);
	assert_null(doc->root);
	fg_yaml_doc_free(doc);
	doc = load("# only a comment\n", &rc, &err);
	assert_int_equal(rc, 0);
	assert_null(doc->root);
	fg_yaml_doc_free(doc);
}

static void test_core_schema_integers(void **state)
{
	assert_integer_scalar("0", 0);
	assert_integer_scalar("42", 42);
	assert_integer_scalar("-17", -17);
	assert_integer_scalar("+5", 5);
	assert_integer_scalar("0x1F", 31);
	assert_integer_scalar("0xff", 255);
	assert_integer_scalar("0o17", 15);
	assert_integer_scalar("9223372036854775807", INT64_MAX);
	assert_integer_scalar("-9223372036854775808", INT64_MIN);
	assert_integer_scalar("0x7fffffffffffffff", INT64_MAX);
	/* not integers in the core schema */
	assert_string_scalar("0777", "0777");
	assert_string_scalar("-007", "-007");
	assert_string_scalar("1_000", "1_000");
	assert_string_scalar("0x", "0x");
	assert_string_scalar("0xg1", "0xg1");
	assert_string_scalar("0o8", "0o8");
	assert_string_scalar("0b101", "0b101");
	assert_string_scalar("-0x10", "-0x10");
	assert_string_scalar("12:30", "12:30");
	assert_string_scalar("1.2.3", "1.2.3");
	assert_string_scalar("\"42\"", "42");
	assert_string_scalar("!!str 0x10", "0x10");
	/* the non-specific tag "!" means "a string" in YAML itself */
	assert_string_scalar("! 12", "12");
}

static void test_core_schema_floats(void **state)
{
	assert_real_scalar("1.5", 1.5);
	assert_real_scalar("-0.25", -0.25);
	assert_real_scalar(".5", 0.5);
	assert_real_scalar("1.", 1.0);
	assert_real_scalar("1e3", 1000.0);
	assert_real_scalar("+2.5E-2", 0.025);
	assert_string_scalar(".", ".");
	assert_string_scalar("1e", "1e");
	assert_string_scalar("e3", "e3");
	assert_string_scalar("1.5.0", "1.5.0");
	assert_string_scalar("inf", "inf");
	assert_string_scalar("\".nan\"", ".nan");
}

static void test_out_of_range_numbers_refused(void **state)
{
	assert_refused("v: 9223372036854775808\n", FG_EINVALID, 1, 4,
		       "integer is out of range; quote it");
	assert_refused("v: -9223372036854775809\n", FG_EINVALID, 1, 4, "out of range");
	assert_refused("v: 0x10000000000000000\n", FG_EINVALID, 1, 4, "out of range");
	assert_refused("a: 1\nv: 1e400\n", FG_EINVALID, 2, 4,
		       "number is out of range");
}

/* A number the loader refuses may be a PIN: the message never shows it. */
static void test_refused_number_is_not_echoed(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	int rc;

	(void)state;
	doc = load("sim_pin: 98765432109876543210987\n", &rc, &err);
	assert_null(doc);
	assert_int_equal(rc, FG_EINVALID);
	assert_non_null(strstr(err.message, "t.yaml:1:10: integer is out of range"));
	assert_null(strstr(err.message, "98765"));
}

static void test_inf_and_nan_refused(void **state)
{
	static const char *const values[] = {
		".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", "+.INF",
		".nan", ".NaN", ".NAN",
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "v: %s\n", values[i]);
		assert_refused(text, FG_EINVALID, 1, 4, "infinity or NaN has no JSON form");
	}
}

static void test_strings_and_structure(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	json_t *list;
	int rc;

	doc = load("name: kiosk\n"
		   "url: https://example.com/a#b\n"
		   "multi: |\n  line one\n  line two\n"
		   "quoted: \"caf\\u00e9 \\t\"\n"
		   "list: [1, two, 3.5, null, true]\n"
		   "empty_map: {}\n",
		   &rc, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(doc->root, "url")),
			    "https://example.com/a#b");
	assert_string_equal(json_string_value(json_object_get(doc->root, "multi")),
			    "line one\nline two\n");
	assert_string_equal(json_string_value(json_object_get(doc->root, "quoted")),
			    "caf\xc3\xa9 \t");
	list = json_object_get(doc->root, "list");
	assert_int_equal(json_array_size(list), 5);
	assert_true(json_is_integer(json_array_get(list, 0)));
	assert_true(json_is_string(json_array_get(list, 1)));
	assert_true(json_is_real(json_array_get(list, 2)));
	assert_true(json_is_null(json_array_get(list, 3)));
	assert_true(json_is_true(json_array_get(list, 4)));
	assert_int_equal(json_object_size(json_object_get(doc->root, "empty_map")), 0);
	fg_yaml_doc_free(doc);
	fg_yaml_doc_free(NULL);
}

static void assert_location(const struct fg_yaml_doc *doc, const char *pointer,
			    int line, int column)
{
	int l = -1, c = -1;

	if (fg_yaml_doc_location(doc, pointer, &l, &c) != 0 || l != line || c != column)
		print_error("'%s' at %d:%d, expected %d:%d\n", pointer, l, c, line, column);
	assert_int_equal(fg_yaml_doc_location(doc, pointer, &l, &c), 0);
	assert_int_equal(l, line);
	assert_int_equal(c, column);
}

static void test_locations(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	int rc, line, column;

	doc = load("version: 1\n"
		   "os_images:\n"
		   "  pi2-armhf: img-a\n"
		   "  \"a/b~c\":   img-b\n"
		   "list:\n"
		   "  - first\n"
		   "  -   second\n"
		   "flow: {x: [10, 20]}\n",
		   &rc, &err);
	assert_int_equal(rc, 0);
	assert_location(doc, "", 1, 1);
	assert_location(doc, "/version", 1, 10);
	assert_location(doc, "/os_images", 3, 3);
	assert_location(doc, "/os_images/pi2-armhf", 3, 14);
	/* keys are escaped as JSON pointers require: / -> ~1, ~ -> ~0 */
	assert_location(doc, "/os_images/a~1b~0c", 4, 14);
	assert_location(doc, "/list/0", 6, 5);
	assert_location(doc, "/list/1", 7, 7);
	assert_location(doc, "/flow/x", 8, 11);
	assert_location(doc, "/flow/x/1", 8, 16);
	assert_int_equal(fg_yaml_doc_location(doc, "/missing", &line, &column),
			 FG_ENOTFOUND);
	assert_int_equal(line, 0);
	assert_int_equal(column, 0);
	assert_int_equal(fg_yaml_doc_location(NULL, "", &line, &column), FG_ENOTFOUND);
	fg_yaml_doc_free(doc);
}

static void test_location_of_a_far_column(void **state)
{
	struct fg_yaml_limits limits = FG_YAML_LIMITS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	size_t pad = 1100000, len = pad + 7;
	char *text = malloc(len + 1);
	int line, column;

	assert_non_null(text);
	memcpy(text, "v: [", 4);
	memset(text + 4, ' ', pad);
	memcpy(text + 4 + pad, "x]\n", 4);
	limits.max_bytes = 2 * 1024 * 1024;
	assert_int_equal(fg_yaml_load_buffer(&doc, "t.yaml", text, len, &limits, &err), 0);
	free(text);
	/* clamped to the largest column the packing holds, line intact */
	assert_int_equal(fg_yaml_doc_location(doc, "/v/0", &line, &column), 0);
	assert_int_equal(line, 1);
	assert_int_equal(column, 0xfffff);
	fg_yaml_doc_free(doc);
}

static void test_json_pointer_append(void **state)
{
	char *p = fg_json_pointer_append("/a", "x/y~z");

	assert_string_equal(p, "/a/x~1y~0z");
	free(p);
	p = fg_json_pointer_append("", "");
	assert_string_equal(p, "/");
	free(p);
}

static void assert_message(const struct fg_error *err, const char *what)
{
	if (!strstr(err->message, what))
		print_error("got '%s'\nwant '%s'\n", err->message, what);
	assert_non_null(strstr(err->message, what));
}

static void test_limits(void **state)
{
	struct fg_yaml_limits limits = FG_YAML_LIMITS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	const char *text = "a: [1, 2, 3]\nb: [4, 5]\n";

	limits.max_bytes = 10;
	assert_int_equal(fg_yaml_load_buffer(&doc, "t.yaml", text, strlen(text),
					     &limits, &err), FG_ELIMIT);
	assert_message(&err, "t.yaml:1:1: file is 23 bytes, more than the limit of 10");
	limits = (struct fg_yaml_limits)FG_YAML_LIMITS_INIT;
	limits.max_nodes = 6;
	assert_int_equal(fg_yaml_load_buffer(&doc, "t.yaml", text, strlen(text),
					     &limits, &err), FG_ELIMIT);
	assert_message(&err, "t.yaml:2:1: more than 6 values");
	limits = (struct fg_yaml_limits)FG_YAML_LIMITS_INIT;
	limits.max_depth = 1;
	assert_int_equal(fg_yaml_load_buffer(&doc, "t.yaml", text, strlen(text),
					     &limits, &err), FG_ELIMIT);
	assert_message(&err, "t.yaml:1:4: nesting deeper than 1 levels");
	assert_null(doc);
	/* the limit itself is allowed */
	limits.max_depth = 3;
	text = "a: [[1]]\n";
	assert_int_equal(fg_yaml_load_buffer(&doc, "t.yaml", text, strlen(text),
					     &limits, &err), 0);
	fg_yaml_doc_free(doc);
	text = "a: [[[1]]]\n";
	assert_int_equal(fg_yaml_load_buffer(&doc, "t.yaml", text, strlen(text),
					     &limits, &err), FG_ELIMIT);
	assert_message(&err, "t.yaml:1:6: nesting deeper than 3 levels");
}

static void test_inline_refusals(void **state)
{
	assert_refused("a: &x 1\n", FG_EINVALID, 1, 4, "anchor '&x' is not allowed");
	assert_refused("!!map [a]\n", FG_EINVALID, 1, 1, "tag 'tag:yaml.org,2002:map' is not allowed");
	assert_refused("a: !!int \"1\"\n", FG_EINVALID, 1, 4, "tag 'tag:yaml.org,2002:int'");
	assert_refused("\"a\\0b\": 1\n", FG_EINVALID, 1, 1, "NUL character in a key");
	assert_refused("a: [1, 2\n", FG_EINVALID, 2, 1, "check the indentation and quoting");
	assert_refused("a: 1\nb: \"x\x01\"\n", FG_EINVALID, 2, 6,
		       "control characters are not allowed; save the file as plain UTF-8");
	assert_refused("a:\n  \tb: 1\n", FG_EINVALID, 2, 3, "tab character in the indentation");
	assert_refused("a: b: c\n", FG_EINVALID, 1, 5,
		       "mapping values are not allowed in this context; check the indentation");
}

static void test_utf8(void **state)
{
	static const struct {
		const char *text;
		int column; /* 0: valid */
	} cases[] = {
		{ "v: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end\n", 0 },
		{ "v: \xef\xbf\xbd \xf4\x8f\xbf\xbf\n", 0 },
		{ "v: ab\x80\n", 6 },             /* lone continuation byte */
		{ "v: \xf8\x88\x80\x80\x80\n", 4 }, /* 5-byte form */
		{ "v: \xc3\n", 4 },               /* truncated before newline */
		{ "v: \xe2\x82", 4 },             /* truncated at the end */
		{ "v: \xc0\x80\n", 4 },           /* overlong NUL */
		{ "v: \xe0\x80\xaf\n", 4 },       /* overlong '/' */
		{ "v: \xf0\x80\x80\xaf\n", 4 },   /* overlong, 4 bytes */
		{ "v: \xed\xa0\x80\n", 4 },       /* UTF-16 surrogate */
		{ "v: \xf4\x90\x80\x80\n", 4 },   /* beyond U+10FFFF */
		{ "v: \xc3\xa9\xc3\n", 5 },        /* counted in characters */
	};
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].column) {
			assert_refused(cases[i].text, FG_EINVALID, 1, cases[i].column,
				       "invalid UTF-8; save the file as UTF-8");
			continue;
		}
		doc = load(cases[i].text, &rc, &err);
		assert_int_equal(rc, 0);
		assert_true(json_is_string(json_object_get(doc->root, "v")));
		fg_yaml_doc_free(doc);
	}
}

/* --- the corpus of hostile files ------------------------------------- */

struct bad_case {
	const char *file;
	int code;
	int line, column;
	const char *what;
};

static const struct bad_case bad_cases[] = {
	/* refused at the first anchor, before any alias is expanded */
	{ "alias-bomb.yaml", FG_EINVALID, 1, 4, "anchor '&a' is not allowed; write the value out in full" },
	{ "self-alias.yaml", FG_EINVALID, 1, 7, "anchor '&loop' is not allowed" },
	{ "alias-undefined.yaml", FG_EINVALID, 2, 16, "alias '*defaults' is not allowed" },
	{ "deep-flow.yaml", FG_ELIMIT, 1, 35, "nesting deeper than 32 levels; flatten" },
	{ "deep-block.yaml", FG_ELIMIT, 1, 65, "nesting deeper than 32 levels; flatten" },
	{ "duplicate-key.yaml", FG_EINVALID, 3, 1, "duplicate key 'name' (first defined at line 1); keep only one" },
	{ "tab-indent.yaml", FG_EINVALID, 2, 1, "tab character in the indentation; indent with spaces" },
	{ "invalid-utf8.yaml", FG_EINVALID, 2, 11, "invalid UTF-8; save the file as UTF-8" },
	{ "nul-byte.yaml", FG_EINVALID, 2, 10, "NUL byte in the file" },
	{ "nul-escape.yaml", FG_EINVALID, 2, 8, "NUL character (\\0) in a string; remove it" },
	{ "two-documents.yaml", FG_EINVALID, 2, 1, "a second document ('---') in the file" },
	{ "tag-python.yaml", FG_EINVALID, 2, 6, "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" },
	{ "tag-custom.yaml", FG_EINVALID, 1, 7, "tag '!foo' is not allowed" },
	{ "key-mapping.yaml", FG_EINVALID, 1, 3, "a key must be a plain string, not a mapping" },
	{ "key-sequence.yaml", FG_EINVALID, 2, 1, "a key must be a plain string, not a list" },
	{ "int-range.yaml", FG_EINVALID, 1, 8, "integer is out of range" },
	{ "float-range.yaml", FG_EINVALID, 1, 8, "number is out of range" },
	{ "inf.yaml", FG_EINVALID, 1, 8, "infinity or NaN has no JSON form" },
	{ "nan.yaml", FG_EINVALID, 1, 8, "infinity or NaN has no JSON form" },
};

static char *bad_path(const char *file)
{
	const char *src = getenv("FG_SRCDIR");
	char *p = fg_asprintf("%s/tests/data/yaml-bad/%s", src ? src : ".", file);

	assert_non_null(p);
	return p;
}

static void test_bad_corpus(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct fg_error err = FG_ERROR_INIT;
		struct fg_yaml_doc *doc = NULL;
		char *path = bad_path(c->file);
		char *where = fg_asprintf("%s:%d:%d: ", path, c->line, c->column);
		int rc;

		rc = fg_yaml_load_file(&doc, path, NULL, &err);
		if (rc != c->code || !strstr(err.message, where) ||
		    !strstr(err.message, c->what))
			print_error("%s:\n got %d '%s'\n want %d '%s...%s'\n", c->file,
				    rc, err.message, c->code, where, c->what);
		assert_null(doc);
		assert_int_equal(rc, c->code);
		assert_non_null(strstr(err.message, where));
		assert_non_null(strstr(err.message, c->what));
		free(where);
		free(path);
	}
}

/* A file of the size of the alias bomb that loads: the yardstick of cost. */
static const char normal_file[] =
	"name: kiosk-campus\n"
	"subscribed_branch: canary\n"
	"os_image: 2025-11-02-pi4-test\n"
	"configuration:\n"
	"  kiosk_enabled: \"true\"\n"
	"  kiosk_url: https://intranet.example.com/board\n"
	"  playbook_version: \"1.5.0\"\n"
	"  token: { secret: RUNNER_ACCESS_TOKEN }\n"
	"  sites: [campus, lab, hall, depot, north, south, east, west, annex]\n"
	"  extra: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
	"  labels: {floor: 2, room: 214, wing: east}\n"
	"  motd: \"Welcome to the campus kiosk\"\n";

struct load_ctx {
	const char *data;
	size_t len;
};

static int load_buffer_fn(void *p)
{
	struct load_ctx *ctx = p;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	int rc;

	rc = fg_yaml_load_buffer(&doc, "t.yaml", ctx->data, ctx->len, NULL, &err);
	fg_yaml_doc_free(doc);
	return rc;
}

static char *read_whole(const char *path, size_t *len)
{
	struct fg_buf b = FG_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(fg_buf_put(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	return fg_buf_detach(&b);
}

static void test_alias_bomb_costs_no_more_than_a_normal_file(void **state)
{
	char *path = bad_path("alias-bomb.yaml");
	struct load_ctx bomb = { NULL, 0 }, normal = { normal_file, sizeof(normal_file) - 1 };
	size_t bomb_allocs, normal_allocs;
	clock_t start;
	double seconds;
	int rc, i;

	bomb.data = read_whole(path, &bomb.len);
	assert_true(bomb.len <= 400);
	assert_true(normal.len >= bomb.len);
	if (torture_available(NULL)) {
		/* deterministic: count allocations, not time */
		bomb_allocs = torture_count(load_buffer_fn, &bomb, &rc);
		assert_int_equal(rc, FG_EINVALID);
		normal_allocs = torture_count(load_buffer_fn, &normal, &rc);
		assert_int_equal(rc, 0);
		if (bomb_allocs > normal_allocs)
			print_error("bomb: %zu allocations, normal file: %zu\n",
				    bomb_allocs, normal_allocs);
		assert_true(bomb_allocs <= normal_allocs);
	}
	/* a billion expanded strings would take minutes; 100 refusals must not
	 * take a noticeable fraction of a second, even under a sanitizer */
	start = clock();
	for (i = 0; i < 100; i++)
		assert_int_equal(load_buffer_fn(&bomb), FG_EINVALID);
	seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
	assert_true(seconds < 2.0);
	free((char *)bomb.data);
	free(path);
}

static void test_size_limit_checked_before_reading(void **state)
{
	char dir[] = "/tmp/fg-yaml-XXXXXX";
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	char *path, *where;
	int fd;

	assert_non_null(mkdtemp(dir));
	path = fg_asprintf("%s/big.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	/* sparse: 50 MB of size, no 50 MB of disk or of reading */
	assert_int_equal(ftruncate(fd, 50L * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(fg_yaml_load_file(&doc, path, NULL, &err), FG_ELIMIT);
	assert_null(doc);
	where = fg_asprintf("%s:1:1: file is 52428800 bytes, more than the limit of %d; split it",
			    path, FG_YAML_MAX_BYTES_DEFAULT);
	if (!strstr(err.message, where))
		print_error("got '%s'\n", err.message);
	assert_non_null(strstr(err.message, where));
	free(where);
	unlink(path);

	/* not a regular file, and missing */
	assert_int_equal(fg_yaml_load_file(&doc, dir, NULL, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "is not a regular file"));
	assert_int_equal(fg_yaml_load_file(&doc, path, NULL, &err), FG_ENOTFOUND);
	assert_non_null(strstr(err.message, "unable to open"));
	/* a FIFO must be refused, not waited on */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(fg_yaml_load_file(&doc, path, NULL, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "is not a regular file but a FIFO"));
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_schema_booleans),
		cmocka_unit_test(test_core_schema_null),
		cmocka_unit_test(test_core_schema_integers),
		cmocka_unit_test(test_core_schema_floats),
		cmocka_unit_test(test_out_of_range_numbers_refused),
		cmocka_unit_test(test_refused_number_is_not_echoed),
		cmocka_unit_test(test_inf_and_nan_refused),
		cmocka_unit_test(test_strings_and_structure),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_location_of_a_far_column),
		cmocka_unit_test(test_json_pointer_append),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_inline_refusals),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_alias_bomb_costs_no_more_than_a_normal_file),
		cmocka_unit_test(test_size_limit_checked_before_reading),
	};

	return cmocka_run_group_tests_name("yaml_load", tests, NULL, NULL);
}
