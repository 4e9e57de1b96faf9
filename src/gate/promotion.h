/*
 * promotion.h: the promotion rules for a push to a protected branch.
 *
 * Promotion soundness: a protected branch B takes only states its
 * `promote_from` sources actually had. A protected source (one listed under
 * `branches`) had exactly the commits of its first-parent chain; an
 * unprotected source (develop, feature/x: the entry points, whose content
 * the fleet check judges) offers every commit reachable from its tip. Every
 * commit an update adds to B's first-parent chain (new tip back to what the
 * old tip reaches) must be such a source commit, or a merge with exactly two
 * parents whose second parent is one and whose tree is that parent's tree.
 * Otherwise: octopus-merge (more than two parents), modified-merge (the
 * tree differs) or direct-commit. B is never deleted or rewound, is created
 * only at a source commit (or, in the first push into a repository without
 * branches, at the commit its source is created at in the same push), and
 * may be restricted to named pushers and to merges made by the forge.
 *
 * For any ref: pushes under refs/replace/ are replace-ref unless the policy
 * allows them; a ref that is a symbolic ref on the server is judged as the
 * branch it points to (symbolic-ref when that is not a branch).
 *
 * The work is linear in the commits a push adds: one walk of B's added
 * chain and one bounded walk per source (one for all unprotected sources),
 * never a graph question per commit.
 *
 * Every question is asked of the refs as they were before the push (the
 * hook runs before git moves any ref), so a push cannot smuggle a commit
 * into a source branch and promote it in the same breath.
 *
 * This module decides; it never prints. The caller formats verdicts.
 *
 * Errors: fg_promotion_init and fg_promotion_check_update return 0 or a
 * negative FG_E* code with err set (FG_ENOTFOUND for a missing object,
 * FG_ELIMIT when a source's history is longer than max_source_walk, FG_EIO
 * for a graph error, FG_ENOMEM); the caller must then reject.
 *
 * Ownership rule: the context borrows the graph, the policy and the push
 * (they must outlive it) and owns its snapshot of branch tips, freed by
 * fg_promotion_release.
 */
#ifndef FG_PROMOTION_H
#define FG_PROMOTION_H

#include <stdbool.h>

#include "error.h"
#include "graph.h"
#include "hook_input.h"
#include "policy.h"

enum fg_rule {
	FG_RULE_OK = 0,
	FG_RULE_DELETE_PROTECTED,
	FG_RULE_NON_FAST_FORWARD,
	FG_RULE_DIRECT_COMMIT,
	FG_RULE_MODIFIED_MERGE,
	FG_RULE_CREATE_OUTSIDE_PROMOTION,
	FG_RULE_PUSHER_NOT_ALLOWED,
	FG_RULE_MERGE_REQUEST_REQUIRED,
	FG_RULE_OCTOPUS_MERGE,
	FG_RULE_REPLACE_REF,
	FG_RULE_SYMBOLIC_REF
};

struct fg_verdict {
	enum fg_rule rule;     /* FG_RULE_OK: accepted */
	bool bypassed;         /* rule broken, but the pusher may break glass */
	bool protected_branch; /* the ref is a branch listed in the policy */
	struct fg_oid at;      /* the commit the verdict is about */
	char target[256];      /* the branch a pushed symbolic ref points to,
				* judged in its place; "" for other refs */
	char explanation[512];
	char hint[256];
};

struct fg_promotion {
	struct fg_graph *graph;
	const struct fg_policy *policy;
	const char *pusher;      /* NULL when the server named nobody */
	bool forge_merge;        /* the forge performs this push (merge request) */
	struct fg_branch_tips tips; /* branch tips before the push */
	size_t max_chain;        /* first-parent commits examined per update */
	size_t max_source_walk;  /* commits one walk of the sources visits */
	/* The whole push (borrowed, may be NULL): only the first push into a
	 * repository without branches looks at the other refs it creates. */
	const struct fg_ref_updates *push;
};

/* Takes the snapshot of branch tips. Returns 0 or an FG_E* code. */
int fg_promotion_init(struct fg_promotion *ctx, struct fg_graph *graph,
		      const struct fg_policy *policy, const char *pusher,
		      bool forge_merge, struct fg_error *err);

/* Judges one ref update into *out. Returns 0 when a verdict was reached
 * (accepting or not), or a negative FG_E* code when it could not decide
 * (missing object, graph error): the caller must then reject. */
int fg_promotion_check_update(struct fg_promotion *ctx,
			      const struct fg_ref_update *update,
			      struct fg_verdict *out, struct fg_error *err);

/* The stable rule name used in messages and logs ("direct-commit"). */
const char *fg_rule_name(enum fg_rule rule);

void fg_promotion_release(struct fg_promotion *ctx);

#endif
