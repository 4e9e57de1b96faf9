/*
 * fleetgate queue: list, drain, retry and drop rollout jobs.
 *
 *   fleetgate queue [list] [--repo DIR] [--format json]
 *   fleetgate queue run [--repo DIR | --scan ROOT] [--now] [--wait]
 *   fleetgate queue retry ID [--repo DIR]
 *   fleetgate queue drop ID [--repo DIR]
 */
#include "commands.h"
#include "buf.h"
#include "gate.h"
#include "policy.h"
#include "postreceive.h"
#include "queue.h"
#include "rollout.h"
#include "serverlog.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A detached worker waits for retries at most this long, then leaves the
 * rest to the systemd timer (fleetgate-queue.timer). */
#define WORKER_MAX_WAIT 600
#define SCAN_DEPTH 4 /* GitLab: @hashed/ab/cd/<hash>.git */

static const char usage[] =
	"usage: fleetgate queue [list] [--repo DIR] [--format json]\n"
	"       fleetgate queue run [--repo DIR | --scan ROOT] [--now] [--wait]\n"
	"       fleetgate queue retry ID [--repo DIR]\n"
	"       fleetgate queue drop ID [--repo DIR]\n";

struct queue_args {
	const char *action;
	const char *repo;
	const char *scan;
	const char *format;
	unsigned long id;
	bool now, wait;
};

struct repo_ctx {
	char *git_dir;
	char *spool;
	struct fg_policy *policy; /* NULL when it cannot be loaded */
	struct fg_error policy_err;
};

static void repo_ctx_release(struct repo_ctx *r)
{
	free(r->git_dir);
	free(r->spool);
	fg_policy_free(r->policy);
}

static int repo_ctx_open(struct repo_ctx *r, const char *repo, struct fg_error *err)
{
	char abs[PATH_MAX], *path = NULL;

	memset(r, 0, sizeof(*r));
	if (!realpath(repo, abs))
		return fg_error_set(err, FG_ENOTFOUND, "no repository at '%s'", repo);
	r->git_dir = fg_strdup(abs);
	if (!r->git_dir)
		return fg_error_oom(err);
	if (fg_gate_policy_path(&path, r->git_dir, &r->policy_err) == 0)
		fg_policy_load(&r->policy, path, &r->policy_err);
	free(path);
	r->spool = fg_post_receive_spool(r->policy, r->git_dir);
	return r->spool ? 0 : fg_error_oom(err);
}

/* The queue's executor: one job through the rollout engine. */
static int run_job(void *ctx, const struct fg_job *job, json_t **outcome,
		   struct fg_error *err)
{
	struct repo_ctx *r = ctx;
	struct fg_rollout_options o = FG_ROLLOUT_OPTIONS_INIT;
	char job_id[32];
	int rc;

	if (!r->policy)
		return fg_error_set(err, FG_EINVALID, "%s", r->policy_err.message);
	o.git_dir = job->repo;
	o.branch = job->branch;
	o.rev = job->new_id;
	o.policy = r->policy;
	o.dry_run = job->dry_run;
	o.record = true;
	rc = fg_rollout_run(&o, outcome, err);
	snprintf(job_id, sizeof(job_id), "%lu", job->id);
	fg_serverlog(r->policy, "rollout", "job", job_id, "branch", job->branch,
		     "new", job->new_id, "result", rc == 0 ? "done" : "error",
		     "error", rc == 0 ? NULL : err->message, NULL);
	if (rc == 0 && json_is_true(json_object_get(*outcome, "follow")))
		return FG_JOB_FOLLOW;
	return rc;
}

/* The queue's follower: one poll of the job's rollout (its record). */
static int follow_job(void *ctx, const struct fg_job *job, time_t *next_poll,
		      struct fg_error *err)
{
	struct repo_ctx *r = ctx;
	struct fg_rollout_options o = FG_ROLLOUT_OPTIONS_INIT;
	enum fg_record_state state;
	char job_id[32];
	int rc;

