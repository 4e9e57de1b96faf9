/*
 * schema_validate.c: validates jansson values against a compiled schema
 * set (see schema.c), collecting one fg_diag per violation.
 */
#include "schema.h"
#include "buf.h"
#include "ecma_regex.h"
#include "schema_format.h"
#include "schema_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX 400
/* Nested anyOf/oneOf make validation exponential in the schema's depth
 * (for every validator); a pushed schema must not stall the hook, so one
 * validation gets this many schema evaluations, far above any real fleet
 * file's needs. */
#define MAX_STEPS 5000000UL

/* ---- JSON helpers ---- */

/* JSON equality as JSON Schema means it: 1 and 1.0 are the same number. */
static int json_same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b),
			       json_string_length(a));
	case JSON_ARRAY: {
		size_t i, n = json_array_size(a);

		if (n != json_array_size(b))
			return 0;
		for (i = 0; i < n; i++)
			if (!json_same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	case JSON_OBJECT: {
		const char *k;
		json_t *v, *o;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v) {
			o = json_object_get(b, k);
			if (!o || !json_same(v, o))
				return 0;
		}
		return 1;
	}
	default:
		return 1; /* true, false, null: the type says it all */
	}
}

/* A hash that agrees with json_same: equal values hash equally. */
static uint64_t json_hash(const json_t *v)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i, n;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL: {
		double d = json_number_value(v);
		unsigned char bytes[sizeof(d)];

		if (d == 0)
			d = 0; /* -0 equals 0 */
		memcpy(bytes, &d, sizeof(d));
		for (i = 0; i < sizeof(d); i++)
			h = (h ^ bytes[i]) * 1099511628211ULL;
		return h;
	}
	case JSON_STRING: {
		const unsigned char *p = (const unsigned char *)json_string_value(v);

		n = json_string_length(v);
		for (i = 0; i < n; i++)
			h = (h ^ p[i]) * 1099511628211ULL;
		return h;
	}
	case JSON_ARRAY:
		n = json_array_size(v);
		for (i = 0; i < n; i++)
			h = (h ^ json_hash(json_array_get(v, i))) * 1099511628211ULL;
		return h ^ 0xa77a;
	case JSON_OBJECT: {
		const char *k;
		json_t *m;
		uint64_t sum = 0x0b7ec7;

		json_object_foreach((json_t *)v, k, m) {
			uint64_t kh = 1469598103934665603ULL;
			const char *p;

			/* k itself must not move: the foreach finds the next key by it */
			for (p = k; *p; p++)
				kh = (kh ^ (unsigned char)*p) * 1099511628211ULL;
			sum += (kh ^ (json_hash(m) * 0x9E3779B97F4A7C15ULL));
		}
		return sum; /* order-independent, like object equality */
	}
	case JSON_TRUE: return 0x7e;
	case JSON_FALSE: return 0xfa;
	default: return 0x11;
	}
}

struct hashed {
	uint64_t h;
	size_t i;
};

