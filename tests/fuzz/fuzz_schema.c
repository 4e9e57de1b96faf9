/* Fuzz target: the JSON Schema validator, with a hostile schema and a
 * hostile instance (a fleet may ship its own configuration schema). The
 * input is "schema\ninstance": the first line (JSON) compiles, the rest is
 * YAML validated against it. */
#define FG_FUZZ_TARGET schema
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "schema.h"
#include "yaml_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t schema_len = nl ? (size_t)(nl - text) : size;
	struct fg_yaml_limits limits = FG_YAML_LIMITS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_yaml_doc *doc = NULL;
	struct fg_schema *schema = NULL;
	json_error_t jerr;
	json_t *root;
	int rc;

	root = json_loadb(text, schema_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return 0;
	limits.max_bytes = 64 * 1024;
	limits.max_depth = 16;
	if (fg_schema_new(&schema, root, NULL, &err) == 0 && nl &&
	    fg_yaml_load_buffer(&doc, "fuzz.yaml", nl + 1, size - schema_len - 1, &limits,
				&err) == 0 && doc->root) {
		rc = fg_schema_validate(schema, doc->root, doc, &diags, &err);
		/* "valid" with findings, or "invalid" without, is a lie */
		if ((rc == 0 && diags.count) || (rc == 1 && !diags.count && !diags.failed))
			abort();
	}
	fg_diags_release(&diags);
	fg_yaml_doc_free(doc);
	fg_schema_free(schema);
	json_decref(root);
	return 0;
}
