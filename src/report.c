#include "report.h"

#include <stdlib.h>
#include <string.h>

enum { COL_DEVICE, COL_NAME, COL_BRANCH, COL_OS, COL_CONFIG, COL_ACTION, NCOLS };

static const char *const headers[NCOLS] = {
	"DEVICE", "NAME", "BRANCH", "OS", "CONFIGURATION", "ACTION"
};

static const char *const branch_sources[] = {
	[FG_PLAN_BRANCH_TAG] = "tag",
	[FG_PLAN_BRANCH_FILE] = "file",
	[FG_PLAN_BRANCH_DEFAULT] = "default",
};

static const char *const os_actions[] = {
	[FG_PLAN_OS_IN_SYNC] = "in-sync",
	[FG_PLAN_OS_DEPLOY] = "deploy",
	[FG_PLAN_OS_IN_PROGRESS] = "in-progress",
	[FG_PLAN_OS_NO_IMAGE] = "no-image",
};

static const char *const config_actions[] = {
	[FG_PLAN_CONFIG_IN_SYNC] = "in-sync",
	[FG_PLAN_CONFIG_DEPLOY] = "deploy",
	[FG_PLAN_CONFIG_NOT_CHECKED] = "not-checked",
	[FG_PLAN_CONFIG_NOT_FETCHED] = "not-fetched",
};

/* Device names and ids come from Mender and pushes: keep them from
 * driving the terminal. */
