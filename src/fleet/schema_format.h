/*
 * schema_format.h: the JSON Schema "format" checks fleetgate asserts
 * (date-time, date, time, uuid, hostname, ipv4, ipv6, uri, uri-reference, regex,
 * email). Pure functions over a string; they never allocate on the heap.
 */
#ifndef FG_SCHEMA_FORMAT_H
#define FG_SCHEMA_FORMAT_H

#include <stddef.h>

/* Returns 1 if `s` (len bytes) is a valid `format`, 0 if not, and -1 when
 * the format is unknown (unknown formats are annotations and pass). */
int fg_schema_format_check(const char *format, const char *s, size_t len);

#endif
