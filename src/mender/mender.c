#include "mender.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"

#define SECRET_MAX 65536
#define MAX_PAGES 100000

#define P_SEARCH "/api/management/v2/inventory/filters/search"
#define P_LOGIN "/api/management/v1/useradm/auth/login"
#define P_DEPLOYMENTS "/api/management/v1/deployments/deployments"
#define P_CONFIG "/api/management/v1/deviceconfig/configurations/device/"

struct fg_mender {
	struct fg_http_client *http;
	char *auth_hint; /* names the credential files, never their content */
};

/* --- small helpers --- */

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static int grow(void **items, size_t *alloc, size_t count, size_t size)
{
	size_t n = *alloc ? *alloc * 2 : 16;
	void *p;

	if (count < *alloc)
		return 0;
	if (n > (size_t)-1 / size)
		return FG_ENOMEM;
	p = realloc(*items, n * size);
	if (!p)
		return FG_ENOMEM;
	*items = p;
	*alloc = n;
	return 0;
}

static json_t *load_json(const char *body, size_t len, const char *what,
			 struct fg_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);

	if (!root)
		fg_error_set(err, FG_EINVALID,
			"malformed JSON in %s: %s (line %d, column %d)",
			what, je.text, je.line, je.column);
	return root;
}

/* A string member or NULL; FG_EINVALID if present with another type. */
static int get_string(json_t *obj, const char *key, int required,
		      const char **out, const char *what, struct fg_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return fg_error_set(err, FG_EINVALID,
				"%s: field '%s' is missing", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return fg_error_set(err, FG_EINVALID,
			"%s: field '%s' is not a string", what, key);
	*out = json_string_value(v);
	return 0;
}

/* Device ids go into URL paths; Mender's are hex or UUIDs. */
static int check_id(const char *id, struct fg_error *err)
{
	const char *p;

	if (!id || !*id || strlen(id) > 128)
		return fg_error_set(err, FG_EINVALID, "device id is empty or too long");
	for (p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_' || *p == '.'))
			return fg_error_set(err, FG_EINVALID,
				"device id '%s' holds a character Mender ids never have", id);
	return 0;
}

static int call(struct fg_mender *m, const char *method, const char *path,
		const char *body, struct fg_http_response *resp,
		struct fg_error *err)
{
	struct fg_http_request req = { method, path, body,
				       body ? strlen(body) : 0, NULL, NULL };

	return fg_http_do(m->http, &req, resp, err);
}

/* --- credentials --- */

int fg_mender_read_secret(const char *path, char **out, struct fg_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = fg_read_secret_file(&buf, &len, path, SECRET_MAX, err)) < 0)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (!len) {
		fg_secret_free(buf, len);
		return fg_error_set(err, FG_EINVALID, "'%s' is empty; write the "
				    "credential into it", path);
	}
	*out = buf;
	return 0;
}

/* The login answer is the JWT itself (application/jwt), or the same as a
 * JSON string (application/json). */
static int parse_login(const char *body, size_t len, char **out,
		       struct fg_error *err)
{
	json_t *s;

	*out = NULL;
	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
		len--;
	if (len && body[0] == '"') {
		s = json_loadb(body, len, JSON_DECODE_ANY, NULL);
		if (json_is_string(s))
			*out = fg_strdup(json_string_value(s));
		json_decref(s);
	} else if (len) {
		*out = fg_asprintf("%.*s", (int)len, body);
	}
	if (!*out)
		return fg_error_set(err, FG_EINVALID,
			"POST " P_LOGIN ": the answer holds no token");
	return 0;
}

static int login(struct fg_mender *m, const struct fg_mender_opts *o,
		 struct fg_error *err)
{
	struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;
	struct fg_http_request req = { "POST", P_LOGIN, NULL, 0, NULL, NULL };
	char *user = NULL, *pass = NULL, *jwt = NULL;
	int rc;

	if (!o->username_file || !o->password_file)
		return fg_error_set(err, FG_EINVALID,
			"no Mender credentials: set mender.token_file, or "
			"mender.username_file and mender.password_file");
	if ((rc = fg_mender_read_secret(o->username_file, &user, err)) < 0 ||
	    (rc = fg_mender_read_secret(o->password_file, &pass, err)) < 0)
		goto out;
	req.basic_user = user;
	req.basic_pass = pass;
	if ((rc = fg_http_do(m->http, &req, &resp, err)) < 0 ||
	    (rc = parse_login(resp.body.ptr, resp.body.len, &jwt, err)) < 0 ||
	    (rc = fg_http_set_token(m->http, jwt, err)) < 0)
		goto out;
out:
	if (resp.body.ptr)
		explicit_bzero(resp.body.ptr, resp.body.len);
	fg_http_response_release(&resp);
	wipe_free(user);
	wipe_free(pass);
	wipe_free(jwt);
	return rc;
}

static int authenticate(struct fg_mender *m, const struct fg_mender_opts *o,
			struct fg_error *err)
{
	char *token = NULL;
	int rc;

	if (!o->token_file)
		return login(m, o, err);
	if ((rc = fg_mender_read_secret(o->token_file, &token, err)) < 0)
		return rc;
	rc = fg_http_set_token(m->http, token, err);
	if (rc < 0)
		fg_error_prefix(err, "'%s'", o->token_file);
	wipe_free(token);
	return rc;
}

