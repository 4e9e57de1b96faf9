#include "fleet_check.h"
#include "buf.h"
#include "fleet.h"
#include "schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct device_ref {
	char id[FG_FLEET_ID_MAX + 1];
	char *path;
};

struct checker {
	const struct fg_fleet_check_opts *opts;
	struct fg_fleet_format fmt;
	struct fg_schema *conf_schema;  /* the one that judges (borrowed); may be NULL */
	const char *conf_path;          /* its file, for messages */
	struct fg_schema *own_schema;   /* the checked tree's own; may be NULL */
	const char *own_path;
	struct fg_schema *target_schema;/* opts->schema_source's; may be NULL */
	const char *target_path;
	struct fg_yaml_doc *fleet_doc;  /* may be NULL (missing or broken) */
	git_repository *repo;           /* git sources: for reading blobs */
	struct fg_source *src;
	struct fg_diags *out;
	struct fg_error *err;
	struct fg_schema_budget own_budget; /* when opts bring none */
	struct fg_schema_budget *budget;
	json_t *fleet_seen;             /* merged-check findings in fleet.yaml */
	json_t *branch_cache;           /* name -> bool: asked branch_exists */
	struct device_ref *ids;         /* full check: for the uniqueness rule */
	size_t nids, aids;
	int collect_ids;
};

#define HINT_SECRET "use { secret: NAME } and put the value into the server's secrets_dir"
#define HINT_DEVICE_NAME "name it <device-id>.yaml: a lower-case UUID such as " \
	"3fb4632b-96b9-475d-ac89-02255bd15b6f or Mender's 24-hex-digit id"

static int oom(struct checker *c)
{
	return fg_error_oom(c->err);
}

/* Adds a finding; an allocation failure becomes the check's error. */
#define FINDING(c, path, line, col, ptr, rule, hint, ...) \
	(fg_diags_add((c)->out, path, line, col, ptr, rule, hint, __VA_ARGS__) < 0 ? \
	 oom(c) : 0)

static void where(const struct fg_yaml_doc *doc, const char *pointer,
		  int *line, int *col)
{
	if (fg_yaml_doc_location(doc, pointer, line, col) < 0)
		fg_yaml_doc_location(doc, "", line, col);
}

/* ---- secrets ---- */

/* The words that make a key read like a secret (fleetgate-fleet(5),
 * "Secrets"), matched against each part of the key split at '_', '-', '.'
 * and camelCase, lower-cased. */
static const char *const secret_inside[] = {   /* anywhere in a part */
	"password", "passwd", "passphrase", "secret", "token", "credential",
	"private", "apikey", "privkey", NULL
};
static const char *const secret_parts[] = {    /* a whole part */
	"key", "keys", "pwd", "pass", "pin", "psk", "puk", NULL
};
/* "key" glued to what it unlocks; a part ending so (not "monkey",
 * "turnkey", "keyboard") */
static const char *const secret_key_ends[] = {
	"sshkey", "accesskey", "apikey", "privatekey", "secretkey", "authkey",
	"hostkey", "licensekey", "signingkey", "encryptionkey", "masterkey",
	"wgkey", NULL
};

static bool ends_with_word(const char *part, size_t n, const char *word)
{
	size_t m = strlen(word);

	return n >= m && !memcmp(part + n - m, word, m);
}

static bool part_is_secret(const char *part, size_t n,
			   const struct fg_fleet_check_opts *o)
{
	char buf[257];
	size_t i;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, part, n);
	buf[n] = '\0';
	for (i = 0; secret_inside[i]; i++)
		if (strstr(buf, secret_inside[i]))
			return true;
	for (i = 0; secret_parts[i]; i++)
		if (!strcmp(buf, secret_parts[i]))
			return true;
	for (i = 0; secret_key_ends[i]; i++)
		if (ends_with_word(buf, n, secret_key_ends[i]))
			return true;
	for (i = 0; o && i < o->secret_word_count; i++)
		if (o->secret_words[i] && !strcmp(buf, o->secret_words[i]))
			return true;
	return false;
}

/* A part ends before '_', '-', '.', and before an upper-case letter that
 * follows a lower-case letter or digit ("sshKey") or that starts a word
 * after an acronym ("WPAPsk": "WPA", "Psk"). */
static bool part_ends(const char *k, size_t i)
{
	unsigned char c = (unsigned char)k[i], p = (unsigned char)k[i - 1];

	if (!isupper(c))
		return false;
	return islower(p) || isdigit(p) ||
	       (isupper(p) && islower((unsigned char)k[i + 1]));
}

bool fg_fleet_key_is_secret(const char *key, const struct fg_fleet_check_opts *opts)
{
	char lower[257], *part;
	size_t i, n = strlen(key), start = 0;

	if (n >= sizeof(lower))
		n = sizeof(lower) - 1;
	for (i = 0; i <= n; i++) {
		bool sep = i == n || strchr("_-.", key[i]);

		if (!sep && !(i > start && part_ends(key, i))) {
			lower[i] = (char)tolower((unsigned char)key[i]);
			continue;
		}
		part = lower + start;
		if (i > start && part_is_secret(part, i - start, opts))
			return true;
		if (i < n && !sep)
			lower[i] = (char)tolower((unsigned char)key[i]);
		start = sep ? i + 1 : i;
	}
	return false;
}

