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

#include "buf.h"
#include "record.h"

static int setup(void **state)
{
	char *dir = strdup("/tmp/fg-record-XXXXXX");

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

/* A borrowed-strings record of `commit` in `state`. */
static struct fg_record rec_of(const char *commit, enum fg_record_state state)
{
	struct fg_record r = { 0 };

	r.commit = (char *)commit;
	r.tree = (char *)"7777777777777777777777777777777777777777";
	r.state = state;
	r.started = 1796014920; /* 2026-11-30 05:02 UTC */
	r.devices.following = 2;
	r.devices.in_sync = 1;
	r.devices.pending = 1;
	return r;
}

static void save(const char *dir, const char *branch, const struct fg_record *r,
		 time_t now)
{
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_record_save(dir, branch, r, now, &err), 0);
}

static void test_round_trip_and_update(void **state)
{
	const char *dir = *state;
	struct fg_record r = rec_of("aaaa", FG_RECORD_IN_PROGRESS);
	struct fg_record_history h;
	struct fg_error err = FG_ERROR_INIT;
	const struct fg_record *got;
	json_t *follow = json_pack("{s:i}", "polls", 3);

	r.follow = follow;
	r.deployments = (char *[]){ (char *)"dep-1" };
	r.ndeployments = 1;
	save(dir, "canary", &r, 100);
	assert_int_equal(fg_record_load(&h, dir, "canary", &err), 0);
	assert_int_equal(h.count, 1);
	got = fg_record_latest(&h);
	assert_string_equal(got->commit, "aaaa");
	assert_string_equal(got->tree, r.tree);
	assert_int_equal(got->state, FG_RECORD_IN_PROGRESS);
	assert_int_equal(got->started, r.started);
	assert_int_equal(got->finished, 0);
	assert_int_equal(got->devices.following, 2);
	assert_int_equal(got->devices.in_sync, 1);
	assert_int_equal(got->devices.pending, 1);
	assert_int_equal(got->ndeployments, 1);
	assert_string_equal(got->deployments[0], "dep-1");
	assert_int_equal(json_integer_value(json_object_get(got->follow, "polls")), 3);
	fg_record_history_release(&h);

	/* the follower's update of the newest record replaces it */
	r.state = FG_RECORD_FAILED;
	r.finished = r.started + 720;
	r.follow = NULL;
	r.devices.pending = 0;
	r.devices.failed = 1;
	r.failed_devices = (char *[]){ (char *)"dev-b" };
	r.nfailed_devices = 1;
	save(dir, "canary", &r, 200);
	assert_int_equal(fg_record_load(&h, dir, "canary", &err), 0);
	assert_int_equal(h.count, 1);
	got = fg_record_find(&h, "aaaa");
	assert_non_null(got);
	assert_int_equal(got->state, FG_RECORD_FAILED);
	assert_null(got->follow);
	assert_int_equal(got->nfailed_devices, 1);
	assert_string_equal(got->failed_devices[0], "dev-b");
	assert_null(fg_record_find(&h, "bbbb"));
	fg_record_history_release(&h);
	json_decref(follow);
}

static void test_newer_commit_supersedes_unfinished(void **state)
{
	const char *dir = *state;
	struct fg_record a = rec_of("aaaa", FG_RECORD_SUCCEEDED);
	struct fg_record b = rec_of("bbbb", FG_RECORD_IN_PROGRESS);
	struct fg_record c = rec_of("cccc", FG_RECORD_IN_PROGRESS);
	struct fg_record_history h;
	struct fg_error err = FG_ERROR_INIT;

	save(dir, "canary", &a, 10);
	save(dir, "canary", &b, 20);
	save(dir, "canary", &c, 30);
	assert_int_equal(fg_record_load(&h, dir, "canary", &err), 0);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.items[0].state, FG_RECORD_SUCCEEDED); /* final: kept */
	assert_int_equal(h.items[0].finished, 0);
	assert_int_equal(h.items[1].state, FG_RECORD_SUPERSEDED);
	assert_int_equal(h.items[1].finished, 30);
	assert_int_equal(h.items[2].state, FG_RECORD_IN_PROGRESS);
	fg_record_history_release(&h);

	/* rolling out aaaa again makes it the newest, once */
	a.state = FG_RECORD_IN_PROGRESS;
	save(dir, "canary", &a, 40);
	assert_int_equal(fg_record_load(&h, dir, "canary", &err), 0);
	assert_int_equal(h.count, 3);
	assert_string_equal(fg_record_latest(&h)->commit, "aaaa");
	assert_int_equal(h.items[1].state, FG_RECORD_SUPERSEDED); /* cccc */
	assert_string_equal(h.items[1].commit, "cccc");
	fg_record_history_release(&h);
}