static void http_opts(const struct fg_mender_opts *o, struct fg_http_opts *h)
{
	struct fg_http_opts d = FG_HTTP_OPTS_INIT;

	*h = d;
	h->base_url = o->url;
	h->ca_file = o->ca_file;
	if (o->timeout_seconds > 0)
		h->timeout_ms = o->timeout_seconds * 1000;
	if (o->max_parallel > 0)
		h->max_parallel = o->max_parallel;
	if (o->max_retries)
		h->max_retries = o->max_retries < 0 ? 0 : o->max_retries;
	if (o->backoff_base_ms > 0)
		h->backoff_base_ms = o->backoff_base_ms;
	if (o->backoff_max_ms > 0)
		h->backoff_max_ms = o->backoff_max_ms;
}

/* What an admin does when Mender answers 401/403 (http.h auth_hint). */
static char *auth_hint(const struct fg_mender_opts *o)
{
	if (o->token_file)
		return fg_asprintf("the token in mender.token_file '%s' is expired, "
				   "revoked or lacks rights; write a new Personal Access "
				   "Token into that file (docs/operations.md: rotating the "
				   "Mender token)", o->token_file);
	return fg_asprintf("the user in mender.username_file '%s' or the password in "
			   "mender.password_file '%s' is wrong or lacks rights; fix "
			   "them", o->username_file ? o->username_file : "",
			   o->password_file ? o->password_file : "");
}

int fg_mender_open(struct fg_mender **out, const struct fg_mender_opts *opts,
		   struct fg_error *err)
{
	struct fg_http_opts h;
	struct fg_mender *m;
	int rc;

	*out = NULL;
	if (!opts->url)
		return fg_error_set(err, FG_EINVALID, "no Mender URL: set mender.url");
	m = calloc(1, sizeof(*m));
	if (!m)
		return fg_error_oom(err);
	http_opts(opts, &h);
	if (!(m->auth_hint = auth_hint(opts))) {
		free(m);
		return fg_error_oom(err);
	}
	h.auth_hint = m->auth_hint;
	if ((rc = fg_http_client_new(&m->http, &h, err)) < 0 ||
	    (rc = authenticate(m, opts, err)) < 0) {
		fg_mender_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

void fg_mender_close(struct fg_mender *m)
{
	if (!m)
		return;
	fg_http_client_free(m->http);
	free(m->auth_hint);
	free(m);
}

/* --- devices --- */

static void device_release(struct fg_mender_device *d)
{
	free(d->id);
	free(d->device_type);
	free(d->os);
	free(d->branch);
	free(d->name);
}

void fg_mender_devices_release(struct fg_mender_devices *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->count; i++)
		device_release(&d->items[i]);
	free(d->items);
	d->items = NULL;
	d->count = d->alloc = 0;
}

/* The attributes we keep, borrowed from the JSON document. */
struct device_view {
	const char *id, *device_type, *rootfs, *artifact, *branch, *tag_name,
		*inv_name;
};

static const char **attr_slot(struct device_view *v, const char *scope,
			      const char *name)
{
	if (!strcmp(scope, "inventory")) {
		if (!strcmp(name, "device_type")) return &v->device_type;
		if (!strcmp(name, "rootfs-image.version")) return &v->rootfs;
		if (!strcmp(name, "artifact_name")) return &v->artifact;
		if (!strcmp(name, "name")) return &v->inv_name;
	} else if (!strcmp(scope, "tags")) {
		if (!strcmp(name, "subscribed_branch")) return &v->branch;
		if (!strcmp(name, "name")) return &v->tag_name;
	}
	return NULL;
}

static int view_attribute(json_t *a, struct device_view *v, const char *what,
			  struct fg_error *err)
{
	const char *name, *scope, **slot;
	json_t *value;
	int rc;

