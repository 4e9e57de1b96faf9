/*
 * mender.h: the Mender management API calls fleetgate makes, and the
 * parsers of their answers.
 *
 * Owns: authentication (a Personal Access Token file, or a login with user
 * and password files), device search with paging, deployments (create,
 * list, get, statistics, per-device abort) and deviceconfig (get, put,
 * deploy). Never does: decide what to deploy (that is the planner), print,
 * or let a token or password into an error message.
 *
 * Ownership rule: every struct filled through an out parameter belongs to
 * the caller and is freed with its _release function (which accepts a
 * zeroed struct); every json_t ** out parameter receives a NEW reference
 * the caller must json_decref; every json_t * argument is BORROWED.
 *
 * Parsers (fg_mender_parse_*) take untrusted bytes that need not be NUL
 * terminated, check every field's type and fail with FG_EINVALID and a
 * message naming the field; on failure their out parameter is left empty.
 * Network calls fail as fg_http_do does (see http.h).
 */
#ifndef FG_MENDER_H
#define FG_MENDER_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* fg_mender_create_deployment: an identical active deployment exists */
#define FG_MENDER_EXISTS 1

/* Mender refuses request bodies larger than this. */
#define FG_MENDER_MAX_REQUEST ((size_t)1 << 20)
#define FG_MENDER_PAGE_SIZE 500

struct fg_mender_opts {
	const char *url;            /* https://mender.example.com */
	const char *token_file;     /* PAT; wins over username/password */
	const char *username_file;
	const char *password_file;
	const char *ca_file;        /* NULL: the system's CA store */
	long timeout_seconds;       /* one attempt; 0: 30 */
	int max_parallel;           /* per-device calls in flight; 0: 8 */
	int max_retries;            /* 0: 4; negative: none */
	long backoff_base_ms;       /* 0: 500 */
	long backoff_max_ms;        /* 0: 30000 */
};

#define FG_MENDER_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0 }

struct fg_mender;

/* Connects (authenticating through login if no token file is given).
 * FG_EINVALID for missing options, FG_EPERM for a credential file that is
 * a symbolic link, not the effective user's or open to group or others
 * (fg_mender_read_secret), FG_EIO, FG_ENET. */
int fg_mender_open(struct fg_mender **out, const struct fg_mender_opts *opts,
		   struct fg_error *err);
/* Wipes credentials and frees; accepts NULL. */
void fg_mender_close(struct fg_mender *m);

/* Reads a one-line secret (token, user, password) from path into *out
 * (caller wipes and frees), trailing whitespace removed. The file is held
 * to fg_read_secret_file's rules (regular file, no symbolic link, owned by
 * the effective user, mode 0600 or stricter), at most 64 KiB and not empty:
 * FG_ENOTFOUND / FG_EPERM / FG_EINVALID / FG_ELIMIT / FG_EIO otherwise. The
 * content is never part of an error message. */
int fg_mender_read_secret(const char *path, char **out, struct fg_error *err);

/* --- devices --- */

struct fg_mender_device {
	char *id;
	char *device_type;   /* NULL if Mender does not know it */
	char *os;            /* rootfs-image.version, else artifact_name; or NULL */
	char *branch;        /* tag subscribed_branch, or NULL */
	char *name;          /* tag (else inventory) attribute `name`, or NULL */
};

struct fg_mender_devices {
	struct fg_mender_device *items;
	size_t count;
	size_t alloc;
};

#define FG_MENDER_DEVICES_INIT { NULL, 0, 0 }

void fg_mender_devices_release(struct fg_mender_devices *d);

/* Appends the devices of one search page (a JSON array of
 * DeviceInventoryResponse). FG_EINVALID for any malformed device; out then
 * keeps only what it held before. */
int fg_mender_parse_devices(const char *body, size_t len,
			    struct fg_mender_devices *out, struct fg_error *err);

/* All accepted devices, following every page of 500 until X-Total-Count
 * devices were read (or a short page ends the list). */
int fg_mender_search_devices(struct fg_mender *m, struct fg_mender_devices *out,
			     struct fg_error *err);

/* --- deployments --- */

struct fg_mender_deployment {
	char *id;
	char *name;
	char *artifact_name;
	char *status;        /* inprogress | pending | finished */
	char *type;          /* software | configuration; NULL when absent */
	long long device_count;
};

struct fg_mender_deployments {
	struct fg_mender_deployment *items;
	size_t count;
	size_t alloc;
};

#define FG_MENDER_DEPLOYMENTS_INIT { NULL, 0, 0 }

void fg_mender_deployment_release(struct fg_mender_deployment *d);
void fg_mender_deployments_release(struct fg_mender_deployments *d);

/* One DeploymentV1 object. */
int fg_mender_parse_deployment(const char *body, size_t len,
			       struct fg_mender_deployment *out,
			       struct fg_error *err);
/* A JSON array of DeploymentV1, appended to out. */
int fg_mender_parse_deployments(const char *body, size_t len,
				struct fg_mender_deployments *out,
				struct fg_error *err);

/* The deployment's id from a Location header: its last path segment.
 * New string, or NULL (FG_EINVALID) when there is none. */
int fg_mender_parse_location(const char *location, char **out,
			     struct fg_error *err);

/* The JSON body of a new deployment into *out (caller frees). */
int fg_mender_deployment_body(const char *name, const char *artifact,
			      const char *const *device_ids, size_t n,
			      char **out, struct fg_error *err);

/* How many of the n device ids (from the first) fit into one deployment
 * request of at most max_bytes: callers split longer lists into several
 * deployments. 0 only when not even one fits. */