static int cmp_hashed(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Finds two equal items in O(n log n): a pushed array of 100,000 items must
 * not cost 5e9 comparisons. Returns 1 and the pair, 0, or FG_ENOMEM. */
static int find_duplicate(const json_t *arr, size_t *first, size_t *second)
{
	size_t n = json_array_size(arr), i, j, k;
	struct hashed *hs;
	int found = 0;

	if (n < 2)
		return 0;
	hs = malloc(n * sizeof(*hs));
	if (!hs)
		return FG_ENOMEM;
	for (i = 0; i < n; i++) {
		hs[i].h = json_hash(json_array_get(arr, i));
		hs[i].i = i;
	}
	qsort(hs, n, sizeof(*hs), cmp_hashed);
	for (i = 0; i < n && !found; i = j) {
		for (j = i + 1; j < n && hs[j].h == hs[i].h; j++)
			;
		for (k = i; k < j && !found; k++) {
			size_t m;

			for (m = k + 1; m < j; m++) {
				if (json_same(json_array_get(arr, hs[k].i),
					      json_array_get(arr, hs[m].i))) {
					*first = hs[k].i;
					*second = hs[m].i;
					found = 1;
					break;
				}
			}
		}
	}
	free(hs);
	return found;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static int is_integral(const json_t *v)
{
	if (json_is_integer(v))
		return 1;
	if (json_is_real(v))
		return double_is_whole(json_real_value(v));
	return 0;
}

static int type_matches(const char *t, const json_t *v)
{
	switch (t[0]) {
	case 'n':
		return t[1] == 'u' && t[2] == 'l' ? json_is_null(v) : json_is_number(v);
	case 'b': return json_is_boolean(v);
	case 'o': return json_is_object(v);
	case 'a': return json_is_array(v);
	case 'i': return is_integral(v);
	case 's': return json_is_string(v);
	default: return 0;
	}
}

static size_t utf8_length(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* Appends a short human rendering of a schema's own value (an enum item, a
 * limit): 'text' for strings. Never used for an instance value, which may be
 * a secret: messages name the place and the type, not the value. */
static void render(struct fg_buf *b, const json_t *v, int quote)
{
	char *text;

	if (json_is_string(v)) {
		size_t len = json_string_length(v);
		const char *q = quote ? "'" : "";

		const char *str = json_string_value(v);
		size_t cut = len;

		if (len > 60) {
			/* cut on a code point boundary: messages stay valid UTF-8 */
			cut = 57;
			while (cut > 0 && ((unsigned char)str[cut] & 0xC0) == 0x80)
				cut--;
		}
		fg_buf_puts(b, q);
		fg_buf_put(b, str, cut);
		fg_buf_puts(b, cut < len ? "..." : "");
		fg_buf_puts(b, q);
		return;
	}
	if (json_is_object(v)) {
		fg_buf_puts(b, json_object_size(v) ? "an object" : "{}");
		return;
	}
	if (json_is_array(v) && json_array_size(v)) {
		fg_buf_puts(b, "an array");
		return;
	}
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
	if (!text)
		b->failed = 1;
	fg_buf_puts(b, text ? text : "?");
	free(text);
}

/* ---- validation ---- */

struct vctx {
	const struct fg_schema *s;
	const struct fg_yaml_doc *doc;
	struct fg_diags *diags;   /* NULL: only the verdict is wanted */
	struct fg_error *err;
	struct fg_buf ptr;        /* instance JSON pointer */
	pcre2_match_data *md;
	pcre2_match_context *mc;  /* this call's: its match limit changes */
	struct fg_schema_budget *budget;
	int depth;
	unsigned long steps;
	int oom;  /* an allocation failed: the verdict becomes FG_ENOMEM */
	/* A regular expression could not be decided within its limit: the
	 * verdict is "invalid" whatever a not/anyOf/if around it makes of it */
	int limit_hit;
	int limit_reported;     /* a finding said so */
	const char *limit_kw;   /* the first such keyword... */
	char *limit_ptr;        /* ...and where (new memory) */
};

/* Releases a message buffer, remembering whether building it failed. */
static void buf_done(struct vctx *c, struct fg_buf *b)
{
	if (b->failed)
		c->oom = 1;
	fg_buf_release(b);
}

static int search(struct vctx *c, const pcre2_code *code, const char *s,
		  size_t len)
{
	int m = fg_ecma_regex_search(code, s, len, c->md, c->mc, &c->budget->regex);

	if (m == FG_ENOMEM)
		c->oom = 1;
	return m;
}

static void locate(struct vctx *c, int *line, int *col)
{
	char *p;
	char *slash;

	*line = *col = 0;
	if (!c->doc)
		return;
	if (fg_yaml_doc_location(c->doc, fg_buf_cstr(&c->ptr), line, col) == 0)
		return;
	/* a value the document lacks (a missing property): point at its parent */
	p = fg_strdup(fg_buf_cstr(&c->ptr));
	if (!p)
		c->oom = 1;
	while (p && (slash = strrchr(p, '/'))) {
		*slash = '\0';
		if (fg_yaml_doc_location(c->doc, p, line, col) == 0)
			break;
	}
	free(p);
}

static int report(struct vctx *c, const char *keyword, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int report(struct vctx *c, const char *keyword, const char *fmt, ...)
{
	struct fg_buf msg = FG_BUF_INIT;
	va_list ap;
	int line, col;

	if (!c->diags)
		return 1;
	va_start(ap, fmt);
	fg_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (msg.failed)
		c->oom = 1;
	locate(c, &line, &col);
	fg_diags_add(c->diags, c->doc ? c->doc->path : NULL, line, col,
		     fg_buf_cstr(&c->ptr), keyword, NULL, "%s", fg_buf_cstr(&msg));
	fg_buf_release(&msg);
	return 1;
}

static int v_schema(struct vctx *c, json_t *schema, const json_t *inst);

/* A match `kw` could not decide (search() < 0). The budget of the whole
 * check spent: an error that ends the validation, naming the keyword. A
 * per-match limit: never a pass, a finding where diags are collected and
 * a sticky "invalid" where they are not (inside not/anyOf/if). */
static int regex_limit(struct vctx *c, const char *kw, const char *what)
{
	if (c->oom)
		return 1;
	if (c->budget->regex.exhausted)
		return fg_error_set(c->err, FG_ELIMIT,
				    "the push's regular-expression budget is spent: the "
				    "schema's '%s' needs more work than one check may "
				    "spend (%llu units, at '%s')", kw,
				    FG_REGEX_BUDGET_UNITS, fg_buf_cstr(&c->ptr));
	if (!c->limit_hit) {
		c->limit_hit = 1;
		c->limit_kw = kw;
		c->limit_ptr = fg_strdup(fg_buf_cstr(&c->ptr));
		if (!c->limit_ptr)
			c->oom = 1;
	}
	if (c->diags) {
		c->limit_reported = 1;
		report(c, kw, "%s could not be matched within the backtracking limit; "
		       "simplify the schema's %s", what, kw);
	}
	return 1;
}


static size_t ptr_push_key(struct vctx *c, const char *key)
{
	size_t len = c->ptr.len;
	const char *p;

	fg_buf_putc(&c->ptr, '/');
	for (p = key; *p;) {
		size_t run = strcspn(p, "~/");

		fg_buf_put(&c->ptr, p, run);
		p += run;
		if (*p)
			fg_buf_puts(&c->ptr, *p++ == '~' ? "~0" : "~1");
	}
	return len;
}

static int v_key(struct vctx *c, json_t *schema, const json_t *inst, const char *key)
{
	size_t len = ptr_push_key(c, key);
	int rc = v_schema(c, schema, inst);

	fg_buf_truncate(&c->ptr, len);
	return rc;
}

static int v_index(struct vctx *c, json_t *schema, const json_t *inst, size_t i)
{
	size_t len = c->ptr.len;
	int rc;

	fg_buf_printf(&c->ptr, "/%zu", i);
	rc = v_schema(c, schema, inst);
	fg_buf_truncate(&c->ptr, len);
	return rc;
}

/* Validates without collecting messages: the verdict only. */
static int v_quiet(struct vctx *c, json_t *schema, const json_t *inst)
{
	struct fg_diags *saved = c->diags;
	int rc;

	c->diags = NULL;
	rc = v_schema(c, schema, inst);
	c->diags = saved;
	return rc;
}

/* Validates into a private list and appends "#i: first message" to sum. */
static int v_summarize(struct vctx *c, json_t *schema, const json_t *inst,
		       const char *label, struct fg_buf *sum)
{
	struct fg_diags *saved = c->diags;
	struct fg_diags tmp = FG_DIAGS_INIT;
	int rc;

	c->diags = &tmp;
	rc = v_schema(c, schema, inst);
	c->diags = saved;
	if (rc > 0 && sum->len < SUMMARY_MAX) {
		if (sum->len)
			fg_buf_puts(sum, "; ");
		if (tmp.count) {
			const struct fg_diag *d = &tmp.items[0];

			fg_buf_printf(sum, "%s", label);
			if (d->pointer && strcmp(d->pointer, fg_buf_cstr(&c->ptr)))
				fg_buf_printf(sum, "at '%s': ", d->pointer);
			fg_buf_puts(sum, d->message);
			if (tmp.count > 1)
				fg_buf_printf(sum, " (and %zu more)", tmp.count - 1);
		} else {
			fg_buf_printf(sum, "%sinvalid", label);
		}
	}
	if (tmp.failed)
		c->oom = 1;
	fg_diags_release(&tmp);
	return rc;
}

static int v_type(struct vctx *c, const json_t *t, const json_t *inst)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;
	json_t *e;
	int rc;

	if (json_is_string(t)) {
		if (type_matches(json_string_value(t), inst))
			return 0;
		return report(c, "type", "value is of type '%s', expected '%s'",
			      type_name(inst), json_string_value(t));
	}
	json_array_foreach(t, i, e)
		if (type_matches(json_string_value(e), inst))
			return 0;
	if (!c->diags)
		return 1;
	fg_buf_printf(&b, "value is of type '%s', expected one of [", type_name(inst));
	json_array_foreach(t, i, e)
		fg_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(e));
	fg_buf_putc(&b, ']');
	rc = report(c, "type", "%s", fg_buf_cstr(&b));
	buf_done(c, &b);
	return rc;
}

static int v_enum(struct vctx *c, const json_t *list, const json_t *inst)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;
	json_t *e;
	int rc;

	json_array_foreach(list, i, e)
		if (json_same(e, inst))
			return 0;
	if (!c->diags)
		return 1;
	fg_buf_puts(&b, "value is not one of [");
	json_array_foreach(list, i, e) {
		if (i == 20) {
			fg_buf_printf(&b, ", ... %zu more", json_array_size(list) - i);
			break;
		}
		if (i)
			fg_buf_puts(&b, ", ");
		render(&b, e, 0);
	}
	fg_buf_putc(&b, ']');
	rc = report(c, "enum", "%s", fg_buf_cstr(&b));
	buf_done(c, &b);
	return rc;
}

