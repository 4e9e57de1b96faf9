#include "queue.h"
#include "policy.h"
#include "buf.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const state_names[] = {
	"queued", "running", "done", "failed", "superseded", "dropped", "following"
};

/* The first look at a following job: devices need a while to download. */
#define FOLLOW_FIRST_POLL 5

const char *fg_job_state_name(enum fg_job_state state)
{
	return (unsigned)state < sizeof(state_names) / sizeof(state_names[0])
		? state_names[state] : "unknown";
}

static int parse_state(const char *name, enum fg_job_state *out)
{
	size_t i;

	for (i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(name, state_names[i])) {
			*out = (enum fg_job_state)i;
			return 0;
		}
	return FG_EINVALID;
}

unsigned fg_queue_backoff(unsigned attempts)
{
	unsigned s = 5;

	while (attempts-- > 1 && s < 900)
		s *= 2;
	return s > 900 ? 900 : s;
}

static int io_error(struct fg_error *err, const char *what, const char *path)
{
	return fg_error_set(err, FG_EIO, "unable to %s '%s': %s", what, path, strerror(errno));
}

static int make_dir(const char *path, struct fg_error *err)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return io_error(err, "create", path);
	return 0;
}

int fg_queue_open(const char *spool, struct fg_error *err)
{
	char *jobs = fg_asprintf("%s/jobs", spool), *tmp = fg_asprintf("%s/tmp", spool);
	char *parent = fg_strdup(spool), *slash;
	int rc;

	if (!jobs || !tmp || !parent) {
		rc = fg_error_oom(err);
		goto out;
	}
	/* the default spool is <git dir>/fleetgate/spool: two levels */
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if ((rc = make_dir(parent, err)) < 0)
			goto out;
	}
	if ((rc = make_dir(spool, err)) < 0 || (rc = make_dir(jobs, err)) < 0)
		goto out;
	rc = make_dir(tmp, err);
out:
	free(jobs);
	free(tmp);
	free(parent);
	return rc;
}

/* Job files go through spool/tmp so a crash never leaves a partial job
 * under jobs/, where a worker would read it. */
static int write_durably(const char *spool, const char *name, const char *data,
			 size_t len, struct fg_error *err)
{
	char *dst = fg_asprintf("%s/jobs/%s", spool, name);
	char *tmp = fg_asprintf("%s/tmp", spool);
	int rc = dst && tmp ? fg_file_replace(dst, tmp, data, len, 0640, err)
			    : fg_error_oom(err);

	free(dst);
	free(tmp);
	return rc;
}

static json_t *job_to_json(const struct fg_job *job)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:I, s:s, s:i, s:I}",
			      "id", (json_int_t)job->id, "repo", job->repo,
			      "branch", job->branch, "old", job->old_id, "new", job->new_id,
			      "dry_run", job->dry_run, "created", (json_int_t)job->created,
			      "state", fg_job_state_name(job->state),
			      "attempts", (int)job->attempts,
			      "next_attempt", (json_int_t)job->next_attempt);

	if (!o)
		return NULL;
	if ((job->pusher && json_object_set_new(o, "pusher", json_string(job->pusher)) < 0) ||
	    (job->last_error &&
	     json_object_set_new(o, "last_error", json_string(job->last_error)) < 0) ||
	    (job->outcome && json_object_set(o, "outcome", job->outcome) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int save_job(const char *spool, const struct fg_job *job, struct fg_error *err)
{
	json_t *o = job_to_json(job);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	char name[64];
	int rc;

	json_decref(o);
	if (!text)
		return fg_error_oom(err);
	snprintf(name, sizeof(name), "%010lu.json", job->id);
	rc = write_durably(spool, name, text, strlen(text), err);
	free(text);
	return rc;
}

static char *dup_member(const json_t *o, const char *key)
{
	return fg_strdup(json_string_value(json_object_get(o, key)));
}

static int job_from_json(const json_t *o, struct fg_job *job, const char *path,
			 struct fg_error *err)
{
	memset(job, 0, sizeof(*job));
	job->id = (unsigned long)json_integer_value(json_object_get(o, "id"));
	job->repo = dup_member(o, "repo");
	job->branch = dup_member(o, "branch");
	job->old_id = dup_member(o, "old");
	job->new_id = dup_member(o, "new");
	job->pusher = dup_member(o, "pusher");
	job->last_error = dup_member(o, "last_error");
	job->dry_run = json_is_true(json_object_get(o, "dry_run"));
	job->created = (time_t)json_integer_value(json_object_get(o, "created"));
	job->attempts = (unsigned)json_integer_value(json_object_get(o, "attempts"));
	job->next_attempt = (time_t)json_integer_value(json_object_get(o, "next_attempt"));
	job->outcome = json_incref(json_object_get(o, "outcome"));
	if (!job->id || !job->repo || !job->branch || !job->old_id || !job->new_id ||
	    parse_state(json_string_value(json_object_get(o, "state")), &job->state) < 0) {
		fg_job_release(job);
		return fg_error_set(err, FG_EINVALID, "job file '%s' is damaged; move it "
				    "out of the spool", path);
	}
	return 0;
}

/* A job is a few hundred bytes; anything near this is not one of ours. */
#define JOB_MAX ((size_t)1 << 20)

static int load_job_file(const char *path, struct fg_job *job, struct fg_error *err)
{
	json_error_t jerr;
	json_t *o = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = fg_read_file_bounded(&text, &len, path, JOB_MAX, err)) < 0)
		return rc;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!o)
		return fg_error_set(err, FG_EINVALID, "unable to read job '%s': %s",
				    path, jerr.text);
	rc = job_from_json(o, job, path, err);
	json_decref(o);
	return rc;
}