static void test_history_is_bounded(void **state)
{
	const char *dir = *state;
	struct fg_record_history h;
	struct fg_error err = FG_ERROR_INIT;
	char commit[16];
	int i;

	for (i = 0; i < FG_RECORD_HISTORY_MAX + 5; i++) {
		struct fg_record r = rec_of(commit, FG_RECORD_SUCCEEDED);

		snprintf(commit, sizeof(commit), "c%03d", i);
		save(dir, "main", &r, i);
	}
	assert_int_equal(fg_record_load(&h, dir, "main", &err), 0);
	assert_int_equal(h.count, FG_RECORD_HISTORY_MAX);
	assert_string_equal(h.items[0].commit, "c005");
	assert_string_equal(fg_record_latest(&h)->commit, "c054");
	fg_record_history_release(&h);
}

static void test_branches_are_separate_files(void **state)
{
	const char *dir = *state;
	struct fg_record r = rec_of("aaaa", FG_RECORD_IN_PROGRESS);
	struct fg_record_history h;
	struct fg_error err = FG_ERROR_INIT;
	char *path;
	struct stat st;

	/* a branch name is never a path: no traversal out of records/ */
	save(dir, "../../evil", &r, 1);
	save(dir, "feature/x", &r, 1);
	path = fg_asprintf("%s/records/%%2E.%%2F..%%2Fevil.json", dir);
	assert_int_equal(stat(path, &st), 0);
	free(path);
	path = fg_asprintf("%s/records/feature%%2Fx.json", dir);
	assert_int_equal(stat(path, &st), 0);
	free(path);
	assert_int_equal(fg_record_load(&h, dir, "canary", &err), 0);
	assert_int_equal(h.count, 0);
	assert_null(fg_record_latest(&h));
	fg_record_history_release(&h);
}

static void test_damaged_file_names_itself(void **state)
{
	const char *dir = *state;
	struct fg_record_history h;
	struct fg_error err = FG_ERROR_INIT;
	char *path = fg_asprintf("%s/records/canary.json", dir);
	FILE *f;

	save(dir, "canary", &(struct fg_record){ .commit = (char *)"aaaa" }, 1);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"records\": [{\"commit\": 3}]}", f);
	fclose(f);
	assert_int_equal(fg_record_load(&h, dir, "canary", &err), FG_EINVALID);
	assert_non_null(strstr(err.message, path));
	assert_non_null(strstr(err.message, "move it away"));
	assert_int_equal(h.count, 0);
	free(path);
}

static void test_failed_ids_bounded_and_unique(void **state)
{
	struct fg_record r = { 0 };
	char id[16];
	int i;

	(void)state;
	for (i = 0; i < FG_RECORD_FAILED_MAX + 20; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		assert_int_equal(fg_record_add_failed(&r, id), 0);
		assert_int_equal(fg_record_add_failed(&r, "dev-0"), 0);
	}
	assert_int_equal(r.nfailed_devices, FG_RECORD_FAILED_MAX);
	assert_int_equal(fg_record_add_deployment(&r, "d1"), 0);
	assert_int_equal(fg_record_add_deployment(&r, "d1"), 0);
	assert_int_equal(r.ndeployments, 1);
	fg_record_release(&r);
}

static void test_summary_and_json(void **state)
{
	struct fg_record r = rec_of("aaaa", FG_RECORD_SUCCEEDED);
	struct fg_buf b = FG_BUF_INIT;
	json_t *o;

	(void)state;
	r.devices.pending = 0;
	r.devices.succeeded = 1;
	r.finished = r.started + 720;
	assert_int_equal(fg_record_summary(&b, "canary", &r), 0);
	assert_string_equal(fg_buf_cstr(&b), "rollout canary: succeeded, 2/2 devices "
			    "(1 updated, 1 already there), 2026-11-30 05:02\xe2\x80\x93"
			    "05:14 UTC");
	fg_buf_release(&b);
	o = fg_record_to_json(&r);
	assert_string_equal(json_string_value(json_object_get(o, "started")),
			    "2026-11-30T05:02:00Z");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "succeeded");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "devices"),
							    "in_sync")), 1);
	assert_null(json_object_get(o, "follow"));
	json_decref(o);
	assert_int_equal(fg_record_state_parse(&r.state, "timed-out"), 0);
	assert_int_equal(r.state, FG_RECORD_TIMED_OUT);
	assert_true(fg_record_is_final(r.state));
	assert_false(fg_record_is_final(FG_RECORD_QUEUED));
	assert_int_equal(fg_record_state_parse(&r.state, "done"), FG_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_and_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_commit_supersedes_unfinished, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_history_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branches_are_separate_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_names_itself, setup,
						teardown),
		cmocka_unit_test(test_failed_ids_bounded_and_unique),
		cmocka_unit_test(test_summary_and_json),
	};
	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
