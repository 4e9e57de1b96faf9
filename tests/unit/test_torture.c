/*
 * Allocation-failure ("torture") tests, after curl's torture mode: each
 * module that parses untrusted input is run with its 1st, 2nd, ... Nth
 * allocation failing, until a run meets no failure. Every failed run must
 * return FG_ENOMEM and free everything (torture.c counts; valgrind checks).
 *
 * Adding a module is a torture_fn (load, check, free), a test calling
 * check_torture() once, and its cmocka_unit_test line: see the yaml cases.
 *
 * Under AddressSanitizer malloc cannot be replaced: the whole program
 * reports a TAP skip plan with the reason, and the valgrind pass runs it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "policy.h"
#include "torture.h"
#include "yaml_load.h"

/* Runs fn through every failure point: `want` is what fn returns when no
 * allocation fails (0, or the refusal of a bad input); min_points guards
 * against a run that injected nothing (a broken interposer would pass). */
static void check_torture(const char *what, torture_fn fn, void *ctx, int want,
			  size_t min_points)
{
	struct torture_result res;
	int rc = torture_run(fn, ctx, FG_ENOMEM, 0, &res);

	print_message("# %s: %zu allocations, %zu failure points tested, %zu broken\n",
		      what, res.allocations, res.points, res.failures);
	if (rc != 0)
		print_error("%s: %s\n", what, res.message);
	assert_int_equal(rc, 0);
	assert_int_equal(res.baseline, want);
	assert_true(res.points >= min_points);
	assert_int_equal(res.points, res.allocations);
}

static const char realistic_doc[] =
	"# fleet-wide desired state\n"
	"version: 1\n"
	"default_branch: production\n"
	"os_images:\n"
	"  pi2-armhf: 2025-10-10-1056-pi2-gitops-bookworm-armhf\n"
	"  pi3-v3-arm64: 2025-10-09-1716-pi3-gitops-trixie-arm64\n"
	"configuration:\n"
	"  playbook_url: edge-playbook\n"
	"  playbook_version: \"1.5.0\"\n"
	"  kiosk_url: 'https://intranet.example.com/board'\n"
	"  token: { secret: RUNNER_ACCESS_TOKEN }\n"
	"  banner: |\n"
	"    Welcome\n"
	"    to the kiosk\n"
	"limits: [1, 0x10, 0o7, 2.5, -3, true, ~, \"x/y~z\"]\n"
	"sites:\n"
	"  - name: campus\n"
	"    devices: [a, b, c]\n"
	"  - name: lab\n"
	"    devices: []\n";

struct yaml_ctx {
	const char *data;
	size_t len;
	const char *path;
};

static int yaml_buffer_fn(void *p)
{
	struct yaml_ctx *ctx = p;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	int rc;

	rc = fg_yaml_load_buffer(&doc, "t.yaml", ctx->data, ctx->len, NULL, &err);
	if (rc == 0 && (!doc || !json_is_object(doc->root)))
		rc = FG_ERROR;
	/* a refusal must still say where, unless memory ran out */
	if (rc < 0 && (rc != err.code ||
		       (rc != FG_ENOMEM && strncmp(err.message, "t.yaml:", 7))))
		rc = FG_ERROR;
	fg_yaml_doc_free(doc);
	return rc;
}

static int yaml_file_fn(void *p)
{
	struct yaml_ctx *ctx = p;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_yaml_doc *doc = NULL;
	int rc;

	rc = fg_yaml_load_file(&doc, ctx->path, NULL, &err);
	if (rc == 0 && (!doc || !json_is_object(doc->root)))
		rc = FG_ERROR;
	fg_yaml_doc_free(doc);
	return rc;
}

static void test_yaml_load_buffer(void **state)
{
	struct yaml_ctx ctx = { realistic_doc, sizeof(realistic_doc) - 1, NULL };

	check_torture("fg_yaml_load_buffer", yaml_buffer_fn, &ctx, 0, 50);
}

/* Error paths allocate too (the message, the first key's location). */
static void test_yaml_load_buffer_refusals(void **state)
{
	static const char *const bad[] = {
		"a: 1\nb: [x, {c: 2}]\na: 3\n",       /* duplicate key */
		"a: [1, 2]\nb: &anchor {c: 1}\n",      /* anchor */
		"a: {b: [1, 2.5, .inf]}\n",           /* no JSON form */
		"a: [1\n",                            /* parser error */
		"a: 1\n---\nb: 2\n",                  /* two documents */
	};
	struct yaml_ctx ctx = { NULL, 0, NULL };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctx.data = bad[i];
		ctx.len = strlen(bad[i]);
		check_torture("fg_yaml_load_buffer (refusal)", yaml_buffer_fn, &ctx,
			      FG_EINVALID, 3);
	}
}

static void test_yaml_load_file(void **state)
{
	char path[] = "/tmp/fg-torture-XXXXXX";
	struct yaml_ctx ctx = { NULL, 0, path };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, realistic_doc, sizeof(realistic_doc) - 1),
			 (ssize_t)sizeof(realistic_doc) - 1);
	close(fd);
	check_torture("fg_yaml_load_file", yaml_file_fn, &ctx, 0, 50);
	unlink(path);
}

static const char policy_text[] =
	"version: 1\n"
	"branches:\n"
	"  main:       { promote_from: [develop, \"feature/*\"] }\n"
	"  canary:     { promote_from: [main] }\n"
	"  production: { promote_from: [canary], pushers: [\"@sre\", release-bot] }\n"
	"groups:\n"
	"  sre: [alice, bob]\n"
	"bypass: [fleet-admin]\n"
	"mender: { url: \"https://mender.example.com\", token_file: /etc/t }\n"
	"log: { file: /var/log/fleetgate.log }\n"
	"rollout: { skip_allowed: [\"@sre\"] }\n";

static int policy_fn(void *ctx)
{
	const struct yaml_ctx *c = ctx;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	int rc = fg_policy_parse(&policy, "policy.yaml", c->data, c->len, &err);

	fg_policy_free(policy);
	return rc;
}

/* The policy loader fails closed: out of memory is an error, never a
 * half-read policy. */
static void test_policy_parse(void **state)
{
	struct yaml_ctx ctx = { policy_text, sizeof(policy_text) - 1, NULL };
	static const char unknown_key[] = "version: 1\nbranches: {}\nbypas: [x]\n";

	check_torture("fg_policy_parse", policy_fn, &ctx, 0, 50);
	ctx.data = unknown_key;
	ctx.len = sizeof(unknown_key) - 1;
	check_torture("fg_policy_parse (refusal)", policy_fn, &ctx, FG_EINVALID, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_load_buffer),
		cmocka_unit_test(test_yaml_load_buffer_refusals),
		cmocka_unit_test(test_yaml_load_file),
		cmocka_unit_test(test_policy_parse),
	};
	const char *why;

	if (!torture_available(&why)) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	return cmocka_run_group_tests_name("torture", tests, NULL, NULL);
}
