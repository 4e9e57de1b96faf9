/* The rollout engine: facts, subscriptions, desired state and scope
 * (rollout_*.c), the plan (plan.h), then aborts, deployments and
 * configurations in that order. */
#include "rollout.h"
#include "gitcli.h"
#include "rollout_int.h"

#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "http.h"
#include "policy.h"
#include "report.h"
#include "serverlog.h"

struct run {
	const struct fg_rollout_options *o;
	git_repository *repo;
	char git_dir[PATH_MAX]; /* absolute: the state's key */
	git_oid commit;
	char hex[GIT_OID_HEXSZ + 1];
	char tree_hex[GIT_OID_HEXSZ + 1];
	char short_id[8];
	char *state_dir;
	struct fg_mender *m;
	struct fg_rollout_facts facts;
	struct fg_rollout_subs subscriptions;
	struct fg_rollout_desired desired;
	struct fg_rollout_ids scope, prev_subs, subs;
	int full;          /* compare every subscriber's configuration */
	size_t *in_scope;  /* fact indices whose configuration is fetched */
	size_t nin_scope;
	size_t config_unfetched;
	struct fg_error config_err; /* why the first of those failed */
	int git_init;
	struct fg_plan *plan;
	json_t *deployments, *errors;
	size_t aborted, deployed, configured, failed;
	struct fg_error first; /* the first apply error */
};

static int git_fail(struct fg_error *err, int code, const char *what)
{
	const git_error *e = git_error_last();

	return fg_error_set(err, code, "%s: %s", what, e ? e->message : "failed");
}

/* ---- setup ---- */

static int resolve_commit(struct run *r, struct fg_error *err)
{
	const struct fg_rollout_options *o = r->o;
	git_object *obj = NULL, *commit = NULL;
	char *spec = o->rev ? fg_strdup(o->rev) : fg_asprintf("refs/heads/%s", o->branch);
	int rc = 0;

	if (!spec)
		return fg_error_oom(err);
	if (git_revparse_single(&obj, r->repo, spec) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0)
		rc = o->rev ? fg_error_set(err, FG_ENOTFOUND, "no commit '%s' in %s",
					   o->rev, o->git_dir) :
			fg_error_set(err, FG_ENOTFOUND, "no branch '%s' in %s", o->branch,
				     o->git_dir);
	else
		git_oid_cpy(&r->commit, git_object_id(commit));
	if (commit)
		git_oid_tostr(r->tree_hex, sizeof(r->tree_hex),
			      git_commit_tree_id((git_commit *)commit));
	git_oid_tostr(r->hex, sizeof(r->hex), &r->commit);
	memcpy(r->short_id, r->hex, 7);
	git_object_free(commit);
	git_object_free(obj);
	free(spec);
	return rc;
}

/* Rule rollout-branches: only branches the admin listed ever reach devices;
 * a job for another (an old job file, a hand-made one) is refused too. */
static int check_branch(const struct fg_rollout_options *o, struct fg_error *err)
{
	if (!o->git_dir || !o->branch || !*o->branch)
		return fg_error_set(err, FG_EINVALID, "a repository and a branch are needed");
	if (!o->policy)
		return fg_error_set(err, FG_EPERM, "no server policy: which branches roll "
				    "out and which devices follow them is the policy's to "
				    "say; pass --policy FILE");
	if (!fg_policy_rolls_out(o->policy, o->branch))
		return fg_error_set(err, FG_EPERM, "branch '%s' is never rolled out "
				    "(rollout-branches): the policy lists it neither under "
				    "'branches' nor literally in a promote_from; the server "
				    "admin adds it there if devices should follow it",
				    o->branch);
	return 0;
}

static int add_objects(git_repository *repo, const char *dir)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, repo);

	if (rc == 0)
		rc = git_odb_add_disk_alternate(odb, dir);
	git_odb_free(odb);
	return rc;
}

static int open_repo(struct run *r, struct fg_error *err)
{
	const struct fg_rollout_options *o = r->o;
	int rc = check_branch(o, err);

	if (rc < 0)
		return rc;
	git_libgit2_init();
	r->git_init = 1;
	if ((rc = fg_git_open(&r->repo, o->git_dir, err)) < 0)
		return rc;
	if (o->quarantine && add_objects(r->repo, o->quarantine) < 0)
		return git_fail(err, FG_ENOTFOUND, o->quarantine);
	if (!realpath(o->git_dir, r->git_dir))
		return fg_error_set(err, FG_ENOTFOUND, "%s: %s", o->git_dir, strerror(errno));
	r->state_dir = o->state_dir ? fg_strdup(o->state_dir) :
		fg_asprintf("%s/fleetgate", r->git_dir);
	if (!r->state_dir)
		return fg_error_oom(err);
	return resolve_commit(r, err);
}