static int v_const(struct vctx *c, const json_t *want, const json_t *inst)
{
	struct fg_buf b = FG_BUF_INIT;
	int rc;

	if (json_same(want, inst))
		return 0;
	if (!c->diags)
		return 1;
	fg_buf_puts(&b, "value must be ");
	render(&b, want, 1);
	rc = report(c, "const", "%s", fg_buf_cstr(&b));
	buf_done(c, &b);
	return rc;
}

/* <0 when a < b, 0 equal, >0 greater; exact for two integers. */
static int num_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);

		return x < y ? -1 : x > y;
	} else {
		double x = json_number_value(a), y = json_number_value(b);

		return x < y ? -1 : x > y;
	}
}

static int v_number(struct vctx *c, const char *k, const json_t *limit,
		    const json_t *inst)
{
	struct fg_buf b = FG_BUF_INIT;
	int cmp, bad = 0, rc;
	const char *what = "";

	if (!strcmp(k, "multipleOf")) {
		if (json_is_integer(inst) && json_is_integer(limit)) {
			bad = json_integer_value(inst) % json_integer_value(limit) != 0;
		} else {
			double q = json_number_value(inst) / json_number_value(limit);
			double diff = q - round_half_away(q);
			double scale = q < 0 ? -q : q;

			if (diff < 0)
				diff = -diff;
			bad = q != q || q - q != 0 || diff > 1e-9 * (scale > 1 ? scale : 1);
		}
		what = "is not a multiple of";
	} else {
		cmp = num_cmp(inst, limit);
		if (!strcmp(k, "maximum")) {
			bad = cmp > 0;
			what = "is greater than the maximum";
		} else if (!strcmp(k, "exclusiveMaximum")) {
			bad = cmp >= 0;
			what = "must be less than";
		} else if (!strcmp(k, "minimum")) {
			bad = cmp < 0;
			what = "is less than the minimum";
		} else {
			bad = cmp <= 0;
			what = "must be greater than";
		}
	}
	if (!bad)
		return 0;
	if (!c->diags)
		return 1;
	fg_buf_printf(&b, "number %s ", what);
	render(&b, limit, 1);
	rc = report(c, k, "%s", fg_buf_cstr(&b));
	buf_done(c, &b);
	return rc;
}