/* ---- configuration values ---- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Checks one configuration value; returns 1 when a finding was added (the
 * schema's own message for that value is then dropped as a duplicate). */
static int check_value(struct checker *c, const struct fg_yaml_doc *doc,
		       const char *key, const json_t *value, int *reported)
{
	char *ptr = fg_json_pointer_append("/configuration", key);
	char hint[160];
	int line, col, rc = 0;

	*reported = 0;
	if (!ptr)
		return oom(c);
	where(doc, ptr, &line, &col);
	if (fg_fleet_key_is_secret(key, c->opts) && !json_is_object(value)) {
		rc = FINDING(c, doc->path, line, col, ptr, "literal-secret", HINT_SECRET,
			     "configuration key '%s' looks like a secret but has a "
			     "literal value; secrets never go into git", key);
		*reported = 1;
	} else if (json_is_object(value)) {
		json_t *name = json_object_get(value, "secret");
		const char *n = json_string_value(name);
		size_t i, len = n ? strlen(n) : 0;
		int good = n && json_object_size(value) == 1 && len > 0 && len <= 128 &&
			   !(n[0] >= '0' && n[0] <= '9');

		for (i = 0; good && i < len; i++)
			good = isalnum((unsigned char)n[i]) || n[i] == '_';
		if (!good) {
			rc = FINDING(c, doc->path, line, col, ptr, "secret-ref",
				     "write { secret: NAME } with NAME of letters, digits "
				     "and _ (it names a file in the server's secrets_dir)",
				     "configuration value of '%s' is an object but not a "
				     "secret reference", key);
			*reported = 1;
		}
	} else if (json_is_boolean(value) || json_is_number(value)) {
		snprintf(hint, sizeof(hint), "quote it: %.100s: \"...\"", key);
		rc = FINDING(c, doc->path, line, col, ptr, "value-type", hint,
			     "configuration value of '%s' is a YAML %s; Mender stores "
			     "configuration values as strings",
			     key, json_is_boolean(value) ? "boolean" : "number");
		*reported = 1;
	} else if (json_is_null(value)) {
		rc = FINDING(c, doc->path, line, col, ptr, "value-type",
			     "write \"\" for an empty value, or remove the key",
			     "configuration value of '%s' is empty (null)", key);
		*reported = 1;
	} else if (json_is_array(value)) {
		rc = FINDING(c, doc->path, line, col, ptr, "value-type",
			     "Mender configuration is a flat map of strings; "
			     "join the items into one string",
			     "configuration value of '%s' is a list", key);
		*reported = 1;
	} else if (json_is_string(value) &&
		   utf8_chars(json_string_value(value)) > FG_FLEET_VALUE_MAX) {
		rc = FINDING(c, doc->path, line, col, ptr, "value-too-long",
			     "Mender keeps at most 4096 characters per value",
			     "configuration value of '%s' has %zu characters, more "
			     "than %d", key, utf8_chars(json_string_value(value)),
			     FG_FLEET_VALUE_MAX);
		*reported = 1;
	}
	free(ptr);
	return rc;
}

/* Runs the value rules over doc's configuration; `reported` collects the
 * JSON pointers that already have a finding. */
static int check_configuration(struct checker *c, const struct fg_yaml_doc *doc,
			       json_t *reported)
{
	json_t *conf = json_object_get(doc->root, "configuration");
	const char *key;
	json_t *value;
	int rc, hit;

	if (!json_is_object(conf))
		return 0;
	json_object_foreach(conf, key, value) {
		rc = check_value(c, doc, key, value, &hit);
		if (rc < 0)
			return rc;
		if (hit) {
			char *ptr = fg_json_pointer_append("/configuration", key);

			if (!ptr || json_object_set_new(reported, ptr, json_true()) < 0) {
				free(ptr);
				return oom(c);
			}
			free(ptr);
		}
	}
	return 0;
}

/* A schema finding below a pointer we already reported repeats it. */
static int covered(json_t *reported, const char *pointer)
{
	const char *key;
	json_t *v;

	if (!pointer)
		return 0;
	json_object_foreach(reported, key, v) {
		size_t n = strlen(key);

		if (!strncmp(pointer, key, n) && (pointer[n] == '\0' || pointer[n] == '/'))
			return 1;
	}
	return 0;
}

static int take_filtered(struct checker *c, struct fg_diags *tmp, json_t *reported,
			 const char *path)
{
	size_t i;
	struct fg_diags keep = FG_DIAGS_INIT;
	int rc = 0;

	keep.dropped = tmp->dropped;
	for (i = 0; i < tmp->count && rc == 0; i++) {
		struct fg_diag *d = &tmp->items[i];

		if (covered(reported, d->pointer))
			continue;
		rc = fg_diags_add(&keep, d->path ? d->path : path, d->line, d->column,
				  d->pointer, d->keyword ? d->keyword : "schema",
				  d->hint ? d->hint : "see fleetgate-fleet(5) for the format",
				  "%s", d->message);
	}
	if (rc == 0)
		rc = fg_diags_take(c->out, &keep);
	fg_diags_release(&keep);
	return rc < 0 || tmp->failed ? oom(c) : 0;
}

