#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "buf.h"
#include "queue.h"

struct exec_log {
	char ran[16][64]; /* "branch@new" per call */
	int calls;
	int fail_first;   /* fail this many calls */
	int fail_code;    /* with this code; 0: FG_ENET */
};

static int fake_exec(void *ctx, const struct fg_job *job, json_t **outcome,
		     struct fg_error *err)
{
	struct exec_log *log = ctx;

	snprintf(log->ran[log->calls % 16], 64, "%s@%s", job->branch, job->new_id);
	log->calls++;
	if (log->fail_first-- > 0)
		return log->fail_code == FG_EPERM ?
			fg_error_set(err, FG_EPERM, "GET /x: HTTP 401: Mender refused the "
				     "credentials; the token in mender.token_file '/t' ...") :
			fg_error_set(err, FG_ENET, "mender is down");
	*outcome = json_pack("{s:i}", "deployments", 1);
	return 0;
}

static int setup(void **state)
{
	char *dir = strdup("/tmp/fg-queue-XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char *cmd = fg_asprintf("rm -rf '%s'", (char *)*state);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(*state);
	return 0;
}

static unsigned long add(const char *spool, const char *branch, const char *new_id)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_job job = { 0 };

	job.repo = "/srv/git/fleet.git";
	job.branch = (char *)branch;
	job.old_id = "1111111";
	job.new_id = (char *)new_id;
	job.pusher = "alice";
	assert_int_equal(fg_queue_add(spool, &job, &err), 0);
	return job.id;
}

static void test_add_list_and_run(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0 };
	struct fg_job_list jobs;

	assert_int_equal(add(spool, "canary", "aaa"), 1);
	assert_int_equal(add(spool, "production", "bbb"), 2);
	assert_int_equal(fg_queue_list(spool, &jobs, &err), 0);
	assert_int_equal(jobs.count, 2);
	assert_int_equal(jobs.items[0].state, FG_JOB_QUEUED);
	assert_string_equal(jobs.items[1].branch, "production");
	assert_string_equal(jobs.items[1].pusher, "alice");
	fg_job_list_release(&jobs);

	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 2);
	assert_int_equal(stats.done, 2);
	assert_int_equal(fg_queue_list(spool, &jobs, &err), 0);
	assert_int_equal(jobs.items[0].state, FG_JOB_DONE);
	assert_int_equal(json_integer_value(json_object_get(jobs.items[0].outcome,
							    "deployments")), 1);
	fg_job_list_release(&jobs);
	/* a second run finds nothing to do */
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 2);
}

static void test_newer_job_supersedes(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0 };
	struct fg_job job;

	add(spool, "canary", "old");
	add(spool, "canary", "new");
	add(spool, "main", "m1");
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 2);
	assert_string_equal(log.ran[0], "canary@new");
	assert_string_equal(log.ran[1], "main@m1");
	assert_int_equal(stats.superseded, 1);
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_SUPERSEDED);
	fg_job_release(&job);
}

/* The follower's script: what each poll answers, and the order of every
 * executor run and poll ("run:branch@new", "poll:branch@new"). */
struct follow_log {
	int answers[8];
	int polls;
	char order[16][64];
	int n;
};

static int follow_exec(void *ctx, const struct fg_job *job, json_t **outcome,
		       struct fg_error *err)
{
	struct follow_log *log = ctx;

	(void)err;
	snprintf(log->order[log->n++ % 16], 64, "run:%s@%s", job->branch, job->new_id);
	*outcome = NULL;
	return strcmp(job->branch, "main") ? FG_JOB_FOLLOW : 0; /* main: nothing to follow */
}

static int fake_follow(void *ctx, const struct fg_job *job, time_t *next_poll,
		       struct fg_error *err)
{
	struct follow_log *log = ctx;
	int rc = log->answers[log->polls++ % 8];

	snprintf(log->order[log->n++ % 16], 64, "poll:%s@%s", job->branch, job->new_id);
	*next_poll = time(NULL) + 3600;
	return rc < 0 ? fg_error_set(err, rc, "mender is down") : rc;
}

/* A scheduled job is "following": polled once per run, after the queued
 * jobs (a poll never delays a rollout), until the follower says it ended;
 * a follower's error keeps it following. */