static json_int_t count_of(const json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : (json_int_t)json_real_value(v);
}

static int v_string(struct vctx *c, const char *k, json_t *kv, const json_t *inst)
{
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst);
	int rc = 0;

	if (!strcmp(k, "maxLength") || !strcmp(k, "minLength")) {
		json_int_t n = (json_int_t)utf8_length(s, len), lim = count_of(kv);
		int max = k[1] == 'a';

		if (max ? n <= lim : n >= lim)
			return 0;
		if (!c->diags)
			return 1;
		rc = report(c, k, "string has %lld characters, %s %lld", (long long)n,
			    max ? "more than the maximum" : "fewer than the minimum",
			    (long long)lim);
	} else if (!strcmp(k, "pattern")) {
		const pcre2_code *code = pmap_get(&c->s->patterns, kv);
		int m;

		if (!code)
			return fg_error_set(c->err, FG_EINVALID,
					    "pattern '%s' was not compiled", json_string_value(kv));
		m = search(c, code, s, len);
		if (m == 1)
			return 0;
		if (m < 0)
			return regex_limit(c, k, "string");
		if (!c->diags)
			return 1;
		rc = report(c, k, "string does not match pattern '%s'",
			    json_string_value(kv));
	} else if (!strcmp(k, "format")) {
		/* compiling a pushed regex costs about its length */
		if (!strcmp(json_string_value(kv), "regex") &&
		    fg_ecma_regex_charge(&c->budget->regex, len + 1) < 0)
			return regex_limit(c, "format", "regex");
		if (fg_schema_format_check(json_string_value(kv), s, len) != 0)
			return 0;
		if (!c->diags)
			return 1;
		rc = report(c, k, "string is not a valid %s", json_string_value(kv));
	}
	return rc;
}