/* The format schema plus the value rules over one loaded document. */
static int check_document(struct checker *c, const struct fg_yaml_doc *doc,
			  const struct fg_schema *schema)
{
	struct fg_diags tmp = FG_DIAGS_INIT;
	json_t *reported = json_object(), *empty = NULL;
	const json_t *root = doc->root;
	int rc;

	if (!reported)
		return oom(c);
	tmp.max = FG_FLEET_MAX_FINDINGS;
	if (!root)  /* an empty device file: the device with every default */
		root = empty = json_object();
	rc = root ? check_configuration(c, doc, reported) : oom(c);
	if (rc == 0) {
		rc = fg_schema_validate(schema, root, doc, &tmp, c->err);
		rc = rc < 0 ? rc : take_filtered(c, &tmp, reported, doc->path);
	}
	fg_diags_release(&tmp);
	json_decref(reported);
	json_decref(empty);
	return rc;
}

/* ---- branches ---- */

static int branch_known(struct checker *c, const char *name, int *checked)
{
	const struct fg_fleet_check_opts *o = c->opts;
	json_t *cached;
	size_t i;
	int found;

	*checked = o->known_branch_count > 0 || o->branch_exists;
	for (i = 0; i < o->known_branch_count; i++)
		if (o->known_branches[i] && !strcmp(o->known_branches[i], name))
			return 1;
	if (!o->branch_exists)
		return 0;
	/* 100,000 devices name a handful of branches: ask the repository once
	 * per name, not once per device */
	cached = json_object_get(c->branch_cache, name);
	if (cached)
		return json_is_true(cached);
	found = o->branch_exists(name, o->branch_payload) ? 1 : 0;
	json_object_set_new(c->branch_cache, name, json_boolean(found));
	return found;
}

static int check_branch(struct checker *c, const struct fg_yaml_doc *doc,
			const char *key)
{
	json_t *v = json_object_get(doc->root, key);
	char ptr[64];
	int line, col, checked;

	if (!json_is_string(v) || branch_known(c, json_string_value(v), &checked) ||
	    !checked)
		return 0;
	snprintf(ptr, sizeof(ptr), "/%s", key);
	where(doc, ptr, &line, &col);
	return FINDING(c, doc->path, line, col, ptr, "unknown-branch",
		       "create the branch first, or fix the name",
		       "%s '%s' is not a branch the policy knows or the repository has",
		       key, json_string_value(v));
}

/* ---- the fleet's configuration schema ---- */

static int relocate(struct checker *c, struct fg_diag *d,
		    const struct fg_yaml_doc *dev, const json_t *dev_conf)
{
	const struct fg_yaml_doc *fleet = c->fleet_doc;
	const json_t *fleet_conf = fleet ? json_object_get(fleet->root, "configuration")
					 : NULL;
	const struct fg_yaml_doc *from = dev;
	const char *p = d->pointer ? d->pointer : "";
	char key[257];
	size_t n = strcspn(p + (*p == '/'), "/");
	struct fg_buf ptr = FG_BUF_INIT, msg = FG_BUF_INIT;
	int line, col;

	/* The first segment of the pointer is the configuration key; it came
	 * from the device file, else from fleet.yaml. */
	if (*p == '/' && n < sizeof(key)) {
		memcpy(key, p + 1, n);
		key[n] = '\0';
		if (!json_object_get(dev_conf, key) && json_object_get(fleet_conf, key))
			from = fleet;
	}
	fg_buf_printf(&ptr, "/configuration%s", p);
	where(from, fg_buf_cstr(&ptr), &line, &col);
	fg_buf_printf(&msg, "configuration does not match the fleet's schema: %s",
		      d->message);
	if (ptr.failed || msg.failed) {
		fg_buf_release(&ptr);
		fg_buf_release(&msg);
		return oom(c);
	}
	free(d->pointer);
	free(d->message);
	free(d->path);
	d->pointer = fg_buf_detach(&ptr);
	d->message = fg_buf_detach(&msg);
	d->path = fg_strdup(from == dev ? dev->path : from->path);
	d->line = line;
	d->column = col;
	free(d->keyword);
	d->keyword = fg_strdup("config-schema");
	if (!d->hint)
		d->hint = fg_strdup(from == dev ?
			"fix the value, or change schemas/configuration.schema.* in an earlier push" :
			"fix fleet.yaml's configuration, or override the key in the device file");
	return d->pointer && d->message && d->path && d->keyword && d->hint ? 0 : oom(c);
}

/* Validating with the configuration schema failed for a reason of the
 * schema itself (a $ref to a malformed node, too costly to evaluate): the
 * target's schema gives way to the tree's own, as an unusable schema on the
 * target must not block the push that replaces it; the tree's own is a
 * finding in its file. Returns 1 to validate again, 0, or negative. */
