#include "report.h"
#include "buf.h"

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
	[FG_PLAN_CONFIG_WITHHELD] = "withheld",
};

/* Device names and ids come from Mender and pushes: keep them from
 * driving the terminal (fg_buf_put_escaped, as every message does). */
static void put_safe(struct fg_buf *b, const char *s)
{
	if (s)
		fg_buf_put_escaped(b, s, strlen(s));
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

static void config_reason(struct fg_buf *b, const struct fg_plan *p,
			  const struct fg_plan_device *dev)
{
	static const char *const reasons[] = {
		[FG_PLAN_CONFIG_IN_SYNC] = "in sync",
		[FG_PLAN_CONFIG_DEPLOY] = "scheduled",
		[FG_PLAN_CONFIG_NOT_CHECKED] = "not checked: unchanged since the last rollout",
		[FG_PLAN_CONFIG_NOT_FETCHED] = "skipped: configuration not fetched from Mender",
		[FG_PLAN_CONFIG_WITHHELD] = "withheld: secret '",
	};

	fg_buf_puts(b, reasons[dev->config]);
	if (dev->config == FG_PLAN_CONFIG_WITHHELD) {
		put_safe(b, dev->withheld);
		fg_buf_puts(b, "' is not allowed for branch ");
		put_safe(b, p->branch);
		fg_buf_puts(b, " (policy secrets)");
	}
	if (dev->config_redeploy)
		fg_buf_puts(b, " (again: the abort cancels its pending configuration deployment)");
}

static int has_news(const struct fg_plan_device *dev)
{
	return dev->os != FG_PLAN_OS_IN_SYNC || dev->abort ||
	       dev->config == FG_PLAN_CONFIG_DEPLOY ||
	       dev->config == FG_PLAN_CONFIG_NOT_FETCHED ||
	       dev->config == FG_PLAN_CONFIG_WITHHELD;
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
	else if (dev->config == FG_PLAN_CONFIG_WITHHELD)
		fg_buf_puts(b, "(withheld)");
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
	    dev->config == FG_PLAN_CONFIG_NOT_FETCHED ||
	    dev->config == FG_PLAN_CONFIG_WITHHELD) {
		fg_buf_puts(b, b->len ? "; configuration " : "configuration ");
		config_reason(b, p, dev);
	}
	if (!b->len)
		fg_buf_puts(b, "in sync");
}

static void fill_row(struct fg_buf *row, const struct fg_plan *p,
		     const struct fg_plan_device *dev)
{
	memset(row, 0, NCOLS * sizeof(*row));
	put_safe(&row[COL_DEVICE], dev->id);
	put_safe(&row[COL_NAME], dev->name ? dev->name : "-");
	put_safe(&row[COL_BRANCH], p->branch);
	fg_buf_printf(&row[COL_BRANCH], " (%s)", branch_sources[dev->branch_source]);
	os_cell(&row[COL_OS], dev);
	config_cell(&row[COL_CONFIG], dev);
	action_cell(&row[COL_ACTION], p, dev);
}

static int release_row(struct fg_buf *row)
{
	int failed = 0;
	size_t c;

	for (c = 0; c < NCOLS; c++) {
		failed |= row[c].failed;
		fg_buf_release(&row[c]);
	}
	return failed ? FG_ENOMEM : 0;
}

