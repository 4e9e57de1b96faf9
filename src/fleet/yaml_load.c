#include "yaml_load.h"
#include "fsutil.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* One open collection while events stream in. */
struct frame {
	json_t *container;  /* borrowed from the parent (or the doc root) */
	char *pointer;      /* JSON pointer of the container */
	char *key;          /* mapping only: key waiting for its value */
	int key_line;
};

struct loader {
	const char *path;
	const struct fg_yaml_limits *limits;
	yaml_parser_t parser;
	struct frame *stack;
	int depth;
	size_t nodes;
	json_t *root;
	json_t *locations;
	struct fg_error *err;
	const char *data;
	size_t len;
};

/* Columns past 2^20 - 1 (a 1 MiB one-line file) are clamped, never wrapped
 * into the line number or to 0. */
#define LOCATION_COLUMN_MAX 0xfffff
#define LOCATION_PACK(line, col) \
	((json_int_t)(line) << 20 | \
	 ((col) > LOCATION_COLUMN_MAX ? LOCATION_COLUMN_MAX : (col)))

static int fail_at(struct loader *l, int code, const yaml_mark_t *mark,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct loader *l, int code, const yaml_mark_t *mark,
		   const char *fmt, ...)
{
	struct fg_buf b = FG_BUF_INIT, safe = FG_BUF_INIT;
	va_list ap;

	fg_buf_printf(&b, "%s:%zu:%zu: ", l->path, mark->line + 1, mark->column + 1);
	va_start(ap, fmt);
	fg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	/* the path, keys, anchors and tags are pushed content */
	fg_buf_put_escaped(&safe, fg_buf_cstr(&b), b.len);
	if (b.failed || safe.failed)
		code = fg_error_oom(l->err);
	else
		fg_error_set(l->err, code, "%s", fg_buf_cstr(&safe));
	fg_buf_release(&b);
	fg_buf_release(&safe);
	return code;
}

char *fg_json_pointer_append(const char *base, const char *key)
{
	struct fg_buf b = FG_BUF_INIT;
	const char *p;

	fg_buf_puts(&b, base);
	fg_buf_putc(&b, '/');
	for (p = key; *p; p++) {
		if (*p == '~')
			fg_buf_puts(&b, "~0");
		else if (*p == '/')
			fg_buf_puts(&b, "~1");
		else
			fg_buf_putc(&b, *p);
	}
	return fg_buf_detach(&b);
}

/*
 * libyaml's own reader rejects most bad encodings, but its messages give a
 * byte offset, not a line; NUL in particular is worth a clear word because
 * git blobs may carry one. Scan once, up front, for both.
 */
static int check_encoding(struct loader *l, const unsigned char *s, size_t len)
{
	yaml_mark_t mark = { 0, 0, 0 };
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c == 0)
			return fail_at(l, FG_EINVALID, &mark,
				       "NUL byte in the file; a YAML file is text, remove it");
		if (c < 0x80) {
			n = 1;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (n > 1) {
			if (i + n > len)
				goto bad;
			for (k = 1; k < n; k++) {
				if ((s[i + k] & 0xc0) != 0x80)
					goto bad;
				cp = cp << 6 | (s[i + k] & 0x3f);
			}
			/* overlong forms, surrogates and out-of-range code points */
			if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			    (cp >= 0xd800 && cp <= 0xdfff))
				goto bad;
		}
		if (c == '\n') {
			mark.line++;
			mark.column = 0;
		} else {
			mark.column++;
		}
		i += n;
	}
	return 0;
bad:
	return fail_at(l, FG_EINVALID, &mark,
		       "invalid UTF-8; save the file as UTF-8");
}

static int is_digits(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

static int match_float(const char *s)
{
	/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	const char *p = s;
	int digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		int frac = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			frac++;
		}
		if (!digits && !frac)
			return 0;
	} else if (!digits) {
		return 0;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!is_digits(p, "0123456789"))
			return 0;
		return 1;
	}
	return *p == '\0';
}

