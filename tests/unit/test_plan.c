#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "plan.h"
#include "report.h"
#include "torture.h"

/* Every table runs against this fleet, planning branch "canary". */
#define BRANCH "canary"
#define COMMIT "3f2a1c0"
#define PI4_IMAGE "img-pi4-v2"
#define PI3_IMAGE "img-pi3-v2"

/* A device file as the tests write it. Its subscribed_branch goes to the
 * subscriptions (as if the planned commit were also the subscriptions
 * branch's tip, default_branch production), the rest to the desired state;
 * tests of the split set fx.subs / fx.in.subscriptions themselves. */
struct twant {
	const char *id, *path, *name, *subscribed_branch, *os_image;
	json_t *configuration;
};

#define MAX_WANTS 8

struct fixture {
	json_t *os_images;
	json_t *fleet_config;
	struct fg_plan_want wants[MAX_WANTS];
	struct fg_plan_follow follows[MAX_WANTS];
	struct fg_plan_subscriptions subs;
	struct fg_plan_desired desired;
	struct fg_plan_input in;
};

static void fixture_init(struct fixture *fx, const struct twant *wants,
			 size_t nwants, const struct fg_plan_fact *facts, size_t nfacts)
{
	size_t i;

	assert_true(nwants <= MAX_WANTS);
	fx->os_images = json_pack("{s:s, s:s}", "pi4", PI4_IMAGE, "pi3", PI3_IMAGE);
	fx->fleet_config = json_pack("{s:s}", "playbook_version", "1.5.0");
	assert_non_null(fx->os_images);
	assert_non_null(fx->fleet_config);
	memset(fx->wants, 0, sizeof(fx->wants));
	for (i = 0; i < nwants; i++) {
		fx->wants[i] = (struct fg_plan_want){
			.id = wants[i].id, .path = wants[i].path, .name = wants[i].name,
			.os_image = wants[i].os_image,
			.configuration = wants[i].configuration,
		};
		fx->follows[i] = (struct fg_plan_follow){
			.id = wants[i].id, .branch = wants[i].subscribed_branch,
		};
	}
	memset(&fx->subs, 0, sizeof(fx->subs));
	fx->subs.default_branch = "production";
	fx->subs.devices = fx->follows;
	fx->subs.ndevices = nwants;
	memset(&fx->desired, 0, sizeof(fx->desired));
	fx->desired.os_images = fx->os_images;
	fx->desired.configuration = fx->fleet_config;
	fx->desired.devices = fx->wants;
	fx->desired.ndevices = nwants;
	memset(&fx->in, 0, sizeof(fx->in));
	fx->in.branch = BRANCH;
	fx->in.commit = COMMIT;
	fx->in.facts = facts;
	fx->in.nfacts = nfacts;
	fx->in.desired = &fx->desired;
	fx->in.subscriptions = &fx->subs;
}

static void fixture_release(struct fixture *fx)
{
	json_decref(fx->os_images);
	json_decref(fx->fleet_config);
}

static struct fg_plan *build_ok(const struct fg_plan_input *in)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_plan *plan = NULL;
	int rc = fg_plan_build(&plan, in, &err);

	if (rc)
		fail_msg("fg_plan_build: %s", err.message);
	assert_non_null(plan);
	return plan;
}

static json_t *parse(const char *text)
{
	json_t *v;

	if (!text)
		return NULL;
	v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static char *join_keys(const struct fg_plan_keys *k)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	for (i = 0; i < k->count; i++)
		fg_buf_printf(&b, "%s%s", i ? "," : "", k->names[i]);
	return fg_buf_detach(&b);
}

static void assert_keys(const struct fg_plan_keys *k, const char *want)
{
	char *got = join_keys(k);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void assert_opt_string(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got ? got : "(null)", want);
}

static char *capture(const struct fg_plan *plan, int json, unsigned flags)
{
	struct fg_error err = FG_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	assert_non_null(f);
	rc = json ? fg_report_json(f, plan, &err) : fg_report_text(f, plan, flags, &err);
	if (rc)
		fail_msg("report: %s", err.message);
	assert_int_equal(fclose(f), 0);
	assert_non_null(text);
	return text;
}

static json_t *capture_json(const struct fg_plan *plan)
{
	char *text = capture(plan, 1, 0);
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("report is not JSON: %s", jerr.text);
	free(text);
	return v;
}

/* ---- subscribers and OS: one device per row ---- */

struct os_case {
	const char *title;
	/* facts */
	const char *type, *running, *tag;
	struct fg_plan_active active[2];
	size_t nactive;
	/* device file (only when file is set) */
	int file;
	const char *file_branch, *pin;
	/* expected */
	int subscribed;
	enum fg_plan_branch_source source;
	enum fg_plan_os os;
	const char *desired;
	int abort;
	const char *in_progress;
};

#define ACTIVE(id, art) { id, art, 0 }
#define ACTIVE_CONFIG(id) { id, "configuration", 1 }

