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

#include "mender.h"

/* a literal and its length */
#define S(lit) lit, strlen(lit)
#define PARSE_DEVICES(s, out, err) fg_mender_parse_devices(s, strlen(s), out, err)

static const char *page =
	"[{\"id\":\"a1\",\"updated_ts\":\"2026-01-01T00:00:00Z\",\"attributes\":["
	" {\"name\":\"device_type\",\"scope\":\"inventory\",\"value\":\"raspberrypi4\"},"
	" {\"name\":\"artifact_name\",\"scope\":\"inventory\",\"value\":\"os-1.0\"},"
	" {\"name\":\"rootfs-image.version\",\"scope\":\"inventory\",\"value\":\"os-1.1\"},"
	" {\"name\":\"subscribed_branch\",\"scope\":\"tags\",\"value\":\"canary\"},"
	" {\"name\":\"name\",\"scope\":\"tags\",\"value\":\"kiosk-1\"},"
	" {\"name\":\"cpu\",\"scope\":\"inventory\",\"value\":[1,2]},"
	" {\"name\":\"status\",\"scope\":\"identity\",\"value\":\"accepted\"}]},"
	" {\"id\":\"b2\",\"attributes\":["
	" {\"name\":\"artifact_name\",\"scope\":\"inventory\",\"value\":\"os-0.9\"}]},"
	" {\"id\":\"c3\"}]";

static void test_parse_devices_fields_and_fallbacks(void **state)
{
	struct fg_mender_devices d = FG_MENDER_DEVICES_INIT;
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(PARSE_DEVICES(page, &d, &err), 0);
	assert_int_equal(d.count, 3);
	assert_string_equal(d.items[0].id, "a1");
	assert_string_equal(d.items[0].device_type, "raspberrypi4");
	assert_string_equal(d.items[0].os, "os-1.1"); /* rootfs-image.version wins */
	assert_string_equal(d.items[0].branch, "canary");
	assert_string_equal(d.items[0].name, "kiosk-1");
	assert_string_equal(d.items[1].os, "os-0.9"); /* falls back to artifact_name */
	assert_null(d.items[1].device_type);
	assert_null(d.items[1].branch);
	assert_null(d.items[2].os);
	/* a second page appends */
	assert_int_equal(PARSE_DEVICES("[{\"id\":\"d4\",\"attributes\":[]}]", &d, &err), 0);
	assert_int_equal(d.count, 4);
	assert_string_equal(d.items[3].id, "d4");
	fg_mender_devices_release(&d);
	assert_int_equal(d.count, 0);
}

