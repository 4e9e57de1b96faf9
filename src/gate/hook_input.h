/*
 * hook_input.h: what git hands a receive hook, parsed as untrusted data.
 *
 * git writes "<old-id> SP <new-id> SP <refname> LF" per updated ref to the
 * hook's stdin, and push options through GIT_PUSH_OPTION_COUNT and
 * GIT_PUSH_OPTION_<n>. The forge (Gitea, GitLab) or the web server tells who
 * pushes through environment variables. Nothing here is ever executed or
 * passed to a shell.
 *
 * Ownership rule: lists filled through `out` belong to the caller and are
 * released with their *_release function; the strings returned by
 * fg_hook_pusher are borrowed from the environment.
 */
#ifndef FG_HOOK_INPUT_H
#define FG_HOOK_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "graph.h"

/* git's own limit is far lower; this only stops a runaway input. */
#define FG_HOOK_MAX_UPDATES 100000
#define FG_HOOK_MAX_REFNAME 4096
#define FG_HOOK_MAX_PUSH_OPTIONS 100
#define FG_HOOK_MAX_PUSH_OPTION_LEN 4096

struct fg_ref_update {
	char *refname;
	struct fg_oid old_id; /* all zeros: the ref is created */
	struct fg_oid new_id; /* all zeros: the ref is deleted */
};

struct fg_ref_updates {
	struct fg_ref_update *items;
	size_t count;
};

struct fg_push_options {
	char **items;
	size_t count;
};

/* Parses the hook's stdin. Every line must be well formed: two ids of the
 * same length (40 or 64 hex digits), a refname under refs/ without control
 * characters. Returns 0, or FG_EINVALID naming the line, FG_ELIMIT, FG_ENOMEM. */
int fg_hook_parse_updates(struct fg_ref_updates *out, const char *data, size_t len,
			  struct fg_error *err);

/* Reads all of a file descriptor (stdin) up to max bytes into new memory. */
int fg_hook_read_fd(char **out, size_t *len, int fd, size_t max, struct fg_error *err);

/* Reads push options from an environment lookup function (getenv in the
 * hooks, a table in tests). Options longer than the limit or more than the
 * limit in number are refused with FG_ELIMIT. */
int fg_hook_parse_push_options(struct fg_push_options *out,
			       const char *(*lookup)(const char *name),
			       struct fg_error *err);

/* Whether `name` was given as a push option (exactly, or as "name=..."). */
bool fg_push_options_has(const struct fg_push_options *opts, const char *name);

/* The pusher named by the forge or web server, in the documented order
 * GITEA_PUSHER_NAME, GL_USERNAME, GITHUB_USER_LOGIN, REMOTE_USER, GL_USER;
 * NULL when none is set or it is empty. */
const char *fg_hook_pusher(const char *(*lookup)(const char *name));

/* Whether the push is a merge performed by the forge itself (a merge
 * request): Gitea sets a non-zero GITEA_PR_ID, GitLab sets GL_PROTOCOL=web. */
bool fg_hook_is_forge_merge(const char *(*lookup)(const char *name));

/* Whether messages must carry GitLab's "GL-HOOK-ERR: " prefix (GL_ID set). */
bool fg_hook_is_gitlab(const char *(*lookup)(const char *name));

/* "refs/heads/x" -> "x"; NULL for anything that is not a branch. Borrowed. */
const char *fg_ref_branch_name(const char *refname);

void fg_ref_updates_release(struct fg_ref_updates *updates);
void fg_push_options_release(struct fg_push_options *opts);

#endif
