#include "fsutil.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int io_error(struct fg_error *err, const char *what, const char *path)
{
	return fg_error_set(err, FG_EIO, "unable to %s '%s': %s", what, path,
			    strerror(errno));
}

static int write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return fg_strdup(".");
	if (slash == path)
		return fg_strdup("/");
	return fg_asprintf("%.*s", (int)(slash - path), path);
}

int fg_file_replace(const char *path, const char *tmp_dir, const char *data,
		    size_t len, mode_t mode, struct fg_error *err)
{
	const char *name = strrchr(path, '/');
	char *dir = parent_of(path), *tmp = NULL;
	int fd = -1, dfd = -1, rc = 0;

	name = name ? name + 1 : path;
	if (dir)
		tmp = fg_asprintf("%s/.%s.%ld.tmp", tmp_dir ? tmp_dir : dir, name,
				  (long)getpid());
	if (!dir || !tmp) {
		rc = fg_error_oom(err);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		rc = io_error(err, "create", tmp);
		goto out;
	}
	/* fchmod: the umask must not loosen or tighten what the caller asked */
	if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		rc = io_error(err, "write", tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = io_error(err, "rename into", path);
		goto out;
	}
	/* the rename itself is durable only once the folder is synced */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		rc = io_error(err, "sync", dir);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

char *fg_self_dir(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return fg_strdup(self);
}
