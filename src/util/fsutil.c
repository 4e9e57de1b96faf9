#include "fsutil.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int io_error(struct fg_error *err, const char *what, const char *path)
{
	return fg_error_set(err, FG_EIO, "unable to %s '%s': %s", what, path,
			    strerror(errno));
}

static const char *kind_of(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a folder";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a device";
}

static int open_error(struct fg_error *err, const char *path)
{
	/* ENOTDIR: a file where a folder of the path should be; there is
	 * no such file either */
	if (errno == ENOENT || errno == ENOTDIR)
		return fg_error_set(err, FG_ENOTFOUND, "unable to open '%s': %s", path,
				    strerror(errno));
	if (errno == ELOOP)
		return fg_error_set(err, FG_EPERM, "'%s' is a symbolic link, which "
				    "fleetgate does not follow; put the file itself there",
				    path);
	if (errno == EISDIR || errno == ENXIO)
		return fg_error_set(err, FG_EINVALID, "'%s' is not a regular file; "
				    "put a regular file there", path);
	return io_error(err, "open", path);
}

int fg_open_regular(int *fd, const char *path, int flags, mode_t mode,
		    struct fg_error *err)
{
	struct stat st;
	int f;

	*fd = -1;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the hook in
	 * open(); O_NOFOLLOW: a link must not point it at another file */
	f = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	if (f < 0)
		return open_error(err, path);
	if (fstat(f, &st) < 0) {
		io_error(err, "stat", path);
		close(f);
		return FG_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(f);
		return fg_error_set(err, FG_EINVALID, "'%s' is not a regular file but %s; "
				    "put a regular file there", path, kind_of(st.st_mode));
	}
	if (fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) < 0) {
		io_error(err, "open", path);
		close(f);
		return FG_EIO;
	}
	*fd = f;
	return 0;
}

/* Moves to a bigger buffer, wiping the old one: it may hold a secret. */
static char *grow(char *buf, size_t used, size_t cap)
{
	char *bigger = malloc(cap);

	if (bigger && used)
		memcpy(bigger, buf, used);
	if (buf) {
		explicit_bzero(buf, used);
		free(buf);
	}
	return bigger;
}

/* A regular file's size is the right first guess (one allocation, no
 * copy) and tells at once when it is over the limit; the loop still
 * counts, as the file may grow while it is read. Returns 0 when too big. */
static size_t first_capacity(int fd, size_t max)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0)
		return (unsigned long long)st.st_size > max ? 0 : (size_t)st.st_size + 2;
	return 4096 < max + 2 ? 4096 : max + 2;
}

int fg_read_fd_bounded(char **buf, size_t *len, int fd, size_t max,
		       struct fg_error *err)
{
	size_t cap = first_capacity(fd, max), used = 0;
	char *b;
	ssize_t n;
	int rc = 0;

	*buf = NULL;
	*len = 0;
	if (!cap)
		return fg_error_set(err, FG_ELIMIT, "larger than %zu bytes", max);
	for (b = malloc(cap); b;) {
		if (used + 1 == cap) {
			cap = cap > max / 2 ? max + 2 : cap * 2;
			if (!(b = grow(b, used, cap)))
				break;
		}
		n = read(fd, b + used, cap - 1 - used);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fg_error_set(err, FG_EIO, "read failed: %s", strerror(errno));
			goto out;
		}
		used += (size_t)n;
		if (used > max) {
			rc = fg_error_set(err, FG_ELIMIT, "larger than %zu bytes", max);
			goto out;
		}
	}
	if (!b)
		return fg_error_oom(err);
	b[used] = '\0';
	*buf = b;
	*len = used;
	return 0;
out:
	explicit_bzero(b, used);
	free(b);
	return rc;
}

int fg_read_file_bounded(char **buf, size_t *len, const char *path, size_t max,
			 struct fg_error *err)
{
	int fd, rc;

	*buf = NULL;
	*len = 0;
	if ((rc = fg_open_regular(&fd, path, O_RDONLY, 0, err)) < 0)
		return rc;
	if ((rc = fg_read_fd_bounded(buf, len, fd, max, err)) < 0)
		fg_error_prefix(err, "'%s'", path);
	close(fd);
	return rc;
}

static int check_secret_stat(const char *path, const struct stat *st,
			     struct fg_error *err)
{
	const struct passwd *pw;

	if (st->st_uid != geteuid()) {
		pw = getpwuid(geteuid());
		return fg_error_set(err, FG_EPERM, "'%s' is not owned by the user the "
				    "hooks run as; run: chown %s '%s'", path,
				    pw ? pw->pw_name : "USER", path);
	}
	if (st->st_mode & 077)
		return fg_error_set(err, FG_EPERM, "'%s' is readable or writable by group "
				    "or others (mode %03o); run: chmod 600 '%s'", path,
				    (unsigned)(st->st_mode & 0777), path);
	return 0;
}

int fg_read_secret_file(char **buf, size_t *len, const char *path, size_t max,
			struct fg_error *err)
{
	struct stat st;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	if ((rc = fg_open_regular(&fd, path, O_RDONLY, 0, err)) < 0)
		return rc;
	if (fstat(fd, &st) < 0)
		rc = io_error(err, "stat", path);
	else if ((rc = check_secret_stat(path, &st, err)) == 0 &&
		 (rc = fg_read_fd_bounded(buf, len, fd, max, err)) < 0)
		fg_error_prefix(err, "'%s'", path);
	close(fd);
	if (rc == 0 && memchr(*buf, '\0', *len)) {
		fg_secret_free(*buf, *len);
		*buf = NULL;
		*len = 0;
		rc = fg_error_set(err, FG_EINVALID, "'%s' holds a NUL byte; a secret "
				  "file holds text", path);
	}
	return rc;
}

void fg_secret_free(char *secret, size_t len)
{
	if (!secret)
		return;
	explicit_bzero(secret, len);
	free(secret);
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
