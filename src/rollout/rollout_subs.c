/* Subscriptions: who follows which branch, read from the subscriptions
 * branch only (fg_policy_subscriptions_branch), and which branches gain
 * devices when that branch moves. Who follows a branch is never decided by
 * the content of the branch being rolled out: anyone may push to develop
 * or a feature branch, and their fleet.yaml could otherwise claim every
 * device. */
#include "rollout.h"
#include "rollout_int.h"
#include "gitcli.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fleet.h"
#include "graph.h"
#include "tree_source.h"

/* ---- reading fleet files ---- */

static int broken(const char *path, struct fg_diags *diags, struct fg_error *err)
{
	char *text = diags->count ? fg_diag_format(&diags->items[0]) : NULL;
	int rc = text ? fg_error_set(err, FG_EINVALID, "%s; run fleetgate check", text) :
		fg_error_set(err, FG_EINVALID, "%s is not a mapping; run fleetgate check",
			     path);

	free(text);
	return rc;
}

/* *out: a copy of the string `key` of the YAML blob `oid` (NULL when the
 * key is absent or null). FG_EINVALID for a broken file or a non-string. */
static int blob_string(char **out, git_repository *repo, const git_oid *oid,
		       const char *path, const char *key, struct fg_error *err)
{
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_yaml_doc *doc = NULL;
	json_t *v = NULL;
	int rc = fg_fleet_load_yaml_blob(&doc, repo, oid, path, NULL, &diags, err);

	*out = NULL;
	if (rc == 0 && (diags.count || !doc || !json_is_object(doc->root)))
		rc = broken(path, &diags, err);
	if (rc == 0)
		v = json_object_get(doc->root, key);
	if (v && !json_is_null(v) && !json_is_string(v))
		rc = fg_error_set(err, FG_EINVALID, "%s: '%s' is not a string", path, key);
	else if (json_is_string(v) && !(*out = fg_strdup(json_string_value(v))))
		rc = fg_error_oom(err);
	fg_yaml_doc_free(doc);
	fg_diags_release(&diags);
	return rc;
}

/* The same for the file at `path` of `tree` (NULL tree or no such file:
 * *out NULL). */
static int tree_string(char **out, git_repository *repo, git_tree *tree,
		       const char *path, const char *key, struct fg_error *err)
{
	git_tree_entry *e = NULL;
	int rc = 0;

	*out = NULL;
	if (!tree || git_tree_entry_bypath(&e, tree, path) < 0)
		return 0;
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
		rc = blob_string(out, repo, git_tree_entry_id(e), path, key, err);
	git_tree_entry_free(e);
	return rc;
}

/* The tip of refs/heads/<branch>: 0, 1 when there is none (or the name is
 * not a branch name), FG_EIO. */
static int branch_tip(git_oid *out, git_repository *repo, const char *branch,
		      struct fg_error *err)
{
	char *ref = fg_asprintf("refs/heads/%s", branch);
	int rc;

	if (!ref)
		return fg_error_oom(err);
	rc = git_reference_name_to_id(out, repo, ref);
	free(ref);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return 1;
	if (rc < 0)
		return fg_error_set(err, FG_EIO, "branch '%s': %s", branch,
				    git_error_last() ? git_error_last()->message : "failed");
	return 0;
}

static int commit_tree(git_tree **out, git_repository *repo, const git_oid *id,
		       struct fg_error *err)
{
	git_commit *c = NULL;
	int rc = git_commit_lookup(&c, repo, id);

	*out = NULL;
	if (rc == 0)
		rc = git_commit_tree(out, c);
	git_commit_free(c);
	if (rc < 0)
		return fg_error_set(err, FG_EIO, "commit %.12s: %s", git_oid_tostr_s(id),
				    git_error_last() ? git_error_last()->message : "failed");
	return 0;
}

/* ---- the subscriptions at the tip ---- */

static int follow_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fg_plan_follow *)a)->id,
		      ((const struct fg_plan_follow *)b)->id);
}

/* Takes `branch` (freed on failure). */
static int follow_add(struct fg_rollout_subs *s, const char *id, char *branch,
		      struct fg_error *err)
{
	struct fg_plan_follow *f;

	if (s->count == s->alloc) {
		size_t n = s->alloc ? s->alloc * 2 : 64;

		f = realloc(s->follows, n * sizeof(*f));
		if (!f) {
			free(branch);
			return fg_error_oom(err);
		}
		s->follows = f;
		s->alloc = n;
	}
	f = &s->follows[s->count];
	f->branch = branch;
	if (!(f->id = fg_strdup(id))) {
		free(branch);
		return fg_error_oom(err);
	}
	s->count++;
	return 0;
}

struct subs_walk {
	struct fg_rollout_subs *s;
	git_repository *repo;
	struct fg_error *err;
};

