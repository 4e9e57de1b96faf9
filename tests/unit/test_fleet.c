/* Unit tests of the fleet model and checks: ids, secret keys, merging, the
 * two tree sources, and the incremental push check on real repositories
 * (built with the git command line in a temporary directory). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "buf.h"
#include "diag.h"
#include "fleet.h"
#include "fleet_check.h"
#include "tree_source.h"

#define DEV_A "3fb4632b-96b9-475d-ac89-02255bd15b6f"
#define DEV_NEW "0a1b2c3d-0000-4000-8000-0000000000aa"

struct fixture {
	char dir[64];
	git_repository *repo;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	struct fg_buf cmd = FG_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	fg_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	rc = system(fg_buf_cstr(&cmd));
	fg_buf_release(&cmd);
	return rc;
}

static int setup_repo(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *src = getenv("FG_SRCDIR");

	if (!f || !src)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/fg-test-fleet-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	if (sh("cd '%s' && cp -R '%s/tests/data/fleet-good/.' . && git init -q -b main . "
	       "&& git add -A && git commit -qm good && git branch production && "
	       "git branch canary && git tag c1", f->dir, src) != 0)
		return -1;
	git_libgit2_init();
	if (git_repository_open(&f->repo, f->dir) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown_repo(void **state)
{
	struct fixture *f = *state;

	git_repository_free(f->repo);
	git_libgit2_shutdown();
	sh("rm -rf '%s'", f->dir);
	free(f);
	return 0;
}

static git_oid rev(struct fixture *f, const char *spec)
{
	git_object *obj = NULL;
	git_oid id;

	assert_int_equal(git_revparse_single(&obj, f->repo, spec), 0);
	git_oid_cpy(&id, git_object_id(obj));
	git_object_free(obj);
	return id;
}

/* Checks out `base`, runs `change` in the work tree, commits, tags `tag`. */
static void commit_change(struct fixture *f, const char *base, const char *tag,
			  const char *change)
{
	assert_int_equal(sh("cd '%s' && git checkout -q --detach %s && (%s) && "
			    "git add -A && git commit -qm '%s' && git tag %s",
			    f->dir, base, change, tag, tag), 0);
}

static int has_finding(const struct fg_diags *d, const char *path, const char *rule)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->items[i].path && !strcmp(d->items[i].path, path) &&
		    d->items[i].keyword && !strcmp(d->items[i].keyword, rule))
			return 1;
	return 0;
}

static int push(struct fixture *f, const char *old, const char *new,
		const char *schema, struct fg_diags *d)
{
	struct fg_error err = FG_ERROR_INIT;
	git_oid o, n, s;
	int rc;

	if (old)
		o = rev(f, old);
	n = rev(f, new);
	if (schema)
		s = rev(f, schema);
	rc = fg_fleet_check_push(f->repo, old ? &o : NULL, &n, schema ? &s : NULL,
				 NULL, d, &err);
	if (rc < 0)
		fail_msg("check failed: %s", err.message);
	return rc;
}

static void test_device_ids(void **state)
{
	char id[FG_FLEET_ID_MAX + 1];

	assert_true(fg_fleet_is_device_id(DEV_A, strlen(DEV_A)));
	assert_true(fg_fleet_is_device_id("5f0c1e2d3b4a596877665544", 24));
	assert_false(fg_fleet_is_device_id("3FB4632B-96B9-475D-AC89-02255BD15B6F", 36));
	assert_false(fg_fleet_is_device_id("5f0c1e2d3b4a59687766554", 23));
	assert_false(fg_fleet_is_device_id("3fb4632b+96b9-475d-ac89-02255bd15b6f", 36));
	assert_false(fg_fleet_is_device_id("kiosk", 5));
	assert_true(fg_fleet_device_id_of_path("devices/site/" DEV_A ".yaml", id));
	assert_string_equal(id, DEV_A);
	assert_false(fg_fleet_device_id_of_path("devices/" DEV_A ".yml", id));
	assert_false(fg_fleet_device_id_of_path("devices/kiosk.yaml", id));
	assert_true(fg_fleet_in_devices("devices/x.yaml"));
	assert_false(fg_fleet_in_devices("devicesx/x.yaml"));
	assert_false(fg_fleet_in_devices("devices"));
}

