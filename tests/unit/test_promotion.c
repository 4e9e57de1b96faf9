/*
 * Promotion rules, table-driven in the manner of doas's regression tests:
 * each case is a commit graph, the branch tips before the push, one ref
 * update, the pusher, and the verdict expected.
 *
 * Graph notation: "N:P1,P2:T" is commit N with parents P1, P2 ("-" for a
 * root) and tree T (a letter); commits are listed parents first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "policy.h"
#include "promotion.h"

#define MAX_COMMITS 64

struct fake_commit {
	int id;
	int parents[4];
	int nparents;
	char tree;
	int is_tag_of; /* nonzero: this object is an annotated tag of that commit */
};

struct fake_graph {
	struct fake_commit commits[MAX_COMMITS];
	int count;
	struct { char name[64]; int commit; } tips[16];
	int ntips;
	struct { char name[64]; char target[64]; } symrefs[4];
	int nsymrefs;
	int walks; /* walks run, to prove a check takes a bounded number */
};

static void oid_of(struct fg_oid *out, int id)
{
	snprintf(out->hex, sizeof(out->hex), "%040d", id);
}

static int id_of(const struct fg_oid *oid)
{
	return (int)strtol(oid->hex, NULL, 10);
}

static struct fake_commit *find(struct fake_graph *g, int id)
{
	int i;

	for (i = 0; i < g->count; i++)
		if (g->commits[i].id == id)
			return &g->commits[i];
	return NULL;
}

static int fake_peel(void *state, const struct fg_oid *id, struct fg_oid *out,
		     struct fg_error *err)
{
	struct fake_commit *c = find(state, id_of(id));

	if (!c)
		return fg_error_set(err, FG_ENOTFOUND, "missing %s", id->hex);
	oid_of(out, c->is_tag_of ? c->is_tag_of : c->id);
	return 0;
}

static int fake_parents(void *state, const struct fg_oid *id, struct fg_oid_list *out,
			struct fg_error *err)
{
	struct fake_commit *c = find(state, id_of(id));
	int i;

	if (!c)
		return fg_error_set(err, FG_ENOTFOUND, "missing %s", id->hex);
	out->items = calloc(4, sizeof(*out->items));
	out->count = (size_t)c->nparents;
	for (i = 0; i < c->nparents; i++)
		oid_of(&out->items[i], c->parents[i]);
	return 0;
}

static int fake_tree(void *state, const struct fg_oid *id, struct fg_oid *out,
		     struct fg_error *err)
{
	struct fake_commit *c = find(state, id_of(id));

	if (!c)
		return fg_error_set(err, FG_ENOTFOUND, "missing %s", id->hex);
	oid_of(out, 100000 + c->tree);
	return 0;
}

static int reaches(struct fake_graph *g, int from, int target)
{
	struct fake_commit *c = find(g, from);
	int i;

	if (from == target)
		return 1;
	for (i = 0; c && i < c->nparents; i++)
		if (reaches(g, c->parents[i], target))
			return 1;
	return 0;
}

static int fake_is_ancestor(void *state, const struct fg_oid *a, const struct fg_oid *d,
			    bool *out, struct fg_error *err)
{
	*out = reaches(state, id_of(d), id_of(a));
	return 0;
}

/* Marks in `seen` every commit reachable from `from`. */
static void mark_reachable(struct fake_graph *g, int from, bool *seen)
{
	struct fake_commit *c = find(g, from);
	int i;

	if (!c || seen[c - g->commits])
		return;
	seen[c - g->commits] = true;
	for (i = 0; i < c->nparents; i++)
		mark_reachable(g, c->parents[i], seen);
}

struct fake_walker {
	struct fake_graph *g;
	const struct fg_walk *w;
	bool hidden[MAX_COMMITS], done[MAX_COMMITS];
	size_t seen;
	bool truncated;
	fg_walk_fn fn;
	void *payload;
};

