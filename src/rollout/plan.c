#include "plan.h"
#include "buf.h"
#include "fleet.h"

#include <stdlib.h>
#include <string.h>

/* A sorted (key, position) index, so matching 100,000 devices against their
 * files stays O(n log n). */
struct slot {
	const char *key;
	size_t pos;
};

struct builder {
	const struct fg_plan_input *in;
	struct fg_plan *plan;
	struct slot *wants;     /* desired devices by id */
	struct slot *follows;   /* subscriptions by id */
	struct slot *scope;     /* config_scope by id; NULL: everything */
	unsigned char *matched; /* per desired device: seen in Mender */
	unsigned char *duplicate; /* per fact: a later copy of an earlier id */
	size_t alloc;           /* of plan->devices */
	struct fg_error *err;
};

static int slot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct slot *)a)->key, ((const struct slot *)b)->key);
}

/* Equal keys stay in input order, so the first of duplicates comes first. */
static int slot_order(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static size_t slot_find(const struct slot *idx, size_t n, const char *key)
{
	struct slot probe = { key, 0 };
	const struct slot *hit;

	if (!n)
		return FG_PLAN_NONE;
	hit = bsearch(&probe, idx, n, sizeof(*idx), slot_cmp);
	return hit ? hit->pos : FG_PLAN_NONE;
}

static const char *want_key(const void *base, size_t i)
{
	return ((const struct fg_plan_want *)base)[i].id;
}

static const char *follow_key(const void *base, size_t i)
{
	return ((const struct fg_plan_follow *)base)[i].id;
}

static const char *fact_key(const void *base, size_t i)
{
	return ((const struct fg_plan_fact *)base)[i].id;
}

static const char *string_key(const void *base, size_t i)
{
	return ((const char *const *)base)[i];
}

static struct slot *index_build(const void *base, size_t n,
				const char *(*key)(const void *, size_t))
{
	struct slot *idx = calloc(n ? n : 1, sizeof(*idx));
	size_t i;

	if (!idx)
		return NULL;
	for (i = 0; i < n; i++) {
		idx[i].key = key(base, i);
		idx[i].pos = i;
	}
	qsort(idx, n, sizeof(*idx), slot_order);
	return idx;
}

/* A search paged over a changing inventory can return a device twice;
 * planning it twice would put it twice into a deployment. */
static int mark_duplicates(struct builder *b)
{
	struct slot *idx = index_build(b->in->facts, b->in->nfacts, fact_key);
	size_t i;
	int rc = 0;

	if (!idx)
		return fg_error_oom(b->err);
	for (i = 1; !rc && i < b->in->nfacts; i++) {
		if (strcmp(idx[i].key, idx[i - 1].key))
			continue;
		b->duplicate[idx[i].pos] = 1;
		if (fg_diags_add(&b->plan->warnings, NULL, 0, 0, NULL, "duplicate-device",
				 NULL, "device '%s' appears more than once in Mender's answer; "
				 "planned once", idx[i].key) < 0)
			rc = fg_error_oom(b->err);
	}
	free(idx);
	return rc;
}

static int dup_into(char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = fg_strdup(s);
	return *dst ? 0 : FG_ENOMEM;
}

static int is_set(const char *s)
{
	return s && *s;
}

size_t fg_plan_json_string_size(const char *s)
{
	size_t n = 2;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* non-ASCII counts as \uXXXX per byte: an upper bound even
		 * for JSON_ENSURE_ASCII and surrogate pairs */
		if (c < 0x20 || c >= 0x7f)
			n += 6;
		else if (c == '"' || c == '\\' || c == '/')
			n += 2;
		else
			n += 1;
	}
	return n;
}

/* ---- subscribers ---- */

/* The branch device `id` follows (fg_fleet_device_branch: tag > device
 * file > default), the file and default read from the subscriptions
 * branch only; NULL when nothing subscribes it. */
