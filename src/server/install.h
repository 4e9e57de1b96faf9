/*
 * install.h: puts the fleetgate hooks into a bare repository.
 *
 * Writes small /bin/sh scripts that exec the hook binaries (so the hooks
 * follow upgrades of fleetgate), in the layout the git server expects, and
 * records the policy path in the repository's config. A hook that is not
 * ours is never overwritten unless `force` is set.
 *
 * Ownership rule: the options struct and its strings are borrowed.
 */
#ifndef FG_INSTALL_H
#define FG_INSTALL_H

#include <stdbool.h>

#include "error.h"

enum fg_hook_layout {
	FG_LAYOUT_PLAIN,  /* hooks/pre-receive, hooks/post-receive */
	FG_LAYOUT_GITEA,  /* hooks/<hook>.d/fleetgate (Gitea chains *.d) */
	FG_LAYOUT_GITLAB  /* custom_hooks/<hook>.d/fleetgate */
};

struct fg_install_options {
	const char *repo;        /* bare repository */
	const char *policy;      /* policy file; stored as an absolute path */
	const char *bindir;      /* where fleetgate-pre-receive lives */
	enum fg_hook_layout layout;
	bool force;
};

/* Parses "plain", "gitea" or "gitlab". Returns 0 or FG_EINVALID. */
int fg_install_parse_layout(enum fg_hook_layout *out, const char *name,
			    struct fg_error *err);

/* Installs both hooks. Returns 0, FG_EPERM when a foreign hook is in the
 * way (and nothing was written), FG_ENOTFOUND when repo is not a bare
 * repository or the policy does not exist, FG_EIO on write errors. */
int fg_install_hooks(const struct fg_install_options *opts, struct fg_error *err);

#endif
