/*
 * rollout.h: the rollout engine, one branch at one commit, end to end.
 *
 * Refuses a branch the policy does not roll out (fg_policy_rolls_out).
 * Gathers facts from Mender (mender.h), who follows the branch from the
 * Mender tags and the subscriptions branch's tip (never from the rolled-out
 * branch's own files), the desired state from the fleet files at the commit
 * (fleet.h), with {secret: NAME} resolved from the server's secrets
 * directory when the policy lets the branch resolve NAME (else that
 * device's configuration is withheld), builds the plan (plan.h) and, unless
 * it is a dry run, applies it: aborts, OS deployments, configuration put +
 * deploy.
 * It remembers, per repository and branch, the last commit it rolled out,
 * so the next run asks Mender for configurations only where the desired
 * configuration changed (`full` reconciles every subscriber).
 *
 * Secrets: read only from files under secrets_dir, never printed, logged or
 * placed in argv; reports list configuration keys, never values.
 *
 * Ownership rule: the options and their strings are borrowed; *report is a
 * new reference the caller releases.
 */
#ifndef FG_ROLLOUT_H
#define FG_ROLLOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "error.h"
#include "record.h"

struct fg_policy;

struct fg_rollout_options {
	const char *git_dir;          /* the bare repository */
	const char *branch;           /* B */
	const char *rev;              /* C; NULL: the tip of B */
	const struct fg_policy *policy; /* required: which branches roll out, who
					 * follows them, which secrets they get */
	/* overrides of the policy for local use (NULL: the policy's) */
	const char *mender_url;
	const char *token_file;
	const char *secrets_dir;
	const char *state_dir;        /* where the last rolled-out commit is kept;
				       * NULL: <git_dir>/fleetgate */
	const char *quarantine;       /* objects read besides the repository's:
				       * git's quarantine while a pre-receive
				       * hook runs (a dry-run push); may be NULL */
	bool dry_run;                 /* plan only: change nothing */
	bool full;                    /* reconcile every subscriber's configuration */
	bool record;                  /* write the rollout record (record.h) in
				       * state_dir for the worker to follow */
	FILE *progress;               /* a progress line goes here; NULL: none */
	FILE *text_report;            /* the human-readable plan/summary; may be NULL */
	FILE *json_report;            /* the plan, device by device (report.h's
				       * JSON); may be NULL */
};

#define FG_ROLLOUT_OPTIONS_INIT { 0 }

/* Runs the engine. On success *report (new reference) holds what was
 * planned and scheduled, small at any fleet size (the per-device plan goes
 * to json_report): {"branch", "commit", "dry_run", "full", "empty",
 * "totals": {...}, "deployments": [{"id", "name", "artifact", "devices"
 * (count), "result": created|exists|failed}...], "aborted",
 * "configurations": {"deployed", "planned"}, "withheld": [{"device",
 * "secret"}...] (configurations not sent, policy secrets; names only),
 * "warnings" (count), "errors":
 * [messages], "state_error" (only when the state could not be written; the
 * next run is then a full one), "follow" (with opts->record: whether the
 * record is in progress, i.e. the worker must follow it)}; when the return is FG_ENET after applying,
 * *report is set too.
 * Returns 0 when everything planned was applied (or nothing was needed),
 * FG_ENET when Mender could not be reached or a call kept failing (the
 * caller retries later; what was done is idempotent; err names the call,
 * the HTTP status and Mender's message), FG_EPERM when there is no policy,
 * the policy does not roll out the branch (rule rollout-branches), Mender
 * refused the credentials (HTTP 401/403; err names the credential file and
 * what to do, never its content) or a secret file is unsafe, other FG_E*
 * codes for bad input (branch or commit missing, broken fleet files, no
 * Mender URL). */
int fg_rollout_run(const struct fg_rollout_options *opts, json_t **report,
		   struct fg_error *err);

/* The folder of the rollout state and records (record.h): state_dir when
 * given, else <absolute git_dir>/fleetgate. New string; NULL when git_dir
 * does not exist (or out of memory). */
char *fg_rollout_state_dir(const char *git_dir, const char *state_dir);

/* Polls the rollout of opts->branch at opts->rev (a full hex id) once and
 * updates its record: the statistics of each unfinished OS deployment (a
 * request each), the device ids of deployments whose failures grew, and
 * the deviceconfig of devices whose configuration is not reported yet.
 * *state is the record's state afterwards: FG_RECORD_SUPERSEDED when a
 * newer rollout of the branch has a record (nothing is asked), a final
 * state when every device has an outcome or rollout.follow_timeout passed,
 * else FG_RECORD_IN_PROGRESS with *next_poll the time of the next poll
 * (backoff from 10 s to 5 min). A Mender call that fails is no error: the
 * record keeps it as last_error and the next poll asks again. Returns
 * FG_EINVALID / FG_EIO for a record that cannot be read or written,
 * FG_EINVALID when there is no Mender URL, FG_ENOMEM. */
int fg_rollout_follow(const struct fg_rollout_options *opts,
		      enum fg_record_state *state, time_t *next_poll,
		      struct fg_error *err);

/* The branches that gained devices when the subscriptions branch moved
 * from old_hex to new_hex (all zeros: created): a device file whose
 * subscribed_branch changed, or a changed default_branch. Only branches
 * that exist are listed, once each, with their tips. Owned by the struct;
 * released with fg_rollout_moved_release. */
struct fg_rollout_moved {
	char **branches; /* sorted */
	char **tips;     /* hex commit ids */
	size_t count;
};

/* Fills *out for the bare repository git_dir. FG_EIO when the repository or
 * a commit cannot be read (also for SHA-256 repositories, which libgit2
 * cannot open), FG_EINVALID for a broken device file, FG_ENOMEM. */
int fg_rollout_moved_to(struct fg_rollout_moved *out, const char *git_dir,
			const char *old_hex, const char *new_hex, struct fg_error *err);
void fg_rollout_moved_release(struct fg_rollout_moved *m);

#endif