	if (!json_is_object(a))
		return fg_error_set(err, FG_EINVALID, "%s: an attribute is not an object", what);
	if ((rc = get_string(a, "name", 1, &name, what, err)) < 0 ||
	    (rc = get_string(a, "scope", 1, &scope, what, err)) < 0)
		return rc;
	value = json_object_get(a, "value");
	if (!value)
		return fg_error_set(err, FG_EINVALID,
			"%s: attribute '%s' has no value", what, name);
	slot = attr_slot(v, scope, name);
	if (!slot)
		return 0;
	if (!json_is_string(value))
		return fg_error_set(err, FG_EINVALID,
			"%s: attribute '%s' (%s) is not a string", what, name, scope);
	*slot = json_string_value(value);
	return 0;
}

static int view_device(json_t *dev, size_t index, struct device_view *v,
		       struct fg_error *err)
{
	char what[200];
	json_t *attrs, *a;
	size_t i;
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(what, sizeof(what), "device %zu", index);
	if (!json_is_object(dev))
		return fg_error_set(err, FG_EINVALID, "%s is not an object", what);
	if ((rc = get_string(dev, "id", 1, &v->id, what, err)) < 0 ||
	    (rc = check_id(v->id, err)) < 0)
		return rc;
	snprintf(what, sizeof(what), "device '%s'", v->id);
	attrs = json_object_get(dev, "attributes");
	if (attrs && !json_is_array(attrs) && !json_is_null(attrs))
		return fg_error_set(err, FG_EINVALID, "%s: 'attributes' is not an array", what);
	json_array_foreach(attrs, i, a)
		if ((rc = view_attribute(a, v, what, err)) < 0)
			return rc;
	return 0;
}

static int device_from_view(struct fg_mender_device *d,
			    const struct device_view *v)
{
	memset(d, 0, sizeof(*d));
	d->id = fg_strdup(v->id);
	d->device_type = fg_strdup(v->device_type);
	d->os = fg_strdup(v->rootfs ? v->rootfs : v->artifact);
	d->branch = fg_strdup(v->branch);
	d->name = fg_strdup(v->tag_name ? v->tag_name : v->inv_name);
	if (!d->id || (v->device_type && !d->device_type) ||
	    ((v->rootfs || v->artifact) && !d->os) || (v->branch && !d->branch) ||
	    ((v->tag_name || v->inv_name) && !d->name)) {
		device_release(d);
		return FG_ENOMEM;
	}
	return 0;
}

static void devices_truncate(struct fg_mender_devices *d, size_t count)
{
	while (d->count > count)
		device_release(&d->items[--d->count]);
}

int fg_mender_parse_devices(const char *body, size_t len,
			    struct fg_mender_devices *out, struct fg_error *err)
{
	size_t start = out->count, i;
	struct device_view v;
	json_t *root, *dev;
	int rc = 0;

	if (!(root = load_json(body, len, "device list", err)))
		return FG_EINVALID;
	if (!json_is_array(root)) {
		rc = fg_error_set(err, FG_EINVALID, "device list is not a JSON array");
		goto out;
	}
	json_array_foreach(root, i, dev) {
		if ((rc = view_device(dev, i, &v, err)) < 0)
			goto out;
		if (grow((void **)&out->items, &out->alloc, out->count, sizeof(*out->items)) < 0 ||
		    device_from_view(&out->items[out->count], &v) < 0) {
			rc = fg_error_oom(err);
			goto out;
		}
		out->count++;
	}
out:
	if (rc < 0)
		devices_truncate(out, start);
	json_decref(root);
	return rc;
}

/* Only the attributes we read: at 100,000 devices the full inventory would
 * be most of the memory and transfer. */
static char *search_body(int page)
{
	json_t *q = json_pack("{s:i, s:i, s:[{s:s, s:s, s:s, s:s}],"
		" s:[{s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}]}",
		"page", page, "per_page", FG_MENDER_PAGE_SIZE,
		"filters", "scope", "identity", "attribute", "status",
		"type", "$eq", "value", "accepted",
		"attributes",
		"scope", "inventory", "attribute", "device_type",
		"scope", "inventory", "attribute", "rootfs-image.version",
		"scope", "inventory", "attribute", "artifact_name",
		"scope", "inventory", "attribute", "name",
		"scope", "tags", "attribute", "subscribed_branch",
		"scope", "tags", "attribute", "name");
	char *s = q ? json_dumps(q, JSON_COMPACT) : NULL;

	json_decref(q);
	return s;
}

/* Another page exists when this one was full and the total says so. */
static int more_pages(const struct fg_http_response *r, size_t added,
		      size_t seen, int page)
{
	if (added < FG_MENDER_PAGE_SIZE || page >= MAX_PAGES)
		return 0;
	return r->total_count < 0 || (long long)seen < r->total_count;
}

static int search_page(struct fg_mender *m, int page,
		       struct fg_http_response *resp, struct fg_mender_devices *out,
		       struct fg_error *err)
{
	char *body = search_body(page);
	int rc;

	if (!body)
		return fg_error_oom(err);
	rc = call(m, "POST", P_SEARCH, body, resp, err);
	free(body);
	if (rc < 0)
		return rc;
	rc = fg_mender_parse_devices(resp->body.ptr, resp->body.len, out, err);
	if (rc < 0)
		fg_error_prefix(err, "POST " P_SEARCH " (page %d)", page);
	return rc;
}

int fg_mender_search_devices(struct fg_mender *m, struct fg_mender_devices *out,
			     struct fg_error *err)
{
	size_t start = out->count, before;
	int page = 1, more, rc;

	do {
		struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;

		before = out->count;
		rc = search_page(m, page, &resp, out, err);
		more = rc == 0 && more_pages(&resp, out->count - before,
					     out->count - start, page);
		fg_http_response_release(&resp);
		page++;
	} while (more);
	if (rc < 0)
		devices_truncate(out, start);
	return rc;
}

/* --- deployments --- */

void fg_mender_deployment_release(struct fg_mender_deployment *d)
{
	if (!d)
		return;
	free(d->id);
	free(d->name);
	free(d->artifact_name);
	free(d->status);
	free(d->type);
	memset(d, 0, sizeof(*d));
}

void fg_mender_deployments_release(struct fg_mender_deployments *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->count; i++)
		fg_mender_deployment_release(&d->items[i]);
	free(d->items);
	d->items = NULL;
	d->count = d->alloc = 0;
}

