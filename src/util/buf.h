/*
 * buf.h: a growable, always NUL-terminated byte string, after git's strbuf.
 *
 * Ownership rule: a struct fg_buf owns its bytes; fg_buf_release frees them
 * and fg_buf_detach hands them to the caller (who frees them with free()).
 *
 * Error behaviour: every function that can grow the buffer returns 0 or
 * FG_ENOMEM. After a failure the buffer still holds its previous contents
 * and is safe to use and release, so callers may check once at the end.
 */
#ifndef FG_BUF_H
#define FG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct fg_buf {
	char *ptr;   /* NULL until the first write; see fg_buf_cstr */
	size_t len;
	size_t alloc;
	int failed;  /* sticky: a write failed since init */
};

#define FG_BUF_INIT { NULL, 0, 0, 0 }

int fg_buf_grow(struct fg_buf *b, size_t extra);
int fg_buf_put(struct fg_buf *b, const char *data, size_t len);
int fg_buf_puts(struct fg_buf *b, const char *s);
int fg_buf_putc(struct fg_buf *b, char c);
int fg_buf_printf(struct fg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int fg_buf_vprintf(struct fg_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Shortens the buffer to len bytes (len <= b->len). */
void fg_buf_truncate(struct fg_buf *b, size_t len);
/* The contents as a C string; "" for an empty buffer. Borrowed. */
const char *fg_buf_cstr(const struct fg_buf *b);
/* Returns the bytes (caller frees) and resets the buffer; NULL if a write
 * failed earlier or on allocation failure. */
char *fg_buf_detach(struct fg_buf *b);
void fg_buf_release(struct fg_buf *b);

/*
 * Pushed content (keys, file names, ref names, schema strings) on its way to
 * a terminal or a log: the one place that decides how it is shown. Appends
 * `len` bytes with every byte that could act on a terminal or start a new
 * line escaped: C0 controls and DEL as \n, \r, \t or \xNN, C1 controls
 * (U+0080..U+009F, which some terminals obey) and bytes that are not valid
 * UTF-8 as \xNN per byte. Everything else, valid UTF-8 included, is copied.
 *
 * The output holds nothing the function would escape again, so escaping is
 * idempotent: text that passes several layers (a finding re-added, then
 * printed) reads the same as after one. A backslash therefore stays as it
 * is; a format that needs it quoted (logfmt) does that on top.
 * Returns 0 or FG_ENOMEM as fg_buf_put.
 */
int fg_buf_put_escaped(struct fg_buf *b, const char *data, size_t len);
/* fg_buf_put_escaped of a C string into new memory the caller frees; NULL
 * for a NULL argument or on allocation failure. */
char *fg_escape(const char *s);

/* strdup that returns NULL for a NULL argument. Caller frees. */
char *fg_strdup(const char *s);
/* Formatted string in new memory, or NULL on allocation failure. */
char *fg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