/* Allocates the next job id under an exclusive lock on the counter file. */
static int next_id(const char *spool, unsigned long *out, struct fg_error *err)
{
	char *path = fg_asprintf("%s/seq", spool);
	char text[32] = { 0 };
	unsigned long id = 0;
	ssize_t n;
	int fd = -1, rc = 0;

	if (!path)
		return fg_error_oom(err);
	if ((rc = fg_open_regular(&fd, path, O_RDWR | O_CREAT, 0640, err)) < 0)
		goto out;
	if (flock(fd, LOCK_EX) < 0) {
		rc = io_error(err, "lock", path);
		goto out;
	}
	n = pread(fd, text, sizeof(text) - 1, 0);
	if (n > 0)
		id = strtoul(text, NULL, 10);
	id++;
	n = snprintf(text, sizeof(text), "%lu\n", id);
	if (pwrite(fd, text, (size_t)n, 0) != n || ftruncate(fd, n) < 0 || fsync(fd) < 0) {
		rc = io_error(err, "write", path);
		goto out;
	}
	*out = id;
out:
	if (fd >= 0)
		close(fd); /* drops the lock */
	free(path);
	return rc;
}

int fg_queue_add(const char *spool, struct fg_job *job, struct fg_error *err)
{
	int rc;

	if ((rc = fg_queue_open(spool, err)) < 0 || (rc = next_id(spool, &job->id, err)) < 0)
		return rc;
	job->state = FG_JOB_QUEUED;
	job->attempts = 0;
	job->next_attempt = 0;
	if (!job->created)
		job->created = time(NULL);
	return save_job(spool, job, err);
}

static int id_of_name(const char *name, unsigned long *id)
{
	char *end;

	if (strlen(name) != 15 || strcmp(name + 10, ".json"))
		return 0;
	*id = strtoul(name, &end, 10);
	return end == name + 10 && *id > 0;
}