static int deployment_from_json(json_t *o, const char *what,
				struct fg_mender_deployment *d,
				struct fg_error *err)
{
	const char *id, *name, *artifact, *status, *type;
	json_t *count;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return fg_error_set(err, FG_EINVALID, "%s is not an object", what);
	if ((rc = get_string(o, "id", 1, &id, what, err)) < 0 ||
	    (rc = get_string(o, "name", 1, &name, what, err)) < 0 ||
	    (rc = get_string(o, "artifact_name", 1, &artifact, what, err)) < 0 ||
	    (rc = get_string(o, "status", 1, &status, what, err)) < 0 ||
	    (rc = get_string(o, "type", 0, &type, what, err)) < 0)
		return rc;
	count = json_object_get(o, "device_count");
	if (count && !json_is_integer(count))
		return fg_error_set(err, FG_EINVALID,
			"%s: field 'device_count' is not an integer", what);
	d->device_count = count ? json_integer_value(count) : -1;
	d->id = fg_strdup(id);
	d->name = fg_strdup(name);
	d->artifact_name = fg_strdup(artifact);
	d->status = fg_strdup(status);
	d->type = type ? fg_strdup(type) : NULL;
	if (!d->id || !d->name || !d->artifact_name || !d->status ||
	    (type && !d->type)) {
		fg_mender_deployment_release(d);
		return fg_error_oom(err);
	}
	return 0;
}

int fg_mender_parse_deployment(const char *body, size_t len,
			       struct fg_mender_deployment *out,
			       struct fg_error *err)
{
	json_t *root = load_json(body, len, "deployment", err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!root)
		return FG_EINVALID;
	rc = deployment_from_json(root, "deployment", out, err);
	json_decref(root);
	return rc;
}

int fg_mender_parse_deployments(const char *body, size_t len,
				struct fg_mender_deployments *out,
				struct fg_error *err)
{
	json_t *root = load_json(body, len, "deployment list", err), *o;
	size_t start = out->count, i;
	char what[64];
	int rc = 0;

	if (!root)
		return FG_EINVALID;
	if (!json_is_array(root)) {
		rc = fg_error_set(err, FG_EINVALID, "deployment list is not a JSON array");
		goto out;
	}
	json_array_foreach(root, i, o) {
		snprintf(what, sizeof(what), "deployment %zu", i);
		if (grow((void **)&out->items, &out->alloc, out->count, sizeof(*out->items)) < 0) {
			rc = fg_error_oom(err);
			goto out;
		}
		if ((rc = deployment_from_json(o, what, &out->items[out->count], err)) < 0)
			goto out;
		out->count++;
	}
out:
	while (rc < 0 && out->count > start)
		fg_mender_deployment_release(&out->items[--out->count]);
	json_decref(root);
	return rc;
}

int fg_mender_parse_location(const char *location, char **out,
			     struct fg_error *err)
{
	const char *slash = location ? strrchr(location, '/') : NULL;
	const char *id = slash ? slash + 1 : location;

	*out = NULL;
	if (!id || check_id(id, NULL) < 0)
		return fg_error_set(err, FG_EINVALID,
			"the Location header names no deployment id");
	if (!(*out = fg_strdup(id)))
		return fg_error_oom(err);
	return 0;
}

