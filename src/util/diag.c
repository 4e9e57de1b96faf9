#include "diag.h"
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int diags_reserve(struct fg_diags *d, size_t extra)
{
	size_t alloc;
	struct fg_diag *items;

	if (d->count + extra <= d->alloc)
		return 0;
	alloc = d->alloc ? d->alloc * 2 : 8;
	while (alloc < d->count + extra)
		alloc *= 2;
	items = realloc(d->items, alloc * sizeof(*items));
	if (!items) {
		d->failed = 1;
		return FG_ENOMEM;
	}
	d->items = items;
	d->alloc = alloc;
	return 0;
}

static void diag_free_strings(struct fg_diag *item)
{
	free(item->path);
	free(item->pointer);
	free(item->keyword);
	free(item->message);
	free(item->hint);
}

int fg_diags_add(struct fg_diags *d, const char *path, int line, int column,
		 const char *pointer, const char *keyword, const char *hint,
		 const char *fmt, ...)
{
	struct fg_buf msg = FG_BUF_INIT, safe = FG_BUF_INIT;
	struct fg_diag item = { 0 };
	va_list ap;

	if (d->max && d->count >= d->max) {
		d->dropped++;
		return 0;
	}
	va_start(ap, fmt);
	fg_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	/* Every string of a finding may carry pushed content: escaped here,
	 * once for every producer, so none can forge a line of hook output. */
	fg_buf_put_escaped(&safe, fg_buf_cstr(&msg), msg.len);
	if (msg.failed)
		safe.failed = 1;
	fg_buf_release(&msg);
	item.message = fg_buf_detach(&safe);
	item.path = fg_escape(path);
	item.pointer = fg_escape(pointer);
	item.keyword = fg_escape(keyword);
	item.hint = fg_escape(hint);
	item.line = line;
	item.column = column;
	if (!item.message || (path && !item.path) || (pointer && !item.pointer) ||
	    (keyword && !item.keyword) || (hint && !item.hint) ||
	    diags_reserve(d, 1) < 0) {
		diag_free_strings(&item);
		d->failed = 1;
		return FG_ENOMEM;
	}
	d->items[d->count++] = item;
	return 0;
}

int fg_diags_take(struct fg_diags *dst, struct fg_diags *src)
{
	size_t n = src->count, i;

	if (dst->max)
		n = dst->count >= dst->max ? 0 :
			n < dst->max - dst->count ? n : dst->max - dst->count;
	if (diags_reserve(dst, n) < 0)
		return FG_ENOMEM;
	if (n)
		memcpy(dst->items + dst->count, src->items, n * sizeof(*src->items));
	for (i = n; i < src->count; i++)
		diag_free_strings(&src->items[i]);
	dst->count += n;
	dst->dropped += src->dropped + (src->count - n);
	dst->failed |= src->failed;
	free(src->items);
	src->items = NULL;
	src->count = src->alloc = 0;
	src->failed = 0;
	src->dropped = 0;
	return 0;
}

/* Escaped again on the way out (idempotent, see fg_buf_put_escaped): an
 * item a caller edited in place is no exception. */
static void put_field(struct fg_buf *b, const char *s)
{
	fg_buf_put_escaped(b, s, strlen(s));
}

char *fg_diag_format(const struct fg_diag *item)
{
	struct fg_buf b = FG_BUF_INIT;

	if (item->path) {
		put_field(&b, item->path);
		if (item->line > 0)
			fg_buf_printf(&b, ":%d", item->line);
		if (item->line > 0 && item->column > 0)
			fg_buf_printf(&b, ":%d", item->column);
		fg_buf_puts(&b, ": ");
	}
	put_field(&b, item->message);
	if (item->hint) {
		fg_buf_puts(&b, " (");
		put_field(&b, item->hint);
		fg_buf_putc(&b, ')');
	}
	return fg_buf_detach(&b);
}

void fg_diags_make_room(struct fg_diags *d)
{
	if (!d->max || d->count < d->max || d->count == 0)
		return;
	diag_free_strings(&d->items[--d->count]);
	d->dropped++;
}

void fg_diags_last_to_front(struct fg_diags *d)
{
	struct fg_diag last;

	if (d->count < 2)
		return;
	last = d->items[d->count - 1];
	memmove(&d->items[1], &d->items[0], (d->count - 1) * sizeof(*d->items));
	d->items[0] = last;
}

void fg_diags_release(struct fg_diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		diag_free_strings(&d->items[i]);
	free(d->items);
	d->items = NULL;
	d->count = d->alloc = 0;
	d->failed = 0;
	d->dropped = 0;
}
