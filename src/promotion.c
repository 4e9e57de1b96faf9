#include "promotion.h"
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_CHAIN 10000

static void set_verdict(struct fg_verdict *v, enum fg_rule rule,
			const struct fg_oid *at, const char *hint,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void set_verdict(struct fg_verdict *v, enum fg_rule rule,
			const struct fg_oid *at, const char *hint,
			const char *fmt, ...)
{
	va_list ap;

	v->rule = rule;
	if (at)
		v->at = *at;
	va_start(ap, fmt);
	vsnprintf(v->explanation, sizeof(v->explanation), fmt, ap);
	va_end(ap);
	snprintf(v->hint, sizeof(v->hint), "%s", hint);
}

const char *fg_rule_name(enum fg_rule rule)
{
	switch (rule) {
	case FG_RULE_OK: return "ok";
	case FG_RULE_DELETE_PROTECTED: return "delete-protected";
	case FG_RULE_NON_FAST_FORWARD: return "non-fast-forward";
	case FG_RULE_DIRECT_COMMIT: return "direct-commit";
	case FG_RULE_MODIFIED_MERGE: return "modified-merge";
	case FG_RULE_CREATE_OUTSIDE_PROMOTION: return "create-outside-promotion";
	case FG_RULE_PUSHER_NOT_ALLOWED: return "pusher-not-allowed";
	case FG_RULE_MERGE_REQUEST_REQUIRED: return "merge-request-required";
	}
	return "unknown";
}

int fg_promotion_init(struct fg_promotion *ctx, struct fg_graph *graph,
		      const struct fg_policy *policy, const char *pusher,
		      bool forge_merge, struct fg_error *err)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->graph = graph;
	ctx->policy = policy;
	ctx->pusher = pusher;
	ctx->forge_merge = forge_merge;
	ctx->max_chain = DEFAULT_MAX_CHAIN;
	return graph->ops->branches(graph->state, &ctx->tips, err);
}

void fg_promotion_release(struct fg_promotion *ctx)
{
	fg_branch_tips_release(&ctx->tips);
}

/* The source branches as named in hints: "main", "develop or feature/x". */
static void describe_sources(const struct fg_branch_rule *rule, char *out, size_t size)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	for (i = 0; i < rule->promote_from.count; i++)
		fg_buf_printf(&b, "%s%s", i == 0 ? "" :
			      i + 1 == rule->promote_from.count ? " or " : ", ",
			      rule->promote_from.items[i]);
	snprintf(out, size, "%s", fg_buf_cstr(&b));
	fg_buf_release(&b);
}

/*
 * Whether `commit` is reachable from a source branch of `rule` (other than
 * `branch` itself); *source names the first such branch (borrowed).
 */
static int reachable_from_source(struct fg_promotion *ctx,
				 const struct fg_branch_rule *rule,
				 const struct fg_oid *commit, const char **source,
				 bool *out, struct fg_error *err)
{
	size_t i;
	int rc;

	*out = false;
	for (i = 0; i < ctx->tips.count; i++) {
		const struct fg_branch_tip *tip = &ctx->tips.items[i];

		if (!strcmp(tip->name, rule->name) ||
		    !fg_policy_promotes_from(rule, tip->name))
			continue;
		rc = ctx->graph->ops->is_ancestor(ctx->graph->state, commit, &tip->oid,
						  out, err);
		if (rc < 0)
			return rc;
		if (*out) {
			*source = tip->name;
			return 0;
		}
	}
	return 0;
}

/*
 * Rule 2b: `commit` is a merge onto the branch whose tree is the tree of a
 * parent (other than the first) that a source branch already contains.
 * Sets *kind to FG_RULE_OK, FG_RULE_MODIFIED_MERGE (a source parent exists
 * but the tree differs) or FG_RULE_DIRECT_COMMIT (no parent from a source).
 */
static int judge_merge(struct fg_promotion *ctx, const struct fg_branch_rule *rule,
		       const struct fg_oid *commit, const struct fg_oid_list *parents,
		       enum fg_rule *kind, const char **source, struct fg_error *err)
{
	struct fg_oid tree, parent_tree;
	size_t i;
	bool reachable;
	int rc;