static int is_inf_or_nan(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return !strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") ||
	       !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

/* YAML 1.1 read 0777 as octal, YAML 1.2 reads it as decimal 777: a file mode
 * or a zip code must not silently change, so such a scalar stays text. */
static int has_leading_zero(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return s[0] == '0' && s[1] != '\0';
}

/*
 * Resolves a plain scalar by YAML 1.2's core schema into *out (a new
 * reference). Returns 0, FG_EINVALID for a number we cannot represent, or
 * FG_ENOMEM.
 */
static int resolve_plain(struct loader *l, const char *s,
			 const yaml_mark_t *mark, json_t **out)
{
	const char *digits = s;
	char *end;
	int base = 10;

	*out = NULL;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL")) {
		*out = json_null();
		return 0;
	}
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*out = json_true();
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*out = json_false();
		return 0;
	}

	if (!strncmp(s, "0x", 2) && is_digits(s + 2, "0123456789abcdefABCDEF")) {
		base = 16;
		digits = s + 2;
	} else if (!strncmp(s, "0o", 2) && is_digits(s + 2, "01234567")) {
		base = 8;
		digits = s + 2;
	} else if (!(is_digits(s, "0123456789") ||
		     ((*s == '-' || *s == '+') && is_digits(s + 1, "0123456789")))) {
		digits = NULL;
	} else if (has_leading_zero(s)) {
		goto string;
	}
	if (digits) {
		long long v;

		errno = 0;
		v = strtoll(digits, &end, base);
		if (errno == ERANGE || *end)
			return fail_at(l, FG_EINVALID, mark,
				       "integer is out of range; quote it to keep it as a string");
		*out = json_integer(v);
		return *out ? 0 : fg_error_oom(l->err);
	}
	if (match_float(s)) {
		double d;

		errno = 0;
		d = strtod(s, &end);
		if (errno == ERANGE || !isfinite(d) || *end)
			return fail_at(l, FG_EINVALID, mark,
				       "number is out of range; quote it to keep it as a string");
		*out = json_real(d);
		return *out ? 0 : fg_error_oom(l->err);
	}
	if (is_inf_or_nan(s))
		return fail_at(l, FG_EINVALID, mark,
			       "infinity or NaN has no JSON form; quote it to keep it as a string");
string:
	*out = json_stringn(s, strlen(s));
	return *out ? 0 : fg_error_oom(l->err);
}

static int check_node_properties(struct loader *l, const yaml_event_t *ev,
				 const yaml_char_t *anchor, const yaml_char_t *tag,
				 int implicit, const char *allowed_tag)
{
	if (anchor)
		return fail_at(l, FG_EINVALID, &ev->start_mark,
			       "anchor '&%s' is not allowed; write the value out in full",
			       (const char *)anchor);
	/* "!!str" is the one tag a user legitimately needs: to keep 0x10 text.
	 * !!map/!!seq are harmless on their own kind of node and nowhere else. */
	if (tag && !implicit && strcmp((const char *)tag, allowed_tag))
		return fail_at(l, FG_EINVALID, &ev->start_mark,
			       "tag '%s' is not allowed; remove it (quote the value to make it a string)",
			       (const char *)tag);
	if (++l->nodes > l->limits->max_nodes)
		return fail_at(l, FG_ELIMIT, &ev->start_mark,
			       "more than %zu values in one document; split the file",
			       l->limits->max_nodes);
	return 0;
}

static int record_location(struct loader *l, const char *pointer,
			   const yaml_mark_t *mark)
{
	json_t *v = json_integer(LOCATION_PACK(mark->line + 1, mark->column + 1));

	if (!v || json_object_set_new(l->locations, pointer, v) < 0)
		return fg_error_oom(l->err);
	return 0;
}

/*
 * Attaches a finished value (a new reference, stolen) at the current position:
 * as the root, appended to a sequence, or under the pending key of a mapping.
 * Sets *pointer_out to the value's JSON pointer (caller frees).
 */
