#include "gate.h"
#include "gate_dryrun.h"
#include "gate_fleet.h"
#include "graph.h"
#include "judged.h"
#include "policy.h"
#include "promotion.h"
#include "serverlog.h"

#include <git2.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* The final word on one ref, logged once it is known (a ref the
 * promotion rules accept can still fail the fleet check). */
struct outcome {
	const char *verdict; /* accept, bypass, reject */
	const char *rule;    /* NULL for a plain accept */
	char *error;         /* internal errors only; owned */
};

struct gate {
	const struct fg_gate_input *in;
	struct fg_gate_result *result;
	const char *prefix; /* "GL-HOOK-ERR: " under GitLab, else "" */
	const char *pusher;
	struct outcome *outcomes; /* one per ref update; NULL on OOM */
	bool dry_run;             /* -o fleetgate.dry-run */
};

static void say(struct gate *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct gate *g, const char *fmt, ...)
{
	va_list ap;

	fg_buf_puts(&g->result->messages, g->prefix);
	va_start(ap, fmt);
	fg_buf_vprintf(&g->result->messages, fmt, ap);
	va_end(ap);
	fg_buf_putc(&g->result->messages, '\n');
}

static void reject_ref(struct gate *g, const struct fg_ref_update *u,
		       const struct fg_oid *at, const char *rule,
		       const char *explanation, const char *hint)
{
	say(g, "fleetgate: rejected %s %.7s: %s: %s; hint: %s", u->refname,
	    at->hex, rule, explanation, hint);
	g->result->rejected++;
}

static void set_outcome(struct gate *g, size_t i, const char *verdict,
			const char *rule, const char *error)
{
	struct outcome *o = g->outcomes ? &g->outcomes[i] : NULL;

	if (!o)
		return;
	o->verdict = verdict;
	o->rule = rule;
	free(o->error);
	o->error = error ? fg_strdup(error) : NULL;
}

/* Fail closed: one reason for every ref of the push. */
static void reject_all(struct gate *g, const struct fg_ref_updates *updates,
		       const char *rule, const char *why, const char *hint)
{
	size_t i;

	for (i = 0; i < updates->count; i++) {
		reject_ref(g, &updates->items[i], &updates->items[i].new_id, rule, why, hint);
		set_outcome(g, i, "reject", rule, why);
	}
	if (updates->count == 0) {
		say(g, "fleetgate: rejected the push: %s: %s; hint: %s", rule, why, hint);
		g->result->rejected++;
	}
}

int fg_gate_policy_path(char **out, const char *git_dir, struct fg_error *err)
{
	git_config *cfg = NULL;
	git_buf value = { 0 };
	char *config_path;
	int rc;

	*out = NULL;
	config_path = fg_asprintf("%s/config", git_dir ? git_dir : ".");
	if (!config_path)
		return fg_error_oom(err);
	git_libgit2_init();
	/* the repository's own config only: a pusher's or system config must
	 * not redirect the policy */
	rc = git_config_open_ondisk(&cfg, config_path);
	if (rc == 0)
		rc = git_config_get_string_buf(&value, cfg, "fleetgate.policy");
	if (rc == 0)
		*out = fg_strdup(value.ptr);
	else if (rc == GIT_ENOTFOUND)
		*out = fg_strdup(SYSCONFDIR "/fleetgate/policy.yaml");
	else
		rc = fg_error_set(err, FG_EIO, "unable to read '%s'", config_path);
	git_buf_dispose(&value);
	git_config_free(cfg);
	git_libgit2_shutdown();
	free(config_path);
	if (rc < 0 && rc != GIT_ENOTFOUND)
		return rc;
	return *out ? 0 : fg_error_oom(err);
}

/* Rule fleet-invalid: the fleet files of the new tip (fleet_check.h).
 * Returns the rule that rejects `u`, or NULL. */