static int v_items(struct vctx *c, json_t *schema, json_t *items, const json_t *inst)
{
	size_t i, n = json_array_size(inst), ntuple;
	json_t *extra;
	int rc, bad = 0;

	if (!json_is_array(items)) {
		for (i = 0; i < n; i++) {
			rc = v_index(c, items, json_array_get(inst, i), i);
			if (rc < 0 || (rc && !c->diags))
				return rc;
			bad |= rc;
		}
		return bad;
	}
	ntuple = json_array_size(items);
	extra = json_object_get(schema, "additionalItems");
	for (i = 0; i < n; i++) {
		json_t *sub = i < ntuple ? json_array_get(items, i) : extra;

		if (!sub)
			break;
		if (i >= ntuple && json_is_false(sub)) {
			rc = report(c, "additionalItems",
				    "array has %zu items, only %zu are allowed", n, ntuple);
			return rc;
		}
		rc = v_index(c, sub, json_array_get(inst, i), i);
		if (rc < 0 || (rc && !c->diags))
			return rc;
		bad |= rc;
	}
	return bad;
}

static int v_array(struct vctx *c, json_t *schema, const char *k, json_t *kv,
		   const json_t *inst)
{
	size_t n = json_array_size(inst), i, j;

	if (!strcmp(k, "items"))
		return v_items(c, schema, kv, inst);
	if (!strcmp(k, "maxItems") || !strcmp(k, "minItems")) {
		json_int_t lim = count_of(kv);
		int max = k[1] == 'a';

		if (max ? (json_int_t)n <= lim : (json_int_t)n >= lim)
			return 0;
		return report(c, k, "array has %zu items, %s %lld", n,
			      max ? "more than the maximum" : "fewer than the minimum",
			      (long long)lim);
	}
	if (!strcmp(k, "uniqueItems")) {
		int dup;

		if (!json_is_true(kv))
			return 0;
		dup = find_duplicate(inst, &i, &j);
		if (dup < 0)
			return fg_error_oom(c->err);
		if (dup)
			return report(c, k, "items %zu and %zu are equal; "
				      "items must be unique", i, j);
		return 0;
	}
	if (!strcmp(k, "contains")) {
		for (i = 0; i < n; i++) {
			int rc = v_quiet(c, kv, json_array_get(inst, i));

			if (rc <= 0)
				return rc;
		}
		return report(c, k, "no item matches the 'contains' schema");
	}
	return 0;
}

/* 1 when `key` matches a patternProperties pattern, 0 when none, else the
 * result of regex_limit (the key is then treated as not allowed). */
static int matches_pattern_property(struct vctx *c, const struct pp_entry *pp,
				    const char *key, size_t klen)
{
	size_t i, len;
	int m;

	for (i = 0; pp && i < pp->n; i++) {
		m = search(c, pp->codes[i], key, klen);
		if (m == 0)
			continue;
		if (m == 1)
			return 1;
		len = ptr_push_key(c, key);
		m = regex_limit(c, "patternProperties", "property name");
		fg_buf_truncate(&c->ptr, len);
		return m < 0 ? m : 2;
	}
	return 0;
}

static int v_properties(struct vctx *c, json_t *props, const json_t *inst)
{
	const char *k;
	json_t *v, *sub;
	int rc, bad = 0;

	json_object_foreach((json_t *)inst, k, v) {
		sub = json_object_get(props, k);
		if (!sub)
			continue;
		rc = v_key(c, sub, v, k);
		if (rc < 0 || (rc && !c->diags))
			return rc;
		bad |= rc;
	}
	return bad;
}

static int v_pattern_properties(struct vctx *c, json_t *pprops, const json_t *inst)
{
	const struct pp_entry *pp = pmap_get(&c->s->patprops, pprops);
	const char *k;
	json_t *v;
	size_t i;
	int rc, bad = 0;

	if (!pp)
		return fg_error_set(c->err, FG_EINVALID, "patternProperties were not compiled");
	json_object_foreach((json_t *)inst, k, v) {
		for (i = 0; i < pp->n; i++) {
			int m = search(c, pp->codes[i], k, strlen(k));

			if (m < 0) {  /* never skip a sub-schema it may select */
				size_t len = ptr_push_key(c, k);

				rc = regex_limit(c, "patternProperties", "property name");
				fg_buf_truncate(&c->ptr, len);
				if (rc < 0 || !c->diags)
					return rc;
				bad = 1;
				continue;
			}
			if (m == 0)
				continue;
			rc = v_key(c, json_object_get(pprops, pp->keys[i]), v, k);
			if (rc < 0 || (rc && !c->diags))
				return rc;
			bad |= rc;
		}
	}
	return bad;
}