static int schema_failed(struct checker *c, int rc)
{
	if (rc == FG_ENOMEM || rc == FG_EIO)
		return rc;
	if (c->budget->regex.exhausted || c->budget->steps_exhausted) {
		/* a push's schema work is bounded: no second schema, no retry;
		 * the finding that says why the check stopped leads the list */
		fg_diags_make_room(c->out);
		rc = FINDING(c, c->conf_path, 0, 0, NULL,
			     c->budget->regex.exhausted ? "regex-budget" : "schema-budget",
			     c->budget->regex.exhausted ?
			     "simplify the patterns of the schema (fleetgate-fleet(5), "
			     "'Regular expressions')" : "simplify the schema",
			     "%s", c->err->message);
		fg_diags_last_to_front(c->out);
		fg_error_clear(c->err);
		c->conf_schema = NULL;
		return rc;
	}
	if (c->conf_schema == c->target_schema && c->own_schema &&
	    c->own_schema != c->target_schema) {
		c->conf_schema = c->own_schema;
		c->conf_path = c->own_path;
		fg_error_clear(c->err);
		return 1;
	}
	rc = FINDING(c, c->conf_path, 0, 0, NULL, "config-schema-unusable",
		     "fix the schema; it must be JSON Schema draft 7, see fleetgate-fleet(5)",
		     "configuration schema is not usable: %s", c->err->message);
	fg_error_clear(c->err);
	c->conf_schema = NULL;  /* said once, not once per device */
	return rc;
}

static int validate_merged(struct checker *c, const json_t *merged,
			   struct fg_diags *tmp)
{
	int rc;

	do {
		if (!c->conf_schema)
			return 0;
		rc = fg_schema_validate_budget(c->conf_schema, merged, NULL, c->budget,
					       tmp, c->err);
		if (rc >= 0)
			return rc;
		fg_diags_release(tmp);
		rc = schema_failed(c, rc);
	} while (rc == 1);
	return rc < 0 ? rc : 0;
}

static int check_merged(struct checker *c, const struct fg_yaml_doc *dev)
{
	const json_t *dev_conf = json_object_get(dev->root, "configuration");
	const json_t *fleet_conf = c->fleet_doc ?
		json_object_get(c->fleet_doc->root, "configuration") : NULL;
	struct fg_diags tmp = FG_DIAGS_INIT;
	json_t *merged;
	size_t i;
	int rc;

	/* A missing or broken fleet.yaml is reported once; merging over it
	 * would only repeat that for every device. */
	if (!c->conf_schema || !c->fleet_doc || !json_is_object(c->fleet_doc->root))
		return 0;
	merged = fg_fleet_merge_configuration(fleet_conf, dev_conf);
	if (!merged)
		return oom(c);
	tmp.max = FG_FLEET_MAX_FINDINGS;
	rc = validate_merged(c, merged, &tmp);
	c->out->dropped += tmp.dropped;
	for (i = 0; rc >= 0 && i < tmp.count; i++) {
		struct fg_diag *d = &tmp.items[i];
		char *line;

		rc = relocate(c, d, dev, dev_conf);
		if (rc < 0 || !strcmp(d->path, dev->path)) {
			if (rc == 0)
				rc = fg_diags_add(c->out, d->path, d->line, d->column,
						  d->pointer, d->keyword, d->hint, "%s",
						  d->message) < 0 ? oom(c) : 0;
			continue;
		}
		/* A value inherited from fleet.yaml fails for every device
		 * that inherits it: say it once. */
		line = fg_diag_format(d);
		if (!line)
			rc = oom(c);
		else if (!json_object_get(c->fleet_seen, line) &&
			 (json_object_set_new(c->fleet_seen, line, json_true()) < 0 ||
			  fg_diags_add(c->out, d->path, d->line, d->column, d->pointer,
				       d->keyword, d->hint, "%s", d->message) < 0))
			rc = oom(c);
		free(line);
	}
	fg_diags_release(&tmp);
	json_decref(merged);
	return rc;
}

/* ---- devices ---- */

static int check_device_doc(struct checker *c, const struct fg_yaml_doc *doc)
{
	int rc = check_document(c, doc, c->fmt.device);

	if (rc == 0 && doc->root)
		rc = check_branch(c, doc, "subscribed_branch");
	if (rc == 0 && (json_is_object(doc->root) || !doc->root))
		rc = check_merged(c, doc);
	return rc;
}

static int check_device_file(struct checker *c, const char *path, const git_oid *id)
{
	struct fg_yaml_doc *doc = NULL;
	int rc;

	if (id && c->repo)
		rc = fg_fleet_load_yaml_blob(&doc, c->repo, id, path, &c->opts->limits,
					     c->out, c->err);
	else
		rc = fg_fleet_load_yaml(&doc, c->src, path, 1, &c->opts->limits,
					c->out, c->err);
	if (rc == 0 && doc)
		rc = check_device_doc(c, doc);
	fg_yaml_doc_free(doc);
	return rc;
}

