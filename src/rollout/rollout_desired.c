/* The desired state of a rollout: the fleet files at commit C, with
 * {secret: NAME} resolved from the server's secrets directory when the
 * policy lets the branch resolve NAME. */
#include "rollout_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fleet.h"
#include "fsutil.h"
#include "policy.h"
#include "tree_source.h"

/* ---- secrets ---- */

static int secret_name_ok(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/') &&
	       strlen(name) < 256;
}

/* A secret file holds the value and perhaps a final line break. */
static int check_secret_text(char *buf, size_t *len, const char *name,
			     struct fg_error *err)
{
	if (*len > 0 && buf[*len - 1] == '\n')
		buf[--*len] = '\0';
	if (*len > 0 && buf[*len - 1] == '\r')
		buf[--*len] = '\0';
	if (*len > FG_FLEET_VALUE_MAX)
		return fg_error_set(err, FG_EINVALID, "secret '%s' is longer than %d "
				    "bytes", name, FG_FLEET_VALUE_MAX);
	return 0;
}

int fg_rollout_read_secret(const char *dir, const char *name, char **out,
			   struct fg_error *err)
{
	char *path, *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!dir)
		return fg_error_set(err, FG_EINVALID, "secret '%s' is used but no "
				    "secrets_dir is configured in the policy", name);
	if (!secret_name_ok(name))
		return fg_error_set(err, FG_EINVALID, "secret name '%s' is not a plain "
				    "file name", name);
	if (!(path = fg_asprintf("%s/%s", dir, name)))
		return fg_error_oom(err);
	/* + 2: the value may end in a CR LF that is not part of it */
	rc = fg_read_secret_file(&buf, &len, path, FG_FLEET_VALUE_MAX + 2, err);
	free(path);
	if (rc < 0) {
		fg_error_prefix(err, "secret '%s'", name);
		return rc;
	}
	if ((rc = check_secret_text(buf, &len, name, err)) < 0) {
		fg_secret_free(buf, len);
		return rc;
	}
	*out = buf;
	return 0;
}

/* The value of a secret, read once per run. Borrowed from d->secrets. */
static json_t *secret_value(struct fg_rollout_desired *d, const char *dir,
			    const char *name, struct fg_error *err)
{
	json_t *v = json_object_get(d->secrets, name);
	char *text = NULL;

	if (v)
		return v;
	if (fg_rollout_read_secret(dir, name, &text, err) < 0)
		return NULL;
	v = json_string(text);
	explicit_bzero(text, strlen(text));
	free(text);
	if (!v || json_object_set_new(d->secrets, name, v) < 0) {
		fg_error_set(err, FG_EINVALID, "secret '%s' is not UTF-8 text", name);
		return NULL;
	}
	return v;
}

static int not_a_value(const char *path, const char *key, struct fg_error *err)
{
	return fg_error_set(err, FG_EINVALID, "%s: configuration key '%s' is neither "
			    "a string nor {secret: NAME}; run fleetgate check", path, key);
}

/* Policy `secrets`: content flows through develop with its secret names;
 * only a branch the policy trusts with NAME gets its value. */
static bool secret_allowed(const struct fg_rollout_load *in, const char *name)
{
	return in->policy && fg_policy_secret_allowed(in->policy, in->branch, name);
}

/* *val: a new reference to the value of configuration key `key`, or NULL
 * when it needs a secret the branch may not resolve (then *withheld names
 * the first such secret, and the secret file is never opened). */
static int resolve_value(struct fg_rollout_desired *d, const struct fg_rollout_load *in,
			 const char *key, json_t *v, const char *path, json_t **val,
			 char **withheld, struct fg_error *err)
{
	json_t *ref = json_object_get(v, "secret");
	const char *name = json_string_value(ref);

	*val = NULL;
	if (json_is_string(v)) {
		*val = json_incref(v);
		return 0;
	}
	if (!name || json_object_size(v) != 1)
		return not_a_value(path, key, err);
	if (!secret_allowed(in, name)) {
		if (!*withheld && !(*withheld = fg_strdup(name)))
			return fg_error_oom(err);
		return 0;
	}
	*val = json_incref(secret_value(d, in->secrets_dir, name, err));
	return *val ? 0 : err && err->code ? err->code : fg_error_oom(err);
}

/* A new map of string values from a configuration of strings and secret
 * references. With *withheld set on return the map lacks keys and must not
 * be sent. */
static json_t *resolve(struct fg_rollout_desired *d, const struct fg_rollout_load *in,
		       const json_t *conf, const char *path, char **withheld,
		       struct fg_error *err)
{
	json_t *out, *v, *val;
	const char *key;