static int v_additional_properties(struct vctx *c, json_t *schema, json_t *extra,
				   const json_t *inst)
{
	json_t *props = json_object_get(schema, "properties");
	json_t *pprops = json_object_get(schema, "patternProperties");
	const struct pp_entry *pp = pprops ? pmap_get(&c->s->patprops, pprops) : NULL;
	const char *k;
	json_t *v;
	int rc, bad = 0;

	json_object_foreach((json_t *)inst, k, v) {
		size_t len;

		if (props && json_object_get(props, k))
			continue;
		rc = matches_pattern_property(c, pp, k, strlen(k));
		if (rc < 0 || (rc == 2 && !c->diags))
			return rc < 0 ? rc : 1;
		if (rc == 2)
			bad = 1;
		if (rc)
			continue;
		if (json_is_false(extra)) {
			if (!c->diags)
				return 1;
			len = ptr_push_key(c, k);
			report(c, "additionalProperties",
			       "additional property '%s' is not allowed", k);
			fg_buf_truncate(&c->ptr, len);
			bad = 1;
			continue;
		}
		rc = v_key(c, extra, v, k);
		if (rc < 0 || (rc && !c->diags))
			return rc;
		bad |= rc;
	}
	return bad;
}

static int v_required(struct vctx *c, const char *kw, const char *owner,
		      json_t *list, const json_t *inst)
{
	size_t i;
	json_t *name;
	int bad = 0;

	json_array_foreach(list, i, name) {
		if (json_object_getn(inst, json_string_value(name), json_string_length(name)))
			continue;
		if (!c->diags)
			return 1;
		if (owner)
			report(c, kw, "property '%s' requires property '%s'", owner,
			       json_string_value(name));
		else
			report(c, kw, "missing required property '%s'", json_string_value(name));
		bad = 1;
	}
	return bad;
}

static int v_object(struct vctx *c, json_t *schema, const char *k, json_t *kv,
		    const json_t *inst)
{
	const char *dk;
	json_t *dv;
	int rc, bad = 0;

	if (!strcmp(k, "properties"))
		return v_properties(c, kv, inst);
	if (!strcmp(k, "patternProperties"))
		return v_pattern_properties(c, kv, inst);
	if (!strcmp(k, "additionalProperties"))
		return v_additional_properties(c, schema, kv, inst);
	if (!strcmp(k, "required"))
		return v_required(c, k, NULL, kv, inst);
	if (!strcmp(k, "maxProperties") || !strcmp(k, "minProperties")) {
		size_t n = json_object_size(inst);
		json_int_t lim = count_of(kv);
		int max = k[1] == 'a';

		if (max ? (json_int_t)n <= lim : (json_int_t)n >= lim)
			return 0;
		return report(c, k, "object has %zu properties, %s %lld", n,
			      max ? "more than the maximum" : "fewer than the minimum",
			      (long long)lim);
	}
	if (!strcmp(k, "dependencies")) {
		json_object_foreach(kv, dk, dv) {
			if (!json_object_get(inst, dk))
				continue;
			if (json_is_array(dv))
				rc = v_required(c, k, dk, dv, inst);
			else
				rc = v_schema(c, dv, inst);
			if (rc < 0 || (rc && !c->diags))
				return rc;
			bad |= rc;
		}
		return bad;
	}
	if (!strcmp(k, "propertyNames")) {
		json_object_foreach((json_t *)inst, dk, dv) {
			json_t *name = json_string(dk);
			struct fg_buf sum = FG_BUF_INIT;
			size_t len = ptr_push_key(c, dk);

			if (!name)
				rc = fg_error_oom(c->err);
			else
				rc = v_quiet(c, kv, name);
			if (rc > 0 && c->diags)
				rc = v_summarize(c, kv, name, "", &sum);
			if (rc > 0)
				report(c, k, "property name '%s' is not allowed: %s", dk,
				       sum.len ? fg_buf_cstr(&sum) : "false schema");
			fg_buf_truncate(&c->ptr, len);
			buf_done(c, &sum);
			json_decref(name);
			if (rc < 0 || (rc && !c->diags))
				return rc;
			bad |= rc;
		}
		return bad;
	}
	return 0;
}