static const char *resolve_branch(const struct builder *b, const char *id,
				  const char *tag, enum fg_plan_branch_source *src)
{
	const struct fg_plan_subscriptions *subs = b->in->subscriptions;
	const char *file = NULL, *branch;
	enum fg_fleet_branch_source from;
	size_t pos;

	if (subs) {
		pos = slot_find(b->follows, subs->ndevices, id);
		file = pos == FG_PLAN_NONE ? NULL : subs->devices[pos].branch;
	}
	branch = fg_fleet_device_branch(tag, file, subs ? subs->default_branch : NULL,
					&from);
	*src = from == FG_FLEET_BRANCH_TAG ? FG_PLAN_BRANCH_TAG :
	       from == FG_FLEET_BRANCH_FILE ? FG_PLAN_BRANCH_FILE : FG_PLAN_BRANCH_DEFAULT;
	return branch;
}

static struct fg_plan_device *add_device(struct builder *b)
{
	struct fg_plan *p = b->plan;
	struct fg_plan_device *dev;

	if (p->ndevices == b->alloc) {
		size_t alloc = b->alloc ? b->alloc * 2 : 64;

		dev = realloc(p->devices, alloc * sizeof(*dev));
		if (!dev)
			return NULL;
		p->devices = dev;
		b->alloc = alloc;
	}
	dev = &p->devices[p->ndevices++];
	memset(dev, 0, sizeof(*dev));
	dev->deployment = FG_PLAN_NONE;
	return dev;
}

static int fill_identity(struct fg_plan_device *dev, const struct fg_plan_fact *f,
			 const struct fg_plan_want *w)
{
	const char *name = w && is_set(w->name) ? w->name : f->name;

	dev->in_repo = w != NULL;
	if (dup_into(&dev->id, f->id) || dup_into(&dev->name, name) ||
	    dup_into(&dev->device_type, f->device_type) ||
	    dup_into(&dev->current_os, f->os_version))
		return FG_ENOMEM;
	return 0;
}

/* ---- OS ---- */

static const char *desired_image(const struct fg_plan_desired *d,
				 const struct fg_plan_want *w, const char *type)
{
	const char *image;

	if (w && is_set(w->os_image))
		return w->os_image;
	if (!type)
		return NULL;
	image = json_string_value(json_object_get(d->os_images, type));
	return is_set(image) ? image : NULL;
}

static int plan_os(struct fg_plan_device *dev, const struct fg_plan_fact *f,
		   const char *want_os)
{
	const struct fg_plan_active *same = NULL;
	int other = 0;
	size_t i;

	if (!want_os) {
		dev->os = FG_PLAN_OS_NO_IMAGE;
		return 0;
	}
	if (dup_into(&dev->desired_os, want_os))
		return FG_ENOMEM;
	for (i = 0; i < f->nactive; i++) {
		const struct fg_plan_active *a = &f->active[i];

		if (a->configuration)
			continue;
		if (a->artifact && !strcmp(a->artifact, want_os))
			same = same ? same : a;
		else
			other = 1;
	}
	/* Mender aborts per device, not per deployment: aborting the others
	 * would also cancel the one that already does our work. */
	if (same) {
		dev->os = FG_PLAN_OS_IN_PROGRESS;
		return dup_into(&dev->in_progress, same->id ? same->id : "?");
	}
	/* A pending deployment of another artifact would move even an in-sync
	 * device away from what the branch says. */
	dev->abort = other;
	if (f->os_version && !strcmp(f->os_version, want_os))
		dev->os = FG_PLAN_OS_IN_SYNC;
	else
		dev->os = FG_PLAN_OS_DEPLOY;
	return 0;
}

/* ---- configuration ---- */

