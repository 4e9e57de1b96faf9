/*
 * tree_export.h: a commit's files written out to a private temporary
 * folder by git itself (read-tree + checkout-index into a private index),
 * so the work-tree checks can judge a commit libgit2 cannot read
 * (SHA-256 repositories). Symlinks stay symlinks; nothing is executed.
 * git runs through fg_git_run (gitcli.h), so replace refs are ignored: the
 * files exported are the commit's own, never a pushed replacement's.
 *
 * Ownership rule: the folder named by *out belongs to the caller, who
 * removes it and frees the string with fg_tree_export_remove.
 */
#ifndef FG_TREE_EXPORT_H
#define FG_TREE_EXPORT_H

#include "error.h"

/* Exports the tree of `rev` (a full object id) of the repository git_dir
 * (NULL: the hook's environment) into a new folder under $TMPDIR or /tmp.
 * *out names the folder holding the files. Returns 0 or FG_EIO. */
int fg_tree_export(const char *git_dir, const char *rev, char **out,
		   struct fg_error *err);

/* Removes what fg_tree_export made and frees `dir`; accepts NULL. */
void fg_tree_export_remove(char *dir);

#endif
