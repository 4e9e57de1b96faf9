/* Following a scheduled rollout until every device has an outcome: one
 * statistics request per unfinished OS deployment per poll, per-device
 * lists only for deployments with new failures, and the deviceconfig of
 * the devices whose configuration is not reported yet. */
#include "rollout.h"
#include "rollout_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "record.h"

#define POLL_FIRST 10  /* seconds after the first poll */
#define POLL_MAX 300   /* backoff cap: a 24 h rollout costs ~300 polls */

struct follow {
	struct fg_mender *m;
	struct fg_record *rec; /* the newest record, in h */
	json_t *f;             /* rec->follow */
	struct fg_error poll_err; /* the first failed call of this poll */
};

char *fg_rollout_state_dir(const char *git_dir, const char *state_dir)
{
	char abs[PATH_MAX];

	if (state_dir)
		return fg_strdup(state_dir);
	if (!realpath(git_dir, abs))
		return NULL;
	return fg_asprintf("%s/fleetgate", abs);
}

static void call_failed(struct follow *fw, const struct fg_error *e)
{
	if (!fw->poll_err.code)
		fw->poll_err = *e;
}

static size_t member(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (size_t)v : 0;
}

/* The ids of the deployment's failed devices, into the record (bounded):
 * asked only when its failures grew, one list per failure status. */
static void failed_ids(struct follow *fw, const char *id, const struct fg_mender_stats *s)
{
	static const char *const statuses[] = { "failure", "noartifact", "aborted" };
	const long long counts[] = { s->failure, s->noartifact, s->aborted };
	struct fg_error e = FG_ERROR_INIT;
	size_t i, j;

	for (i = 0; i < 3; i++) {
		struct fg_mender_ids ids = FG_MENDER_IDS_INIT;

		if (!counts[i] || fw->rec->nfailed_devices >= FG_RECORD_FAILED_MAX)
			continue;
		if (fg_mender_deployment_device_ids(fw->m, id, statuses[i], &ids, &e) < 0)
			call_failed(fw, &e);
		for (j = 0; j < ids.count; j++)
			fg_record_add_failed(fw->rec, ids.items[j]);
		fg_mender_ids_release(&ids);
	}
}

static void poll_deployment(struct follow *fw, json_t *d)
{
	const char *id = json_string_value(json_object_get(d, "id"));
	struct fg_mender_stats s;
	struct fg_error e = FG_ERROR_INIT;
	size_t n = member(d, "devices"), ok, bad;

	if (json_is_true(json_object_get(d, "done")) || !id)
		return;
	if (fg_mender_deployment_stats(fw->m, id, &s, &e) < 0) {
		call_failed(fw, &e);
		return;
	}
	/* a deployment fleetgate found in progress may hold other devices:
	 * never count more than ours */
	ok = (size_t)(s.success + s.already_installed);
	bad = (size_t)(s.failure + s.noartifact + s.aborted);
	ok = ok > n ? n : ok;
	bad = bad > n - ok ? n - ok : bad;
	if (bad > member(d, "bad"))
		failed_ids(fw, id, &s);
	json_object_set_new(d, "ok", json_integer((json_int_t)ok));
	json_object_set_new(d, "bad", json_integer((json_int_t)bad));
	json_object_set_new(d, "done", json_boolean(
		s.pending + s.downloading + s.installing + s.rebooting == 0));
}

/* A configuration has arrived when the device reports what is configured. */
static int config_seen(void *ctx, size_t index, int rc, json_t *configured,
		       json_t *reported, const struct fg_error *err)
{
	struct follow *fw = ctx;

	if (rc < 0) {
		call_failed(fw, err);
		return 0;
	}
	if (json_equal(configured, reported))
		json_array_set_new(json_object_get(fw->f, "_seen"), index, json_true());
	return 0;
}

/* Drops from follow[key] the devices whose configuration was reported. */
static int poll_configs(struct follow *fw, const char *key)
{
	json_t *list = json_object_get(fw->f, key), *seen, *left;
	size_t i, n = json_array_size(list);
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	struct fg_error e = FG_ERROR_INIT;
	int rc = 0;

	seen = json_array();
	left = json_array();
	if (!ids || !seen || !left || json_object_set(fw->f, "_seen", seen) < 0) {
		rc = FG_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		ids[i] = json_string_value(json_array_get(list, i));
		json_array_append_new(seen, json_false());
	}
	if (n && fg_mender_config_get_many(fw->m, ids, n, config_seen, fw, &e) < 0)
		call_failed(fw, &e);
	for (i = 0; i < n; i++)
		if (!json_is_true(json_array_get(seen, i)))
			json_array_append(left, json_array_get(list, i));
	rc = json_object_set(fw->f, key, left) < 0 ? FG_ENOMEM : 0;
out:
	json_object_del(fw->f, "_seen");
	json_decref(seen);
	json_decref(left);
	free(ids);
	return rc;
}

