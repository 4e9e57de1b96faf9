/*
 * judged.h: the record fleetgate's pre-receive leaves of every branch
 * update it accepted, so that post-receive rolls out only what fleetgate
 * judged.
 *
 * A forge can replace a repository's pre-receive hook while keeping its
 * post-receive (gitolite's `option hook.pre-receive = X`, a hand-edited
 * hooks/ folder); without these records an unjudged push to production
 * would be rolled out. One small file per update, named by a SHA-1 of
 * "REF OLD NEW" and holding that line, mode 0600, under
 * <git_dir>/fleetgate/judged/, written atomically (fg_file_replace).
 * post-receive removes a record once it has acted on it; records of pushes
 * git refused after pre-receive (a lost race, a full disk) are pruned by
 * age whenever pre-receive accepts a push.
 *
 * Ownership rule: all arguments are borrowed; nothing is returned in new
 * memory.
 */
#ifndef FG_JUDGED_H
#define FG_JUDGED_H

#include <stdbool.h>
#include <time.h>

#include "error.h"
#include "hook_input.h"

/* How long a record of a push that never landed is kept. */
#define FG_JUDGED_MAX_AGE (24 * 60 * 60)

/* Records that pre-receive accepted `u`. Returns 0, FG_ENOMEM, or FG_EIO
 * naming the folder or file (pre-receive then rejects: fail closed). */
int fg_judged_record(const char *git_dir, const struct fg_ref_update *u,
		     struct fg_error *err);

/* True when a record of exactly `u` (ref, old and new ids) exists. */
bool fg_judged_has(const char *git_dir, const struct fg_ref_update *u);

/* Removes the record of `u`, if any. */
void fg_judged_remove(const char *git_dir, const struct fg_ref_update *u);

/* Removes records last written before `before` (a time in seconds since
 * the epoch; pre-receive passes now - FG_JUDGED_MAX_AGE). */
void fg_judged_prune(const char *git_dir, time_t before);

#endif