static int fake_visit(struct fake_walker *fw, int id, struct fg_error *err)
{
	struct fake_commit *c = find(fw->g, id);
	struct fg_walk_commit wc;
	int i, rc = 0;

	if (!c || fw->hidden[c - fw->g->commits] || fw->done[c - fw->g->commits])
		return 0;
	fw->done[c - fw->g->commits] = true;
	if (fw->seen++ == fw->w->max) {
		fw->truncated = true;
		return 1;
	}
	memset(&wc, 0, sizeof(wc));
	oid_of(&wc.id, id);
	if (fw->w->trees)
		rc = fake_tree(fw->g, &wc.id, &wc.tree, err);
	if (rc == 0 && fw->w->parents)
		rc = fake_parents(fw->g, &wc.id, &wc.parents, err);
	if (rc == 0)
		rc = fw->fn(fw->payload, &wc, err);
	fg_oid_list_release(&wc.parents);
	for (i = 0; rc == 0 && i < (fw->w->first_parent ? 1 : c->nparents); i++)
		rc = fake_visit(fw, c->parents[i], err);
	return rc;
}

static int fake_walk(void *state, const struct fg_walk *w, fg_walk_fn fn,
		     void *payload, bool *truncated, struct fg_error *err)
{
	struct fake_walker *fw = calloc(1, sizeof(*fw));
	size_t i;
	int rc = 0;

	fw->g = state;
	fw->w = w;
	fw->fn = fn;
	fw->payload = payload;
	fw->g->walks++;
	if (w->hide)
		mark_reachable(fw->g, id_of(w->hide), fw->hidden);
	for (i = 0; rc == 0 && i < w->ntips; i++)
		rc = fake_visit(fw, id_of(&w->tips[i]), err);
	*truncated = fw->truncated;
	free(fw);
	return rc == 1 ? 0 : rc;
}

static int fake_symref(void *state, const char *refname, char **out,
		       struct fg_error *err)
{
	struct fake_graph *g = state;
	int i;

	*out = NULL;
	for (i = 0; i < g->nsymrefs; i++)
		if (!strcmp(g->symrefs[i].name, refname))
			*out = strdup(g->symrefs[i].target);
	return 0;
}

static int fake_branches(void *state, struct fg_branch_tips *out, struct fg_error *err)
{
	struct fake_graph *g = state;
	int i;

	out->items = calloc((size_t)g->ntips + 1, sizeof(*out->items));
	out->count = (size_t)g->ntips;
	for (i = 0; i < g->ntips; i++) {
		out->items[i].name = strdup(g->tips[i].name);
		oid_of(&out->items[i].oid, g->tips[i].commit);
	}
	return 0;
}

static void fake_free(void *state)
{
	free(state);
}

static const struct fg_graph_ops fake_ops = {
	.peel_commit = fake_peel,
	.parents = fake_parents,
	.tree = fake_tree,
	.is_ancestor = fake_is_ancestor,
	.walk = fake_walk,
	.symref_target = fake_symref,
	.branches = fake_branches,
	.free = fake_free,
};

/* "1:-:a 2:1:a 3:2,1:b" and "main=3 canary=2 refs/heads/master>refs/heads/main" */
static struct fake_graph *parse_graph(const char *commits, const char *tips)
{
	struct fake_graph *g = calloc(1, sizeof(*g));
	const char *p = commits;
	int n;