	if (!json_is_object(conf)) {
		fg_error_set(err, FG_EINVALID, "%s: 'configuration' is not a mapping; "
			     "run fleetgate check", path);
		return NULL;
	}
	if (!(out = json_object())) {
		fg_error_oom(err);
		return NULL;
	}
	json_object_foreach((json_t *)conf, key, v) {
		if (resolve_value(d, in, key, v, path, &val, withheld, err) < 0 ||
		    (val && json_object_set_new(out, key, val) < 0)) {
			if (err && !err->code)
				fg_error_oom(err);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* ---- files ---- */

static int first_finding(struct fg_diags *diags, struct fg_error *err)
{
	char *text = diags->count ? fg_diag_format(&diags->items[0]) : NULL;
	int rc = fg_error_set(err, FG_EINVALID, "the fleet files are broken: %s%s",
			      text ? text : "out of memory",
			      diags->count > 1 ? " (and more; run fleetgate check)" : "");

	free(text);
	return rc;
}

static int opt_string(json_t *root, const char *key, char **out, const char *path,
		      struct fg_error *err)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fg_error_set(err, FG_EINVALID, "%s: '%s' is not a string", path, key);
	return (*out = fg_strdup(json_string_value(v))) ? 0 : fg_error_oom(err);
}

/* default_branch is not read: who follows the branch comes from the
 * subscriptions branch (rollout_subs.c), never from C's own files. */
static int load_fleet(struct fg_rollout_desired *d, struct fg_source *src,
		      const struct fg_rollout_load *in, struct fg_error *err)
{
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_yaml_doc *doc = NULL;
	json_t *conf;
	int rc = fg_fleet_load_yaml(&doc, src, FG_FLEET_FILE, 1, NULL, &diags, err);

	if (rc == 0 && (diags.count || !doc || !json_is_object(doc->root)))
		rc = diags.count ? first_finding(&diags, err) :
			fg_error_set(err, FG_EINVALID, FG_FLEET_FILE " is not a mapping");
	if (rc == 0) {
		d->os_images = json_incref(json_object_get(doc->root, "os_images"));
		conf = json_object_get(doc->root, "configuration");
		d->conf = conf && !json_is_null(conf) ?
			resolve(d, in, conf, FG_FLEET_FILE, &d->conf_withheld, err) :
			json_object();
		if (!d->conf)
			rc = err && err->code ? err->code : fg_error_oom(err);
	}
	fg_yaml_doc_free(doc);
	fg_diags_release(&diags);
	return rc;
}

struct walk_ctx {
	struct fg_rollout_desired *d;
	const struct fg_rollout_load *in;
	struct fg_error *err;
};

/* The fleet-wide configuration is merged into every device's: when it is
 * withheld, so is theirs. */
static int withhold_fleet(struct walk_ctx *w, struct fg_plan_want *want)
{
	if (!want->withheld)
		want->withheld = fg_strdup(w->d->conf_withheld);
	return want->withheld ? 0 : fg_error_oom(w->err);
}

/* The file's subscribed_branch is ignored here on purpose: the
 * subscriptions branch decides who follows (w->in->follows). */
static int want_fill(struct walk_ctx *w, struct fg_plan_want *want, json_t *root,
		     const char *path)
{
	struct fg_error *err = w->err;
	char *withheld = NULL;
	json_t *conf;
	int rc;

	if ((rc = opt_string(root, "name", (char **)&want->name, path, err)) < 0 ||
	    (rc = opt_string(root, "os_image", (char **)&want->os_image, path, err)) < 0)
		return rc;
	if (!w->in->follows || !w->in->follows(w->in->follows_ctx, want->id))
		return 0; /* its configuration is another branch's business */
	conf = json_object_get(root, "configuration");
	if (!conf || json_is_null(conf) ||
	    (json_is_object(conf) && !json_object_size(conf))) {
		if (w->d->conf_withheld)
			return withhold_fleet(w, want);
		want->configuration = json_incref(w->d->conf);
		return 0;
	}
	conf = resolve(w->d, w->in, conf, path, &withheld, err);
	want->withheld = withheld;
	if (!conf)
		return err && err->code ? err->code : fg_error_oom(err);
	if (!withheld && !w->d->conf_withheld)
		want->configuration = fg_fleet_merge_configuration(w->d->conf, conf);
	json_decref(conf);
	if (withheld || w->d->conf_withheld)
		return withhold_fleet(w, want);
	return want->configuration ? 0 : fg_error_oom(err);
}

static void want_release(struct fg_plan_want *w)
{
	free((char *)w->id);
	free((char *)w->path);
	free((char *)w->name);
	free((char *)w->os_image);
	free((char *)w->withheld);
	json_decref(w->configuration);
}

static int add_device(struct walk_ctx *w, const char *path, const git_oid *oid,
		      const char *id)
{
	struct fg_rollout_desired *d = w->d;
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_yaml_doc *doc = NULL;
	struct fg_plan_want *want;
	int rc;

	if (d->nwants == d->alloc) {
		size_t n = d->alloc ? d->alloc * 2 : 64;
		void *p = realloc(d->wants, n * sizeof(*d->wants));

		if (!p)
			return fg_error_oom(w->err);
		d->wants = p;
		d->alloc = n;
	}
	rc = fg_fleet_load_yaml_blob(&doc, w->in->repo, oid, path, NULL, &diags, w->err);
	if (rc == 0 && (diags.count || !doc || !json_is_object(doc->root)))
		rc = diags.count ? first_finding(&diags, w->err) :
			fg_error_set(w->err, FG_EINVALID, "%s is not a mapping", path);
	want = &d->wants[d->nwants];
	memset(want, 0, sizeof(*want));
	if (rc == 0) {
		d->nwants++;
		want->id = fg_strdup(id);
		want->path = fg_strdup(path);
		rc = want->id && want->path ? want_fill(w, want, doc->root, path) :
			fg_error_oom(w->err);
	}
	fg_yaml_doc_free(doc);
	fg_diags_release(&diags);
	return rc;
}

static int walk_cb(const char *path, enum fg_entry_kind kind, const git_oid *oid,
		   void *payload)
{
	char id[FG_FLEET_ID_MAX + 1];

	if (kind != FG_ENTRY_FILE || !oid || !fg_fleet_device_id_of_path(path, id))
		return 0; /* not a device file: fleetgate check's business */
	return add_device(payload, path, oid, id);
}

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fg_plan_want *)a)->id,
		      ((const struct fg_plan_want *)b)->id);
}

