/*
 * diag.h: a list of findings about user input (a push, a fleet file, a
 * policy), each with where it is and what to do about it.
 *
 * Where fg_error carries the one reason a function failed, fg_diags collects
 * every problem a check found, so a user sees them all at once.
 *
 * Every string of a finding may hold pushed content: fg_diags_add stores it
 * escaped (fg_buf_put_escaped) and fg_diag_format escapes again on output,
 * so no finding can forge a line of hook output or drive a terminal.
 *
 * Ownership rule: the list owns copies of every string added; the caller owns
 * the struct fg_diags itself and calls fg_diags_release once.
 */
#ifndef FG_DIAG_H
#define FG_DIAG_H

#include <stddef.h>

struct fg_diag {
	char *path;     /* file or ref the finding is about; may be NULL */
	int line;       /* 1-based; 0 when unknown */
	int column;     /* 1-based; 0 when unknown */
	char *pointer;  /* JSON pointer into the document; may be NULL */
	char *keyword;  /* schema keyword or rule name; may be NULL */
	char *message;  /* one sentence; never NULL */
	char *hint;     /* what to do; may be NULL */
};

struct fg_diags {
	struct fg_diag *items;
	size_t count;
	size_t alloc;
	int failed; /* sticky: an add ran out of memory; the list is incomplete */
	size_t max;     /* 0: no cap; else findings past max are only counted */
	size_t dropped; /* findings counted, not kept, because of max */
};

#define FG_DIAGS_INIT { .items = NULL, .count = 0, .alloc = 0, .failed = 0, \
			.max = 0, .dropped = 0 }

/* Every finding a list was given, kept or dropped. */
static inline size_t fg_diags_total(const struct fg_diags *d)
{
	return d->count + d->dropped;
}

/* Appends a finding; strings are copied, escaped (NULL allowed except for
 * message). With max set and reached, the finding is only counted in
 * `dropped` (pushed content cannot make the list grow without bound).
 * Returns 0 or FG_ENOMEM, in which case failed is set: a caller that must
 * fail closed treats a failed list as "there was a problem". */
int fg_diags_add(struct fg_diags *d, const char *path, int line, int column,
		 const char *pointer, const char *keyword, const char *hint,
		 const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Moves every item of src to the end of dst, up to dst's max (the rest and
 * src's dropped count are added to dst's dropped); src is left empty. */
int fg_diags_take(struct fg_diags *dst, struct fg_diags *src);

/* For a finding that explains the others (a check stopped by a budget):
 * fg_diags_make_room drops the last kept finding when the list is full
 * (counting it in `dropped`), so the next add is kept;
 * fg_diags_last_to_front then moves the last kept finding to the front,
 * where a reader that shows only the first lines sees it. */
void fg_diags_make_room(struct fg_diags *d);
void fg_diags_last_to_front(struct fg_diags *d);

/* Formats one finding as "path:line:column: message (hint)" into new memory
 * the caller frees; NULL on allocation failure. */
char *fg_diag_format(const struct fg_diag *item);

void fg_diags_release(struct fg_diags *d);

#endif