static int remember_id(struct checker *c, const char *id, const char *path)
{
	struct device_ref *r;

	if (c->nids == c->aids) {
		size_t n = c->aids ? c->aids * 2 : 1024;

		r = realloc(c->ids, n * sizeof(*r));
		if (!r)
			return oom(c);
		c->ids = r;
		c->aids = n;
	}
	r = &c->ids[c->nids];
	memcpy(r->id, id, sizeof(r->id));
	if (!(r->path = fg_strdup(path)))
		return oom(c);
	c->nids++;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* An empty .gitkeep keeps an empty devices/ in git; one with content would
 * be a file below devices/ that is not part of the fleet. */
static int check_gitkeep(struct checker *c, const char *path, const git_oid *id)
{
	struct fg_error rerr = FG_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc;

	/* read at most 0 bytes: FG_ELIMIT from the size alone when not empty */
	if (id && c->repo)
		rc = fg_source_read_blob(c->repo, id, path, 0, &data, &len, &rerr);
	else
		rc = fg_source_read(c->src, path, 0, &data, &len, &rerr);
	free(data);
	if (rc == FG_ELIMIT)
		return FINDING(c, path, 0, 0, NULL, "not-a-device-file",
			       "empty it, or keep other files outside devices/",
			       "a .gitkeep below devices/ must be empty");
	if (rc < 0) {
		*c->err = rerr;
		return rc;
	}
	return 0;
}

/* One entry of the tree, full walk or changed by a push: returns 1 to skip
 * a directory's content. */
static int visit(struct checker *c, const char *path, enum fg_entry_kind kind,
		 const git_oid *id)
{
	char devid[FG_FLEET_ID_MAX + 1];
	const char *name = base_name(path);
	int is_dev = fg_fleet_device_id_of_path(path, devid), rc;

	if (!fg_fleet_in_devices(path)) {
		if (!strcmp(path, FG_FLEET_DEVICES_DIR) && kind != FG_ENTRY_DIR)
			return FINDING(c, path, 0, 0, NULL, "devices-not-a-directory",
				       "make devices/ a plain directory of device files",
				       "'devices' must be a directory");
		if (kind == FG_ENTRY_FILE && is_dev)
			return FINDING(c, path, 0, 0, NULL, "device-outside-devices",
				       "move it below devices/",
				       "device file outside devices/ is not part of the fleet");
		return 0;
	}
	switch (kind) {
	case FG_ENTRY_DIR:
		return 0;
	case FG_ENTRY_SYMLINK:
		return FINDING(c, path, 0, 0, NULL, "symlink-in-devices",
			       "commit the device file itself instead of a link",
			       "symbolic links are not allowed below devices/");
	case FG_ENTRY_SUBMODULE:
		rc = FINDING(c, path, 0, 0, NULL, "submodule-in-devices",
			     "remove the submodule; device files live in this repository",
			     "submodules are not allowed below devices/");
		return rc < 0 ? rc : 1; /* never look inside it */
	case FG_ENTRY_OTHER:
		return FINDING(c, path, 0, 0, NULL, "not-a-file",
			       "only regular files belong below devices/",
			       "special file below devices/");
	case FG_ENTRY_FILE:
		break;
	}
	if (!strcmp(name, ".gitkeep"))
		return check_gitkeep(c, path, id);
	if (!ends_with(name, ".yaml"))
		return FINDING(c, path, 0, 0, NULL, "not-a-device-file",
			       ends_with(name, ".yml") ? "rename it to .yaml" :
			       "keep other files outside devices/",
			       "only <device-id>.yaml files belong below devices/");
	if (!is_dev)
		return FINDING(c, path, 0, 0, NULL, "device-file-name", HINT_DEVICE_NAME,
			       "file name '%s' is not a Mender device id", name);
	if (c->collect_ids && (rc = remember_id(c, devid, path)) < 0)
		return rc;
	return check_device_file(c, path, id);
}

static int walk_cb(const char *path, enum fg_entry_kind kind, const git_oid *id,
		   void *payload)
{
	return visit(payload, path, kind, id);
}

static int ref_cmp(const void *a, const void *b)
{
	const struct device_ref *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	return r ? r : strcmp(x->path, y->path);
}

static int check_unique(struct checker *c)
{
	size_t i;
	int rc = 0;

	if (c->nids > 1)
		qsort(c->ids, c->nids, sizeof(*c->ids), ref_cmp);
	for (i = 1; i < c->nids && rc == 0; i++)
		if (!strcmp(c->ids[i].id, c->ids[i - 1].id))
			rc = FINDING(c, c->ids[i].path, 0, 0, NULL, "duplicate-device",
				     "keep one file per device",
				     "device %s is also defined in %s", c->ids[i].id,
				     c->ids[i - 1].path);
	return rc;
}

/* ---- setup ---- */

/* The tree's own configuration schema is judged by the push that makes
 * it: an unusable one is a finding whichever schema judges the values. The
 * values are judged by the target's schema (opts->schema_source), unless
 * that one is unusable: then it must not block the push that replaces it,
 * and the tree's own judges. */
static int load_conf_schemas(struct checker *c, struct fg_source *src)
{
	struct fg_source *target = c->opts->schema_source;
	struct fg_diags target_problems = FG_DIAGS_INIT;
	int rc;

	rc = fg_fleet_load_config_schema(&c->own_schema, &c->own_path, src,
					 &c->opts->limits, c->out, c->err);
	c->conf_schema = c->own_schema;
	c->conf_path = c->own_path;
	if (rc < 0 || !target || target == src)
		return rc;
	rc = fg_fleet_load_config_schema(&c->target_schema, &c->target_path, target,
					 &c->opts->limits, &target_problems, c->err);
	if (rc == 0 && target_problems.failed)
		rc = oom(c);
	if (rc == 0 && !target_problems.count) {
		c->conf_schema = c->target_schema;
		c->conf_path = c->target_path;
	}
	fg_diags_release(&target_problems);
	return rc;
}

static int checker_init(struct checker *c, struct fg_source *src,
			const struct fg_fleet_check_opts *opts,
			struct fg_diags *out, struct fg_error *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->opts = opts;
	c->src = src;
	c->repo = fg_source_repo(src);
	c->out = out;
	c->err = err;
	c->own_budget = (struct fg_schema_budget)FG_SCHEMA_BUDGET_INIT;
	c->budget = opts->schema_budget ? opts->schema_budget : &c->own_budget;
	c->fleet_seen = json_object();
	c->branch_cache = json_object();
	if (!c->fleet_seen || !c->branch_cache)
		return oom(c);
	rc = fg_fleet_format_init(&c->fmt, err);
	if (rc == 0)
		rc = load_conf_schemas(c, src);
	if (rc == 0)
		rc = fg_fleet_load_yaml(&c->fleet_doc, src, FG_FLEET_FILE, 1,
					&opts->limits, out, err);
	return rc;
}

static void checker_release(struct checker *c)
{
	size_t i;

	for (i = 0; i < c->nids; i++)
		free(c->ids[i].path);
	free(c->ids);
	json_decref(c->fleet_seen);
	json_decref(c->branch_cache);
	fg_fleet_format_release(&c->fmt);
	fg_schema_free(c->own_schema);
	fg_schema_free(c->target_schema);
	fg_yaml_doc_free(c->fleet_doc);
}

static int check_fleet_doc(struct checker *c)
{
	int rc;

	if (!c->fleet_doc)
		return 0;
	if (!c->fleet_doc->root)
		return FINDING(c, FG_FLEET_FILE, 1, 1, NULL, "schema",
			       "start it with 'version: 1'", "fleet.yaml is empty");
	rc = check_document(c, c->fleet_doc, c->fmt.fleet);
	if (rc == 0)
		rc = check_branch(c, c->fleet_doc, "default_branch");
	return rc;
}

static int verdict(const struct fg_diags *out, size_t before, int rc)
{
	if (rc < 0)
		return rc;
	return fg_diags_total(out) > before || out->failed ? 1 : 0;
}

/* Pushed content decides how many findings there are: keep a bounded
 * number, count the rest. */
static void cap_findings(struct fg_diags *out)
{
	if (!out->max)
		out->max = FG_FLEET_MAX_FINDINGS;
}

static const struct fg_fleet_check_opts *opts_or_default(const struct fg_fleet_check_opts *o)
{
	static const struct fg_fleet_check_opts defaults = FG_FLEET_CHECK_OPTS_INIT;

	return o ? o : &defaults;
}

int fg_fleet_check(struct fg_source *src, const struct fg_fleet_check_opts *opts,
		   struct fg_diags *out, struct fg_error *err)
{
	struct checker c;
	size_t before;
	int rc;

	cap_findings(out);
	before = fg_diags_total(out);
	opts = opts_or_default(opts);
	rc = checker_init(&c, src, opts, out, err);
	c.collect_ids = 1;
	if (rc == 0)
		rc = check_fleet_doc(&c);
	if (rc == 0)
		rc = fg_source_walk(src, "", walk_cb, &c, err);
	if (rc == 0)
		rc = check_unique(&c);
	checker_release(&c);
	return verdict(out, before, rc);
}

/* ---- the push: only what changed ---- */

struct change_scan {
	struct checker *c;
	int full;               /* fleet.yaml or a schema changed */
	struct fg_buf path;
};

int fg_fleet_branch_in_repo(const char *branch, void *payload)
{
	git_repository *repo = payload;
	git_reference *ref = NULL;
	git_branch_iterator *it = NULL;
	git_branch_t type;
	char *name;
	int found = 0;

	name = fg_asprintf("refs/heads/%s", branch);
	if (name && git_reference_lookup(&ref, repo, name) == 0)
		found = 1;
	git_reference_free(ref);
	free(name);
	if (found || git_branch_iterator_new(&it, repo, GIT_BRANCH_REMOTE) < 0)
		return found;
	while (!found && git_branch_next(&ref, &type, it) == 0) {
		const char *short_name = NULL;

		if (git_branch_name(&short_name, ref) == 0 && short_name) {
			const char *slash = strchr(short_name, '/');

			found = slash && !strcmp(slash + 1, branch);
		}
		git_reference_free(ref);
	}
	git_branch_iterator_free(it);
	return found;
}

static int entry_cmp(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *x = git_tree_entry_name(a), *y = git_tree_entry_name(b);
	size_t n = strlen(x), m = strlen(y), k = n < m ? n : m;
	int r = memcmp(x, y, k);
	unsigned char cx, cy;

	if (r)
		return r;
	/* git orders a tree as if its name ended in '/'. */
	cx = n > k ? (unsigned char)x[k] :
		git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/' : 0;
	cy = m > k ? (unsigned char)y[k] :
		git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/' : 0;
	return (int)cx - (int)cy;
}

static enum fg_entry_kind entry_kind(const git_tree_entry *e)
{
	return fg_source_kind_of_mode(git_tree_entry_filemode(e));
}

static int diff_trees(struct change_scan *s, const git_tree *old, const git_tree *new);

static int scan_entry(struct change_scan *s, const git_tree_entry *old,
		      const git_tree_entry *new)
{
	struct checker *c = s->c;
	const git_tree_entry *e = new ? new : old;
	size_t base = s->path.len;
	git_tree *ot = NULL, *nt = NULL;
	const char *path;
	int rc = 0;

	if (base)
		fg_buf_putc(&s->path, '/');
	if (fg_buf_puts(&s->path, git_tree_entry_name(e)) < 0)
		return oom(c);
	path = fg_buf_cstr(&s->path);
	if (!strcmp(path, FG_FLEET_FILE) || !strcmp(path, "schemas")) {
		s->full = 1;
		goto out;
	}
	if (new) {
		char devid[FG_FLEET_ID_MAX + 1];
		enum fg_entry_kind kind = entry_kind(new);

		rc = visit(c, path, kind, git_tree_entry_id(new));
		if (rc == 0 && kind == FG_ENTRY_FILE && fg_fleet_in_devices(path) &&
		    fg_fleet_device_id_of_path(path, devid) &&
		    !(old && entry_kind(old) == FG_ENTRY_FILE))
			rc = remember_id(c, devid, path);
		if (rc != 0 || kind != FG_ENTRY_DIR)
			goto out;
	}
	/* Descend into what differs: a changed or a new directory. */
	if (old && entry_kind(old) == FG_ENTRY_DIR && new &&
	    git_tree_lookup(&ot, c->repo, git_tree_entry_id(old)) < 0)
		rc = fg_error_set(c->err, FG_EIO, "unable to read tree '%s'", path);
	if (rc == 0 && new &&
	    git_tree_lookup(&nt, c->repo, git_tree_entry_id(new)) < 0)
		rc = fg_error_set(c->err, FG_EIO, "unable to read tree '%s'", path);
	if (rc == 0 && nt)
		rc = diff_trees(s, ot, nt);
out:
	git_tree_free(ot);
	git_tree_free(nt);
	fg_buf_truncate(&s->path, base);
	return rc < 0 ? rc : 0;
}

/* Merges the two sorted entry lists; identical ids are skipped without
 * reading them, which keeps an unchanged devices/ subtree free. */
static int diff_trees(struct change_scan *s, const git_tree *old, const git_tree *new)
{
	size_t i = 0, j = 0, n = old ? git_tree_entrycount(old) : 0;
	size_t m = git_tree_entrycount(new);
	int rc = 0;

	while (rc == 0 && !s->full && (i < n || j < m)) {
		const git_tree_entry *a = i < n ? git_tree_entry_byindex(old, i) : NULL;
		const git_tree_entry *b = j < m ? git_tree_entry_byindex(new, j) : NULL;
		int cmp = !a ? 1 : !b ? -1 : entry_cmp(a, b);

		if (cmp < 0) {          /* removed: only fleet.yaml/schemas matter */
			rc = scan_entry(s, a, NULL);
			i++;
		} else if (cmp > 0) {   /* added */
			rc = scan_entry(s, NULL, b);
			j++;
		} else {
			if (git_tree_entry_filemode(a) != git_tree_entry_filemode(b) ||
			    !git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)))
				rc = scan_entry(s, a, b);
			i++;
			j++;
		}
	}
	return rc;
}