static int attach_value(struct loader *l, json_t *value, const yaml_mark_t *mark,
			char **pointer_out)
{
	struct frame *top = l->depth ? &l->stack[l->depth - 1] : NULL;
	char *pointer = NULL;
	char index[32];
	int rc;

	*pointer_out = NULL;
	if (!top) {
		l->root = value;
		pointer = fg_strdup("");
	} else if (json_is_array(top->container)) {
		snprintf(index, sizeof(index), "%zu", json_array_size(top->container));
		pointer = fg_json_pointer_append(top->pointer, index);
		if (json_array_append_new(top->container, value) < 0) {
			free(pointer);
			return fg_error_oom(l->err);
		}
	} else {
		pointer = fg_json_pointer_append(top->pointer, top->key);
		if (json_object_set_new(top->container, top->key, value) < 0) {
			free(pointer);
			return fg_error_oom(l->err);
		}
		free(top->key);
		top->key = NULL;
	}
	if (!pointer)
		return fg_error_oom(l->err);
	rc = record_location(l, pointer, mark);
	if (rc < 0) {
		free(pointer);
		return rc;
	}
	*pointer_out = pointer;
	return 0;
}

/* A scalar in key position of a mapping: check and remember it. */
static int take_key(struct loader *l, struct frame *top, const yaml_event_t *ev)
{
	const char *key = (const char *)ev->data.scalar.value;
	json_int_t first;
	json_t *loc;
	char *pointer;

	if (strlen(key) != ev->data.scalar.length)
		return fail_at(l, FG_EINVALID, &ev->start_mark,
			       "NUL character in a key; remove it");
	if (json_object_get(top->container, key)) {
		pointer = fg_json_pointer_append(top->pointer, key);
		if (!pointer)
			return fg_error_oom(l->err);
		loc = json_object_get(l->locations, pointer);
		free(pointer);
		first = loc ? json_integer_value(loc) >> 20 : 0;
		return fail_at(l, FG_EINVALID, &ev->start_mark,
			       "duplicate key '%s' (first defined at line %lld); keep only one",
			       key, (long long)first);
	}
	top->key = fg_strdup(key);
	if (!top->key)
		return fg_error_oom(l->err);
	top->key_line = (int)ev->start_mark.line + 1;
	return 0;
}

static int on_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct frame *top = l->depth ? &l->stack[l->depth - 1] : NULL;
	const char *text = (const char *)ev->data.scalar.value;
	json_t *value;
	char *pointer;
	int rc, plain;

	rc = check_node_properties(l, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
				   ev->data.scalar.plain_implicit ||
				   ev->data.scalar.quoted_implicit, YAML_STR_TAG);
	if (rc < 0)
		return rc;
	if (top && json_is_object(top->container) && !top->key)
		return take_key(l, top, ev);

	plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		ev->data.scalar.plain_implicit && !ev->data.scalar.tag;
	if (plain) {
		rc = resolve_plain(l, text, &ev->start_mark, &value);
		if (rc < 0)
			return rc;
	} else {
		/* A "\0" escape would cut the value short for every C consumer
		 * (Mender's configuration, the environment) downstream. */
		if (strlen(text) != ev->data.scalar.length)
			return fail_at(l, FG_EINVALID, &ev->start_mark,
				       "NUL character (\\0) in a string; remove it");
		/* libyaml hands out valid UTF-8 only, so NULL means memory */
		value = json_stringn(text, ev->data.scalar.length);
		if (!value)
			return fg_error_oom(l->err);
	}
	rc = attach_value(l, value, &ev->start_mark, &pointer);
	free(pointer);
	return rc;
}

