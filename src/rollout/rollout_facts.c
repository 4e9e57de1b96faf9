/* What Mender says: devices, their active deployments and, for the devices
 * in the configuration scope, their deviceconfig maps. The cost is a page
 * per 500 devices and per 500 devices of an active deployment, plus one GET
 * per device in the configuration scope. */
#include "rollout_int.h"

#include <stdlib.h>
#include <string.h>

static int fact_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fg_plan_fact *)a)->id,
		      ((const struct fg_plan_fact *)b)->id);
}

int fg_rollout_facts_devices(struct fg_rollout_facts *f, struct fg_mender *m,
			     struct fg_error *err)
{
	size_t i;
	int rc = fg_mender_search_devices(m, &f->devices, err);

	if (rc < 0)
		return rc;
	f->items = calloc(f->devices.count ? f->devices.count : 1, sizeof(*f->items));
	if (!f->items)
		return fg_error_oom(err);
	for (i = 0; i < f->devices.count; i++) {
		const struct fg_mender_device *d = &f->devices.items[i];
		struct fg_plan_fact *x = &f->items[i];

		x->id = d->id;
		x->device_type = d->device_type;
		x->os_version = d->os;
		x->tag_branch = d->branch;
		x->name = d->name;
	}
	f->count = f->devices.count;
	/* Sorted, so every deployment lists its devices in the same order and
	 * Mender's 409 for an identical request finds a repeated one. */
	if (f->count)
		qsort(f->items, f->count, sizeof(*f->items), fact_cmp);
	return 0;
}

size_t fg_rollout_facts_find(const struct fg_rollout_facts *f, const char *id)
{
	struct fg_plan_fact key = { 0 };
	const struct fg_plan_fact *hit;

	key.id = id;
	hit = f->count ? bsearch(&key, f->items, f->count, sizeof(key), fact_cmp) : NULL;
	return hit ? (size_t)(hit - f->items) : (size_t)-1;
}

static int is_config(const struct fg_mender_deployment *d)
{
	return d->type && !strcmp(d->type, "configuration");
}

int fg_rollout_facts_has_config_deployments(const struct fg_rollout_facts *f)
{
	size_t i;

	for (i = 0; i < f->active.count; i++)
		if (is_config(&f->active.items[i]))
			return 1;
	return 0;
}

static int add_pair(struct fg_rollout_facts *f, size_t fact, size_t dep)
{
	if (f->npairs == f->pairs_alloc) {
		size_t n = f->pairs_alloc ? f->pairs_alloc * 2 : 64;
		void *p = realloc(f->pairs, n * sizeof(*f->pairs));

		if (!p)
			return FG_ENOMEM;
		f->pairs = p;
		f->pairs_alloc = n;
	}
	f->pairs[f->npairs].fact = fact;
	f->pairs[f->npairs++].dep = dep;
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct fg_rollout_pair *x = a, *y = b;

	if (x->fact != y->fact)
		return x->fact < y->fact ? -1 : 1;
	return x->dep < y->dep ? -1 : x->dep > y->dep;
}

/* Rebuilds every fact's active list from the pairs. */
static int attach(struct fg_rollout_facts *f, struct fg_error *err)
{
	size_t i;

	if (f->npairs)
		qsort(f->pairs, f->npairs, sizeof(*f->pairs), pair_cmp);
	free(f->actives);
	f->actives = calloc(f->npairs ? f->npairs : 1, sizeof(*f->actives));
	if (!f->actives)
		return fg_error_oom(err);
	for (i = 0; i < f->count; i++) {
		f->items[i].active = NULL;
		f->items[i].nactive = 0;
	}
	for (i = 0; i < f->npairs; i++) {
		const struct fg_mender_deployment *d = &f->active.items[f->pairs[i].dep];
		struct fg_plan_fact *x = &f->items[f->pairs[i].fact];

		f->actives[i].id = d->id;
		f->actives[i].artifact = d->artifact_name;
		f->actives[i].configuration = is_config(d);
		if (!x->active)
			x->active = &f->actives[i];
		x->nactive++;
	}
	return 0;
}

static int deployment_devices(struct fg_rollout_facts *f, struct fg_mender *m,
			      size_t dep, struct fg_error *err)
{
	struct fg_mender_ids ids = FG_MENDER_IDS_INIT;
	size_t i, k;
	int rc = fg_mender_deployment_device_ids(m, f->active.items[dep].id, "active",
						 &ids, err);

	for (i = 0; rc == 0 && i < ids.count; i++)
		if ((k = fg_rollout_facts_find(f, ids.items[i])) != (size_t)-1 &&
		    add_pair(f, k, dep) < 0)
			rc = fg_error_oom(err);
	fg_mender_ids_release(&ids);
	return rc;
}

int fg_rollout_facts_active(struct fg_rollout_facts *f, struct fg_mender *m,
			    int configuration, struct fg_error *err)
{
	size_t i;
	int rc = 0;

	if (!configuration && (rc = fg_mender_list_active_deployments(m, &f->active, err)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < f->active.count; i++)
		if (is_config(&f->active.items[i]) == configuration)
			rc = deployment_devices(f, m, i, err);
	return rc == 0 ? attach(f, err) : rc;
}

struct config_ctx {
	struct fg_rollout_facts *f;
	const size_t *idx;
	size_t *failed;
	struct fg_error *first;
};

static int config_done(void *ctx, size_t index, int rc, json_t *configured,
		       json_t *reported, const struct fg_error *err)
{
	struct config_ctx *c = ctx;
	struct fg_plan_fact *x = &c->f->items[c->idx[index]];

	if (rc < 0) {
		if ((*c->failed)++ == 0 && c->first)
			*c->first = *err;
		return 0;
	}
	x->configured = json_incref(configured);
	x->reported = json_incref(reported);
	x->config_fetched = 1;
	return 0;
}

int fg_rollout_facts_config(struct fg_rollout_facts *f, struct fg_mender *m,
			    const size_t *idx, size_t n, size_t *failed,
			    struct fg_error *first, struct fg_error *err)
{
	struct config_ctx c = { f, idx, failed, first };
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	size_t i;
	int rc;

	if (!ids)
		return fg_error_oom(err);
	for (i = 0; i < n; i++)
		ids[i] = f->items[idx[i]].id;
	rc = fg_mender_config_get_many(m, ids, n, config_done, &c, err);
	free(ids);
	return rc;
}

void fg_rollout_facts_release(struct fg_rollout_facts *f)
{
	size_t i;

	for (i = 0; i < f->count; i++) {
		json_decref(f->items[i].configured);
		json_decref(f->items[i].reported);
	}
	free(f->items);
	free(f->pairs);
	free(f->actives);
	fg_mender_devices_release(&f->devices);
	fg_mender_deployments_release(&f->active);
	memset(f, 0, sizeof(*f));
}
