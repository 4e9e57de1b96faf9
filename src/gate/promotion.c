#include "promotion.h"
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_CHAIN 10000
#define DEFAULT_MAX_SOURCE_WALK 200000

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
	case FG_RULE_OCTOPUS_MERGE: return "octopus-merge";
	case FG_RULE_REPLACE_REF: return "replace-ref";
	case FG_RULE_SYMBOLIC_REF: return "symbolic-ref";
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
	ctx->max_source_walk = DEFAULT_MAX_SOURCE_WALK;
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

/* Whether `branch` is listed under `branches` in the policy. */
static bool is_protected(const struct fg_promotion *ctx, const char *branch)
{
	return fg_policy_branch(ctx->policy, branch) != NULL;
}

/* Whether every source of `rule` names a protected branch, so that the
 * messages speak of first-parent history. */
static bool sources_all_protected(const struct fg_promotion *ctx,
				  const struct fg_branch_rule *rule)
{
	size_t i;

	for (i = 0; i < rule->promote_from.count; i++)
		if (!is_protected(ctx, rule->promote_from.items[i]))
			return false;
	return rule->promote_from.count > 0;
}

/* Whether the branch tip `tip` is a source of `rule`. */
static bool is_source(const struct fg_branch_rule *rule, const struct fg_branch_tip *tip)
{
	return strcmp(tip->name, rule->name) && fg_policy_promotes_from(rule, tip->name);
}

/* ---------------------------------------------------------------- lookups
 * The commits whose place the rule must know: a hash set of object ids,
 * each found on a source (source set, borrowed from the tips) or not. */
struct lookup {
	struct fg_oid oid;
	bool used;
	const char *source;
	struct fg_oid tree;     /* "" until a walk that found it read it */
};

struct lookups {
	struct lookup *slots;
	size_t cap;        /* a power of two, at least twice the entries */
	size_t unresolved; /* entries without a source yet */
};

static size_t oid_hash(const struct fg_oid *oid)
{
	const unsigned char *p = (const unsigned char *)oid->hex;
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */

	while (*p)
		h = (h ^ *p++) * UINT64_C(1099511628211);
	return (size_t)h;
}

static struct lookup *lookup_slot(struct lookups *set, const struct fg_oid *oid)
{
	size_t i = oid_hash(oid) & (set->cap - 1);

	while (set->slots[i].used && !fg_oid_equal(&set->slots[i].oid, oid))
		i = (i + 1) & (set->cap - 1);
	return &set->slots[i];
}

static int lookups_init(struct lookups *set, size_t entries, struct fg_error *err)
{
	set->cap = 16;
	while (set->cap < 2 * entries)
		set->cap *= 2;
	set->unresolved = 0;
	set->slots = calloc(set->cap, sizeof(*set->slots));
	return set->slots ? 0 : fg_error_oom(err);
}

static void lookups_add(struct lookups *set, const struct fg_oid *oid)
{
	struct lookup *slot = lookup_slot(set, oid);

	if (slot->used)
		return;
	slot->used = true;
	slot->oid = *oid;
	set->unresolved++;
}

/* The source `commit` was found on, or NULL. */
static const char *lookups_source(struct lookups *set, const struct fg_oid *oid)
{
	struct lookup *slot = lookup_slot(set, oid);

	return slot->used ? slot->source : NULL;
}

/* `tree` may be NULL or "" when the caller did not read it. */
static void lookups_resolve(struct lookups *set, const struct fg_oid *oid,
			    const struct fg_oid *tree, const char *source)
{
	struct lookup *slot = lookup_slot(set, oid);

	if (slot->used && !slot->source) {
		slot->source = source;
		if (tree)
			slot->tree = *tree;
		set->unresolved--;
	}
}

struct source_walk {
	struct lookups *set;
	const char *source;
};

static int source_visit(void *payload, const struct fg_walk_commit *c,
			struct fg_error *err)
{
	struct source_walk *sw = payload;

	(void)err;
	lookups_resolve(sw->set, &c->id, &c->tree, sw->source);
	return sw->set->unresolved == 0;
}

/* One bounded walk; fails closed when the cap cuts it before every lookup
 * was found. */
