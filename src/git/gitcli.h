/*
 * gitcli.h: running the `git` command line, for what Debian 12's libgit2
 * 1.5 cannot do (SHA-256 repositories).
 *
 * git is run directly from an argument vector, never through a shell, so
 * no pushed name or content is interpreted by anything but git itself. It
 * inherits the hook's environment (GIT_DIR and the quarantine's object
 * directories), plus the extra variables the caller names, and always runs
 * with GIT_NO_REPLACE_OBJECTS=1: replace refs are pushed content, and git
 * must never show fleetgate one object in place of another.
 *
 * Ownership rule: all arguments are borrowed; output is appended to the
 * caller's fg_buf.
 */
#ifndef FG_GITCLI_H
#define FG_GITCLI_H

#include <git2.h>

#include "buf.h"
#include "error.h"

/* Runs `git [--git-dir GIT_DIR] ARGS...` (args NULL-terminated)
 * with `extra_env` ("NAME=value" strings, NULL-terminated, may be NULL)
 * added to the environment. Appends stdout to `out` (may be NULL: thrown
 * away), bounded; *status is git's exit status. Returns 0 when git ran. */
int fg_git_run(const char *git_dir, const char *const *args,
	       const char *const *extra_env, struct fg_buf *out, int *status,
	       struct fg_error *err);

/* Whether the repository declares extensions.objectformat = sha256.
 * git_dir NULL: $GIT_DIR, else ".". */
int fg_repo_uses_sha256(const char *git_dir);

/* Opens git_dir (no search upwards) with libgit2 into *out, which the
 * caller frees with git_repository_free. A SHA-256 repository is refused
 * before libgit2 sees it (FG_EINVALID, saying so); a failed open is
 * reported as fg_git_open_failed does. Returns 0 or the code. */
int fg_git_open(git_repository **out, const char *git_dir, struct fg_error *err);

/* Fills err after libgit2 failed to open git_dir: when another user owns
 * it (libgit2 and git refuse that, after git's safe.directory), says to run
 * as that user (FG_EPERM); else libgit2's reason (FG_ENOTFOUND). Returns
 * the code. */
int fg_git_open_failed(struct fg_error *err, const char *git_dir);

#endif