static void put_safe(struct fg_buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		fg_buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

/* ---- the reasons, shared by text and JSON ---- */

static void os_reason(struct fg_buf *b, const struct fg_plan *p,
		      const struct fg_plan_device *dev)
{
	switch (dev->os) {
	case FG_PLAN_OS_DEPLOY:
		fg_buf_puts(b, "scheduled in '");
		put_safe(b, p->deployments[dev->deployment].name);
		fg_buf_puts(b, "'");
		break;
	case FG_PLAN_OS_IN_PROGRESS:
		fg_buf_puts(b, "skipped: deployment already in progress (");
		put_safe(b, dev->in_progress);
		fg_buf_puts(b, ")");
		break;
	case FG_PLAN_OS_NO_IMAGE:
		if (!dev->device_type) {
			fg_buf_puts(b, "skipped: Mender reports no device type");
			break;
		}
		fg_buf_puts(b, "skipped: no image for device type ");
		put_safe(b, dev->device_type);
		break;
	case FG_PLAN_OS_IN_SYNC:
		fg_buf_puts(b, "in sync");
		break;
	}
}

static void config_reason(struct fg_buf *b, const struct fg_plan_device *dev)
{
	static const char *const reasons[] = {
		[FG_PLAN_CONFIG_IN_SYNC] = "in sync",
		[FG_PLAN_CONFIG_DEPLOY] = "scheduled",
		[FG_PLAN_CONFIG_NOT_CHECKED] = "not checked: unchanged since the last rollout",
		[FG_PLAN_CONFIG_NOT_FETCHED] = "skipped: configuration not fetched from Mender",
	};

	fg_buf_puts(b, reasons[dev->config]);
	if (dev->config_redeploy)
		fg_buf_puts(b, " (again: the abort cancels its pending configuration deployment)");
}

static int has_news(const struct fg_plan_device *dev)
{
	return dev->os != FG_PLAN_OS_IN_SYNC || dev->abort ||
	       dev->config == FG_PLAN_CONFIG_DEPLOY ||
	       dev->config == FG_PLAN_CONFIG_NOT_FETCHED;
}

/* ---- text ---- */

static void put_keys(struct fg_buf *b, char mark, const struct fg_plan_keys *k)
{
	size_t i;

	for (i = 0; i < k->count; i++) {
		if (b->len)
			fg_buf_putc(b, ' ');
		fg_buf_putc(b, mark);
		put_safe(b, k->names[i]);
	}
}

static void config_cell(struct fg_buf *b, const struct fg_plan_device *dev)
{
	put_keys(b, '+', &dev->added);
	put_keys(b, '~', &dev->changed);
	put_keys(b, '-', &dev->removed);
	if (dev->config == FG_PLAN_CONFIG_NOT_CHECKED)
		fg_buf_puts(b, "(unchanged)");
	else if (dev->config == FG_PLAN_CONFIG_NOT_FETCHED)
		fg_buf_puts(b, "(not fetched)");
	else if (!b->len && dev->config_redeploy)
		fg_buf_puts(b, "(again)");
}

static void os_cell(struct fg_buf *b, const struct fg_plan_device *dev)
{
	put_safe(b, dev->current_os ? dev->current_os : "?");
	if (dev->current_os && dev->desired_os &&
	    !strcmp(dev->current_os, dev->desired_os))
		return;
	fg_buf_puts(b, " -> ");
	put_safe(b, dev->desired_os ? dev->desired_os : "?");
}

static void action_cell(struct fg_buf *b, const struct fg_plan *p,
			const struct fg_plan_device *dev)
{
	if (dev->os != FG_PLAN_OS_IN_SYNC) {
		fg_buf_puts(b, "OS ");
		os_reason(b, p, dev);
	}
	if (dev->abort)
		fg_buf_puts(b, b->len ? "; abort active deployments first" :
				        "abort active deployments");
	if (dev->config == FG_PLAN_CONFIG_DEPLOY ||
	    dev->config == FG_PLAN_CONFIG_NOT_FETCHED) {
		fg_buf_puts(b, b->len ? "; configuration " : "configuration ");
		config_reason(b, dev);
	}
	if (!b->len)
		fg_buf_puts(b, "in sync");
}

static void fill_row(struct fg_buf *row, const struct fg_plan *p,
		     const struct fg_plan_device *dev)
{
	put_safe(&row[COL_DEVICE], dev->id);
	put_safe(&row[COL_NAME], dev->name ? dev->name : "-");
	put_safe(&row[COL_BRANCH], dev->branch);
	fg_buf_printf(&row[COL_BRANCH], " (%s)", branch_sources[dev->branch_source]);
	os_cell(&row[COL_OS], dev);
	config_cell(&row[COL_CONFIG], dev);
	action_cell(&row[COL_ACTION], p, dev);
}

/* Display width in code points, so UTF-8 names keep the columns straight. */
static size_t width_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void put_row(struct fg_buf *out, const char *const *cells, const size_t *width)
{
	size_t c;

	for (c = 0; c < NCOLS; c++) {
		size_t pad = c + 1 < NCOLS ? width[c] - width_of(cells[c]) + 2 : 0;

		fg_buf_puts(out, cells[c]);
		while (pad--)
			fg_buf_putc(out, ' ');
	}
	fg_buf_putc(out, '\n');
}

struct table {
	struct fg_buf *cells; /* nrows * NCOLS */
	size_t nrows;
	size_t width[NCOLS];
};

static int table_fill(struct table *t, const struct fg_plan *p, unsigned flags)
{
	size_t i, c;

	t->cells = calloc((p->ndevices ? p->ndevices : 1) * NCOLS, sizeof(*t->cells));
	if (!t->cells)
		return FG_ENOMEM;
	for (c = 0; c < NCOLS; c++)
		t->width[c] = strlen(headers[c]);
	for (i = 0; i < p->ndevices; i++) {
		struct fg_buf *row = &t->cells[t->nrows * NCOLS];

		if (!(flags & FG_REPORT_ALL_DEVICES) && !has_news(&p->devices[i]))
			continue;
		fill_row(row, p, &p->devices[i]);
		for (c = 0; c < NCOLS; c++) {
			size_t w = width_of(fg_buf_cstr(&row[c]));

			if (row[c].failed)
				return FG_ENOMEM;
			t->width[c] = w > t->width[c] ? w : t->width[c];
		}
		t->nrows++;
	}
	return 0;
}

static void table_release(struct table *t, size_t ndevices)
{
	size_t i;

	for (i = 0; t->cells && i < ndevices * NCOLS; i++)
		fg_buf_release(&t->cells[i]);
	free(t->cells);
}

static int put_table(struct fg_buf *out, const struct fg_plan *p, unsigned flags)
{
	struct table t = { NULL, 0, { 0 } };
	const char *cells[NCOLS];
	size_t r, c;
	int rc = table_fill(&t, p, flags);

	if (!rc && t.nrows) {
		put_row(out, headers, t.width);
		for (r = 0; r < t.nrows; r++) {
			for (c = 0; c < NCOLS; c++)
				cells[c] = fg_buf_cstr(&t.cells[r * NCOLS + c]);
			put_row(out, cells, t.width);
		}
	}
	table_release(&t, p->ndevices);
	return rc;
}

static void put_deployments(struct fg_buf *out, const struct fg_plan *p)
{
	size_t i;

	for (i = 0; i < p->ndeployments; i++) {
		fg_buf_puts(out, i ? "" : "\ndeployments:\n");
		fg_buf_puts(out, "  '");
		put_safe(out, p->deployments[i].name);
		fg_buf_puts(out, "': ");
		put_safe(out, p->deployments[i].artifact);
		fg_buf_printf(out, " to %zu device%s\n", p->deployments[i].count,
			      p->deployments[i].count == 1 ? "" : "s");
	}
}

static void put_warnings(struct fg_buf *out, const struct fg_plan *p)
{
	size_t i;

	for (i = 0; i < p->warnings.count; i++) {
		char *line = fg_diag_format(&p->warnings.items[i]);

		fg_buf_puts(out, i ? "" : "\nwarnings:\n");
		fg_buf_puts(out, "  ");
		put_safe(out, line ? line : "(out of memory)");
		fg_buf_putc(out, '\n');
		free(line);
	}
}

static void put_totals(struct fg_buf *out, const struct fg_plan *p)
{
	const struct fg_plan_totals *t = &p->totals;

	fg_buf_printf(out, "\ntotals: %zu of %zu devices in Mender follow '", t->subscribers,
		      t->mender_devices);
	put_safe(out, p->branch);
	fg_buf_printf(out, "' (%zu without a device file)\n"
		      "  OS: %zu scheduled in %zu deployment%s, %zu in sync, "
		      "%zu already in progress, %zu without image; %zu to abort first\n"
		      "  configuration: %zu scheduled, %zu in sync, %zu not checked, "
		      "%zu not fetched\n",
		      t->not_in_repo, t->os_deploy, p->ndeployments,
		      p->ndeployments == 1 ? "" : "s", t->os_in_sync, t->os_in_progress,
		      t->os_no_image, t->aborts, t->config_deploy, t->config_in_sync,
		      t->config_not_checked, t->config_not_fetched);
	if (fg_plan_is_empty(p))
		fg_buf_puts(out, "nothing to do\n");
}

int fg_report_text(struct fg_buf *out, const struct fg_plan *p,
		   unsigned flags, struct fg_error *err)
{
	fg_buf_puts(out, "plan for '");
	put_safe(out, p->branch);
	fg_buf_puts(out, "' at ");
	put_safe(out, p->commit);
	fg_buf_puts(out, "\n\n");
	if (put_table(out, p, flags))
		return fg_error_oom(err);
	put_deployments(out, p);
	put_warnings(out, p);
	put_totals(out, p);
	return out->failed ? fg_error_oom(err) : 0;
}

/* ---- JSON ---- */

static json_t *keys_json(const struct fg_plan_keys *k)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < k->count; i++) {
		if (json_array_append_new(a, json_string(k->names[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Reasons in JSON carry the same words as the table. */
static json_t *reason_json(const struct fg_plan *p, const struct fg_plan_device *dev,
			   int os)
{
	struct fg_buf b = FG_BUF_INIT;
	json_t *s;

	if (os)
		os_reason(&b, p, dev);
	else
		config_reason(&b, dev);
	s = b.failed ? NULL : json_string(fg_buf_cstr(&b));
	fg_buf_release(&b);
	return s;
}

static json_t *device_json(const struct fg_plan *p, const struct fg_plan_device *dev)
{
	const char *dep = dev->deployment == FG_PLAN_NONE ? NULL :
			  p->deployments[dev->deployment].name;

	return json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:b, s:b,"
			 " s:{s:s?, s:s?, s:s, s:o, s:s?, s:s?},"
			 " s:{s:s, s:o, s:o, s:o, s:o}}",
			 "id", dev->id, "name", dev->name,
			 "device_type", dev->device_type, "branch", dev->branch,
			 "branch_source", branch_sources[dev->branch_source],
			 "in_repository", dev->in_repo, "abort", dev->abort,
			 "os", "current", dev->current_os, "desired", dev->desired_os,
			 "action", os_actions[dev->os], "reason", reason_json(p, dev, 1),
			 "deployment", dep, "in_progress", dev->in_progress,
			 "configuration", "action", config_actions[dev->config],
			 "reason", reason_json(p, dev, 0),
			 "added", keys_json(&dev->added),
			 "changed", keys_json(&dev->changed),
			 "removed", keys_json(&dev->removed));
}

static json_t *deployment_json(const struct fg_plan_deployment *d)
{
	json_t *ids = json_array();
	size_t i;

	for (i = 0; ids && i < d->count; i++) {
		if (json_array_append_new(ids, json_string(d->ids[i]))) {
			json_decref(ids);
			return NULL;
		}
	}
	return json_pack("{s:s, s:s, s:o, s:I}", "name", d->name,
			 "artifact_name", d->artifact, "devices", ids,
			 "body_bytes", (json_int_t)d->body_bytes);
}

static json_t *ids_json(const struct fg_plan *p, const size_t *idx, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(p->devices[idx[i]].id))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *warnings_json(const struct fg_plan *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < p->warnings.count; i++) {
		const struct fg_diag *w = &p->warnings.items[i];

		if (json_array_append_new(a, json_pack("{s:s?, s:s}", "path", w->path,
						       "message", w->message))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *totals_json(const struct fg_plan *p)
{
	const struct fg_plan_totals *t = &p->totals;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "mender_devices", (json_int_t)t->mender_devices,
			 "subscribers", (json_int_t)t->subscribers,
			 "not_in_repository", (json_int_t)t->not_in_repo,
			 "os_scheduled", (json_int_t)t->os_deploy,
			 "os_in_sync", (json_int_t)t->os_in_sync,
			 "os_in_progress", (json_int_t)t->os_in_progress,
			 "os_no_image", (json_int_t)t->os_no_image,
			 "aborts", (json_int_t)t->aborts,
			 "deployments", (json_int_t)p->ndeployments,
			 "configuration_scheduled", (json_int_t)t->config_deploy,
			 "configuration_in_sync", (json_int_t)t->config_in_sync,
			 "configuration_not_checked", (json_int_t)t->config_not_checked,
			 "configuration_not_fetched", (json_int_t)t->config_not_fetched);
}

static int append_all(json_t *devices, json_t *deployments, const struct fg_plan *p)
{
	size_t i;

	for (i = 0; i < p->ndevices; i++)
		if (json_array_append_new(devices, device_json(p, &p->devices[i])))
			return -1;
	for (i = 0; i < p->ndeployments; i++)
		if (json_array_append_new(deployments, deployment_json(&p->deployments[i])))
			return -1;
	return 0;
}

int fg_report_json(json_t **out, const struct fg_plan *p, struct fg_error *err)
{
	json_t *devices = json_array(), *deployments = json_array();

	*out = NULL;
	if (!devices || !deployments || append_all(devices, deployments, p)) {
		json_decref(devices);
		json_decref(deployments);
		return fg_error_set(err, FG_ENOMEM,
				    "cannot build the JSON report: out of memory or invalid UTF-8");
	}
	*out = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "branch", p->branch, "commit", p->commit,
			 "empty", fg_plan_is_empty(p), "devices", devices,
			 "deployments", deployments,
			 "aborts", ids_json(p, p->aborts, p->naborts),
			 "configurations", ids_json(p, p->configs, p->nconfigs),
			 "warnings", warnings_json(p), "totals", totals_json(p));
	if (!*out)
		return fg_error_set(err, FG_ENOMEM,
				    "cannot build the JSON report: out of memory or invalid UTF-8");
	return 0;
}