static json_t *deployment_json(const char *name, const char *artifact,
			       const char *const *ids, size_t n)
{
	json_t *o = json_pack("{s:s, s:s, s:[]}", "name", name,
			      "artifact_name", artifact, "devices");
	json_t *list = json_object_get(o, "devices");
	size_t i;

	for (i = 0; o && i < n; i++)
		if (json_array_append_new(list, json_string(ids[i])) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

int fg_mender_deployment_body(const char *name, const char *artifact,
			      const char *const *device_ids, size_t n,
			      char **out, struct fg_error *err)
{
	json_t *o = deployment_json(name, artifact, device_ids, n);

	*out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!*out)
		return fg_error_set(err, FG_EINVALID,
			"unable to encode the deployment (not UTF-8, or out of memory)");
	return 0;
}

static size_t encoded_len(const char *s)
{
	json_t *j = json_string(s);
	size_t n = j ? json_dumpb(j, NULL, 0, JSON_ENCODE_ANY) : (size_t)-1 / 2;

	json_decref(j);
	return n;
}

size_t fg_mender_deployment_fit(const char *name, const char *artifact,
				const char *const *device_ids, size_t n,
				size_t max_bytes)
{
	json_t *o = deployment_json(name, artifact, NULL, 0);
	size_t size = o ? json_dumpb(o, NULL, 0, JSON_COMPACT) : (size_t)-1 / 2;
	size_t i;

	json_decref(o);
	for (i = 0; i < n; i++) {
		size += encoded_len(device_ids[i]) + (i ? 1 : 0);
		if (size > max_bytes)
			break;
	}
	return i;
}

int fg_mender_create_deployment(struct fg_mender *m, const char *name,
				const char *artifact,
				const char *const *device_ids, size_t n,
				char **id_out, struct fg_error *err)
{
	struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;
	char *body = NULL, *id = NULL;
	int rc;

	if (id_out)
		*id_out = NULL;
	if ((rc = fg_mender_deployment_body(name, artifact, device_ids, n, &body, err)) < 0)
		return rc;
	if (strlen(body) > FG_MENDER_MAX_REQUEST) {
		rc = fg_error_set(err, FG_ELIMIT,
			"deployment '%s' of %zu devices is larger than Mender's 1 MiB "
			"request limit; split it (fg_mender_deployment_fit)", name, n);
		goto out;
	}
	rc = call(m, "POST", P_DEPLOYMENTS, body, &resp, err);
	if (rc < 0 && resp.status == 409) {
		fg_error_clear(err);
		rc = FG_MENDER_EXISTS;
		goto out;
	}
	if (rc < 0 || (rc = fg_mender_parse_location(resp.location, &id, err)) < 0)
		goto out;
	if (id_out) {
		*id_out = id;
		id = NULL;
	}
out:
	free(id);
	free(body);
	fg_http_response_release(&resp);
	return rc;
}

static int list_status(struct fg_mender *m, const char *status,
		       struct fg_mender_deployments *out, struct fg_error *err)
{
	size_t start = out->count, before;
	int page = 1, more, rc;
	char path[256];

	do {
		struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;

		snprintf(path, sizeof(path), P_DEPLOYMENTS "?status=%s&page=%d&per_page=%d",
			 status, page, FG_MENDER_PAGE_SIZE);
		before = out->count;
		rc = call(m, "GET", path, NULL, &resp, err);
		if (rc == 0 && (rc = fg_mender_parse_deployments(resp.body.ptr,
				resp.body.len, out, err)) < 0)
			fg_error_prefix(err, "GET %s", path);
		more = rc == 0 && more_pages(&resp, out->count - before,
					     out->count - start, page);
		fg_http_response_release(&resp);
		page++;
	} while (more);
	return rc;
}

int fg_mender_list_active_deployments(struct fg_mender *m,
				      struct fg_mender_deployments *out,
				      struct fg_error *err)
{
	size_t start = out->count;
	int rc;

	if ((rc = list_status(m, "pending", out, err)) == 0)
		rc = list_status(m, "inprogress", out, err);
	while (rc < 0 && out->count > start)
		fg_mender_deployment_release(&out->items[--out->count]);
	return rc;
}

void fg_mender_ids_release(struct fg_mender_ids *ids)
{
	if (!ids)
		return;
	while (ids->count)
		free(ids->items[--ids->count]);
	free(ids->items);
	ids->items = NULL;
	ids->alloc = 0;
}

static int append_id(struct fg_mender_ids *out, json_t *o, size_t i,
		     struct fg_error *err)
{
	const char *id;
	char what[64];
	int rc;

	snprintf(what, sizeof(what), "deployment device %zu", i);
	if (!json_is_object(o))
		return fg_error_set(err, FG_EINVALID, "%s is not an object", what);
	if ((rc = get_string(o, "id", 1, &id, what, err)) < 0)
		return rc;
	if (grow((void **)&out->items, &out->alloc, out->count, sizeof(*out->items)) < 0 ||
	    !(out->items[out->count] = fg_strdup(id)))
		return fg_error_oom(err);
	out->count++;
	return 0;
}

int fg_mender_parse_device_ids(const char *body, size_t len,
			       struct fg_mender_ids *out, struct fg_error *err)
{
	json_t *root = load_json(body, len, "deployment device list", err), *o;
	size_t start = out->count, i;
	int rc = 0;

	if (!root)
		return FG_EINVALID;
	if (!json_is_array(root))
		rc = fg_error_set(err, FG_EINVALID,
				  "deployment device list is not a JSON array");
	json_array_foreach(root, i, o)
		if (rc == 0)
			rc = append_id(out, o, i, err);
	while (rc < 0 && out->count > start)
		free(out->items[--out->count]);
	json_decref(root);
	return rc;
}

int fg_mender_deployment_device_ids(struct fg_mender *m, const char *id,
				    const char *status, struct fg_mender_ids *out,
				    struct fg_error *err)
{
	size_t start = out->count, before;
	int page = 1, more, rc;
	char path[512];

	if ((rc = check_id(id, err)) < 0)
		return rc;
	do {
		struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;

		snprintf(path, sizeof(path), P_DEPLOYMENTS "/%s/devices/list?%s%s%s"
			 "page=%d&per_page=%d", id, status ? "status=" : "",
			 status ? status : "", status ? "&" : "", page,
			 FG_MENDER_PAGE_SIZE);
		before = out->count;
		rc = call(m, "GET", path, NULL, &resp, err);
		if (rc == 0 && (rc = fg_mender_parse_device_ids(resp.body.ptr,
				resp.body.len, out, err)) < 0)
			fg_error_prefix(err, "GET %s", path);
		more = rc == 0 && more_pages(&resp, out->count - before,
					     out->count - start, page);
		fg_http_response_release(&resp);
		page++;
	} while (more);
	while (rc < 0 && out->count > start)
		free(out->items[--out->count]);
	return rc;
}

/* GET of one deployment's resource, P_DEPLOYMENTS/<id><suffix>, parsed by
 * fn into out (which the caller has zeroed). */
static int get_deployment_part(struct fg_mender *m, const char *id,
			       const char *suffix,
			       int (*fn)(const char *, size_t, void *, struct fg_error *),
			       void *out, struct fg_error *err)
{
	struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;
	char path[256];
	int rc = check_id(id, err);

	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), P_DEPLOYMENTS "/%s%s", id, suffix);
	rc = call(m, "GET", path, NULL, &resp, err);

	if (rc == 0 && (rc = fn(resp.body.ptr, resp.body.len, out, err)) < 0)
		fg_error_prefix(err, "GET %s", path);
	fg_http_response_release(&resp);
	return rc;
}