static int shown(unsigned flags, const struct fg_plan_device *dev)
{
	return (flags & FG_REPORT_ALL_DEVICES) || has_news(dev);
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

static int flush(FILE *out, struct fg_buf *b)
{
	if (b->failed)
		return FG_ENOMEM;
	if (b->len && fwrite(b->ptr, 1, b->len, out) != b->len)
		return FG_EIO;
	fg_buf_truncate(b, 0);
	return 0;
}

/* First pass: column widths. Rows are built again to print them, so the
 * table never holds more than one row. */
static int measure(const struct fg_plan *p, unsigned flags, size_t *width,
		   size_t *nrows)
{
	struct fg_buf row[NCOLS];
	size_t i, c;
	int rc = 0;

	for (c = 0; c < NCOLS; c++)
		width[c] = strlen(headers[c]);
	for (i = 0; !rc && i < p->ndevices; i++) {
		if (!shown(flags, &p->devices[i]))
			continue;
		fill_row(row, p, &p->devices[i]);
		for (c = 0; c < NCOLS; c++) {
			size_t w = width_of(fg_buf_cstr(&row[c]));

			width[c] = w > width[c] ? w : width[c];
		}
		rc = release_row(row);
		(*nrows)++;
	}
	return rc;
}

static int put_table(FILE *out, struct fg_buf *line, const struct fg_plan *p,
		     unsigned flags)
{
	struct fg_buf row[NCOLS];
	const char *cells[NCOLS];
	size_t width[NCOLS], nrows = 0, i, c;
	int rc = measure(p, flags, width, &nrows);

	if (rc || !nrows)
		return rc;
	put_row(line, headers, width);
	rc = flush(out, line);
	for (i = 0; !rc && i < p->ndevices; i++) {
		if (!shown(flags, &p->devices[i]))
			continue;
		fill_row(row, p, &p->devices[i]);
		for (c = 0; c < NCOLS; c++)
			cells[c] = fg_buf_cstr(&row[c]);
		put_row(line, cells, width);
		rc = release_row(row);
		rc = rc ? rc : flush(out, line);
	}
	return rc;
}

static int put_deployments(FILE *out, struct fg_buf *line, const struct fg_plan *p)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < p->ndeployments; i++) {
		fg_buf_puts(line, i ? "" : "\ndeployments:\n");
		fg_buf_puts(line, "  '");
		put_safe(line, p->deployments[i].name);
		fg_buf_puts(line, "': ");
		put_safe(line, p->deployments[i].artifact);
		fg_buf_printf(line, " to %zu device%s\n", p->deployments[i].count,
			      p->deployments[i].count == 1 ? "" : "s");
		rc = flush(out, line);
	}
	return rc;
}

static int put_warnings(FILE *out, struct fg_buf *line, const struct fg_plan *p)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < p->warnings.count; i++) {
		char *text = fg_diag_format(&p->warnings.items[i]);

		if (!text)
			return FG_ENOMEM;
		fg_buf_puts(line, i ? "  " : "\nwarnings:\n  ");
		put_safe(line, text);
		fg_buf_putc(line, '\n');
		free(text);
		rc = flush(out, line);
	}
	return rc;
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
		      "%zu not fetched, %zu withheld\n",
		      t->not_in_repo, t->os_deploy, p->ndeployments,
		      p->ndeployments == 1 ? "" : "s", t->os_in_sync, t->os_in_progress,
		      t->os_no_image, t->aborts, t->config_deploy, t->config_in_sync,
		      t->config_not_checked, t->config_not_fetched, t->config_withheld);
	if (fg_plan_is_empty(p))
		fg_buf_puts(out, "nothing to do\n");
}

static int report_error(struct fg_error *err, FILE *out, int rc)
{
	if (!rc && fflush(out))
		rc = FG_EIO;
	if (rc == FG_ENOMEM)
		return fg_error_oom(err);
	if (rc)
		return fg_error_set(err, rc, "cannot write the plan report");
	return 0;
}

int fg_report_text(FILE *out, const struct fg_plan *p, unsigned flags,
		   struct fg_error *err)
{
	struct fg_buf line = FG_BUF_INIT;
	int rc;

	fg_buf_puts(&line, "plan for '");
	put_safe(&line, p->branch);
	fg_buf_puts(&line, "' at ");
	put_safe(&line, p->commit);
	fg_buf_puts(&line, "\n\n");
	rc = flush(out, &line);
	rc = rc ? rc : put_table(out, &line, p, flags);
	rc = rc ? rc : put_deployments(out, &line, p);
	rc = rc ? rc : put_warnings(out, &line, p);
	if (!rc) {
		put_totals(&line, p);
		rc = flush(out, &line);
	}
	fg_buf_release(&line);
	return report_error(err, out, rc);
}

/* ---- JSON, written item by item ---- */