static const struct os_case os_cases[] = {
	{ "tag wins over the default", "pi4", "img-pi4-v1", "canary", { { 0 } }, 0,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 0, NULL },
	{ "tag wins over the device file", "pi4", "img-pi4-v1", "production", { { 0 } }, 0,
	  1, "canary", NULL, 0, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, NULL, 0, NULL },
	{ "tag moves a file's device to this branch", "pi4", "img-pi4-v1", "canary", { { 0 } }, 0,
	  1, "production", NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 0, NULL },
	{ "device file wins over the default", "pi4", "img-pi4-v1", NULL, { { 0 } }, 0,
	  1, "canary", NULL, 1, FG_PLAN_BRANCH_FILE, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 0, NULL },
	{ "empty tag counts as unset", "pi4", "img-pi4-v1", "", { { 0 } }, 0,
	  1, "canary", NULL, 1, FG_PLAN_BRANCH_FILE, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 0, NULL },
	{ "default branch is not canary", "pi4", "img-pi4-v1", NULL, { { 0 } }, 0,
	  0, NULL, NULL, 0, FG_PLAN_BRANCH_DEFAULT, FG_PLAN_OS_DEPLOY, NULL, 0, NULL },
	{ "file without branch follows the default", "pi4", "img-pi4-v1", NULL, { { 0 } }, 0,
	  1, NULL, NULL, 0, FG_PLAN_BRANCH_DEFAULT, FG_PLAN_OS_DEPLOY, NULL, 0, NULL },
	{ "pin overrides os_images", "pi4", PI4_IMAGE, "canary", { { 0 } }, 0,
	  1, NULL, "img-pin", 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, "img-pin", 0, NULL },
	{ "running the pin is in sync", "pi4", "img-pin", NULL, { { 0 } }, 0,
	  1, "canary", "img-pin", 1, FG_PLAN_BRANCH_FILE, FG_PLAN_OS_IN_SYNC, "img-pin", 0, NULL },
	{ "running the image is in sync", "pi3", PI3_IMAGE, "canary", { { 0 } }, 0,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_IN_SYNC, PI3_IMAGE, 0, NULL },
	{ "device type without image is not guessed", "pi9", "img-pi9-v1", "canary", { { 0 } }, 0,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_NO_IMAGE, NULL, 0, NULL },
	{ "no image: other deployments stay", "pi9", "img-pi9-v1", "canary",
	  { ACTIVE("d-other", "img-x") }, 1,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_NO_IMAGE, NULL, 0, NULL },
	{ "no device type", NULL, "img-pi4-v1", "canary", { { 0 } }, 0,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_NO_IMAGE, NULL, 0, NULL },
	{ "unknown running OS is deployed", "pi4", NULL, "canary", { { 0 } }, 0,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 0, NULL },
	{ "same artifact already in progress", "pi4", "img-pi4-v1", "canary",
	  { ACTIVE("d-same", PI4_IMAGE) }, 1,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_IN_PROGRESS, PI4_IMAGE, 0, "d-same" },
	{ "in progress wins over aborting others", "pi4", "img-pi4-v1", "canary",
	  { ACTIVE("d-old", "img-old"), ACTIVE("d-same", PI4_IMAGE) }, 2,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_IN_PROGRESS, PI4_IMAGE, 0, "d-same" },
	{ "other artifact is aborted first", "pi4", "img-pi4-v1", "canary",
	  { ACTIVE("d-old", "img-old") }, 1,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 1, NULL },
	{ "in sync device loses a stale deployment", "pi4", PI4_IMAGE, "canary",
	  { ACTIVE("d-old", "img-old") }, 1,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_IN_SYNC, PI4_IMAGE, 1, NULL },
	{ "configuration deployment is no reason to abort", "pi4", "img-pi4-v1", "canary",
	  { ACTIVE_CONFIG("d-cfg") }, 1,
	  0, NULL, NULL, 1, FG_PLAN_BRANCH_TAG, FG_PLAN_OS_DEPLOY, PI4_IMAGE, 0, NULL },
};

static void run_os_case(const struct os_case *c)
{
	struct fg_plan_fact fact = { "dev-1", c->type, c->running, c->tag, NULL,
				     c->active, c->nactive, 0, NULL, NULL };
	struct twant want = { "dev-1", "devices/dev-1.yaml", NULL,
				     c->file_branch, c->pin, NULL };
	struct fixture fx;
	struct fg_plan *plan;
	const struct fg_plan_device *dev;

	fixture_init(&fx, &want, c->file ? 1 : 0, &fact, 1);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, c->subscribed);
	assert_int_equal(plan->totals.subscribers, c->subscribed);
	if (c->subscribed) {
		dev = &plan->devices[0];
		assert_int_equal(dev->branch_source, c->source);
		assert_int_equal(dev->os, c->os);
		assert_opt_string(dev->desired_os, c->desired);
		assert_int_equal(dev->abort, c->abort);
		assert_opt_string(dev->in_progress, c->in_progress);
		assert_int_equal(plan->ndeployments, c->os == FG_PLAN_OS_DEPLOY);
		assert_int_equal(plan->naborts, c->abort);
		assert_int_equal(dev->in_repo, c->file);
	} else {
		assert_true(fg_plan_is_empty(plan));
	}
	fg_plan_free(plan);
	fixture_release(&fx);
}

static void test_os_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(os_cases) / sizeof(os_cases[0]); i++) {
		print_message("# os case: %s\n", os_cases[i].title);
		run_os_case(&os_cases[i]);
	}
}

/* ---- configuration: one device per row ---- */

struct config_case {
	const char *title;
	const char *want;       /* desired map (JSON), NULL: no configuration */
	int fetched;
	const char *configured; /* JSON or NULL */
	const char *reported;
	enum { FULL, IN_SCOPE, OUT_OF_SCOPE, EMPTY_SCOPE } scope;
	int config_deployment;  /* an active configuration deployment */
	int other_os_deployment;/* an active deployment of another artifact */
	/* expected */
	enum fg_plan_config config;
	const char *added, *changed, *removed;
	int redeploy;
};

static const struct config_case config_cases[] = {
	{ "configured equals desired", "{\"a\":\"1\",\"b\":\"2\"}", 1,
	  "{\"b\":\"2\",\"a\":\"1\"}", "{}", FULL, 0, 0,
	  FG_PLAN_CONFIG_IN_SYNC, "", "", "", 0 },
	{ "added, changed and removed keys", "{\"a\":\"1\",\"b\":\"3\",\"d\":\"4\",\"c\":\"5\"}", 1,
	  "{\"a\":\"1\",\"b\":\"2\",\"z\":\"9\",\"y\":\"8\"}", NULL, FULL, 0, 0,
	  FG_PLAN_CONFIG_DEPLOY, "c,d", "b", "y,z", 0 },
	{ "empty configured: reported equal is in sync", "{\"a\":\"1\"}", 1,
	  "{}", "{\"a\":\"1\"}", FULL, 0, 0,
	  FG_PLAN_CONFIG_IN_SYNC, "", "", "", 0 },
	{ "empty configured: compared with reported", "{\"a\":\"1\"}", 1,
	  NULL, "{\"a\":\"0\",\"r\":\"x\"}", FULL, 0, 0,
	  FG_PLAN_CONFIG_DEPLOY, "", "a", "r", 0 },
	{ "configured wins over reported", "{\"a\":\"1\"}", 1,
	  "{\"a\":\"1\"}", "{\"a\":\"0\"}", FULL, 0, 0,
	  FG_PLAN_CONFIG_IN_SYNC, "", "", "", 0 },
	{ "nothing configured or reported", "{\"a\":\"1\"}", 1,
	  NULL, NULL, FULL, 0, 0,
	  FG_PLAN_CONFIG_DEPLOY, "a", "", "", 0 },
	{ "no desired configuration removes keys", NULL, 1,
	  "{\"a\":\"1\"}", NULL, FULL, 0, 0,
	  FG_PLAN_CONFIG_DEPLOY, "", "", "a", 0 },
	{ "empty desired, empty configured: reported keys are not ours", NULL, 1,
	  "{}", "{\"r\":\"x\"}", FULL, 0, 0,
	  FG_PLAN_CONFIG_IN_SYNC, "", "", "", 0 },
	{ "not fetched in a full run is skipped", "{\"a\":\"1\"}", 0,
	  NULL, NULL, FULL, 0, 0,
	  FG_PLAN_CONFIG_NOT_FETCHED, "", "", "", 0 },
	{ "outside the scope is not checked", "{\"a\":\"1\"}", 1,
	  "{\"a\":\"0\"}", NULL, OUT_OF_SCOPE, 0, 0,
	  FG_PLAN_CONFIG_NOT_CHECKED, "", "", "", 0 },
	{ "inside the scope is compared", "{\"a\":\"1\"}", 1,
	  "{\"a\":\"0\"}", NULL, IN_SCOPE, 0, 0,
	  FG_PLAN_CONFIG_DEPLOY, "", "a", "", 0 },
	{ "empty scope checks nothing", "{\"a\":\"1\"}", 0,
	  NULL, NULL, EMPTY_SCOPE, 0, 0,
	  FG_PLAN_CONFIG_NOT_CHECKED, "", "", "", 0 },
	{ "abort cancels a pending configuration: deploy again", "{\"a\":\"1\"}", 1,
	  "{\"a\":\"1\"}", NULL, FULL, 1, 1,
	  FG_PLAN_CONFIG_DEPLOY, "", "", "", 1 },
	{ "abort cancels it even outside the scope", "{\"a\":\"1\"}", 0,
	  NULL, NULL, OUT_OF_SCOPE, 1, 1,
	  FG_PLAN_CONFIG_DEPLOY, "", "", "", 1 },
	{ "pending configuration without abort is left alone", "{\"a\":\"1\"}", 1,
	  "{\"a\":\"1\"}", NULL, FULL, 1, 0,
	  FG_PLAN_CONFIG_IN_SYNC, "", "", "", 0 },
};

