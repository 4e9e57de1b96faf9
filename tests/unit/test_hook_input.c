#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook_input.h"

#define Z40 "0000000000000000000000000000000000000000"
#define A40 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define Z64 Z40 "000000000000000000000000"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *const *fake_env;

static const char *lookup(const char *name)
{
	size_t i;

	for (i = 0; fake_env[i]; i += 2)
		if (!strcmp(fake_env[i], name))
			return fake_env[i + 1];
	return NULL;
}

static void test_parse_updates(void **state)
{
	static const char in[] = Z40 " " A40 " refs/heads/main\n"
				 A40 " " Z40 " refs/tags/v1\n";
	struct fg_ref_updates u;
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_hook_parse_updates(&u, in, strlen(in), &err), 0);
	assert_int_equal(u.count, 2);
	assert_string_equal(u.items[0].refname, "refs/heads/main");
	assert_true(fg_oid_is_zero(&u.items[0].old_id));
	assert_false(fg_oid_is_zero(&u.items[0].new_id));
	assert_true(fg_oid_is_zero(&u.items[1].new_id));
	fg_ref_updates_release(&u);
}

static void test_parse_sha256(void **state)
{
	static const char in[] = Z64 " " B64 " refs/heads/canary";
	struct fg_ref_updates u;
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_hook_parse_updates(&u, in, strlen(in), &err), 0);
	assert_int_equal(u.count, 1);
	assert_true(fg_oid_is_zero(&u.items[0].old_id));
	assert_int_equal(strlen(u.items[0].new_id.hex), 64);
	fg_ref_updates_release(&u);
}

static void test_parse_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"garbage\n",
		Z40 " " A40 "\n",
		Z40 " " B64 " refs/heads/x\n",
		Z40 " " A40 " heads/main\n",
		Z40 " " A40 " refs/heads/a\x01" "b\n",
		Z40 " AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA refs/heads/x\n",
		"\n",
		NULL
	};
	struct fg_ref_updates u;
	size_t i;

	for (i = 0; bad[i]; i++) {
		struct fg_error err = FG_ERROR_INIT;

		assert_int_equal(fg_hook_parse_updates(&u, bad[i], strlen(bad[i]), &err),
				 FG_EINVALID);
		assert_non_null(strstr(err.message, "line 1"));
		assert_int_equal(u.count, 0);
	}
}

static void test_refname_with_shell_metacharacters_is_data(void **state)
{
	static const char in[] = Z40 " " A40 " refs/heads/$(rm -rf /);`x`|&\n";
	struct fg_ref_updates u;
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_hook_parse_updates(&u, in, strlen(in), &err), 0);
	assert_string_equal(u.items[0].refname, "refs/heads/$(rm -rf /);`x`|&");
	assert_string_equal(fg_ref_branch_name(u.items[0].refname), "$(rm -rf /);`x`|&");
	fg_ref_updates_release(&u);
}

static void test_push_options(void **state)
{
	static const char *const env[] = { "GIT_PUSH_OPTION_COUNT", "2",
					   "GIT_PUSH_OPTION_0", "fleetgate.dry-run",
					   "GIT_PUSH_OPTION_1", "ci.skip=1", NULL };
	static const char *const too_many[] = { "GIT_PUSH_OPTION_COUNT", "1000", NULL };
	static const char *const not_number[] = { "GIT_PUSH_OPTION_COUNT", "2x", NULL };
	struct fg_push_options o;
	struct fg_error err = FG_ERROR_INIT;

	fake_env = env;
	assert_int_equal(fg_hook_parse_push_options(&o, lookup, &err), 0);
	assert_true(fg_push_options_has(&o, "fleetgate.dry-run"));
	assert_true(fg_push_options_has(&o, "ci.skip"));
	assert_false(fg_push_options_has(&o, "fleetgate.skip-rollout"));
	assert_false(fg_push_options_has(&o, "fleetgate.dry"));
	fg_push_options_release(&o);
	fake_env = too_many;
	assert_int_equal(fg_hook_parse_push_options(&o, lookup, &err), FG_ELIMIT);
	fake_env = not_number;
	assert_int_equal(fg_hook_parse_push_options(&o, lookup, &err), FG_EINVALID);
}

static void test_overlong_push_option(void **state)
{
	char *big = malloc(FG_HOOK_MAX_PUSH_OPTION_LEN + 2);
	const char *env[] = { "GIT_PUSH_OPTION_COUNT", "1", "GIT_PUSH_OPTION_0", big, NULL };
	struct fg_push_options o;
	struct fg_error err = FG_ERROR_INIT;

	memset(big, 'x', FG_HOOK_MAX_PUSH_OPTION_LEN + 1);
	big[FG_HOOK_MAX_PUSH_OPTION_LEN + 1] = '\0';
	fake_env = env;
	assert_int_equal(fg_hook_parse_push_options(&o, lookup, &err), FG_ELIMIT);
	assert_int_equal(o.count, 0);
	free(big);
}

static void test_pusher_order(void **state)
{
	static const char *const all[] = { "GL_USER", "e", "REMOTE_USER", "d",
					   "GITHUB_USER_LOGIN", "c", "GL_USERNAME", "b",
					   "GITEA_PUSHER_NAME", "a", NULL };
	static const char *const remote[] = { "GL_USER", "e", "REMOTE_USER", "d", NULL };
	static const char *const empty[] = { "REMOTE_USER", "", NULL };

	fake_env = all;
	assert_string_equal(fg_hook_pusher(lookup), "a");
	fake_env = remote;
	assert_string_equal(fg_hook_pusher(lookup), "d");
	fake_env = empty;
	assert_null(fg_hook_pusher(lookup));
}

static void test_forge_merge_and_gitlab(void **state)
{
	static const char *const gitea_pr[] = { "GITEA_PR_ID", "12", NULL };
	static const char *const gitea_none[] = { "GITEA_PR_ID", "0", NULL };
	static const char *const gitlab_web[] = { "GL_PROTOCOL", "web", "GL_ID", "user-1", NULL };
	static const char *const gitlab_ssh[] = { "GL_PROTOCOL", "ssh", NULL };

	fake_env = gitea_pr;
	assert_true(fg_hook_is_forge_merge(lookup));
	fake_env = gitea_none;
	assert_false(fg_hook_is_forge_merge(lookup));
	assert_false(fg_hook_is_gitlab(lookup));
	fake_env = gitlab_web;
	assert_true(fg_hook_is_forge_merge(lookup));
	assert_true(fg_hook_is_gitlab(lookup));
	fake_env = gitlab_ssh;
	assert_false(fg_hook_is_forge_merge(lookup));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_updates),
		cmocka_unit_test(test_parse_sha256),
		cmocka_unit_test(test_parse_rejects_garbage),
		cmocka_unit_test(test_refname_with_shell_metacharacters_is_data),
		cmocka_unit_test(test_push_options),
		cmocka_unit_test(test_overlong_push_option),
		cmocka_unit_test(test_pusher_order),
		cmocka_unit_test(test_forge_merge_and_gitlab),
	};
	return cmocka_run_group_tests_name("hook_input", tests, NULL, NULL);
}