static int subs_walk_cb(const char *path, enum fg_entry_kind kind, const git_oid *oid,
			void *payload)
{
	struct subs_walk *w = payload;
	char id[FG_FLEET_ID_MAX + 1];
	char *branch = NULL;
	int rc;

	if (kind != FG_ENTRY_FILE || !oid || !fg_fleet_device_id_of_path(path, id))
		return 0; /* not a device file: fleetgate check's business */
	rc = blob_string(&branch, w->repo, oid, path, "subscribed_branch", w->err);
	return rc < 0 ? rc : follow_add(w->s, id, branch, w->err);
}

static int sort_follows(struct fg_rollout_subs *s, struct fg_error *err)
{
	size_t i;

	if (s->count)
		qsort(s->follows, s->count, sizeof(*s->follows), follow_cmp);
	for (i = 1; i < s->count; i++)
		if (!strcmp(s->follows[i - 1].id, s->follows[i].id))
			return fg_error_set(err, FG_EINVALID, "device '%s' has two files",
					    s->follows[i].id);
	return 0;
}

static int subs_read(struct fg_rollout_subs *s, git_repository *repo,
		     const git_oid *tip, struct fg_error *err)
{
	struct subs_walk w = { s, repo, err };
	struct fg_source *src = NULL;
	git_tree *tree = NULL;
	int rc = commit_tree(&tree, repo, tip, err);

	if (rc == 0)
		rc = tree_string(&s->default_branch, repo, tree, FG_FLEET_FILE,
				 "default_branch", err);
	if (rc == 0)
		rc = fg_source_open_git(&src, repo, tip, err);
	if (rc == 0) {
		rc = fg_source_walk(src, FG_FLEET_DEVICES_DIR, subs_walk_cb, &w, err);
		if (rc == FG_ENOTFOUND)
			rc = 0; /* a fleet without device files */
	}
	if (rc == 0)
		rc = sort_follows(s, err);
	fg_source_free(src);
	git_tree_free(tree);
	return rc;
}

int fg_rollout_subs_load(struct fg_rollout_subs *s, git_repository *repo,
			 const char *branch, struct fg_error *err)
{
	git_oid tip;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!branch)
		return 0;
	if (!(s->branch = fg_strdup(branch)))
		return fg_error_oom(err);
	rc = branch_tip(&tip, repo, branch, err);
	if (rc == 1)
		return 0; /* not created yet: only Mender tags subscribe */
	s->exists = rc == 0;
	if (rc == 0)
		rc = subs_read(s, repo, &tip, err);
	if (rc < 0)
		fg_error_prefix(err, "the subscriptions branch '%s'", branch);
	s->plan.default_branch = s->default_branch;
	s->plan.devices = s->follows;
	s->plan.ndevices = s->count;
	return rc;
}

const char *fg_rollout_subs_follows(const struct fg_rollout_subs *s, const char *tag,
				    const char *id)
{
	struct fg_plan_follow key = { id, NULL };
	const struct fg_plan_follow *hit = s->count ?
		bsearch(&key, s->follows, s->count, sizeof(*s->follows), follow_cmp) : NULL;

	return fg_fleet_device_branch(tag, hit ? hit->branch : NULL, s->default_branch,
				      NULL);
}

void fg_rollout_subs_release(struct fg_rollout_subs *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		free((char *)s->follows[i].id);
		free((char *)s->follows[i].branch);
	}
	free(s->follows);
	free(s->branch);
	free(s->default_branch);
	memset(s, 0, sizeof(*s));
}

/* ---- devices moved by a push to the subscriptions branch ---- */

struct moved_run {
	git_repository *repo;
	git_tree *old, *new;
	char *old_default, *new_default;
	struct fg_rollout_ids gained;
	struct fg_error *err;
};

static bool differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* One changed device file: the branch its device follows now gains it when
 * that differs from the one it followed before (file, else default). */
static int moved_delta(struct moved_run *m, const git_diff_delta *d)
{
	char id[FG_FLEET_ID_MAX + 1];
	char *was = NULL, *is = NULL;
	const char *from, *to;
	int rc = 0;

	if (!fg_fleet_device_id_of_path(d->old_file.path, id) &&
	    !fg_fleet_device_id_of_path(d->new_file.path, id))
		return 0;
	if (d->status != GIT_DELTA_ADDED)
		rc = blob_string(&was, m->repo, &d->old_file.id, d->old_file.path,
				 "subscribed_branch", m->err);
	if (rc == 0 && d->status != GIT_DELTA_DELETED)
		rc = blob_string(&is, m->repo, &d->new_file.id, d->new_file.path,
				 "subscribed_branch", m->err);
	from = fg_fleet_device_branch(NULL, was, m->old_default, NULL);
	to = fg_fleet_device_branch(NULL, is, m->new_default, NULL);
	if (rc == 0 && to && differ(from, to) && fg_rollout_ids_add(&m->gained, to) < 0)
		rc = fg_error_oom(m->err);
	free(was);
	free(is);
	return rc;
}

