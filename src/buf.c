#include "buf.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fg_buf_grow(struct fg_buf *b, size_t extra)
{
	size_t need, alloc;
	char *p;

	if (b->failed)
		return FG_ENOMEM;
	if (extra > (size_t)-1 - b->len - 1)
		goto fail;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > (size_t)-1 / 2 ? need : alloc * 2;
	p = realloc(b->ptr, alloc);
	if (!p)
		goto fail;
	b->ptr = p;
	b->alloc = alloc;
	return 0;
fail:
	b->failed = 1;
	return FG_ENOMEM;
}

int fg_buf_put(struct fg_buf *b, const char *data, size_t len)
{
	if (fg_buf_grow(b, len) < 0)
		return FG_ENOMEM;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int fg_buf_puts(struct fg_buf *b, const char *s)
{
	return fg_buf_put(b, s, strlen(s));
}

int fg_buf_putc(struct fg_buf *b, char c)
{
	return fg_buf_put(b, &c, 1);
}

int fg_buf_vprintf(struct fg_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	if (b->failed)
		return FG_ENOMEM;
	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0 || fg_buf_grow(b, (size_t)n) < 0) {
		b->failed = 1;
		return FG_ENOMEM;
	}
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int fg_buf_printf(struct fg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = fg_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void fg_buf_truncate(struct fg_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->ptr[len] = '\0';
	}
}

const char *fg_buf_cstr(const struct fg_buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *fg_buf_detach(struct fg_buf *b)
{
	char *p;

	if (b->failed) {
		fg_buf_release(b);
		return NULL;
	}
	p = b->ptr ? b->ptr : calloc(1, 1);
	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}

void fg_buf_release(struct fg_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
	b->failed = 0;
}

char *fg_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *fg_asprintf(const char *fmt, ...)
{
	struct fg_buf b = FG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	fg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return fg_buf_detach(&b);
}