static void run_config_case(const struct config_case *c)
{
	struct fg_plan_active active[2];
	json_t *want = parse(c->want), *configured = parse(c->configured);
	json_t *reported = parse(c->reported);
	struct fg_plan_fact fact = { "dev-1", "pi4", PI4_IMAGE, NULL, NULL, active, 0,
				     c->fetched, configured, reported };
	struct twant file = { "dev-1", NULL, NULL, "canary", NULL, want };
	const char *in_scope[] = { "dev-0", "dev-1", "dev-2" };
	const char *out_of_scope[] = { "dev-0", "dev-2" };
	struct fixture fx;
	struct fg_plan *plan;
	const struct fg_plan_device *dev;

	if (c->config_deployment)
		active[fact.nactive++] = (struct fg_plan_active)ACTIVE_CONFIG("d-cfg");
	if (c->other_os_deployment)
		active[fact.nactive++] = (struct fg_plan_active)ACTIVE("d-old", "img-old");
	fixture_init(&fx, &file, 1, &fact, 1);
	if (c->scope == IN_SCOPE) {
		fx.in.config_scope = in_scope;
		fx.in.nconfig_scope = 3;
	} else if (c->scope != FULL) {
		fx.in.config_scope = out_of_scope;
		fx.in.nconfig_scope = c->scope == OUT_OF_SCOPE ? 2 : 0;
	}
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 1);
	dev = &plan->devices[0];
	assert_int_equal(dev->config, c->config);
	assert_keys(&dev->added, c->added);
	assert_keys(&dev->changed, c->changed);
	assert_keys(&dev->removed, c->removed);
	assert_int_equal(dev->config_redeploy, c->redeploy);
	assert_int_equal(plan->nconfigs, c->config == FG_PLAN_CONFIG_DEPLOY);
	if (c->config == FG_PLAN_CONFIG_DEPLOY && want)
		assert_ptr_equal(dev->configuration, want);
	else if (c->config == FG_PLAN_CONFIG_DEPLOY)
		assert_true(json_is_object(dev->configuration) &&
			    json_object_size(dev->configuration) == 0);
	else
		assert_null(dev->configuration);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
	json_decref(reported);
}

static void test_config_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		print_message("# config case: %s\n", config_cases[i].title);
		run_config_case(&config_cases[i]);
	}
}

/* A device in Mender without a device file gets the fleet-wide map. */
static void test_device_without_file_follows_defaults(void **state)
{
	json_t *configured = parse("{\"playbook_version\":\"1.4.0\"}");
	struct fg_plan_fact fact = { "dev-x", "pi4", "img-pi4-v1", "canary", "mender-name",
				     NULL, 0, 1, configured, NULL };
	struct fixture fx;
	struct fg_plan *plan;

	fixture_init(&fx, NULL, 0, &fact, 1);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 1);
	assert_int_equal(plan->totals.not_in_repo, 1);
	assert_string_equal(plan->devices[0].name, "mender-name");
	assert_string_equal(plan->devices[0].desired_os, PI4_IMAGE);
	assert_keys(&plan->devices[0].changed, "playbook_version");
	assert_ptr_equal(plan->devices[0].configuration, fx.fleet_config);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(configured);
}

/* Who follows the planned branch comes from the subscriptions only: the
 * planned commit's own device file cannot claim a device, and without a
 * subscriptions branch only Mender tags subscribe. */
static void test_subscriptions_decide_who_follows(void **state)
{
	struct twant file = { "dev-1", "devices/dev-1.yaml", NULL, BRANCH, NULL, NULL };
	struct fg_plan_fact facts[] = {
		{ "dev-1", "pi4", "img-pi4-v1", NULL, NULL, NULL, 0, 0, NULL, NULL },
		{ "dev-2", "pi4", "img-pi4-v1", NULL, NULL, NULL, 0, 0, NULL, NULL },
		{ "dev-3", "pi4", "img-pi4-v1", BRANCH, NULL, NULL, 0, 0, NULL, NULL },
	};
	struct fixture fx;
	struct fg_plan *plan;

	fixture_init(&fx, &file, 1, facts, 3);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 2); /* dev-1 by the file, dev-3 by its tag */
	assert_string_equal(plan->devices[0].id, "dev-1");
	assert_int_equal(plan->devices[0].branch_source, FG_PLAN_BRANCH_FILE);
	fg_plan_free(plan);
	/* the same desired file, but the subscriptions branch does not say so */
	fx.subs.ndevices = 0;
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 1);
	assert_string_equal(plan->devices[0].id, "dev-3");
	fg_plan_free(plan);
	/* a default naming the planned branch takes the untagged devices */
	fx.subs.default_branch = BRANCH;
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 3);
	assert_int_equal(plan->devices[1].branch_source, FG_PLAN_BRANCH_DEFAULT);
	fg_plan_free(plan);
	/* no subscriptions branch yet: only tags */
	fx.in.subscriptions = NULL;
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 1);
	assert_int_equal(plan->devices[0].branch_source, FG_PLAN_BRANCH_TAG);
	assert_int_equal(plan->warnings.count, 0);
	fg_plan_free(plan);
	fixture_release(&fx);
}

