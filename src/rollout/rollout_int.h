/*
 * rollout_int.h: the parts of the rollout engine, shared by rollout.c
 * (the run: plan and apply), rollout_desired.c (the fleet files at C with
 * secrets resolved), rollout_facts.c (what Mender says) and rollout_state.c
 * (the last rolled-out commit and the configuration scope). Internal to the
 * engine; the public interface is rollout.h.
 *
 * Never does: print, log or copy a secret value anywhere but the desired
 * configuration maps handed to the planner (and from there the PUT body).
 *
 * Ownership rule: every struct here owns what it points to and is released
 * with its _release function, which accepts a zeroed struct.
 */
#ifndef FG_ROLLOUT_INT_H
#define FG_ROLLOUT_INT_H

#include <git2.h>
#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "mender.h"
#include "plan.h"
#include "rollout.h"

#include <time.h>

struct fg_policy;

/* ---- subscriptions (rollout_subs.c) ---- */

/* Who follows which branch according to the subscriptions branch's tip:
 * its fleet.yaml default_branch and its device files' subscribed_branch. */
struct fg_rollout_subs {
	struct fg_plan_subscriptions plan; /* points into the fields below */
	char *branch;                /* the subscriptions branch; NULL: none */
	bool exists;                 /* it has a tip */
	char *default_branch;
	struct fg_plan_follow *follows; /* sorted by id; ids and branches owned */
	size_t count, alloc;
};

/* Loads the subscriptions from the tip of `branch` (NULL: there is no
 * subscriptions branch). A branch that does not exist yet is no error: it
 * subscribes nobody. FG_EINVALID when its fleet files are broken (naming
 * the branch and the file), FG_EIO, FG_ENOMEM. */
int fg_rollout_subs_load(struct fg_rollout_subs *s, git_repository *repo,
			 const char *branch, struct fg_error *err);
/* The branch device `id` follows, its Mender tag being `tag` (may be NULL):
 * fg_fleet_device_branch over the subscriptions. NULL: nothing subscribes it. */
const char *fg_rollout_subs_follows(const struct fg_rollout_subs *s, const char *tag,
				    const char *id);
void fg_rollout_subs_release(struct fg_rollout_subs *s);

/* ---- desired state (rollout_desired.c) ---- */

struct fg_rollout_desired {
	struct fg_plan_desired plan; /* points into the fields below */
	json_t *os_images;
	json_t *conf;            /* fleet-wide configuration, secrets resolved */
	char *conf_withheld;     /* a secret of conf the branch may not resolve */
	struct fg_plan_want *wants; /* sorted by id */
	size_t nwants, alloc;
	json_t *secrets;         /* NAME -> value, read once; wiped on release */
};

/* Whether device `id` follows the branch being rolled out. */
typedef bool (*fg_rollout_follows_fn)(void *ctx, const char *id);

struct fg_rollout_load {
	git_repository *repo;
	const git_oid *commit;
	const char *branch;
	const char *secrets_dir; /* NULL: a {secret: NAME} is an error */
	const struct fg_policy *policy; /* which secrets the branch may resolve;
					 * NULL: none */
	fg_rollout_follows_fn follows;
	void *follows_ctx;
};

/* Loads fleet.yaml and devices/ at the commit. Configurations are merged and
 * resolved only for devices following the branch (the others' stay NULL).
 * A secret the policy does not allow for the branch is never read: the
 * configurations needing it stay NULL and name it in `withheld`.
 * FG_EINVALID for broken fleet files (naming file and problem), FG_EPERM /
 * FG_ENOTFOUND / FG_EINVALID for a secret that is unsafe or missing (naming
 * the secret, never its value), FG_EIO, FG_ENOMEM. */
int fg_rollout_desired_load(struct fg_rollout_desired *d,
			    const struct fg_rollout_load *in, struct fg_error *err);
const struct fg_plan_want *fg_rollout_desired_find(const struct fg_rollout_desired *d,
						   const char *id);
void fg_rollout_desired_release(struct fg_rollout_desired *d);

/* Reads secret NAME from dir into *out (caller wipes and frees). NAME must be
 * a plain file name; the file a regular file (no symlink) owned by the
 * current user with mode 0600 or stricter, at most 4096 bytes; one trailing
 * newline is dropped. FG_EINVALID / FG_EPERM / FG_ENOTFOUND / FG_EIO. */
int fg_rollout_read_secret(const char *dir, const char *name, char **out,
			   struct fg_error *err);

/* ---- facts (rollout_facts.c) ---- */

struct fg_rollout_pair {
	size_t fact, dep;
};

struct fg_rollout_facts {
	struct fg_mender_devices devices;
	struct fg_plan_fact *items;     /* sorted by id; configs are new refs */
	size_t count;
	struct fg_mender_deployments active;
	struct fg_rollout_pair *pairs;  /* device in an active deployment */
	size_t npairs, pairs_alloc;
	struct fg_plan_active *actives; /* facts' active lists point here */
};

