/*
 * fsutil.h: the few file-system habits fleetgate relies on in more than one
 * place: replacing a file atomically and durably, and finding the folder
 * of the running binary (where its sibling binaries live).
 *
 * Ownership rule: arguments are borrowed; strings returned are new memory
 * the caller frees.
 */
#ifndef FG_FSUTIL_H
#define FG_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Writes `data` to `path` so that a reader (or a crash) sees either the old
 * file or the whole new one: a temporary file beside it (or in tmp_dir when
 * non-NULL, which must be on the same file system), fsync, rename, and an
 * fsync of the folder. Returns 0 or FG_EIO naming the file and the errno
 * text; nothing half-written is left behind. */
int fg_file_replace(const char *path, const char *tmp_dir, const char *data,
		    size_t len, mode_t mode, struct fg_error *err);

/* The folder of the running executable (/proc/self/exe), or NULL. */
char *fg_self_dir(void);

#endif