static int sort_wants(struct fg_rollout_desired *d, struct fg_error *err)
{
	size_t i;

	if (d->nwants)
		qsort(d->wants, d->nwants, sizeof(*d->wants), want_cmp);
	for (i = 1; i < d->nwants; i++)
		if (!strcmp(d->wants[i - 1].id, d->wants[i].id))
			return fg_error_set(err, FG_EINVALID, "device '%s' has two files: "
					    "%s and %s", d->wants[i].id, d->wants[i - 1].path,
					    d->wants[i].path);
	return 0;
}

int fg_rollout_desired_load(struct fg_rollout_desired *d,
			    const struct fg_rollout_load *in, struct fg_error *err)
{
	struct walk_ctx w = { d, in, err };
	struct fg_source *src = NULL;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!(d->secrets = json_object()))
		return fg_error_oom(err);
	rc = fg_source_open_git(&src, in->repo, in->commit, err);
	if (rc == 0)
		rc = load_fleet(d, src, in, err);
	if (rc == 0) {
		rc = fg_source_walk(src, FG_FLEET_DEVICES_DIR, walk_cb, &w, err);
		if (rc == FG_ENOTFOUND)
			rc = 0; /* a fleet without device files */
	}
	if (rc == 0)
		rc = sort_wants(d, err);
	fg_source_free(src);
	d->plan.os_images = d->os_images;
	d->plan.configuration = d->conf_withheld ? NULL : d->conf;
	d->plan.withheld = d->conf_withheld;
	d->plan.devices = d->wants;
	d->plan.ndevices = d->nwants;
	return rc;
}

const struct fg_plan_want *fg_rollout_desired_find(const struct fg_rollout_desired *d,
						   const char *id)
{
	struct fg_plan_want key = { 0 };

	key.id = id;
	return d->nwants ? bsearch(&key, d->wants, d->nwants, sizeof(*d->wants),
				   want_cmp) : NULL;
}

static void wipe_secrets(json_t *secrets)
{
	const char *name;
	json_t *v;

	json_object_foreach(secrets, name, v)
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
	json_decref(secrets);
}

void fg_rollout_desired_release(struct fg_rollout_desired *d)
{
	size_t i;

	for (i = 0; i < d->nwants; i++)
		want_release(&d->wants[i]);
	free(d->wants);
	free(d->conf_withheld);
	json_decref(d->os_images);
	json_decref(d->conf);
	wipe_secrets(d->secrets);
	memset(d, 0, sizeof(*d));
}
