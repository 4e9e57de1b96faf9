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
#include "fleet.h"
#include "mender.h"
#include "rollout.h"
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

/* The `subscribed-branch` rule, one place for planner and engine: tag >
 * device file > default, an empty string being unset at every level. */
struct branch_case {
	const char *title, *tag, *file, *fallback;
	const char *want;
	enum fg_fleet_branch_source src;
};

static const struct branch_case branch_cases[] = {
	{ "tag wins over file and default", "canary", "main", "production", "canary",
	  FG_FLEET_BRANCH_TAG },
	{ "file wins over the default", NULL, "main", "production", "main",
	  FG_FLEET_BRANCH_FILE },
	{ "default when neither is set", NULL, NULL, "production", "production",
	  FG_FLEET_BRANCH_DEFAULT },
	{ "empty tag is unset", "", "main", "production", "main", FG_FLEET_BRANCH_FILE },
	{ "empty file value is unset", NULL, "", "production", "production",
	  FG_FLEET_BRANCH_DEFAULT },
	{ "empty tag and file fall to the default", "", "", "production", "production",
	  FG_FLEET_BRANCH_DEFAULT },
	{ "empty default follows nothing", NULL, NULL, "", NULL, FG_FLEET_BRANCH_NONE },
	{ "nothing set follows nothing", NULL, NULL, NULL, NULL, FG_FLEET_BRANCH_NONE },
	{ "unknown branch in a tag is kept as named", "no-such-branch", "main",
	  "production", "no-such-branch", FG_FLEET_BRANCH_TAG },
	{ "unknown device (no file) follows the default", "", NULL, "canary", "canary",
	  FG_FLEET_BRANCH_DEFAULT },
};

static void test_device_branch_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(branch_cases) / sizeof(branch_cases[0]); i++) {
		const struct branch_case *c = &branch_cases[i];
		enum fg_fleet_branch_source src = (enum fg_fleet_branch_source)-1;
		const char *got = fg_fleet_device_branch(c->tag, c->file, c->fallback, &src);

		print_message("# device branch: %s\n", c->title);
		if (c->want)
			assert_string_equal(got ? got : "(null)", c->want);
		else
			assert_null(got);
		assert_int_equal(src, c->src);
	}
	assert_string_equal(fg_fleet_device_branch("t", NULL, NULL, NULL), "t");
}

/* ---- subscriptions and moved devices, on a repository built with git ---- */

#define D1 "00000000-0000-4000-8000-000000000001"
#define D2 "00000000-0000-4000-8000-000000000002"
#define D3 "00000000-0000-4000-8000-000000000003"

/* Runs a shell command in the test folder; returns its first output line. */
static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh(const char *fmt, ...)
{
	struct fg_buf cmd = FG_BUF_INIT;
	char line[128] = "";
	va_list ap;
	FILE *p;

	fg_buf_printf(&cmd, "cd '%s' && { ", dir);
	va_start(ap, fmt);
	fg_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	fg_buf_puts(&cmd, "; } 2>&1");
	assert_false(cmd.failed);
	p = popen(fg_buf_cstr(&cmd), "r");
	assert_non_null(p);
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	assert_int_equal(pclose(p), 0);
	fg_buf_release(&cmd);
	return fg_strdup(line);
}

static char *commit_fleet(const char *defaults, const char *d1, const char *d2)
{
	return sh("export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t "
		  "GIT_COMMITTER_EMAIL=t@e; mkdir -p w/devices && cd w && "
		  "printf 'version: 1\\n%s' >fleet.yaml && printf '%s' >devices/" D1 ".yaml && "
		  "printf '%s' >devices/" D2 ".yaml && git add -A && "
		  "git commit -q -m c && git rev-parse HEAD", defaults, d1, d2);
}

static void assert_moved(const char *old, const char *new, const char *want)
{
	struct fg_rollout_moved m;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_buf got = FG_BUF_INIT;
	char *gitdir = fg_asprintf("%s/w/.git", dir);
	size_t i;

	assert_non_null(gitdir);
	if (fg_rollout_moved_to(&m, gitdir, old, new, &err) < 0)
		fail_msg("fg_rollout_moved_to: %s", err.message);
	for (i = 0; i < m.count; i++) {
		fg_buf_printf(&got, "%s%s", i ? "," : "", m.branches[i]);
		assert_int_equal(strlen(m.tips[i]), 40);
	}
	assert_string_equal(got.len ? fg_buf_cstr(&got) : "", want);
	fg_buf_release(&got);
	fg_rollout_moved_release(&m);
	free(gitdir);
}

static void test_subscriptions_and_moves(void **state)
{
	static const char zero[] = "0000000000000000000000000000000000000000";
	struct fg_error err = FG_ERROR_INIT;
	struct fg_rollout_subs subs;
	git_repository *repo = NULL;
	char *a, *b, *c, *gitdir;

	free(sh("git init -q -b production w"));
	a = commit_fleet("default_branch: production\\n", "subscribed_branch: canary\\n",
			 "name: plain\\n");
	free(sh("git -C w branch canary"));
	/* the subscriptions branch's tip: tag > file > default */
	git_libgit2_init();
	gitdir = fg_asprintf("%s/w/.git", dir);
	assert_int_equal(git_repository_open(&repo, gitdir), 0);
	assert_int_equal(fg_rollout_subs_load(&subs, repo, "production", &err), 0);
	assert_true(subs.exists);
	assert_string_equal(fg_rollout_subs_follows(&subs, NULL, D1), "canary");
	assert_string_equal(fg_rollout_subs_follows(&subs, "main", D1), "main");
	assert_string_equal(fg_rollout_subs_follows(&subs, "", D2), "production");
	assert_string_equal(fg_rollout_subs_follows(&subs, NULL, D3), "production");
	fg_rollout_subs_release(&subs);
	/* not created yet: only tags subscribe */
	assert_int_equal(fg_rollout_subs_load(&subs, repo, "nope", &err), 0);
	assert_false(subs.exists);
	assert_null(fg_rollout_subs_follows(&subs, NULL, D1));
	assert_string_equal(fg_rollout_subs_follows(&subs, "canary", D1), "canary");
	fg_rollout_subs_release(&subs);
	/* created: every branch it names gained devices */
	assert_moved(zero, a, "canary,production");
	assert_moved(a, a, "");
	/* D2 moves to canary; D1 to a branch that does not exist (skipped) */
	b = commit_fleet("default_branch: production\\n", "subscribed_branch: ghost\\n",
			 "subscribed_branch: canary\\n");
	assert_moved(a, b, "canary");
	/* a new default moves the devices without their own branch */
	free(sh("git -C w branch main"));
	c = commit_fleet("default_branch: main\\n", "subscribed_branch: ghost\\n",
			 "subscribed_branch: canary\\n");
	assert_moved(b, c, "main");
	assert_moved(c, b, "production");
	git_repository_free(repo);
	git_libgit2_shutdown();
	free(gitdir);
	free(a);
	free(b);
	free(c);
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
		cmocka_unit_test(test_device_branch_table),
		cmocka_unit_test(test_subscriptions_and_moves),
		cmocka_unit_test(test_ids_sorted_lookup),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_parse_device_ids),
	};

	return cmocka_run_group_tests_name("rollout", tests, make_dir, remove_dir);
}
