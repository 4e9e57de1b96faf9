/* Unit tests of the rollout engine's parts that need no Mender: secrets,
 * the subscription rule, id lists, the remembered state, the parser of a
 * deployment's device list. The end-to-end behaviour is
 * tests/integration/t0500-rollout.sh. */
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
#include "mender.h"
#include "rollout_int.h"

static char dir[64];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/fg-test-rollout.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char *cmd = fg_asprintf("rm -rf '%s'", dir);
	int rc = cmd ? system(cmd) : -1;

	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void put_file(const char *name, const char *text, mode_t mode)
{
	char *path = fg_asprintf("%s/%s", dir, name);
	int fd;

	assert_non_null(path);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

static void test_secret_read_and_trimmed(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *v = NULL;

	put_file("TOKEN", "abc def\n", 0600);
	assert_int_equal(fg_rollout_read_secret(dir, "TOKEN", &v, &err), 0);
	assert_string_equal(v, "abc def");
	free(v);
	put_file("CRLF", "x\r\n", 0400);
	assert_int_equal(fg_rollout_read_secret(dir, "CRLF", &v, &err), 0);
	assert_string_equal(v, "x");
	free(v);
}

static void test_secret_refusals(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *v = (char *)"unset", *link, *big;

	put_file("OPEN", "hunter2\n", 0640);
	assert_int_equal(fg_rollout_read_secret(dir, "OPEN", &v, &err), FG_EPERM);
	assert_null(v);
	assert_non_null(strstr(err.message, "'OPEN'"));
	assert_null(strstr(err.message, "hunter2"));
	assert_int_equal(fg_rollout_read_secret(dir, "../OPEN", &v, &err), FG_EINVALID);
	assert_int_equal(fg_rollout_read_secret(dir, "..", &v, &err), FG_EINVALID);
	assert_int_equal(fg_rollout_read_secret(dir, "", &v, &err), FG_EINVALID);
	assert_int_equal(fg_rollout_read_secret(dir, "MISSING", &v, &err), FG_ENOTFOUND);
	assert_int_equal(fg_rollout_read_secret(NULL, "OPEN", &v, &err), FG_EINVALID);
	put_file("REAL", "v\n", 0600);
	link = fg_asprintf("%s/LINK", dir);
	assert_int_equal(symlink("REAL", link), 0);
	assert_int_equal(fg_rollout_read_secret(dir, "LINK", &v, &err), FG_EPERM);
	assert_non_null(strstr(err.message, "symbolic link"));
	free(link);
	big = calloc(1, 5000);
	assert_non_null(big);
	memset(big, 'a', 4097);
	put_file("BIG", big, 0600);
	assert_int_equal(fg_rollout_read_secret(dir, "BIG", &v, &err), FG_EINVALID);
	free(big);
}

static void test_follows_precedence(void **state)
{
	assert_string_equal(fg_rollout_follows("canary", "main", "production"), "canary");
	assert_string_equal(fg_rollout_follows("", "main", "production"), "main");
	assert_string_equal(fg_rollout_follows(NULL, NULL, "production"), "production");
}

static void test_ids_sorted_lookup(void **state)
{
	struct fg_rollout_ids ids = { 0 };

	assert_int_equal(fg_rollout_ids_has(&ids, "a"), 0);
	assert_int_equal(fg_rollout_ids_add(&ids, "c"), 0);
	assert_int_equal(fg_rollout_ids_add(&ids, "a"), 0);
	assert_int_equal(fg_rollout_ids_add(&ids, "b"), 0);
	fg_rollout_ids_sort(&ids);
	assert_string_equal(ids.items[0], "a");
	assert_true(fg_rollout_ids_has(&ids, "b"));
	assert_false(fg_rollout_ids_has(&ids, "d"));
	fg_rollout_ids_release(&ids);
}

static void test_state_round_trip(void **state)
{
	struct fg_rollout_ids subs = { 0 }, back = { 0 }, other = { 0 };
	struct fg_error err = FG_ERROR_INIT;
	char *sdir = fg_asprintf("%s/state", dir);
	git_oid c1, c2, got;

	assert_int_equal(git_oid_fromstr(&c1, "1111111111111111111111111111111111111111"), 0);
	assert_int_equal(git_oid_fromstr(&c2, "2222222222222222222222222222222222222222"), 0);
	assert_int_equal(fg_rollout_state_get(sdir, "/r.git", "canary", &got, &back, &err),
			 FG_ENOTFOUND);
	assert_int_equal(fg_rollout_ids_add(&subs, "dev-b"), 0);
	assert_int_equal(fg_rollout_ids_add(&subs, "dev-a"), 0);
	fg_rollout_ids_sort(&subs);
	assert_int_equal(fg_rollout_state_set(sdir, "/r.git", "canary", &c1, &subs, &err), 0);
	assert_int_equal(fg_rollout_state_set(sdir, "/r.git", "feature/x", &c2, &other, &err), 0);
	assert_int_equal(fg_rollout_state_get(sdir, "/r.git", "canary", &got, &back, &err), 0);
	assert_true(git_oid_equal(&got, &c1));
	assert_int_equal(back.count, 2);
	assert_true(fg_rollout_ids_has(&back, "dev-a"));
	assert_true(fg_rollout_ids_has(&back, "dev-b"));
	fg_rollout_ids_release(&back);
	assert_int_equal(fg_rollout_state_get(sdir, "/r.git", "feature/x", &got, &back, &err), 0);
	assert_true(git_oid_equal(&got, &c2));
	assert_int_equal(back.count, 0);
	fg_rollout_ids_release(&back);
	/* another repository with the same branch is another entry */
	assert_int_equal(fg_rollout_state_get(sdir, "/s.git", "canary", &got, &back, &err),
			 FG_ENOTFOUND);
	fg_rollout_ids_release(&back);
	fg_rollout_ids_release(&subs);
	free(sdir);
}

static void test_parse_device_ids(void **state)
{
	struct fg_mender_ids ids = FG_MENDER_IDS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	const char *page = "[{\"id\":\"d1\",\"status\":\"pending\"},{\"id\":\"d2\"}]";
	const char *bad = "[{\"id\":\"d3\"},{\"status\":\"pending\"}]";

	assert_int_equal(fg_mender_parse_device_ids(page, strlen(page), &ids, &err), 0);
	assert_int_equal(ids.count, 2);
	assert_string_equal(ids.items[1], "d2");
	assert_int_equal(fg_mender_parse_device_ids(bad, strlen(bad), &ids, &err), FG_EINVALID);
	assert_int_equal(ids.count, 2); /* nothing of the bad page kept */
	assert_non_null(strstr(err.message, "'id'"));
	assert_int_equal(fg_mender_parse_device_ids("{", 1, &ids, &err), FG_EINVALID);
	assert_int_equal(fg_mender_parse_device_ids("{}", 2, &ids, &err), FG_EINVALID);
	fg_mender_ids_release(&ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_read_and_trimmed),
		cmocka_unit_test(test_secret_refusals),
		cmocka_unit_test(test_follows_precedence),
		cmocka_unit_test(test_ids_sorted_lookup),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_parse_device_ids),
	};

	return cmocka_run_group_tests_name("rollout", tests, make_dir, remove_dir);
}