/* Every device file below `tree` (devices/ of the new tip): id -> array of
 * paths. One walk reads each tree once: looking each new id up in every
 * directory re-read (and re-inflated) every tree once per id, which made a
 * push of thousands of devices cost seconds. No blob is read. */
static int collect_device_paths(struct checker *c, const git_tree *tree,
				struct fg_buf *dir, json_t *seen)
{
	size_t i, n = git_tree_entrycount(tree), base = dir->len;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		char id[FG_FLEET_ID_MAX + 1];
		git_tree *sub = NULL;
		json_t *paths;

		fg_buf_truncate(dir, base);
		fg_buf_printf(dir, "/%s", git_tree_entry_name(e));
		if (dir->failed)
			return oom(c);
		if (entry_kind(e) == FG_ENTRY_DIR) {
			if (git_tree_lookup(&sub, c->repo, git_tree_entry_id(e)) < 0)
				return fg_error_set(c->err, FG_EIO,
						    "unable to read a tree below devices/");
			rc = collect_device_paths(c, sub, dir, seen);
			git_tree_free(sub);
			continue;
		}
		if (entry_kind(e) != FG_ENTRY_FILE ||
		    !fg_fleet_device_id_of_path(fg_buf_cstr(dir), id))
			continue;
		paths = json_object_get(seen, id);
		if (!paths && json_object_set_new(seen, id, paths = json_array()) < 0)
			return oom(c);
		/* a folder name need not be UTF-8: no check */
		if (!paths || json_array_append_new(paths,
				json_string_nocheck(fg_buf_cstr(dir))) < 0)
			return oom(c);
	}
	fg_buf_truncate(dir, base);
	return rc;
}