static const char *judge_fleet(struct gate *g, struct fg_gate_fleet *gf,
			       const struct fg_ref_update *u, struct fg_error *err)
{
	struct fg_buf lines = FG_BUF_INIT;
	const char *rule = NULL;
	char why[128];
	int rc;

	if (!fg_gate_fleet_selects(gf, u))
		return NULL;
	rc = fg_gate_fleet_check(gf, u, g->prefix, &lines, why, sizeof(why), err);
	if (rc < 0) {
		rule = "internal-error";
		reject_ref(g, u, &u->new_id, rule, err->message,
			   "fleetgate could not check the fleet files and rejects "
			   "to be safe; tell the server admin");
	} else if (rc > 0) {
		rule = "fleet-invalid";
		reject_ref(g, u, &u->new_id, rule, why,
			   "fix them and push again; 'fleetgate check' shows the same "
			   "before you push (fleetgate-fleet(5))");
		fg_buf_put(&g->result->messages, lines.ptr ? lines.ptr : "", lines.len);
	}
	fg_buf_release(&lines);
	return rule;
}

/* A promotion verdict's line; a symbolic ref names the branch it was
 * judged as: "refs/heads/master (-> refs/heads/main)". */
static void reject_verdict(struct gate *g, const struct fg_ref_update *u,
			   const struct fg_verdict *v)
{
	if (!v->target[0]) {
		reject_ref(g, u, &v->at, fg_rule_name(v->rule), v->explanation, v->hint);
		return;
	}
	say(g, "fleetgate: rejected %s (-> %s) %.7s: %s: %s; hint: %s", u->refname,
	    v->target, v->at.hex, fg_rule_name(v->rule), v->explanation, v->hint);
	g->result->rejected++;
}

/* Rule notes-ref: refs/notes/fleetgate is the worker's record of every
 * rollout, written on the server only; a pushed note there would tell
 * pushers a rollout succeeded that never did (and a ref below it would
 * keep the worker from writing it at all). */
static bool is_notes_ref(const char *refname)
{
	static const char ref[] = "refs/notes/fleetgate";

	return !strcmp(refname, ref) ||
	       (!strncmp(refname, ref, sizeof(ref) - 1) && refname[sizeof(ref) - 1] == '/');
}

static void judge_ref(struct gate *g, struct fg_promotion *ctx,
		      struct fg_gate_fleet *gf, const struct fg_ref_updates *updates,
		      size_t i)
{
	const struct fg_ref_update *u = &updates->items[i];
	struct fg_error err = FG_ERROR_INIT;
	struct fg_ref_update judged;
	const char *fleet_rule;
	struct fg_verdict v;

	if (is_notes_ref(u->refname)) {
		reject_ref(g, u, &u->new_id, "notes-ref", "refs/notes/fleetgate holds "
			   "the rollout records the server writes; nobody pushes to it",
			   "read it with 'git fetch origin refs/notes/fleetgate:refs/notes/"
			   "fleetgate && git log --notes=fleetgate' and keep your own "
			   "notes under another ref");
		set_outcome(g, i, "reject", "notes-ref", NULL);
		return;
	}
	if (fg_promotion_check_update(ctx, u, &v, &err) < 0) {
		reject_ref(g, u, &u->new_id, "internal-error", err.message,
			   "fleetgate could not decide and rejects to be safe; "
			   "tell the server admin");
		set_outcome(g, i, "reject", "internal-error", err.message);
		return;
	}
	if (v.rule != FG_RULE_OK && !v.bypassed) {
		reject_verdict(g, u, &v);
		set_outcome(g, i, "reject", fg_rule_name(v.rule), NULL);
		return;
	}
	if (v.bypassed)
		/* break-glass: loud on purpose, so nobody mistakes it */
		say(g, "fleetgate: WARNING: %s bypassed the promotion rules for %s "
		    "(%s: %s); this push is accepted only because the policy "
		    "lists '%s' under bypass",
		    ctx->pusher, u->refname, fg_rule_name(v.rule), v.explanation,
		    ctx->pusher);
	/* break-glass is for the promotion order, not for fleet files Mender
	 * could not take; a symbolic ref moves its target, so the fleet check
	 * judges that */
	judged = *u;
	if (v.target[0])
		judged.refname = v.target;
	fleet_rule = judge_fleet(g, gf, &judged, &err);
	if (fleet_rule)
		set_outcome(g, i, "reject", fleet_rule, err.code ? err.message : NULL);
	else if (v.bypassed)
		set_outcome(g, i, "bypass", fg_rule_name(v.rule), NULL);
	else
		set_outcome(g, i, "accept", NULL, NULL);
}