static int walk_sources(struct fg_promotion *ctx, const struct fg_walk *w,
			struct source_walk *sw, const char *what, struct fg_error *err)
{
	bool truncated;
	int rc = ctx->graph->ops->walk(ctx->graph->state, w, source_visit, sw,
				       &truncated, err);

	if (rc == 0 && truncated && sw->set->unresolved)
		rc = fg_error_set(err, FG_ELIMIT, "the history of %s is longer than %zu "
				  "commits; fleetgate does not judge that much and "
				  "rejects to be safe", what, ctx->max_source_walk);
	return rc;
}

struct link {
	struct fg_oid commit;
	struct fg_oid tree;
	struct fg_oid second;   /* the second parent of a two-parent merge */
	size_t nparents;
};

/* One update under judgement: the rule, the commits to place, and the
 * first-parent chain the update adds (new tip first). */
struct judge {
	struct fg_promotion *ctx;
	const struct fg_branch_rule *rule;
	char sources[160];      /* "develop or feature/x", for messages */
	struct lookups set;
	struct link *links;
	size_t nlinks, alloc;
};

/* Protected sources: one first-parent walk each, from its tip. */
static int walk_protected_sources(struct judge *j, const struct fg_oid *hide,
				  struct fg_error *err)
{
	struct fg_promotion *ctx = j->ctx;
	struct fg_walk w = FG_WALK_INIT;
	struct source_walk sw = { &j->set, NULL };
	size_t i;
	int rc = 0;

	w.hide = hide;
	w.max = ctx->max_source_walk;
	w.trees = true;
	w.first_parent = true;
	w.ntips = 1;
	for (i = 0; rc == 0 && j->set.unresolved && i < ctx->tips.count; i++) {
		const struct fg_branch_tip *tip = &ctx->tips.items[i];

		if (!is_source(j->rule, tip) || !is_protected(ctx, tip->name))
			continue;
		w.tips = &tip->oid;
		sw.source = tip->name;
		rc = walk_sources(ctx, &w, &sw, tip->name, err);
	}
	return rc;
}

/* Unprotected sources (the entry points): one walk from all their tips. */
static int walk_entry_sources(struct judge *j, const struct fg_oid *hide,
			      struct fg_error *err)
{
	struct fg_promotion *ctx = j->ctx;
	struct fg_walk w = FG_WALK_INIT;
	struct source_walk sw = { &j->set, j->sources };
	struct fg_oid *tips;
	size_t i;
	int rc = 0;

	if (!j->set.unresolved)
		return 0;
	tips = calloc(ctx->tips.count + 1, sizeof(*tips));
	if (!tips)
		return fg_error_oom(err);
	for (i = 0; i < ctx->tips.count; i++)
		if (is_source(j->rule, &ctx->tips.items[i]) &&
		    !is_protected(ctx, ctx->tips.items[i].name))
			tips[w.ntips++] = ctx->tips.items[i].oid;
	w.tips = tips;
	w.hide = hide;
	w.trees = true;
	w.max = ctx->max_source_walk;
	if (w.ntips)
		rc = walk_sources(ctx, &w, &sw, j->sources, err);
	free(tips);
	return rc;
}

/* Whether a merge of the chain still needs its second parent placed. */
static bool second_parent_pending(struct judge *j)
{
	size_t i;

	for (i = 0; i < j->nlinks; i++)
		if (j->links[i].nparents == 2 &&
		    !lookups_source(&j->set, &j->links[i].commit) &&
		    !lookups_source(&j->set, &j->links[i].second))
			return true;
	return false;
}

/*
 * Places the lookups on the sources of the rule: a tip is a source state; a
 * protected source (listed under `branches`) had exactly the commits of its
 * first-parent chain; an unprotected source offers everything reachable
 * from it. The walks skip what the branch's old tip reaches (`hide`): no
 * added commit is there. Only a merge's second parent can be, when a merge
 * takes an older source state again; those get one more walk, unhidden.
 */
static int resolve_lookups(struct judge *j, const struct fg_oid *hide,
			   struct fg_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < j->ctx->tips.count; i++)
		if (is_source(j->rule, &j->ctx->tips.items[i]))
			lookups_resolve(&j->set, &j->ctx->tips.items[i].oid, NULL,
					j->ctx->tips.items[i].name);
	if ((rc = walk_protected_sources(j, hide, err)) < 0 ||
	    (rc = walk_entry_sources(j, hide, err)) < 0)
		return rc;
	if (!hide || !second_parent_pending(j))
		return 0;
	if ((rc = walk_protected_sources(j, NULL, err)) < 0)
		return rc;
	return walk_entry_sources(j, NULL, err);
}

