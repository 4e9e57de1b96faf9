#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fg_error_set(struct fg_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int fg_error_prefix(struct fg_error *err, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, keep;
	va_list ap;

	if (!err)
		return FG_ERROR;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	/* the message keeps its tail end truncated, never overflows */
	keep = strnlen(err->message, sizeof(err->message));
	if (keep > sizeof(err->message) - plen - 3)
		keep = sizeof(err->message) - plen - 3;
	memmove(err->message + plen + 2, err->message, keep);
	memcpy(err->message, prefix, plen);
	memcpy(err->message + plen, ": ", 2);
	err->message[plen + 2 + keep] = '\0';
	return err->code;
}

int fg_error_oom(struct fg_error *err)
{
	return fg_error_set(err, FG_ENOMEM, "out of memory");
}

void fg_error_clear(struct fg_error *err)
{
	if (!err)
		return;
	err->code = FG_OK;
	err->message[0] = '\0';
}
