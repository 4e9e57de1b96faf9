/*
 * plan.h: the rollout planner, the pure decision half of a rollout. Given
 * what Mender says about the devices and what the fleet files at commit C
 * want, it decides which devices follow branch B, which OS
 * deployments to create (one per artifact, split only past Mender's 1 MiB
 * request limit), whose active deployments to abort first, and which devices
 * get their configuration put and deployed.
 *
 * It never talks HTTP, reads git or files, resolves secrets or prints: the
 * caller gathers the facts and the desired state, report.h renders the plan,
 * and the executor applies it in this order: aborts, deployments,
 * configurations (an abort also cancels a pending configuration deployment,
 * see fg_plan_device.config_redeploy).
 *
 * Ownership rule: every input is borrowed for the duration of fg_plan_build
 * only; the plan owns copies of the strings it keeps and one new reference
 * to each configuration it schedules, all released by fg_plan_free.
 */
#ifndef FG_PLAN_H
#define FG_PLAN_H

#include <stddef.h>
#include <jansson.h>

#include "diag.h"
#include "error.h"

/* Mender does not publish a limit on a deployment name; we keep names short
 * enough for its UI and logs, cutting the artifact part with "...". */
#define FG_PLAN_NAME_MAX 200
/* The request-size limit of POST /api/management/v1/deployments/deployments. */
#define FG_PLAN_MAX_REQUEST (1024 * 1024)
/* Room kept in every create-deployment body for the name and extra fields
 * (force_installation, ...), so a part never exceeds the limit. */
#define FG_PLAN_BODY_RESERVE 2048
#define FG_PLAN_NONE ((size_t)-1)

/* ---- facts: what Mender says (all borrowed) ---- */

struct fg_plan_active {
	const char *id;       /* deployment id */
	const char *artifact; /* artifact_name */
	int configuration;    /* a deviceconfig deployment (type "configuration") */
};

struct fg_plan_fact {
	const char *id;          /* Mender device id; never NULL */
	const char *device_type; /* NULL when the inventory has none */
	const char *os_version;  /* rootfs-image.version, else artifact_name; NULL: unknown */
	const char *tag_branch;  /* tag subscribed_branch; NULL or "" when unset */
	const char *name;        /* inventory name; may be NULL */
	const struct fg_plan_active *active; /* active (pending..installing) deployments */
	size_t nactive;
	/* deviceconfig: when config_fetched is 0 nothing was asked; when 1, the
	 * maps (JSON objects of strings, NULL meaning empty) are Mender's. */
	int config_fetched;
	json_t *configured;
	json_t *reported;
};

/* ---- desired state: what the fleet files at C want (all borrowed) ---- */

/* The subscribed_branch / default_branch values of C's own files are not
 * here on purpose: who follows a branch is never decided by the content of
 * the branch being rolled out (see fg_plan_subscriptions). */
struct fg_plan_want {
	const char *id;                /* device file name without .yaml */
	const char *path;              /* the device file, for warnings; may be NULL */
	const char *name;              /* may be NULL */
	const char *os_image;          /* pin; NULL: os_images[device_type] */
	json_t *configuration;         /* merged, secrets resolved; NULL: empty */
	const char *withheld;          /* a secret the branch may not resolve
					* (policy secrets): nothing is configured;
					* NULL: none */
};

struct fg_plan_desired {
	json_t *os_images;     /* object device_type -> artifact name; may be NULL */
	json_t *configuration; /* fleet-wide merged configuration, secrets
				* resolved: what a device without a file gets */
	const char *withheld;  /* as fg_plan_want.withheld, for that configuration */
	const struct fg_plan_want *devices;
	size_t ndevices;
};

/* ---- subscriptions: who follows which branch (all borrowed) ----
 * Read from the subscriptions branch's tip (fg_policy_subscriptions_branch),
 * whatever branch is planned; Mender tags (fg_plan_fact.tag_branch) win. */

struct fg_plan_follow {
	const char *id;     /* device file name without .yaml */
	const char *branch; /* its subscribed_branch; NULL or "": unset */
};

struct fg_plan_subscriptions {
	const char *default_branch;         /* NULL or "": none */
	const struct fg_plan_follow *devices; /* sorted or not */
	size_t ndevices;
};

struct fg_plan_input {
	const char *branch;        /* B, e.g. "canary" */
	const char *commit;        /* short commit id of C, e.g. "3f2a1c0" */
	const struct fg_plan_fact *facts;
	size_t nfacts;
	const struct fg_plan_desired *desired;
	/* NULL: the subscriptions branch does not exist yet; only Mender tags
	 * subscribe devices. */
	const struct fg_plan_subscriptions *subscriptions;
	/* Incremental mode: the devices whose desired configuration differs
	 * between the last rolled-out commit and C. Only those are compared (and
	 * need config facts); every other device counts as configured. NULL:
	 * compare every subscriber (a full reconciliation). */
	const char *const *config_scope;
	size_t nconfig_scope;
	size_t max_request; /* 0: FG_PLAN_MAX_REQUEST */
};