static int v_combinator(struct vctx *c, const char *k, json_t *list,
			const json_t *inst)
{
	size_t i, n = json_array_size(list), valid = 0, first = 0;
	struct fg_buf sum = FG_BUF_INIT, which = FG_BUF_INIT;
	int rc, bad = 0;
	char label[32];

	if (!strcmp(k, "allOf")) {
		for (i = 0; i < n; i++) {
			rc = v_schema(c, json_array_get(list, i), inst);
			if (rc < 0 || (rc && !c->diags))
				return rc;
			bad |= rc;
		}
		return bad;
	}
	for (i = 0; i < n; i++) {
		rc = v_quiet(c, json_array_get(list, i), inst);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (++valid == 1)
				first = i;
			else if (c->diags)
				fg_buf_printf(&which, "%s#%zu", valid == 2 ? "" : ", ", i);
			if (k[0] == 'a' || (valid == 2 && !c->diags))
				break; /* the verdict is known */
		}
	}
	if (valid == 1 || (valid && k[0] == 'a')) {
		buf_done(c, &which);
		return 0;
	}
	if (!c->diags) {
		buf_done(c, &which);
		return 1;
	}
	if (valid > 1) {
		rc = report(c, k, "value matches %zu schemas of oneOf (#%zu, %s), "
			    "exactly one must match", valid, first, fg_buf_cstr(&which));
		buf_done(c, &which);
		return rc;
	}
	rc = 0;
	for (i = 0; i < n && rc >= 0; i++) {
		snprintf(label, sizeof(label), "#%zu: ", i);
		rc = v_summarize(c, json_array_get(list, i), inst, label, &sum);
	}
	if (rc >= 0)
		rc = report(c, k, "value matches none of the %zu schemas of %s (%s)",
			    n, k, fg_buf_cstr(&sum));
	buf_done(c, &sum);
	buf_done(c, &which);
	return rc;
}

static int v_keyword(struct vctx *c, json_t *schema, const struct ckw *it,
		     const json_t *inst)
{
	const char *k = fg_schema_kw_names[it->kw];
	json_t *kv = it->v, *branch;
	int rc;

	switch (it->kw) {
	case KW_TYPE:
		return v_type(c, kv, inst);
	case KW_ENUM:
		return v_enum(c, kv, inst);
	case KW_CONST:
		return v_const(c, kv, inst);
	case KW_ALL_OF:
	case KW_ANY_OF:
	case KW_ONE_OF:
		return v_combinator(c, k, kv, inst);
	case KW_NOT:
		rc = v_quiet(c, kv, inst);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		return report(c, k, "value must not match the 'not' schema");
	case KW_IF:
		rc = v_quiet(c, kv, inst);
		if (rc < 0)
			return rc;
		branch = json_object_get(schema, rc == 0 ? "then" : "else");
		return branch ? v_schema(c, branch, inst) : 0;
	case KW_MULTIPLE_OF:
	case KW_MAXIMUM:
	case KW_EXCL_MAXIMUM:
	case KW_MINIMUM:
	case KW_EXCL_MINIMUM:
		return json_is_number(inst) ? v_number(c, k, kv, inst) : 0;
	case KW_MAX_LENGTH:
	case KW_MIN_LENGTH:
	case KW_PATTERN:
	case KW_FORMAT:
		return json_is_string(inst) ? v_string(c, k, kv, inst) : 0;
	case KW_ITEMS:
	case KW_MAX_ITEMS:
	case KW_MIN_ITEMS:
	case KW_UNIQUE_ITEMS:
	case KW_CONTAINS:
		return json_is_array(inst) ? v_array(c, schema, k, kv, inst) : 0;
	case KW_MAX_PROPERTIES:
	case KW_MIN_PROPERTIES:
	case KW_REQUIRED:
	case KW_PROPERTIES:
	case KW_PATTERN_PROPERTIES:
	case KW_ADDITIONAL_PROPERTIES:
	case KW_DEPENDENCIES:
	case KW_PROPERTY_NAMES:
		return json_is_object(inst) ? v_object(c, schema, k, kv, inst) : 0;
	case KW_OTHER:
		break;
	}
	return 0;
}