static int parse_deployment_any(const char *b, size_t l, void *out,
				struct fg_error *err)
{
	return fg_mender_parse_deployment(b, l, out, err);
}

int fg_mender_get_deployment(struct fg_mender *m, const char *id,
			     struct fg_mender_deployment *out,
			     struct fg_error *err)
{
	memset(out, 0, sizeof(*out));
	return get_deployment_part(m, id, "", parse_deployment_any, out, err);
}

static int stat_field(json_t *root, const char *key, long long *out,
		      struct fg_error *err)
{
	json_t *v = json_object_get(root, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fg_error_set(err, FG_EINVALID,
			"deployment statistics: '%s' is not a count", key);
	*out = json_integer_value(v);
	return 0;
}

int fg_mender_parse_stats(const char *body, size_t len,
			  struct fg_mender_stats *out, struct fg_error *err)
{
	const struct { const char *key; long long *slot; } fields[] = {
		{ "pending", &out->pending }, { "downloading", &out->downloading },
		{ "installing", &out->installing }, { "rebooting", &out->rebooting },
		{ "success", &out->success }, { "failure", &out->failure },
		{ "noartifact", &out->noartifact },
		{ "already-installed", &out->already_installed },
		{ "aborted", &out->aborted },
	};
	json_t *root = load_json(body, len, "deployment statistics", err);
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!root)
		return FG_EINVALID;
	if (!json_is_object(root))
		rc = fg_error_set(err, FG_EINVALID, "deployment statistics are not an object");
	for (i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++)
		rc = stat_field(root, fields[i].key, fields[i].slot, err);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	json_decref(root);
	return rc;
}

static int parse_stats_any(const char *b, size_t l, void *out,
			   struct fg_error *err)
{
	return fg_mender_parse_stats(b, l, out, err);
}

int fg_mender_deployment_stats(struct fg_mender *m, const char *id,
			       struct fg_mender_stats *out,
			       struct fg_error *err)
{
	memset(out, 0, sizeof(*out));
	return get_deployment_part(m, id, "/statistics", parse_stats_any, out, err);
}

/* --- per-device batches --- */

/* Builds one request per device: path = prefix + id + suffix. */
static int device_requests(const char *method, const char *prefix,
			   const char *suffix, const char *body,
			   const char *const *ids, size_t n,
			   struct fg_http_request **out, struct fg_error *err)
{
	struct fg_http_request *reqs;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < n; i++)
		if ((rc = check_id(ids[i], err)) < 0)
			return rc;
	if (!(reqs = calloc(n ? n : 1, sizeof(*reqs))))
		return fg_error_oom(err);
	for (i = 0; i < n; i++) {
		reqs[i].method = method;
		reqs[i].body = body;
		reqs[i].body_len = body ? strlen(body) : 0;
		if (!(reqs[i].path = fg_asprintf("%s%s%s", prefix, ids[i], suffix)))
			break;
	}
	*out = reqs;
	if (i < n)
		return fg_error_oom(err);
	return 0;
}

static void requests_free(struct fg_http_request *reqs, size_t n)
{
	size_t i;

	for (i = 0; reqs && i < n; i++)
		free((char *)reqs[i].path);
	free(reqs);
}

struct first_error {
	int rc;
	struct fg_error err;
};

static int keep_first_error(void *ctx, size_t index, int rc,
			    struct fg_http_response *resp,
			    const struct fg_error *err, struct fg_error *batch_err)
{
	struct first_error *f = ctx;

	if (rc < 0 && f->rc == 0) {
		f->rc = rc;
		f->err = *err;
	}
	return 0;
}

static int device_batch(struct fg_mender *m, const char *method,
			const char *prefix, const char *suffix, const char *body,
			const char *const *ids, size_t n, fg_http_done_fn fn,
			void *ctx, struct fg_error *err)
{
	struct fg_http_request *reqs = NULL;
	int rc;

	if ((rc = device_requests(method, prefix, suffix, body, ids, n, &reqs, err)) == 0)
		rc = fg_http_batch(m->http, reqs, n, fn, ctx, err);
	requests_free(reqs, n);
	return rc;
}

int fg_mender_abort_devices(struct fg_mender *m, const char *const *device_ids,
			    size_t n, struct fg_error *err)
{
	struct first_error f = { 0, FG_ERROR_INIT };
	int rc = device_batch(m, "DELETE", P_DEPLOYMENTS "/devices/", "", NULL,
			      device_ids, n, keep_first_error, &f, err);

	if (rc == 0 && f.rc < 0) {
		rc = f.rc;
		if (err)
			*err = f.err;
	}
	return rc;
}

int fg_mender_abort_device(struct fg_mender *m, const char *device_id,
			   struct fg_error *err)
{
	return fg_mender_abort_devices(m, &device_id, 1, err);
}