size_t fg_mender_deployment_fit(const char *name, const char *artifact,
				const char *const *device_ids, size_t n,
				size_t max_bytes);

/* Creates a deployment of artifact to the devices. Returns 0 with the new
 * id in *id_out (caller frees; NULL if id_out is NULL), FG_MENDER_EXISTS
 * (positive, not an error; *id_out NULL) when Mender answers 409 because
 * an identical active deployment exists, FG_ELIMIT when the request would
 * pass FG_MENDER_MAX_REQUEST, or an error. */
int fg_mender_create_deployment(struct fg_mender *m, const char *name,
				const char *artifact,
				const char *const *device_ids, size_t n,
				char **id_out, struct fg_error *err);

/* Deployments that are not finished (status pending and inprogress), every
 * page, appended to out. */
int fg_mender_list_active_deployments(struct fg_mender *m,
				      struct fg_mender_deployments *out,
				      struct fg_error *err);

/* Device ids, owned by the list (fg_mender_ids_release). */
struct fg_mender_ids {
	char **items;
	size_t count;
	size_t alloc;
};

#define FG_MENDER_IDS_INIT { NULL, 0, 0 }

void fg_mender_ids_release(struct fg_mender_ids *ids);

/* Appends the "id" of every element of a JSON array of DeviceWithImage
 * (a page of a deployment's device list); out keeps only what it held
 * before on failure (FG_EINVALID naming the element, FG_ENOMEM). */
int fg_mender_parse_device_ids(const char *body, size_t len,
			       struct fg_mender_ids *out, struct fg_error *err);

/* The devices of deployment `id` whose status in it is `status` ("active":
 * pending through rebooting; NULL: every one), through
 * GET .../deployments/{id}/devices/list, every page of 500, appended to out.
 * Costs one request per 500 devices of the deployment. */
int fg_mender_deployment_device_ids(struct fg_mender *m, const char *id,
				    const char *status, struct fg_mender_ids *out,
				    struct fg_error *err);

int fg_mender_get_deployment(struct fg_mender *m, const char *id,
			     struct fg_mender_deployment *out,
			     struct fg_error *err);

/* Device counts per deployment status (the Statistics schema). */
struct fg_mender_stats {
	long long pending, downloading, installing, rebooting, success,
		failure, noartifact, already_installed, aborted;
};

int fg_mender_parse_stats(const char *body, size_t len,
			  struct fg_mender_stats *out, struct fg_error *err);
int fg_mender_deployment_stats(struct fg_mender *m, const char *id,
			       struct fg_mender_stats *out,
			       struct fg_error *err);

/* Aborts every active and pending deployment of one device. */
int fg_mender_abort_device(struct fg_mender *m, const char *device_id,
			   struct fg_error *err);
/* The same for n devices, in parallel; fails with the first error after
 * all calls have run. */
int fg_mender_abort_devices(struct fg_mender *m, const char *const *device_ids,
			    size_t n, struct fg_error *err);

/* --- deviceconfig --- */

/* A DeviceConfiguration answer: *configured and *reported receive new
 * references to objects whose values are all strings (an absent map gives
 * an empty object). */
int fg_mender_parse_config(const char *body, size_t len, json_t **configured,
			   json_t **reported, struct fg_error *err);

int fg_mender_config_get(struct fg_mender *m, const char *device_id,
			 json_t **configured, json_t **reported,
			 struct fg_error *err);

/* Called per device by fg_mender_config_get_many; configured/reported are
 * BORROWED (valid during the call) and NULL when rc < 0. A negative
 * return stops the batch and is returned by it. */
typedef int (*fg_mender_config_fn)(void *ctx, size_t index, int rc,
				   json_t *configured, json_t *reported,
				   const struct fg_error *err);

int fg_mender_config_get_many(struct fg_mender *m,
			      const char *const *device_ids, size_t n,
			      fg_mender_config_fn fn, void *ctx,
			      struct fg_error *err);

/* Sets the device's configured map; config (BORROWED) must be an object
 * of string values (FG_EINVALID otherwise). */
int fg_mender_config_put(struct fg_mender *m, const char *device_id,
			 json_t *config, struct fg_error *err);

/* Deploys the configured map; *deployment_id (if non-NULL) receives the
 * id Mender answers with (caller frees; NULL if absent). */
int fg_mender_config_deploy(struct fg_mender *m, const char *device_id,
			    char **deployment_id, struct fg_error *err);

/* Called once per device by fg_mender_config_apply_many with that device's
 * result (rc 0, or the first failure of its PUT or deploy, err naming the
 * call). A negative return stops the batch and is returned by it. */
typedef int (*fg_mender_device_fn)(void *ctx, size_t index, int rc,
				   const struct fg_error *err);

/* For every i: PUT configs[i] (BORROWED; objects of strings) as device
 * device_ids[i]'s configured map, then deploy it; the PUTs run as one
 * parallel batch, then the deploys of the devices whose PUT succeeded as
 * another. Bodies hold secrets and are wiped. FG_EINVALID for a bad id or
 * map (before any call), FG_ENOMEM, or fn's negative value. */
int fg_mender_config_apply_many(struct fg_mender *m,
				const char *const *device_ids,
				json_t *const *configs, size_t n,
				fg_mender_device_fn fn, void *ctx,
				struct fg_error *err);

/* The deployment_id of a NewConfigurationDeploymentResponse, or NULL. */
int fg_mender_parse_config_deploy(const char *body, size_t len, char **out,
				  struct fg_error *err);

#endif