/* Every accepted device, sorted by id. */
int fg_rollout_facts_devices(struct fg_rollout_facts *f, struct fg_mender *m,
			     struct fg_error *err);
/* Lists active deployments (once), then attaches to each device the active
 * deployments of one kind (configuration 0: software, 1: configuration). */
int fg_rollout_facts_active(struct fg_rollout_facts *f, struct fg_mender *m,
			    int configuration, struct fg_error *err);
/* 1 when an active configuration deployment exists. */
int fg_rollout_facts_has_config_deployments(const struct fg_rollout_facts *f);
/* Index of device id in f->items, or (size_t)-1. */
size_t fg_rollout_facts_find(const struct fg_rollout_facts *f, const char *id);
/* Fetches deviceconfig for the facts at the given indices. A device whose
 * GET failed stays unfetched; *failed counts them and first (if non-NULL)
 * keeps the first such error. */
int fg_rollout_facts_config(struct fg_rollout_facts *f, struct fg_mender *m,
			    const size_t *idx, size_t n, size_t *failed,
			    struct fg_error *first, struct fg_error *err);
void fg_rollout_facts_release(struct fg_rollout_facts *f);

/* ---- state and scope (rollout_state.c) ---- */

/* A sorted list of device ids. */
struct fg_rollout_ids {
	char **items;
	size_t count, alloc;
	char *blob; /* backing text when read from a file */
};

int fg_rollout_ids_add(struct fg_rollout_ids *ids, const char *id);
void fg_rollout_ids_sort(struct fg_rollout_ids *ids);
int fg_rollout_ids_has(const struct fg_rollout_ids *ids, const char *id);
void fg_rollout_ids_release(struct fg_rollout_ids *ids);

/* The last commit rolled out for (git_dir, branch) into *commit and its
 * subscribers into *subs. FG_ENOTFOUND when there is none. */
int fg_rollout_state_get(const char *state_dir, const char *git_dir,
			 const char *branch, git_oid *commit,
			 struct fg_rollout_ids *subs, struct fg_error *err);
/* Records them, atomically (temporary file, fsync, rename). */
int fg_rollout_state_set(const char *state_dir, const char *git_dir,
			 const char *branch, const git_oid *commit,
			 const struct fg_rollout_ids *subs, struct fg_error *err);

/* Devices whose desired configuration (or subscribed_branch) may differ
 * between commits old and new: every changed device file, compared by
 * content. *full is set when fleet.yaml's configuration or default_branch
 * changed (every subscriber is then in scope). */
int fg_rollout_scope_diff(struct fg_rollout_ids *scope, int *full,
			  git_repository *repo, const git_oid *old,
			  const git_oid *new, struct fg_error *err);

/* ---- Mender (rollout.c) ---- */

/* Connects to the Mender server of the options (else the policy's);
 * fg_rollout_mender_close undoes it. max_retries as fg_mender_opts. */
int fg_rollout_mender_open(struct fg_mender **m, const struct fg_rollout_options *o,
			   int max_retries, struct fg_error *err);
void fg_rollout_mender_close(struct fg_mender *m);

/* ---- the record (rollout_record.c) ---- */

struct fg_rollout_record_in {
	const char *git_dir; /* where the note goes */
	const char *state_dir;
	const char *branch;
	const char *commit;  /* hex */
	const char *tree;    /* hex */
	const struct fg_plan *plan;
	json_t *deployments; /* the run's report: {id?, name, artifact, devices} */
	const struct fg_mender_deployments *active; /* for ids of 409s */
	time_t now;
	long timeout;        /* rollout.follow_timeout, seconds */
};

/* Writes the record of a rollout whose plan was applied: in-progress with
 * what the follower polls, or (nothing scheduled) already succeeded;
 * *follow tells which. FG_EIO, FG_EINVALID, FG_ENOMEM (record.h). */
int fg_rollout_record_begin(const struct fg_rollout_record_in *in, bool *follow,
			    struct fg_error *err);

/* ---- the git note (rollout_note.c) ---- */

/* Writes fg_record_summary of rec as the note of rec->commit in
 * refs/notes/fleetgate of git_dir (unless it already says that), through
 * the git command line and a compare-and-swap update of the ref, retried
 * a few times when another writer moved it. Its scratch files go to
 * state_dir. FG_EIO when git fails or the ref kept moving, FG_ENOMEM. */
int fg_rollout_note(const char *git_dir, const char *state_dir, const char *branch,
		    const struct fg_record *rec, struct fg_error *err);

/* The note, best effort: a failure is a warning on stderr (the worker's
 * log), never a failed rollout; the next state change writes it again. */
void fg_rollout_note_warn(const char *git_dir, const char *state_dir,
			  const char *branch, const struct fg_record *rec);

#endif