#define WITHHELD_REASON "configuration withheld: secret 'PROD_DB_PASSWORD' is not " \
	"allowed for branch " BRANCH " (policy secrets)"

/* A configuration needing a secret the branch may not resolve is not sent
 * at all, and the plan says why by the secret's name. */
static void test_withheld_configuration(void **state)
{
	json_t *configured = parse("{\"db\":\"old\"}");
	struct twant files[] = {
		{ "dev-1", NULL, NULL, BRANCH, NULL, NULL },
		{ "dev-2", NULL, NULL, BRANCH, NULL, NULL },
	};
	struct fg_plan_fact facts[] = {
		{ "dev-1", "pi4", PI4_IMAGE, NULL, NULL, NULL, 0, 1, configured, NULL },
		{ "dev-2", "pi4", "img-pi4-v1", NULL, NULL, NULL, 0, 1, configured, NULL },
		{ "dev-3", "pi4", PI4_IMAGE, BRANCH, NULL, NULL, 0, 1, configured, NULL },
	};
	struct fixture fx;
	struct fg_plan *plan;
	char *text, *json;

	fixture_init(&fx, files, 2, facts, 3);
	fx.wants[0].withheld = "PROD_DB_PASSWORD";
	fx.wants[1].configuration = fx.fleet_config;
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 3);
	assert_int_equal(plan->devices[0].config, FG_PLAN_CONFIG_WITHHELD);
	assert_string_equal(plan->devices[0].withheld, "PROD_DB_PASSWORD");
	assert_null(plan->devices[0].configuration);
	assert_int_equal(plan->devices[1].config, FG_PLAN_CONFIG_DEPLOY);
	assert_int_equal(plan->devices[2].config, FG_PLAN_CONFIG_DEPLOY);
	assert_int_equal(plan->totals.config_withheld, 1);
	assert_int_equal(plan->nconfigs, 2);
	text = capture(plan, 0, 0);
	json = capture(plan, 1, 0);
	assert_non_null(strstr(text, WITHHELD_REASON));
	assert_non_null(strstr(text, "1 withheld"));
	assert_non_null(strstr(json, "\"withheld: secret 'PROD_DB_PASSWORD' is not allowed"));
	assert_non_null(strstr(json, "\"configuration_withheld\":1"));
	free(text);
	free(json);
	fg_plan_free(plan);
	/* the fleet-wide configuration withheld: every device without a file */
	fx.desired.withheld = "PROD_DB_PASSWORD";
	fx.desired.configuration = NULL;
	plan = build_ok(&fx.in);
	assert_int_equal(plan->devices[2].config, FG_PLAN_CONFIG_WITHHELD);
	assert_int_equal(plan->nconfigs, 1);
	assert_int_equal(plan->configs[0], 1); /* dev-2: its own file's map */
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(configured);
}

static void test_missing_devices_warn(void **state)
{
	struct twant wants[] = {
		{ "dev-here", NULL, "here", "canary", NULL, NULL },
		{ "dev-gone", "devices/site/dev-gone.yaml", NULL, "canary", NULL, NULL },
		{ "dev-prod", "devices/dev-prod.yaml", NULL, NULL, NULL, NULL },
	};
	struct fg_plan_fact fact = { "dev-here", "pi4", PI4_IMAGE, NULL, NULL,
				     NULL, 0, 0, NULL, NULL };
	struct fixture fx;
	struct fg_plan *plan;

	fixture_init(&fx, wants, 3, &fact, 1);
	plan = build_ok(&fx.in);
	/* dev-prod follows production: not this branch's business */
	assert_int_equal(plan->warnings.count, 1);
	assert_string_equal(plan->warnings.items[0].path, "devices/site/dev-gone.yaml");
	assert_non_null(strstr(plan->warnings.items[0].message, "'dev-gone'"));
	assert_string_equal(plan->devices[0].name, "here");
	fg_plan_free(plan);
	fixture_release(&fx);
}

static void test_duplicate_facts_planned_once(void **state)
{
	struct fg_plan_fact facts[] = {
		{ "b", "pi4", "img-pi4-v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "a", "pi4", "img-pi4-v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "b", "pi3", "img-pi3-v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
	};
	struct fixture fx;
	struct fg_plan *plan;

	fixture_init(&fx, NULL, 0, facts, 3);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 2);
	assert_int_equal(plan->ndeployments, 1);
	assert_int_equal(plan->deployments[0].count, 2);
	assert_string_equal(plan->devices[0].id, "b");
	assert_string_equal(plan->devices[0].device_type, "pi4");
	assert_int_equal(plan->warnings.count, 1);
	assert_string_equal(plan->warnings.items[0].keyword, "duplicate-device");
	assert_non_null(strstr(plan->warnings.items[0].message, "'b'"));
	fg_plan_free(plan);
	fixture_release(&fx);
}

/* ---- deployments ---- */

static void test_grouped_by_artifact(void **state)
{
	struct fg_plan_fact facts[] = {
		{ "a", "pi4", "img-pi4-v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "b", "pi3", "img-pi3-v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "c", "pi4", NULL, "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "d", "pi4", PI4_IMAGE, "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "e", "pi3", "img-pi3-v1", "production", NULL, NULL, 0, 0, NULL, NULL },
	};
	struct fixture fx;
	struct fg_plan *plan;
	const struct fg_plan_deployment *d;

	fixture_init(&fx, NULL, 0, facts, 5);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndevices, 4);
	assert_int_equal(plan->ndeployments, 2);
	d = &plan->deployments[0];
	assert_string_equal(d->artifact, PI3_IMAGE);
	assert_string_equal(d->name, "fleetgate canary 3f2a1c0 " PI3_IMAGE);
	assert_int_equal(d->count, 1);
	assert_string_equal(d->ids[0], "b");
	d = &plan->deployments[1];
	assert_string_equal(d->name, "fleetgate canary 3f2a1c0 " PI4_IMAGE);
	assert_int_equal(d->count, 2);
	assert_string_equal(d->ids[0], "a");
	assert_string_equal(d->ids[1], "c");
	assert_int_equal(plan->devices[0].deployment, 1);
	assert_int_equal(plan->devices[1].deployment, 0);
	assert_int_equal(plan->devices[3].deployment, FG_PLAN_NONE);
	assert_int_equal(plan->totals.os_deploy, 3);
	assert_int_equal(plan->totals.os_in_sync, 1);
	assert_int_equal(plan->totals.mender_devices, 5);
	fg_plan_free(plan);
	fixture_release(&fx);
}