static int cmp_job(const void *a, const void *b)
{
	const struct fg_job *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int fg_queue_list(const char *spool, struct fg_job_list *out, struct fg_error *err)
{
	char *dir = fg_asprintf("%s/jobs", spool);
	struct dirent *de;
	size_t alloc = 0;
	DIR *d;
	int rc = 0;

	out->items = NULL;
	out->count = 0;
	if (!dir)
		return fg_error_oom(err);
	d = opendir(dir);
	if (!d) {
		rc = errno == ENOENT ? 0 : io_error(err, "read", dir);
		free(dir);
		return rc;
	}
	while (rc == 0 && (de = readdir(d))) {
		unsigned long id;
		char *path;

		if (!id_of_name(de->d_name, &id))
			continue;
		if (out->count == alloc) {
			size_t n = alloc ? alloc * 2 : 32;
			struct fg_job *items = realloc(out->items, n * sizeof(*items));

			if (!items) {
				rc = fg_error_oom(err);
				break;
			}
			out->items = items;
			alloc = n;
		}
		path = fg_asprintf("%s/%s", dir, de->d_name);
		rc = path ? load_job_file(path, &out->items[out->count], err) : fg_error_oom(err);
		free(path);
		if (rc == 0)
			out->count++;
	}
	closedir(d);
	free(dir);
	if (rc < 0) {
		fg_job_list_release(out);
		return rc;
	}
	if (out->count)
		qsort(out->items, out->count, sizeof(*out->items), cmp_job);
	return 0;
}

int fg_queue_get(const char *spool, unsigned long id, struct fg_job *out,
		 struct fg_error *err)
{
	char *path = fg_asprintf("%s/jobs/%010lu.json", spool, id);
	int rc;

	if (!path)
		return fg_error_oom(err);
	rc = load_job_file(path, out, err);
	if (rc == FG_ENOTFOUND)
		fg_error_set(err, FG_ENOTFOUND, "there is no job %lu; see 'fleetgate queue'", id);
	free(path);
	return rc;
}

static int set_state(const char *spool, unsigned long id, enum fg_job_state state,
		     struct fg_error *err)
{
	struct fg_job job;
	int rc = fg_queue_get(spool, id, &job, err);

	if (rc < 0)
		return rc;
	job.state = state;
	if (state == FG_JOB_QUEUED) {
		job.attempts = 0;
		job.next_attempt = 0;
	}
	rc = save_job(spool, &job, err);
	fg_job_release(&job);
	return rc;
}

int fg_queue_retry(const char *spool, unsigned long id, struct fg_error *err)
{
	return set_state(spool, id, FG_JOB_QUEUED, err);
}

int fg_queue_drop(const char *spool, unsigned long id, struct fg_error *err)
{
	return set_state(spool, id, FG_JOB_DROPPED, err);
}

/* Only the newest queued job of a branch runs; older ones are superseded. */
static int supersede_older(const char *spool, struct fg_job_list *jobs,
			   struct fg_queue_run_stats *stats, struct fg_error *err)
{
	size_t i, j;
	int rc;

	for (i = 0; i < jobs->count; i++) {
		struct fg_job *a = &jobs->items[i];

		if (a->state != FG_JOB_QUEUED && a->state != FG_JOB_RUNNING)
			continue;
		for (j = i + 1; j < jobs->count; j++) {
			const struct fg_job *b = &jobs->items[j];

			if (!strcmp(a->branch, b->branch) && !strcmp(a->repo, b->repo) &&
			    (b->state == FG_JOB_QUEUED || b->state == FG_JOB_RUNNING))
				break;
		}
		if (j == jobs->count)
			continue;
		a->state = FG_JOB_SUPERSEDED;
		if ((rc = save_job(spool, a, err)) < 0)
			return rc;
		stats->superseded++;
	}
	return 0;
}

static int run_one(const char *spool, struct fg_job *job, fg_job_executor exec,
		   void *ctx, struct fg_queue_run_stats *stats, struct fg_error *err)
{
	struct fg_error run_err = FG_ERROR_INIT;
	json_t *outcome = NULL;
	int rc;

	/* "running" on disk first: a worker killed now leaves a job the next
	 * worker runs again, and the executor's idempotence makes that safe */
	job->state = FG_JOB_RUNNING;
	job->attempts++;
	if ((rc = save_job(spool, job, err)) < 0)
		return rc;
	rc = exec(ctx, job, &outcome, &run_err);
	free(job->last_error);
	job->last_error = NULL;
	if (rc >= 0) {
		/* following: attempts now count failed polls in a row */
		job->state = rc == FG_JOB_FOLLOW ? FG_JOB_FOLLOWING : FG_JOB_DONE;
		job->attempts = 0;
		job->next_attempt = rc == FG_JOB_FOLLOW ? time(NULL) + FOLLOW_FIRST_POLL : 0;
		json_decref(job->outcome);
		job->outcome = outcome;
		stats->done++;
	} else {
		job->last_error = fg_strdup(run_err.message);
		/* FG_EPERM: Mender refused the credentials (401/403) or a
		 * credential file is unsafe; retrying for 40 minutes would only
		 * hide that an admin must act */
		if (rc == FG_EPERM || job->attempts >= FG_QUEUE_MAX_ATTEMPTS) {
			job->state = FG_JOB_FAILED;
			stats->failed++;
		} else {
			job->state = FG_JOB_QUEUED;
			job->next_attempt = time(NULL) + fg_queue_backoff(job->attempts);
			stats->retried++;
		}
	}
	return save_job(spool, job, err);
}

/* Rule rollout-branches: a job file for a branch the policy never rolls
 * out (left from an older fleetgate, or written by hand) fails at once;
 * retrying could not make it right. */
static int refuse_job(const char *spool, struct fg_job *job,
		      struct fg_queue_run_stats *stats, struct fg_error *err)
{
	free(job->last_error);
	job->last_error = fg_asprintf("refused: branch '%s' is never rolled out "
				      "(rollout-branches); the policy lists it neither "
				      "under 'branches' nor literally in a promote_from; "
				      "drop the job (fleetgate queue drop)",
				      job->branch);
	if (!job->last_error)
		return fg_error_oom(err);
	job->state = FG_JOB_FAILED;
	stats->failed++;
	return save_job(spool, job, err);
}

/* One poll of a following job. Errors are the follower's to judge (Mender
 * may be down for a while); only a run of them in a row fails the job. */
static int follow_one(const char *spool, struct fg_job *job,
		      const struct fg_queue_run_options *opts, void *ctx,
		      struct fg_queue_run_stats *stats, struct fg_error *err)
{
	struct fg_error poll_err = FG_ERROR_INIT;
	time_t next = 0;
	int rc = opts->follow(ctx, job, &next, &poll_err);

	stats->followed++;
	free(job->last_error);
	job->last_error = NULL;
	if (rc == 0 || rc == FG_JOB_FOLLOW_SUPERSEDED) {
		job->state = rc == 0 ? FG_JOB_DONE : FG_JOB_SUPERSEDED;
		job->next_attempt = 0;
	} else if (rc == FG_JOB_FOLLOW) {
		job->attempts = 0;
		job->next_attempt = next;
	} else {
		job->last_error = fg_strdup(poll_err.message);
		if (++job->attempts >= FG_QUEUE_MAX_ATTEMPTS) {
			job->state = FG_JOB_FAILED;
			stats->failed++;
		} else {
			job->next_attempt = time(NULL) + fg_queue_backoff(job->attempts);
		}
	}
	return save_job(spool, job, err);
}

static void note_due(time_t *due, time_t when)
{
	if (!*due || when < *due)
		*due = when;
}

/* After the queued jobs: the following ones that are due, polled once per
 * drain (poll); later passes only note when they are due. */
static int follow_pass(const char *spool, struct fg_job_list *jobs, void *ctx,
		       const struct fg_queue_run_options *opts, bool poll,
		       struct fg_queue_run_stats *stats, struct fg_error *err)
{
	time_t now = time(NULL);
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < jobs->count; i++) {
		struct fg_job *job = &jobs->items[i];

		if (job->state != FG_JOB_FOLLOWING || !opts->follow)
			continue;
		if (!poll || (job->next_attempt > now && !opts->ignore_backoff)) {
			note_due(&stats->next_poll, job->next_attempt);
			continue;
		}
		rc = follow_one(spool, job, opts, ctx, stats, err);
		if (rc == 0 && job->state == FG_JOB_FOLLOWING)
			note_due(&stats->next_poll, job->next_attempt);
	}
	return rc;
}