static int keys_add(struct fg_plan_keys *k, const char *key)
{
	char **names = realloc(k->names, (k->count + 1) * sizeof(*names));

	if (!names)
		return FG_ENOMEM;
	k->names = names;
	if (dup_into(&k->names[k->count], key))
		return FG_ENOMEM;
	k->count++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void keys_sort(struct fg_plan_keys *k)
{
	if (k->count > 1)
		qsort(k->names, k->count, sizeof(*k->names), name_cmp);
}

static void keys_release(struct fg_plan_keys *k)
{
	size_t i;

	for (i = 0; i < k->count; i++)
		free(k->names[i]);
	free(k->names);
	k->names = NULL;
	k->count = 0;
}

/* Compares by key; the values are never copied out of the maps. */
static int diff_config(struct fg_plan_device *dev, json_t *want, json_t *have)
{
	const char *key;
	json_t *v;
	int rc = 0;

	json_object_foreach(want, key, v) {
		json_t *h = json_object_get(have, key);

		if (!h)
			rc = keys_add(&dev->added, key);
		else if (!json_equal(v, h))
			rc = keys_add(&dev->changed, key);
		if (rc)
			return rc;
	}
	json_object_foreach(have, key, v) {
		if (!json_object_get(want, key) && (rc = keys_add(&dev->removed, key)))
			return rc;
	}
	keys_sort(&dev->added);
	keys_sort(&dev->changed);
	keys_sort(&dev->removed);
	return 0;
}

/* What Mender has: `configured` is what was last put through deviceconfig,
 * so it is what we compare with. When it is empty the device was never
 * configured there, and what it reports is compared instead, so a device
 * already carrying the desired keys costs nothing. An empty desired map
 * against an empty configured map is in sync: there is nothing to put, and
 * keys a device reports on its own are not ours (comparing with them would
 * also repeat the put until the device reports back). */
static json_t *config_base(const struct fg_plan_fact *f, json_t *want)
{
	if (json_object_size(f->configured) > 0 || json_object_size(want) == 0)
		return f->configured;
	return f->reported;
}

static int check_strings(struct builder *b, const char *id, json_t *want)
{
	const char *key;
	json_t *v;

	if (want && !json_is_object(want))
		return fg_error_set(b->err, FG_EINVALID,
				    "desired configuration of '%s' is not a map", id);
	json_object_foreach(want, key, v) {
		if (!json_is_string(v))
			return fg_error_set(b->err, FG_EINVALID,
					    "configuration key '%s' of '%s' is not a string: "
					    "Mender stores strings only", key, id);
	}
	return 0;
}

static int has_config_deployment(const struct fg_plan_fact *f)
{
	size_t i;

	for (i = 0; i < f->nactive; i++)
		if (f->active[i].configuration)
			return 1;
	return 0;
}

static int in_scope(const struct builder *b, const char *id)
{
	return !b->scope ||
	       slot_find(b->scope, b->in->nconfig_scope, id) != FG_PLAN_NONE;
}

/* A configuration that needs a secret the branch may not resolve is not
 * sent at all: sent without it, the device would lose a working value. */
static int withhold_config(struct builder *b, struct fg_plan_device *dev,
			   const char *secret)
{
	dev->config = FG_PLAN_CONFIG_WITHHELD;
	return dup_into(&dev->withheld, secret) ? fg_error_oom(b->err) : 0;
}

static int plan_config(struct builder *b, struct fg_plan_device *dev,
		       const struct fg_plan_fact *f, json_t *want, const char *withheld)
{
	int rc = withheld ? 0 : check_strings(b, dev->id, want);

	if (rc || withheld)
		return rc ? rc : withhold_config(b, dev, withheld);
	/* DELETE .../deployments/devices/{id} cancels a pending configuration
	 * deployment too, and `configured` would still match: deploy again. */
	dev->config_redeploy = dev->abort && has_config_deployment(f);
	if (!in_scope(b, dev->id))
		dev->config = FG_PLAN_CONFIG_NOT_CHECKED;
	else if (!f->config_fetched)
		dev->config = FG_PLAN_CONFIG_NOT_FETCHED;
	else if (diff_config(dev, want, config_base(f, want)))
		return fg_error_oom(b->err);
	else if (dev->added.count || dev->changed.count || dev->removed.count)
		dev->config = FG_PLAN_CONFIG_DEPLOY;
	else
		dev->config = FG_PLAN_CONFIG_IN_SYNC;
	if (dev->config_redeploy)
		dev->config = FG_PLAN_CONFIG_DEPLOY;
	if (dev->config != FG_PLAN_CONFIG_DEPLOY)
		return 0;
	dev->configuration = want ? json_incref(want) : json_object();
	return dev->configuration ? 0 : fg_error_oom(b->err);
}

/* ---- per device ---- */

static int plan_device(struct builder *b, const struct fg_plan_fact *f)
{
	const struct fg_plan_desired *d = b->in->desired;
	const struct fg_plan_want *w = NULL;
	enum fg_plan_branch_source src;
	struct fg_plan_device *dev;
	const char *branch;
	size_t pos;
	int rc;

	pos = slot_find(b->wants, d->ndevices, f->id);
	if (pos != FG_PLAN_NONE) {
		w = &d->devices[pos];
		b->matched[pos] = 1;
	}
	branch = resolve_branch(b, f->id, f->tag_branch, &src);
	if (!branch || strcmp(branch, b->in->branch))
		return 0;
	dev = add_device(b);
	if (!dev)
		return fg_error_oom(b->err);
	dev->branch_source = src;
	rc = fill_identity(dev, f, w);
	if (!rc)
		rc = plan_os(dev, f, desired_image(d, w, f->device_type));
	if (rc)
		return fg_error_oom(b->err);
	if (w)
		return plan_config(b, dev, f, w->configuration, w->withheld);
	return plan_config(b, dev, f, d->configuration, d->withheld);
}

/* Only files that would follow this branch: the others are another
 * branch's business and would repeat on every rollout. */
static int warn_missing(struct builder *b)
{
	const struct fg_plan_desired *d = b->in->desired;
	size_t i;

	for (i = 0; i < d->ndevices; i++) {
		const struct fg_plan_want *w = &d->devices[i];
		enum fg_plan_branch_source src;
		const char *branch;

		if (b->matched[i])
			continue;
		branch = resolve_branch(b, w->id, NULL, &src);
		if (!branch || strcmp(branch, b->in->branch))
			continue;
		if (fg_diags_add(&b->plan->warnings, w->path, 0, 0, NULL,
				 "not-in-mender",
				 "enrol the device in Mender or remove its file",
				 "device '%s' follows '%s' but is not in Mender",
				 w->id, branch) < 0)
			return fg_error_oom(b->err);
	}
	return 0;
}

/* ---- deployments ---- */

struct pick {
	const char *artifact;
	size_t dev;
};

static int pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	int c = strcmp(x->artifact, y->artifact);

	if (c)
		return c;
	return x->dev < y->dev ? -1 : x->dev > y->dev;
}