static void test_long_artifact_name_is_cut(void **state)
{
	char pin[600];
	struct twant want = { "dev-1", NULL, NULL, "canary", pin, NULL };
	struct fg_plan_fact fact = { "dev-1", "pi4", "img-pi4-v1", NULL, NULL, NULL, 0, 0,
				     NULL, NULL };
	struct fixture fx;
	struct fg_plan *plan;
	const char *name;

	memset(pin, 'x', sizeof(pin) - 1);
	pin[sizeof(pin) - 1] = '\0';
	pin[FG_PLAN_NAME_MAX - 40] = '\xc3'; /* a two-byte character at the cut */
	pin[FG_PLAN_NAME_MAX - 39] = '\xa9';
	fixture_init(&fx, &want, 1, &fact, 1);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndeployments, 1);
	name = plan->deployments[0].name;
	assert_true(strlen(name) <= FG_PLAN_NAME_MAX);
	assert_int_equal(strncmp(name, "fleetgate canary 3f2a1c0 xxx", 28), 0);
	assert_string_equal(name + strlen(name) - 3, "...");
	assert_string_equal(plan->deployments[0].artifact, pin);
	fg_plan_free(plan);
	fixture_release(&fx);
}

/* The body a client sends, encoded the way jansson does by default. */
static size_t real_body_size(const struct fg_plan_deployment *d, size_t flags)
{
	json_t *ids = json_array(), *body;
	char *text;
	size_t i, n;

	for (i = 0; i < d->count; i++)
		json_array_append_new(ids, json_string(d->ids[i]));
	body = json_pack("{s:s, s:s, s:o, s:b}", "name", d->name,
			 "artifact_name", d->artifact, "devices", ids,
			 "force_installation", 0);
	text = json_dumps(body, flags);
	assert_non_null(text);
	n = strlen(text);
	free(text);
	json_decref(body);
	return n;
}

static struct fg_plan_fact *many_facts(size_t n, char ***ids_out)
{
	struct fg_plan_fact *facts = calloc(n, sizeof(*facts));
	char **ids = calloc(n, sizeof(*ids));
	size_t i;

	assert_non_null(facts);
	assert_non_null(ids);
	for (i = 0; i < n; i++) {
		/* Mender's long hex ids, made longer still */
		ids[i] = fg_asprintf("%064zx-site-%08zu-device", i * 2654435761u, i);
		assert_non_null(ids[i]);
		facts[i].id = ids[i];
		facts[i].device_type = "pi4";
		facts[i].os_version = "img-pi4-v1";
		facts[i].tag_branch = "canary";
	}
	*ids_out = ids;
	return facts;
}

static void free_many(struct fg_plan_fact *facts, char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(facts);
}

static void test_split_past_one_mib(void **state)
{
	const size_t n = 40000;
	char **ids;
	struct fg_plan_fact *facts = many_facts(n, &ids);
	unsigned char *seen = calloc(n, 1);
	struct fixture fx;
	struct fg_plan *plan;
	size_t i, j, total = 0, all_bytes = 0;
	char label[32];

	assert_non_null(seen);
	fixture_init(&fx, NULL, 0, facts, n);
	plan = build_ok(&fx.in);
	assert_true(plan->ndeployments >= 3);
	for (i = 0; i < plan->ndeployments; i++) {
		const struct fg_plan_deployment *d = &plan->deployments[i];
		size_t bytes = real_body_size(d, 0);

		assert_true(bytes <= FG_PLAN_MAX_REQUEST);
		assert_true(bytes <= d->body_bytes);
		assert_true(real_body_size(d, JSON_COMPACT) <= FG_PLAN_MAX_REQUEST);
		/* split only when needed: every part but the last is full */
		if (i + 1 < plan->ndeployments)
			assert_true(d->body_bytes + fg_plan_json_string_size(
				plan->deployments[i + 1].ids[0]) + 2 > FG_PLAN_MAX_REQUEST);
		snprintf(label, sizeof(label), "[%zu/%zu]", i + 1, plan->ndeployments);
		assert_non_null(strstr(d->name, label));
		total += d->count;
		all_bytes += bytes;
	}
	assert_true(all_bytes > FG_PLAN_MAX_REQUEST * 2);
	assert_int_equal(total, n);
	for (i = 0; i < n; i++) {
		const struct fg_plan_device *dev = &plan->devices[i];
		const struct fg_plan_deployment *d = &plan->deployments[dev->deployment];

		for (j = 0; j < d->count && d->ids[j] != dev->id; j++)
			;
		assert_true(j < d->count);
		assert_int_equal(seen[i], 0);
		seen[i] = 1;
	}
	fg_plan_free(plan);
	fixture_release(&fx);
	free_many(facts, ids, n);
	free(seen);
}

static void test_no_split_below_limit(void **state)
{
	const size_t n = 1000;
	char **ids;
	struct fg_plan_fact *facts = many_facts(n, &ids);
	struct fixture fx;
	struct fg_plan *plan;

	fixture_init(&fx, NULL, 0, facts, n);
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndeployments, 1);
	assert_int_equal(plan->deployments[0].count, n);
	assert_string_equal(plan->deployments[0].name, "fleetgate canary 3f2a1c0 " PI4_IMAGE);
	fg_plan_free(plan);
	fixture_release(&fx);
	free_many(facts, ids, n);
}

