/*
 * promotion.h: the promotion rules for a push to a protected branch.
 *
 * A protected branch B takes commits only from its `promote_from`
 * branches, unmodified: every commit an update adds to B's first-parent
 * chain is either already reachable from a source branch (a fast-forward
 * promotion) or a merge onto B whose tree equals the tree of a parent that
 * is reachable from a source branch. B is never deleted or rewound, is
 * created only at a commit of a source branch, and may be restricted to
 * named pushers and to merges made by the forge.
 *
 * Every question is asked of the refs as they were before the push (the
 * hook runs before git moves any ref), so a push cannot smuggle a commit
 * into a source branch and promote it in the same breath.
 *
 * This module decides; it never prints. The caller formats verdicts.
 *
 * Ownership rule: the context borrows the graph and the policy (they must
 * outlive it) and owns its snapshot of branch tips, freed by
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
	FG_RULE_MERGE_REQUEST_REQUIRED
};

struct fg_verdict {
	enum fg_rule rule;     /* FG_RULE_OK: accepted */
	bool bypassed;         /* rule broken, but the pusher may break glass */
	bool protected_branch; /* the ref is a branch listed in the policy */
	struct fg_oid at;      /* the commit the verdict is about */
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
