#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

static const char good[] =
	"version: 1\n"
	"branches:\n"
	"  main:       { promote_from: [develop, \"feature/*\"] }\n"
	"  canary:     { promote_from: [main] }\n"
	"  production: { promote_from: [canary], pushers: [\"@sre\", release-bot] }\n"
	"groups:\n"
	"  sre: [alice, bob]\n"
	"bypass: [fleet-admin]\n"
	"validate: protected\n"
	"mender: { url: \"https://mender.example.com\", token_file: /etc/t, timeout_seconds: 10 }\n"
	"secrets_dir: /etc/fleetgate/secrets\n"
	"log: { syslog: true }\n"
	"rollout: { skip_allowed: [\"@sre\"] }\n";

static struct fg_policy *parse_ok(const char *text)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *p = NULL;

	if (fg_policy_parse(&p, "policy.yaml", text, strlen(text), &err) < 0)
		fail_msg("unexpected error: %s", err.message);
	return p;
}

/* Parses `text`, expects failure, and checks the message mentions `want`. */
static void parse_fails(const char *text, const char *want)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *p = NULL;

	assert_true(fg_policy_parse(&p, "policy.yaml", text, strlen(text), &err) < 0);
	assert_null(p);
	if (!strstr(err.message, want))
		fail_msg("'%s' not in '%s'", want, err.message);
	assert_non_null(strstr(err.message, "policy.yaml"));
}

static void test_good_policy(void **state)
{
	struct fg_policy *p = parse_ok(good);
	const struct fg_branch_rule *prod = fg_policy_branch(p, "production");

	assert_int_equal(p->branch_count, 3);
	assert_non_null(prod);
	assert_null(fg_policy_branch(p, "develop"));
	assert_true(fg_policy_user_in(p, &prod->pushers, "alice"));
	assert_true(fg_policy_user_in(p, &prod->pushers, "release-bot"));
	assert_false(fg_policy_user_in(p, &prod->pushers, "mallory"));
	assert_false(fg_policy_user_in(p, &prod->pushers, NULL));
	assert_false(fg_policy_user_in(p, &prod->pushers, "@sre"));
	assert_true(fg_policy_promotes_from(fg_policy_branch(p, "main"), "feature/x"));
	assert_false(fg_policy_promotes_from(fg_policy_branch(p, "main"), "feature/x/y"));
	assert_false(fg_policy_promotes_from(fg_policy_branch(p, "canary"), "develop"));
	assert_int_equal(p->validate, FG_VALIDATE_PROTECTED);
	assert_string_equal(p->mender.url, "https://mender.example.com");
	assert_int_equal(p->mender.timeout_seconds, 10);
	assert_true(p->log_syslog);
	assert_int_equal(p->skip_rollout_allowed.count, 1);
	fg_policy_free(p);
}

static void test_unknown_key(void **state)
{
	parse_fails("version: 1\nbranches: {}\nbypas: [x]\n", "unknown key 'bypas'");
	parse_fails("version: 1\nbranches:\n  main: { promote_from: [a], pusher: [x] }\n",
		    "unknown key 'pusher'");
}

static void test_wrong_types(void **state)
{
	parse_fails("version: 1\nbranches: [main]\n", "'branches' must be a mapping");
	parse_fails("version: 1\nbranches:\n  main: { promote_from: develop }\n",
		    "promote_from must be a list");
	parse_fails("version: 1\nbranches:\n  main: { promote_from: [1] }\n",
		    "promote_from must be a string, not an integer");
	parse_fails("version: 1\nbranches:\n  main: { promote_from: [a], via_merge_request: yes }\n",
		    "true or false");
	parse_fails("version: 2\nbranches: {}\n", "version");
	parse_fails("branches: {}\n", "missing 'version: 1'");
	parse_fails("version: 1\n", "missing 'branches'");
	parse_fails("- a\n", "must be a mapping");
	parse_fails("version: 1\nbranches:\n  main: {}\n", "no 'promote_from'");
	parse_fails("version: 1\nbranches:\n  \"feat/*\": { promote_from: [a] }\n",
		    "not a plain branch name");
	parse_fails("version: 1\nbranches: {}\nvalidate: some\n", "'all' or 'protected'");
	parse_fails("version: 1\nbranches: {}\nmender: { url: ftp://x }\n", "https://");
	parse_fails("version: 1\nbranches: {}\nmender: { timeout_seconds: 0 }\n", "1 to 3600");
}

