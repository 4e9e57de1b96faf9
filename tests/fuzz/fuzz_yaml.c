/* Fuzz target: the strict YAML loader, on any bytes a pusher could commit. */
#define FG_FUZZ_TARGET yaml
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "yaml_load.h"

/* Every pointer the loader recorded must resolve to a location, and the
 * document must serialise: walks what a caller would use. */
static void use_document(const struct fg_yaml_doc *doc)
{
	const char *pointer;
	json_t *loc;
	char *text;
	int line, column;

	json_object_foreach(doc->locations, pointer, loc) {
		if (fg_yaml_doc_location(doc, pointer, &line, &column) != 0 ||
		    line < 1 || column < 1)
			abort();
	}
	if (doc->root) {
		text = json_dumps(doc->root, JSON_ENCODE_ANY | JSON_COMPACT);
		free(text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_yaml_limits limits = FG_YAML_LIMITS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	int rc;

	/* small limits reach the limit paths with small inputs */
	limits.max_bytes = 64 * 1024;
	limits.max_depth = 16;
	limits.max_nodes = 5000;
	rc = fg_yaml_load_buffer(&doc, "fuzz.yaml", (const char *)data, size,
				 &limits, &err);
	if (rc == 0) {
		if (!doc)
			abort();
		use_document(doc);
	} else if (doc || rc != err.code) {
		abort();
	} else if (rc != FG_ENOMEM && strncmp(err.message, "fuzz.yaml:", 10)) {
		/* a refusal always starts with file:line:column */
		abort();
	}
	fg_yaml_doc_free(doc);
	return 0;
}