static size_t utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* "fleetgate canary 3f2a1c0 [2/3] <artifact>": branch and commit first, so
 * a long artifact is what gets cut. */
static char *deployment_name(const struct fg_plan *p, const char *artifact,
			     size_t part, size_t parts)
{
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_printf(&b, "fleetgate %s %s ", p->branch, p->commit);
	if (parts > 1)
		fg_buf_printf(&b, "[%zu/%zu] ", part, parts);
	fg_buf_puts(&b, artifact);
	if (!b.failed && b.len > FG_PLAN_NAME_MAX) {
		fg_buf_truncate(&b, utf8_cut(b.ptr, FG_PLAN_NAME_MAX - 3));
		fg_buf_puts(&b, "...");
	}
	return fg_buf_detach(&b);
}

/* {"name": "...", "artifact_name": "...", "devices": ["id", ...]} with
 * jansson's separators; the name is inside the reserve. */
static size_t body_overhead(const char *artifact)
{
	return FG_PLAN_BODY_RESERVE + fg_plan_json_string_size(artifact) +
	       sizeof("{\"name\": , \"artifact_name\": , \"devices\": []}");
}

/* End of the part starting at picks[start] and its body size. */
static size_t next_cut(const struct fg_plan *p, const struct pick *picks,
		       size_t start, size_t end, size_t limit, size_t *bytes)
{
	size_t size = body_overhead(picks[start].artifact);
	size_t i;

	for (i = start; i < end; i++) {
		size_t one = fg_plan_json_string_size(p->devices[picks[i].dev].id) + 2;

		if (i > start && size + one > limit)
			break;
		size += one;
	}
	*bytes = size;
	return i;
}