static int on_collection_start(struct loader *l, const yaml_event_t *ev, int mapping)
{
	struct frame *top = l->depth ? &l->stack[l->depth - 1] : NULL;
	json_t *value;
	char *pointer;
	int rc;

	rc = mapping ? check_node_properties(l, ev, ev->data.mapping_start.anchor,
					     ev->data.mapping_start.tag,
					     ev->data.mapping_start.implicit,
					     YAML_MAP_TAG)
		     : check_node_properties(l, ev, ev->data.sequence_start.anchor,
					     ev->data.sequence_start.tag,
					     ev->data.sequence_start.implicit,
					     YAML_SEQ_TAG);
	if (rc < 0)
		return rc;
	if (top && json_is_object(top->container) && !top->key)
		return fail_at(l, FG_EINVALID, &ev->start_mark,
			       "a key must be a plain string, not a %s; quote it",
			       mapping ? "mapping" : "list");
	if (l->depth >= l->limits->max_depth)
		return fail_at(l, FG_ELIMIT, &ev->start_mark,
			       "nesting deeper than %d levels; flatten the structure",
			       l->limits->max_depth);
	value = mapping ? json_object() : json_array();
	if (!value)
		return fg_error_oom(l->err);
	rc = attach_value(l, value, &ev->start_mark, &pointer);
	if (rc < 0)
		return rc;
	l->stack[l->depth].container = value;
	l->stack[l->depth].pointer = pointer;
	l->stack[l->depth].key = NULL;
	l->depth++;
	return 0;
}

static void pop_frame(struct loader *l)
{
	struct frame *top = &l->stack[--l->depth];

	free(top->pointer);
	free(top->key);
	top->pointer = top->key = NULL;
}

/* libyaml says "found character that cannot start any token" for a tab in
 * indentation; users deserve the real reason. */
static int line_starts_with_tab(const struct loader *l, size_t line)
{
	const char *p = l->data, *end = l->data + l->len;

	while (line && p < end) {
		if (*p++ == '\n')
			line--;
	}
	while (p < end && *p == ' ')
		p++;
	return p < end && *p == '\t';
}

/* libyaml's reader reports a byte offset only; users need line and column. */
static yaml_mark_t mark_at_offset(const struct loader *l, size_t offset)
{
	yaml_mark_t mark = { 0, 0, 0 };
	size_t i;

	for (i = 0; i < offset && i < l->len; i++) {
		if (l->data[i] == '\n') {
			mark.line++;
			mark.column = 0;
		} else if (((unsigned char)l->data[i] & 0xc0) != 0x80) {
			mark.column++;
		}
	}
	mark.index = i;
	return mark;
}

static int parser_failure(struct loader *l)
{
	yaml_parser_t *p = &l->parser;
	const yaml_mark_t *mark = p->problem ? &p->problem_mark : &p->context_mark;
	const char *problem = p->problem ? p->problem : "unknown error";
	yaml_mark_t reader_mark;

	if (p->error == YAML_MEMORY_ERROR)
		return fg_error_oom(l->err);
	if (p->error == YAML_READER_ERROR) {
		reader_mark = mark_at_offset(l, p->problem_offset);
		return fail_at(l, FG_EINVALID, &reader_mark,
			       "%s; save the file as plain UTF-8 text", problem);
	}
	if (line_starts_with_tab(l, mark->line))
		return fail_at(l, FG_EINVALID, mark,
			       "tab character in the indentation; indent with spaces");
	if (p->context)
		return fail_at(l, FG_EINVALID, mark, "%s %s; check the indentation and quoting",
			       p->context, problem);
	return fail_at(l, FG_EINVALID, mark, "%s; check the indentation and quoting", problem);
}

