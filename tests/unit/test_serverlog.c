#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "policy.h"
#include "serverlog.h"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	assert_non_null(f);
	assert_true(fread(buf, 1, 4095, f) > 0);
	fclose(f);
	return buf;
}

static void test_logfmt_line_with_quoting(void **state)
{
	char path[] = "/tmp/fg-log-XXXXXX";
	struct fg_policy policy = { 0 };
	int fd = mkstemp(path);
	char *text;

	assert_true(fd >= 0);
	close(fd);
	policy.log_file = path;
	fg_serverlog(&policy, "pre-receive", "ref", "refs/heads/canary", "verdict", "reject",
		     "rule", NULL, "error", "bad \"merge\"\nsecond line", NULL);
	fg_serverlog(&policy, "rollout", "job", "7", NULL);
	text = read_all(path);
	assert_non_null(strstr(text, " event=pre-receive ref=refs/heads/canary verdict=reject "
				     "error=\"bad \\\"merge\\\"\\nsecond line\"\n"));
	/* a NULL value leaves its key out */
	assert_null(strstr(text, "rule="));
	assert_non_null(strstr(text, " event=rollout job=7\n"));
	assert_int_equal(strncmp(text, "time=", 5), 0);
	free(text);
	unlink(path);
}

/* Runs fg_serverlog with stderr captured; returns what it printed. */
static char *stderr_of_log(const struct fg_policy *policy)
{
	char path[] = "/tmp/fg-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fg_serverlog(policy, "pre-receive", "ref", "x", NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	text = calloc(1, 4096);
	fd = open(path, O_RDONLY);
	assert_true(read(fd, text, 4095) >= 0);
	close(fd);
	unlink(path);
	return text;
}

static void test_no_destination_logs_nothing(void **state)
{
	struct fg_policy policy = { 0 };
	char *text = stderr_of_log(&policy);

	/* neither a file nor syslog: nothing written, nothing said */
	assert_string_equal(text, "");
	free(text);
	free(stderr_of_log(NULL));
}

static void test_unwritable_log_warns_and_goes_on(void **state)
{
	struct fg_policy policy = { 0 };
	char *text;

	policy.log_file = "/proc/fleetgate.log";
	text = stderr_of_log(&policy);
	assert_non_null(strstr(text, "unable to write the server log '/proc/fleetgate.log'"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logfmt_line_with_quoting),
		cmocka_unit_test(test_no_destination_logs_nothing),
		cmocka_unit_test(test_unwritable_log_warns_and_goes_on),
	};
	return cmocka_run_group_tests_name("serverlog", tests, NULL, NULL);
}