	if (!r->policy)
		return fg_error_set(err, FG_EINVALID, "%s", r->policy_err.message);
	o.git_dir = job->repo;
	o.branch = job->branch;
	o.rev = job->new_id;
	o.policy = r->policy;
	if ((rc = fg_rollout_follow(&o, &state, next_poll, err)) < 0)
		return rc;
	if (!fg_record_is_final(state))
		return FG_JOB_FOLLOW;
	snprintf(job_id, sizeof(job_id), "%lu", job->id);
	fg_serverlog(r->policy, "rollout", "job", job_id, "branch", job->branch,
		     "new", job->new_id, "result", fg_record_state_name(state), NULL);
	return state == FG_RECORD_SUPERSEDED ? FG_JOB_FOLLOW_SUPERSEDED : 0;
}

static void print_job(const struct fg_job *job)
{
	char when[32];
	struct tm tm;

	gmtime_r(&job->created, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%6lu  %-10s  %-12s %.7s  %s UTC  %-10s attempts %u", job->id,
	       fg_job_state_name(job->state), job->branch, job->new_id, when,
	       job->pusher ? job->pusher : "-", job->attempts);
	if (job->last_error)
		printf("\n        last error: %s", job->last_error);
	printf("\n");
}

static int list_jobs(struct repo_ctx *r, const char *format)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_job_list jobs;
	size_t i;

	if (fg_queue_list(r->spool, &jobs, &err) < 0) {
		fprintf(stderr, "fleetgate queue: %s\n", err.message);
		return 2;
	}
	if (format && !strcmp(format, "json")) {
		json_t *arr = json_array();

		for (i = 0; i < jobs.count; i++) {
			const struct fg_job *j = &jobs.items[i];

			json_array_append_new(arr, json_pack(
				"{s:I, s:s, s:s, s:s, s:s, s:s?, s:i, s:s?, s:O?}",
				"id", (json_int_t)j->id, "state", fg_job_state_name(j->state),
				"branch", j->branch, "old", j->old_id, "new", j->new_id,
				"pusher", j->pusher, "attempts", (int)j->attempts,
				"last_error", j->last_error, "outcome", j->outcome));
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(arr);
	} else if (jobs.count == 0) {
		printf("no rollout jobs in %s\n", r->spool);
	} else {
		for (i = 0; i < jobs.count; i++)
			print_job(&jobs.items[i]);
	}
	fg_job_list_release(&jobs);
	return 0;
}

static int drain(const char *repo, const struct queue_args *a)
{
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct repo_ctx r;
	int rc;

	if (repo_ctx_open(&r, repo, &err) < 0) {
		fprintf(stderr, "fleetgate queue: %s\n", err.message);
		return 2;
	}
	opts.ignore_backoff = a->now;
	opts.wait_for_retries = a->wait;
	opts.max_wait = WORKER_MAX_WAIT;
	opts.policy = r.policy;
	opts.follow = follow_job;
	rc = fg_queue_run(r.spool, run_job, &r, &opts, &stats, &err);
	if (rc < 0)
		fprintf(stderr, "fleetgate queue: %s\n", err.message);
	else if (rc == 1)
		printf("%s: another worker is draining this queue\n", r.git_dir);
	else
		printf("%s: %zu done, %zu to retry, %zu failed, %zu superseded%s\n",
		       r.git_dir, stats.done, stats.retried, stats.failed,
		       stats.superseded, stats.followed ? "; following polled" : "");
	repo_ctx_release(&r);
	return rc < 0 ? 2 : (stats.failed || stats.retried) ? 1 : 0;
}