	*kind = FG_RULE_DIRECT_COMMIT;
	if (parents->count < 2)
		return 0;
	rc = ctx->graph->ops->tree(ctx->graph->state, commit, &tree, err);
	for (i = 1; rc == 0 && i < parents->count; i++) {
		rc = reachable_from_source(ctx, rule, &parents->items[i], source,
					   &reachable, err);
		if (rc < 0 || !reachable)
			continue;
		rc = ctx->graph->ops->tree(ctx->graph->state, &parents->items[i],
					   &parent_tree, err);
		if (rc == 0 && fg_oid_equal(&tree, &parent_tree)) {
			*kind = FG_RULE_OK;
			return 0;
		}
		*kind = FG_RULE_MODIFIED_MERGE;
	}
	return rc;
}

static void reject_commit(struct fg_verdict *v, const struct fg_branch_rule *rule,
			  enum fg_rule kind, const struct fg_oid *commit,
			  bool is_merge, const char *source)
{
	char sources[160], hint[256];

	describe_sources(rule, sources, sizeof(sources));
	if (kind == FG_RULE_MODIFIED_MERGE) {
		snprintf(hint, sizeof(hint), "redo the merge with 'git merge %s' and no "
			 "changes of its own; fix conflicts on %s first", source, source);
		set_verdict(v, kind, commit, hint,
			    "merge %.7s changes the content it promotes from %s", commit->hex,
			    source);
		return;
	}
	snprintf(hint, sizeof(hint), "merge %s into %s instead", sources, rule->name);
	if (is_merge) {
		set_verdict(v, kind, commit, hint,
			    "merge %.7s brings in commits that are not on %s; %s takes "
			    "commits only from %s", commit->hex, sources, rule->name, sources);
		return;
	}
	set_verdict(v, kind, commit, hint,
		    "commit %.7s is not on %s and is not a merge of it; %s takes "
		    "commits only from %s", commit->hex, sources, rule->name, sources);
}

/*
 * Rule 2 over the first-parent chain from the new tip back to the old one.
 * `old` is an ancestor of `new` (checked by the caller).
 */
static int check_chain(struct fg_promotion *ctx, const struct fg_branch_rule *rule,
		       const struct fg_oid *old, const struct fg_oid *new_tip,
		       struct fg_verdict *v, struct fg_error *err)
{
	struct fg_oid cur = *new_tip;
	struct fg_oid_list parents = { NULL, 0 };
	const char *source = NULL;
	enum fg_rule kind;
	bool reachable;
	size_t steps;
	int rc = 0;

	for (steps = 0; steps < ctx->max_chain; steps++) {
		if (fg_oid_equal(&cur, old))
			return 0;
		rc = reachable_from_source(ctx, rule, &cur, &source, &reachable, err);
		if (rc < 0 || reachable)
			return rc; /* 2a: everything below is promoted too */
		rc = ctx->graph->ops->parents(ctx->graph->state, &cur, &parents, err);
		if (rc < 0)
			return rc;
		rc = judge_merge(ctx, rule, &cur, &parents, &kind, &source, err);
		if (rc == 0 && kind != FG_RULE_OK)
			reject_commit(v, rule, kind, &cur, parents.count > 1, source);
		if (rc < 0 || kind != FG_RULE_OK || parents.count == 0) {
			fg_oid_list_release(&parents);
			return rc;
		}
		cur = parents.items[0];
		fg_oid_list_release(&parents);
	}
	set_verdict(v, FG_RULE_DIRECT_COMMIT, new_tip,
		    "promote in smaller steps",
		    "the update adds more than %zu first-parent commits; fleetgate "
		    "does not judge that much history in one push", ctx->max_chain);
	return 0;
}

static int check_update_of_branch(struct fg_promotion *ctx,
				  const struct fg_branch_rule *rule,
				  const struct fg_oid *old, const struct fg_oid *new_tip,
				  struct fg_verdict *v, struct fg_error *err)
{
	const char *source = NULL;
	char sources[160], hint[300];
	bool ok;
	int rc;

