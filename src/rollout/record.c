/* The rollout record: one JSON file per branch in the state directory,
 * replaced atomically under a lock (see record.h). */
#include "record.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_ENCODED 200
#define FILE_MAX ((size_t)64 << 20)

static const char *const state_names[] = {
	"queued", "in-progress", "succeeded", "failed", "superseded", "timed-out"
};

const char *fg_record_state_name(enum fg_record_state state)
{
	return (unsigned)state < sizeof(state_names) / sizeof(state_names[0])
		? state_names[state] : "unknown";
}

int fg_record_state_parse(enum fg_record_state *out, const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(name, state_names[i])) {
			*out = (enum fg_record_state)i;
			return 0;
		}
	return FG_EINVALID;
}

bool fg_record_is_final(enum fg_record_state state)
{
	return state != FG_RECORD_QUEUED && state != FG_RECORD_IN_PROGRESS;
}

/* ---- memory ---- */

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void fg_record_release(struct fg_record *rec)
{
	free(rec->commit);
	free(rec->tree);
	strv_free(rec->failed_devices, rec->nfailed_devices);
	strv_free(rec->deployments, rec->ndeployments);
	free(rec->last_error);
	json_decref(rec->follow);
	memset(rec, 0, sizeof(*rec));
}

void fg_record_history_release(struct fg_record_history *h)
{
	size_t i;

	for (i = 0; i < h->count; i++)
		fg_record_release(&h->items[i]);
	free(h->items);
	free(h->branch);
	memset(h, 0, sizeof(*h));
}

static int strv_add(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown)
		return FG_ENOMEM;
	*v = grown;
	if (!(grown[*n] = fg_strdup(s)))
		return FG_ENOMEM;
	(*n)++;
	return 0;
}

int fg_record_add_failed(struct fg_record *rec, const char *id)
{
	size_t i;

	for (i = 0; i < rec->nfailed_devices; i++)
		if (!strcmp(rec->failed_devices[i], id))
			return 0;
	if (rec->nfailed_devices >= FG_RECORD_FAILED_MAX)
		return 0;
	return strv_add(&rec->failed_devices, &rec->nfailed_devices, id);
}

int fg_record_add_deployment(struct fg_record *rec, const char *id)
{
	size_t i;

	for (i = 0; i < rec->ndeployments; i++)
		if (!strcmp(rec->deployments[i], id))
			return 0;
	return strv_add(&rec->deployments, &rec->ndeployments, id);
}

const struct fg_record *fg_record_latest(const struct fg_record_history *h)
{
	return h->count ? &h->items[h->count - 1] : NULL;
}

const struct fg_record *fg_record_find(const struct fg_record_history *h,
				       const char *commit)
{
	size_t i;

	for (i = h->count; commit && i-- > 0;)
		if (!strcmp(h->items[i].commit, commit))
			return &h->items[i];
	return NULL;
}

/* ---- JSON ---- */

static json_t *time_json(time_t t)
{
	char text[32];
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm))
		return json_null();
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(text);
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *devices_json(const struct fg_record_devices *d)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}",
			 "following", (json_int_t)d->following,
			 "in_sync", (json_int_t)d->in_sync,
			 "succeeded", (json_int_t)d->succeeded,
			 "failed", (json_int_t)d->failed,
			 "pending", (json_int_t)d->pending);
}