static const char *pick(const char *override, const char *policy_value)
{
	return override ? override : policy_value;
}

int fg_rollout_mender_open(struct fg_mender **m, const struct fg_rollout_options *o,
			   int max_retries, struct fg_error *err)
{
	const struct fg_policy *p = o->policy;
	struct fg_mender_opts mo = FG_MENDER_OPTS_INIT;
	int rc;

	*m = NULL;
	mo.url = pick(o->mender_url, p ? p->mender.url : NULL);
	mo.token_file = pick(o->token_file, p ? p->mender.token_file : NULL);
	mo.max_retries = max_retries;
	if (p) {
		mo.username_file = p->mender.username_file;
		mo.password_file = p->mender.password_file;
		mo.ca_file = p->mender.ca_file;
		mo.timeout_seconds = p->mender.timeout_seconds;
	}
	if (!mo.url)
		return fg_error_set(err, FG_EINVALID, "no Mender server: set mender.url in "
				    "the policy (or --mender-url)");
	if ((rc = fg_http_global_init(err)) < 0)
		return rc;
	rc = fg_mender_open(m, &mo, err);
	if (rc < 0)
		fg_http_global_cleanup();
	return rc;
}

void fg_rollout_mender_close(struct fg_mender *m)
{
	if (!m)
		return;
	fg_mender_close(m);
	fg_http_global_cleanup();
}

static int open_mender(struct run *r, struct fg_error *err)
{
	return fg_rollout_mender_open(&r->m, r->o, 0, err);
}

/* ---- facts and scope ---- */

static bool follows_branch(void *ctx, const char *id)
{
	struct run *r = ctx;
	size_t i = fg_rollout_facts_find(&r->facts, id);
	const char *tag = i == (size_t)-1 ? NULL : r->facts.items[i].tag_branch;
	const char *branch = fg_rollout_subs_follows(&r->subscriptions, tag, id);

	return branch && !strcmp(branch, r->o->branch);
}

/* The configuration scope: what changed since the last rollout of the
 * branch, plus the devices that joined the branch since (by their tag). */
static int load_scope(struct run *r, struct fg_error *err)
{
	git_oid last;
	int rc;

	r->full = 1;
	if (r->o->full)
		return 0;
	rc = fg_rollout_state_get(r->state_dir, r->git_dir, r->o->branch, &last,
				  &r->prev_subs, err);
	if (rc == FG_ENOTFOUND)
		return 0; /* first rollout of this branch: a full one */
	if (rc < 0)
		return rc;
	return fg_rollout_scope_diff(&r->scope, &r->full, r->repo, &last, &r->commit, err);
}

static int collect_subscribers(struct run *r, struct fg_error *err)
{
	size_t i;

	if (!(r->in_scope = calloc(r->facts.count ? r->facts.count : 1, sizeof(size_t))))
		return fg_error_oom(err);
	for (i = 0; i < r->facts.count; i++) {
		const char *id = r->facts.items[i].id;

		if (!follows_branch(r, id))
			continue;
		if (fg_rollout_ids_add(&r->subs, id) < 0)
			return fg_error_oom(err);
		if (!r->full && !fg_rollout_ids_has(&r->scope, id) &&
		    fg_rollout_ids_has(&r->prev_subs, id))
			continue;
		r->in_scope[r->nin_scope++] = i;
	}
	return 0;
}

/* Devices that joined the branch by their tag are compared too: the scope
 * passed to the planner holds every fetched device. */
static int widen_scope(struct run *r, struct fg_error *err)
{
	struct fg_rollout_ids changed = r->scope; /* the sorted part */
	size_t i;

	if (r->full)
		return 0;
	for (i = 0; i < r->nin_scope; i++) {
		const char *id = r->facts.items[r->in_scope[i]].id;

		changed.items = r->scope.items; /* an add may move them */
		if (!fg_rollout_ids_has(&changed, id) && fg_rollout_ids_add(&r->scope, id) < 0)
			return fg_error_oom(err);
	}
	fg_rollout_ids_sort(&r->scope);
	return 0;
}

