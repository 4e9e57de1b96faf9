/*
 * report.h: renders a rollout plan (plan.h) for a person (a table) and for
 * tools (JSON): per device what is scheduled or skipped and why, then the
 * deployments, warnings and totals.
 *
 * It never prints a configuration value: only the names of the keys that
 * are added, changed or removed. Strings from Mender or the repository are
 * shown escaped (fg_buf_put_escaped), so a device name cannot rewrite
 * the operator's terminal.
 *
 * Both write to a stream as they go, row by row and device by device, so a
 * 100,000-device report costs memory for one row, not for the whole text or
 * a whole jansson tree.
 *
 * Ownership rule: the plan and the stream are borrowed; nothing is returned
 * that the caller must free.
 */
#ifndef FG_REPORT_H
#define FG_REPORT_H

#include <stdio.h>

#include "error.h"
#include "plan.h"

/* Text: list every subscriber, not only those with something to do or a
 * reason they were skipped. */
#define FG_REPORT_ALL_DEVICES 1u

/* Writes the table and summary to out. Errors: FG_ENOMEM, FG_EIO when
 * writing fails (out then holds part of the report). */
int fg_report_text(FILE *out, const struct fg_plan *plan, unsigned flags,
		   struct fg_error *err);

/* Writes one JSON object describing every device following the branch:
 * {"branch", "commit", "empty", "totals", "warnings", "aborts",
 * "configurations", "deployments", "devices"}, one device per line.
 * Errors: FG_ENOMEM, FG_EIO. */
int fg_report_json(FILE *out, const struct fg_plan *plan, struct fg_error *err);

/* The plan's totals as the JSON report's "totals" object: a new reference,
 * NULL on out of memory. */
json_t *fg_report_totals_json(const struct fg_plan *p);

#endif