/* --- deviceconfig --- */

/* Mender's ManagementAPIConfiguration: an object of string values. */
static int check_config(json_t *v, const char *what, struct fg_error *err)
{
	const char *k;
	json_t *val;

	if (!json_is_object(v))
		return fg_error_set(err, FG_EINVALID, "%s is not an object", what);
	json_object_foreach(v, k, val)
		if (!json_is_string(val))
			return fg_error_set(err, FG_EINVALID,
				"%s: value of '%s' is not a string", what, k);
	return 0;
}

static int config_map(json_t *root, const char *key, json_t **out,
		      struct fg_error *err)
{
	json_t *v = json_object_get(root, key);
	char what[64];
	int rc;

	*out = NULL;
	if (!v || json_is_null(v)) {
		*out = json_object();
		return *out ? 0 : fg_error_oom(err);
	}
	snprintf(what, sizeof(what), "device configuration '%s'", key);
	if ((rc = check_config(v, what, err)) < 0)
		return rc;
	*out = json_incref(v);
	return 0;
}

int fg_mender_parse_config(const char *body, size_t len, json_t **configured,
			   json_t **reported, struct fg_error *err)
{
	json_t *root = load_json(body, len, "device configuration", err);
	int rc;

	*configured = *reported = NULL;
	if (!root)
		return FG_EINVALID;
	if (!json_is_object(root))
		rc = fg_error_set(err, FG_EINVALID, "device configuration is not an object");
	else if ((rc = config_map(root, "configured", configured, err)) == 0)
		rc = config_map(root, "reported", reported, err);
	if (rc < 0) {
		json_decref(*configured);
		*configured = NULL;
	}
	json_decref(root);
	return rc;
}

struct config_ctx {
	fg_mender_config_fn fn;
	void *ctx;
	const char *const *ids;
};

static int config_done(void *ctx, size_t index, int rc,
		       struct fg_http_response *resp, const struct fg_error *err,
		       struct fg_error *batch_err)
{
	struct config_ctx *c = ctx;
	struct fg_error perr = FG_ERROR_INIT;
	json_t *conf = NULL, *rep = NULL;

	if (rc == 0 && (rc = fg_mender_parse_config(resp->body.ptr, resp->body.len,
						    &conf, &rep, &perr)) < 0) {
		fg_error_prefix(&perr, "GET " P_CONFIG "%s", c->ids[index]);
		err = &perr;
	}
	rc = c->fn(c->ctx, index, rc, conf, rep, err);
	if (rc < 0)
		fg_error_set(batch_err, rc, "stopped at device '%s'", c->ids[index]);
	json_decref(conf);
	json_decref(rep);
	return rc;
}

int fg_mender_config_get_many(struct fg_mender *m,
			      const char *const *device_ids, size_t n,
			      fg_mender_config_fn fn, void *ctx,
			      struct fg_error *err)
{
	struct config_ctx c = { fn, ctx, device_ids };

	return device_batch(m, "GET", P_CONFIG, "", NULL, device_ids, n,
			    config_done, &c, err);
}

struct config_one {
	json_t **configured, **reported;
	int rc;
	struct fg_error err;
};

static int config_keep(void *ctx, size_t index, int rc, json_t *configured,
		       json_t *reported, const struct fg_error *err)
{
	struct config_one *o = ctx;

	o->rc = rc;
	if (rc < 0) {
		o->err = *err;
		return 0;
	}
	*o->configured = json_incref(configured);
	*o->reported = json_incref(reported);
	return 0;
}

int fg_mender_config_get(struct fg_mender *m, const char *device_id,
			 json_t **configured, json_t **reported,
			 struct fg_error *err)
{
	struct config_one o = { configured, reported, 0, FG_ERROR_INIT };
	int rc;

	*configured = *reported = NULL;
	rc = fg_mender_config_get_many(m, &device_id, 1, config_keep, &o, err);
	if (rc == 0 && o.rc < 0) {
		rc = o.rc;
		if (err)
			*err = o.err;
	}
	return rc;
}

int fg_mender_config_put(struct fg_mender *m, const char *device_id,
			 json_t *config, struct fg_error *err)
{
	struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;
	char *path = NULL, *body = NULL;
	int rc;

	if ((rc = check_id(device_id, err)) < 0 ||
	    (rc = check_config(config, "device configuration", err)) < 0)
		return rc;
	path = fg_asprintf(P_CONFIG "%s", device_id);
	body = json_dumps(config, JSON_COMPACT);
	if (!path || !body)
		rc = fg_error_oom(err);
	else
		rc = call(m, "PUT", path, body, &resp, err);
	/* configuration values may be secrets */
	if (body)
		explicit_bzero(body, strlen(body));
	free(body);
	free(path);
	fg_http_response_release(&resp);
	return rc;
}

/* --- configuration put + deploy for many devices --- */

struct apply_ctx {
	const size_t *map;     /* batch index -> device index */
	int *rc;                /* per device */
	struct fg_error **errs; /* per device, only for failures */
};

static int apply_done(void *ctx, size_t index, int rc,
		      struct fg_http_response *resp, const struct fg_error *err,
		      struct fg_error *batch_err)
{
	struct apply_ctx *a = ctx;
	size_t i = a->map ? a->map[index] : index;