static void test_small_limit_and_oversized_id(void **state)
{
	struct fg_plan_fact facts[] = {
		{ "aaaa", "pi4", "v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
		{ "bbbb", "pi4", "v1", "canary", NULL, NULL, 0, 0, NULL, NULL },
	};
	struct fg_error err = FG_ERROR_INIT;
	struct fixture fx;
	struct fg_plan *plan = NULL;

	fixture_init(&fx, NULL, 0, facts, 2);
	/* room for exactly one id after the fixed part */
	fx.in.max_request = FG_PLAN_BODY_RESERVE + fg_plan_json_string_size(PI4_IMAGE) +
			    sizeof("{\"name\": , \"artifact_name\": , \"devices\": []}") + 8;
	plan = build_ok(&fx.in);
	assert_int_equal(plan->ndeployments, 2);
	assert_string_equal(plan->deployments[0].name, "fleetgate canary 3f2a1c0 [1/2] " PI4_IMAGE);
	assert_string_equal(plan->deployments[1].ids[0], "bbbb");
	fg_plan_free(plan);
	fx.in.max_request = 100;
	assert_int_equal(fg_plan_build(&plan, &fx.in, &err), FG_ELIMIT);
	assert_null(plan);
	assert_non_null(strstr(err.message, "'aaaa'"));
	fixture_release(&fx);
}

/* ---- idempotence ---- */

/* What Mender reports once every action of the plan succeeded. */
static void apply_plan(const struct fg_plan *plan, struct fg_plan_fact *facts, size_t n)
{
	size_t i, j;

	for (i = 0; i < plan->ndevices; i++) {
		const struct fg_plan_device *dev = &plan->devices[i];

		for (j = 0; j < n && strcmp(facts[j].id, dev->id); j++)
			;
		assert_true(j < n);
		if (dev->os == FG_PLAN_OS_DEPLOY || dev->os == FG_PLAN_OS_IN_PROGRESS)
			facts[j].os_version = dev->desired_os;
		if (dev->os != FG_PLAN_OS_NO_IMAGE) {
			facts[j].active = NULL;
			facts[j].nactive = 0;
		}
		if (dev->config == FG_PLAN_CONFIG_DEPLOY) {
			facts[j].configured = dev->configuration;
			facts[j].reported = dev->configuration;
			facts[j].config_fetched = 1;
		}
	}
}

/* What Mender reports right after the plan was applied, before devices
 * move: every scheduled deployment is pending. */
static void schedule_plan(const struct fg_plan *plan, struct fg_plan_fact *facts,
			  size_t n, struct fg_plan_active *pending)
{
	size_t i, j;

	for (i = 0; i < plan->ndevices; i++) {
		const struct fg_plan_device *dev = &plan->devices[i];

		for (j = 0; j < n && strcmp(facts[j].id, dev->id); j++)
			;
		if (dev->abort)
			facts[j].nactive = 0;
		if (dev->os == FG_PLAN_OS_DEPLOY) {
			pending[j].id = plan->deployments[dev->deployment].name;
			pending[j].artifact = dev->desired_os;
			facts[j].active = &pending[j];
			facts[j].nactive = 1;
		}
		if (dev->config == FG_PLAN_CONFIG_DEPLOY)
			facts[j].configured = dev->configuration;
	}
}

struct idem {
	json_t *want_cfg, *configured, *reported;
	struct fg_plan_active active[2];
	struct twant wants[3];
	struct fg_plan_fact facts[6];
};

static void idem_init(struct idem *s)
{
	s->want_cfg = parse("{\"kiosk_url\":\"https://x\",\"playbook_version\":\"1.5.0\"}");
	s->configured = parse("{\"kiosk_url\":\"https://old\",\"gone\":\"1\"}");
	s->reported = parse("{\"playbook_version\":\"1.4.0\"}");
	s->active[0] = (struct fg_plan_active)ACTIVE("d-old", "img-old");
	s->active[1] = (struct fg_plan_active)ACTIVE_CONFIG("d-cfg");
	s->wants[0] = (struct twant){ "k1", NULL, "kiosk", "canary", NULL, s->want_cfg };
	s->wants[1] = (struct twant){ "k2", NULL, NULL, "canary", "img-pin", s->want_cfg };
	s->wants[2] = (struct twant){ "k3", NULL, NULL, "canary", NULL, NULL };
	s->facts[0] = (struct fg_plan_fact){ "k1", "pi4", "img-pi4-v1", NULL, NULL,
					     s->active, 2, 1, s->configured, NULL };
	s->facts[1] = (struct fg_plan_fact){ "k2", "pi4", PI4_IMAGE, NULL, NULL,
					     NULL, 0, 1, NULL, s->reported };
	s->facts[2] = (struct fg_plan_fact){ "k3", "pi3", PI3_IMAGE, NULL, NULL,
					     NULL, 0, 1, NULL, s->reported };
	s->facts[3] = (struct fg_plan_fact){ "m1", "pi9", "img-9", "canary", NULL,
					     NULL, 0, 1, NULL, NULL };
	s->facts[4] = (struct fg_plan_fact){ "m2", "pi3", NULL, "canary", NULL,
					     NULL, 0, 1, NULL, NULL };
	s->facts[5] = (struct fg_plan_fact){ "p1", "pi3", "img-pi3-v0", NULL, NULL,
					     NULL, 0, 1, NULL, NULL };
}

static void idem_release(struct idem *s)
{
	json_decref(s->want_cfg);
	json_decref(s->configured);
	json_decref(s->reported);
}

static void test_idempotent_after_success(void **state)
{
	struct idem s;
	struct fixture fx;
	struct fg_plan *first, *second;
	json_t *report;
	char *text;
	size_t i;

	idem_init(&s);
	fixture_init(&fx, s.wants, 3, s.facts, 6);
	first = build_ok(&fx.in);
	assert_false(fg_plan_is_empty(first));
	assert_int_equal(first->ndevices, 5);
	assert_int_equal(first->ndeployments, 3);
	assert_int_equal(first->naborts, 1);
	assert_int_equal(first->nconfigs, 4);
	apply_plan(first, s.facts, 6);
	second = build_ok(&fx.in);
	assert_true(fg_plan_is_empty(second));
	for (i = 0; i < second->ndevices; i++) {
		assert_true(second->devices[i].os == FG_PLAN_OS_IN_SYNC ||
			    second->devices[i].os == FG_PLAN_OS_NO_IMAGE);
		assert_int_equal(second->devices[i].config, FG_PLAN_CONFIG_IN_SYNC);
	}
	assert_int_equal(second->totals.os_no_image, 1);
	text = capture(second, 0, 0);
	assert_non_null(strstr(text, "\nnothing to do\n"));
	assert_null(strstr(text, "OS scheduled in '"));
	assert_non_null(strstr(text, "OS: 0 scheduled in 0 deployments"));
	assert_non_null(strstr(text, "OS skipped: no image for device type pi9"));
	free(text);
	report = capture_json(second);
	assert_true(json_is_true(json_object_get(report, "empty")));
	json_decref(report);
	fg_plan_free(second);
	fg_plan_free(first);
	fixture_release(&fx);
	idem_release(&s);
}

static void test_idempotent_while_pending(void **state)
{
	struct fg_plan_active pending[6];
	struct idem s;
	struct fixture fx;
	struct fg_plan *first, *second;

	memset(pending, 0, sizeof(pending));
	idem_init(&s);
	fixture_init(&fx, s.wants, 3, s.facts, 6);
	first = build_ok(&fx.in);
	schedule_plan(first, s.facts, 6, pending);
	second = build_ok(&fx.in);
	assert_true(fg_plan_is_empty(second));
	assert_int_equal(second->totals.os_in_progress, first->totals.os_deploy);
	fg_plan_free(second);
	fg_plan_free(first);
	fixture_release(&fx);
	idem_release(&s);
}

/* ---- reports ---- */

#define SECRET_NEW "s3cr3t-NEW-value-7f1e"
#define SECRET_OLD "s3cr3t-OLD-value-0a2b"

static struct fg_plan *secret_plan(struct fixture *fx, json_t **want, json_t **configured,
				   struct twant *file, struct fg_plan_fact *facts)
{
	*want = json_pack("{s:s, s:s}", "gharunner_access_token", SECRET_NEW,
			  "kiosk_url", "https://board");
	*configured = json_pack("{s:s, s:s}", "gharunner_access_token", SECRET_OLD,
				"old_key", SECRET_OLD);
	*file = (struct twant){ "dev-1", NULL, "kiosk\x1b[2Jcampus", "canary", NULL, *want };
	fixture_init(fx, file, 1, facts, 3);
	facts[0] = (struct fg_plan_fact){ "dev-1", "pi4", "img-pi4-v1", NULL, NULL,
					  NULL, 0, 1, *configured, *configured };
	facts[1] = (struct fg_plan_fact){ "dev-2", "pi9", "v1", "canary", NULL,
					  NULL, 0, 0, NULL, NULL };
	facts[2] = (struct fg_plan_fact){ "dev-3", "pi3", PI3_IMAGE, "canary", NULL,
					  NULL, 0, 1, fx->fleet_config, NULL };
	return build_ok(&fx->in);
}

static void test_secrets_never_reported(void **state)
{
	struct twant file;
	struct fg_plan_fact facts[3];
	json_t *want, *configured;
	struct fixture fx;
	struct fg_plan *plan = secret_plan(&fx, &want, &configured, &file, facts);
	char *text, *json;

	/* the executor still gets the value for its PUT */
	assert_string_equal(json_string_value(json_object_get(
		plan->devices[0].configuration, "gharunner_access_token")), SECRET_NEW);
	text = capture(plan, 0, FG_REPORT_ALL_DEVICES);
	json = capture(plan, 1, 0);
	assert_null(strstr(text, "s3cr3t"));
	assert_null(strstr(json, "s3cr3t"));
	assert_non_null(strstr(text, "~gharunner_access_token"));
	assert_non_null(strstr(json, "\"gharunner_access_token\""));
	free(text);
	free(json);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
}

static void test_text_report(void **state)
{
	struct twant file;
	struct fg_plan_fact facts[3];
	json_t *want, *configured;
	struct fixture fx;
	struct fg_plan *plan = secret_plan(&fx, &want, &configured, &file, facts);
	char *t = capture(plan, 0, 0), *all = capture(plan, 0, FG_REPORT_ALL_DEVICES);

	assert_non_null(strstr(t, "plan for 'canary' at 3f2a1c0\n"));
	assert_non_null(strstr(t, "DEVICE"));
	assert_non_null(strstr(t, "kiosk\\x1b[2Jcampus"));
	assert_null(strstr(t, "\x1b"));
	assert_non_null(strstr(t, "canary (file)"));
	assert_non_null(strstr(t, "img-pi4-v1 -> " PI4_IMAGE));
	assert_non_null(strstr(t, "+kiosk_url ~gharunner_access_token -old_key"));
	assert_non_null(strstr(t, "OS scheduled in 'fleetgate canary 3f2a1c0 " PI4_IMAGE "'"));
	assert_non_null(strstr(t, "OS skipped: no image for device type pi9"));
	assert_non_null(strstr(t, "configuration skipped: configuration not fetched"));
	assert_non_null(strstr(t, "'fleetgate canary 3f2a1c0 " PI4_IMAGE "': " PI4_IMAGE " to 1 device\n"));
	assert_non_null(strstr(t, "totals: 3 of 3 devices in Mender follow 'canary' (2 without a device file)"));
	assert_non_null(strstr(t, "OS: 1 scheduled in 1 deployment, 1 in sync, 0 already in progress, 1 without image"));
	/* dev-3 is in sync: only the full listing shows it */
	assert_null(strstr(t, "dev-3"));
	assert_non_null(strstr(all, "dev-3"));
	free(t);
	free(all);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
}

/* Columns line up: every row puts ACTION at the header's offset. */
static void test_text_columns_align(void **state)
{
	struct twant file;
	struct fg_plan_fact facts[3];
	json_t *want, *configured;
	struct fixture fx;
	struct fg_plan *plan = secret_plan(&fx, &want, &configured, &file, facts);
	char *t = capture(plan, 0, FG_REPORT_ALL_DEVICES);
	const char *line = strstr(t, "DEVICE"), *hit;
	size_t col = (size_t)(strstr(line, "ACTION") - line), rows = 0;

	for (line = strchr(line, '\n') + 1; *line != '\n'; line = strchr(line, '\n') + 1) {
		hit = line + col;
		assert_true(hit[-1] == ' ' && hit[-2] == ' ' && hit[0] != ' ');
		rows++;
	}
	assert_int_equal(rows, 3);
	free(t);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
}

static void test_json_report(void **state)
{
	struct twant file;
	struct fg_plan_fact facts[3];
	json_t *want, *configured, *r, *dev;
	struct fixture fx;
	struct fg_plan *plan = secret_plan(&fx, &want, &configured, &file, facts);

	r = capture_json(plan);
	assert_string_equal(json_string_value(json_object_get(r, "branch")), "canary");
	assert_string_equal(json_string_value(json_object_get(r, "commit")), COMMIT);
	assert_true(json_is_false(json_object_get(r, "empty")));
	assert_int_equal(json_array_size(json_object_get(r, "devices")), 3);
	dev = json_array_get(json_object_get(r, "devices"), 0);
	assert_string_equal(json_string_value(json_object_get(dev, "branch_source")), "file");
	assert_string_equal(json_string_value(json_object_get(dev, "name")), "kiosk\x1b[2Jcampus");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(dev, "os"), "action")), "deploy");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(dev, "os"), "deployment")), "fleetgate canary 3f2a1c0 " PI4_IMAGE);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(dev, "configuration"), "removed"), 0)), "old_key");
	dev = json_array_get(json_object_get(r, "devices"), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(dev, "os"), "reason")), "skipped: no image for device type pi9");
	assert_true(json_is_null(json_object_get(json_object_get(dev, "os"), "desired")));
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(r, "totals"), "os_scheduled")), 1);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(r, "totals"), "configuration_not_fetched")), 1);
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(r, "configurations"), 0)), "dev-1");
	assert_int_equal(json_array_size(json_object_get(r, "aborts")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "warnings")), 0);
	assert_int_equal(json_array_size(json_object_get(json_array_get(
		json_object_get(r, "deployments"), 0), "devices")), 1);
	json_decref(r);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
}