	if (fg_oid_is_zero(old)) {
		rc = reachable_from_source(ctx, rule, new_tip, &source, &ok, err);
		if (rc < 0 || ok)
			return rc;
		describe_sources(rule, sources, sizeof(sources));
		snprintf(hint, sizeof(hint), "create %s from a commit of %s", rule->name,
			 sources);
		set_verdict(v, FG_RULE_CREATE_OUTSIDE_PROMOTION, new_tip, hint,
			    "%s would start at %.7s, which is not on %s", rule->name,
			    new_tip->hex, sources);
		return 0;
	}
	rc = ctx->graph->ops->is_ancestor(ctx->graph->state, old, new_tip, &ok, err);
	if (rc < 0)
		return rc;
	if (!ok) {
		set_verdict(v, FG_RULE_NON_FAST_FORWARD, new_tip,
			    "fetch, merge and push again; never force a protected branch",
			    "the update would drop commit %.7s from %s", old->hex, rule->name);
		return 0;
	}
	return check_chain(ctx, rule, old, new_tip, v, err);
}

/* Rules 4 and 5: who pushes and how. Sets a verdict when they fail. */
static void check_pusher(struct fg_promotion *ctx, const struct fg_branch_rule *rule,
			 const struct fg_oid *at, struct fg_verdict *v)
{
	char hint[300];

	if (rule->pushers.count &&
	    !fg_policy_user_in(ctx->policy, &rule->pushers, ctx->pusher)) {
		snprintf(hint, sizeof(hint), "ask someone listed under pushers of %s "
			 "in the server policy", rule->name);
		if (ctx->pusher)
			set_verdict(v, FG_RULE_PUSHER_NOT_ALLOWED, at, hint,
				    "'%s' may not push to %s", ctx->pusher, rule->name);
		else
			set_verdict(v, FG_RULE_PUSHER_NOT_ALLOWED, at, hint,
				    "the server did not say who pushes, and %s is "
				    "restricted to named pushers", rule->name);
		return;
	}
	if (rule->via_merge_request && !ctx->forge_merge) {
		snprintf(hint, sizeof(hint), "open a merge request into %s and merge it "
			 "in the forge", rule->name);
		set_verdict(v, FG_RULE_MERGE_REQUEST_REQUIRED, at, hint,
			    "%s takes changes only through merge requests", rule->name);
	}
}

int fg_promotion_check_update(struct fg_promotion *ctx,
			      const struct fg_ref_update *update,
			      struct fg_verdict *out, struct fg_error *err)
{
	const char *branch = fg_ref_branch_name(update->refname);
	const struct fg_branch_rule *rule = branch ? fg_policy_branch(ctx->policy, branch)
						   : NULL;
	struct fg_oid old = update->old_id, new_tip;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->at = update->new_id;
	if (!rule)
		return 0; /* rule 6: unprotected branches and tags are free */
	out->protected_branch = true;
	if (fg_oid_is_zero(&update->new_id)) {
		set_verdict(out, FG_RULE_DELETE_PROTECTED, &update->old_id,
			    "protected branches are never deleted; remove the branch "
			    "from the policy first if you really mean it",
			    "%s is protected and cannot be deleted", branch);
		goto bypass;
	}
	rc = ctx->graph->ops->peel_commit(ctx->graph->state, &update->new_id, &new_tip, err);
	if (rc < 0)
		return rc;
	out->at = new_tip;
	if (!fg_oid_is_zero(&old) &&
	    (rc = ctx->graph->ops->peel_commit(ctx->graph->state, &update->old_id,
					       &old, err)) < 0)
		return rc;
	check_pusher(ctx, rule, &new_tip, out);
	if (out->rule == FG_RULE_OK)
		rc = check_update_of_branch(ctx, rule, &old, &new_tip, out, err);
	if (rc < 0)
		return rc;
bypass:
	if (out->rule != FG_RULE_OK && ctx->policy->bypass.count &&
	    fg_policy_user_in(ctx->policy, &ctx->policy->bypass, ctx->pusher))
		out->bypassed = true;
	return 0;
}