static int chain_visit(void *payload, const struct fg_walk_commit *c,
		       struct fg_error *err)
{
	struct judge *j = payload;
	struct link *l;

	if (j->nlinks == j->alloc) {
		size_t n = j->alloc ? j->alloc * 2 : 64;
		struct link *links = realloc(j->links, n * sizeof(*links));

		if (!links)
			return fg_error_oom(err);
		j->links = links;
		j->alloc = n;
	}
	l = &j->links[j->nlinks++];
	memset(l, 0, sizeof(*l));
	l->commit = c->id;
	l->tree = c->tree;
	l->nparents = c->parents.count;
	if (l->nparents == 2)
		l->second = c->parents.items[1];
	return 0;
}

static void reject_commit(struct judge *j, struct fg_verdict *v, enum fg_rule kind,
			  const struct link *l, const char *source)
{
	const char *name = j->rule->name, *s = j->sources;
	bool fp = sources_all_protected(j->ctx, j->rule);
	char hint[256];

	snprintf(hint, sizeof(hint), "merge %s into %s instead", s, name);
	if (kind == FG_RULE_MODIFIED_MERGE) {
		snprintf(hint, sizeof(hint), "redo the merge with 'git merge %s' and no "
			 "changes of its own; fix conflicts on %s first", source, source);
		set_verdict(v, kind, &l->commit, hint, "merge %.7s changes the content "
			    "it promotes from %s", l->commit.hex, source);
	} else if (kind == FG_RULE_OCTOPUS_MERGE) {
		set_verdict(v, kind, &l->commit, "merge one source branch at a time",
			    "merge %.7s has %zu parents; protected branches take only "
			    "two-parent merges", l->commit.hex, l->nparents);
	} else if (fp && l->nparents == 2) {
		set_verdict(v, kind, &l->commit, hint, "merge %.7s brings in %.7s, which "
			    "is not on %s's first-parent history; %s takes only states "
			    "%s had", l->commit.hex, l->second.hex, s, name, s);
	} else if (fp) {
		set_verdict(v, kind, &l->commit, hint, "commit %.7s is not on %s's "
			    "first-parent history; %s takes only states %s had",
			    l->commit.hex, s, name, s);
	} else if (l->nparents > 1) {
		set_verdict(v, kind, &l->commit, hint, "merge %.7s brings in commits "
			    "that are not on %s; %s takes commits only from %s",
			    l->commit.hex, s, name, s);
	} else {
		set_verdict(v, kind, &l->commit, hint, "commit %.7s is not on %s and is "
			    "not a merge of it; %s takes commits only from %s",
			    l->commit.hex, s, name, s);
	}
}

/* The promotion soundness rule for one added commit of the chain (see
 * promotion.h). Sets a verdict when it breaks the rule. */
static int judge_link(struct judge *j, const struct link *l, struct fg_verdict *v,
		      struct fg_error *err)
{
	struct fg_graph *g = j->ctx->graph;
	struct lookup *second;
	int rc;

	if (lookups_source(&j->set, &l->commit))
		return 0; /* a state a source had */
	if (l->nparents > 2) {
		reject_commit(j, v, FG_RULE_OCTOPUS_MERGE, l, NULL);
		return 0;
	}
	second = l->nparents == 2 ? lookup_slot(&j->set, &l->second) : NULL;
	if (!second || !second->source) {
		reject_commit(j, v, FG_RULE_DIRECT_COMMIT, l, NULL);
		return 0;
	}
	/* a source tip is placed without a walk, so without its tree */
	if (!second->tree.hex[0] &&
	    (rc = g->ops->tree(g->state, &second->oid, &second->tree, err)) < 0)
		return rc;
	if (!fg_oid_equal(&l->tree, &second->tree))
		reject_commit(j, v, FG_RULE_MODIFIED_MERGE, l, second->source);
	return 0;
}

/*
 * The chain the update adds to the branch: its first-parent commits from
 * the new tip down to what the old tip already reached, one walk. Every
 * one is placed on the sources at once, then judged from the tip down.
 */
