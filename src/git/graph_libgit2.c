/* The libgit2 back end of graph.h. */
#include "graph.h"
#include "buf.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

static int git2_fail(struct fg_error *err, const char *what)
{
	const git_error *e = git_error_last();

	return fg_error_set(err, FG_EIO, "%s: %s", what, e && e->message ? e->message
								       : "unknown libgit2 error");
}

static int to_git_oid(git_oid *out, const struct fg_oid *id, struct fg_error *err)
{
	/* libgit2 1.5 knows only SHA-1; a 64-digit id never reaches here */
	if (strlen(id->hex) != GIT_OID_HEXSZ || git_oid_fromstr(out, id->hex) < 0)
		return fg_error_set(err, FG_EINVALID, "'%s' is not a SHA-1 object id", id->hex);
	return 0;
}

static void from_git_oid(struct fg_oid *out, const git_oid *id)
{
	git_oid_tostr(out->hex, sizeof(out->hex), id);
}

static int lookup_commit(git_repository *repo, const struct fg_oid *id,
			 git_commit **out, struct fg_error *err)
{
	git_oid oid;
	int rc = to_git_oid(&oid, id, err);

	if (rc < 0)
		return rc;
	if (git_commit_lookup(out, repo, &oid) < 0)
		return fg_error_set(err, FG_ENOTFOUND, "commit %.12s is not in the repository",
				    id->hex);
	return 0;
}

static int git2_peel_commit(void *state, const struct fg_oid *id, struct fg_oid *out,
			    struct fg_error *err)
{
	git_object *obj = NULL, *peeled = NULL;
	git_oid oid;
	int rc = to_git_oid(&oid, id, err);

	if (rc < 0)
		return rc;
	if (git_object_lookup(&obj, state, &oid, GIT_OBJECT_ANY) < 0)
		return fg_error_set(err, FG_ENOTFOUND, "object %.12s is not in the repository",
				    id->hex);
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		rc = fg_error_set(err, FG_EINVALID, "object %.12s is a %s, not a commit",
				  id->hex, git_object_type2string(git_object_type(obj)));
	} else {
		from_git_oid(out, git_object_id(peeled));
		rc = 0;
	}
	git_object_free(peeled);
	git_object_free(obj);
	return rc;
}

static int git2_parents(void *state, const struct fg_oid *commit,
			struct fg_oid_list *out, struct fg_error *err)
{
	git_commit *c = NULL;
	unsigned i, n;
	int rc = lookup_commit(state, commit, &c, err);

	out->items = NULL;
	out->count = 0;
	if (rc < 0)
		return rc;
	n = git_commit_parentcount(c);
	out->items = calloc(n ? n : 1, sizeof(*out->items));
	if (!out->items) {
		git_commit_free(c);
		return fg_error_oom(err);
	}
	for (i = 0; i < n; i++)
		from_git_oid(&out->items[i], git_commit_parent_id(c, i));
	out->count = n;
	git_commit_free(c);
	return 0;
}

static int git2_tree(void *state, const struct fg_oid *commit, struct fg_oid *out,
		     struct fg_error *err)
{
	git_commit *c = NULL;
	int rc = lookup_commit(state, commit, &c, err);