static void test_parse_devices_rejects_malformed(void **state)
{
	static const struct { const char *body, *expect; } cases[] = {
		{ "", "malformed JSON" },
		{ "[{\"id\":\"a\"", "malformed JSON" },
		{ "{\"id\":\"a\"}", "not a JSON array" },
		{ "[5]", "device 0 is not an object" },
		{ "[{\"attributes\":[]}]", "'id' is missing" },
		{ "[{\"id\":7}]", "'id' is not a string" },
		{ "[{\"id\":\"../../x\"}]", "never have" },
		{ "[{\"id\":\"\"}]", "empty" },
		{ "[{\"id\":\"a\",\"attributes\":{}}]", "'attributes' is not an array" },
		{ "[{\"id\":\"a\",\"attributes\":[\"x\"]}]", "not an object" },
		{ "[{\"id\":\"a\",\"attributes\":[{\"scope\":\"inventory\",\"value\":1}]}]", "'name' is missing" },
		{ "[{\"id\":\"a\",\"attributes\":[{\"name\":\"x\",\"value\":1}]}]", "'scope' is missing" },
		{ "[{\"id\":\"a\",\"attributes\":[{\"name\":\"x\",\"scope\":\"inventory\"}]}]", "has no value" },
		{ "[{\"id\":\"a\",\"attributes\":[{\"name\":\"device_type\",\"scope\":\"inventory\",\"value\":3}]}]", "'device_type' (inventory) is not a string" },
		{ "[{\"id\":\"a\",\"attributes\":[{\"name\":\"subscribed_branch\",\"scope\":\"tags\",\"value\":[\"x\"]}]}]", "'subscribed_branch' (tags) is not a string" },
		{ "[{\"id\":\"a\",\"id\":\"b\"}]", "malformed JSON" },
		{ "[{\"id\":\"ok\"},{\"id\":null}]", "'id' is missing" },
	};
	struct fg_mender_devices d = FG_MENDER_DEVICES_INIT;
	struct fg_error err = FG_ERROR_INIT;
	size_t i;

	assert_int_equal(PARSE_DEVICES("[{\"id\":\"keep\"}]", &d, &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fg_error_clear(&err);
		assert_int_equal(PARSE_DEVICES(cases[i].body, &d, &err), FG_EINVALID);
		if (!strstr(err.message, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.message, cases[i].expect);
		/* a failed page leaves what was there before */
		assert_int_equal(d.count, 1);
		assert_string_equal(d.items[0].id, "keep");
	}
	fg_mender_devices_release(&d);
}

static void test_parse_devices_not_nul_terminated(void **state)
{
	struct fg_mender_devices d = FG_MENDER_DEVICES_INIT;
	struct fg_error err = FG_ERROR_INIT;
	const char *s = "[{\"id\":\"a\"}]";
	char *exact = malloc(strlen(s));

	memcpy(exact, s, strlen(s));
	assert_int_equal(fg_mender_parse_devices(exact, strlen(s), &d, &err), 0);
	assert_int_equal(d.count, 1);
	/* the length is honoured: a cut document is malformed */
	assert_int_equal(fg_mender_parse_devices(exact, strlen(s) - 1, &d, &err), FG_EINVALID);
	free(exact);
	fg_mender_devices_release(&d);
}

static void test_parse_deployments(void **state)
{
	const char *ok = "[{\"id\":\"d1\",\"name\":\"canary abc os-2\",\"artifact_name\":\"os-2\","
		"\"status\":\"inprogress\",\"created\":\"2026-01-01T00:00:00Z\",\"device_count\":3}]";
	struct fg_mender_deployments l = FG_MENDER_DEPLOYMENTS_INIT;
	struct fg_mender_deployment one;
	struct fg_error err = FG_ERROR_INIT;
	const char *bad;

	assert_int_equal(fg_mender_parse_deployments(ok, strlen(ok), &l, &err), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0].artifact_name, "os-2");
	assert_string_equal(l.items[0].status, "inprogress");
	assert_int_equal(l.items[0].device_count, 3);
	assert_int_equal(fg_mender_parse_deployments(S("[{\"id\":\"x\"}]"), &l, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "'name' is missing"));
	bad = "[{\"id\":\"x\",\"name\":\"n\",\"artifact_name\":\"a\","
		"\"status\":\"pending\",\"device_count\":\"3\"}]";
	assert_int_equal(fg_mender_parse_deployments(bad, strlen(bad), &l, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "device_count"));
	assert_int_equal(fg_mender_parse_deployments(S("{}"), &l, &err), FG_EINVALID);
	assert_int_equal(l.count, 1);
	fg_mender_deployments_release(&l);

	assert_int_equal(fg_mender_parse_deployment(ok + 1, strlen(ok) - 2, &one, &err), 0);
	assert_string_equal(one.id, "d1");
	fg_mender_deployment_release(&one);
	assert_int_equal(fg_mender_parse_deployment(S("[]"), &one, &err), FG_EINVALID);
	assert_null(one.id);
}

static void test_parse_config(void **state)
{
	const char *ok = "{\"id\":\"a\",\"configured\":{\"tz\":\"UTC\"},\"reported\":{}}";
	json_t *c = NULL, *r = NULL;
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_mender_parse_config(ok, strlen(ok), &c, &r, &err), 0);
	assert_string_equal(json_string_value(json_object_get(c, "tz")), "UTC");
	assert_int_equal(json_object_size(r), 0);
	json_decref(c);
	json_decref(r);
	assert_int_equal(fg_mender_parse_config(S("{}"), &c, &r, &err), 0);
	assert_true(json_is_object(c) && json_is_object(r));
	json_decref(c);
	json_decref(r);
	assert_int_equal(fg_mender_parse_config(S("{\"configured\":{\"n\":1}}"), &c, &r, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "value of 'n' is not a string"));
	assert_null(c);
	assert_null(r);
	assert_int_equal(fg_mender_parse_config(S("{\"reported\":[]}"), &c, &r, &err), FG_EINVALID);
	assert_null(c);
	assert_int_equal(fg_mender_parse_config(S("nope"), &c, &r, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "malformed JSON in device configuration"));
}