/* A malformed or oversized answer is Mender failing, like a 500: the queue
 * retries it later. */
static int mender_rc(int rc, struct fg_error *err)
{
	if (rc != FG_EINVALID && rc != FG_ELIMIT)
		return rc;
	if (err)
		err->code = FG_ENET;
	return FG_ENET;
}

static int gather(struct run *r, struct fg_error *err)
{
	const struct fg_policy *p = r->o->policy;
	struct fg_rollout_load in = {
		.repo = r->repo, .commit = &r->commit, .branch = r->o->branch,
		.secrets_dir = pick(r->o->secrets_dir, p->secrets_dir), .policy = p,
		.follows = follows_branch, .follows_ctx = r,
	};
	int rc;

	if ((rc = mender_rc(fg_rollout_facts_devices(&r->facts, r->m, err), err)) < 0 ||
	    (rc = mender_rc(fg_rollout_facts_active(&r->facts, r->m, 0, err), err)) < 0 ||
	    (rc = fg_rollout_subs_load(&r->subscriptions, r->repo,
				       fg_policy_subscriptions_branch(p), err)) < 0 ||
	    (rc = fg_rollout_desired_load(&r->desired, &in, err)) < 0 ||
	    (rc = load_scope(r, err)) < 0 ||
	    (rc = collect_subscribers(r, err)) < 0 ||
	    (rc = widen_scope(r, err)) < 0)
		return rc;
	return fg_rollout_facts_config(&r->facts, r->m, r->in_scope, r->nin_scope,
				       &r->config_unfetched, &r->config_err, err);
}

static int build_plan(struct run *r, struct fg_error *err)
{
	static const char *const none[1] = { NULL };
	struct fg_plan_input in = { 0 };

	fg_plan_free(r->plan);
	r->plan = NULL;
	in.branch = r->o->branch;
	in.commit = r->short_id;
	in.facts = r->facts.items;
	in.nfacts = r->facts.count;
	in.desired = &r->desired.plan;
	in.subscriptions = r->subscriptions.exists ? &r->subscriptions.plan : NULL;
	in.config_scope = r->full ? NULL : r->scope.count ?
		(const char *const *)r->scope.items : none; /* NULL would mean all */
	in.nconfig_scope = r->full ? 0 : r->scope.count;
	return fg_plan_build(&r->plan, &in, err);
}

/* An abort also cancels a pending configuration deployment, which the
 * planner redeploys; only then are those deployments' devices asked for. */
static int plan(struct run *r, struct fg_error *err)
{
	int rc = build_plan(r, err);

	if (rc < 0 || r->plan->naborts == 0 ||
	    !fg_rollout_facts_has_config_deployments(&r->facts))
		return rc;
	if ((rc = mender_rc(fg_rollout_facts_active(&r->facts, r->m, 1, err), err)) < 0)
		return rc;
	return build_plan(r, err);
}

/* ---- apply ---- */

static void progress(struct run *r, const char *what, size_t done, size_t total)
{
	if (!r->o->progress || (done % 64 && done != total))
		return;
	fprintf(r->o->progress, "\rfleetgate: %s %zu/%zu ", what, done, total);
	if (done == total)
		fputc('\n', r->o->progress);
	fflush(r->o->progress);
}

static void failed(struct run *r, const struct fg_error *e)
{
	if (r->failed++ == 0)
		r->first = *e;
	json_array_append_new(r->errors, json_string(e->message));
}

static int apply_aborts(struct run *r)
{
	struct fg_error e = FG_ERROR_INIT;
	const char **ids;
	size_t i;
	int rc;

	if (!r->plan->naborts)
		return 0;
	if (!(ids = calloc(r->plan->naborts, sizeof(*ids)))) {
		fg_error_oom(&e);
		failed(r, &e);
		return FG_ENOMEM;
	}
	for (i = 0; i < r->plan->naborts; i++)
		ids[i] = r->plan->devices[r->plan->aborts[i]].id;
	progress(r, "aborting", 0, r->plan->naborts);
	rc = fg_mender_abort_devices(r->m, ids, r->plan->naborts, &e);
	free(ids);
	if (rc < 0) {
		failed(r, &e);
		return rc;
	}
	r->aborted = r->plan->naborts;
	progress(r, "aborting", r->aborted, r->aborted);
	return 0;
}

