/*
 * Allocation-failure tests for the schema module (see tests/unit/torture.h):
 * compiling a schema set and validating a YAML document against it, with
 * the 1st, 2nd, ... Nth allocation failing. Every failed run must return
 * FG_ENOMEM (never a verdict built on a half-done check) and free
 * everything. Under AddressSanitizer the program reports a TAP skip; the
 * plain and valgrind passes run it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "error.h"
#include "schema.h"
#include "torture.h"
#include "yaml_load.h"

static const char schema_text[] =
	"{\"$id\": \"http://example.com/device.json\","
	" \"type\": \"object\", \"required\": [\"name\", \"os_image\"],"
	" \"properties\": {"
	"   \"name\": {\"type\": \"string\", \"pattern\": \"^[a-z][a-z0-9-]*$\"},"
	"   \"subscribed_branch\": {\"enum\": [\"main\", \"canary\", \"production\"]},"
	"   \"id\": {\"format\": \"uuid\"},"
	"   \"tags\": {\"type\": \"array\", \"uniqueItems\": true, \"items\": {\"$ref\": \"tag.json\"}},"
	"   \"configuration\": {\"type\": \"object\","
	"     \"propertyNames\": {\"pattern\": \"^[a-z_]+$\"},"
	"     \"patternProperties\": {\"^x_\": {\"type\": \"string\"}},"
	"     \"additionalProperties\": {\"anyOf\": [{\"type\": \"string\", \"maxLength\": 8},"
	"       {\"$ref\": \"#/definitions/secret\"}]}}},"
	" \"additionalProperties\": false,"
	" \"definitions\": {\"secret\": {\"type\": \"object\", \"required\": [\"secret\"],"
	"   \"properties\": {\"secret\": {\"type\": \"string\"}}}}}";

static const char tag_text[] = "{\"type\": \"string\", \"minLength\": 2}";

/* Ten violations, most with a message that quotes values. */
static const char doc_text[] =
	"name: Kiosk\n"
	"subscribed_branch: staging\n"
	"id: not-a-uuid\n"
	"tags: [ab, c, ab]\n"
	"configuration:\n"
	"  Bad: x\n"
	"  url: \"a value longer than eight\"\n"
	"  x_ok: 5\n"
	"colour: red\n";

#define EXPECTED_FINDINGS 10

struct texts {
	json_t *root; /* parsed before the runs: json_loads itself frees twice
		       * when an allocation fails inside it (jansson 2.14) */
	json_t *tag;
};

static int schema_fn(void *ctx)
{
	struct texts *t = ctx;
	struct fg_yaml_limits lim = FG_YAML_LIMITS_INIT;
	struct fg_yaml_doc *doc = NULL;
	struct fg_schema *s = NULL;
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	json_t *root = t->root, *tag = t->tag;
	int rc;

	rc = fg_schema_new(&s, root, NULL, &err);
	if (rc == 0)
		rc = fg_schema_add_resource(s, tag, "http://example.com/tag.json", &err);
	if (rc == 0)
		rc = fg_yaml_load_buffer(&doc, "devices/a.yaml", doc_text,
					 sizeof(doc_text) - 1, &lim, &err);
	if (rc == 0)
		rc = fg_schema_validate(s, doc->root, doc, &diags, &err);
	if (rc < 0 && rc != FG_ENOMEM)
		fprintf(stderr, "# unexpected: %s\n", err.message);
	if (rc == 1) {
		/* the complete verdict, or the test harness flags a wrong return */
		if (diags.count != EXPECTED_FINDINGS) {
			size_t i;

			for (i = 0; i < diags.count; i++)
				fprintf(stderr, "# %s: %s\n", diags.items[i].pointer,
					diags.items[i].message);
		}
		rc = diags.count == EXPECTED_FINDINGS ? 0 : FG_ERROR;
	}
	fg_diags_release(&diags);
	fg_yaml_doc_free(doc);
	fg_schema_free(s);
	return rc;
}

static void test_schema_compile_and_validate(void **state)
{
	struct torture_result res;
	struct texts t = { json_loads(schema_text, 0, NULL), json_loads(tag_text, 0, NULL) };
	int rc;

	assert_non_null(t.root);
	assert_non_null(t.tag);
	rc = torture_run(schema_fn, &t, FG_ENOMEM, 0, &res);
	json_decref(t.root);
	json_decref(t.tag);

	print_message("# schema: %zu allocations, %zu failure points tested, %zu broken\n",
		      res.allocations, res.points, res.failures);
	if (rc != 0)
		print_error("schema: %s\n", res.message);
	assert_int_equal(rc, 0);
	assert_int_equal(res.baseline, 0);
	assert_true(res.points >= 100);
	assert_int_equal(res.points, res.allocations);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_compile_and_validate),
	};
	const char *why;

	if (!torture_available(&why)) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	return cmocka_run_group_tests_name("schema_torture", tests, NULL, NULL);
}
