/*
 * record.h: the rollout record, per branch and per rolled-out commit.
 *
 * What a rollout of commit C to branch B did to the devices following B:
 * when it started and finished, its state (queued, in-progress, succeeded,
 * failed, superseded, timed-out), the device counts relative to C's desired
 * state, the ids of failed devices (at most FG_RECORD_FAILED_MAX) and the
 * OS deployments it follows. The worker writes it (rollout.c when it
 * schedules, rollout_follow.c while it follows); `fleetgate status`, the
 * git note on C and the pre-receive health gate read it. Reading needs no
 * network and no git: one small JSON file per branch.
 *
 * Storage: <state_dir>/records/<branch, %-encoded>.json, replaced
 * atomically (fg_file_replace) under an flock of a sibling .lock file, so
 * a reader sees the old or the new file and two writers never lose each
 * other's update. At most FG_RECORD_HISTORY_MAX commits per branch are
 * kept, oldest dropped first. Saving a record of a new commit marks every
 * unfinished older record of the branch superseded: only the newest rollout
 * of a branch is followed.
 *
 * Errors: FG_EIO (file system, naming the file), FG_EINVALID (a damaged
 * record file, naming it: move it away; or a branch name too long for a
 * file name), FG_ENOMEM.
 *
 * Ownership rule: a struct fg_record or fg_record_history filled by this
 * module owns every string and array in it and `follow` (a jansson
 * reference); release with fg_record_release / fg_record_history_release,
 * which accept a zeroed struct. Records passed in are borrowed.
 */
#ifndef FG_RECORD_H
#define FG_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "error.h"

#define FG_RECORD_HISTORY_MAX 50
#define FG_RECORD_FAILED_MAX 100

enum fg_record_state {
	FG_RECORD_QUEUED,      /* pushed; the worker has not scheduled it yet */
	FG_RECORD_IN_PROGRESS, /* scheduled; some device has no outcome yet */
	FG_RECORD_SUCCEEDED,   /* every following device is at C */
	FG_RECORD_FAILED,      /* every device has an outcome, some failed */
	FG_RECORD_SUPERSEDED,  /* a newer commit of the branch rolled out first */
	FG_RECORD_TIMED_OUT    /* rollout.follow_timeout passed while following */
};

/* Devices relative to C's desired state. following = in_sync + succeeded
 * + failed + pending. */
struct fg_record_devices {
	size_t following; /* devices subscribed to the branch */
	size_t in_sync;   /* already at C: nothing was scheduled for them */
	size_t succeeded; /* scheduled, and installed (or already had it) */
	size_t failed;    /* failure, noartifact, aborted, decommissioned */
	size_t pending;   /* scheduled, no outcome yet */
};

struct fg_record {
	char *commit;     /* hex id of C */
	char *tree;       /* hex id of C's tree; may be NULL */
	enum fg_record_state state;
	time_t started;   /* when the worker took the rollout */
	time_t finished;  /* 0: not finished */
	struct fg_record_devices devices;
	char **failed_devices; /* at most FG_RECORD_FAILED_MAX */
	size_t nfailed_devices;
	char **deployments;    /* ids of the OS deployments followed */
	size_t ndeployments;
	char *last_error;      /* the last follow error; may be NULL */
	json_t *follow;        /* the follower's working state (rollout_follow.c);
				* NULL once the record is final */
};

struct fg_record_history {
	char *branch;
	struct fg_record *items; /* oldest first */
	size_t count;
};

const char *fg_record_state_name(enum fg_record_state state);
/* FG_EINVALID for an unknown name. */
int fg_record_state_parse(enum fg_record_state *out, const char *name);
/* Whether the state is an end state (nothing left to follow). */
bool fg_record_is_final(enum fg_record_state state);

/* Reads the history of `branch`. No file yet is no error: *out is empty. */
int fg_record_load(struct fg_record_history *out, const char *state_dir,
		   const char *branch, struct fg_error *err);

/* The newest record, or the one of `commit`; NULL when there is none.
 * Borrowed from the history. */
const struct fg_record *fg_record_latest(const struct fg_record_history *h);
const struct fg_record *fg_record_find(const struct fg_record_history *h,
				       const char *commit);

/* Stores `rec` (borrowed) as the newest record of `branch`. When the newest
 * record is of the same commit it is replaced (an update); otherwise an
 * older record of that commit is dropped, rec is appended, every unfinished
 * older record is marked superseded (finished at `now`) and the history is
 * trimmed. A follower updates a record only while it is the newest. */
int fg_record_save(const char *state_dir, const char *branch,
		   const struct fg_record *rec, time_t now, struct fg_error *err);

/* Adds a failed device id (kept once; ignored past FG_RECORD_FAILED_MAX). */
int fg_record_add_failed(struct fg_record *rec, const char *id);
/* Appends a deployment id. */
int fg_record_add_deployment(struct fg_record *rec, const char *id);

/* The record as status prints it: {"commit", "tree", "state", "started",
 * "finished" (ISO 8601 UTC, null when unset), "devices": {...},
 * "failed_devices": [...], "deployments": [...], "last_error"?}. New
 * reference, or NULL when out of memory. */
json_t *fg_record_to_json(const struct fg_record *rec);

/* The one-line summary of the git note, appended to out:
 * "rollout canary: succeeded, 2/2 devices (1 updated, 1 already there),
 * 2026-11-30 05:02-05:14 UTC". */
int fg_record_summary(struct fg_buf *out, const char *branch,
		      const struct fg_record *rec);

void fg_record_release(struct fg_record *rec);
void fg_record_history_release(struct fg_record_history *h);

#endif