#define JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static json_t *strings_json(const char *const *strings, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(strings[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *keys_json(const struct fg_plan_keys *k)
{
	return strings_json((const char *const *)k->names, k->count);
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
		config_reason(&b, p, dev);
	s = b.failed ? NULL : json_string(fg_buf_cstr(&b));
	fg_buf_release(&b);
	return s;
}

static json_t *device_item(const struct fg_plan *p, size_t i)
{
	const struct fg_plan_device *dev = &p->devices[i];
	const char *dep = dev->deployment == FG_PLAN_NONE ? NULL :
			  p->deployments[dev->deployment].name;

	return json_pack("{s:s, s:s?, s:s?, s:s, s:b, s:b,"
			 " s:{s:s?, s:s?, s:s, s:o, s:s?, s:s?},"
			 " s:{s:s, s:o, s:o, s:o, s:o}}",
			 "id", dev->id, "name", dev->name,
			 "device_type", dev->device_type,
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

static json_t *deployment_item(const struct fg_plan *p, size_t i)
{
	const struct fg_plan_deployment *d = &p->deployments[i];

	return json_pack("{s:s, s:s, s:o, s:I}", "name", d->name,
			 "artifact_name", d->artifact,
			 "devices", strings_json(d->ids, d->count),
			 "body_bytes", (json_int_t)d->body_bytes);
}

static json_t *abort_item(const struct fg_plan *p, size_t i)
{
	return json_string(p->devices[p->aborts[i]].id);
}

static json_t *config_item(const struct fg_plan *p, size_t i)
{
	return json_string(p->devices[p->configs[i]].id);
}

static json_t *warning_item(const struct fg_plan *p, size_t i)
{
	const struct fg_diag *w = &p->warnings.items[i];

	return json_pack("{s:s?, s:s}", "path", w->path, "message", w->message);
}

json_t *fg_report_totals_json(const struct fg_plan *p)
{
	const struct fg_plan_totals *t = &p->totals;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I}",
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
			 "configuration_not_fetched", (json_int_t)t->config_not_fetched,
			 "configuration_withheld", (json_int_t)t->config_withheld);
}

/* Writes prefix then v, and releases v. fg_plan_build admits only UTF-8,
 * so a NULL v, or a dump that fails without a stream error, is jansson out
 * of memory. */
static int put_value(FILE *out, const char *prefix, json_t *v)
{
	int rc = 0;

	if (!v)
		return FG_ENOMEM;
	if (fputs(prefix, out) < 0 || json_dumpf(v, out, JSON_FLAGS))
		rc = ferror(out) ? FG_EIO : FG_ENOMEM;
	json_decref(v);
	return rc;
}

static int put_array(FILE *out, const char *key, const struct fg_plan *p, size_t n,
		     json_t *(*item)(const struct fg_plan *, size_t))
{
	size_t i;
	int rc = 0;

	if (fprintf(out, ",\"%s\":[", key) < 0)
		return FG_EIO;
	for (i = 0; !rc && i < n; i++)
		rc = put_value(out, i ? ",\n" : "\n", item(p, i));
	if (!rc && fputs("]", out) < 0)
		rc = FG_EIO;
	return rc;
}

int fg_report_json(FILE *out, const struct fg_plan *p, struct fg_error *err)
{
	int rc = put_value(out, "{\"branch\":", json_string(p->branch));

	rc = rc ? rc : put_value(out, ",\"commit\":", json_string(p->commit));
	rc = rc ? rc : put_value(out, ",\"empty\":", json_boolean(fg_plan_is_empty(p)));
	rc = rc ? rc : put_value(out, ",\"totals\":", fg_report_totals_json(p));
	rc = rc ? rc : put_array(out, "warnings", p, p->warnings.count, warning_item);
	rc = rc ? rc : put_array(out, "aborts", p, p->naborts, abort_item);
	rc = rc ? rc : put_array(out, "configurations", p, p->nconfigs, config_item);
	rc = rc ? rc : put_array(out, "deployments", p, p->ndeployments, deployment_item);
	rc = rc ? rc : put_array(out, "devices", p, p->ndevices, device_item);
	if (!rc && fputs("}\n", out) < 0)
		rc = FG_EIO;
	return report_error(err, out, rc);
}