static void test_secret_keys(void **state)
{
	static const char *const secret[] = {
		"gharunner_access_token", "wifi_password", "db_passwd", "api_key",
		"apiKey", "sshKey", "key", "ssh-key", "client_secret",
		"aws_credentials", "private_key_pem", "sim_pin", "PASSWORD",
		"wifi_passphrase", "wpa_psk", "sshkey", "accesskey", "aws.accesskey",
		"WPAPsk", "wifiPassphrase", "sim-puk", "host_keys", "wg0_privkey",
		"vpnPrivateKey", NULL
	};
	static const char *const plain[] = {
		"kiosk_url", "keyboard_layout", "monkey_mode", "spinner", "turnkey",
		"playbook_version", "hostname", "passage", "keyboardLayout",
		"pinned_version", "keystone_url", "compass_heading", NULL
	};
	static const char *const words[] = { "serial", "imei" };
	struct fg_fleet_check_opts opts = FG_FLEET_CHECK_OPTS_INIT;
	char long_key[1200];
	size_t i;

	for (i = 0; secret[i]; i++)
		if (!fg_fleet_key_is_secret(secret[i], NULL))
			fail_msg("'%s' should look like a secret", secret[i]);
	for (i = 0; plain[i]; i++)
		if (fg_fleet_key_is_secret(plain[i], NULL))
			fail_msg("'%s' should not look like a secret", plain[i]);
	/* the server policy adds words, matched against whole parts */
	opts.secret_words = words;
	opts.secret_word_count = 2;
	assert_false(fg_fleet_key_is_secret("modem_imei", NULL));
	assert_true(fg_fleet_key_is_secret("modem_imei", &opts));
	assert_true(fg_fleet_key_is_secret("deviceSerial", &opts));
	assert_false(fg_fleet_key_is_secret("serialport", &opts));
	/* a pushed key longer than any allowed: judged, not overrun */
	memset(long_key, 'x', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	memcpy(long_key, "ssh_key_", 8);
	assert_true(fg_fleet_key_is_secret(long_key, NULL));
	memcpy(long_key, "kiosk_ur", 8);
	assert_false(fg_fleet_key_is_secret(long_key, NULL));
}

static void test_merge_configuration(void **state)
{
	json_t *fleet = json_pack("{s:s, s:s}", "a", "1", "b", "2");
	json_t *dev = json_pack("{s:s, s:{s:s}}", "b", "3", "t", "secret", "T");
	json_t *m = fg_fleet_merge_configuration(fleet, dev);

	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "a")), "1");
	assert_string_equal(json_string_value(json_object_get(m, "b")), "3");
	assert_true(json_is_object(json_object_get(m, "t")));
	assert_string_equal(json_string_value(json_object_get(fleet, "b")), "2");
	json_decref(m);
	m = fg_fleet_merge_configuration(NULL, NULL);
	assert_int_equal(json_object_size(m), 0);
	json_decref(m);
	json_decref(fleet);
	json_decref(dev);
}

