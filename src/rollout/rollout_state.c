/* The rollout's memory: per repository and branch the last commit rolled
 * out and the devices that followed the branch then, and the configuration
 * scope computed from a git diff against that commit. */
#include "rollout_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fleet.h"
#include "fsutil.h"

#define STATE_FILE "rollout-state.json"
#define LOCK_FILE "rollout-state.lock"
#define SUBS_MAX ((size_t)256 << 20)
#define STATE_MAX ((size_t)64 << 20)

/* ---- id lists ---- */

int fg_rollout_ids_add(struct fg_rollout_ids *ids, const char *id)
{
	char *copy;

	if (ids->count == ids->alloc) {
		size_t n = ids->alloc ? ids->alloc * 2 : 64;
		void *p = realloc(ids->items, n * sizeof(*ids->items));

		if (!p)
			return FG_ENOMEM;
		ids->items = p;
		ids->alloc = n;
	}
	if (!(copy = fg_strdup(id)))
		return FG_ENOMEM;
	ids->items[ids->count++] = copy;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fg_rollout_ids_sort(struct fg_rollout_ids *ids)
{
	if (ids->count)
		qsort(ids->items, ids->count, sizeof(*ids->items), str_cmp);
}

int fg_rollout_ids_has(const struct fg_rollout_ids *ids, const char *id)
{
	return ids->count && bsearch(&id, ids->items, ids->count, sizeof(*ids->items),
				     str_cmp) != NULL;
}

void fg_rollout_ids_release(struct fg_rollout_ids *ids)
{
	size_t i;

	if (!ids->blob)
		for (i = 0; i < ids->count; i++)
			free(ids->items[i]);
	free(ids->items);
	free(ids->blob);
	memset(ids, 0, sizeof(*ids));
}

/* ---- files ---- */

static int write_atomic(const char *dir, const char *name, const char *data,
			size_t len, struct fg_error *err)
{
	char *tmp = fg_asprintf("%s/.%s.XXXXXX", dir, name);
	char *path = fg_asprintf("%s/%s", dir, name);
	int fd = -1, rc = 0;

	if (!tmp || !path) {
		rc = fg_error_oom(err);
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		rc = fg_error_set(err, FG_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (len > 0 && rc == 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno != EINTR)
			rc = fg_error_set(err, FG_EIO, "%s: %s", tmp, strerror(errno));
		else if (w > 0)
			data += w, len -= (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = fg_error_set(err, FG_EIO, "%s: %s", tmp, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = fg_error_set(err, FG_EIO, "%s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = fg_error_set(err, FG_EIO, "%s: %s", path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	if (rc == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(fd);
		close(fd);
	}
out:
	free(tmp);
	free(path);
	return rc;
}

/* A name for the subscribers file of (git_dir, branch). */
static int subs_name(char *out, size_t size, const char *git_dir, const char *branch,
		     struct fg_error *err)
{
	char *key = fg_asprintf("%s\n%s", git_dir, branch);
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	if (!key)
		return fg_error_oom(err);
	rc = git_odb_hash(&oid, key, strlen(key), GIT_OBJECT_BLOB);
	free(key);
	if (rc < 0)
		return fg_error_set(err, FG_ERROR, "unable to hash the state key");
	git_oid_tostr(hex, sizeof(hex), &oid);
	snprintf(out, size, "subscribers-%s.txt", hex);
	return 0;
}

static json_t *load_state(const char *dir, struct fg_error *err)
{
	char *path = fg_asprintf("%s/" STATE_FILE, dir);
	json_error_t je = { .text = "" };
	json_t *root = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!path) {
		fg_error_oom(err);
		return NULL;
	}
	rc = fg_read_file_bounded(&text, &len, path, STATE_MAX, err);
	if (rc == FG_ENOTFOUND)
		root = json_pack("{s:i, s:{}}", "version", 1, "repositories");
	else if (rc < 0)
		fg_error_prefix(err, "rollout state");
	else if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ||
		 !json_is_object(json_object_get(root, "repositories"))) {
		fg_error_set(err, FG_EINVALID, "%s: %s; remove it to start over "
			     "(the next rollout is then a full one)", path,
			     root ? "no 'repositories' object" : je.text);
		json_decref(root);
		root = NULL;
	}
	free(text);
	free(path);
	return root;
}

static int read_subs(const char *dir, const char *name, struct fg_rollout_ids *subs,
		     struct fg_error *err)
{
	char *path = fg_asprintf("%s/%s", dir, name), *p, *nl;
	size_t len = 0;
	int rc;

	if (!path)
		return fg_error_oom(err);
	rc = fg_read_file_bounded(&subs->blob, &len, path, SUBS_MAX, err);
	free(path);
	if (rc == FG_ENOTFOUND) {
		fg_error_clear(err); /* no file yet: the caller rolls out in full */
		return rc;
	}
	if (rc < 0) {
		fg_error_prefix(err, "state file %s is unreadable", name);
		return rc;
	}
	for (p = subs->blob; p && *p; p = nl + 1) {
		if (!(nl = strchr(p, '\n')))
			break;
		*nl = '\0';
		if (subs->count == subs->alloc) {
			size_t m = subs->alloc ? subs->alloc * 2 : 1024;
			void *q = realloc(subs->items, m * sizeof(*subs->items));

			if (!q)
				return fg_error_oom(err);
			subs->items = q;
			subs->alloc = m;
		}
		subs->items[subs->count++] = p;
	}
	fg_rollout_ids_sort(subs);
	return 0;
}

int fg_rollout_state_get(const char *state_dir, const char *git_dir,
			 const char *branch, git_oid *commit,
			 struct fg_rollout_ids *subs, struct fg_error *err)
{
	json_t *root = load_state(state_dir, err), *entry;
	const char *hex, *file;
	int rc;

	if (!root)
		return err && err->code ? err->code : FG_ENOMEM;
	entry = json_object_get(json_object_get(json_object_get(root, "repositories"),
						git_dir), branch);
	hex = json_string_value(json_object_get(entry, "commit"));
	file = json_string_value(json_object_get(entry, "subscribers"));
	if (!hex || !file || git_oid_fromstr(commit, hex) < 0)
		rc = FG_ENOTFOUND;
	else
		rc = read_subs(state_dir, file, subs, err);
	json_decref(root);
	return rc;
}

static int lock_state(const char *dir, struct fg_error *err)
{
	char *path = fg_asprintf("%s/" LOCK_FILE, dir);
	int fd, rc;

	if (!path)
		return fg_error_oom(err);
	rc = fg_open_regular(&fd, path, O_RDWR | O_CREAT, 0600, err);
	free(path);
	if (rc < 0)
		return rc;
	if (flock(fd, LOCK_EX) < 0) {
		rc = fg_error_set(err, FG_EIO, "%s/" LOCK_FILE ": %s", dir, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

static int write_subs(const char *dir, const char *name,
		      const struct fg_rollout_ids *subs, struct fg_error *err)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < subs->count; i++)
		rc = fg_buf_printf(&b, "%s\n", subs->items[i]);
	rc = rc < 0 ? fg_error_oom(err) :
		write_atomic(dir, name, b.ptr ? b.ptr : "", b.len, err);
	fg_buf_release(&b);
	return rc;
}

static int record(json_t *root, const char *git_dir, const char *branch,
		  const git_oid *commit, const char *file)
{
	json_t *repos = json_object_get(root, "repositories");
	json_t *repo = json_object_get(repos, git_dir);
	char hex[GIT_OID_HEXSZ + 1];

	if (!repo && (!(repo = json_object()) ||
		      json_object_set_new(repos, git_dir, repo) < 0))
		return FG_ENOMEM;
	git_oid_tostr(hex, sizeof(hex), commit);
	return json_object_set_new(repo, branch, json_pack("{s:s, s:s}", "commit", hex,
							   "subscribers", file)) < 0 ?
		FG_ENOMEM : 0;
}

int fg_rollout_state_set(const char *state_dir, const char *git_dir,
			 const char *branch, const git_oid *commit,
			 const struct fg_rollout_ids *subs, struct fg_error *err)
{
	char name[128], *text = NULL;
	json_t *root = NULL;
	int lock, rc;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return fg_error_set(err, FG_EIO, "%s: %s", state_dir, strerror(errno));
	if ((lock = lock_state(state_dir, err)) < 0)
		return lock;
	rc = subs_name(name, sizeof(name), git_dir, branch, err);
	if (rc == 0)
		rc = write_subs(state_dir, name, subs, err);
	if (rc == 0 && !(root = load_state(state_dir, err)))
		rc = err && err->code ? err->code : fg_error_oom(err);
	if (rc == 0 && record(root, git_dir, branch, commit, name) < 0)
		rc = fg_error_oom(err);
	if (rc == 0 && !(text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)))
		rc = fg_error_oom(err);
	if (rc == 0)
		rc = write_atomic(state_dir, STATE_FILE, text, strlen(text), err);
	free(text);
	json_decref(root);
	close(lock);
	return rc;
}

/* ---- scope ---- */

static json_t *blob_yaml(git_repository *repo, const git_diff_file *f)
{
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_yaml_doc *doc = NULL;
	json_t *root = NULL;

	if (!(f->flags & GIT_DIFF_FLAG_EXISTS))
		return NULL;
	if (fg_fleet_load_yaml_blob(&doc, repo, &f->id, f->path, NULL, &diags, NULL) == 0 &&
	    doc)
		root = json_incref(doc->root);
	fg_yaml_doc_free(doc);
	fg_diags_release(&diags);
	return root;
}

/* 1 when key's value differs between the two documents (or one is missing). */
static int differs(json_t *a, json_t *b, const char *key)
{
	if (!a || !b)
		return 1;
	return !json_equal(json_object_get(a, key), json_object_get(b, key)) &&
	       (json_object_get(a, key) || json_object_get(b, key));
}

static int scan_delta(const git_diff_delta *d, git_repository *repo,
		      struct fg_rollout_ids *scope, int *full)
{
	json_t *a = blob_yaml(repo, &d->old_file), *b = blob_yaml(repo, &d->new_file);
	char id[FG_FLEET_ID_MAX + 1];
	int rc = 0, changed;

	if (!strcmp(d->new_file.path, FG_FLEET_FILE)) {
		*full |= differs(a, b, "configuration") || differs(a, b, "default_branch");
		goto out;
	}
	changed = differs(a, b, "configuration") || differs(a, b, "subscribed_branch");
	if (changed && fg_fleet_device_id_of_path(d->old_file.path, id))
		rc = fg_rollout_ids_add(scope, id);
	if (rc == 0 && changed && strcmp(d->old_file.path, d->new_file.path) &&
	    fg_fleet_device_id_of_path(d->new_file.path, id))
		rc = fg_rollout_ids_add(scope, id);
out:
	json_decref(a);
	json_decref(b);
	return rc;
}

static int commit_tree(git_tree **out, git_repository *repo, const git_oid *id)
{
	git_commit *c = NULL;
	int rc = git_commit_lookup(&c, repo, id);

	*out = NULL;
	if (rc == 0)
		rc = git_commit_tree(out, c);
	git_commit_free(c);
	return rc;
}

int fg_rollout_scope_diff(struct fg_rollout_ids *scope, int *full,
			  git_repository *repo, const git_oid *old,
			  const git_oid *new, struct fg_error *err)
{
	char *paths[] = { FG_FLEET_FILE, FG_FLEET_DEVICES_DIR };
	git_diff_options o;
	git_tree *a = NULL, *b = NULL;
	git_diff *diff = NULL;
	size_t i;
	int rc = 0;

	*full = 0;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.pathspec.strings = paths;
	o.pathspec.count = 2;
	if (commit_tree(&a, repo, old) < 0) {
		*full = 1; /* the old commit is gone: compare everything */
		goto out;
	}
	if (commit_tree(&b, repo, new) < 0 ||
	    git_diff_tree_to_tree(&diff, repo, a, b, &o) < 0) {
		rc = fg_error_set(err, FG_EIO, "git diff: %s",
				  git_error_last() ? git_error_last()->message : "failed");
		goto out;
	}
	for (i = 0; rc == 0 && !*full && i < git_diff_num_deltas(diff); i++)
		if (scan_delta(git_diff_get_delta(diff, i), repo, scope, full) < 0)
			rc = fg_error_oom(err);
	fg_rollout_ids_sort(scope);
out:
	git_diff_free(diff);
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}