static int moved_scan(struct moved_run *m)
{
	char *paths[] = { FG_FLEET_DEVICES_DIR };
	git_diff *diff = NULL;
	git_diff_options o;
	size_t i;
	int rc = 0;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.pathspec.strings = paths;
	o.pathspec.count = 1;
	if (git_diff_tree_to_tree(&diff, m->repo, m->old, m->new, &o) < 0)
		return fg_error_set(m->err, FG_EIO, "git diff: %s",
				    git_error_last() ? git_error_last()->message : "failed");
	for (i = 0; rc == 0 && i < git_diff_num_deltas(diff); i++)
		rc = moved_delta(m, git_diff_get_delta(diff, i));
	git_diff_free(diff);
	/* A new default moves every device without its own subscribed_branch. */
	if (rc == 0 && m->new_default && differ(m->old_default, m->new_default) &&
	    fg_rollout_ids_add(&m->gained, m->new_default) < 0)
		rc = fg_error_oom(m->err);
	return rc;
}

static int moved_add(struct fg_rollout_moved *out, const char *branch,
		     const git_oid *tip, struct fg_error *err)
{
	size_t n = out->count + 1;
	char **b = realloc(out->branches, n * sizeof(*b));

	if (b)
		out->branches = b;
	b = b ? realloc(out->tips, n * sizeof(*b)) : NULL;
	if (!b)
		return fg_error_oom(err);
	out->tips = b;
	out->branches[out->count] = fg_strdup(branch);
	out->tips[out->count] = fg_strdup(git_oid_tostr_s(tip));
	if (out->branches[out->count] && out->tips[out->count]) {
		out->count++;
		return 0;
	}
	free(out->branches[out->count]);
	free(out->tips[out->count]);
	return fg_error_oom(err);
}

/* The gained branches that exist, once each, with their tips. */
static int moved_collect(struct moved_run *m, struct fg_rollout_moved *out)
{
	git_oid tip;
	size_t i;
	int rc = 0;

	fg_rollout_ids_sort(&m->gained);
	for (i = 0; rc == 0 && i < m->gained.count; i++) {
		if (i && !strcmp(m->gained.items[i - 1], m->gained.items[i]))
			continue;
		rc = branch_tip(&tip, m->repo, m->gained.items[i], m->err);
		if (rc == 0)
			rc = moved_add(out, m->gained.items[i], &tip, m->err);
		else if (rc == 1)
			rc = 0; /* no such branch: nothing to roll out yet */
	}
	return rc;
}

static int tree_of_hex(git_tree **out, git_repository *repo, const char *hex,
		       struct fg_error *err)
{
	struct fg_oid zero_check;
	git_oid id;

	*out = NULL;
	if (!fg_oid_parse(&zero_check, hex, strlen(hex)) || git_oid_fromstr(&id, hex) < 0)
		return fg_error_set(err, FG_EINVALID, "'%.64s' is not an object id", hex);
	if (fg_oid_is_zero(&zero_check))
		return 0; /* created (old) side: an empty tree */
	return commit_tree(out, repo, &id, err);
}

int fg_rollout_moved_to(struct fg_rollout_moved *out, const char *git_dir,
			const char *old_hex, const char *new_hex, struct fg_error *err)
{
	struct moved_run m;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	m.err = err;
	git_libgit2_init();
	rc = fg_git_open(&m.repo, git_dir, err);
	if (rc == 0 && (rc = tree_of_hex(&m.old, m.repo, old_hex, err)) == 0 &&
		 (rc = tree_of_hex(&m.new, m.repo, new_hex, err)) == 0 &&
		 (rc = tree_string(&m.old_default, m.repo, m.old, FG_FLEET_FILE,
				   "default_branch", err)) == 0 &&
		 (rc = tree_string(&m.new_default, m.repo, m.new, FG_FLEET_FILE,
				   "default_branch", err)) == 0 &&
		 (rc = moved_scan(&m)) == 0)
		rc = moved_collect(&m, out);
	fg_rollout_ids_release(&m.gained);
	free(m.old_default);
	free(m.new_default);
	git_tree_free(m.old);
	git_tree_free(m.new);
	git_repository_free(m.repo);
	git_libgit2_shutdown();
	if (rc < 0)
		fg_rollout_moved_release(out);
	return rc;
}

void fg_rollout_moved_release(struct fg_rollout_moved *m)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->branches[i]);
		free(m->tips[i]);
	}
	free(m->branches);
	free(m->tips);
	memset(m, 0, sizeof(*m));
}