static void test_sources_agree(void **state)
{
	struct fixture *f = *state;
	struct fg_source *dir = NULL, *git = NULL;
	struct fg_error err = FG_ERROR_INIT;
	enum fg_entry_kind kind;
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	git_oid head = rev(f, "c1");

	assert_int_equal(fg_source_open_dir(&dir, f->dir, &err), 0);
	assert_int_equal(fg_source_open_git(&git, f->repo, &head, &err), 0);
	assert_int_equal(fg_source_read(dir, "fleet.yaml", 4096, &a, &alen, &err), 0);
	assert_int_equal(fg_source_read(git, "fleet.yaml", 4096, &b, &blen, &err), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	assert_int_equal(fg_source_read(git, "fleet.yaml", 10, &a, &alen, &err), FG_ELIMIT);
	assert_null(a);
	assert_int_equal(fg_source_read(dir, "fleet.yaml", 10, &a, &alen, &err), FG_ELIMIT);
	assert_int_equal(fg_source_read(git, "nope.yaml", 10, &a, &alen, &err), FG_ENOTFOUND);
	assert_int_equal(fg_source_read(dir, "devices", 10, &a, &alen, &err), FG_EINVALID);
	assert_int_equal(fg_source_read(git, "devices", 10, &a, &alen, &err), FG_EINVALID);
	assert_int_equal(fg_source_kind(git, "devices/site-a", &kind, &err), 0);
	assert_int_equal(kind, FG_ENTRY_DIR);
	assert_int_equal(fg_source_kind(dir, "devices/site-a", &kind, &err), 0);
	assert_int_equal(kind, FG_ENTRY_DIR);
	fg_source_free(dir);
	fg_source_free(git);
}

static void test_full_check_good(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	assert_int_equal(push(f, NULL, "c1", NULL, &d), 0);
	assert_int_equal(d.count, 0);
	fg_diags_release(&d);
}

static void test_push_new_bad_device(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "p-secret",
		      "printf 'configuration:\\n  api_token: abc\\n' > devices/" DEV_NEW ".yaml");
	assert_int_equal(push(f, "c1", "p-secret", NULL, &d), 1);
	assert_int_equal(d.count, 1);
	assert_string_equal(d.items[0].path, "devices/" DEV_NEW ".yaml");
	assert_string_equal(d.items[0].keyword, "literal-secret");
	assert_int_equal(d.items[0].line, 2);
	assert_int_equal(d.items[0].column, 14);
	assert_non_null(strstr(d.items[0].hint, "secret: NAME"));
	fg_diags_release(&d);
}

/* What the push did not touch is trusted; fleet.yaml changing re-checks all. */
static void test_push_is_incremental(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "bad-base", "echo 'name: x' > devices/kiosk.yaml");
	commit_change(f, "bad-base", "touch-other",
		      "echo 'name: renamed' > devices/site-a/5f0c1e2d3b4a596877665544.yaml");
	assert_int_equal(push(f, "bad-base", "touch-other", NULL, &d), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(push(f, NULL, "touch-other", NULL, &d), 1);
	assert_true(has_finding(&d, "devices/kiosk.yaml", "device-file-name"));
	fg_diags_release(&d);

	commit_change(f, "touch-other", "fleet-change",
		      "sed -i 's/1.5.0/1.5.1/' fleet.yaml");
	assert_int_equal(push(f, "touch-other", "fleet-change", NULL, &d), 1);
	assert_true(has_finding(&d, "devices/kiosk.yaml", "device-file-name"));
	fg_diags_release(&d);
}

static void test_push_duplicate_id(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "dup",
		      "mkdir -p devices/site-b && echo 'name: twin' > devices/site-b/" DEV_A ".yaml");
	assert_int_equal(push(f, "c1", "dup", NULL, &d), 1);
	assert_true(has_finding(&d, "devices/site-b/" DEV_A ".yaml", "duplicate-device"));
	assert_non_null(strstr(d.items[0].message, "devices/" DEV_A ".yaml"));
	fg_diags_release(&d);

	/* moving a device to another folder is not a duplicate */
	commit_change(f, "c1", "move",
		      "mkdir -p devices/site-b && git mv devices/" DEV_A ".yaml devices/site-b/");
	assert_int_equal(push(f, "c1", "move", NULL, &d), 0);
	fg_diags_release(&d);
}

/* The schema that judges a push comes from the target before the push. */
static void test_push_schema_from_target(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "loosen",
		      "git rm -rq schemas && printf 'configuration:\\n  playbook_version: latest\\n' > devices/" DEV_NEW ".yaml");
	assert_int_equal(push(f, "c1", "loosen", "c1", &d), 1);
	assert_true(has_finding(&d, "devices/" DEV_NEW ".yaml", "config-schema"));
	fg_diags_release(&d);
	/* without a target, the pushed tree's own (absent) schema applies */
	assert_int_equal(push(f, "c1", "loosen", NULL, &d), 0);
	fg_diags_release(&d);
}

