/* judged: the records pre-receive leaves for post-receive. Ages are set on
 * the files (utimes) and compared with a cut-off the test chooses: no
 * clock is read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "judged.h"

#define A40 "1111111111111111111111111111111111111111"
#define B40 "2222222222222222222222222222222222222222"
#define C40 "3333333333333333333333333333333333333333"

static struct fg_ref_update update(const char *ref, const char *old, const char *new)
{
	struct fg_ref_update u = { .refname = (char *)ref };

	snprintf(u.old_id.hex, sizeof(u.old_id.hex), "%s", old);
	snprintf(u.new_id.hex, sizeof(u.new_id.hex), "%s", new);
	return u;
}

static int setup(void **state)
{
	char *dir = fg_strdup("/tmp/fg-judged-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char *cmd = fg_asprintf("rm -rf '%s'", (char *)*state);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(*state);
	return 0;
}

static size_t count_records(const char *git_dir)
{
	char *path = fg_asprintf("%s/fleetgate/judged", git_dir);
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	free(path);
	return n;
}

static void test_record_is_exact(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_ref_update u = update("refs/heads/production", A40, B40);
	struct fg_ref_update other_new = update("refs/heads/production", A40, C40);
	struct fg_ref_update other_ref = update("refs/heads/canary", A40, B40);

	assert_false(fg_judged_has(*state, &u));
	assert_int_equal(fg_judged_record(*state, &u, &err), 0);
	assert_true(fg_judged_has(*state, &u));
	/* a record is a pass for its own update only */
	assert_false(fg_judged_has(*state, &other_new));
	assert_false(fg_judged_has(*state, &other_ref));
	fg_judged_remove(*state, &u);
	assert_false(fg_judged_has(*state, &u));
	assert_int_equal(count_records(*state), 0);
}

/* A record whose content is not its update (a damaged or planted file
 * under the right name) is no pass. */
static void test_content_must_match_name(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_ref_update u = update("refs/heads/main", A40, B40);
	char *cmd;

	assert_int_equal(fg_judged_record(*state, &u, &err), 0);
	cmd = fg_asprintf("for f in '%s'/fleetgate/judged/*; do echo refs/heads/main "
			  A40 " " C40 " >\"$f\"; done", (char *)*state);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_false(fg_judged_has(*state, &u));
}

/* Records `u` and dates it `t`: the one record in the folder not yet
 * dated (the others were set to small times before). */
static void record_at(const char *git_dir, const struct fg_ref_update *u, time_t t)
{
	struct fg_error err = FG_ERROR_INIT;
	struct timeval tv[2] = { { t, 0 }, { t, 0 } };
	char *dir;
	DIR *d;
	struct dirent *e;

	assert_int_equal(fg_judged_record(git_dir, u, &err), 0);
	dir = fg_asprintf("%s/fleetgate/judged", git_dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		struct stat st;
		char *p = fg_asprintf("%s/%s", dir, e->d_name);

		if (e->d_name[0] != '.' && stat(p, &st) == 0 && st.st_mtime > 1000000)
			assert_int_equal(utimes(p, tv), 0);
		free(p);
	}
	closedir(d);
	free(dir);
}

static void test_prune_by_age(void **state)
{
	struct fg_ref_update old = update("refs/heads/canary", A40, B40);
	struct fg_ref_update young = update("refs/heads/main", A40, B40);

	record_at(*state, &old, 1000);
	record_at(*state, &young, 5000);
	assert_int_equal(count_records(*state), 2);
	fg_judged_prune(*state, 1000); /* older than 1000: none */
	assert_int_equal(count_records(*state), 2);
	fg_judged_prune(*state, 1001);
	assert_int_equal(count_records(*state), 1);
	assert_false(fg_judged_has(*state, &old));
	assert_true(fg_judged_has(*state, &young));
	/* a repository without records yet: nothing to do, nothing fails */
	fg_judged_prune("/nonexistent/fg", 1001);
}

static void test_unwritable_folder_fails(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_ref_update u = update("refs/heads/main", A40, B40);
	char *file = fg_asprintf("%s/fleetgate", (char *)*state);
	FILE *f = fopen(file, "w");

	/* a file where the folder should be: refused, and the message says
	 * where */
	assert_non_null(f);
	fclose(f);
	assert_true(fg_judged_record(*state, &u, &err) < 0);
	assert_non_null(strstr(err.message, "fleetgate/judged"));
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_must_match_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_folder_fails, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