static struct fg_plan_deployment *add_deployment(struct fg_plan *p, size_t *alloc)
{
	struct fg_plan_deployment *dep;

	if (p->ndeployments == *alloc) {
		size_t n = *alloc ? *alloc * 2 : 4;

		dep = realloc(p->deployments, n * sizeof(*dep));
		if (!dep)
			return NULL;
		p->deployments = dep;
		*alloc = n;
	}
	dep = &p->deployments[p->ndeployments++];
	memset(dep, 0, sizeof(*dep));
	return dep;
}

static int fill_deployment(struct fg_plan *p, struct fg_plan_deployment *dep,
			   const struct pick *picks, size_t n, size_t part,
			   size_t parts)
{
	size_t i;

	dep->name = deployment_name(p, picks[0].artifact, part, parts);
	dep->ids = calloc(n, sizeof(*dep->ids));
	if (!dep->name || dup_into(&dep->artifact, picks[0].artifact) || !dep->ids)
		return FG_ENOMEM;
	for (i = 0; i < n; i++) {
		dep->ids[i] = p->devices[picks[i].dev].id;
		p->devices[picks[i].dev].deployment = p->ndeployments - 1;
	}
	dep->count = n;
	return 0;
}

/* One artifact's devices: as few parts as the request limit allows. */
static int split_artifact(struct builder *b, const struct pick *picks,
			  size_t n, size_t *alloc)
{
	size_t limit = b->in->max_request ? b->in->max_request : FG_PLAN_MAX_REQUEST;
	struct fg_plan *p = b->plan;
	size_t parts = 0, part, at, end, bytes;

	for (at = 0; at < n; at = end, parts++) {
		end = next_cut(p, picks, at, n, limit, &bytes);
		if (bytes > limit)
			return fg_error_set(b->err, FG_ELIMIT,
					    "device id '%.64s' does not fit in a deployment request",
					    p->devices[picks[at].dev].id);
	}
	for (at = 0, part = 1; at < n; at = end, part++) {
		struct fg_plan_deployment *dep = add_deployment(p, alloc);

		end = next_cut(p, picks, at, n, limit, &bytes);
		if (!dep || fill_deployment(p, dep, picks + at, end - at, part, parts))
			return fg_error_oom(b->err);
		dep->body_bytes = bytes;
	}
	return 0;
}

static int group_deployments(struct builder *b)
{
	struct fg_plan *p = b->plan;
	struct pick *picks = calloc(p->ndevices ? p->ndevices : 1, sizeof(*picks));
	size_t n = 0, i, start, alloc = 0;
	int rc = 0;

	if (!picks)
		return fg_error_oom(b->err);
	for (i = 0; i < p->ndevices; i++) {
		if (p->devices[i].os != FG_PLAN_OS_DEPLOY)
			continue;
		picks[n].artifact = p->devices[i].desired_os;
		picks[n++].dev = i;
	}
	qsort(picks, n, sizeof(*picks), pick_cmp);
	for (start = 0; start < n && !rc; start = i) {
		for (i = start + 1; i < n; i++)
			if (strcmp(picks[i].artifact, picks[start].artifact))
				break;
		rc = split_artifact(b, picks + start, i - start, &alloc);
	}
	free(picks);
	return rc;
}

/* ---- action lists and totals ---- */