static const struct fg_diag *finding(const struct fg_diags *d, const char *rule)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->items[i].keyword && !strcmp(d->items[i].keyword, rule))
			return &d->items[i];
	fail_msg("no finding of rule %s", rule);
	return NULL;
}

#define SCHEMA_JSON "schemas/configuration.schema.json"

/* An unusable schema is refused by the push that adds it, on any branch,
 * even while the target's schema judges the values: naming the file, the
 * JSON pointer and what is wrong. */
static void test_push_unusable_schema_refused(void **state)
{
	static const struct { const char *json, *pointer, *what; } cases[] = {
		{ "{\"properties\": {\"a\": {\"pattern\": \"(\"}}}",
		  "/properties/a/pattern", "regular expression" },
		{ "{\"properties\": {\"a\": {\"$ref\": \"#/definitions/nope\"}}}",
		  "/properties/a", "resolves to no schema" },
		{ "{\"definitions\": {\"x\": {\"$ref\": \"#/definitions/y\"}, "
		  "\"y\": {\"$ref\": \"#/definitions/x\"}}, \"$ref\": \"#/definitions/x\"}",
		  "", "loop of $refs" },
		{ "{\"$schema\": \"http://json-schema.org/draft-04/schema#\"}",
		  "/$schema", "not JSON Schema draft 7" },
		{ "{\"type\": 7}", "/type", "" },
		{ "{\"properties\": ", "", "" },
	};
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;
	char tag[16], file[96], change[160];
	size_t i;
	FILE *fp;

	snprintf(file, sizeof(file), "%s.schema", f->dir);
	snprintf(change, sizeof(change), "cp '%s' " SCHEMA_JSON, file);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fg_diag *it;

		fp = fopen(file, "w");
		assert_non_null(fp);
		fputs(cases[i].json, fp);
		fclose(fp);
		snprintf(tag, sizeof(tag), "bad%zu", i);
		commit_change(f, "c1", tag, change);
		assert_int_equal(push(f, "c1", tag, "c1", &d), 1);
		it = finding(&d, "config-schema-unusable");
		assert_string_equal(it->path, SCHEMA_JSON);
		if (cases[i].pointer[0])
			assert_string_equal(it->pointer, cases[i].pointer);
		if (!strstr(it->message, cases[i].what))
			fail_msg("case %zu: %s", i, it->message);
		fg_diags_release(&d);
		/* a new branch (no old tip, its own schema) is refused too */
		assert_int_equal(push(f, NULL, tag, NULL, &d), 1);
		assert_non_null(finding(&d, "config-schema-unusable"));
		fg_diags_release(&d);
	}
	unlink(file);
}

/* A hostile schema nested past every limit is refused, never a crash: 500
 * levels (the compiler's limit is 400) and 100,000 (past the JSON
 * parser's own). */
static void test_push_deep_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;
	char file[96], change[160];
	static const int depth[] = { 500, 100000 };
	size_t k;
	int i;

	snprintf(file, sizeof(file), "%s.schema", f->dir);
	snprintf(change, sizeof(change), "cp '%s' " SCHEMA_JSON, file);
	for (k = 0; k < 2; k++) {
		FILE *fp = fopen(file, "w");
		char tag[16];

		assert_non_null(fp);
		for (i = 0; i < depth[k]; i++)
			fputs("{\"not\": ", fp);
		fputs("{}", fp);
		for (i = 0; i < depth[k]; i++)
			fputc('}', fp);
		fclose(fp);
		snprintf(tag, sizeof(tag), "deep%zu", k);
		commit_change(f, "c1", tag, change);
		assert_int_equal(push(f, "c1", tag, "c1", &d), 1);
		assert_true(has_finding(&d, SCHEMA_JSON, "config-schema-unusable"));
		fg_diags_release(&d);
	}
	unlink(file);
}

