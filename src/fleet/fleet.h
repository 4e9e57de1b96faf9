/*
 * fleet.h: the fleet repository model, format version 1 (fleetgate-fleet(5),
 * docs/fleet-format.md):
 *
 *   fleet.yaml                          fleet-wide desired state
 *   devices/.../<device-id>.yaml        one file per device (sub-folders ok)
 *   schemas/configuration.schema.json   optional JSON Schema (or .yaml) for
 *                                       every device's merged configuration
 *
 * This module owns loading those files from a struct fg_source, the rules of
 * device ids and device file names, merging a device's configuration over
 * the fleet's, and the format's own JSON Schemas, which are compiled into the
 * binary from policies/NAME.schema.json so the pre-receive hook never depends
 * on an install path. It never judges a fleet beyond "can it be loaded":
 * every rule lives in fleet_check.h.
 *
 * Ownership rule: structs returned through `out` belong to the caller and
 * are freed with their _free function; json_t values returned are new
 * references unless marked borrowed.
 */
#ifndef FG_FLEET_H
#define FG_FLEET_H

#include <jansson.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"
#include "schema.h"
#include "tree_source.h"
#include "yaml_load.h"

#define FG_FLEET_FILE "fleet.yaml"
#define FG_FLEET_DEVICES_DIR "devices"
#define FG_FLEET_SCHEMA_JSON "schemas/configuration.schema.json"
#define FG_FLEET_SCHEMA_YAML "schemas/configuration.schema.yaml"
/* Mender stores a configuration value of up to 4 KiB. */
#define FG_FLEET_VALUE_MAX 4096
/* "3fb4632b-96b9-475d-ac89-02255bd15b6f" is the longest device id. */
#define FG_FLEET_ID_MAX 36

/* The format's schemas as JSON text (generated from policies/ at build time)
 * and the URIs they are registered under. */
extern const char fg_fleet_schema_text[];
extern const char fg_device_schema_text[];
#define FG_FLEET_SCHEMA_URI "https://fleetgate.invalid/schemas/fleet.schema.json"
#define FG_DEVICE_SCHEMA_URI "https://fleetgate.invalid/schemas/device.schema.json"

/* The compiled format schemas; built once per check. */
struct fg_fleet_format {
	struct fg_schema *fleet;
	struct fg_schema *device;
};

/* Compiles the built-in schemas. FG_EINVALID only if the build shipped a
 * broken schema, FG_ENOMEM. */
int fg_fleet_format_init(struct fg_fleet_format *fmt, struct fg_error *err);
void fg_fleet_format_release(struct fg_fleet_format *fmt);

/* 1 when `id` is a Mender device id: a lower-case UUID
 * (8-4-4-4-12 hex digits) or Mender's 24 lower-case hex digit id. */
int fg_fleet_is_device_id(const char *id, size_t len);

/* For a path "devices/.../<name>.yaml": 1 and the id copied into
 * id[FG_FLEET_ID_MAX + 1] when <name> is a device id, else 0. */
int fg_fleet_device_id_of_path(const char *path, char *id);

/* 1 when `path` lies below devices/. */
int fg_fleet_in_devices(const char *path);

/* Loads the YAML file at `path` of `src` with `limits`. A problem with the
 * file itself (missing when required, too large, not a regular file, bad
 * YAML) becomes a finding in `diags` and *out stays NULL with return 0;
 * a missing optional file (required == 0) is *out NULL without a finding.
 * Negative only for I/O errors and out of memory. */
int fg_fleet_load_yaml(struct fg_yaml_doc **out, struct fg_source *src,
		       const char *path, int required,
		       const struct fg_yaml_limits *limits,
		       struct fg_diags *diags, struct fg_error *err);

/* Same, for a blob of a repository (the incremental check reads changed
 * device files by id). */
int fg_fleet_load_yaml_blob(struct fg_yaml_doc **out, git_repository *repo,
			    const git_oid *id, const char *path,
			    const struct fg_yaml_limits *limits,
			    struct fg_diags *diags, struct fg_error *err);

/* Turns a loader failure message "path:line:col: what; hint" into a finding.
 * Returns 0 or FG_ENOMEM. */
int fg_fleet_diag_from_error(struct fg_diags *diags, const char *path,
			     const struct fg_error *e, const char *rule);

/* Loads the fleet's own configuration schema (schemas/configuration.schema
 * .json, else .yaml) from `src`: *out is NULL when there is none or when it is
 * unusable; a finding (rule config-schema-unusable, in the schema file, with
 * the JSON pointer and what is wrong) then says why. Unusable: not JSON or
 * YAML, a $schema other than draft 7, a malformed keyword or pattern, a $ref
 * that resolves to nothing or only to other $refs. *path_out (may be NULL)
 * is the schema file's path (static) when one exists, else NULL.
 * Negative for I/O errors, FG_ENOMEM. */
int fg_fleet_load_config_schema(struct fg_schema **out, const char **path_out,
				struct fg_source *src,
				const struct fg_yaml_limits *limits,
				struct fg_diags *diags, struct fg_error *err);

/* Where the branch a device follows comes from. */
enum fg_fleet_branch_source {
	FG_FLEET_BRANCH_NONE,    /* nothing subscribes it */
	FG_FLEET_BRANCH_TAG,     /* Mender inventory tag subscribed_branch */
	FG_FLEET_BRANCH_FILE,    /* device file subscribed_branch */
	FG_FLEET_BRANCH_DEFAULT  /* fleet.yaml default_branch */
};

/* The branch a device follows (the `subscribed-branch` rule): its Mender
 * tag (the server admin's), else its device file's subscribed_branch, else
 * the fleet's default_branch. An empty string counts as unset at every
 * level, so an empty tag or file value falls through to the next. The file
 * and default values must come from the subscriptions branch, never from
 * the branch being rolled out. Returns one of the arguments (borrowed), or
 * NULL when none is set; *src (when non-NULL) says which. Never fails. */
const char *fg_fleet_device_branch(const char *tag, const char *file_branch,
				   const char *default_branch,
				   enum fg_fleet_branch_source *src);

/* A device's effective configuration: a new object holding the fleet's
 * configuration (may be NULL) with the device's (may be NULL) merged over
 * it, key by key. Non-object inputs count as empty. NULL on out of memory. */
json_t *fg_fleet_merge_configuration(const json_t *fleet_conf,
				     const json_t *device_conf);

#endif