static void count_device(struct fg_plan_totals *t, const struct fg_plan_device *dev)
{
	size_t *os[] = {
		[FG_PLAN_OS_IN_SYNC] = &t->os_in_sync,
		[FG_PLAN_OS_DEPLOY] = &t->os_deploy,
		[FG_PLAN_OS_IN_PROGRESS] = &t->os_in_progress,
		[FG_PLAN_OS_NO_IMAGE] = &t->os_no_image,
	};
	size_t *config[] = {
		[FG_PLAN_CONFIG_IN_SYNC] = &t->config_in_sync,
		[FG_PLAN_CONFIG_DEPLOY] = &t->config_deploy,
		[FG_PLAN_CONFIG_NOT_CHECKED] = &t->config_not_checked,
		[FG_PLAN_CONFIG_NOT_FETCHED] = &t->config_not_fetched,
		[FG_PLAN_CONFIG_WITHHELD] = &t->config_withheld,
	};

	(*os[dev->os])++;
	(*config[dev->config])++;
	t->subscribers++;
	t->not_in_repo += !dev->in_repo;
	t->aborts += dev->abort != 0;
}

static int collect_actions(struct builder *b)
{
	struct fg_plan *p = b->plan;
	size_t i, n = p->ndevices ? p->ndevices : 1;

	p->totals.mender_devices = b->in->nfacts;
	for (i = 0; i < p->ndevices; i++)
		count_device(&p->totals, &p->devices[i]);
	p->aborts = calloc(n, sizeof(*p->aborts));
	p->configs = calloc(n, sizeof(*p->configs));
	if (!p->aborts || !p->configs)
		return fg_error_oom(b->err);
	for (i = 0; i < p->ndevices; i++) {
		if (p->devices[i].abort)
			p->aborts[p->naborts++] = i;
		if (p->devices[i].config == FG_PLAN_CONFIG_DEPLOY)
			p->configs[p->nconfigs++] = i;
	}
	return 0;
}

/* ---- entry points ---- */

/* Length of the UTF-8 sequence at s, 0 if it is not one: no overlong
 * forms, no surrogates, nothing past U+10FFFF (jansson's own rules). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = *s < 0x80 ? 1 : *s < 0xC2 ? 0 : *s < 0xE0 ? 2 : *s < 0xF0 ? 3 :
		   *s < 0xF5 ? 4 : 0;
	unsigned long cp = n == 2 ? *s & 0x1Fu : n == 3 ? *s & 0x0Fu : *s & 0x07u;
	size_t i;

	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

static int is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 1;

	while (p && *p && (n = utf8_len(p)))
		p += n;
	return n != 0;
}

/* Every string the plan copies ends up in the JSON report, which can only
 * carry UTF-8 (Mender's JSON and the YAML loader guarantee it). */
static int check_strings_utf8(const char *const *strings, size_t n,
			      const char *what, size_t index, struct fg_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_utf8(strings[i]))
			return fg_error_set(err, FG_EINVALID,
					    "%s %zu has a string that is not UTF-8", what, index);
	return 0;
}

static int check_fact(const struct fg_plan_fact *f, size_t i, struct fg_error *err)
{
	const char *strings[] = { f->id, f->name, f->device_type, f->os_version };
	size_t j;
	int rc;

	if (!is_set(f->id))
		return fg_error_set(err, FG_EINVALID, "device %zu from Mender has no id", i);
	rc = check_strings_utf8(strings, 4, "device from Mender", i, err);
	for (j = 0; !rc && j < f->nactive; j++)
		rc = check_strings_utf8(&f->active[j].id, 1, "device from Mender", i, err);
	return rc;
}

static int check_want(const struct fg_plan_want *w, size_t i, struct fg_error *err)
{
	const char *strings[] = { w->id, w->path, w->name, w->os_image, w->withheld };

	if (!is_set(w->id))
		return fg_error_set(err, FG_EINVALID, "device file %zu has no id", i);
	return check_strings_utf8(strings, 5, "device file", i, err);
}

static int check_follows(const struct fg_plan_subscriptions *subs, struct fg_error *err)
{
	size_t i;

	for (i = 0; subs && i < subs->ndevices; i++)
		if (!is_set(subs->devices[i].id))
			return fg_error_set(err, FG_EINVALID, "subscription %zu has no "
					    "device id", i);
	return 0;
}