/* ---- the plan (owned by struct fg_plan) ---- */

enum fg_plan_branch_source {
	FG_PLAN_BRANCH_TAG,     /* Mender tag subscribed_branch */
	FG_PLAN_BRANCH_FILE,    /* device file subscribed_branch */
	FG_PLAN_BRANCH_DEFAULT  /* fleet.yaml default_branch */
};

enum fg_plan_os {
	FG_PLAN_OS_IN_SYNC,     /* running the desired artifact */
	FG_PLAN_OS_DEPLOY,      /* in deployments[deployment] */
	FG_PLAN_OS_IN_PROGRESS, /* skipped: a deployment of it is already active */
	FG_PLAN_OS_NO_IMAGE     /* skipped: no pin and no image for its type */
};

enum fg_plan_config {
	FG_PLAN_CONFIG_IN_SYNC,
	FG_PLAN_CONFIG_DEPLOY,      /* put configuration, then deploy */
	FG_PLAN_CONFIG_NOT_CHECKED, /* outside config_scope: unchanged since the last rollout */
	FG_PLAN_CONFIG_NOT_FETCHED, /* in scope, but the caller had no facts: skipped */
	FG_PLAN_CONFIG_WITHHELD     /* references a secret the branch may not
				     * resolve: nothing is sent */
};

struct fg_plan_keys {
	char **names; /* sorted */
	size_t count;
};

struct fg_plan_device {
	char *id;
	char *name;        /* device file name, else Mender's; may be NULL */
	char *device_type; /* may be NULL */
	enum fg_plan_branch_source branch_source; /* of fg_plan.branch */
	int in_repo;       /* has a device file */
	char *current_os;  /* may be NULL (unknown) */
	char *desired_os;  /* NULL when no image */
	enum fg_plan_os os;
	size_t deployment; /* index into fg_plan.deployments, or FG_PLAN_NONE */
	char *in_progress; /* FG_PLAN_OS_IN_PROGRESS: the active deployment's id */
	int abort;         /* abort all its active deployments first */
	enum fg_plan_config config;
	int config_redeploy; /* DEPLOY (also) because the abort cancels a pending one */
	struct fg_plan_keys added, changed, removed; /* never values */
	json_t *configuration; /* DEPLOY: new reference to the desired map, with
				* secrets; for the PUT body only, never print */
	char *withheld;    /* WITHHELD: the secret's name (never its value) */
};

struct fg_plan_deployment {
	char *name;
	char *artifact;
	const char **ids; /* borrowed from fg_plan.devices[].id */
	size_t count;
	size_t body_bytes; /* upper bound of the JSON request body */
};

struct fg_plan_totals {
	size_t mender_devices, subscribers, not_in_repo;
	size_t os_deploy, os_in_sync, os_in_progress, os_no_image, aborts;
	size_t config_deploy, config_in_sync, config_not_checked, config_not_fetched;
	size_t config_withheld;
};

struct fg_plan {
	char *branch;
	char *commit;
	struct fg_plan_device *devices; /* the devices following branch, in facts order */
	size_t ndevices;
	struct fg_plan_deployment *deployments; /* sorted by artifact */
	size_t ndeployments;
	size_t *aborts;  /* indices into devices */
	size_t naborts;
	size_t *configs; /* indices into devices */
	size_t nconfigs;
	struct fg_diags warnings; /* device files without a device in Mender,
				   * devices Mender listed twice */
	struct fg_plan_totals totals;
};

/* Builds the plan for in->branch into *out (caller frees with fg_plan_free).
 * Errors: FG_EINVALID when the input is incomplete (no branch, commit or
 * device id), a string is not UTF-8, or a desired
 * configuration value is not a string (the fleet loader must have turned it
 * into one); FG_ELIMIT when one device id alone exceeds max_request;
 * FG_ENOMEM. *out is NULL on failure. */
int fg_plan_build(struct fg_plan **out, const struct fg_plan_input *in,
		  struct fg_error *err);

/* 1 when applying the plan would change nothing in Mender. */
int fg_plan_is_empty(const struct fg_plan *plan);

/* Upper bound, in bytes, of a string's JSON encoding including its quotes,
 * whatever jansson's encoding flags (escaped slash, \uXXXX for non-ASCII). */
size_t fg_plan_json_string_size(const char *s);

/* Frees the plan and everything it owns; accepts NULL. */
void fg_plan_free(struct fg_plan *plan);

#endif
