/*
 * tree_source.h: read-only access to a fleet repository's files, either from
 * a directory on disk (a work tree) or from one git commit (libgit2), so the
 * fleet checks run the same code on both.
 *
 * It owns the path rules that differ between the two: what counts as a
 * regular file, a directory, a symlink or a submodule, and refusing an
 * oversized file from its size before its content is read (stat(2) for a
 * directory, git_odb_read_header for a blob). It never follows a symlink,
 * never writes, and never interprets the content it reads.
 *
 * Ownership rule: a struct fg_source returned through `out` belongs to the
 * caller and is freed with fg_source_free; a git source borrows the
 * git_repository it was opened on (the caller keeps it open for the source's
 * lifetime); bytes returned by fg_source_read are the caller's to free().
 */
#ifndef FG_TREE_SOURCE_H
#define FG_TREE_SOURCE_H

#include <git2.h>
#include <stddef.h>

#include "error.h"

enum fg_entry_kind {
	FG_ENTRY_FILE = 0,   /* regular file / blob (executable or not) */
	FG_ENTRY_DIR,        /* directory / tree */
	FG_ENTRY_SYMLINK,    /* symbolic link, never followed */
	FG_ENTRY_SUBMODULE,  /* gitlink, or a directory holding a .git */
	FG_ENTRY_OTHER       /* device node, fifo, socket */
};

struct fg_source;

/* Called once per entry below the walked directory, depth first. `path` is
 * relative to the source root ("devices/site/x.yaml"), borrowed for the
 * call; `id` is the entry's object id in a git source, NULL otherwise. Directories are reported before their content; returning 1 from a
 * directory's call skips its content, a negative value stops the walk and is
 * returned by fg_source_walk. */
typedef int (*fg_source_walk_cb)(const char *path, enum fg_entry_kind kind,
				 const git_oid *id, void *payload);

/* Opens the directory `root`. FG_ENOTFOUND when it is not a directory. */
int fg_source_open_dir(struct fg_source **out, const char *root,
		       struct fg_error *err);

/* Opens the tree of `commit` (a commit or tree id) in `repo`.
 * FG_ENOTFOUND when it does not exist. */
int fg_source_open_git(struct fg_source **out, git_repository *repo,
		       const git_oid *commit, struct fg_error *err);

/* Opens the tree of revision `rev` ("main", "HEAD~1", an id). */
int fg_source_open_rev(struct fg_source **out, git_repository *repo,
		       const char *rev, struct fg_error *err);

/* The kind of the entry at `path`: 0, or FG_ENOTFOUND when it is missing. */
int fg_source_kind(struct fg_source *src, const char *path,
		   enum fg_entry_kind *kind, struct fg_error *err);

/* Reads the regular file at `path` into new memory (*data, NUL-terminated,
 * *len bytes). Returns FG_ENOTFOUND when missing, FG_EINVALID when it is not
 * a regular file, FG_ELIMIT when larger than max_bytes (decided from the size
 * alone, without reading the content), FG_EIO/FG_ENOMEM otherwise. */
int fg_source_read(struct fg_source *src, const char *path, size_t max_bytes,
		   char **data, size_t *len, struct fg_error *err);

/* Walks everything below directory `dir` ("" for the root; a git source
 * never reports ".git", a directory source skips the root's ".git").
 * FG_ENOTFOUND when `dir` is missing; a callback's negative value otherwise. */
int fg_source_walk(struct fg_source *src, const char *dir, fg_source_walk_cb cb,
		   void *payload, struct fg_error *err);

/* Reads blob `id` of `repo` like fg_source_read (size checked with
 * git_odb_read_header first); `path` is used in messages only. */
int fg_source_read_blob(git_repository *repo, const git_oid *id,
			const char *path, size_t max_bytes, char **data,
			size_t *len, struct fg_error *err);

/* The repository and tree of a git source, NULL for a directory source
 * (borrowed). */
git_repository *fg_source_repo(const struct fg_source *src);
const git_tree *fg_source_tree(const struct fg_source *src);

/* What a git tree entry's file mode makes of it (a gitlink is a submodule,
 * a mode-120000 entry a symlink). */
enum fg_entry_kind fg_source_kind_of_mode(git_filemode_t mode);

void fg_source_free(struct fg_source *src);

#endif