static int check_input(const struct fg_plan_input *in, struct fg_error *err)
{
	size_t i;
	int rc = 0;

	if (!in || !is_set(in->branch) || !is_set(in->commit) || !in->desired)
		return fg_error_set(err, FG_EINVALID,
				    "plan input needs a branch, a commit and a desired state");
	if (!is_utf8(in->branch) || !is_utf8(in->commit) ||
	    (in->desired->withheld && !is_utf8(in->desired->withheld)))
		return fg_error_set(err, FG_EINVALID, "branch or commit is not UTF-8");
	rc = check_follows(in->subscriptions, err);
	for (i = 0; !rc && i < in->nfacts; i++)
		rc = check_fact(&in->facts[i], i, err);
	for (i = 0; !rc && i < in->desired->ndevices; i++)
		rc = check_want(&in->desired->devices[i], i, err);
	return rc;
}

static int builder_init(struct builder *b, const struct fg_plan_input *in,
			struct fg_error *err)
{
	memset(b, 0, sizeof(*b));
	b->in = in;
	b->err = err;
	b->plan = calloc(1, sizeof(*b->plan));
	if (!b->plan)
		return fg_error_oom(err);
	if (dup_into(&b->plan->branch, in->branch) ||
	    dup_into(&b->plan->commit, in->commit))
		return fg_error_oom(err);
	b->wants = index_build(in->desired->devices, in->desired->ndevices, want_key);
	b->follows = in->subscriptions ?
		index_build(in->subscriptions->devices, in->subscriptions->ndevices,
			    follow_key) : calloc(1, sizeof(*b->follows));
	b->matched = calloc(in->desired->ndevices + 1, 1);
	b->duplicate = calloc(in->nfacts + 1, 1);
	if (in->config_scope)
		b->scope = index_build(in->config_scope, in->nconfig_scope, string_key);
	if (!b->wants || !b->follows || !b->matched || !b->duplicate ||
	    (in->config_scope && !b->scope))
		return fg_error_oom(err);
	return mark_duplicates(b);
}

int fg_plan_build(struct fg_plan **out, const struct fg_plan_input *in,
		  struct fg_error *err)
{
	struct builder b;
	size_t i;
	int rc;

	*out = NULL;
	rc = check_input(in, err);
	if (rc)
		return rc;
	rc = builder_init(&b, in, err);
	for (i = 0; !rc && i < in->nfacts; i++)
		rc = b.duplicate[i] ? 0 : plan_device(&b, &in->facts[i]);
	if (!rc)
		rc = warn_missing(&b);
	if (!rc)
		rc = group_deployments(&b);
	if (!rc)
		rc = collect_actions(&b);
	free(b.wants);
	free(b.follows);
	free(b.scope);
	free(b.matched);
	free(b.duplicate);
	if (rc) {
		fg_plan_free(b.plan);
		return rc;
	}
	*out = b.plan;
	return 0;
}

int fg_plan_is_empty(const struct fg_plan *plan)
{
	return !plan->ndeployments && !plan->naborts && !plan->nconfigs;
}

static void device_release(struct fg_plan_device *dev)
{
	free(dev->id);
	free(dev->name);
	free(dev->device_type);
	free(dev->current_os);
	free(dev->desired_os);
	free(dev->in_progress);
	keys_release(&dev->added);
	keys_release(&dev->changed);
	keys_release(&dev->removed);
	json_decref(dev->configuration);
	free(dev->withheld);
}

void fg_plan_free(struct fg_plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->ndevices; i++)
		device_release(&plan->devices[i]);
	for (i = 0; i < plan->ndeployments; i++) {
		free(plan->deployments[i].name);
		free(plan->deployments[i].artifact);
		free(plan->deployments[i].ids);
	}
	free(plan->devices);
	free(plan->deployments);
	free(plan->aborts);
	free(plan->configs);
	fg_diags_release(&plan->warnings);
	free(plan->branch);
	free(plan->commit);
	free(plan);
}