/* An id added by the push must not exist elsewhere below devices/. */
static int check_new_ids(struct checker *c, const git_tree *root)
{
	git_object *devices = NULL;
	struct fg_buf dir = FG_BUF_INIT;
	json_t *seen = NULL, *paths, *p;
	size_t i, j;
	int rc = 0;

	if (!c->nids)
		return 0;
	if (git_object_lookup_bypath(&devices, (const git_object *)root,
				     FG_FLEET_DEVICES_DIR, GIT_OBJECT_TREE) < 0)
		return 0;
	seen = json_object();
	fg_buf_puts(&dir, FG_FLEET_DEVICES_DIR);
	rc = seen && !dir.failed ?
		collect_device_paths(c, (git_tree *)devices, &dir, seen) : oom(c);
	for (i = 0; i < c->nids && rc == 0; i++) {
		paths = json_object_get(seen, c->ids[i].id);
		json_array_foreach(paths, j, p) {
			if (!strcmp(json_string_value(p), c->ids[i].path))
				continue;
			rc = FINDING(c, c->ids[i].path, 0, 0, NULL, "duplicate-device",
				     "keep one file per device",
				     "device %s is also defined in %s", c->ids[i].id,
				     json_string_value(p));
			break;
		}
	}
	json_decref(seen);
	fg_buf_release(&dir);
	git_object_free(devices);
	return rc < 0 ? rc : 0;
}