/* One pass over the queue; *ran tells whether any job was run. */
static int run_pass(const char *spool, fg_job_executor exec, void *ctx,
		    const struct fg_queue_run_options *opts, bool follow,
		    struct fg_queue_run_stats *stats, bool *ran, struct fg_error *err)
{
	struct fg_job_list jobs;
	time_t now = time(NULL);
	size_t i;
	int rc;

	*ran = false;
	stats->next_due = 0;
	stats->next_poll = 0;
	if ((rc = fg_queue_list(spool, &jobs, err)) < 0)
		return rc;
	rc = supersede_older(spool, &jobs, stats, err);
	for (i = 0; rc == 0 && i < jobs.count; i++) {
		struct fg_job *job = &jobs.items[i];

		if (job->state != FG_JOB_QUEUED && job->state != FG_JOB_RUNNING)
			continue;
		if (job->state == FG_JOB_QUEUED && job->next_attempt > now &&
		    !opts->ignore_backoff) {
			note_due(&stats->next_due, job->next_attempt);
			continue;
		}
		if (opts->policy && !fg_policy_rolls_out(opts->policy, job->branch))
			rc = refuse_job(spool, job, stats, err);
		else
			rc = run_one(spool, job, exec, ctx, stats, err);
		if (rc == 0 && job->state == FG_JOB_FOLLOWING)
			note_due(&stats->next_poll, job->next_attempt);
		*ran = true;
	}
	if (rc == 0)
		rc = follow_pass(spool, &jobs, ctx, opts, follow, stats, err);
	fg_job_list_release(&jobs);
	return rc;
}

