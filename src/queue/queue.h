/*
 * queue.h: the durable rollout queue of one repository.
 *
 * post-receive turns every accepted branch update into a job file in a
 * spool directory; a worker runs the jobs. The queue owns:
 *   - durability: a job file is written to a temporary name, fsynced,
 *     renamed into place and the directory fsynced, so after a crash it
 *     is either wholly there or not at all;
 *   - one worker per spool: an flock(2) on worker.lock, which the kernel
 *     drops when a worker dies, so a killed worker never blocks the next;
 *   - supersession: of the queued jobs of one branch only the newest runs;
 *   - retries with backoff, and a final "failed" that stays visible.
 * It never talks to Mender: running a job is the executor's business.
 *
 * Ownership rule: a struct fg_job filled by this module owns its strings and
 * its outcome (a jansson reference); release it with fg_job_release. Lists
 * of jobs are released with fg_job_list_release.
 */
#ifndef FG_QUEUE_H
#define FG_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

enum fg_job_state {
	FG_JOB_QUEUED,      /* waiting (first run or a retry at next_attempt) */
	FG_JOB_RUNNING,     /* a worker took it; back to queued if that worker died */
	FG_JOB_DONE,
	FG_JOB_FAILED,      /* retries exhausted, or FG_EPERM at once (Mender
			     * refused the credentials, an unsafe credential
			     * file); `fleetgate queue retry` revives it */
	FG_JOB_SUPERSEDED,  /* a newer job of the same branch replaced it */
	FG_JOB_DROPPED,     /* removed by hand with `fleetgate queue drop` */
	FG_JOB_FOLLOWING    /* scheduled; the worker polls its outcome at
			     * next_attempt until the follower says it ended */
};

struct fg_job {
	unsigned long id;
	char *repo;         /* absolute git dir */
	char *branch;
	char *old_id;
	char *new_id;
	char *pusher;       /* may be NULL */
	bool dry_run;
	time_t created;
	enum fg_job_state state;
	unsigned attempts;
	time_t next_attempt;
	char *last_error;   /* may be NULL */
	json_t *outcome;    /* new reference or NULL: what the executor reported */
};

struct fg_job_list {
	struct fg_job *items;
	size_t count;
};

/* Runs one job. Returns 0 on success with *outcome a new reference (may be
 * NULL), FG_JOB_FOLLOW when it scheduled work whose outcome the follower
 * polls later (*outcome set as for 0; the job becomes "following"), or a
 * negative code with err set; the queue then retries later, except after
 * FG_EPERM, which no retry heals: the job fails at once. */
typedef int (*fg_job_executor)(void *ctx, const struct fg_job *job, json_t **outcome,
			       struct fg_error *err);

#define FG_JOB_FOLLOW 1
#define FG_JOB_FOLLOW_SUPERSEDED 2 /* follower: a newer rollout took over */

/* Polls a following job once. Returns 0 when it ended (the job is done),
 * FG_JOB_FOLLOW to poll again at *next_poll, FG_JOB_FOLLOW_SUPERSEDED when
 * a newer rollout of the branch replaced it, or a negative code with err
 * set (the job keeps following after a backoff, and fails after
 * FG_QUEUE_MAX_ATTEMPTS such errors in a row). */
typedef int (*fg_job_follower)(void *ctx, const struct fg_job *job, time_t *next_poll,
			       struct fg_error *err);

#define FG_QUEUE_MAX_ATTEMPTS 8

/* Creates the spool's folders if needed. */
int fg_queue_open(const char *spool, struct fg_error *err);

/* Writes a new queued job durably; job->id is assigned. The fields of `job`
 * are borrowed. Returns 0, or FG_EIO (disk full, read-only...) with err set
 * and nothing half-written left behind. */
int fg_queue_add(const char *spool, struct fg_job *job, struct fg_error *err);

/* All jobs, in id order. */
int fg_queue_list(const char *spool, struct fg_job_list *out, struct fg_error *err);

/* Reads one job. FG_ENOTFOUND when there is none with that id. */
int fg_queue_get(const char *spool, unsigned long id, struct fg_job *out,
		 struct fg_error *err);

/* Puts a failed, done or dropped job back in the queue (attempts reset). */
int fg_queue_retry(const char *spool, unsigned long id, struct fg_error *err);

/* Marks a job dropped; it is never run. */
int fg_queue_drop(const char *spool, unsigned long id, struct fg_error *err);

struct fg_queue_run_stats {
	size_t done, failed, retried, superseded;
	size_t followed;  /* polls of following jobs */
	time_t next_due;  /* 0: nothing waits for a retry */
	time_t next_poll; /* 0: no following job; a waiting worker does not
			   * sleep for polls: the timer's next run does them */
};

struct fg_policy;

struct fg_queue_run_options {
	bool wait_for_retries; /* sleep until a retry is due, up to max_wait s */
	unsigned max_wait;
	bool ignore_backoff;   /* run waiting retries now (`queue run --now`) */
	/* when set, a job for a branch it does not roll out
	 * (fg_policy_rolls_out) fails at once without running */
	const struct fg_policy *policy;
	/* polls following jobs (with the executor's ctx); NULL: they wait.
	 * Each run polls a following job at most once per drain, after the
	 * queued jobs, so following never delays a rollout. */
	fg_job_follower follow;
};

#define FG_QUEUE_RUN_OPTIONS_INIT { .wait_for_retries = false, .max_wait = 0, \
				    .ignore_backoff = false, .policy = NULL, \
				    .follow = NULL }

/* Drains the queue with `exec`: takes the worker lock (returns 1 at once
 * when another worker holds it), supersedes older jobs of a branch, refuses
 * jobs of branches opts->policy does not roll out, runs due jobs, schedules
 * retries. Returns 0 (or 1: another worker is active)
 * or an FG_E* code when the spool itself cannot be read or written. */
int fg_queue_run(const char *spool, fg_job_executor exec, void *ctx,
		 const struct fg_queue_run_options *opts,
		 struct fg_queue_run_stats *stats, struct fg_error *err);

/* Seconds to wait before attempt n+1 after n failures: 5, 10, 20... capped
 * at 15 minutes. */
unsigned fg_queue_backoff(unsigned attempts);

const char *fg_job_state_name(enum fg_job_state state);

void fg_job_release(struct fg_job *job);
void fg_job_list_release(struct fg_job_list *list);

#endif
