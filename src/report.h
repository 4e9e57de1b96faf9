/*
 * report.h: renders a rollout plan (plan.h) for a person (a table) and for
 * tools (JSON): per device what is scheduled or skipped and why, then the
 * deployments, warnings and totals (issue 4, step 5).
 *
 * It never prints a configuration value: only the names of the keys that
 * are added, changed or removed. Strings from Mender or the repository are
 * shown with control characters replaced, so a device name cannot rewrite
 * the operator's terminal.
 *
 * Ownership rule: the plan is borrowed; text is appended to the caller's
 * fg_buf, and the JSON report is a new reference the caller json_decref()s.
 */
#ifndef FG_REPORT_H
#define FG_REPORT_H

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "plan.h"

/* Text: list every subscriber, not only those with something to do or a
 * reason they were skipped. */
#define FG_REPORT_ALL_DEVICES 1u

/* Appends the table and summary to out. Errors: FG_ENOMEM (out keeps what
 * was written before). */
int fg_report_text(struct fg_buf *out, const struct fg_plan *plan,
		   unsigned flags, struct fg_error *err);

/* Sets *out to a new JSON object describing every subscriber. Errors:
 * FG_ENOMEM, or FG_EINVALID when a string is not valid UTF-8; *out is NULL
 * on failure. */
int fg_report_json(json_t **out, const struct fg_plan *plan,
		   struct fg_error *err);

#endif