static void test_parse_stats_and_deploy(void **state)
{
	const char *ok = "{\"success\":3,\"pending\":1,\"failure\":0,\"already-installed\":2}";
	struct fg_mender_stats s;
	struct fg_error err = FG_ERROR_INIT;
	char *id = NULL;

	assert_int_equal(fg_mender_parse_stats(ok, strlen(ok), &s, &err), 0);
	assert_int_equal(s.success, 3);
	assert_int_equal(s.pending, 1);
	assert_int_equal(s.already_installed, 2);
	assert_int_equal(s.installing, 0);
	assert_int_equal(fg_mender_parse_stats(S("{\"success\":-1}"), &s, &err), FG_EINVALID);
	assert_int_equal(fg_mender_parse_stats(S("{\"success\":1.5}"), &s, &err), FG_EINVALID);
	assert_int_equal(fg_mender_parse_stats(S("[]"), &s, &err), FG_EINVALID);

	assert_int_equal(fg_mender_parse_config_deploy(S("{\"deployment_id\":\"x1\"}"), &id, &err), 0);
	assert_string_equal(id, "x1");
	free(id);
	assert_int_equal(fg_mender_parse_config_deploy(S("{}"), &id, &err), 0);
	assert_null(id);
	assert_int_equal(fg_mender_parse_config_deploy(S("{\"deployment_id\":1}"), &id, &err), FG_EINVALID);
	assert_null(id);
}

static void test_parse_location(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *id = NULL;

	assert_int_equal(fg_mender_parse_location(
		"https://m.example.com/api/management/v1/deployments/deployments/0c13a0e6-6b63", &id, &err), 0);
	assert_string_equal(id, "0c13a0e6-6b63");
	free(id);
	assert_int_equal(fg_mender_parse_location(NULL, &id, &err), FG_EINVALID);
	assert_int_equal(fg_mender_parse_location("/x/", &id, &err), FG_EINVALID);
	assert_int_equal(fg_mender_parse_location("/x/a?b", &id, &err), FG_EINVALID);
	assert_null(id);
}

static void test_deployment_fit_splits_at_limit(void **state)
{
	const char *ids[] = { "aaaa", "bbbb", "cccc", "dddd" };
	struct fg_error err = FG_ERROR_INIT;
	char *body = NULL;
	size_t limit;

	assert_int_equal(fg_mender_deployment_body("n", "a", ids, 2, &body, &err), 0);
	assert_string_equal(body, "{\"name\":\"n\",\"artifact_name\":\"a\",\"devices\":[\"aaaa\",\"bbbb\"]}");
	limit = strlen(body);
	free(body);
	assert_int_equal(fg_mender_deployment_fit("n", "a", ids, 4, limit), 2);
	assert_int_equal(fg_mender_deployment_fit("n", "a", ids, 4, limit - 1), 1);
	assert_int_equal(fg_mender_deployment_fit("n", "a", ids, 4, limit + 7), 3);
	assert_int_equal(fg_mender_deployment_fit("n", "a", ids, 4, 10), 0);
	assert_int_equal(fg_mender_deployment_fit("n", "a", ids, 4, FG_MENDER_MAX_REQUEST), 4);
}

static char *write_file(const char *content, mode_t mode)
{
	char *path = strdup("/tmp/fg-test-secret-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	chmod(path, mode);
	return path;
}

static void test_read_secret_checks_file(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char *path, *s = NULL;

	path = write_file("TOPSECRET\n", 0600);
	assert_int_equal(fg_mender_read_secret(path, &s, &err), 0);
	assert_string_equal(s, "TOPSECRET");
	free(s);
	chmod(path, 0644);
	assert_int_equal(fg_mender_read_secret(path, &s, &err), FG_EPERM);
	assert_non_null(strstr(err.message, "readable"));
	assert_null(strstr(err.message, "TOPSECRET"));
	assert_null(s);
	unlink(path);
	free(path);

	path = write_file("\n", 0600);
	assert_int_equal(fg_mender_read_secret(path, &s, &err), FG_EINVALID);
	unlink(path);
	free(path);

	assert_int_equal(fg_mender_read_secret("/tmp", &s, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "not a regular file"));
	assert_int_equal(fg_mender_read_secret("/nonexistent/fg", &s, &err), FG_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_devices_fields_and_fallbacks),
		cmocka_unit_test(test_parse_devices_rejects_malformed),
		cmocka_unit_test(test_parse_devices_not_nul_terminated),
		cmocka_unit_test(test_parse_deployments),
		cmocka_unit_test(test_parse_config),
		cmocka_unit_test(test_parse_stats_and_deploy),
		cmocka_unit_test(test_parse_location),
		cmocka_unit_test(test_deployment_fit_splits_at_limit),
		cmocka_unit_test(test_read_secret_checks_file),
	};

	return cmocka_run_group_tests_name("mender", tests, NULL, NULL);
}