static int run_events(struct loader *l)
{
	yaml_event_t ev;
	int documents = 0, rc = 0, done = 0;

	while (!done && rc == 0) {
		if (!yaml_parser_parse(&l->parser, &ev))
			return parser_failure(l);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1)
				rc = fail_at(l, FG_EINVALID, &ev.start_mark,
					     "a second document ('---') in the file; keep one document per file");
			break;
		case YAML_ALIAS_EVENT:
			rc = fail_at(l, FG_EINVALID, &ev.start_mark,
				     "alias '*%s' is not allowed; write the value out in full",
				     (const char *)ev.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(l, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = on_collection_start(l, &ev, 0);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = on_collection_start(l, &ev, 1);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			pop_frame(l);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	return rc;
}

int fg_yaml_load_buffer(struct fg_yaml_doc **out, const char *path,
			const char *data, size_t len,
			const struct fg_yaml_limits *limits,
			struct fg_error *err)
{
	static const struct fg_yaml_limits defaults = FG_YAML_LIMITS_INIT;
	struct loader l;
	struct fg_yaml_doc *doc = NULL;
	yaml_mark_t origin = { 0, 0, 0 };
	int rc;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	l.path = path;
	l.limits = limits ? limits : &defaults;
	l.err = err;
	l.data = data;
	l.len = len;
	if (len > l.limits->max_bytes)
		return fail_at(&l, FG_ELIMIT, &origin,
			       "file is %zu bytes, more than the limit of %zu; split it",
			       len, l.limits->max_bytes);
	rc = check_encoding(&l, (const unsigned char *)data, len);
	if (rc < 0)
		return rc;
	l.stack = calloc((size_t)l.limits->max_depth + 1, sizeof(*l.stack));
	l.locations = json_object();
	if (!l.stack || !l.locations || !yaml_parser_initialize(&l.parser)) {
		free(l.stack);
		json_decref(l.locations);
		return fg_error_oom(err);
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
	rc = run_events(&l);
	while (l.depth)
		pop_frame(&l);
	yaml_parser_delete(&l.parser);
	free(l.stack);
	if (rc == 0) {
		doc = calloc(1, sizeof(*doc));
		if (!doc || !(doc->path = fg_strdup(path))) {
			free(doc);
			doc = NULL;
			rc = fg_error_oom(err);
		}
	}
	if (rc < 0) {
		json_decref(l.root);
		json_decref(l.locations);
		return rc;
	}
	doc->root = l.root;
	doc->locations = l.locations;
	*out = doc;
	return 0;
}

int fg_yaml_load_file(struct fg_yaml_doc **out, const char *path,
		      const struct fg_yaml_limits *limits,
		      struct fg_error *err)
{
	static const struct fg_yaml_limits defaults = FG_YAML_LIMITS_INIT;
	yaml_mark_t origin = { 0, 0, 0 };
	struct loader l;
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	if (!limits)
		limits = &defaults;
	memset(&l, 0, sizeof(l));
	l.path = path;
	l.err = err;
	if ((rc = fg_open_regular(&fd, path, O_RDONLY, 0, err)) < 0)
		return rc;
	rc = fg_read_fd_bounded(&data, &len, fd, limits->max_bytes, err);
	if (rc == FG_ELIMIT && fstat(fd, &st) == 0)
		rc = fail_at(&l, FG_ELIMIT, &origin,
			     "file is %lld bytes, more than the limit of %zu; split it",
			     (long long)st.st_size, limits->max_bytes);
	else if (rc < 0)
		fg_error_prefix(err, "'%s'", path);
	close(fd);
	if (rc < 0)
		return rc;
	rc = fg_yaml_load_buffer(out, path, data, len, limits, err);
	free(data);
	return rc;
}

int fg_yaml_doc_location(const struct fg_yaml_doc *doc, const char *pointer,
			 int *line, int *column)
{
	json_t *loc = doc && doc->locations ? json_object_get(doc->locations, pointer)
					    : NULL;
	json_int_t v;

	*line = *column = 0;
	if (!loc)
		return FG_ENOTFOUND;
	v = json_integer_value(loc);
	*line = (int)(v >> 20);
	*column = (int)(v & 0xfffff);
	return 0;
}

void fg_yaml_doc_free(struct fg_yaml_doc *doc)
{
	if (!doc)
		return;
	json_decref(doc->root);
	json_decref(doc->locations);
	free(doc->path);
	free(doc);
}
