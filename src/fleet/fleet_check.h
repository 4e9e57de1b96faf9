/*
 * fleet_check.h: every rule a fleet repository must follow (format version 1,
 * fleetgate-fleet(5)), applied to a work tree, a commit, or only the part of
 * a commit a push changed.
 *
 * Rules: fleet.yaml and each device file against the built-in format
 * schemas; configuration values are strings of at most 4096 characters or
 * {secret: NAME} (a YAML number or boolean is refused with a hint to quote
 * it); a key that looks like a secret never has a literal value; a device
 * file is named <mender-device-id>.yaml, lies below devices/, and its id is
 * unique there; nothing else (other files, symlinks, submodules) lives below
 * devices/; default_branch and subscribed_branch name a known branch; the
 * fleet's configuration schema, if any, accepts every device's merged
 * configuration.
 *
 * This module never reads the server policy, never prints and never decides
 * what a finding means for a push: it appends fg_diags (path, line, column,
 * rule name in `keyword`, message, hint) and the caller decides.
 *
 * Ownership rule: options and everything they point to are borrowed for the
 * call; findings are appended to the caller's fg_diags.
 */
#ifndef FG_FLEET_CHECK_H
#define FG_FLEET_CHECK_H

#include <git2.h>
#include <stdbool.h>

#include "diag.h"
#include "error.h"
#include "tree_source.h"
#include "yaml_load.h"

struct fg_schema_budget; /* schema.h */

/* Returns 1 when `branch` exists (e.g. a ref refs/heads/<branch>), else 0. */
typedef int (*fg_branch_exists_fn)(const char *branch, void *payload);

struct fg_fleet_check_opts {
	/* Branch names the policy knows (may be NULL/0). */
	const char *const *known_branches;
	size_t known_branch_count;
	/* Asked for a branch not in known_branches (may be NULL). */
	fg_branch_exists_fn branch_exists;
	void *branch_payload;
	/* When neither of the above is given the branch rule is skipped
	 * (an offline check outside any repository). */

	/* Where schemas/configuration.schema.* is read from; NULL means the
	 * checked tree itself. The gate passes the target branch's commit
	 * before the push, so a push cannot loosen the rules that judge it. */
	struct fg_source *schema_source;

	struct fg_yaml_limits limits; /* per file */

	/* The work the fleet's configuration schema may cost (regular
	 * expressions, evaluations), shared by every check that uses these
	 * opts (the gate: one per push); NULL gives each check a fresh
	 * FG_SCHEMA_BUDGET_INIT. A spent budget is a finding of rule
	 * regex-budget or schema-budget in the schema file and ends the
	 * schema's part of the check. */
	struct fg_schema_budget *schema_budget;

	/* Words the server policy adds to the built-in list of
	 * fg_fleet_key_is_secret (`secret_words`); may be NULL/0. */
	const char *const *secret_words;
	size_t secret_word_count;
};

#define FG_FLEET_CHECK_OPTS_INIT { .known_branches = NULL, .known_branch_count = 0, \
	.branch_exists = NULL, .branch_payload = NULL, .schema_source = NULL, \
	.limits = FG_YAML_LIMITS_INIT, .schema_budget = NULL, .secret_words = NULL, \
	.secret_word_count = 0 }

/* Findings a check keeps; the rest are counted in out->dropped. */
#define FG_FLEET_MAX_FINDINGS 100

/* Checks the whole fleet in `src`. Returns 0 when it is valid, 1 when
 * findings were appended to `out` (at most out->max, FG_FLEET_MAX_FINDINGS
 * when the caller left it 0; the others are counted in out->dropped), or a negative FG_E* code (I/O, out of
 * memory, an unresolvable schema) with err set; a caller deciding a push
 * treats a negative result, and out->failed, as a rejection. */
int fg_fleet_check(struct fg_source *src, const struct fg_fleet_check_opts *opts,
		   struct fg_diags *out, struct fg_error *err);

/*
 * The gate's entry point: checks the fleet at commit `new_tip` of `repo`.
 *
 * old_tip_or_NULL is the commit to compare with: the branch's old tip, or,
 * for a new branch, the tip of the branch it is based on/targets. Only the
 * entries that differ from it are re-checked (the trees are compared by id,
 * descending only into subtrees that differ, so a one-file push on a
 * 100,000-device repository reads a handful of objects); when fleet.yaml or
 * anything under schemas/ changed, or old_tip_or_NULL is NULL, the whole
 * fleet is checked. What did not change is trusted: old_tip was accepted.
 *
 * schema_commit_or_NULL names the commit whose schemas/configuration.schema.*
 * judges the push (the target branch before the push); NULL uses new_tip's
 * own (or opts->schema_source when set).
 *
 * opts may be NULL (defaults; a NULL branch_exists then checks branches
 * against refs/heads/ of `repo`). Same return values as fg_fleet_check.
 */
int fg_fleet_check_push(git_repository *repo, const git_oid *old_tip_or_NULL,
			const git_oid *new_tip, const git_oid *schema_commit_or_NULL,
			const struct fg_fleet_check_opts *opts,
			struct fg_diags *out, struct fg_error *err);

/* A ready-made fg_branch_exists_fn: payload is a git_repository *; a branch
 * exists when refs/heads/<branch> or refs/remotes/<any>/<branch> does. */
int fg_fleet_branch_in_repo(const char *branch, void *payload);

/* Whether a configuration key reads like a secret (rule literal-secret):
 * the key is split into parts at '_', '-', '.' and camelCase, and a part
 * that holds password, passwd, passphrase, secret, token, credential,
 * private, apikey or privkey, that is key, keys, pwd, pass, pin, psk or puk,
 * that ends in sshkey, accesskey, privatekey (and the other "...key" words
 * of fleetgate-fleet(5)), or that is one of opts->secret_words (may be
 * NULL) makes it one. "keyboard_layout", "monkey", "spinner" are not. */
bool fg_fleet_key_is_secret(const char *key, const struct fg_fleet_check_opts *opts);

#endif