/* One line per ref, after the whole push is decided. */
static void log_outcomes(struct gate *g, const struct fg_policy *policy,
			 const struct fg_ref_updates *updates)
{
	size_t i;

	for (i = 0; g->outcomes && i < updates->count; i++) {
		const struct fg_ref_update *u = &updates->items[i];
		const struct outcome *o = &g->outcomes[i];

		fg_serverlog(policy, "pre-receive", "ref", u->refname,
			     "old", u->old_id.hex, "new", u->new_id.hex,
			     "verdict", o->verdict ? o->verdict : "reject",
			     "rule", o->verdict ? o->rule : "internal-error",
			     "pusher", g->pusher, "error", o->error, NULL);
	}
}

/* post-receive rolls out only what is recorded here (judged.h); a record
 * that cannot be written rejects the push rather than lose its rollout. */
static void record_accepted(struct gate *g, const struct fg_ref_updates *updates)
{
	struct fg_error err = FG_ERROR_INIT;
	char *git_dir = fg_gate_git_dir(g->in);
	size_t i;

	if (!git_dir) {
		reject_all(g, updates, "internal-error", "cannot find the repository",
			   "tell the server admin");
		return;
	}
	fg_judged_prune(git_dir, time(NULL) - FG_JUDGED_MAX_AGE);
	/* branches only: post-receive rolls out nothing else, and each
	 * record costs two fsyncs */
	for (i = 0; i < updates->count; i++)
		if (!fg_oid_is_zero(&updates->items[i].new_id) &&
		    fg_ref_branch_name(updates->items[i].refname) &&
		    fg_judged_record(git_dir, &updates->items[i], &err) < 0)
			break;
	if (i < updates->count)
		reject_all(g, updates, "internal-error", err.message,
			   "fleetgate could not record its verdict for post-receive and "
			   "rejects to be safe; tell the server admin");
	free(git_dir);
}

static void finish_push(struct gate *g, const struct fg_policy *policy,
			const struct fg_ref_updates *updates)
{
	size_t i;

	if (g->result->rejected == 0 && g->dry_run) {
		fg_gate_dry_run(g->in, policy, updates, g->prefix, &g->result->messages);
		for (i = 0; i < updates->count; i++)
			set_outcome(g, i, "reject", "dry-run", NULL);
		g->result->dry_run = true;
	} else if (g->result->rejected == 0) {
		record_accepted(g, updates);
	}
	log_outcomes(g, policy, updates);
}


static void judge_updates(struct gate *g, struct fg_promotion *ctx,
			  struct fg_gate_fleet *gf,
			  const struct fg_ref_updates *updates)
{
	size_t i;

	ctx->push = updates;
	for (i = 0; i < updates->count; i++)
		judge_ref(g, ctx, gf, updates, i);
}