static void test_report_write_error(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	struct twant file;
	struct fg_plan_fact facts[3];
	json_t *want, *configured;
	struct fixture fx;
	struct fg_plan *plan = secret_plan(&fx, &want, &configured, &file, facts);
	/* every write to a stream opened for reading fails */
	FILE *full = fopen("/dev/null", "r");

	assert_non_null(full);
	assert_int_equal(fg_report_text(full, plan, 0, &err), FG_EIO);
	clearerr(full);
	assert_int_equal(fg_report_json(full, plan, &err), FG_EIO);
	assert_non_null(strstr(err.message, "cannot write"));
	fclose(full);
	fg_plan_free(plan);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
}

struct torture_ctx {
	const struct fg_plan_input *in;
	FILE *sink;
};

/* One run of plan and both reports; everything it takes it gives back. */
static int plan_and_report(void *p)
{
	struct torture_ctx *ctx = p;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_plan *plan = NULL;
	int rc = fg_plan_build(&plan, ctx->in, &err);

	if (rc) {
		/* a failure leaves nothing behind and says what it was */
		if (plan || err.code != rc || !err.message[0])
			return FG_ERROR;
		return rc;
	}
	rc = fg_report_text(ctx->sink, plan, FG_REPORT_ALL_DEVICES, &err);
	if (!rc)
		rc = fg_report_json(ctx->sink, plan, &err);
	fg_plan_free(plan);
	return rc;
}

