#include "gate.h"
#include "gate_fleet.h"
#include "graph.h"
#include "policy.h"
#include "promotion.h"
#include "serverlog.h"

#include <git2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

struct gate {
	const struct fg_gate_input *in;
	struct fg_gate_result *result;
	const char *prefix; /* "GL-HOOK-ERR: " under GitLab, else "" */
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

/* Fail closed: one reason for every ref of the push. */
static void reject_all(struct gate *g, const struct fg_ref_updates *updates,
		       const char *rule, const char *why, const char *hint)
{
	size_t i;

	for (i = 0; i < updates->count; i++)
		reject_ref(g, &updates->items[i], &updates->items[i].new_id, rule, why, hint);
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

/* Rule fleet-invalid: the fleet files of the new tip (fleet_check.h). */
static void judge_fleet(struct gate *g, struct fg_gate_fleet *gf,
			const struct fg_ref_update *u)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_buf lines = FG_BUF_INIT;
	char why[128];
	int rc;

	if (!fg_gate_fleet_selects(gf, u))
		return;
	rc = fg_gate_fleet_check(gf, u, g->prefix, &lines, why, sizeof(why), &err);
	if (rc < 0)
		reject_ref(g, u, &u->new_id, "internal-error", err.message,
			   "fleetgate could not check the fleet files and rejects "
			   "to be safe; tell the server admin");
	else if (rc > 0) {
		reject_ref(g, u, &u->new_id, "fleet-invalid", why,
			   "fix them and push again; 'fleetgate check' shows the same "
			   "before you push (fleetgate-fleet(5))");
		fg_buf_put(&g->result->messages, lines.ptr ? lines.ptr : "", lines.len);
	}
	fg_buf_release(&lines);
}

static void judge_updates(struct gate *g, struct fg_promotion *ctx,
			  struct fg_gate_fleet *gf,
			  const struct fg_ref_updates *updates)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_verdict v;
	size_t i;

	for (i = 0; i < updates->count; i++) {
		const struct fg_ref_update *u = &updates->items[i];

		fg_error_clear(&err);
		if (fg_promotion_check_update(ctx, u, &v, &err) < 0) {
			reject_ref(g, u, &u->new_id, "internal-error", err.message,
				   "fleetgate could not decide and rejects to be safe; "
				   "tell the server admin");
			fg_serverlog(ctx->policy, "pre-receive", "ref", u->refname,
				     "verdict", "reject", "rule", "internal-error",
				     "pusher", ctx->pusher, "error", err.message, NULL);
			continue;
		}
		fg_serverlog(ctx->policy, "pre-receive", "ref", u->refname,
			     "old", u->old_id.hex, "new", u->new_id.hex,
			     "verdict", v.rule == FG_RULE_OK ? "accept"
				     : v.bypassed ? "bypass" : "reject",
			     "rule", v.rule == FG_RULE_OK ? NULL : fg_rule_name(v.rule),
			     "pusher", ctx->pusher, NULL);
		if (v.rule == FG_RULE_OK) {
			judge_fleet(g, gf, u);
			continue;
		}
		if (v.bypassed) {
			/* break-glass: loud on purpose, so nobody mistakes it */
			say(g, "fleetgate: WARNING: %s bypassed the promotion rules for %s "
			    "(%s: %s); this push is accepted only because the policy "
			    "lists '%s' under bypass",
			    ctx->pusher, u->refname, fg_rule_name(v.rule), v.explanation,
			    ctx->pusher);
			/* break-glass is for the promotion order, not for
			 * fleet files Mender could not take */
			judge_fleet(g, gf, u);
			continue;
		}
		reject_ref(g, u, &v.at, fg_rule_name(v.rule), v.explanation, v.hint);
	}
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
	    fg_promotion_init(&ctx, graph, policy,
			      fg_hook_pusher(in->lookup),
			      fg_hook_is_forge_merge(in->lookup), &err) < 0) {
		reject_all(g, updates, "internal-error", err.message, "tell the server admin");
		goto out;
	}
	if (fg_gate_fleet_open(&gf, in->git_dir, policy, updates, &ctx.tips, &err) < 0) {
		reject_all(g, updates, "internal-error", err.message, "tell the server admin");
		fg_promotion_release(&ctx);
		goto out;
	}
	judge_updates(g, &ctx, gf, updates);
	fg_promotion_release(&ctx);
	fg_gate_fleet_free(gf);
out:
	fg_graph_free(graph);
	fg_policy_free(policy);
	free(policy_path);
}

/* Rule notes-ref: refs/notes/fleetgate is the worker's record of every
 * rollout, written on the server only; a pushed note there would tell
 * pushers a rollout succeeded that never did (and a ref below it would
 * keep the worker from writing it at all). */
static void judge_notes_ref(struct gate *g, const struct fg_ref_updates *updates)
{
	static const char ref[] = "refs/notes/fleetgate";
	size_t i;

	for (i = 0; i < updates->count; i++) {
		const struct fg_ref_update *u = &updates->items[i];

		if (strcmp(u->refname, ref) &&
		    (strncmp(u->refname, ref, sizeof(ref) - 1) || u->refname[sizeof(ref) - 1] != '/'))
			continue;
		reject_ref(g, u, &u->new_id, "notes-ref", "refs/notes/fleetgate holds "
			   "the rollout records the server writes; nobody pushes to it",
			   "read it with 'git fetch origin refs/notes/fleetgate:refs/notes/"
			   "fleetgate && git log --notes=fleetgate' and keep your own "
			   "notes under another ref");
	}
}

void fg_gate_run(const struct fg_gate_input *in, struct fg_gate_result *result)
{
	struct fg_ref_updates updates = { NULL, 0 };
	struct fg_error err = FG_ERROR_INIT;
	struct gate g;

	memset(result, 0, sizeof(*result));
	/* one libgit2 runtime for the whole decision: its start-up (which
	 * parses the system's CA bundle) is the largest fixed cost of a push */
	git_libgit2_init();
	g.in = in;
	g.result = result;
	g.prefix = fg_hook_is_gitlab(in->lookup) ? "GL-HOOK-ERR: " : "";
	if (fg_hook_parse_updates(&updates, in->stdin_data, in->stdin_len, &err) < 0) {
		reject_all(&g, &updates, "internal-error", err.message,
			   "this is not input git sends; tell the server admin");
		goto out;
	}
	result->refs = updates.count;
	judge_notes_ref(&g, &updates);
	judge_push(&g, &updates);
out:
	if (result->rejected)
		say(&g, "fleetgate: push rejected: %zu of %zu refs break the rules",
		    result->rejected, result->refs);
	/* a message we could not even format still must not let the push in */
	result->accepted = result->rejected == 0 && !result->messages.failed;
	fg_ref_updates_release(&updates);
	git_libgit2_shutdown();
}

void fg_gate_result_release(struct fg_gate_result *result)
{
	fg_buf_release(&result->messages);
}
