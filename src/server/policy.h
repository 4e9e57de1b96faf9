/*
 * policy.h: the server policy file, owned by the server admin.
 *
 * The policy is read from a server-side path only (git config
 * fleetgate.policy, else $sysconfdir/fleetgate/policy.yaml), never from
 * pushed content. Loading fails closed, in the manner of doas: an unknown
 * key, a wrong type, a missing file or a file that others may write is an
 * error, and the hooks reject every push while it stands.
 *
 * Ownership rule: a struct fg_policy returned through `out` belongs to the
 * caller and is freed with fg_policy_free; every string and array inside it
 * belongs to the policy.
 */
#ifndef FG_POLICY_H
#define FG_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct fg_strlist {
	char **items;
	size_t count;
};

struct fg_branch_rule {
	char *name;                    /* exact branch name, e.g. "canary" */
	struct fg_strlist promote_from;/* branch names or fnmatch patterns */
	struct fg_strlist pushers;     /* names and "@group"; empty: anyone */
	bool via_merge_request;
};

struct fg_group {
	char *name;
	struct fg_strlist members;
};

enum fg_validate_scope {
	FG_VALIDATE_ALL = 0,   /* every updated branch */
	FG_VALIDATE_PROTECTED  /* only branches listed under `branches` */
};

/* Which secrets a branch's rollout may resolve (`secrets:` in the policy). */
struct fg_secret_rule {
	char *branch;               /* exact branch name */
	bool all;                   /* "*": every secret */
	struct fg_strlist names;    /* else these secret names */
};

struct fg_mender_settings {
	char *url;
	char *token_file;
	char *username_file;
	char *password_file;
	char *ca_file;
	long timeout_seconds;  /* 0: the client's default */
};

struct fg_policy {
	char *path;
	struct fg_branch_rule *branches;
	size_t branch_count;
	struct fg_group *groups;
	size_t group_count;
	struct fg_strlist bypass;
	enum fg_validate_scope validate;
	struct fg_mender_settings mender;
	char *secrets_dir;
	char *spool_dir;
	char *log_file;
	bool log_syslog;
	struct fg_strlist skip_rollout_allowed;
	char *subscriptions_from;  /* rollout.subscriptions_from; NULL: the top
				    * of the promotion chain */
	struct fg_secret_rule *secrets;
	size_t secret_count;
	bool allow_replace_refs; /* pushes to refs/replace/ (rule replace-ref) */
	/* `secret_words`: more words (lower-case letters and digits) that
	 * make a configuration key read like a secret (fleetgate-fleet(5)) */
	struct fg_strlist secret_words;
	long follow_timeout;       /* rollout.follow_timeout, seconds: how long
				    * the worker follows a rollout before its
				    * record says timed-out (0: at the first
				    * look); default FG_POLICY_FOLLOW_TIMEOUT */
};

#define FG_POLICY_FOLLOW_TIMEOUT (24L * 3600)

/* Parses a duration such as 30s, 15m, 24h or 2d (at most a year) into
 * seconds. FG_EINVALID otherwise. */
int fg_policy_parse_duration(long *out, const char *text);

/* Loads and checks the policy at `path`. Refuses (FG_EPERM) a file or
 * directory writable by group or others or owned by another user than root
 * or the current user. Returns 0, or FG_ENOTFOUND / FG_EPERM / FG_EINVALID
 * (naming file:line:column and the key) / FG_ENOMEM with err set. */
int fg_policy_load(struct fg_policy **out, const char *path, struct fg_error *err);

/* Parses policy text already read; `path` is used in messages only. The
 * ownership and mode checks of fg_policy_load are not done here. */
int fg_policy_parse(struct fg_policy **out, const char *path, const char *data,
		    size_t len, struct fg_error *err);

/* The rule for `branch` (a short name such as "main"), or NULL when the
 * branch is not protected. Borrowed from the policy. */
const struct fg_branch_rule *fg_policy_branch(const struct fg_policy *policy,
					      const char *branch);

/* Whether `user` matches `list` (names and "@group" entries). A NULL or
 * empty user never matches. */
bool fg_policy_user_in(const struct fg_policy *policy,
		       const struct fg_strlist *list, const char *user);

/* Whether `branch` matches one of rule->promote_from (fnmatch patterns). */
bool fg_policy_promotes_from(const struct fg_branch_rule *rule, const char *branch);

/* Whether rollouts of `branch` may happen at all (rule `rollout-branches`):
 * it is protected, or some promote_from names it literally (not through a
 * pattern), like develop. feature/x never is, unless listed literally. */
bool fg_policy_rolls_out(const struct fg_policy *policy, const char *branch);

/* The subscriptions branch: the only branch whose fleet files say which
 * device follows which branch. rollout.subscriptions_from when set (the
 * parser made sure it is protected), else the top of the promotion chain:
 * the one protected branch no other protected branch promotes from. NULL
 * when there is no single top (then only Mender tags subscribe devices).
 * Borrowed from the policy. */
const char *fg_policy_subscriptions_branch(const struct fg_policy *policy);

/* Whether a rollout of `branch` may resolve secret `name` (policy key
 * `secrets`). A branch the key does not list may resolve every secret when
 * it is protected and none otherwise. */
bool fg_policy_secret_allowed(const struct fg_policy *policy, const char *branch,
			      const char *name);

/* Frees the policy; accepts NULL. */
void fg_policy_free(struct fg_policy *policy);

#endif