static int open_tree(git_tree **out, git_repository *repo, const git_oid *id,
		     struct fg_error *err)
{
	git_object *obj = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY);

	*out = NULL;
	if (rc == 0)
		rc = git_object_peel((git_object **)out, obj, GIT_OBJECT_TREE);
	git_object_free(obj);
	if (rc < 0)
		return fg_error_set(err, FG_ENOTFOUND, "unable to read commit %s",
				    git_oid_tostr(hex, sizeof(hex), id));
	return 0;
}

/* Returns 2 when the change needs a full check, else like fg_fleet_check. */
static int check_changes(struct fg_source *src, git_repository *repo,
			 const git_oid *old_tip, const struct fg_fleet_check_opts *opts,
			 struct fg_diags *out, struct fg_error *err)
{
	struct checker c;
	struct change_scan s = { &c, 0, FG_BUF_INIT };
	struct fg_diags scratch = FG_DIAGS_INIT;
	git_tree *old = NULL;
	size_t before = fg_diags_total(out);
	int rc;

	rc = open_tree(&old, repo, old_tip, err);
	if (rc < 0)
		return rc;
	scratch.max = FG_FLEET_MAX_FINDINGS;
	/* fleet.yaml did not change, so its findings (none, it was accepted)
	 * go to a scratch list: only the merge needs it. */
	rc = checker_init(&c, src, opts, &scratch, err);
	c.out = out;
	if (rc == 0 && (scratch.count || scratch.failed)) {
		/* the schema source is broken or fleet.yaml is: re-check it all */
		s.full = 1;
	}
	if (rc == 0 && !s.full)
		rc = diff_trees(&s, old, fg_source_tree(src));
	if (rc == 0 && !s.full)
		rc = check_new_ids(&c, fg_source_tree(src));
	checker_release(&c);
	fg_buf_release(&s.path);
	fg_diags_release(&scratch);
	git_tree_free(old);
	if (rc == 0 && s.full)
		return 2; /* the caller runs the full check and drops `out` */
	return verdict(out, before, rc);
}

int fg_fleet_check_push(git_repository *repo, const git_oid *old_tip_or_NULL,
			const git_oid *new_tip, const git_oid *schema_commit_or_NULL,
			const struct fg_fleet_check_opts *opts,
			struct fg_diags *out, struct fg_error *err)
{
	struct fg_fleet_check_opts o = *opts_or_default(opts);
	struct fg_source *src = NULL, *schema_src = NULL;
	struct fg_diags partial = FG_DIAGS_INIT;
	int rc;

	cap_findings(out);
	partial.max = out->max;
	if (!o.known_branch_count && !o.branch_exists) {
		o.branch_exists = fg_fleet_branch_in_repo;
		o.branch_payload = repo;
	}
	rc = fg_source_open_git(&src, repo, new_tip, err);
	if (rc == 0 && schema_commit_or_NULL) {
		rc = fg_source_open_git(&schema_src, repo, schema_commit_or_NULL, err);
		o.schema_source = schema_src;
	}
	if (rc == 0 && old_tip_or_NULL)
		rc = check_changes(src, repo, old_tip_or_NULL, &o, &partial, err);
	else if (rc == 0)
		rc = 2;
	if (rc == 2)   /* a full check, also when fleet.yaml or a schema changed */
		rc = fg_fleet_check(src, &o, out, err);
	else if (rc >= 0 && fg_diags_take(out, &partial) < 0)
		rc = fg_error_oom(err);
	fg_diags_release(&partial);
	fg_source_free(schema_src);
	fg_source_free(src);
	return rc;
}