static int check_chain(struct judge *j, const struct fg_oid *old,
		       const struct fg_oid *new_tip, struct fg_verdict *v,
		       struct fg_error *err)
{
	struct fg_graph *g = j->ctx->graph;
	struct fg_walk w = FG_WALK_INIT;
	bool truncated;
	size_t i;
	int rc;

	w.tips = new_tip;
	w.ntips = 1;
	w.hide = old;
	w.first_parent = true;
	w.parents = true;
	w.trees = true;
	w.max = j->ctx->max_chain;
	rc = g->ops->walk(g->state, &w, chain_visit, j, &truncated, err);
	if (rc < 0)
		return rc;
	if (truncated) {
		set_verdict(v, FG_RULE_DIRECT_COMMIT, new_tip, "promote in smaller steps",
			    "the update adds more than %zu first-parent commits; "
			    "fleetgate does not judge that much history in one push",
			    j->ctx->max_chain);
		return 0;
	}
	if ((rc = lookups_init(&j->set, 2 * j->nlinks, err)) < 0)
		return rc;
	for (i = 0; i < j->nlinks; i++) {
		lookups_add(&j->set, &j->links[i].commit);
		if (j->links[i].nparents == 2)
			lookups_add(&j->set, &j->links[i].second);
	}
	rc = resolve_lookups(j, old, err);
	for (i = 0; rc == 0 && v->rule == FG_RULE_OK && i < j->nlinks; i++)
		rc = judge_link(j, &j->links[i], v, err);
	return rc;
}

/*
 * The first push into a repository without branches may create a
 * protected branch at the commit a source branch is created at in the same
 * push (git push origin develop develop:main develop:canary ...), each
 * protected source in turn created so. `depth` bounds the chain of
 * creations by the number of protected branches.
 */
static int created_with_source(struct fg_promotion *ctx,
			       const struct fg_branch_rule *rule,
			       const struct fg_oid *commit, size_t depth, bool *out,
			       struct fg_error *err)
{
	const struct fg_branch_rule *src_rule;
	struct fg_oid at;
	size_t i;
	int rc;

	*out = false;
	for (i = 0; i < ctx->push->count && depth && !*out; i++) {
		const struct fg_ref_update *u = &ctx->push->items[i];
		const char *b = fg_ref_branch_name(u->refname);

		if (!b || !fg_oid_is_zero(&u->old_id) || fg_oid_is_zero(&u->new_id) ||
		    !strcmp(b, rule->name) || !fg_policy_promotes_from(rule, b))
			continue;
		if ((rc = ctx->graph->ops->peel_commit(ctx->graph->state, &u->new_id,
						       &at, err)) < 0)
			return rc;
		if (!fg_oid_equal(&at, commit))
			continue;
		src_rule = fg_policy_branch(ctx->policy, b);
		if (!src_rule)
			*out = true;
		else if ((rc = created_with_source(ctx, src_rule, commit, depth - 1,
						   out, err)) < 0)
			return rc;
	}
	return 0;
}

static int check_creation(struct judge *j, const struct fg_oid *new_tip,
			  struct fg_verdict *v, struct fg_error *err)
{
	struct fg_promotion *ctx = j->ctx;
	char hint[300];
	bool ok = false;
	int rc;

	if ((rc = lookups_init(&j->set, 1, err)) < 0)
		return rc;
	lookups_add(&j->set, new_tip);
	if ((rc = resolve_lookups(j, NULL, err)) < 0 || !j->set.unresolved)
		return rc;
	if (ctx->tips.count == 0 && ctx->push &&
	    (rc = created_with_source(ctx, j->rule, new_tip,
				      ctx->policy->branch_count, &ok, err)) < 0)
		return rc;
	if (ok)
		return 0;
	snprintf(hint, sizeof(hint), "create %s from a commit of %s", j->rule->name,
		 j->sources);
	set_verdict(v, FG_RULE_CREATE_OUTSIDE_PROMOTION, new_tip, hint,
		    "%s would start at %.7s, which is not on %s%s", j->rule->name,
		    new_tip->hex, j->sources, sources_all_protected(ctx, j->rule)
		    ? "'s first-parent history" : "");
	return 0;
}

static int check_update_of_branch(struct fg_promotion *ctx,
				  const struct fg_branch_rule *rule,
				  const struct fg_oid *old, const struct fg_oid *new_tip,
				  struct fg_verdict *v, struct fg_error *err)
{
	struct judge j;
	bool ok;
	int rc;