	while (*p) {
		struct fake_commit *c = &g->commits[g->count++];
		char parents[64], tree;

		assert_int_equal(sscanf(p, "%d:%63[^:]:%c%n", &c->id, parents, &tree, &n), 3);
		c->tree = tree;
		if (strcmp(parents, "-")) {
			char *tok, *save = NULL;

			for (tok = strtok_r(parents, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				c->parents[c->nparents++] = (int)strtol(tok, NULL, 10);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	p = tips;
	while (*p) {
		if (sscanf(p, "%63[^> ]>%63s%n", g->symrefs[g->nsymrefs].name,
			   g->symrefs[g->nsymrefs].target, &n) == 2) {
			g->nsymrefs++;
			p += n;
			while (*p == ' ')
				p++;
			continue;
		}
		assert_int_equal(sscanf(p, "%63[^=]=%d%n", g->tips[g->ntips].name,
					&g->tips[g->ntips].commit, &n), 2);
		g->ntips++;
		p += n;
		while (*p == ' ')
			p++;
	}
	return g;
}

static const char policy_text[] =
	"version: 1\n"
	"branches:\n"
	"  main: { promote_from: [develop, \"feature/*\"] }\n"
	"  canary: { promote_from: [main] }\n"
	"  production: { promote_from: [canary], pushers: [\"@sre\", release-bot] }\n"
	"  gated: { promote_from: [main], via_merge_request: true }\n"
	"groups:\n"
	"  sre: [alice, bob]\n"
	"bypass: [fleet-admin]\n";

struct scenario {
	const char *name;
	const char *commits;
	const char *tips;      /* before the push */
	const char *ref;
	int old_id;            /* 0: create */
	int new_id;            /* 0: delete */
	const char *pusher;
	bool forge_merge;
	enum fg_rule expect;
	bool expect_bypassed;
	const char *expect_text; /* substring of explanation or hint, or NULL */
	const char *push;        /* other refs the push creates: "develop=3 main=3" */
	bool allow_replace;      /* the policy sets allow_replace_refs: true */
	const char *expect_target; /* the symbolic ref's branch judged, or NULL */
};

/* A shared history: 1 root on all; develop moved to 2, 3; main merged 3 as 4;
 * feature/x at 5 off 3; canary at 1. */
#define BASE "1:-:a 2:1:b 3:2:c 4:1,3:c 5:3:d "

static const struct scenario scenarios[] = {
	{ "fast-forward main to develop", BASE, "develop=3 main=1", "refs/heads/main",
	  1, 3, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "merge develop into main, tree unchanged", BASE, "develop=3 main=1",
	  "refs/heads/main", 1, 4, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "feature/* is a source of main (pattern)", BASE "6:1,5:d", "feature/x=5 main=1",
	  "refs/heads/main", 1, 6, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "direct commit on canary", BASE "6:1:z", "main=4 canary=1", "refs/heads/canary",
	  1, 6, NULL, false, FG_RULE_DIRECT_COMMIT, false, "merge main into canary", NULL, false, NULL },
	{ "evil merge into canary (tree differs)", BASE "6:1,4:z", "main=4 canary=1",
	  "refs/heads/canary", 1, 6, NULL, false, FG_RULE_MODIFIED_MERGE, false,
	  "git merge main", NULL, false, NULL },
	{ "merge --no-ff of main into canary", BASE "6:1,4:c", "main=4 canary=1",
	  "refs/heads/canary", 1, 6, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "merge of develop into production", BASE "6:1,3:c", "develop=3 canary=1 production=1",
	  "refs/heads/production", 1, 6, "alice", false, FG_RULE_DIRECT_COMMIT, false,
	  "not on canary's first-parent history", NULL, false, NULL },
	{ "merge of an unpushed commit smuggled with a new develop tip", BASE "6:3:e 7:1,6:e",
	  "develop=3 main=1", "refs/heads/main", 1, 7, NULL, false,
	  FG_RULE_DIRECT_COMMIT, false, NULL, NULL, false, NULL },
	{ "force push (rewind)", BASE, "develop=3 main=4", "refs/heads/main", 4, 3, NULL,
	  false, FG_RULE_NON_FAST_FORWARD, false, "drop commit", NULL, false, NULL },
	{ "delete protected", BASE, "main=4", "refs/heads/main", 4, 0, NULL, false,
	  FG_RULE_DELETE_PROTECTED, false, NULL, NULL, false, NULL },
	{ "create canary at a main commit", BASE, "main=4", "refs/heads/canary", 0, 4, NULL,
	  false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "create production at a commit not on canary", BASE, "main=4 canary=1",
	  "refs/heads/production", 0, 4, "alice", false, FG_RULE_CREATE_OUTSIDE_PROMOTION,
	  false, "create production from a commit of canary", NULL, false, NULL },
	{ "pusher in group may push production", BASE, "canary=4 production=1",
	  "refs/heads/production", 1, 4, "bob", false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "pusher by name may push production", BASE, "canary=4 production=1",
	  "refs/heads/production", 1, 4, "release-bot", false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "pusher not listed", BASE, "canary=4 production=1", "refs/heads/production", 1, 4,
	  "mallory", false, FG_RULE_PUSHER_NOT_ALLOWED, false, "'mallory' may not push", NULL, false, NULL },
	{ "unknown pusher with pushers set", BASE, "canary=4 production=1",
	  "refs/heads/production", 1, 4, NULL, false, FG_RULE_PUSHER_NOT_ALLOWED, false,
	  "did not say who pushes", NULL, false, NULL },
	{ "bypass accepts with warning", BASE "6:1:z", "main=4 canary=1", "refs/heads/canary",
	  1, 6, "fleet-admin", false, FG_RULE_DIRECT_COMMIT, true, NULL, NULL, false, NULL },
	{ "merge request required, plain push", BASE, "main=4 gated=1", "refs/heads/gated",
	  1, 4, NULL, false, FG_RULE_MERGE_REQUEST_REQUIRED, false, "merge request", NULL, false, NULL },
	{ "merge request required, forge merge", BASE, "main=4 gated=1", "refs/heads/gated",
	  1, 4, NULL, true, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "unprotected branch is free", BASE "6:1:z", "develop=3", "refs/heads/develop", 3, 6,
	  NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "tags are free", BASE, "main=4", "refs/tags/v1", 0, 2, NULL, false, FG_RULE_OK,
	  false, NULL, NULL, false, NULL },
	{ "branch update to an annotated tag of a main commit peels", BASE "9:-:c",
	  "main=4 canary=1", "refs/heads/canary", 1, 9, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "two promotion merges in one push", BASE "6:4,5:d 7:1,4:c 8:7,6:d",
	  "main=6 canary=1", "refs/heads/canary", 1, 8, NULL, false, FG_RULE_OK, false,
	  NULL, NULL, false, NULL },
	{ "merge of a commit main only reaches through a side parent", BASE "6:4,5:d 7:1,5:d",
	  "main=6 canary=1", "refs/heads/canary", 1, 7, NULL, false, FG_RULE_DIRECT_COMMIT,
	  false, "not on main's first-parent history", NULL, false, NULL },
	{ "fast-forward canary to an older state of main", BASE "6:4,5:d", "main=6 canary=1",
	  "refs/heads/canary", 1, 4, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "octopus merge into main (attack: main, X, develop tip)", BASE "6:-:x 7:4,6,3:c",
	  "develop=3 main=4", "refs/heads/main", 4, 7, NULL, false, FG_RULE_OCTOPUS_MERGE,
	  false, "merge one source branch at a time", NULL, false, NULL },
	{ "octopus merge reached from develop is develop's content", BASE "6:3,2,5:d",
	  "develop=6 main=3", "refs/heads/main", 3, 6, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "side parent: X built on canary, hidden in a feature merge, main merged it",
	  BASE "6:1:z 7:6,5:d 8:4,7:d", "main=4 feature/y=7 canary=1", "refs/heads/main",
	  4, 8, NULL, false, FG_RULE_OK, false, NULL, NULL, false, NULL },
	{ "side parent: canary then fast-forwards to X", BASE "6:1:z 7:6,5:d 8:4,7:d",
	  "main=8 feature/y=7 canary=1", "refs/heads/canary", 1, 6, NULL, false,
	  FG_RULE_DIRECT_COMMIT, false, "not on main's first-parent history", NULL, false, NULL },
	{ "merge takes an older main state again", BASE "6:4,5:d 8:1,4:c 7:8,1:a",
	  "main=6 canary=8", "refs/heads/canary", 8, 7, NULL, false, FG_RULE_OK, false,
	  NULL, NULL, false, NULL },
	{ "create canary at a commit main reaches only through a side parent",
	  BASE "6:4,5:d", "main=6", "refs/heads/canary", 0, 5, NULL, false,
	  FG_RULE_CREATE_OUTSIDE_PROMOTION, false, "first-parent history", NULL, false, NULL },
	{ "first push into an empty repository creates the chain", BASE, "",
	  "refs/heads/canary", 0, 3, NULL, false, FG_RULE_OK, false, NULL,
	  "develop=3 main=3 canary=3", false, NULL },
	{ "first push: production at the commit canary is created at", BASE, "",
	  "refs/heads/production", 0, 3, "alice", false, FG_RULE_OK, false, NULL,
	  "develop=3 main=3 canary=3 production=3", false, NULL },
	{ "first push: a source created elsewhere does not count", BASE, "",
	  "refs/heads/canary", 0, 3, NULL, false, FG_RULE_CREATE_OUTSIDE_PROMOTION, false,
	  NULL, "develop=3 main=2 canary=3", false, NULL },
	{ "first push: skipping a link of the chain", BASE, "",
	  "refs/heads/production", 0, 3, "alice", false, FG_RULE_CREATE_OUTSIDE_PROMOTION,
	  false, NULL, "develop=3 canary=3 production=3", false, NULL },
	{ "not the first push: a repository with a branch keeps the rule", BASE,
	  "other=1", "refs/heads/canary", 0, 3, NULL, false,
	  FG_RULE_CREATE_OUTSIDE_PROMOTION, false, NULL, "develop=3 main=3 canary=3", false, NULL },
	{ "replace ref refused", BASE, "main=4", "refs/replace/" "0000000000000000000000000000000000000003",
	  0, 2, NULL, false, FG_RULE_REPLACE_REF, false, "allow_replace_refs", NULL, false, NULL },
	{ "replace ref allowed by the policy", BASE, "main=4",
	  "refs/replace/0000000000000000000000000000000000000003", 0, 2, NULL, false,
	  FG_RULE_OK, false, NULL, NULL, true, NULL },
	{ "symbolic ref judged as the branch it points to", BASE "6:4:z",
	  "main=4 refs/heads/master>refs/heads/main", "refs/heads/master", 4, 6, NULL,
	  false, FG_RULE_DIRECT_COMMIT, false, NULL, NULL, false, "refs/heads/main" },
	{ "symbolic ref to a protected branch, good promotion", BASE "6:4,5:d",
	  "main=4 feature/x=5 refs/heads/master>refs/heads/main", "refs/heads/master", 4, 6,
	  NULL, false, FG_RULE_OK, false, NULL, NULL, false, "refs/heads/main" },
	{ "replace ref by a break-glass user", BASE, "main=4",
	  "refs/replace/0000000000000000000000000000000000000003", 0, 2, "fleet-admin", false,
	  FG_RULE_REPLACE_REF, true, NULL, NULL, false, NULL },
	{ "symbolic ref to an unprotected branch is free", BASE "6:3:z",
	  "develop=3 refs/heads/dev>refs/heads/develop", "refs/heads/dev", 3, 6, NULL,
	  false, FG_RULE_OK, false, NULL, NULL, false, "refs/heads/develop" },
	{ "symbolic ref pointing outside refs/heads", BASE,
	  "main=4 refs/heads/v>refs/tags/v1", "refs/heads/v", 1, 2, NULL, false,
	  FG_RULE_SYMBOLIC_REF, false, "outside refs/heads", NULL, false, "refs/tags/v1" },
	{ "good merge on top of a direct commit", BASE "6:1:z 7:6,4:c", "main=4 canary=1",
	  "refs/heads/canary", 1, 7, NULL, false, FG_RULE_DIRECT_COMMIT, false, NULL, NULL, false, NULL },
	{ "a branch is not its own source", BASE "6:4:z", "main=4", "refs/heads/main", 4, 6,
	  NULL, false, FG_RULE_DIRECT_COMMIT, false, NULL, NULL, false, NULL },
};

static const char allow_replace_text[] =
	"version: 1\n"
	"allow_replace_refs: true\n"
	"branches:\n"
	"  main: { promote_from: [develop] }\n";

/* "develop=3 main=3": ref creations of the same push. */
static void parse_push(struct fg_ref_updates *out, const char *text)
{
	const char *p = text ? text : "";
	char name[64];
	int commit, n;

	out->items = calloc(8, sizeof(*out->items));
	out->count = 0;
	while (*p && sscanf(p, "%63[^=]=%d%n", name, &commit, &n) == 2) {
		struct fg_ref_update *u = &out->items[out->count++];

		u->refname = malloc(strlen(name) + 12);
		snprintf(u->refname, strlen(name) + 12, "refs/heads/%s", name);
		oid_of(&u->old_id, 0);
		oid_of(&u->new_id, commit);
		p += n;
		while (*p == ' ')
			p++;
	}
}

static void run_scenario(const struct scenario *s)
{
	struct fg_ref_updates push;
	const char *text = s->allow_replace ? allow_replace_text : policy_text;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	struct fg_graph *graph = NULL;
	struct fake_graph *fake = parse_graph(s->commits, s->tips);
	struct fg_promotion ctx;
	struct fg_ref_update u;
	struct fg_verdict v;

	/* commit 9 stands for an annotated tag object of commit 4 */
	if (find(fake, 9))
		find(fake, 9)->is_tag_of = 4;
	assert_int_equal(fg_policy_parse(&policy, "policy.yaml", text, strlen(text),
					 &err), 0);
	assert_int_equal(fg_graph_new(&graph, &fake_ops, fake, &err), 0);
	assert_int_equal(fg_promotion_init(&ctx, graph, policy, s->pusher, s->forge_merge,
					   &err), 0);
	parse_push(&push, s->push);
	ctx.push = &push;
	u.refname = (char *)s->ref;
	oid_of(&u.old_id, s->old_id);
	oid_of(&u.new_id, s->new_id);
	assert_int_equal(fg_promotion_check_update(&ctx, &u, &v, &err), 0);
	fg_ref_updates_release(&push);
	assert_string_equal(v.target, s->expect_target ? s->expect_target : "");
	if (v.rule != s->expect)
		fail_msg("%s: expected %s, got %s (%s)", s->name, fg_rule_name(s->expect),
			 fg_rule_name(v.rule), v.explanation);
	assert_int_equal(v.bypassed, s->expect_bypassed);
	if (s->expect_text && !strstr(v.explanation, s->expect_text) &&
	    !strstr(v.hint, s->expect_text))
		fail_msg("%s: '%s' not in '%s' / '%s'", s->name, s->expect_text,
			 v.explanation, v.hint);
	if (v.rule != FG_RULE_OK)
		assert_true(v.hint[0] != '\0');
	fg_promotion_release(&ctx);
	fg_graph_free(graph);
	fg_policy_free(policy);
}

static void test_scenario(void **state)
{
	run_scenario(*state);
}

static void test_missing_object_is_an_error(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	struct fg_graph *graph = NULL;
	struct fg_promotion ctx;
	struct fg_ref_update u;
	struct fg_verdict v;

	assert_int_equal(fg_policy_parse(&policy, "p", policy_text, strlen(policy_text),
					 &err), 0);
	assert_int_equal(fg_graph_new(&graph, &fake_ops, parse_graph(BASE, "main=4"), &err), 0);
	assert_int_equal(fg_promotion_init(&ctx, graph, policy, NULL, false, &err), 0);
	u.refname = "refs/heads/main";
	oid_of(&u.old_id, 4);
	oid_of(&u.new_id, 42);
	assert_true(fg_promotion_check_update(&ctx, &u, &v, &err) < 0);
	assert_non_null(strstr(err.message, "missing"));
	fg_promotion_release(&ctx);
	fg_graph_free(graph);
	fg_policy_free(policy);
}

static void test_chain_limit_rejects(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	struct fg_graph *graph = NULL;
	struct fg_promotion ctx;
	struct fg_ref_update u;
	struct fg_verdict v;

	/* a chain of promotion merges longer than the limit */
	assert_int_equal(fg_policy_parse(&policy, "p", policy_text, strlen(policy_text),
					 &err), 0);
	assert_int_equal(fg_graph_new(&graph, &fake_ops,
				      parse_graph(BASE "6:1,4:c 7:6,4:c 8:7,4:c", "main=4 canary=1"),
				      &err), 0);
	assert_int_equal(fg_promotion_init(&ctx, graph, policy, NULL, false, &err), 0);
	ctx.max_chain = 2;
	u.refname = "refs/heads/canary";
	oid_of(&u.old_id, 1);
	oid_of(&u.new_id, 8);
	assert_int_equal(fg_promotion_check_update(&ctx, &u, &v, &err), 0);
	assert_int_equal(v.rule, FG_RULE_DIRECT_COMMIT);
	assert_non_null(strstr(v.explanation, "more than 2"));
	fg_promotion_release(&ctx);
	fg_graph_free(graph);
	fg_policy_free(policy);
}

/* Canary takes n promotion merges of main in one push: main has commits
 * 101..100+n on its first-parent chain, canary's merges are 201..200+n. */
static struct fake_graph *merge_train(int n)
{
	char text[2048];
	size_t len;
	int i;

	len = (size_t)snprintf(text, sizeof(text), "1:-:a ");
	for (i = 1; i <= n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%d:%d:%c %d:%d,%d:%c ",
					100 + i, i == 1 ? 1 : 99 + i, 'a' + i,
					200 + i, i == 1 ? 1 : 199 + i, 100 + i, 'a' + i);
	return parse_graph(text, "");
}

static int judge_train(int n, size_t max_source_walk, int *walks, struct fg_verdict *v,
		       struct fg_error *err)
{
	struct fg_policy *policy = NULL;
	struct fg_graph *graph = NULL;
	struct fake_graph *fake = merge_train(n);
	struct fg_promotion ctx;
	struct fg_ref_update u;
	int rc;

	fake->ntips = 2;
	snprintf(fake->tips[0].name, sizeof(fake->tips[0].name), "main");
	fake->tips[0].commit = 100 + n;
	snprintf(fake->tips[1].name, sizeof(fake->tips[1].name), "canary");
	fake->tips[1].commit = 1;
	assert_int_equal(fg_policy_parse(&policy, "p", policy_text, strlen(policy_text),
					 err), 0);
	assert_int_equal(fg_graph_new(&graph, &fake_ops, fake, err), 0);
	assert_int_equal(fg_promotion_init(&ctx, graph, policy, NULL, false, err), 0);
	ctx.max_source_walk = max_source_walk;
	u.refname = "refs/heads/canary";
	oid_of(&u.old_id, 1);
	oid_of(&u.new_id, 200 + n);
	rc = fg_promotion_check_update(&ctx, &u, v, err);
	*walks = fake->walks;
	fg_promotion_release(&ctx);
	fg_graph_free(graph);
	fg_policy_free(policy);
	return rc;
}

/* The work is one walk of the added chain plus one per source, however
 * many commits the push adds: never a question per commit. */
static void test_walks_do_not_grow_with_the_push(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_verdict v;
	int small, large;

	(void)state;
	assert_int_equal(judge_train(2, 200000, &small, &v, &err), 0);
	assert_int_equal(v.rule, FG_RULE_OK);
	assert_int_equal(judge_train(25, 200000, &large, &v, &err), 0);
	assert_int_equal(v.rule, FG_RULE_OK);
	assert_int_equal(small, 2);
	assert_int_equal(large, 2);
}

/* A source history longer than the walk may visit is refused, not trusted. */
static void test_source_walk_limit_fails_closed(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_verdict v;
	int walks;

	(void)state;
	assert_int_equal(judge_train(5, 3, &walks, &v, &err), FG_ELIMIT);
	assert_non_null(strstr(err.message, "longer than 3 commits"));
}

int main(void)
{
	struct CMUnitTest tests[sizeof(scenarios) / sizeof(scenarios[0]) + 4];
	size_t i, n = 0;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		tests[n].name = scenarios[i].name;
		tests[n].test_func = test_scenario;
		tests[n].setup_func = NULL;
		tests[n].teardown_func = NULL;
		tests[n].initial_state = (void *)&scenarios[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_missing_object_is_an_error);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_chain_limit_rejects);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_walks_do_not_grow_with_the_push);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_source_walk_limit_fails_closed);
	return _cmocka_run_group_tests("promotion", tests, n, NULL, NULL);
}
