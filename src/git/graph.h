/*
 * graph.h: the few questions the promotion rules ask of a repository's
 * commit graph, behind one interface with two back ends:
 *   - libgit2 (fg_graph_open_libgit2), the fast path;
 *   - the git command line (fg_graph_open_git_cli), for SHA-256
 *     repositories, which Debian 12's libgit2 1.5 cannot open.
 * Tests supply a third, in-memory back end through struct fg_graph_ops.
 *
 * Object ids travel as lowercase hex (40 or 64 digits) in struct fg_oid, so
 * the rules never depend on a hash function.
 *
 * Ownership rule: a struct fg_graph returned through `out` belongs to the
 * caller and is freed with fg_graph_free, which also frees the back end's
 * state. Lists filled by the functions below belong to the caller and are
 * freed with the matching *_release.
 */
#ifndef FG_GRAPH_H
#define FG_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define FG_OID_HEX_MAX 64

struct fg_oid {
	char hex[FG_OID_HEX_MAX + 1];
};

struct fg_oid_list {
	struct fg_oid *items;
	size_t count;
};

struct fg_branch_tip {
	char *name;        /* short name: "main", "feature/x" */
	struct fg_oid oid; /* the commit it points to, tags peeled */
};

struct fg_branch_tips {
	struct fg_branch_tip *items;
	size_t count;
};

/*
 * One walk of the commit graph: the commits reachable from `tips`
 * (following first parents only when `first_parent`), minus every commit
 * reachable from `hide` (NULL: hide nothing), at most `max` of them, in no
 * promised order. `parents` and `trees` ask for each commit's parents and
 * root tree as well, read in the same pass.
 */
struct fg_walk {
	const struct fg_oid *tips; /* borrowed */
	size_t ntips;
	const struct fg_oid *hide; /* borrowed, may be NULL */
	bool first_parent;
	bool parents;
	bool trees;
	size_t max;
};

#define FG_WALK_INIT { .tips = NULL, .ntips = 0, .hide = NULL, \
		       .first_parent = false, .parents = false, .trees = false, \
		       .max = 0 }

/* One commit a walk visits; everything in it is borrowed for the call. */
struct fg_walk_commit {
	struct fg_oid id;
	struct fg_oid tree;          /* all "" unless the walk asked for trees */
	struct fg_oid_list parents;  /* empty unless it asked for parents */
};

/* Called once per commit a walk visits. Returns 0 to go on, 1 to stop the
 * walk, or a negative FG_E* code (err set) to abort it. */
typedef int (*fg_walk_fn)(void *payload, const struct fg_walk_commit *c,
			  struct fg_error *err);

/* Each operation returns 0 or a negative FG_E* code with err set. */
struct fg_graph_ops {
	/* Resolves `id` to a commit, peeling annotated tags. FG_ENOTFOUND when
	 * the object is missing, FG_EINVALID when it is not a commit. */
	int (*peel_commit)(void *state, const struct fg_oid *id,
			   struct fg_oid *out, struct fg_error *err);
	/* The parents of a commit, first parent first. */
	int (*parents)(void *state, const struct fg_oid *commit,
		       struct fg_oid_list *out, struct fg_error *err);
	/* The root tree of a commit. */
	int (*tree)(void *state, const struct fg_oid *commit, struct fg_oid *out,
		    struct fg_error *err);
	/* Whether `ancestor` is reachable from `descendant` (or equal to it). */
	int (*is_ancestor)(void *state, const struct fg_oid *ancestor,
			   const struct fg_oid *descendant, bool *out,
			   struct fg_error *err);
	/* Runs one walk (struct fg_walk), calling fn per commit: one pass over
	 * the graph (one `git rev-list` process), never a query per commit.
	 * *truncated is set when more than w->max commits were there to
	 * visit; fn then saw at most w->max of them. fn stopping the walk
	 * is not an error. */
	int (*walk)(void *state, const struct fg_walk *w, fg_walk_fn fn,
		    void *payload, bool *truncated, struct fg_error *err);
	/* When `refname` is a symbolic ref in the repository, *out is the
	 * full name of the ref it finally points to (new memory the caller
	 * frees); else *out is NULL. */
	int (*symref_target)(void *state, const char *refname, char **out,
			     struct fg_error *err);
	/* Every local branch (refs/heads/...) with its commit. */
	int (*branches)(void *state, struct fg_branch_tips *out, struct fg_error *err);
	void (*free)(void *state);
};

struct fg_graph {
	const struct fg_graph_ops *ops;
	void *state;
};

/* Wraps ops/state (state is freed by ops->free in fg_graph_free). */
int fg_graph_new(struct fg_graph **out, const struct fg_graph_ops *ops, void *state,
		 struct fg_error *err);

/* Opens the repository of a running hook. The hook's environment (GIT_DIR,
 * the quarantine's GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES)
 * decides what is visible, so pushed objects can be read before the refs
 * move. git_dir may be NULL to use $GIT_DIR or the current directory. */
int fg_graph_open_libgit2(struct fg_graph **out, const char *git_dir,
			  struct fg_error *err);

/* Same questions answered by running `git` (never a shell), which inherits
 * the hook's environment and so also sees the quarantine. */
int fg_graph_open_git_cli(struct fg_graph **out, const char *git_dir,
			  struct fg_error *err);

/* Opens with libgit2, or with the git command line when the repository uses
 * an object format libgit2 cannot read (SHA-256). */
int fg_graph_open(struct fg_graph **out, const char *git_dir, struct fg_error *err);

void fg_graph_free(struct fg_graph *graph);

/* Hex helpers: is `s` 40 or 64 lowercase hex digits; is it all zeros. */
bool fg_oid_parse(struct fg_oid *out, const char *s, size_t len);
bool fg_oid_is_zero(const struct fg_oid *oid);
bool fg_oid_equal(const struct fg_oid *a, const struct fg_oid *b);

void fg_oid_list_release(struct fg_oid_list *list);
void fg_branch_tips_release(struct fg_branch_tips *tips);

#endif