/* The device counts from what the polls saw; true when every device has
 * its outcome. A device with an OS and a configuration change counts
 * succeeded only once its configuration is reported too. */
static bool count(struct follow *fw)
{
	struct fg_record_devices *c = &fw->rec->devices;
	size_t i, ok = 0, bad = 0, work = member(fw->f, "work");
	size_t with_os = json_array_size(json_object_get(fw->f, "config_with_os"));
	size_t only_left = json_array_size(json_object_get(fw->f, "config_only"));
	size_t only_total = member(fw->f, "config_only_total");
	bool done = with_os == 0 && only_left == 0;
	json_t *d;

	json_array_foreach(json_object_get(fw->f, "deployments"), i, d) {
		ok += member(d, "ok");
		bad += member(d, "bad");
		done = done && json_is_true(json_object_get(d, "done"));
	}
	c->succeeded = ok - (with_os < ok ? with_os : ok) +
		       (only_total > only_left ? only_total - only_left : 0);
	c->succeeded = c->succeeded > work ? work : c->succeeded;
	bad = bad > work - c->succeeded ? work - c->succeeded : bad;
	c->failed = bad + member(fw->f, "withheld");
	c->pending = work - c->succeeded - bad;
	return done;
}

static time_t next_delay(size_t polls)
{
	time_t d = POLL_FIRST;

	while (polls-- > 1 && d < POLL_MAX)
		d *= 2;
	return d > POLL_MAX ? POLL_MAX : d;
}

/* One poll of every unfinished part; then the record's new state. */
static int poll(struct follow *fw, time_t now, time_t *next_poll)
{
	struct fg_record *rec = fw->rec;
	size_t i, polls = member(fw->f, "polls") + 1;
	json_t *d;
	int rc;

	json_array_foreach(json_object_get(fw->f, "deployments"), i, d)
		poll_deployment(fw, d);
	if ((rc = poll_configs(fw, "config_only")) < 0 ||
	    (rc = poll_configs(fw, "config_with_os")) < 0)
		return rc;
	free(rec->last_error);
	rec->last_error = fw->poll_err.code ? fg_strdup(fw->poll_err.message) : NULL;
	if (count(fw) && !fw->poll_err.code)
		rec->state = rec->devices.failed ? FG_RECORD_FAILED : FG_RECORD_SUCCEEDED;
	else if (now >= (time_t)member(fw->f, "timeout_at"))
		rec->state = FG_RECORD_TIMED_OUT;
	if (fg_record_is_final(rec->state)) {
		rec->finished = now;
		json_decref(rec->follow);
		rec->follow = fw->f = NULL;
		return 0;
	}
	*next_poll = now + next_delay(polls);
	return json_object_set_new(fw->f, "polls", json_integer((json_int_t)polls)) < 0
		? FG_ENOMEM : 0;
}

int fg_rollout_follow(const struct fg_rollout_options *o, enum fg_record_state *state,
		      time_t *next_poll, struct fg_error *err)
{
	struct fg_record_history h = { 0 };
	struct follow fw = { 0 };
	char *dir = fg_rollout_state_dir(o->git_dir, o->state_dir);
	time_t now = time(NULL);
	int rc;

	*state = FG_RECORD_SUPERSEDED;
	*next_poll = 0;
	if (!dir)
		return fg_error_set(err, FG_ENOTFOUND, "no repository at '%s'", o->git_dir);
	if ((rc = fg_record_load(&h, dir, o->branch, err)) < 0)
		goto out;
	fw.rec = h.count ? &h.items[h.count - 1] : NULL;
	if (!fw.rec || !o->rev || strcmp(fw.rec->commit, o->rev))
		goto out; /* a newer rollout of the branch took over */
	*state = fw.rec->state;
	if (fg_record_is_final(fw.rec->state))
		goto out; /* a worker died between the record and the job file */
	if (!(fw.f = fw.rec->follow)) {
		rc = fg_error_set(err, FG_EINVALID, "the rollout record of '%s' at %.12s "
				  "has nothing to follow", o->branch, o->rev);
		goto out;
	}
	if ((rc = fg_rollout_mender_open(&fw.m, o, -1, err)) < 0 ||
	    (rc = poll(&fw, now, next_poll)) < 0 ||
	    (rc = fg_record_save(dir, o->branch, fw.rec, now, err)) < 0)
		goto out;
	*state = fw.rec->state;
	fg_rollout_note_warn(o->git_dir, dir, o->branch, fw.rec);
out:
	if (rc == FG_ENOMEM)
		fg_error_oom(err);
	fg_rollout_mender_close(fw.m);
	fg_record_history_release(&h);
	free(dir);
	return rc;
}
