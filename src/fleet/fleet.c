#include "fleet.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

static int compile_builtin(struct fg_schema **out, const char *text,
			   const char *uri, struct fg_schema *extra_into,
			   struct fg_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int rc;

	*out = NULL;
	if (!doc)
		return fg_error_set(err, FG_EINVALID, "built-in schema '%s': %s", uri,
				    jerr.text);
	if (extra_into)
		rc = fg_schema_add_resource(extra_into, doc, uri, err);
	else
		rc = fg_schema_new(out, doc, uri, err);
	json_decref(doc);
	return rc;
}

int fg_fleet_format_init(struct fg_fleet_format *fmt, struct fg_error *err)
{
	int rc;

	memset(fmt, 0, sizeof(*fmt));
	rc = compile_builtin(&fmt->fleet, fg_fleet_schema_text,
			     FG_FLEET_SCHEMA_URI, NULL, err);
	if (rc == 0)
		rc = compile_builtin(&fmt->device, fg_device_schema_text,
				     FG_DEVICE_SCHEMA_URI, NULL, err);
	/* device.schema.json refers to fleet.schema.json's definitions. */
	if (rc == 0) {
		struct fg_schema *unused;

		rc = compile_builtin(&unused, fg_fleet_schema_text,
				     FG_FLEET_SCHEMA_URI, fmt->device, err);
	}
	if (rc < 0)
		fg_fleet_format_release(fmt);
	return rc;
}

void fg_fleet_format_release(struct fg_fleet_format *fmt)
{
	fg_schema_free(fmt->fleet);
	fg_schema_free(fmt->device);
	fmt->fleet = fmt->device = NULL;
}

