/* The record of a rollout when its deployments are scheduled: the device
 * counts of the plan and what the follower (rollout_follow.c) polls. */
#include "rollout_int.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record.h"

/* The id of the active deployment Mender already had (a 409 on create):
 * same name and artifact. NULL when it is not among the active ones. */
static const char *existing_id(const struct fg_mender_deployments *active,
			       const char *name, const char *artifact)
{
	size_t i;

	for (i = 0; i < active->count; i++) {
		const struct fg_mender_deployment *d = &active->items[i];

		if (d->name && d->artifact_name && !strcmp(d->name, name) &&
		    !strcmp(d->artifact_name, artifact))
			return d->id;
	}
	return NULL;
}

/* Adds n devices of deployment id to the follow list (once per id). */
static int follow_deployment(json_t *list, const char *id, size_t n)
{
	size_t i;
	json_t *d;

	json_array_foreach(list, i, d)
		if (!strcmp(json_string_value(json_object_get(d, "id")), id))
			return json_object_set_new(d, "devices", json_integer(
				json_integer_value(json_object_get(d, "devices")) +
				(json_int_t)n));
	return json_array_append_new(list, json_pack("{s:s, s:I, s:i, s:i, s:b}", "id", id,
						     "devices", (json_int_t)n, "ok", 0,
						     "bad", 0, "done", 0));
}

/* The OS deployments: the ones created (or found existing) and the active
 * ones the plan left devices in (FG_PLAN_OS_IN_PROGRESS). */
static int os_deployments(json_t *list, const struct fg_rollout_record_in *in)
{
	const struct fg_plan *p = in->plan;
	size_t i;
	json_t *d;

	json_array_foreach(in->deployments, i, d) {
		const char *id = json_string_value(json_object_get(d, "id"));

		if (!id)
			id = existing_id(in->active,
					 json_string_value(json_object_get(d, "name")),
					 json_string_value(json_object_get(d, "artifact")));
		if (id && follow_deployment(list, id, (size_t)json_integer_value(
				json_object_get(d, "devices"))) < 0)
			return FG_ENOMEM;
	}
	for (i = 0; i < p->ndevices; i++)
		if (p->devices[i].os == FG_PLAN_OS_IN_PROGRESS && p->devices[i].in_progress &&
		    follow_deployment(list, p->devices[i].in_progress, 1) < 0)
			return FG_ENOMEM;
	return 0;
}

static bool os_work(const struct fg_plan_device *dev)
{
	return dev->os == FG_PLAN_OS_DEPLOY || dev->os == FG_PLAN_OS_IN_PROGRESS;
}

/* Counts the devices and fills the follower's lists of configurations
 * that must be reported. */
static int count_devices(struct fg_record *rec, const struct fg_plan *p,
			 json_t *follow)
{
	json_t *only = json_object_get(follow, "config_only");
	json_t *with_os = json_object_get(follow, "config_with_os");
	size_t i, work = 0, withheld = 0;

	for (i = 0; i < p->ndevices; i++) {
		const struct fg_plan_device *dev = &p->devices[i];
		bool config = dev->config == FG_PLAN_CONFIG_DEPLOY;

		/* a withheld configuration (policy secrets) never reaches the
		 * device: it cannot be at C, so it counts failed */
		if (dev->config == FG_PLAN_CONFIG_WITHHELD) {
			withheld++;
			if (fg_record_add_failed(rec, dev->id) < 0)
				return FG_ENOMEM;
			continue;
		}
		if (!os_work(dev) && !config)
			continue;
		work++;
		if (config && json_array_append_new(os_work(dev) ? with_os : only,
						    json_string(dev->id)) < 0)
			return FG_ENOMEM;
	}
	rec->devices.following = p->ndevices;
	rec->devices.in_sync = p->ndevices - work - withheld;
	rec->devices.failed = withheld;
	rec->devices.pending = work;
	return json_object_set_new(follow, "work", json_integer((json_int_t)work)) < 0 ||
	       json_object_set_new(follow, "withheld", json_integer((json_int_t)withheld)) < 0 ||
	       json_object_set_new(follow, "config_only_total",
				   json_integer((json_int_t)json_array_size(only))) < 0
		? FG_ENOMEM : 0;
}

static int fill(struct fg_record *rec, const struct fg_rollout_record_in *in)
{
	json_t *follow = json_pack("{s:[], s:[], s:[], s:I, s:i}", "deployments",
				   "config_only", "config_with_os", "timeout_at",
				   (json_int_t)(in->now + in->timeout), "polls", 0);
	size_t i;
	json_t *d;
	int rc;

	if (!follow)
		return FG_ENOMEM;
	rec->follow = follow;
	if ((rc = os_deployments(json_object_get(follow, "deployments"), in)) < 0 ||
	    (rc = count_devices(rec, in->plan, follow)) < 0)
		return rc;
	json_array_foreach(json_object_get(follow, "deployments"), i, d)
		if (fg_record_add_deployment(rec, json_string_value(
				json_object_get(d, "id"))) < 0)
			return FG_ENOMEM;
	if (rec->devices.pending == 0) {
		/* nothing scheduled: every device already has its outcome */
		rec->state = rec->devices.failed ? FG_RECORD_FAILED : FG_RECORD_SUCCEEDED;
		rec->finished = in->now;
		json_decref(rec->follow);
		rec->follow = NULL;
	}
	return 0;
}

/* The notes of the records this one superseded say so too. */
static void note_superseded(const struct fg_rollout_record_in *in)
{
	struct fg_record_history h;
	size_t i;

	if (fg_record_load(&h, in->state_dir, in->branch, NULL) < 0)
		return;
	for (i = 0; i < h.count; i++)
		if (h.items[i].state == FG_RECORD_SUPERSEDED && h.items[i].finished == in->now)
			fg_rollout_note_warn(in->git_dir, in->state_dir, in->branch, &h.items[i]);
	fg_record_history_release(&h);
}

int fg_rollout_record_begin(const struct fg_rollout_record_in *in, bool *follow,
			    struct fg_error *err)
{
	struct fg_record rec = { 0 };
	int rc;

	*follow = false;
	rec.commit = fg_strdup(in->commit);
	rec.tree = fg_strdup(in->tree);
	rec.state = FG_RECORD_IN_PROGRESS;
	rec.started = in->now;
	if (!rec.commit || !rec.tree || fill(&rec, in) < 0) {
		rc = fg_error_oom(err);
		goto out;
	}
	if ((rc = fg_record_save(in->state_dir, in->branch, &rec, in->now, err)) == 0) {
		*follow = !fg_record_is_final(rec.state);
		fg_rollout_note_warn(in->git_dir, in->state_dir, in->branch, &rec);
		note_superseded(in);
	}
out:
	fg_record_release(&rec);
	return rc;
}