	memset(&j, 0, sizeof(j));
	j.ctx = ctx;
	j.rule = rule;
	describe_sources(rule, j.sources, sizeof(j.sources));
	if (fg_oid_is_zero(old)) {
		rc = check_creation(&j, new_tip, v, err);
		goto out;
	}
	rc = ctx->graph->ops->is_ancestor(ctx->graph->state, old, new_tip, &ok, err);
	if (rc == 0 && !ok)
		set_verdict(v, FG_RULE_NON_FAST_FORWARD, new_tip,
			    "fetch, merge and push again; never force a protected branch",
			    "the update would drop commit %.7s from %s", old->hex, rule->name);
	else if (rc == 0)
		rc = check_chain(&j, old, new_tip, v, err);
out:
	free(j.set.slots);
	free(j.links);
	return rc;
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

/* The rules on the ref itself: replace refs, and symbolic refs, which are
 * judged as the branch they point to. Sets *refname to the ref to judge
 * (borrowed from the update or from out->target). */
static int check_ref(struct fg_promotion *ctx, const struct fg_ref_update *update,
		     const char **refname, struct fg_verdict *out, struct fg_error *err)
{
	const struct fg_oid *at = fg_oid_is_zero(&update->new_id) ? &update->old_id
								  : &update->new_id;
	char *target = NULL;
	int rc;

	*refname = update->refname;
	if (!strncmp(update->refname, "refs/replace/", 13)) {
		if (!ctx->policy->allow_replace_refs)
			set_verdict(out, FG_RULE_REPLACE_REF, at, "push the commits "
				    "themselves; only the server admin can allow replace "
				    "refs (allow_replace_refs in the policy)", "replace refs "
				    "make git show one object in place of another, and the "
				    "server policy does not allow them");
		return 0;
	}
	rc = ctx->graph->ops->symref_target(ctx->graph->state, update->refname,
					    &target, err);
	if (rc < 0 || !target)
		return rc;
	snprintf(out->target, sizeof(out->target), "%s", target);
	if (strncmp(target, "refs/heads/", 11) || strlen(target) >= sizeof(out->target))
		set_verdict(out, FG_RULE_SYMBOLIC_REF, at, "push to the ref it points "
			    "to, if at all", "%s is a symbolic ref on the server that "
			    "points outside refs/heads", update->refname);
	else
		*refname = out->target;
	free(target);
	return 0;
}

static int check_branch_update(struct fg_promotion *ctx,
			       const struct fg_branch_rule *rule,
			       const struct fg_ref_update *update,
			       struct fg_verdict *out, struct fg_error *err)
{
	struct fg_oid old = update->old_id, new_tip;
	int rc;

	if (fg_oid_is_zero(&update->new_id)) {
		set_verdict(out, FG_RULE_DELETE_PROTECTED, &update->old_id,
			    "protected branches are never deleted; remove the branch "
			    "from the policy first if you really mean it",
			    "%s is protected and cannot be deleted", rule->name);
		return 0;
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
	return rc;
}

int fg_promotion_check_update(struct fg_promotion *ctx,
			      const struct fg_ref_update *update,
			      struct fg_verdict *out, struct fg_error *err)
{
	const struct fg_branch_rule *rule = NULL;
	const char *refname, *branch;
	int rc;

	memset(out, 0, sizeof(*out));
	out->at = update->new_id;
	rc = check_ref(ctx, update, &refname, out, err);
	if (rc < 0)
		return rc;
	if (out->rule != FG_RULE_OK)
		goto bypass;
	/* branch names in the policy match exactly */
	branch = fg_ref_branch_name(refname);
	rule = branch ? fg_policy_branch(ctx->policy, branch) : NULL;
	if (!rule)
		return 0; /* unprotected branches and tags are not the promotion rules' business */
	out->protected_branch = true;
	rc = check_branch_update(ctx, rule, update, out, err);
	if (rc < 0)
		return rc;
bypass:
	if (out->rule != FG_RULE_OK && ctx->policy->bypass.count &&
	    fg_policy_user_in(ctx->policy, &ctx->policy->bypass, ctx->pusher))
		out->bypassed = true;
	return 0;
}