static void test_allocation_failures(void **state)
{
	static char sink_buffer[1 << 16]; /* stdio must not allocate inside a run */
	struct fg_plan_active active[2] = { ACTIVE("d-old", "img-old"), ACTIVE_CONFIG("d-cfg") };
	struct twant file;
	struct fg_plan_fact facts[4];
	json_t *want, *configured;
	struct fixture fx;
	struct fg_plan *plan;
	const char *scope[] = { "dev-1", "dev-3" };
	struct torture_ctx ctx;
	struct torture_result res;
	const char *why;

	plan = secret_plan(&fx, &want, &configured, &file, facts);
	fg_plan_free(plan);
	facts[3] = (struct fg_plan_fact){ "dev-1", "pi4", "x", NULL, NULL, NULL, 0, 0, NULL, NULL };
	facts[0].active = active;
	facts[0].nactive = 2;
	fx.in.nfacts = 4;
	fx.in.config_scope = scope;
	fx.in.nconfig_scope = 2;
	ctx.in = &fx.in;
	ctx.sink = fopen("/dev/null", "w");
	assert_non_null(ctx.sink);
	assert_int_equal(setvbuf(ctx.sink, sink_buffer, _IOFBF, sizeof(sink_buffer)), 0);
	if (!torture_available(&why)) {
		/* a TAP skip inside a program counts as a failure: run it once */
		print_message("# no failure injection: %s\n", why);
		assert_int_equal(plan_and_report(&ctx), 0);
		goto out;
	}
	if (torture_run(plan_and_report, &ctx, FG_ENOMEM, 0, &res))
		fail_msg("%s", res.message);
	print_message("# %zu allocations, %zu failure points\n", res.allocations, res.points);
	assert_int_equal(res.baseline, 0);
	assert_true(res.points > 50);
	assert_int_equal(res.points, res.allocations);
out:
	fclose(ctx.sink);
	fixture_release(&fx);
	json_decref(want);
	json_decref(configured);
}

/* ---- invalid input ---- */

static void test_invalid_input(void **state)
{
	/* lone continuation, overlong, surrogate, past U+10FFFF, truncated */
	static const char *const bad_utf8[] = { "a\x80", "\xc0\xaf", "\xed\xa0\x80",
						"\xf4\x90\x80\x80", "\xe2\x82", "\xff" };
	json_t *bad = json_pack("{s:i}", "port", 8080);
	struct twant file = { "dev-1", NULL, NULL, "canary", NULL, bad };
	struct fg_plan_fact fact = { "dev-1", "pi4", "v1", NULL, NULL, NULL, 0, 1, NULL, NULL };
	struct fg_error err = FG_ERROR_INIT;
	struct fixture fx;
	struct fg_plan *plan = NULL;
	size_t i;

	fixture_init(&fx, &file, 1, &fact, 1);
	assert_int_equal(fg_plan_build(&plan, &fx.in, &err), FG_EINVALID);
	assert_null(plan);
	assert_non_null(strstr(err.message, "'port'"));
	assert_non_null(strstr(err.message, "not a string"));
	fx.in.branch = NULL;
	assert_int_equal(fg_plan_build(&plan, &fx.in, &err), FG_EINVALID);
	fx.in.branch = BRANCH;
	fact.id = "";
	assert_int_equal(fg_plan_build(&plan, &fx.in, &err), FG_EINVALID);
	assert_non_null(strstr(err.message, "no id"));
	json_object_del(bad, "port");
	fact.id = "dev-1";
	fact.name = "caf\xc3\xa9 \xf0\x9f\x98\x80"; /* valid: accepted */
	assert_int_equal(fg_plan_build(&plan, &fx.in, &err), 0);
	fg_plan_free(plan);
	plan = NULL;
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		fact.name = bad_utf8[i];
		assert_int_equal(fg_plan_build(&plan, &fx.in, &err), FG_EINVALID);
		assert_non_null(strstr(err.message, "not UTF-8"));
		assert_null(plan);
	}
	fixture_release(&fx);
	json_decref(bad);
}

static void test_json_string_size_bounds_jansson(void **state)
{
	const char *samples[] = { "", "plain", "q\"b\\s/", "tab\tnl\n\x01", "caf\xc3\xa9",
				  "\xf0\x9f\x98\x80" };
	size_t flags[] = { 0, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH };
	size_t i, f;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		json_t *s = json_string(samples[i]);

		for (f = 0; f < 2; f++) {
			char *text = json_dumps(s, flags[f] | JSON_ENCODE_ANY);

			assert_non_null(text);
			assert_true(strlen(text) <= fg_plan_json_string_size(samples[i]));
			free(text);
		}
		json_decref(s);
	}
	assert_int_equal(fg_plan_json_string_size("abc"), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_os_table),
		cmocka_unit_test(test_config_table),
		cmocka_unit_test(test_device_without_file_follows_defaults),
		cmocka_unit_test(test_subscriptions_decide_who_follows),
		cmocka_unit_test(test_withheld_configuration),
		cmocka_unit_test(test_missing_devices_warn),
		cmocka_unit_test(test_duplicate_facts_planned_once),
		cmocka_unit_test(test_grouped_by_artifact),
		cmocka_unit_test(test_long_artifact_name_is_cut),
		cmocka_unit_test(test_split_past_one_mib),
		cmocka_unit_test(test_no_split_below_limit),
		cmocka_unit_test(test_small_limit_and_oversized_id),
		cmocka_unit_test(test_idempotent_after_success),
		cmocka_unit_test(test_idempotent_while_pending),
		cmocka_unit_test(test_secrets_never_reported),
		cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_text_columns_align),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_report_write_error),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_json_string_size_bounds_jansson),
	};
	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