static void test_following_is_polled_after_queued_jobs(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct follow_log log = { .answers = { FG_JOB_FOLLOW, FG_ENET, 0 } };
	struct fg_job job;

	opts.follow = fake_follow;
	add(spool, "canary", "c1");
	assert_int_equal(fg_queue_run(spool, follow_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.polls, 0); /* not due yet: the first look waits */
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_FOLLOWING);
	assert_true(stats.next_poll == job.next_attempt && job.next_attempt > time(NULL));
	assert_int_equal(stats.next_due, 0); /* a waiting worker does not sleep for it */
	fg_job_release(&job);

	add(spool, "main", "m1");
	opts.ignore_backoff = true;
	assert_int_equal(fg_queue_run(spool, follow_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.polls, 1);
	assert_string_equal(log.order[1], "run:main@m1");
	assert_string_equal(log.order[2], "poll:canary@c1");
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_FOLLOWING);
	fg_job_release(&job);

	/* the error: still following, with the error shown; then it ends */
	assert_int_equal(fg_queue_run(spool, follow_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_FOLLOWING);
	assert_string_equal(job.last_error, "mender is down");
	fg_job_release(&job);
	/* a newer canary rollout: the follower finds the old one replaced */
	add(spool, "canary", "c2");
	log.answers[2] = FG_JOB_FOLLOW_SUPERSEDED;
	log.answers[3] = 0;
	assert_int_equal(fg_queue_run(spool, follow_exec, &log, &opts, &stats, &err), 0);
	assert_string_equal(log.order[4], "run:canary@c2");
	assert_string_equal(log.order[5], "poll:canary@c1");
	assert_string_equal(log.order[6], "poll:canary@c2"); /* --now: at once */
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_SUPERSEDED);
	assert_null(job.last_error);
	fg_job_release(&job);
	assert_int_equal(fg_queue_get(spool, 3, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_DONE);
	fg_job_release(&job);
	assert_int_equal(log.polls, 4);
}

static void test_retry_with_backoff_then_fail(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0, .fail_first = 100 };
	struct fg_job job;
	int i;

	add(spool, "canary", "aaa");
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(stats.retried, 1);
	assert_true(stats.next_due > time(NULL));
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_QUEUED);
	assert_int_equal(job.attempts, 1);
	assert_string_equal(job.last_error, "mender is down");
	fg_job_release(&job);
	/* not due yet: a normal run leaves it alone */
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 1);
	opts.ignore_backoff = true;
	for (i = 0; i < FG_QUEUE_MAX_ATTEMPTS; i++)
		assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, FG_QUEUE_MAX_ATTEMPTS);
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_FAILED);
	fg_job_release(&job);
	/* retry revives it */
	log.fail_first = 0;
	assert_int_equal(fg_queue_retry(spool, 1, &err), 0);
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_DONE);
	fg_job_release(&job);
}

/* Refused credentials (HTTP 401/403) are no outage: the job fails at the
 * first attempt, with the message that says what to do, and `queue retry`
 * runs it again once the token is replaced. */
static void test_refused_credentials_fail_at_once(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0, .fail_first = 100, .fail_code = FG_EPERM };
	struct fg_job job;

	add(spool, "production", "bbb");
	opts.ignore_backoff = true;
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(stats.failed, 1);
	assert_int_equal(stats.retried, 0);
	assert_int_equal(stats.next_due, 0);
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_FAILED);
	assert_int_equal(job.attempts, 1);
	assert_non_null(strstr(job.last_error, "mender.token_file"));
	fg_job_release(&job);
	/* nothing is run again by later workers */
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 1);
	log.fail_first = 0;
	assert_int_equal(fg_queue_retry(spool, 1, &err), 0);
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(fg_queue_get(spool, 1, &job, &err), 0);
	assert_int_equal(job.state, FG_JOB_DONE);
	fg_job_release(&job);
}

static void test_drop_and_missing(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0 };

	add(spool, "canary", "aaa");
	assert_int_equal(fg_queue_drop(spool, 1, &err), 0);
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 0);
	assert_int_equal(fg_queue_drop(spool, 77, &err), FG_ENOTFOUND);
	assert_non_null(strstr(err.message, "no job 77"));
}

static void test_running_job_of_dead_worker_runs_again(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0 };
	char *path = fg_asprintf("%s/jobs/%010d.json", spool, 1);
	char *cmd;

	add(spool, "canary", "aaa");
	/* what a worker killed mid-job leaves on disk */
	cmd = fg_asprintf("sed -i 's/\"queued\"/\"running\"/' '%s'", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 1);
	assert_int_equal(stats.done, 1);
	free(cmd);
	free(path);
}

static void test_second_worker_backs_off(void **state)
{
	const char *spool = *state;
	struct fg_queue_run_options opts = FG_QUEUE_RUN_OPTIONS_INIT;
	struct fg_queue_run_stats stats;
	struct fg_error err = FG_ERROR_INIT;
	struct exec_log log = { .calls = 0 };
	char *lock = fg_asprintf("%s/worker.lock", spool);
	int fd;

	add(spool, "canary", "aaa");
	fd = open(lock, O_RDWR | O_CREAT, 0640);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	/* flock locks belong to the open file description: a second open
	 * conflicts even in the same process, like a second worker would */
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 1);
	assert_int_equal(log.calls, 0);
	close(fd);
	assert_int_equal(fg_queue_run(spool, fake_exec, &log, &opts, &stats, &err), 0);
	assert_int_equal(log.calls, 1);
	free(lock);
}

static void test_damaged_job_is_reported(void **state)
{
	const char *spool = *state;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_job_list jobs;
	char *path;
	FILE *f;

	add(spool, "canary", "aaa");
	path = fg_asprintf("%s/jobs/%010d.json", spool, 1);
	f = fopen(path, "w");
	fputs("{\"id\": 1, \"state\": \"queued\"}", f);
	fclose(f);
	assert_int_equal(fg_queue_list(spool, &jobs, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "damaged"));
	free(path);
}

static void test_unwritable_spool_fails_loudly(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_job job = { 0 };

	job.repo = "/r";
	job.branch = "canary";
	job.old_id = "a";
	job.new_id = "b";
	assert_true(fg_queue_add("/proc/fleetgate-spool", &job, &err) < 0);
	assert_non_null(strstr(err.message, "/proc/fleetgate-spool"));
	assert_int_equal(fg_queue_backoff(1), 5);
	assert_int_equal(fg_queue_backoff(3), 20);
	assert_int_equal(fg_queue_backoff(30), 900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_list_and_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_job_supersedes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_following_is_polled_after_queued_jobs,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_with_backoff_then_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_credentials_fail_at_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_job_of_dead_worker_runs_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_worker_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_job_is_reported, setup, teardown),
		cmocka_unit_test(test_unwritable_spool_fails_loudly),
	};
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