/* Whether a queued job is due now (or waits only for backoff we ignore). */
static bool queue_has_due(const char *spool, const struct fg_queue_run_options *opts)
{
	struct fg_error ignored = FG_ERROR_INIT;
	struct fg_job_list jobs;
	time_t now = time(NULL);
	bool due = false;
	size_t i;

	if (fg_queue_list(spool, &jobs, &ignored) < 0)
		return false;
	for (i = 0; i < jobs.count && !due; i++)
		due = jobs.items[i].state == FG_JOB_QUEUED &&
		      (jobs.items[i].next_attempt <= now || opts->ignore_backoff);
	fg_job_list_release(&jobs);
	return due;
}

/* Runs passes until one runs nothing (a push may queue more while we run). */
static int drain_locked(const char *spool, fg_job_executor exec, void *ctx,
			const struct fg_queue_run_options *opts,
			struct fg_queue_run_stats *stats, struct fg_error *err)
{
	bool ran, follow = true;
	int rc;

	do {
		rc = run_pass(spool, exec, ctx, opts, follow, stats, &ran, err);
		follow = false; /* a poll never makes another pass */
	} while (rc == 0 && ran);
	return rc;
}

/* One locked drain. Returns 0, 1 when another worker holds the lock, or an
 * FG_E* code. */
static int drain_once(const char *spool, const char *lock, fg_job_executor exec,
		      void *ctx, const struct fg_queue_run_options *opts,
		      struct fg_queue_run_stats *stats, struct fg_error *err)
{
	int fd, rc;

	if ((rc = fg_open_regular(&fd, lock, O_RDWR | O_CREAT, 0640, err)) < 0)
		return rc;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? 1 : io_error(err, "lock", lock);
	else
		rc = drain_locked(spool, exec, ctx, opts, stats, err);
	close(fd); /* drops the lock */
	return rc;
}

int fg_queue_run(const char *spool, fg_job_executor exec, void *ctx,
		 const struct fg_queue_run_options *opts,
		 struct fg_queue_run_stats *stats, struct fg_error *err)
{
	char *lock = fg_asprintf("%s/worker.lock", spool);
	int rc, rounds = 0;
	bool held_lock = false;

	memset(stats, 0, sizeof(*stats));
	if (!lock)
		return fg_error_oom(err);
	if ((rc = fg_queue_open(spool, err)) < 0)
		goto out;
	for (;;) {
		rc = drain_once(spool, lock, exec, ctx, opts, stats, err);
		if (rc < 0 || (rc == 1 && !held_lock))
			break;
		held_lock = true;
		/* A job queued between our last pass and the unlock found the lock
		 * taken and its own worker gave up: look once more after unlocking. */
		if (rounds++ < 3 && queue_has_due(spool, opts))
			continue;
		if (rc == 0 && stats->next_due && opts->wait_for_retries) {
			time_t wait = stats->next_due - time(NULL);

			if (wait > (time_t)opts->max_wait)
				break;
			/* Sleep without the lock: `fleetgate queue run --now` by an
			 * admin (Mender is back) must not be told to wait for us. */
			if (wait > 0)
				sleep((unsigned)wait);
			rounds = 0;
			continue;
		}
		break;
	}
	/* Another worker took over after our first round: we did our part. */
	if (rc == 1 && held_lock)
		rc = 0;
out:
	free(lock);
	return rc;
}

void fg_job_release(struct fg_job *job)
{
	free(job->repo);
	free(job->branch);
	free(job->old_id);
	free(job->new_id);
	free(job->pusher);
	free(job->last_error);
	json_decref(job->outcome);
	memset(job, 0, sizeof(*job));
}

void fg_job_list_release(struct fg_job_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		fg_job_release(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