	if (rc < 0) {
		a->rc[i] = rc;
		if (!a->errs[i] && !(a->errs[i] = malloc(sizeof(*err))))
			return fg_error_oom(batch_err);
		*a->errs[i] = *err;
	}
	return 0;
}

static void wipe_bodies(struct fg_http_request *reqs, size_t n)
{
	size_t i;

	for (i = 0; reqs && i < n; i++)
		if (reqs[i].body) {
			explicit_bzero((char *)reqs[i].body, reqs[i].body_len);
			free((char *)reqs[i].body);
			reqs[i].body = NULL;
		}
}

static int put_requests(const char *const *ids, json_t *const *configs, size_t n,
			struct fg_http_request **out, struct fg_error *err)
{
	struct fg_http_request *reqs;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = check_config(configs[i], "device configuration", err)) < 0)
			return rc;
	if ((rc = device_requests("PUT", P_CONFIG, "", NULL, ids, n, &reqs, err)) < 0) {
		requests_free(reqs, n);
		return rc;
	}
	for (i = 0; i < n; i++) {
		char *body = json_dumps(configs[i], JSON_COMPACT);

		if (!body) {
			wipe_bodies(reqs, n);
			requests_free(reqs, n);
			return fg_error_oom(err);
		}
		reqs[i].body = body;
		reqs[i].body_len = strlen(body);
	}
	*out = reqs;
	return 0;
}

static int put_all(struct fg_mender *m, const char *const *ids,
		   json_t *const *configs, size_t n, struct apply_ctx *a,
		   struct fg_error *err)
{
	struct fg_http_request *reqs = NULL;
	int rc = put_requests(ids, configs, n, &reqs, err);

	if (rc == 0)
		rc = fg_http_batch(m->http, reqs, n, apply_done, a, err);
	wipe_bodies(reqs, n);
	requests_free(reqs, n);
	return rc;
}

static int deploy_all(struct fg_mender *m, const char *const *ids, size_t n,
		      struct apply_ctx *a, struct fg_error *err)
{
	const char **ok = calloc(n ? n : 1, sizeof(*ok));
	size_t *map = calloc(n ? n : 1, sizeof(*map)), k = 0, i;
	struct apply_ctx d = { map, a->rc, a->errs };
	int rc;

	if (!ok || !map)
		rc = fg_error_oom(err);
	else {
		for (i = 0; i < n; i++)
			if (a->rc[i] == 0) {
				map[k] = i;
				ok[k++] = ids[i];
			}
		rc = device_batch(m, "POST", P_CONFIG, "/deploy", "{}", ok, k,
				  apply_done, &d, err);
	}
	free(ok);
	free(map);
	return rc;
}

int fg_mender_config_apply_many(struct fg_mender *m,
				const char *const *device_ids,
				json_t *const *configs, size_t n,
				fg_mender_device_fn fn, void *ctx,
				struct fg_error *err)
{
	struct apply_ctx a = { NULL, calloc(n ? n : 1, sizeof(int)),
			       calloc(n ? n : 1, sizeof(struct fg_error *)) };
	size_t i;
	int rc;

	if (!a.rc || !a.errs)
		rc = fg_error_oom(err);
	else if ((rc = put_all(m, device_ids, configs, n, &a, err)) == 0)
		rc = deploy_all(m, device_ids, n, &a, err);
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = fn(ctx, i, a.rc[i], a.errs[i])) < 0)
			fg_error_set(err, rc, "stopped at device '%s'", device_ids[i]);
	for (i = 0; a.errs && i < n; i++)
		free(a.errs[i]);
	free(a.rc);
	free(a.errs);
	return rc;
}

int fg_mender_parse_config_deploy(const char *body, size_t len, char **out,
				  struct fg_error *err)
{
	json_t *root = load_json(body, len, "configuration deployment", err);
	const char *id = NULL;
	int rc;

	*out = NULL;
	if (!root)
		return FG_EINVALID;
	if (!json_is_object(root))
		rc = fg_error_set(err, FG_EINVALID, "configuration deployment is not an object");
	else
		rc = get_string(root, "deployment_id", 0, &id,
				"configuration deployment", err);
	if (rc == 0 && id && !(*out = fg_strdup(id)))
		rc = fg_error_oom(err);
	json_decref(root);
	return rc;
}

int fg_mender_config_deploy(struct fg_mender *m, const char *device_id,
			    char **deployment_id, struct fg_error *err)
{
	struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;
	char *path = NULL, *id = NULL;
	int rc;

	if (deployment_id)
		*deployment_id = NULL;
	if ((rc = check_id(device_id, err)) < 0)
		return rc;
	if (!(path = fg_asprintf(P_CONFIG "%s/deploy", device_id)))
		return fg_error_oom(err);
	rc = call(m, "POST", path, "{}", &resp, err);
	if (rc == 0 && (rc = fg_mender_parse_config_deploy(resp.body.ptr,
			resp.body.len, &id, err)) < 0)
		fg_error_prefix(err, "POST %s", path);
	if (rc == 0 && deployment_id) {
		*deployment_id = id;
		id = NULL;
	}
	free(id);
	free(path);
	fg_http_response_release(&resp);
	return rc;
}