static void judge_push(struct gate *g, const struct fg_ref_updates *updates)
{
	const struct fg_gate_input *in = g->in;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	struct fg_graph *graph = NULL;
	struct fg_promotion ctx;
	struct fg_gate_fleet *gf = NULL;
	char *policy_path = NULL;

	if (in->policy_path)
		policy_path = fg_strdup(in->policy_path);
	else if (fg_gate_policy_path(&policy_path, in->git_dir, &err) < 0)
		policy_path = NULL;
	if (!policy_path) {
		reject_all(g, updates, "policy-error", err.code ? err.message : "out of memory",
			   "tell the server admin");
		return;
	}
	if (fg_policy_load(&policy, policy_path, &err) < 0) {
		reject_all(g, updates, "policy-error", err.message,
			   "the server admin must fix the policy (check it with "
			   "'fleetgate policy check FILE'); every push is refused until then");
		goto out;
	}
	if (fg_graph_open(&graph, in->git_dir, &err) < 0 ||
	    fg_promotion_init(&ctx, graph, policy, g->pusher,
			      fg_hook_is_forge_merge(in->lookup), &err) < 0) {
		reject_all(g, updates, "internal-error", err.message, "tell the server admin");
		goto finish;
	}
	if (fg_gate_fleet_open(&gf, in->git_dir, policy, updates, &ctx.tips, &err) < 0) {
		reject_all(g, updates, "internal-error", err.message, "tell the server admin");
		fg_promotion_release(&ctx);
		goto finish;
	}
	judge_updates(g, &ctx, gf, updates);
	fg_promotion_release(&ctx);
	fg_gate_fleet_free(gf);
finish:
	finish_push(g, policy, updates);
out:
	fg_graph_free(graph);
	fg_policy_free(policy);
	free(policy_path);
}

/* Push options we cannot read (too many, too long) are no dry run: the
 * push is then judged as if none had been given. */
static bool wants_dry_run(const struct fg_gate_input *in)
{
	struct fg_push_options opts = { NULL, 0 };
	bool yes = fg_hook_parse_push_options(&opts, in->lookup, NULL) == 0 &&
		   fg_push_options_has(&opts, "fleetgate.dry-run");

	fg_push_options_release(&opts);
	return yes;
}

void fg_gate_run(const struct fg_gate_input *in, struct fg_gate_result *result)
{
	struct fg_ref_updates updates = { NULL, 0 };
	struct fg_error err = FG_ERROR_INIT;
	struct gate g = { .in = in, .result = result };
	size_t i;

	memset(result, 0, sizeof(*result));
	/* one libgit2 runtime for the whole decision: its start-up (which
	 * parses the system's CA bundle) is the largest fixed cost of a push */
	git_libgit2_init();
	g.prefix = fg_hook_is_gitlab(in->lookup) ? "GL-HOOK-ERR: " : "";
	g.pusher = fg_hook_pusher(in->lookup);
	g.dry_run = wants_dry_run(in);
	if (fg_hook_parse_updates(&updates, in->stdin_data, in->stdin_len, &err) < 0) {
		reject_all(&g, &updates, "internal-error", err.message,
			   "this is not input git sends; tell the server admin");
		goto out;
	}
	result->refs = updates.count;
	g.outcomes = calloc(updates.count ? updates.count : 1, sizeof(*g.outcomes));
	if (!g.outcomes) {
		reject_all(&g, &updates, "internal-error", "out of memory",
			   "tell the server admin");
		goto out;
	}
	judge_push(&g, &updates);
out:
	if (result->rejected)
		say(&g, "fleetgate: push rejected: %zu of %zu refs break the rules",
		    result->rejected, result->refs);
	/* a dry run ends with the same words whatever the rules said, so the
	 * pusher never wonders whether it landed */
	if (g.dry_run)
		say(&g, "fleetgate: dry run: nothing was pushed");
	/* a message we could not even format still must not let the push in */
	result->accepted = result->rejected == 0 && !result->dry_run &&
			   !result->messages.failed;
	for (i = 0; g.outcomes && i < updates.count; i++)
		free(g.outcomes[i].error);
	free(g.outcomes);
	fg_ref_updates_release(&updates);
	git_libgit2_shutdown();
}

char *fg_gate_git_dir(const struct fg_gate_input *in)
{
	const char *dir = in->git_dir ? in->git_dir : in->lookup("GIT_DIR");
	char abs[PATH_MAX];

	if (!dir || !*dir)
		dir = ".";
	return realpath(dir, abs) ? fg_strdup(abs) : NULL;
}

void fg_gate_result_release(struct fg_gate_result *result)
{
	fg_buf_release(&result->messages);
}