static void apply_deployment(struct run *r, const struct fg_plan_deployment *d)
{
	struct fg_error e = FG_ERROR_INIT;
	char *id = NULL;
	int rc = fg_mender_create_deployment(r->m, d->name, d->artifact, d->ids,
					     d->count, &id, &e);

	if (rc < 0)
		failed(r, &e);
	else
		r->deployed++;
	json_array_append_new(r->deployments, json_pack("{s:s?, s:s, s:s, s:I, s:s}",
		"id", id, "name", d->name, "artifact", d->artifact,
		"devices", (json_int_t)d->count, "result",
		rc < 0 ? "failed" : rc == FG_MENDER_EXISTS ? "exists" : "created"));
	free(id);
}

static int config_done(void *ctx, size_t index, int rc, const struct fg_error *e)
{
	struct run *r = ctx;

	if (rc < 0)
		failed(r, e);
	else
		r->configured++;
	progress(r, "configurations", index + 1, r->plan->nconfigs);
	return 0;
}

/* PUT then deploy, each a parallel batch over every planned device. */
static void apply_configs(struct run *r)
{
	const struct fg_plan *p = r->plan;
	const char **ids = calloc(p->nconfigs ? p->nconfigs : 1, sizeof(*ids));
	json_t **maps = calloc(p->nconfigs ? p->nconfigs : 1, sizeof(*maps));
	struct fg_error e = FG_ERROR_INIT;
	size_t i;

	if (!ids || !maps)
		fg_error_oom(&e);
	for (i = 0; ids && maps && i < p->nconfigs; i++) {
		ids[i] = p->devices[p->configs[i]].id;
		maps[i] = p->devices[p->configs[i]].configuration;
	}
	if (e.code || fg_mender_config_apply_many(r->m, ids, maps, p->nconfigs,
						  config_done, r, &e) < 0)
		failed(r, &e);
	free(ids);
	free(maps);
}

static void apply(struct run *r)
{
	const struct fg_plan *p = r->plan;
	size_t i;

	if (apply_aborts(r) < 0)
		return; /* new deployments would queue behind the old ones */
	for (i = 0; i < p->ndeployments; i++) {
		apply_deployment(r, &p->deployments[i]);
		progress(r, "deployments", i + 1, p->ndeployments);
	}
	if (p->nconfigs)
		apply_configs(r);
}

/* ---- report ---- */

static int render(struct run *r, struct fg_error *err)
{
	int rc = 0;

	if (r->o->text_report)
		rc = fg_report_text(r->o->text_report, r->plan, 0, err);
	if (rc == 0 && r->o->json_report)
		rc = fg_report_json(r->o->json_report, r->plan, err);
	return rc;
}

static void summary(struct run *r)
{
	FILE *out = r->o->text_report;

	if (!out || r->o->dry_run)
		return;
	fprintf(out, "\napplied: %zu aborted, %zu of %zu deployments, %zu of %zu "
		"configurations; %zu error(s)\n", r->aborted,
		r->deployed,
		r->plan->ndeployments, r->configured, r->plan->nconfigs, r->failed);
}

/* Configurations the policy's `secrets` kept from devices, for the outcome:
 * names only. Also logs one line per device on a real run. */
static json_t *withheld_and_log(struct run *r)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; list && i < r->plan->ndevices; i++) {
		const struct fg_plan_device *dev = &r->plan->devices[i];

		if (dev->config != FG_PLAN_CONFIG_WITHHELD)
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s}", "device", dev->id,
						      "secret", dev->withheld));
		if (!r->o->dry_run)
			fg_serverlog(r->o->policy, "rollout", "branch", r->o->branch,
				     "device", dev->id, "verdict", "configuration-withheld",
				     "secret", dev->withheld, "rule", "policy secrets", NULL);
	}
	return list;
}

static json_t *outcome(struct run *r)
{
	return json_pack("{s:s, s:s, s:b, s:b, s:b, s:o?, s:O, s:I, s:{s:I, s:I}, s:o?,"
			 " s:I, s:O}",
		"branch", r->o->branch, "commit", r->hex, "dry_run", r->o->dry_run,
		"full", r->full, "empty", fg_plan_is_empty(r->plan),
		"totals", fg_report_totals_json(r->plan), "deployments", r->deployments,
		"aborted", (json_int_t)r->aborted, "configurations",
		"deployed", (json_int_t)r->configured,
		"planned", (json_int_t)r->plan->nconfigs, "withheld", withheld_and_log(r),
		"warnings", (json_int_t)r->plan->warnings.count, "errors", r->errors);
}