/* An unusable schema on the target never blocks the push that replaces
 * it; a push that leaves it in place is refused. */
static void test_push_replaces_unusable_target_schema(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "jam", "printf '{\"pattern\": \"(\"}' > " SCHEMA_JSON);
	commit_change(f, "jam", "fix", "git rm -q " SCHEMA_JSON " && printf "
		      "'configuration:\\n  kiosk_enabled: \"true\"\\n' > devices/" DEV_A ".yaml");
	assert_int_equal(push(f, "jam", "fix", "jam", &d), 0);
	fg_diags_release(&d);
	/* the new schema judges then: a value it refuses is a finding */
	commit_change(f, "jam", "fixbad", "git rm -q " SCHEMA_JSON " && printf "
		      "'configuration:\\n  kiosk_enabled: \"maybe\"\\n' > devices/" DEV_A ".yaml");
	assert_int_equal(push(f, "jam", "fixbad", "jam", &d), 1);
	assert_true(has_finding(&d, "devices/" DEV_A ".yaml", "config-schema"));
	fg_diags_release(&d);
	/* a push that keeps the unusable schema is refused for it */
	commit_change(f, "jam", "keep", "printf 'name: x\\n' > devices/" DEV_A ".yaml");
	assert_int_equal(push(f, "jam", "keep", "jam", &d), 1);
	assert_true(has_finding(&d, SCHEMA_JSON, "config-schema-unusable"));
	fg_diags_release(&d);
}

/* A spent regex budget is one finding in the schema file naming the
 * keyword, and the schema's part of the check stops there. */
static void test_push_regex_budget(void **state)
{
	struct fixture *f = *state;
	struct fg_fleet_check_opts opts = FG_FLEET_CHECK_OPTS_INIT;
	struct fg_schema_budget budget = FG_SCHEMA_BUDGET_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	const struct fg_diag *it;
	git_oid evil, many;

	commit_change(f, "c1", "evil", "printf '{\"properties\": {\"serial\": "
		      "{\"pattern\": \"^(a+)+$\"}}}' > " SCHEMA_JSON);
	commit_change(f, "evil", "evil-values", "for i in $(seq 100 149); do printf "
		      "'configuration:\\n  serial: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\\n' > "
		      "devices/0a1b2c3d-0000-4000-8000-000000000$i.yaml; done");
	evil = rev(f, "evil");
	many = rev(f, "evil-values");
	budget.regex.left = 10 * 137440;  /* ten matches at the per-match limit */
	opts.schema_budget = &budget;
	assert_int_equal(fg_fleet_check_push(f->repo, &evil, &many, &evil, &opts, &d,
					     &err), 1);
	assert_true(budget.regex.exhausted);
	it = finding(&d, "regex-budget");
	assert_string_equal(it->path, SCHEMA_JSON);
	assert_non_null(strstr(it->message, "the schema's 'pattern' needs more"));
	/* ten at the per-match limit, then the budget: no more schema work */
	assert_int_equal(fg_diags_total(&d), 11);
	fg_diags_release(&d);
}

/* A target schema that compiles but is too costly to evaluate judges
 * nothing: the push that replaces it goes through, one that keeps it is
 * refused with a finding in the schema file, and the hook never runs more
 * than the step budget. */