static int all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int fg_fleet_is_device_id(const char *id, size_t len)
{
	if (len == 24)
		return all_hex(id, 24);
	if (len != 36)
		return 0;
	return all_hex(id, 8) && id[8] == '-' && all_hex(id + 9, 4) &&
	       id[13] == '-' && all_hex(id + 14, 4) && id[18] == '-' &&
	       all_hex(id + 19, 4) && id[23] == '-' && all_hex(id + 24, 12);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int fg_fleet_device_id_of_path(const char *path, char *id)
{
	const char *name = base_name(path);
	size_t len = strlen(name);

	if (len < 5 || strcmp(name + len - 5, ".yaml"))
		return 0;
	len -= 5;
	if (!fg_fleet_is_device_id(name, len))
		return 0;
	memcpy(id, name, len);
	id[len] = '\0';
	return 1;
}

int fg_fleet_in_devices(const char *path)
{
	size_t n = strlen(FG_FLEET_DEVICES_DIR);

	return !strncmp(path, FG_FLEET_DEVICES_DIR, n) && path[n] == '/';
}

int fg_fleet_diag_from_error(struct fg_diags *diags, const char *path,
			     const struct fg_error *e, const char *rule)
{
	const char *msg = e->message, *semi;
	size_t plen = strlen(path);
	long line = 0, col = 0;
	char *end, *text;
	int rc;

	/* The loader says "path:line:column: what; what to do". */
	if (!strncmp(msg, path, plen) && msg[plen] == ':') {
		msg += plen + 1;
		line = strtol(msg, &end, 10);
		if (end != msg && *end == ':') {
			msg = end + 1;
			col = strtol(msg, &end, 10);
			msg = end != msg && *end == ':' ? end + 1 : msg;
		} else {
			line = 0;
		}
		while (*msg == ' ')
			msg++;
	}
	if (line < 0 || line > 1 << 30 || col < 0 || col > 1 << 30)
		line = col = 0;
	semi = strstr(msg, "; ");
	if (!semi)
		return fg_diags_add(diags, path, (int)line, (int)col, NULL, rule,
				    NULL, "%s", msg);
	text = fg_asprintf("%.*s", (int)(semi - msg), msg);
	if (!text) {
		diags->failed = 1;
		return FG_ENOMEM;
	}
	rc = fg_diags_add(diags, path, (int)line, (int)col, NULL, rule, semi + 2,
			  "%s", text);
	free(text);
	return rc;
}

/* read_size: the failure came from the size check before reading, not from
 * the loader (whose FG_ELIMIT is a depth or node count with its own text). */
static int load_failure(struct fg_diags *diags, const char *path,
			const struct fg_error *e, const struct fg_yaml_limits *limits,
			int read_size)
{
	char hint[96];

	if (e->code == FG_ELIMIT && !read_size)
		return fg_fleet_diag_from_error(diags, path, e, "yaml-limit");
	switch (e->code) {
	case FG_ELIMIT:
		snprintf(hint, sizeof(hint), "keep each file under %zu bytes",
			 limits->max_bytes);
		return fg_diags_add(diags, path, 0, 0, NULL, "file-too-large", hint,
				    "file is larger than the limit and was not read");
	case FG_EINVALID:
	case FG_ENOTFOUND:
		return fg_fleet_diag_from_error(diags, path, e, "yaml");
	default:
		return e->code;
	}
}

static const struct fg_yaml_limits *limits_or_default(const struct fg_yaml_limits *l)
{
	static const struct fg_yaml_limits defaults = FG_YAML_LIMITS_INIT;

	return l ? l : &defaults;
}

static int parse_loaded(struct fg_yaml_doc **out, const char *path, char *data,
			size_t len, const struct fg_yaml_limits *limits,
			struct fg_diags *diags, struct fg_error *err)
{
	struct fg_error yerr = FG_ERROR_INIT;
	int rc = fg_yaml_load_buffer(out, path, data, len, limits, &yerr);

	free(data);
	if (rc == FG_ENOMEM)
		return fg_error_oom(err);
	if (rc < 0)
		return load_failure(diags, path, &yerr, limits, 0) == FG_ENOMEM ?
			fg_error_oom(err) : 0;
	return 0;
}

int fg_fleet_load_yaml(struct fg_yaml_doc **out, struct fg_source *src,
		       const char *path, int required,
		       const struct fg_yaml_limits *limits,
		       struct fg_diags *diags, struct fg_error *err)
{
	struct fg_error rerr = FG_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	limits = limits_or_default(limits);
	rc = fg_source_read(src, path, limits->max_bytes, &data, &len, &rerr);
	if (rc == FG_ENOTFOUND && !required)
		return 0;
	if (rc == FG_ENOTFOUND)
		return fg_diags_add(diags, path, 0, 0, NULL, "missing-file",
				    "create it; see fleetgate-fleet(5)",
				    "required file is missing") == 0 ? 0 :
			fg_error_oom(err);
	if (rc == FG_EINVALID)
		return fg_diags_add(diags, path, 0, 0, NULL, "not-a-file",
				    "replace it by a regular file",
				    "is not a regular file (symlink or submodule)") == 0 ?
			0 : fg_error_oom(err);
	if (rc == FG_ELIMIT)
		return load_failure(diags, path, &rerr, limits, 1) == 0 ? 0 :
			fg_error_oom(err);
	if (rc < 0) {
		*err = rerr;
		return rc;
	}
	return parse_loaded(out, path, data, len, limits, diags, err);
}

int fg_fleet_load_yaml_blob(struct fg_yaml_doc **out, git_repository *repo,
			    const git_oid *id, const char *path,
			    const struct fg_yaml_limits *limits,
			    struct fg_diags *diags, struct fg_error *err)
{
	struct fg_error rerr = FG_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	limits = limits_or_default(limits);
	rc = fg_source_read_blob(repo, id, path, limits->max_bytes, &data, &len,
				 &rerr);
	if (rc == FG_ELIMIT)
		return load_failure(diags, path, &rerr, limits, 1) == 0 ? 0 :
			fg_error_oom(err);
	if (rc < 0) {
		*err = rerr;
		return rc;
	}
	return parse_loaded(out, path, data, len, limits, diags, err);
}

#define HINT_SCHEMA "fix the schema; it must be JSON Schema draft 7, see fleetgate-fleet(5)"

/* The fleet's schema states no other draft than 7. */
static int is_draft7(const json_t *root, struct fg_error *serr)
{
	const char *uri = json_string_value(json_object_get(root, "$schema"));

	if (!json_is_object(root) || !json_object_get(root, "$schema"))
		return 1;
	if (uri && (!strcmp(uri, "http://json-schema.org/draft-07/schema#") ||
		    !strcmp(uri, "http://json-schema.org/draft-07/schema")))
		return 1;
	fg_error_set(serr, FG_EINVALID, "invalid schema at '#/$schema': not JSON Schema "
		     "draft 7 (write \"http://json-schema.org/draft-07/schema#\" or "
		     "leave $schema out)");
	return 0;
}

/* "invalid schema at '#/a/b': what" -> "/a/b" into new memory; "" when the
 * message names no place; NULL on allocation failure. */
static char *pointer_in(const char *msg)
{
	const char *p = strstr(msg, "'#"), *end;

	if (!p || !(end = strchr(p + 2, '\'')))
		return fg_strdup("");
	return fg_asprintf("%.*s", (int)(end - p - 2), p + 2);
}

/* An unusable schema is a finding in the schema file (rule
 * config-schema-unusable) that names the JSON pointer and what is wrong. */
static int schema_finding(struct fg_diags *diags, const char *path,
			  const struct fg_yaml_doc *doc, const struct fg_error *serr)
{
	char *ptr = pointer_in(serr->message);
	int line = 0, col = 0, rc;

	if (!ptr)
		return FG_ENOMEM;
	if (doc)
		fg_yaml_doc_location(doc, ptr, &line, &col);
	rc = fg_diags_add(diags, path, line, col, ptr, "config-schema-unusable",
			  HINT_SCHEMA, "configuration schema is not usable: %s",
			  serr->message);
	free(ptr);
	return rc;
}

static int compile_config_schema(struct fg_schema **out, const char *path,
				 const struct fg_yaml_doc *doc, json_t *root,
				 struct fg_diags *diags, struct fg_error *err)
{
	struct fg_error serr = FG_ERROR_INIT;
	int rc = is_draft7(root, &serr) ? fg_schema_new(out, root, NULL, &serr) :
		FG_EINVALID;

	if (rc == 0)
		rc = fg_schema_check_refs(*out, &serr);
	if (rc == FG_ENOMEM)
		rc = fg_error_oom(err);
	else if (rc < 0)
		rc = schema_finding(diags, path, doc, &serr) == 0 ? 0 : fg_error_oom(err);
	if (rc < 0 || serr.code) {
		fg_schema_free(*out);
		*out = NULL;
	}
	return rc;
}

int fg_fleet_load_config_schema(struct fg_schema **out, const char **path_out,
				struct fg_source *src,
				const struct fg_yaml_limits *limits,
				struct fg_diags *diags, struct fg_error *err)
{
	struct fg_error rerr = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	json_error_t jerr;
	json_t *root;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (path_out)
		*path_out = NULL;
	limits = limits_or_default(limits);
	rc = fg_source_read(src, FG_FLEET_SCHEMA_JSON, limits->max_bytes, &data,
			    &len, &rerr);
	if (rc == FG_ENOTFOUND) {
		size_t before = diags->count;

		rc = fg_fleet_load_yaml(&doc, src, FG_FLEET_SCHEMA_YAML, 0, limits,
					diags, err);
		if (path_out && (doc || diags->count > before))
			*path_out = FG_FLEET_SCHEMA_YAML;
		if (rc < 0 || !doc)
			return rc;
		rc = compile_config_schema(out, FG_FLEET_SCHEMA_YAML, doc,
					   doc->root ? doc->root : json_true(),
					   diags, err);
		fg_yaml_doc_free(doc);
		return rc;
	}
	if (path_out)
		*path_out = FG_FLEET_SCHEMA_JSON;
	if (rc == FG_EINVALID || rc == FG_ELIMIT)
		return fg_diags_add(diags, FG_FLEET_SCHEMA_JSON, 0, 0, NULL,
				    "config-schema-unusable", "make it a regular file",
				    "%s", rerr.message) == 0 ? 0 : fg_error_oom(err);
	if (rc < 0) {
		*err = rerr;
		return rc;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!root)
		return fg_diags_add(diags, FG_FLEET_SCHEMA_JSON, jerr.line,
				    jerr.column, NULL, "config-schema-unusable",
				    "fix the JSON syntax", "%s", jerr.text) == 0 ?
			0 : fg_error_oom(err);
	rc = compile_config_schema(out, FG_FLEET_SCHEMA_JSON, NULL, root, diags, err);
	json_decref(root);
	return rc;
}

json_t *fg_fleet_merge_configuration(const json_t *fleet_conf,
				     const json_t *device_conf)
{
	json_t *merged = json_object();

	if (!merged)
		return NULL;
	if (json_is_object(fleet_conf) &&
	    json_object_update(merged, (json_t *)fleet_conf) < 0)
		goto fail;
	if (json_is_object(device_conf) &&
	    json_object_update(merged, (json_t *)device_conf) < 0)
		goto fail;
	return merged;
fail:
	json_decref(merged);
	return NULL;
}

const char *fg_fleet_device_branch(const char *tag, const char *file_branch,
				   const char *default_branch,
				   enum fg_fleet_branch_source *src)
{
	enum fg_fleet_branch_source from = FG_FLEET_BRANCH_NONE;
	const char *branch = NULL;

	if (tag && *tag) {
		from = FG_FLEET_BRANCH_TAG;
		branch = tag;
	} else if (file_branch && *file_branch) {
		from = FG_FLEET_BRANCH_FILE;
		branch = file_branch;
	} else if (default_branch && *default_branch) {
		from = FG_FLEET_BRANCH_DEFAULT;
		branch = default_branch;
	}
	if (src)
		*src = from;
	return branch;
}
