/*
 * postreceive.h: what fleetgate-post-receive does with an accepted push.
 *
 * Decides which updated branches get a rollout job (protected branches,
 * branches named literally as a promotion source such as develop, and the
 * fleet's default_branch), honours the push option fleetgate.skip-rollout
 * (only for pushers the policy allows), writes the jobs durably and starts
 * a detached worker. It rolls out only updates fleetgate's pre-receive
 * recorded as accepted (judged.h): any other is refused with the message
 * "fleetgate: REF was not judged by fleetgate's pre-receive; nothing is
 * rolled out ..." and logged as verdict=unjudged. (fleetgate.dry-run is
 * pre-receive's: such a push never lands, see gate_dryrun.h.) It prints one line per branch
 * for the pusher and logs every decision. A policy without mender.url
 * means the server uses fleetgate as a promotion gate only: nothing is
 * queued then. A policy that cannot be read does not stop the queueing
 * (the job waits until the policy is fixed).
 *
 * It never fails the push (git ignores post-receive's status for that), but
 * it never swallows a failure either: a job that cannot be written is
 * reported on the pusher's terminal and in the server log.
 *
 * Ownership rule: the input and everything it points to are borrowed.
 */
#ifndef FG_POSTRECEIVE_H
#define FG_POSTRECEIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct fg_policy;

struct fg_post_receive_input {
	const char *git_dir;   /* NULL: $GIT_DIR, else "." */
	const char *(*lookup)(const char *name);
	const char *stdin_data;
	size_t stdin_len;
	FILE *out;             /* the pusher's terminal (stderr) */
	const char *fleetgate; /* the worker binary; NULL: next to this one */
	bool no_worker;        /* queue only (tests, or a timer drains) */
};

/* Returns 0 when every branch was queued or deliberately skipped, a
 * negative FG_E* code when any job could not be written (already reported). */
int fg_post_receive_run(const struct fg_post_receive_input *in);

/* The spool of a repository: the policy's spool_dir, else
 * <git_dir>/fleetgate/spool. New memory the caller frees; NULL on OOM. */
char *fg_post_receive_spool(const struct fg_policy *policy, const char *git_dir);

/* Starts `fleetgate queue run --repo GIT_DIR --wait` fully detached
 * (double fork, setsid, standard streams on /dev/null). Returns 0 or
 * FG_EIO when it could not be started. */
int fg_post_receive_spawn_worker(const char *fleetgate, const char *git_dir);

#endif