/* After a complete rollout only: a partial one is redone in full next time.
 * The state only saves work, so failing to write it fails nothing: the
 * outcome and the text report say so, and the next run is a full one. */
/* The record of this rollout (opts->record): the counts of the plan, and
 * whether the worker follows it. Not writing it fails the run, which the
 * queue retries: a rollout nobody can follow must not look finished. */
static int record(struct run *r, json_t *report, struct fg_error *err)
{
	struct fg_rollout_record_in in = {
		.git_dir = r->git_dir, .state_dir = r->state_dir,
		.branch = r->o->branch, .commit = r->hex,
		.tree = r->tree_hex, .plan = r->plan, .deployments = r->deployments,
		.active = &r->facts.active, .now = time(NULL),
		.timeout = r->o->policy->follow_timeout,
	};
	bool follow;
	int rc;

	if (!r->o->record || r->o->dry_run)
		return 0;
	if ((rc = fg_rollout_record_begin(&in, &follow, err)) < 0)
		return rc;
	return json_object_set_new(report, "follow", json_boolean(follow)) < 0
		? fg_error_oom(err) : 0;
}

static int remember(struct run *r, json_t *report)
{
	struct fg_error e = FG_ERROR_INIT;

	/* After a withheld configuration the next run compares every device,
	 * so a secret the policy allows later reaches them. */
	if (r->o->dry_run || r->failed || r->config_unfetched ||
	    r->plan->totals.config_withheld)
		return 0;
	fg_rollout_ids_sort(&r->subs);
	if (fg_rollout_state_set(r->state_dir, r->git_dir, r->o->branch, &r->commit,
				 &r->subs, &e) == 0)
		return 0;
	json_object_set_new(report, "state_error", json_string(e.message));
	if (r->o->text_report)
		fprintf(r->o->text_report, "warning: the rolled-out commit was not "
			"remembered (%s); the next rollout compares every device\n",
			e.message);
	return 0;
}

static void run_release(struct run *r)
{
	fg_plan_free(r->plan); /* before the desired state wipes the secrets */
	fg_rollout_desired_release(&r->desired);
	fg_rollout_subs_release(&r->subscriptions);
	fg_rollout_facts_release(&r->facts);
	fg_rollout_ids_release(&r->scope);
	fg_rollout_ids_release(&r->prev_subs);
	fg_rollout_ids_release(&r->subs);
	free(r->in_scope);
	fg_rollout_mender_close(r->m);
	git_repository_free(r->repo);
	free(r->state_dir);
	json_decref(r->deployments);
	json_decref(r->errors);
	if (r->git_init)
		git_libgit2_shutdown();
}

static int finish(struct run *r, json_t **report, struct fg_error *err)
{
	int rc;

	if (r->config_unfetched) {
		struct fg_error e = r->config_err;

		fg_error_prefix(&e, "%zu device configuration(s) could not be read",
				r->config_unfetched);
		failed(r, &e);
	}
	if (!(*report = outcome(r)))
		return fg_error_oom(err);
	if (r->failed) {
		*err = r->first;
		fg_error_prefix(err, "%zu Mender call(s) failed; the first", r->failed);
		/* refused credentials stay FG_EPERM: the queue fails the job */
		return err->code = r->first.code == FG_EPERM ? FG_EPERM : FG_ENET;
	}
	if ((rc = record(r, *report, err)) < 0)
		return rc;
	return remember(r, *report);
}

int fg_rollout_run(const struct fg_rollout_options *opts, json_t **report,
		   struct fg_error *err)
{
	struct run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.o = opts;
	*report = NULL;
	r.deployments = json_array();
	r.errors = json_array();
	if (!r.deployments || !r.errors)
		rc = fg_error_oom(err);
	else if ((rc = open_repo(&r, err)) == 0 && (rc = open_mender(&r, err)) == 0 &&
		 (rc = gather(&r, err)) == 0 && (rc = plan(&r, err)) == 0 &&
		 (rc = render(&r, err)) == 0) {
		if (!opts->dry_run)
			apply(&r);
		summary(&r);
		rc = finish(&r, report, err);
	}
	run_release(&r);
	return rc;
}
