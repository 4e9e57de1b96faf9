/*
 * fsutil.h: the few file-system habits fleetgate relies on in more than one
 * place: opening a server-side file strictly, reading it with a bound,
 * reading a secret file, replacing a file atomically and durably, and
 * finding the folder of the running binary (where its sibling binaries live).
 *
 * Every file the hooks and the worker read from the server (policy, secrets,
 * Mender credentials, rollout state, spool jobs, the log they append to) is
 * opened with fg_open_regular: a symbolic link, FIFO, device or folder
 * planted at the path is refused instead of followed, or waited on forever.
 *
 * Ownership rule: arguments are borrowed; strings returned are new memory
 * the caller frees.
 */
#ifndef FG_FSUTIL_H
#define FG_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Opens `path` with `flags` (O_RDONLY, O_RDWR, O_WRONLY | O_APPEND | O_CREAT,
 * ...; `mode` is used with O_CREAT) plus O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
 * O_NOCTTY, checks with fstat that it is a regular file, then clears
 * O_NONBLOCK so that reads and writes block as usual. On success *fd is a
 * descriptor the caller closes. Errors, each naming the file: FG_ENOTFOUND
 * (missing, or a file where a folder of the path should be), FG_EPERM (a
 * symbolic link), FG_EINVALID (not a regular file),
 * FG_EIO (anything else). *fd is -1 on failure. */
int fg_open_regular(int *fd, const char *path, int flags, mode_t mode,
		    struct fg_error *err);

/* Reads `fd` to its end into new memory (*buf, NUL-terminated, *len bytes
 * without the NUL) that the caller frees. More than `max` bytes is FG_ELIMIT
 * ("... is larger than MAX bytes"), a read error FG_EIO; messages do not name
 * the file, callers prefix it (fg_error_prefix). Buffers outgrown on the way
 * are wiped before they are freed, so the reader is fit for secrets. */
int fg_read_fd_bounded(char **buf, size_t *len, int fd, size_t max,
		       struct fg_error *err);

/* fg_open_regular(O_RDONLY) and fg_read_fd_bounded in one, for a whole
 * file at `path`; every message names the file. */
int fg_read_file_bounded(char **buf, size_t *len, const char *path, size_t max,
			 struct fg_error *err);

/* Reads a secret (a configuration secret, a Mender token, user name or
 * password) from `path`: a regular file, not a symbolic link, owned by the
 * effective user, mode 0600 or stricter (nothing for group or others), at
 * most `max` bytes, no NUL byte. *buf (NUL-terminated, *len bytes) is new
 * memory the caller releases with fg_secret_free. Errors name the file and
 * say what to do (chmod 600 FILE, chown USER FILE), never the content:
 * FG_ENOTFOUND, FG_EPERM (link, owner, mode), FG_EINVALID (not a regular
 * file, NUL byte), FG_ELIMIT, FG_EIO. */
int fg_read_secret_file(char **buf, size_t *len, const char *path, size_t max,
			struct fg_error *err);

/* Wipes (explicit_bzero) and frees a secret of `len` bytes; NULL is fine. */
void fg_secret_free(char *secret, size_t len);

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
