/* fsutil: the strict opener, the bounded reader and the secret reader that
 * every server-side file goes through. The hostile cases are what a person
 * with a shell on the server, or a bug, could plant at a configured path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

struct dir {
	char path[64];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	snprintf(d->path, sizeof(d->path), "/tmp/fg-fsutil-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char *cmd = fg_asprintf("rm -rf '%s'", d->path);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
	return 0;
}

static char *in(void **state, const char *name)
{
	char *p = fg_asprintf("%s/%s", ((struct dir *)*state)->path, name);

	assert_non_null(p);
	return p;
}

static char *make_file(void **state, const char *name, const char *text, mode_t mode)
{
	char *p = in(state, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

/* A FIFO at the path: refused at once. Without O_NONBLOCK, open() would
 * wait for a writer that never comes and the test would never end. */
static void test_fifo_is_refused_not_waited_on(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *p = in(state, "policy.yaml"), *buf = NULL;
	size_t len = 1;
	int fd = 7;

	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(fg_open_regular(&fd, p, O_RDONLY, 0, &err), FG_EINVALID);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.message, p));
	assert_non_null(strstr(err.message, "is not a regular file but a FIFO"));
	/* appending (the server log) must not wait for a reader either */
	assert_int_equal(fg_open_regular(&fd, p, O_WRONLY | O_APPEND | O_CREAT, 0640, &err),
			 FG_EINVALID);
	assert_int_equal(fg_read_file_bounded(&buf, &len, p, 100, &err), FG_EINVALID);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(fg_read_secret_file(&buf, &len, p, 100, &err), FG_EINVALID);
	free(p);
}

static void test_symlink_and_folder_are_refused(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *target = make_file(state, "real", "x", 0600), *link = in(state, "link");
	int fd;

	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(fg_open_regular(&fd, link, O_RDONLY, 0, &err), FG_EPERM);
	assert_non_null(strstr(err.message, "is a symbolic link"));
	assert_int_equal(fg_open_regular(&fd, ((struct dir *)*state)->path, O_RDONLY, 0,
					 &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "but a folder"));
	assert_int_equal(fg_open_regular(&fd, ((struct dir *)*state)->path,
					 O_WRONLY | O_APPEND, 0, &err), FG_EINVALID);
	free(link);
	link = in(state, "missing");
	assert_int_equal(fg_open_regular(&fd, link, O_RDONLY, 0, &err), FG_ENOTFOUND);
	free(link);
	/* a file where a folder should be (a state dir that is a file) */
	link = in(state, "real/state.json");
	assert_int_equal(fg_open_regular(&fd, link, O_RDONLY, 0, &err), FG_ENOTFOUND);
	free(link);
	free(target);
}

/* The opened descriptor blocks again: a regular file reads in full, and
 * O_CREAT makes a regular file with the mode asked for. */
static void test_open_regular_reads_and_creates(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *p = make_file(state, "f", "hello", 0644), *buf = NULL;
	struct stat st;
	size_t len = 0;
	int fd;

	assert_int_equal(fg_open_regular(&fd, p, O_RDONLY, 0, &err), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fg_read_fd_bounded(&buf, &len, fd, 5, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);
	close(fd);
	free(p);
	p = in(state, "new.log");
	assert_int_equal(fg_open_regular(&fd, p, O_WRONLY | O_APPEND | O_CREAT, 0600, &err), 0);
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(p);
}

static void test_bounded_reader_limits(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *p = make_file(state, "f", "0123456789", 0600), *buf = NULL;
	size_t len = 0;
	int fds[2];

	assert_int_equal(fg_read_file_bounded(&buf, &len, p, 9, &err), FG_ELIMIT);
	assert_null(buf);
	assert_non_null(strstr(err.message, p));
	assert_non_null(strstr(err.message, "larger than 9 bytes"));
	assert_int_equal(fg_read_file_bounded(&buf, &len, p, 10, &err), 0);
	assert_int_equal(len, 10);
	free(buf);
	/* a pipe has no size to trust: the count alone must stop it */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789abcdef", 16), 16);
	close(fds[1]);
	assert_int_equal(fg_read_fd_bounded(&buf, &len, fds[0], 15, &err), FG_ELIMIT);
	assert_null(buf);
	close(fds[0]);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789abcdef", 16), 16);
	close(fds[1]);
	assert_int_equal(fg_read_fd_bounded(&buf, &len, fds[0], 16, &err), 0);
	assert_int_equal(len, 16);
	assert_string_equal(buf, "0123456789abcdef");
	free(buf);
	close(fds[0]);
	free(p);
}

static void test_secret_rules(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *p = make_file(state, "token", "TOPSECRET\n", 0600), *buf = NULL;
	char *link = in(state, "token-link");
	size_t len = 0;

	assert_int_equal(fg_read_secret_file(&buf, &len, p, 100, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "TOPSECRET\n");
	fg_secret_free(buf, len);
	/* group-readable is as bad as world-readable */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(fg_read_secret_file(&buf, &len, p, 100, &err), FG_EPERM);
	assert_null(buf);
	assert_non_null(strstr(err.message, "chmod 600"));
	assert_non_null(strstr(err.message, p));
	assert_null(strstr(err.message, "TOPSECRET"));
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(fg_read_secret_file(&buf, &len, p, 100, &err), 0);
	fg_secret_free(buf, len);
	assert_int_equal(fg_read_secret_file(&buf, &len, p, 9, &err), FG_ELIMIT);
	assert_null(strstr(err.message, "TOPSECRET"));
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(fg_read_secret_file(&buf, &len, link, 100, &err), FG_EPERM);
	assert_non_null(strstr(err.message, "symbolic link"));
	free(link);
	free(p);
	p = make_file(state, "nul", "ab", 0600);
	assert_int_equal(truncate(p, 5), 0); /* "ab\0\0\0" */
	assert_int_equal(fg_read_secret_file(&buf, &len, p, 100, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "NUL byte"));
	free(p);
}

/* Owned by another user: only root can make such a file, so only root
 * runs this case; as another user, a file the test cannot chown is the
 * true cause of the skip. */
static void test_secret_of_another_user(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *p = make_file(state, "other", "x", 0600), *buf = NULL;
	size_t len = 0;

	if (geteuid() != 0) {
		free(p);
		skip(); /* cannot give a file away without root */
	}
	assert_int_equal(chown(p, 65534, 65534), 0);
	assert_int_equal(fg_read_secret_file(&buf, &len, p, 100, &err), FG_EPERM);
	assert_non_null(strstr(err.message, "chown root"));
	assert_null(buf);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifo_is_refused_not_waited_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_and_folder_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_regular_reads_and_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_reader_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_of_another_user, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