static void test_push_costly_target_schema(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;
	struct fg_buf json = FG_BUF_INIT;
	char file[96], change[160];
	FILE *fp;
	int i;

	/* l0 .. l11 each try the next level four times: 4^12 ways to fail
	 * "type: null" for an object, far beyond any evaluation budget */
	fg_buf_puts(&json, "{\"$ref\": \"#/definitions/l0\", \"definitions\": {");
	for (i = 0; i < 12; i++)
		fg_buf_printf(&json, "\"l%d\": {\"anyOf\": [{\"$ref\": \"#/definitions/l%d\"}, "
			      "{\"$ref\": \"#/definitions/l%d\"}, {\"$ref\": \"#/definitions/l%d\"}, "
			      "{\"$ref\": \"#/definitions/l%d\"}]}, ", i, i + 1, i + 1, i + 1, i + 1);
	fg_buf_puts(&json, "\"l12\": {\"type\": \"null\"}}}");
	snprintf(file, sizeof(file), "%s.schema", f->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs(fg_buf_cstr(&json), fp);
	fclose(fp);
	fg_buf_release(&json);
	snprintf(change, sizeof(change), "cp '%s' " SCHEMA_JSON, file);
	commit_change(f, "c1", "costly", change);
	unlink(file);
	commit_change(f, "costly", "replace", "git rm -q " SCHEMA_JSON);
	assert_int_equal(push(f, "costly", "replace", "costly", &d), 0);
	fg_diags_release(&d);
	commit_change(f, "costly", "keep", "printf 'name: x\\n' > devices/" DEV_A ".yaml");
	assert_int_equal(push(f, "costly", "keep", "costly", &d), 1);
	assert_string_equal(d.items[0].path, SCHEMA_JSON);
	if (strcmp(d.items[0].keyword, "schema-budget") &&
	    strcmp(d.items[0].keyword, "config-schema-unusable"))
		fail_msg("rule %s: %s", d.items[0].keyword, d.items[0].message);
	fg_diags_release(&d);
}

/* Pushed content decides how many findings there are: 100 are kept, the
 * rest counted. */
static void test_push_findings_capped(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "many", "for i in $(seq 100 249); do printf 'x: 1\\n' > "
		      "devices/0a1b2c3d-0000-4000-8000-000000000$i.yaml; done");
	assert_int_equal(push(f, "c1", "many", "c1", &d), 1);
	assert_int_equal(d.count, FG_FLEET_MAX_FINDINGS);
	assert_int_equal(fg_diags_total(&d), 150);
	fg_diags_release(&d);
	/* the full check too */
	assert_int_equal(push(f, NULL, "many", NULL, &d), 1);
	assert_int_equal(d.count, FG_FLEET_MAX_FINDINGS);
	assert_int_equal(fg_diags_total(&d), 150);
	fg_diags_release(&d);
}

static void test_push_symlink_and_delete(void **state)
{
	struct fixture *f = *state;
	struct fg_diags d = FG_DIAGS_INIT;

	commit_change(f, "c1", "link", "ln -s ../fleet.yaml devices/" DEV_NEW ".yaml");
	assert_int_equal(push(f, "c1", "link", NULL, &d), 1);
	assert_true(has_finding(&d, "devices/" DEV_NEW ".yaml", "symlink-in-devices"));
	fg_diags_release(&d);
	commit_change(f, "c1", "delete", "git rm -q devices/" DEV_A ".yaml");
	assert_int_equal(push(f, "c1", "delete", NULL, &d), 0);
	fg_diags_release(&d);
}

static void test_size_limit_before_read(void **state)
{
	struct fixture *f = *state;
	struct fg_fleet_check_opts opts = FG_FLEET_CHECK_OPTS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	git_oid o = rev(f, "c1"), n;

	commit_change(f, "c1", "big",
		      "head -c 3000 /dev/zero | tr '\\0' '#' > devices/" DEV_NEW ".yaml");
	n = rev(f, "big");
	opts.limits.max_bytes = 2048;
	assert_int_equal(fg_fleet_check_push(f->repo, &o, &n, NULL, &opts, &d, &err), 1);
	assert_true(has_finding(&d, "devices/" DEV_NEW ".yaml", "file-too-large"));
	fg_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_ids),
		cmocka_unit_test(test_secret_keys),
		cmocka_unit_test(test_merge_configuration),
		cmocka_unit_test_setup_teardown(test_sources_agree, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_full_check_good, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_new_bad_device, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_is_incremental, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_duplicate_id, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_schema_from_target, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_unusable_schema_refused, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_replaces_unusable_target_schema, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_deep_schema_refused, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_findings_capped, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_regex_budget, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_costly_target_schema, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_push_symlink_and_delete, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_size_limit_before_read, setup_repo, teardown_repo),
	};

	return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