static bool is_git_dir(const char *path)
{
	char probe[PATH_MAX];
	struct stat st;

	snprintf(probe, sizeof(probe), "%s/objects", path);
	if (stat(probe, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	snprintf(probe, sizeof(probe), "%s/HEAD", path);
	return stat(probe, &st) == 0;
}

/* Whether the repository has a spool: the policy's spool_dir when its
 * policy names one (a shared spool outside the repository), else the
 * default; repositories without fleetgate have neither and are left alone. */
static bool has_spool(const char *git_dir)
{
	struct fg_error err = FG_ERROR_INIT;
	struct repo_ctx r;
	struct stat st;
	bool yes;

	if (repo_ctx_open(&r, git_dir, &err) < 0)
		return false;
	yes = stat(r.spool, &st) == 0 && S_ISDIR(st.st_mode);
	repo_ctx_release(&r);
	return yes;
}

/* Drains every repository below root that has a fleetgate spool (Gitea and
 * legacy GitLab keep repositories two levels deep, owner/name.git; GitLab
 * hashed storage four: @hashed/ab/cd/<hash>.git). */
static int scan(const char *root, int depth, const struct queue_args *a,
		size_t *found)
{
	struct dirent *de;
	DIR *d;
	int worst = 0, rc;

	if (is_git_dir(root)) {
		if (!has_spool(root))
			return 0;
		(*found)++;
		return drain(root, a);
	}
	if (depth == 0 || !(d = opendir(root)))
		return 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", root, de->d_name);
		rc = scan(sub, depth - 1, a, found);
		worst = rc > worst ? rc : worst;
	}
	closedir(d);
	return worst;
}

/* The timer runs this every minute: a root that is missing or unreadable
 * must fail loudly, not "succeed" doing nothing forever. */
static int scan_root(const struct queue_args *a)
{
	const char *why = NULL;
	struct stat st;
	size_t found = 0;
	int rc;
	DIR *d;


	if (stat(a->scan, &st) < 0)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	if (why) {
		fprintf(stderr, "fleetgate queue: --scan '%s': %s; give the folder that "
			"holds the git repositories (gitolite: ~git/repositories, "
			"Gitea and GitLab: their repository root)\n", a->scan, why);
		return 2;
	}
	if (!(d = opendir(a->scan))) {
		fprintf(stderr, "fleetgate queue: cannot read --scan '%s': %s; run "
			"as the repositories' owner\n", a->scan, strerror(errno));
		return 2;
	}
	closedir(d);
	rc = scan(a->scan, SCAN_DEPTH, a, &found);
	if (found == 0)
		fprintf(stderr, "fleetgate queue: no repository with a fleetgate spool "
			"below '%s' (is it the right folder, and were the hooks "
			"installed with 'fleetgate install'?)\n", a->scan);
	return rc;
}

static int change_job(const struct queue_args *a)
{
	struct fg_error err = FG_ERROR_INIT;
	struct repo_ctx r;
	int rc;

	if (repo_ctx_open(&r, a->repo, &err) < 0) {
		fprintf(stderr, "fleetgate queue: %s\n", err.message);
		return 2;
	}
	rc = !strcmp(a->action, "retry") ? fg_queue_retry(r.spool, a->id, &err)
					 : fg_queue_drop(r.spool, a->id, &err);
	if (rc < 0)
		fprintf(stderr, "fleetgate queue: %s\n", err.message);
	else
		printf("job %lu %s\n", a->id, !strcmp(a->action, "retry")
		       ? "queued again; run 'fleetgate queue run' or wait for the worker"
		       : "dropped; it will not run");
	if (rc == 0 && !strcmp(a->action, "retry"))
		fg_post_receive_spawn_worker(NULL, r.git_dir);
	repo_ctx_release(&r);
	return rc < 0 ? (rc == FG_ENOTFOUND ? 1 : 2) : 0;
}

static int parse_args(struct queue_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "scan", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "now", no_argument, NULL, 'n' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->repo = ".";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': a->repo = optarg; break;
		case 's': a->scan = optarg; break;
		case 'f': a->format = optarg; break;
		case 'n': a->now = true; break;
		case 'w': a->wait = true; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: return -1;
		}
	}
	a->action = optind < argc ? argv[optind++] : "list";
	if (!strcmp(a->action, "retry") || !strcmp(a->action, "drop")) {
		if (optind >= argc)
			return -1;
		errno = 0;
		a->id = strtoul(argv[optind++], &end, 10);
		if (errno || *end || a->id == 0)
			return -1;
	}
	return optind == argc ? 0 : -1;
}

int cmd_queue(int argc, char **argv)
{
	struct queue_args a;
	struct repo_ctx r;
	struct fg_error err = FG_ERROR_INIT;
	int rc;

	if (parse_args(&a, argc, argv) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(a.action, "run"))
		return a.scan ? scan_root(&a) : drain(a.repo, &a);
	if (!strcmp(a.action, "retry") || !strcmp(a.action, "drop"))
		return change_job(&a);
	if (strcmp(a.action, "list")) {
		fputs(usage, stderr);
		return 2;
	}
	if (repo_ctx_open(&r, a.repo, &err) < 0) {
		fprintf(stderr, "fleetgate queue: %s\n", err.message);
		return 2;
	}
	rc = list_jobs(&r, a.format);
	repo_ctx_release(&r);
	return rc;
}