static int v_ref(struct vctx *c, json_t *schema, const json_t *inst)
{
	const struct ref_entry *e = pmap_get(&c->s->refs, schema);

	if (!e)
		return fg_error_set(c->err, FG_EINVALID, "$ref '%s' was not compiled",
				    json_string_value(json_object_get(schema, "$ref")));
	if (!e->target)
		return fg_error_set(c->err, FG_ENOTFOUND,
				    "unresolvable $ref '%s': no schema with that URI "
				    "was registered", e->uri);
	if (!json_is_object(e->target) && !json_is_boolean(e->target))
		return fg_error_set(c->err, FG_EINVALID,
				    "$ref '%s' does not point to a schema", e->uri);
	return v_schema(c, e->target, inst);
}

static int v_schema(struct vctx *c, json_t *schema, const json_t *inst)
{
	const struct cnode *cn;
	size_t i;
	int rc = 0, bad = 0;

	if (json_is_true(schema))
		return 0;
	if (json_is_false(schema))
		return report(c, "false", "value is not allowed here");
	cn = pmap_get(&c->s->nodes, schema);
	if (!cn)
		return fg_error_set(c->err, FG_EINVALID, "schema node was not compiled");
	if (cn->broken)
		return fg_error_set(c->err, FG_EINVALID,
				    "a $ref leads to a malformed schema (checked at '%s')",
				    fg_buf_cstr(&c->ptr));
	if (++c->depth > MAX_DEPTH) {
		rc = fg_error_set(c->err, FG_ELIMIT,
				  "schema recursion deeper than %d at '%s' (a $ref loop?)",
				  MAX_DEPTH, fg_buf_cstr(&c->ptr));
		goto out;
	}
	if (!c->budget->steps) {
		c->budget->steps_exhausted = 1;
		rc = fg_error_set(c->err, FG_ELIMIT,
				  "the push's schema budget is spent: validating needs "
				  "more schema evaluations than one check may spend "
				  "(%llu); simplify nested anyOf/oneOf/$ref",
				  FG_SCHEMA_STEP_BUDGET);
		goto out;
	}
	c->budget->steps--;
	if (++c->steps > MAX_STEPS) {
		rc = fg_error_set(c->err, FG_ELIMIT,
				  "validation needs more than %lu schema evaluations; "
				  "simplify nested anyOf/oneOf", MAX_STEPS);
		goto out;
	}
	if (cn->ref) {
		rc = v_ref(c, schema, inst); /* draft 7: siblings are ignored */
		goto out;
	}
	for (i = 0; i < cn->n; i++) {
		rc = v_keyword(c, schema, &cn->items[i], inst);
		if (rc < 0)
			break;
		if (rc) {
			bad = 1;
			if (!c->diags)
				break;
		}
	}
	if (rc >= 0)
		rc = bad;
out:
	c->depth--;
	return rc;
}

int fg_schema_validate_budget(const struct fg_schema *schema, const json_t *instance,
			      const struct fg_yaml_doc *doc,
			      struct fg_schema_budget *budget, struct fg_diags *diags,
			      struct fg_error *err)
{
	struct vctx c = { .s = schema, .doc = doc, .diags = diags, .err = err,
			  .ptr = FG_BUF_INIT, .budget = budget };
	int rc;

	if (!schema || !instance || !budget)
		return fg_error_set(err, FG_EINVALID, "validate needs a schema and an instance");
	c.md = pcre2_match_data_create(1, NULL);
	c.mc = pcre2_match_context_copy(schema->mc);
	if (!c.md || !c.mc) {
		rc = fg_error_oom(err);
		goto out;
	}
	rc = v_schema(&c, schema->root, instance);
	if (rc >= 0 && c.limit_hit && !c.limit_reported && diags && c.limit_ptr) {
		/* a not/anyOf/if turned an undecided match into a verdict */
		fg_buf_truncate(&c.ptr, 0);
		fg_buf_puts(&c.ptr, c.limit_ptr);
		report(&c, c.limit_kw, "value could not be checked: a regular expression "
		       "of '%s' hit the backtracking limit; simplify the schema", c.limit_kw);
	}
	if (rc >= 0 && c.limit_hit)
		rc = 1;
	if (rc >= 0 && (c.oom || c.ptr.failed || (diags && diags->failed)))
		rc = fg_error_oom(err);
out:
	pcre2_match_data_free(c.md);
	pcre2_match_context_free(c.mc);
	fg_buf_release(&c.ptr);
	free(c.limit_ptr);
	return rc;
}

int fg_schema_validate(const struct fg_schema *schema, const json_t *instance,
		       const struct fg_yaml_doc *doc, struct fg_diags *diags,
		       struct fg_error *err)
{
	struct fg_schema_budget budget = FG_SCHEMA_BUDGET_INIT;

	return fg_schema_validate_budget(schema, instance, doc, &budget, diags, err);
}
