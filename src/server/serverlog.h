/*
 * serverlog.h: one structured line per decision, for the server's admin.
 *
 * Lines are "key=value" pairs (logfmt), values quoted when they contain
 * spaces or quotes, written to the policy's log file (appended with
 * O_APPEND, so concurrent hooks do not interleave within a line) and/or to
 * syslog (journald picks it up). Secrets never reach this module: callers
 * log names, ids and rule names, never configuration values or tokens.
 *
 * Logging never fails the caller: a log that cannot be written is reported
 * once on stderr and otherwise ignored.
 *
 * Ownership rule: all arguments are borrowed.
 */
#ifndef FG_SERVERLOG_H
#define FG_SERVERLOG_H

#include <stdbool.h>

struct fg_policy;

/* Writes one line made of the NULL-terminated key/value pairs that follow
 * `event` (values may be NULL: the pair is left out). policy may be NULL:
 * then nothing is logged. */
void fg_serverlog(const struct fg_policy *policy, const char *event, ...)
	__attribute__((sentinel));

#endif