json_t *fg_record_to_json(const struct fg_record *rec)
{
	json_t *o = json_pack("{s:s, s:s?, s:s, s:o, s:o, s:o, s:o, s:o}",
			      "commit", rec->commit, "tree", rec->tree,
			      "state", fg_record_state_name(rec->state),
			      "started", time_json(rec->started),
			      "finished", time_json(rec->finished),
			      "devices", devices_json(&rec->devices),
			      "failed_devices", strv_json(rec->failed_devices,
							  rec->nfailed_devices),
			      "deployments", strv_json(rec->deployments,
						       rec->ndeployments));

	if (o && rec->last_error &&
	    json_object_set_new(o, "last_error", json_string(rec->last_error)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The stored form: times as seconds, plus the follower's state. */
static json_t *stored_json(const struct fg_record *rec)
{
	json_t *o = fg_record_to_json(rec);

	if (!o)
		return NULL;
	if (json_object_set_new(o, "started_at", json_integer(rec->started)) < 0 ||
	    json_object_set_new(o, "finished_at", json_integer(rec->finished)) < 0 ||
	    (rec->follow && json_object_set(o, "follow", rec->follow) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int strv_from_json(char ***v, size_t *n, const json_t *a)
{
	size_t i;
	json_t *s;

	if (!json_is_array(a))
		return FG_EINVALID;
	json_array_foreach(a, i, s) {
		if (!json_is_string(s))
			return FG_EINVALID;
		if (strv_add(v, n, json_string_value(s)) < 0)
			return FG_ENOMEM;
	}
	return 0;
}

static int count_from_json(size_t *out, const json_t *devices, const char *key)
{
	json_t *v = json_object_get(devices, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return FG_EINVALID;
	*out = (size_t)json_integer_value(v);
	return 0;
}

static int devices_from_json(struct fg_record_devices *d, const json_t *o)
{
	if (!json_is_object(o))
		return FG_EINVALID;
	if (count_from_json(&d->following, o, "following") < 0 ||
	    count_from_json(&d->in_sync, o, "in_sync") < 0 ||
	    count_from_json(&d->succeeded, o, "succeeded") < 0 ||
	    count_from_json(&d->failed, o, "failed") < 0 ||
	    count_from_json(&d->pending, o, "pending") < 0)
		return FG_EINVALID;
	return 0;
}

static char *opt_string(const json_t *o, const char *key)
{
	return fg_strdup(json_string_value(json_object_get(o, key)));
}

static int record_from_json(struct fg_record *rec, const json_t *o)
{
	json_t *follow = json_object_get(o, "follow");
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->commit = opt_string(o, "commit");
	rec->tree = opt_string(o, "tree");
	rec->last_error = opt_string(o, "last_error");
	rec->started = (time_t)json_integer_value(json_object_get(o, "started_at"));
	rec->finished = (time_t)json_integer_value(json_object_get(o, "finished_at"));
	rec->follow = json_is_object(follow) ? json_incref(follow) : NULL;
	if (!rec->commit ||
	    fg_record_state_parse(&rec->state,
				  json_string_value(json_object_get(o, "state"))) < 0 ||
	    devices_from_json(&rec->devices, json_object_get(o, "devices")) < 0)
		rc = FG_EINVALID;
	else if ((rc = strv_from_json(&rec->failed_devices, &rec->nfailed_devices,
				      json_object_get(o, "failed_devices"))) == 0)
		rc = strv_from_json(&rec->deployments, &rec->ndeployments,
				    json_object_get(o, "deployments"));
	if (rc < 0)
		fg_record_release(rec);
	return rc;
}

/* ---- files ---- */

/* "feature/x" -> "feature%2Fx": one flat file per branch, no traversal. */
static char *encode_branch(const char *branch)
{
	static const char hex[] = "0123456789ABCDEF";
	struct fg_buf b = FG_BUF_INIT;
	const unsigned char *p;

	for (p = (const unsigned char *)branch; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			     (*p == '.' && p != (const unsigned char *)branch);
		char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };

		if (plain ? fg_buf_putc(&b, (char)*p) < 0 : fg_buf_put(&b, esc, 3) < 0) {
			fg_buf_release(&b);
			return NULL;
		}
	}
	return fg_buf_detach(&b);
}

static int record_path(char **out, const char *state_dir, const char *branch,
		       const char *suffix, struct fg_error *err)
{
	char *enc = encode_branch(branch);

	*out = NULL;
	if (!enc)
		return fg_error_oom(err);
	if (!*enc || strlen(enc) > NAME_MAX_ENCODED) {
		free(enc);
		return fg_error_set(err, FG_EINVALID, "branch name '%.64s' is empty or "
				    "too long to keep a rollout record for", branch);
	}
	*out = fg_asprintf("%s/records/%s%s", state_dir, enc, suffix);
	free(enc);
	return *out ? 0 : fg_error_oom(err);
}

static int history_from_json(struct fg_record_history *h, const json_t *root)
{
	const json_t *items = json_object_get(root, "records");
	size_t i;
	json_t *o;
	int rc;

	if (!json_is_array(items) || json_array_size(items) > FG_RECORD_HISTORY_MAX + 1)
		return FG_EINVALID;
	if (!(h->items = calloc(json_array_size(items) + 1, sizeof(*h->items))))
		return FG_ENOMEM;
	json_array_foreach(items, i, o) {
		if ((rc = record_from_json(&h->items[h->count], o)) < 0)
			return rc;
		h->count++;
	}
	return 0;
}

int fg_record_load(struct fg_record_history *out, const char *state_dir,
		   const char *branch, struct fg_error *err)
{
	json_error_t jerr;
	json_t *root = NULL;
	char *path;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = record_path(&path, state_dir, branch, ".json", err)) < 0)
		return rc;
	if (!(out->branch = fg_strdup(branch))) {
		rc = fg_error_oom(err);
		goto out;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root && errno == ENOENT && access(path, F_OK) < 0)
		goto out; /* no rollout of the branch yet */
	rc = root ? history_from_json(out, root) : FG_EINVALID;
	if (rc == FG_ENOMEM)
		fg_error_oom(err);
	else if (rc < 0)
		fg_error_set(err, FG_EINVALID, "rollout record '%s' is damaged; move it "
			     "away (the next rollout of '%s' starts a new one)", path,
			     branch);
out:
	json_decref(root);
	free(path);
	if (rc < 0)
		fg_record_history_release(out);
	return rc;
}

static int lock_records(int *fd, const char *state_dir, const char *branch,
			struct fg_error *err)
{
	char *dir = fg_asprintf("%s/records", state_dir), *path = NULL;
	int rc;

	*fd = -1;
	if (!dir)
		return fg_error_oom(err);
	if ((mkdir(state_dir, 0750) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0750) < 0 && errno != EEXIST)) {
		rc = fg_error_set(err, FG_EIO, "unable to create '%s': %s", dir,
				  strerror(errno));
		goto out;
	}
	if ((rc = record_path(&path, state_dir, branch, ".lock", err)) < 0)
		goto out;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (*fd < 0 || flock(*fd, LOCK_EX) < 0)
		rc = fg_error_set(err, FG_EIO, "unable to lock '%s': %s", path,
				  strerror(errno));
out:
	free(dir);
	free(path);
	return rc;
}

/* Older unfinished records of the branch will never be followed again. */
static void supersede(json_t *o, time_t now)
{
	const char *state = json_string_value(json_object_get(o, "state"));
	enum fg_record_state s;

	if (fg_record_state_parse(&s, state) < 0 || fg_record_is_final(s))
		return;
	json_object_set_new(o, "state", json_string("superseded"));
	json_object_set_new(o, "finished_at", json_integer(now));
	json_object_set_new(o, "finished", time_json(now));
	json_object_del(o, "follow");
}

/* The history with rec as its newest entry, as the file's JSON. */
static json_t *merged(const struct fg_record_history *h, const struct fg_record *rec,
		      time_t now)
{
	const struct fg_record *newest = fg_record_latest(h);
	/* an update of the newest record leaves the others as they are */
	bool update = newest && !strcmp(newest->commit, rec->commit);
	json_t *items = json_array(), *root, *o;
	size_t i, keep;

	if (!items)
		return NULL;
	for (i = 0; i < h->count; i++) {
		if (!strcmp(h->items[i].commit, rec->commit))
			continue;
		if (!(o = stored_json(&h->items[i])) || json_array_append_new(items, o) < 0)
			goto fail;
		if (!update)
			supersede(o, now);
	}
	if (!(o = stored_json(rec)) || json_array_append_new(items, o) < 0)
		goto fail;
	keep = json_array_size(items);
	while (keep-- > FG_RECORD_HISTORY_MAX)
		json_array_remove(items, 0);
	root = json_pack("{s:i, s:s, s:o}", "version", 1, "branch", h->branch, "records",
			 items);
	return root;
fail:
	json_decref(items);
	return NULL;
}

int fg_record_save(const char *state_dir, const char *branch,
		   const struct fg_record *rec, time_t now, struct fg_error *err)
{
	struct fg_record_history h = { 0 };
	json_t *root = NULL;
	char *path = NULL, *text = NULL;
	int fd, rc;

	if ((rc = lock_records(&fd, state_dir, branch, err)) < 0 ||
	    (rc = fg_record_load(&h, state_dir, branch, err)) < 0 ||
	    (rc = record_path(&path, state_dir, branch, ".json", err)) < 0)
		goto out;
	if (!(root = merged(&h, rec, now)) ||
	    !(text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS))) {
		rc = fg_error_oom(err);
		goto out;
	}
	rc = fg_file_replace(path, NULL, text, strlen(text), 0640, err);
out:
	if (fd >= 0)
		close(fd); /* drops the lock */
	json_decref(root);
	free(text);
	free(path);
	fg_record_history_release(&h);
	return rc;
}

/* ---- the note's summary ---- */

static void hhmm(char *out, size_t size, time_t t, bool with_date)
{
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm))
		snprintf(out, size, "?");
	else if (with_date)
		strftime(out, size, "%Y-%m-%d %H:%M", &tm);
	else
		strftime(out, size, "%H:%M", &tm);
}

int fg_record_summary(struct fg_buf *out, const char *branch,
		      const struct fg_record *rec)
{
	const struct fg_record_devices *d = &rec->devices;
	char from[32], to[32];
	int rc;

	hhmm(from, sizeof(from), rec->started, true);
	hhmm(to, sizeof(to), rec->finished, false);
	rc = fg_buf_printf(out, "rollout %s: %s, %zu/%zu devices (%zu updated, %zu "
			   "already there", branch, fg_record_state_name(rec->state),
			   d->in_sync + d->succeeded, d->following, d->succeeded,
			   d->in_sync);
	if (rc == 0 && d->failed)
		rc = fg_buf_printf(out, ", %zu failed", d->failed);
	if (rc == 0 && d->pending)
		rc = fg_buf_printf(out, ", %zu pending", d->pending);
	if (rc == 0)
		rc = fg_buf_printf(out, "), %s%s%s UTC", from,
				   rec->finished ? "\xe2\x80\x93" : "", rec->finished ? to : "");
	return rc < 0 ? FG_ENOMEM : 0;
}