	if (rc < 0)
		return rc;
	from_git_oid(out, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

static int git2_is_ancestor(void *state, const struct fg_oid *ancestor,
			    const struct fg_oid *descendant, bool *out,
			    struct fg_error *err)
{
	git_oid a, d;
	int rc;

	if ((rc = to_git_oid(&a, ancestor, err)) < 0 ||
	    (rc = to_git_oid(&d, descendant, err)) < 0)
		return rc;
	if (git_oid_equal(&a, &d)) {
		*out = true;
		return 0;
	}
	rc = git_graph_descendant_of(state, &d, &a);
	if (rc < 0)
		return git2_fail(err, "unable to walk the commit graph");
	*out = rc == 1;
	return 0;
}

static int push_walk_ends(git_revwalk *rw, const struct fg_walk *w,
			  struct fg_error *err)
{
	git_oid id;
	size_t i;
	int rc;

	for (i = 0; i < w->ntips; i++) {
		if ((rc = to_git_oid(&id, &w->tips[i], err)) < 0)
			return rc;
		if (git_revwalk_push(rw, &id) < 0)
			return git2_fail(err, "unable to start a walk of the commit graph");
	}
	if (!w->hide)
		return 0;
	if ((rc = to_git_oid(&id, w->hide, err)) < 0)
		return rc;
	if (git_revwalk_hide(rw, &id) < 0)
		return git2_fail(err, "unable to start a walk of the commit graph");
	return 0;
}

/* Calls fn for one commit of a walk, with its parents and tree when asked. */
static int visit(git_repository *repo, const struct fg_walk *w, const git_oid *id,
		 fg_walk_fn fn, void *payload, struct fg_error *err)
{
	struct fg_walk_commit c;
	git_commit *commit = NULL;
	unsigned i, n;
	int rc;

	memset(&c, 0, sizeof(c));
	from_git_oid(&c.id, id);
	if (!w->parents && !w->trees)
		return fn(payload, &c, err);
	if (git_commit_lookup(&commit, repo, id) < 0)
		return fg_error_set(err, FG_ENOTFOUND, "commit %.12s is not in the "
				    "repository", c.id.hex);
	n = git_commit_parentcount(commit);
	if (w->trees)
		from_git_oid(&c.tree, git_commit_tree_id(commit));
	if (w->parents && n && !(c.parents.items = calloc(n, sizeof(*c.parents.items)))) {
		git_commit_free(commit);
		return fg_error_oom(err);
	}
	for (i = 0; w->parents && i < n; i++)
		from_git_oid(&c.parents.items[c.parents.count++],
			     git_commit_parent_id(commit, i));
	git_commit_free(commit);
	rc = fn(payload, &c, err);
	fg_oid_list_release(&c.parents);
	return rc;
}

static int git2_walk(void *state, const struct fg_walk *w, fg_walk_fn fn,
		     void *payload, bool *truncated, struct fg_error *err)
{
	git_revwalk *rw = NULL;
	git_oid id;
	size_t seen = 0;
	int rc, step = 0;

	*truncated = false;
	if (git_revwalk_new(&rw, state) < 0)
		return git2_fail(err, "unable to walk the commit graph");
	if (w->first_parent)
		git_revwalk_simplify_first_parent(rw);
	rc = push_walk_ends(rw, w, err);
	while (rc == 0 && (step = git_revwalk_next(&id, rw)) == 0) {
		if (seen++ == w->max) {
			*truncated = true;
			break;
		}
		rc = visit(state, w, &id, fn, payload, err);
	}
	if (rc == 0 && step < 0 && step != GIT_ITEROVER)
		rc = git2_fail(err, "unable to walk the commit graph");
	git_revwalk_free(rw);
	return rc == 1 ? 0 : rc;
}

static int git2_symref_target(void *state, const char *refname, char **out,
			      struct fg_error *err)
{
	git_reference *ref = NULL, *resolved = NULL;
	int rc;

	*out = NULL;
	rc = git_reference_lookup(&ref, state, refname);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return 0;
	if (rc < 0)
		return git2_fail(err, "unable to read a ref");
	if (git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC) {
		/* the last ref of the chain; a dangling one names its target */
		if (git_reference_resolve(&resolved, ref) == 0)
			*out = fg_strdup(git_reference_name(resolved));
		else
			*out = fg_strdup(git_reference_symbolic_target(ref));
		rc = *out ? 0 : fg_error_oom(err);
	}
	git_reference_free(resolved);
	git_reference_free(ref);
	return rc;
}

static int add_tip(struct fg_branch_tips *tips, size_t *alloc, const char *name,
		   const git_oid *id)
{
	if (tips->count == *alloc) {
		size_t n = *alloc ? *alloc * 2 : 16;
		struct fg_branch_tip *items = realloc(tips->items, n * sizeof(*items));

		if (!items)
			return FG_ENOMEM;
		tips->items = items;
		*alloc = n;
	}
	tips->items[tips->count].name = fg_strdup(name);
	if (!tips->items[tips->count].name)
		return FG_ENOMEM;
	from_git_oid(&tips->items[tips->count].oid, id);
	tips->count++;
	return 0;
}

static int git2_branches(void *state, struct fg_branch_tips *out, struct fg_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	size_t alloc = 0;
	int rc = 0, step;

	out->items = NULL;
	out->count = 0;
	if (git_reference_iterator_glob_new(&it, state, "refs/heads/*") < 0)
		return git2_fail(err, "unable to list branches");
	while (rc == 0 && (step = git_reference_next(&ref, it)) == 0) {
		git_object *peeled = NULL;

		/* a branch pointing at a tag object counts as its commit */
		if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0 &&
		    add_tip(out, &alloc, git_reference_name(ref) + strlen("refs/heads/"),
			    git_object_id(peeled)) < 0)
			rc = fg_error_oom(err);
		git_object_free(peeled);
		git_reference_free(ref);
	}
	if (rc == 0 && step != GIT_ITEROVER)
		rc = git2_fail(err, "unable to list branches");
	git_reference_iterator_free(it);
	if (rc < 0)
		fg_branch_tips_release(out);
	return rc;
}

static void git2_free(void *state)
{
	git_repository_free(state);
	git_libgit2_shutdown();
}

static const struct fg_graph_ops git2_ops = {
	.peel_commit = git2_peel_commit,
	.parents = git2_parents,
	.tree = git2_tree,
	.is_ancestor = git2_is_ancestor,
	.walk = git2_walk,
	.symref_target = git2_symref_target,
	.branches = git2_branches,
	.free = git2_free,
};

int fg_graph_open_libgit2(struct fg_graph **out, const char *git_dir,
			  struct fg_error *err)
{
	git_repository *repo = NULL;
	int rc;

	*out = NULL;
	git_libgit2_init();
	if (git_dir) {
		rc = git_repository_open_ext(&repo, git_dir, GIT_REPOSITORY_OPEN_NO_SEARCH |
					     GIT_REPOSITORY_OPEN_BARE, NULL);
	} else {
		/* libgit2 1.5 refuses GIT_REPOSITORY_OPEN_FROM_ENV while these are
		 * set; a hook of a bare repository needs neither, and the
		 * quarantine comes through GIT_OBJECT_DIRECTORY and
		 * GIT_ALTERNATE_OBJECT_DIRECTORIES. */
		unsetenv("GIT_WORK_TREE");
		unsetenv("GIT_COMMON_DIR");
		rc = git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	}
	if (rc < 0) {
		rc = git2_fail(err, "unable to open the repository");
		git_libgit2_shutdown();
		return rc;
	}
	return fg_graph_new(out, &git2_ops, repo, err);
}
