/*
 * fleetgate validate --schema SCHEMA FILE...: validates YAML or JSON
 * documents against any JSON Schema (draft 7).
 */
#include "commands.h"
#include "buf.h"
#include "diag.h"
#include "error.h"
#include "schema.h"
#include "yaml_load.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Loads FILE as JSON (.json) or strict YAML (anything else). On success
 * either *doc is set (YAML, with locations) or *json (a new reference). */
static int load_input(const char *path, struct fg_yaml_doc **doc, json_t **json,
		      struct fg_error *err)
{
	struct fg_yaml_limits limits = FG_YAML_LIMITS_INIT;
	json_error_t jerr;

	*doc = NULL;
	*json = NULL;
	if (has_suffix(path, ".json")) {
		*json = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!*json && jerr.line < 1)
			return fg_error_set(err, FG_EIO, "unable to read '%s': %s", path,
					    jerr.text);
		if (!*json)
			return fg_error_set(err, FG_EINVALID, "%s:%d:%d: %s", path,
					    jerr.line, jerr.column, jerr.text);
		return 0;
	}
	return fg_yaml_load_file(doc, path, &limits, err);
}

static void print_diag(const char *file, const struct fg_diag *d)
{
	const char *ptr = d->pointer && *d->pointer ? d->pointer : "(root)";

	if (d->line > 0)
		printf("%s:%d:%d: %s: %s\n", file, d->line, d->column, ptr, d->message);
	else
		printf("%s: %s: %s\n", file, ptr, d->message);
}

/* Returns 0 valid, 1 invalid, 2 unreadable or an internal error. */
static int validate_one(const struct fg_schema *schema, const char *path)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_yaml_doc *doc = NULL;
	json_t *json = NULL, *inst;
	size_t i;
	int rc;

	if (load_input(path, &doc, &json, &err) < 0) {
		fprintf(stderr, "fleetgate validate: %s\n", err.message);
		return 2;
	}
	inst = doc ? doc->root : json;
	if (!inst)
		inst = json_null(); /* an empty YAML document is null */
	rc = fg_schema_validate(schema, inst, doc, &diags, &err);
	if (rc < 0) {
		fprintf(stderr, "fleetgate validate: %s: %s\n", path, err.message);
		rc = 2;
	} else if (rc == 0) {
		printf("%s: valid\n", path);
	} else {
		for (i = 0; i < diags.count; i++)
			print_diag(path, &diags.items[i]);
		rc = 1;
	}
	fg_diags_release(&diags);
	fg_yaml_doc_free(doc);
	json_decref(json);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: fleetgate validate --schema SCHEMA FILE...\n"
		     "Validates YAML (.yaml, .yml) or JSON (.json) files against a JSON\n"
		     "Schema (draft 7). Exit 0 all valid, 1 any invalid, 2 usage or\n"
		     "unreadable input.\n");
}

int cmd_validate(int argc, char **argv)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *sdoc = NULL;
	struct fg_schema *schema = NULL;
	const char *schema_path = NULL;
	json_t *sjson = NULL;
	int i, first = 0, rc, worst = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--schema") && i + 1 < argc) {
			schema_path = argv[++i];
		} else if (!strncmp(argv[i], "--schema=", 9)) {
			schema_path = argv[i] + 9;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "fleetgate validate: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	first = i;
	if (!schema_path || first >= argc) {
		usage(stderr);
		return 2;
	}
	if (load_input(schema_path, &sdoc, &sjson, &err) < 0) {
		fprintf(stderr, "fleetgate validate: %s\n", err.message);
		rc = 2;
		goto out;
	}
	if (fg_schema_new(&schema, sdoc ? sdoc->root : sjson, NULL, &err) < 0) {
		fprintf(stderr, "fleetgate validate: %s: %s\n", schema_path, err.message);
		rc = 2;
		goto out;
	}
	for (i = first; i < argc; i++) {
		rc = validate_one(schema, argv[i]);
		if (rc > worst)
			worst = rc;
	}
	rc = worst;
out:
	fg_schema_free(schema);
	fg_yaml_doc_free(sdoc);
	json_decref(sjson);
	return rc;
}
