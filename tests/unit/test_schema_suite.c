/*
 * Runs the official JSON-Schema-Test-Suite (draft 7, every file outside
 * optional/) against fg_schema and prints one TAP line per case.
 *
 * Remote references: every file under the suite's remotes/ directory is
 * registered as http://localhost:1234/<path> (the URL the suite serves it
 * at), and the draft-07 meta-schema (tests/data/draft-07-schema.json) as
 * http://json-schema.org/draft-07/schema, so no case needs a network.
 *
 * Skipped cases: none. A case would be skipped only with a reason listed in
 * `skips` below and shown as "# SKIP reason".
 *
 * Environment: FG_SRCDIR (source tree), FG_JSON_SCHEMA_SUITE (default
 * /usr/share/json-schema-test-suite).
 */
#include "buf.h"
#include "diag.h"
#include "error.h"
#include "schema.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct skip {
	const char *file;
	const char *group;  /* description of the test group */
	const char *reason;
};

/* Cases the validator deliberately does not pass, each with its reason. */
static const struct skip skips[] = {
	{ NULL, NULL, NULL }
};

/* Optional files run as well, for the formats fleetgate asserts and the
 * ECMA-262 regex dialect. */
static const char *optional[] = {
	"optional/format/date-time.json", "optional/format/date.json",
	"optional/format/time.json", "optional/format/hostname.json",
	"optional/format/ipv4.json", "optional/format/ipv6.json",
	"optional/format/uri.json", "optional/format/uri-reference.json",
	"optional/format/email.json", "optional/ecmascript-regex.json",
	NULL
};

struct resource {
	char *uri;
	json_t *doc;
};

static struct resource resources[64];
static size_t nresources;
static int counter;
static int failures;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_remotes(const char *dir, const char *rel)
{
	char path[4096];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[4096], full[8192];
		struct stat st;
		json_error_t jerr;

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", dir, sub);
		if (stat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			load_remotes(dir, sub);
		} else if (nresources < sizeof(resources) / sizeof(resources[0])) {
			json_t *doc = json_load_file(full, 0, &jerr);

			if (!doc)
				continue;
			resources[nresources].uri = fg_asprintf("http://localhost:1234/%s", sub);
			resources[nresources++].doc = doc;
		}
	}
	closedir(d);
}

static const char *skip_reason(const char *file, const char *group)
{
	const struct skip *s;

	for (s = skips; s->file; s++)
		if (!strcmp(s->file, file) && (!s->group || !strcmp(s->group, group)))
			return s->reason;
	return NULL;
}

static void run_group(const char *file, json_t *group)
{
	const char *gdesc = json_string_value(json_object_get(group, "description"));
	json_t *tests = json_object_get(group, "tests"), *t;
	struct fg_schema *schema = NULL;
	struct fg_error err = FG_ERROR_INIT;
	const char *reason = skip_reason(file, gdesc);
	size_t i, r;
	int rc = 0;

	if (!reason) {
		rc = fg_schema_new(&schema, json_object_get(group, "schema"), NULL, &err);
		for (r = 0; rc == 0 && r < nresources; r++)
			rc = fg_schema_add_resource(schema, resources[r].doc,
						    resources[r].uri, &err);
	}
	json_array_foreach(tests, i, t) {
		const char *tdesc = json_string_value(json_object_get(t, "description"));
		int want = json_is_true(json_object_get(t, "valid"));
		struct fg_diags diags = FG_DIAGS_INIT;
		struct fg_error verr = FG_ERROR_INIT;
		int got;

		counter++;
		if (reason) {
			printf("ok %d - %s: %s: %s # SKIP %s\n", counter, file, gdesc, tdesc,
			       reason);
			continue;
		}
		if (rc < 0) {
			failures++;
			printf("not ok %d - %s: %s: %s\n# schema: %s\n", counter, file,
			       gdesc, tdesc, err.message);
			continue;
		}
		got = fg_schema_validate(schema, json_object_get(t, "data"), NULL, &diags,
					 &verr);
		/* an invalid verdict must come with at least one message */
		if (got == (want ? 0 : 1) && (got == 0) == (diags.count == 0)) {
			printf("ok %d - %s: %s: %s\n", counter, file, gdesc, tdesc);
		} else {
			failures++;
			printf("not ok %d - %s: %s: %s\n# expected %s, got %d (%zu messages)%s%s\n",
			       counter, file, gdesc, tdesc, want ? "valid" : "invalid", got,
			       diags.count, got < 0 ? ": " : "", got < 0 ? verr.message : "");
		}
		fg_diags_release(&diags);
	}
	fg_schema_free(schema);
}

int main(void)
{
	const char *suite = getenv("FG_JSON_SCHEMA_SUITE");
	const char *srcdir = getenv("FG_SRCDIR");
	char dir[4096], path[8192];
	char *names[256];
	size_t nnames = 0, i, r, total = 0;
	json_t *docs[256];
	json_error_t jerr;
	DIR *d;
	struct dirent *e;

	if (!suite)
		suite = "/usr/share/json-schema-test-suite";
	if (!srcdir)
		srcdir = ".";
	snprintf(dir, sizeof(dir), "%s/tests/draft7", suite);
	d = opendir(dir);
	if (!d) {
		printf("1..0 # SKIP %s not found: install Debian's json-schema-test-suite\n",
		       dir);
		return 0;
	}
	while ((e = readdir(d)) && nnames < 256) {
		size_t n = strlen(e->d_name);

		if (n > 5 && !strcmp(e->d_name + n - 5, ".json"))
			names[nnames++] = fg_strdup(e->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), cmp_str);
	for (i = 0; optional[i]; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, optional[i]);
		if (stat(path, &st) == 0 && nnames < 256)
			names[nnames++] = fg_strdup(optional[i]);
	}

	snprintf(path, sizeof(path), "%s/remotes", suite);
	load_remotes(path, "");
	snprintf(path, sizeof(path), "%s/tests/data/draft-07-schema.json", srcdir);
	resources[nresources].doc = json_load_file(path, 0, &jerr);
	if (!resources[nresources].doc) {
		printf("Bail out! cannot read %s: %s\n", path, jerr.text);
		return 1;
	}
	resources[nresources++].uri = fg_strdup("http://json-schema.org/draft-07/schema");

	for (i = 0; i < nnames; i++) {
		size_t g;
		json_t *group;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		docs[i] = json_load_file(path, 0, &jerr);
		if (!docs[i]) {
			printf("Bail out! cannot read %s: %s\n", path, jerr.text);
			return 1;
		}
		json_array_foreach(docs[i], g, group)
			total += json_array_size(json_object_get(group, "tests"));
	}
	printf("1..%zu\n", total);
	for (i = 0; i < nnames; i++) {
		size_t g;
		json_t *group;

		json_array_foreach(docs[i], g, group)
			run_group(names[i], group);
		json_decref(docs[i]);
		free(names[i]);
	}
	for (r = 0; r < nresources; r++) {
		free(resources[r].uri);
		json_decref(resources[r].doc);
	}
	printf("# %d cases, %d failed\n", counter, failures);
	return 0;
}