static void test_undefined_group(void **state)
{
	parse_fails("version: 1\nbranches:\n  p: { promote_from: [c], pushers: [\"@ops\"] }\n",
		    "'@ops' names no group");
}

static void test_location_in_message(void **state)
{
	parse_fails("version: 1\nbranches:\n  main:\n    promote_from: [a]\n    extra: 1\n",
		    "policy.yaml:5:");
}

static void test_yaml_errors_propagate(void **state)
{
	parse_fails("version: 1\nversion: 1\nbranches: {}\n", "duplicate key 'version'");
}

/* Rule rollout-branches: protected branches and literal promote_from
 * sources roll out; a branch matched only by a pattern never does. */
static void test_rolls_out(void **state)
{
	struct fg_policy *p = parse_ok(good);

	assert_true(fg_policy_rolls_out(p, "production"));
	assert_true(fg_policy_rolls_out(p, "canary"));
	assert_true(fg_policy_rolls_out(p, "main"));
	assert_true(fg_policy_rolls_out(p, "develop"));
	assert_false(fg_policy_rolls_out(p, "feature/evil"));
	assert_false(fg_policy_rolls_out(p, "feature/*"));
	assert_false(fg_policy_rolls_out(p, "developer"));
	assert_false(fg_policy_rolls_out(p, ""));
	fg_policy_free(p);
	p = parse_ok("version: 1\nbranches:\n  main: { promote_from: [\"feature/*\", "
		     "feature/lab] }\n");
	assert_true(fg_policy_rolls_out(p, "feature/lab"));
	assert_false(fg_policy_rolls_out(p, "feature/other"));
	fg_policy_free(p);
}

/* rollout.follow_timeout: a duration with a unit, 24h when absent. */
static void test_follow_timeout(void **state)
{
	struct fg_policy *p = parse_ok(good);
	long secs = -1;

	(void)state;
	assert_int_equal(p->follow_timeout, 24 * 3600);
	fg_policy_free(p);
	p = parse_ok("version: 1\nbranches: { main: { promote_from: [develop] } }\nrollout: { follow_timeout: 15m }\n");
	assert_int_equal(p->follow_timeout, 900);
	fg_policy_free(p);
	assert_int_equal(fg_policy_parse_duration(&secs, "2d"), 0);
	assert_int_equal(secs, 2 * 86400);
	assert_int_equal(fg_policy_parse_duration(&secs, "0s"), 0);
	assert_int_equal(secs, 0);
	assert_int_equal(fg_policy_parse_duration(&secs, "30"), FG_EINVALID);
	assert_int_equal(fg_policy_parse_duration(&secs, "-5s"), FG_EINVALID);
	assert_int_equal(fg_policy_parse_duration(&secs, "5 h"), FG_EINVALID);
	assert_int_equal(fg_policy_parse_duration(&secs, "99999999999d"), FG_EINVALID);
	assert_int_equal(fg_policy_parse_duration(&secs, "366d"), FG_EINVALID);
	parse_fails("version: 1\nbranches: { main: { promote_from: [develop] } }\nrollout: { follow_timeout: soon }\n",
		    "policy.yaml:3:28: follow_timeout 'soon' is not a duration");
}

