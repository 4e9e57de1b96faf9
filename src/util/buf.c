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

/* Length of the valid UTF-8 sequence at p (at most avail bytes), else 0.
 * Overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if (n > avail || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

static void put_hex_bytes(struct fg_buf *b, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fg_buf_printf(b, "\\x%02x", p[i]);
}

int fg_buf_put_escaped(struct fg_buf *b, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0, run = 0, n;

	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7F) {
			run++;
			i++;
			continue;
		}
		fg_buf_put(b, data + i - run, run);
		run = 0;
		n = p[i] < 0x80 ? 0 : utf8_seq(p + i, len - i);
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			fg_buf_puts(b, p[i] == '\n' ? "\\n" : p[i] == '\r' ? "\\r" : "\\t");
		else if (n == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)
			put_hex_bytes(b, p + i, 2);  /* a C1 control */
		else if (n)
			fg_buf_put(b, data + i, n);
		else
			put_hex_bytes(b, p + i, 1);
		i += n ? n : 1;
	}
	fg_buf_put(b, data + i - run, run);
	return b->failed ? FG_ENOMEM : 0;
}

char *fg_escape(const char *s)
{
	struct fg_buf b = FG_BUF_INIT;

	if (!s)
		return NULL;
	fg_buf_put_escaped(&b, s, strlen(s));
	return fg_buf_detach(&b);
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