/* The subscriptions branch: the top of the chain, or the one named. */
static void test_subscriptions_branch(void **state)
{
	struct fg_policy *p = parse_ok(good);

	assert_string_equal(fg_policy_subscriptions_branch(p), "production");
	fg_policy_free(p);
	p = parse_ok("version: 1\nbranches:\n  main: { promote_from: [develop] }\n"
		     "  canary: { promote_from: [main] }\n"
		     "rollout: { subscriptions_from: main }\n");
	assert_string_equal(fg_policy_subscriptions_branch(p), "main");
	fg_policy_free(p);
	/* two chains and no name: no subscriptions branch (only tags) */
	p = parse_ok("version: 1\nbranches:\n  a: { promote_from: [x] }\n"
		     "  b: { promote_from: [y] }\n");
	assert_null(fg_policy_subscriptions_branch(p));
	fg_policy_free(p);
	/* a cycle has no top either */
	p = parse_ok("version: 1\nbranches:\n  a: { promote_from: [b] }\n"
		     "  b: { promote_from: [a] }\n");
	assert_null(fg_policy_subscriptions_branch(p));
	fg_policy_free(p);
	parse_fails("version: 1\nbranches:\n  main: { promote_from: [develop] }\n"
		    "rollout: { subscriptions_from: develop }\n",
		    "subscriptions_from 'develop' is not a protected branch");
	parse_fails("version: 1\nbranches:\n  main: { promote_from: [develop] }\n"
		    "rollout: { subscriptions_from: [main] }\n", "must be a string");
}

static void test_secrets_per_branch(void **state)
{
	struct fg_policy *p = parse_ok("version: 1\nbranches:\n"
				       "  main: { promote_from: [develop] }\n"
				       "  production: { promote_from: [main] }\n"
				       "secrets: { develop: [RUNNER_ACCESS_TOKEN], "
				       "production: \"*\", main: [] }\n");

	assert_true(fg_policy_secret_allowed(p, "develop", "RUNNER_ACCESS_TOKEN"));
	assert_false(fg_policy_secret_allowed(p, "develop", "PROD_DB_PASSWORD"));
	assert_true(fg_policy_secret_allowed(p, "production", "PROD_DB_PASSWORD"));
	assert_false(fg_policy_secret_allowed(p, "main", "RUNNER_ACCESS_TOKEN"));
	fg_policy_free(p);
	/* absent: protected branches get every secret, others none */
	p = parse_ok(good);
	assert_true(fg_policy_secret_allowed(p, "canary", "PROD_DB_PASSWORD"));
	assert_false(fg_policy_secret_allowed(p, "develop", "RUNNER_ACCESS_TOKEN"));
	assert_false(fg_policy_secret_allowed(p, "feature/x", "RUNNER_ACCESS_TOKEN"));
	fg_policy_free(p);
	parse_fails("version: 1\nbranches: {}\nsecrets: { develop: all }\n",
		    "list of secret names or \"*\"");
	parse_fails("version: 1\nbranches: {}\nsecrets: [develop]\n",
		    "'secrets' must be a mapping");
	parse_fails("version: 1\nbranches: {}\nsecrets: { develop: [1] }\n",
		    "must be a string");
}

static char *write_temp(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/fg-policy-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
	return path;
}

static void test_load_checks_mode(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *p = NULL;
	char *path = write_temp(good, 0644);

	assert_int_equal(fg_policy_load(&p, path, &err), 0);
	fg_policy_free(p);
	p = NULL;
	chmod(path, 0666);
	assert_int_equal(fg_policy_load(&p, path, &err), FG_EPERM);
	assert_non_null(strstr(err.message, "writable by group or others"));
	unlink(path);
	free(path);
}

static void test_load_missing_file(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *p = NULL;

	assert_int_equal(fg_policy_load(&p, "/nonexistent/policy.yaml", &err), FG_ENOTFOUND);
	assert_non_null(strstr(err.message, "/nonexistent/policy.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_policy),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_undefined_group),
		cmocka_unit_test(test_location_in_message),
		cmocka_unit_test(test_rolls_out),
		cmocka_unit_test(test_follow_timeout),
		cmocka_unit_test(test_subscriptions_branch),
		cmocka_unit_test(test_secrets_per_branch),
		cmocka_unit_test(test_yaml_errors_propagate),
		cmocka_unit_test(test_load_checks_mode),
		cmocka_unit_test(test_load_missing_file),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
