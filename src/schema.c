/*
 * schema.c: JSON Schema draft 7 over jansson values.
 *
 * fg_schema_new walks every schema document once: it checks keyword types,
 * compiles every regular expression (so a bad one is reported with its
 * schema pointer and validation never compiles), and records the base URI
 * of every "$ref" so validation only looks references up. Validation then
 * interprets the schema objects directly.
 */
#include "schema.h"
#include "buf.h"
#include "ecma_regex.h"
#include "schema_format.h"
#include "schema_uri.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any sane schema; stops "$ref" loops that never consume
 * instance (e.g. {"$ref": "#"}) before they exhaust the stack. */
#define MAX_DEPTH 400
#define SUMMARY_MAX 400
/* Nested anyOf/oneOf make validation exponential in the schema's depth
 * (for every validator); a pushed schema must not stall the hook, so one
 * validation gets this many schema evaluations, far above any real fleet
 * file's needs. */
#define MAX_STEPS 5000000UL

static int double_is_whole(double d);

/* ---- a small pointer-keyed hash map (json_t node -> entry) ---- */

struct pmap {
	const void **keys;
	void **vals;
	size_t cap;
	size_t n;
};

static size_t pmap_slot(const struct pmap *m, const void *key)
{
	uint64_t h = (uint64_t)(uintptr_t)key;

	h ^= h >> 29;
	h *= 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 17) & (m->cap - 1);
}

static void *pmap_get(const struct pmap *m, const void *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = pmap_slot(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NULL;
}

static int pmap_put(struct pmap *m, const void *key, void *val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct pmap g = { NULL, NULL, m->cap ? m->cap * 2 : 64, 0 };
		size_t j;

		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return FG_ENOMEM;
		}
		for (j = 0; j < m->cap; j++)
			if (m->keys[j])
				pmap_put(&g, m->keys[j], m->vals[j]);
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	for (i = pmap_slot(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			break;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

static void pmap_release(struct pmap *m, void (*free_val)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->keys[i] && free_val)
			free_val(m->vals[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- the compiled schema set ---- */

struct ref_entry {
	char *uri;      /* absolute, with fragment */
	json_t *target; /* borrowed from a registered document; NULL until found */
};

struct pp_entry {
	size_t n;
	const char **keys;   /* borrowed from the patternProperties object */
	pcre2_code **codes;
};

/* Keyword ids: validation dispatches on these instead of comparing
 * strings, which keeps a 100,000-file check cheap. */
enum kw {
	KW_OTHER, KW_TYPE, KW_ENUM, KW_CONST, KW_MULTIPLE_OF, KW_MAXIMUM,
	KW_EXCL_MAXIMUM, KW_MINIMUM, KW_EXCL_MINIMUM, KW_MAX_LENGTH,
	KW_MIN_LENGTH, KW_PATTERN, KW_FORMAT, KW_ITEMS, KW_MAX_ITEMS,
	KW_MIN_ITEMS, KW_UNIQUE_ITEMS, KW_CONTAINS, KW_MAX_PROPERTIES,
	KW_MIN_PROPERTIES, KW_REQUIRED, KW_PROPERTIES, KW_PATTERN_PROPERTIES,
	KW_ADDITIONAL_PROPERTIES, KW_DEPENDENCIES, KW_PROPERTY_NAMES, KW_IF,
	KW_ALL_OF, KW_ANY_OF, KW_ONE_OF, KW_NOT
};

static const char *const kw_names[] = {
	"", "type", "enum", "const", "multipleOf", "maximum",
	"exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
	"minLength", "pattern", "format", "items", "maxItems",
	"minItems", "uniqueItems", "contains", "maxProperties",
	"minProperties", "required", "properties", "patternProperties",
	"additionalProperties", "dependencies", "propertyNames", "if",
	"allOf", "anyOf", "oneOf", "not"
};

static enum kw kw_lookup(const char *k)
{
	size_t i;

	for (i = 1; i < sizeof(kw_names) / sizeof(kw_names[0]); i++)
		if (!strcmp(k, kw_names[i]))
			return (enum kw)i;
	return KW_OTHER; /* then, else, additionalItems ride along with if, items */
}

struct ckw {
	enum kw kw;
	json_t *v;
};

/* One schema object, ready for validation. */
struct cnode {
	int broken;   /* reached only by "$ref": malformed keywords */
	json_t *ref;  /* the node itself when it holds "$ref" (siblings ignored) */
	size_t n;
	struct ckw items[];
};

struct fg_schema {
	json_t *root;
	json_t *docs;      /* array: a reference to every registered document */
	json_t *registry;  /* absolute URI (or URI#anchor) -> schema node */
	struct pmap refs;      /* object holding "$ref" -> struct ref_entry */
	struct pmap patterns;  /* "pattern" string node -> pcre2_code */
	struct pmap patprops;  /* patternProperties object -> struct pp_entry */
	struct pmap nodes;     /* schema object -> struct cnode */
	pcre2_match_context *mc;
};

static void free_ref_entry(void *p)
{
	struct ref_entry *e = p;

	free(e->uri);
	free(e);
}

static void free_code(void *p)
{
	pcre2_code_free(p);
}

static void free_pp_entry(void *p)
{
	struct pp_entry *e = p;
	size_t i;

	for (i = 0; i < e->n; i++)
		pcre2_code_free(e->codes[i]);
	free(e->codes);
	free(e->keys);
	free(e);
}

void fg_schema_free(struct fg_schema *s)
{
	if (!s)
		return;
	json_decref(s->root);
	json_decref(s->docs);
	json_decref(s->registry);
	pmap_release(&s->refs, free_ref_entry);
	pmap_release(&s->patterns, free_code);
	pmap_release(&s->patprops, free_pp_entry);
	pmap_release(&s->nodes, free);
	pcre2_match_context_free(s->mc);
	free(s);
}

/* ---- compiling: the walk over a schema document ---- */

struct walk {
	struct fg_schema *s;
	struct fg_buf sp;   /* schema pointer of the node being walked */
	struct fg_error *err;
	int depth;
	int broken;         /* the node being walked leniently is malformed */
};

static int schema_error(struct walk *w, const char *what)
{
	return fg_error_set(w->err, FG_EINVALID, "invalid schema at '#%s': %s",
			    fg_buf_cstr(&w->sp), what);
}

static size_t sp_push(struct walk *w, const char *key)
{
	size_t len = w->sp.len;
	const char *p;

	fg_buf_putc(&w->sp, '/');
	for (p = key; *p; p++) {
		if (*p == '~')
			fg_buf_puts(&w->sp, "~0");
		else if (*p == '/')
			fg_buf_puts(&w->sp, "~1");
		else
			fg_buf_putc(&w->sp, *p);
	}
	return len;
}

static size_t sp_push_index(struct walk *w, size_t i)
{
	size_t len = w->sp.len;

	fg_buf_printf(&w->sp, "/%zu", i);
	return len;
}

static void strip_fragment(char *uri)
{
	char *hash = strchr(uri, '#');

	if (hash)
		*hash = '\0';
}

static int registry_add(struct walk *w, const char *uri, json_t *node)
{
	/* The first registration wins: a document's own "$id" must not be
	 * shadowed by a later copy of the same URI. */
	if (json_object_get(w->s->registry, uri))
		return 0;
	if (json_object_set(w->s->registry, uri, node) < 0)
		return fg_error_oom(w->err);
	return 0;
}

static int walk_schema(struct walk *w, json_t *node, const char *base, int strict);

static int walk_child(struct walk *w, const char *key, json_t *node,
		      const char *base, int strict)
{
	size_t len = sp_push(w, key);
	int rc = walk_schema(w, node, base, strict);

	fg_buf_truncate(&w->sp, len);
	return rc;
}

static int walk_array(struct walk *w, const char *key, json_t *arr,
		      const char *base, int strict, int nonempty)
{
	size_t len = sp_push(w, key), i, ilen;
	json_t *v;
	int rc = 0;

	if (!json_is_array(arr) || (nonempty && !json_array_size(arr))) {
		if (strict)
			rc = schema_error(w, nonempty ? "must be a non-empty array of schemas"
						      : "must be an array of schemas");
		goto out;
	}
	json_array_foreach(arr, i, v) {
		ilen = sp_push_index(w, i);
		rc = walk_schema(w, v, base, strict);
		fg_buf_truncate(&w->sp, ilen);
		if (rc < 0)
			break;
	}
out:
	fg_buf_truncate(&w->sp, len);
	return rc;
}

static int walk_map(struct walk *w, const char *key, json_t *map,
		    const char *base, int strict)
{
	size_t len = sp_push(w, key);
	const char *k;
	json_t *v;
	int rc = 0;

	if (!json_is_object(map)) {
		if (strict)
			rc = schema_error(w, "must be an object of schemas");
		goto out;
	}
	json_object_foreach(map, k, v) {
		rc = walk_child(w, k, v, base, strict);
		if (rc < 0)
			break;
	}
out:
	fg_buf_truncate(&w->sp, len);
	return rc;
}

static int compile_regex(struct walk *w, const char *key, const char *pattern,
			 size_t plen, pcre2_code **out)
{
	size_t len = sp_push(w, key);
	int rc = fg_ecma_regex_compile(out, pattern, plen, w->err);

	if (rc == FG_EINVALID)
		fg_error_prefix(w->err, "invalid schema at '#%s'", fg_buf_cstr(&w->sp));
	fg_buf_truncate(&w->sp, len);
	return rc;
}

static int walk_pattern_properties(struct walk *w, json_t *map, const char *base,
				   int strict)
{
	struct pp_entry *e;
	const char *k;
	json_t *v;
	size_t len;
	int rc;

	if (!json_is_object(map))
		return strict ? schema_error(w, "patternProperties must be an object") : 0;
	if (pmap_get(&w->s->patprops, map))
		return 0;
	e = calloc(1, sizeof(*e));
	if (e) {
		e->keys = calloc(json_object_size(map) + 1, sizeof(*e->keys));
		e->codes = calloc(json_object_size(map) + 1, sizeof(*e->codes));
	}
	if (!e || !e->keys || !e->codes || pmap_put(&w->s->patprops, map, e) < 0) {
		if (e)
			free_pp_entry(e);
		return fg_error_oom(w->err);
	}
	len = sp_push(w, "patternProperties");
	rc = 0;
	json_object_foreach(map, k, v) {
		rc = compile_regex(w, k, k, strlen(k), &e->codes[e->n]);
		if (rc < 0)
			break;
		e->keys[e->n++] = k;
		rc = walk_child(w, k, v, base, strict);
		if (rc < 0)
			break;
	}
	fg_buf_truncate(&w->sp, len);
	if (rc < 0 && !strict && rc != FG_ENOMEM)
		w->broken = 1;
	return (rc < 0 && strict) || rc == FG_ENOMEM ? rc : 0;
}

static int is_count(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) >= 0;
	if (json_is_real(v))
		return json_real_value(v) >= 0 && double_is_whole(json_real_value(v));
	return 0;
}

static int valid_type_name(const char *t)
{
	static const char *names[] = { "null", "boolean", "object", "array",
				       "number", "integer", "string", NULL };
	int i;

	for (i = 0; names[i]; i++)
		if (!strcmp(t, names[i]))
			return 1;
	return 0;
}

static int check_type_keyword(const json_t *v)
{
	size_t i;
	json_t *t;

	if (json_is_string(v))
		return valid_type_name(json_string_value(v));
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, t)
		if (!json_is_string(t) || !valid_type_name(json_string_value(t)))
			return 0;
	return 1;
}

static int check_string_array(const json_t *v)
{
	size_t i;
	json_t *t;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, t)
		if (!json_is_string(t))
			return 0;
	return 1;
}

static int add_ref(struct walk *w, json_t *node, const char *base, const char *ref)
{
	struct ref_entry *e;

	if (pmap_get(&w->s->refs, node))
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->uri = fg_uri_resolve(base, ref)) ||
	    pmap_put(&w->s->refs, node, e) < 0) {
		if (e)
			free_ref_entry(e);
		return fg_error_oom(w->err);
	}
	return 0;
}

/* Registers "$id" and returns the base URI for the node's children in
 * *child_base (new memory), or NULL when the base does not change. */
static int walk_id(struct walk *w, json_t *node, const char *base,
		   char **child_base)
{
	json_t *id = json_object_get(node, "$id");
	char *abs;
	const char *hash;
	int rc = 0;

	*child_base = NULL;
	if (!id || json_object_get(node, "$ref"))
		return 0; /* draft 7: siblings of "$ref" are ignored */
	if (!json_is_string(id)) {
		w->broken = 1;
		return 0; /* walk_keyword reports it where it matters */
	}
	abs = fg_uri_resolve(base, json_string_value(id));
	if (!abs)
		return fg_error_oom(w->err);
	hash = strchr(abs, '#');
	if (hash && hash[1] && hash[1] != '/') {
		/* a plain-name fragment: a location-independent identifier */
		rc = registry_add(w, abs, node);
		if (rc == 0 && hash != abs) {
			strip_fragment(abs);
			if (strcmp(abs, base) != 0) {
				rc = registry_add(w, abs, node);
				*child_base = abs;
				abs = NULL;
			}
		}
	} else {
		strip_fragment(abs);
		rc = registry_add(w, abs, node);
		*child_base = abs;
		abs = NULL;
	}
	free(abs);
	return rc;
}

static int walk_keyword(struct walk *w, const char *k, json_t *v,
			const char *base, int strict)
{
	size_t len;
	int rc = 0;

#define BAD(msg) do { if (!strict) { w->broken = 1; return 0; } len = sp_push(w, k); \
		rc = schema_error(w, msg); fg_buf_truncate(&w->sp, len); \
		return rc; } while (0)

	if (!strcmp(k, "enum")) {
		if (!json_is_array(v))
			BAD("enum must be an array");
	} else if (!strcmp(k, "$id")) {
		if (!json_is_string(v))
			BAD("$id must be a string");
	} else if (!strcmp(k, "const") || !strcmp(k, "default") ||
		   !strcmp(k, "examples") ||
		   !strcmp(k, "$schema") || !strcmp(k, "title") ||
		   !strcmp(k, "description") || !strcmp(k, "$comment")) {
		/* values, not schemas: nothing inside is an identifier */
	} else if (!strcmp(k, "$ref")) {
		if (!json_is_string(v))
			BAD("$ref must be a string");
	} else if (!strcmp(k, "type")) {
		if (!check_type_keyword(v))
			BAD("type must be a type name or an array of type names");
	} else if (!strcmp(k, "pattern")) {
		pcre2_code *code;

		if (!json_is_string(v))
			BAD("pattern must be a string");
		if (pmap_get(&w->s->patterns, v))
			return 0;
		rc = compile_regex(w, k, json_string_value(v), json_string_length(v),
				   &code);
		if (rc < 0 && !strict && rc != FG_ENOMEM)
			w->broken = 1;
		if (rc < 0)
			return strict || rc == FG_ENOMEM ? rc : 0;
		if (pmap_put(&w->s->patterns, v, code) < 0) {
			pcre2_code_free(code);
			return fg_error_oom(w->err);
		}
	} else if (!strcmp(k, "format")) {
		if (!json_is_string(v))
			BAD("format must be a string");
	} else if (!strcmp(k, "multipleOf")) {
		if (!json_is_number(v) || json_number_value(v) <= 0)
			BAD("multipleOf must be a number greater than 0");
	} else if (!strcmp(k, "maximum") || !strcmp(k, "minimum") ||
		   !strcmp(k, "exclusiveMaximum") || !strcmp(k, "exclusiveMinimum")) {
		if (!json_is_number(v))
			BAD("must be a number");
	} else if (!strcmp(k, "maxLength") || !strcmp(k, "minLength") ||
		   !strcmp(k, "maxItems") || !strcmp(k, "minItems") ||
		   !strcmp(k, "maxProperties") || !strcmp(k, "minProperties")) {
		if (!is_count(v))
			BAD("must be a non-negative integer");
	} else if (!strcmp(k, "required")) {
		if (!check_string_array(v))
			BAD("required must be an array of strings");
	} else if (!strcmp(k, "uniqueItems")) {
		if (!json_is_boolean(v))
			BAD("uniqueItems must be a boolean");
	} else if (!strcmp(k, "items")) {
		if (json_is_array(v))
			return walk_array(w, k, v, base, strict, 0);
		return walk_child(w, k, v, base, strict);
	} else if (!strcmp(k, "additionalItems") || !strcmp(k, "contains") ||
		   !strcmp(k, "additionalProperties") || !strcmp(k, "propertyNames") ||
		   !strcmp(k, "if") || !strcmp(k, "then") || !strcmp(k, "else") ||
		   !strcmp(k, "not")) {
		return walk_child(w, k, v, base, strict);
	} else if (!strcmp(k, "properties") || !strcmp(k, "definitions")) {
		return walk_map(w, k, v, base, strict);
	} else if (!strcmp(k, "patternProperties")) {
		return walk_pattern_properties(w, v, base, strict);
	} else if (!strcmp(k, "allOf") || !strcmp(k, "anyOf") || !strcmp(k, "oneOf")) {
		return walk_array(w, k, v, base, strict, 1);
	} else if (!strcmp(k, "dependencies")) {
		const char *dk;
		json_t *dv;

		if (!json_is_object(v))
			BAD("dependencies must be an object");
		len = sp_push(w, k);
		json_object_foreach(v, dk, dv) {
			if (json_is_array(dv)) {
				if (!check_string_array(dv) && strict) {
					size_t l2 = sp_push(w, dk);

					rc = schema_error(w, "must be an array of strings or a schema");
					fg_buf_truncate(&w->sp, l2);
				}
			} else {
				rc = walk_child(w, dk, dv, base, strict);
			}
			if (rc < 0)
				break;
		}
		fg_buf_truncate(&w->sp, len);
		return rc;
	} else if (json_is_object(v)) {
		/* unknown keyword: "$ref" may still point into it */
		return walk_child(w, k, v, base, 0);
	} else if (json_is_array(v)) {
		return walk_array(w, k, v, base, 0, 0);
	}
	return 0;
#undef BAD
}

static int build_node(struct walk *w, json_t *node, int broken)
{
	struct cnode *cn;
	const char *k;
	json_t *v;
	size_t n = 0;

	if (pmap_get(&w->s->nodes, node))
		return 0;
	cn = calloc(1, sizeof(*cn) + json_object_size(node) * sizeof(cn->items[0]));
	if (!cn)
		return fg_error_oom(w->err);
	cn->broken = broken;
	if (json_is_string(json_object_get(node, "$ref")))
		cn->ref = node;
	json_object_foreach(node, k, v) {
		enum kw kw = kw_lookup(k);

		if (kw == KW_OTHER)
			continue;
		cn->items[n].kw = kw;
		cn->items[n++].v = v;
	}
	cn->n = n;
	if (pmap_put(&w->s->nodes, node, cn) < 0) {
		free(cn);
		return fg_error_oom(w->err);
	}
	return 0;
}

static int walk_schema(struct walk *w, json_t *node, const char *base, int strict)
{
	char *child_base = NULL;
	const char *k;
	json_t *v, *ref;
	int rc = 0, saved_broken = w->broken;

	if (json_is_boolean(node))
		return 0;
	if (!json_is_object(node))
		return strict ? schema_error(w, "a schema must be an object or a boolean") : 0;
	if (++w->depth > MAX_DEPTH) {
		rc = fg_error_set(w->err, FG_ELIMIT, "schema at '#%s' nests too deeply",
				  fg_buf_cstr(&w->sp));
		goto out;
	}
	rc = walk_id(w, node, base, &child_base);
	if (rc < 0)
		goto out;
	if (child_base)
		base = child_base;
	ref = json_object_get(node, "$ref");
	if (json_is_string(ref)) {
		rc = add_ref(w, node, base, json_string_value(ref));
		if (rc < 0)
			goto out;
	}
	w->broken = 0;
	json_object_foreach(node, k, v) {
		rc = walk_keyword(w, k, v, base, strict);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = build_node(w, node, w->broken);
out:
	w->broken = saved_broken;
	w->depth--;
	free(child_base);
	return rc;
}

static json_t *lookup_uri(const struct fg_schema *s, const char *uri)
{
	const char *hash = strchr(uri, '#');
	char *docuri, *frag;
	json_t *doc, *node;

	if (!hash)
		return json_object_get(s->registry, uri);
	docuri = strndup(uri, (size_t)(hash - uri));
	if (!docuri)
		return NULL;
	doc = json_object_get(s->registry, docuri);
	free(docuri);
	if (!doc)
		return NULL;
	if (!hash[1])
		return doc;
	frag = fg_uri_percent_decode(hash + 1);
	if (!frag)
		return NULL;
	if (frag[0] == '/')
		node = fg_json_pointer_get(doc, frag);
	else
		node = json_object_get(s->registry, uri);
	free(frag);
	return node;
}

/* Resolves every "$ref" not resolved yet. A target no walk reached (a
 * pointer into "default", say) is walked now, leniently, so validation
 * finds every node it can reach compiled. */
static int resolve_pending(struct fg_schema *s, struct fg_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < s->refs.cap; i++) {
		struct ref_entry *e = s->refs.vals[i];
		struct walk w = { s, FG_BUF_INIT, err, 0, 0 };
		char *base;

		if (!s->refs.keys[i] || e->target)
			continue;
		e->target = lookup_uri(s, e->uri);
		if (!e->target || !json_is_object(e->target) ||
		    pmap_get(&s->nodes, e->target))
			continue;
		base = fg_strdup(e->uri);
		if (!base)
			return fg_error_oom(err);
		strip_fragment(base);
		rc = walk_schema(&w, e->target, base, 0);
		fg_buf_release(&w.sp);
		free(base);
		i = (size_t)-1; /* the walk may have added refs: start over */
	}
	return rc;
}

static int add_document(struct fg_schema *s, json_t *doc, const char *uri,
			struct fg_error *err)
{
	struct walk w = { s, FG_BUF_INIT, err, 0, 0 };
	char *base = fg_strdup(uri ? uri : "");
	int rc;

	if (!base)
		return fg_error_oom(err);
	strip_fragment(base);
	if (json_array_append(s->docs, doc) < 0) {
		free(base);
		return fg_error_oom(err);
	}
	rc = registry_add(&w, base, doc);
	if (rc == 0)
		rc = walk_schema(&w, doc, base, 1);
	if (rc == 0 && w.sp.failed)
		rc = fg_error_oom(err);
	fg_buf_release(&w.sp);
	free(base);
	if (rc == 0)
		rc = resolve_pending(s, err);
	return rc;
}

int fg_schema_new(struct fg_schema **out, json_t *root, const char *base_uri,
		  struct fg_error *err)
{
	struct fg_schema *s;
	int rc;

	*out = NULL;
	if (!root || (!json_is_object(root) && !json_is_boolean(root)))
		return fg_error_set(err, FG_EINVALID,
				    "invalid schema: the root must be an object or a boolean");
	s = calloc(1, sizeof(*s));
	if (!s)
		return fg_error_oom(err);
	s->root = json_incref(root);
	s->docs = json_array();
	s->registry = json_object();
	s->mc = fg_ecma_regex_match_context();
	if (!s->docs || !s->registry || !s->mc) {
		fg_schema_free(s);
		return fg_error_oom(err);
	}
	rc = add_document(s, root, base_uri, err);
	if (rc < 0) {
		fg_schema_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int fg_schema_add_resource(struct fg_schema *schema, json_t *doc,
			   const char *uri, struct fg_error *err)
{
	if (!schema || !doc || !uri)
		return fg_error_set(err, FG_EINVALID, "schema resource needs a document and a URI");
	if (!json_is_object(doc) && !json_is_boolean(doc))
		return fg_error_set(err, FG_EINVALID,
				    "invalid schema '%s': the root must be an object or a boolean",
				    uri);
	return add_document(schema, doc, uri, err);
}

/* ---- JSON helpers ---- */

/* Whole-number test without libm: every double beyond 2^53 is whole. */
static int double_is_whole(double d)
{
	if (d != d || d - d != 0)
		return 0; /* NaN or infinite */
	if (d > 9007199254740992.0 || d < -9007199254740992.0)
		return 1;
	return (double)(long long)d == d;
}

static double round_half_away(double d)
{
	if (d > 9007199254740992.0 || d < -9007199254740992.0)
		return d;
	return (double)(long long)(d < 0 ? d - 0.5 : d + 0.5);
}

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

/* Appends a short human rendering of a value: 'text' for strings. */
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
	fg_buf_puts(b, text ? text : "?");
	free(text);
}

/* "value 5", "value 'x'", or "the object" where quoting would not help. */
static void put_value(struct fg_buf *b, const json_t *v)
{
	if (json_is_object(v) && json_object_size(v)) {
		fg_buf_puts(b, "the object");
	} else if (json_is_array(v) && json_array_size(v)) {
		fg_buf_puts(b, "the array");
	} else {
		fg_buf_puts(b, "value ");
		render(b, v, 1);
	}
}

/* ---- validation ---- */

struct vctx {
	const struct fg_schema *s;
	const struct fg_yaml_doc *doc;
	struct fg_diags *diags;   /* NULL: only the verdict is wanted */
	struct fg_error *err;
	struct fg_buf ptr;        /* instance JSON pointer */
	pcre2_match_data *md;
	int depth;
	unsigned long steps;
};

static void locate(const struct vctx *c, int *line, int *col)
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
	while (p && (slash = strrchr(p, '/'))) {
		*slash = '\0';
		if (fg_yaml_doc_location(c->doc, p, line, col) == 0)
			break;
	}
	free(p);
}

/* Pushed values end up in hook output that git prefixes with "remote: "
 * line by line: a newline or escape sequence in a value must not be able to
 * forge a line or recolour the terminal, so control bytes become \xNN. */
static void escape_controls(struct fg_buf *msg)
{
	struct fg_buf out = FG_BUF_INIT;
	size_t i;

	for (i = 0; i < msg->len; i++) {
		unsigned char ch = (unsigned char)msg->ptr[i];

		if (ch < 0x20 || ch == 0x7f)
			fg_buf_printf(&out, "\\x%02x", ch);
		else
			fg_buf_putc(&out, (char)ch);
	}
	if (!out.failed && out.len != msg->len) {
		fg_buf_release(msg);
		*msg = out;
	} else {
		fg_buf_release(&out);
	}
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
	escape_controls(&msg);
	locate(c, &line, &col);
	fg_diags_add(c->diags, c->doc ? c->doc->path : NULL, line, col,
		     fg_buf_cstr(&c->ptr), keyword, NULL, "%s", fg_buf_cstr(&msg));
	fg_buf_release(&msg);
	return 1;
}

static int v_schema(struct vctx *c, json_t *schema, const json_t *inst);

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
		put_value(&b, inst);
		rc = report(c, "type", "%s is of type '%s', expected '%s'",
			    fg_buf_cstr(&b), type_name(inst), json_string_value(t));
		fg_buf_release(&b);
		return rc;
	}
	json_array_foreach(t, i, e)
		if (type_matches(json_string_value(e), inst))
			return 0;
	if (!c->diags)
		return 1;
	put_value(&b, inst);
	fg_buf_printf(&b, " is of type '%s', expected one of [", type_name(inst));
	json_array_foreach(t, i, e)
		fg_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(e));
	fg_buf_putc(&b, ']');
	rc = report(c, "type", "%s", fg_buf_cstr(&b));
	fg_buf_release(&b);
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
	put_value(&b, inst);
	fg_buf_puts(&b, " is not one of [");
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
	fg_buf_release(&b);
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
	put_value(&b, inst);
	fg_buf_puts(&b, " must be ");
	render(&b, want, 1);
	rc = report(c, "const", "%s", fg_buf_cstr(&b));
	fg_buf_release(&b);
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
	put_value(&b, inst);
	fg_buf_printf(&b, " %s ", what);
	render(&b, limit, 1);
	rc = report(c, k, "%s", fg_buf_cstr(&b));
	fg_buf_release(&b);
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
	struct fg_buf b = FG_BUF_INIT;
	int rc = 0;

	if (!strcmp(k, "maxLength") || !strcmp(k, "minLength")) {
		json_int_t n = (json_int_t)utf8_length(s, len), lim = count_of(kv);
		int max = k[1] == 'a';

		if (max ? n <= lim : n >= lim)
			return 0;
		if (!c->diags)
			return 1;
		render(&b, inst, 1);
		rc = report(c, k, "string %s has %lld characters, %s %lld",
			    fg_buf_cstr(&b), (long long)n,
			    max ? "more than the maximum" : "fewer than the minimum",
			    (long long)lim);
	} else if (!strcmp(k, "pattern")) {
		const pcre2_code *code = pmap_get(&c->s->patterns, kv);
		int m;

		if (!code)
			return fg_error_set(c->err, FG_EINVALID,
					    "pattern '%s' was not compiled", json_string_value(kv));
		m = fg_ecma_regex_search(code, s, len, c->md, c->s->mc);
		if (m == 1)
			return 0;
		if (!c->diags)
			return 1;
		render(&b, inst, 1);
		if (m < 0)
			rc = report(c, k, "string %s could not be matched against pattern '%s' "
				    "within the backtracking limit", fg_buf_cstr(&b),
				    json_string_value(kv));
		else
			rc = report(c, k, "string %s does not match pattern '%s'",
				    fg_buf_cstr(&b), json_string_value(kv));
	} else if (!strcmp(k, "format")) {
		if (fg_schema_format_check(json_string_value(kv), s, len) != 0)
			return 0;
		if (!c->diags)
			return 1;
		render(&b, inst, 1);
		rc = report(c, k, "string %s is not a valid %s", fg_buf_cstr(&b),
			    json_string_value(kv));
	}
	fg_buf_release(&b);
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

static int matches_pattern_property(struct vctx *c, const struct pp_entry *pp,
				    const char *key, size_t klen)
{
	size_t i;

	for (i = 0; pp && i < pp->n; i++)
		if (fg_ecma_regex_search(pp->codes[i], key, klen, c->md, c->s->mc) == 1)
			return 1;
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
			if (fg_ecma_regex_search(pp->codes[i], k, strlen(k), c->md,
						 c->s->mc) != 1)
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
		if (matches_pattern_property(c, pp, k, strlen(k)))
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
			fg_buf_release(&sum);
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
		fg_buf_release(&which);
		return 0;
	}
	if (!c->diags) {
		fg_buf_release(&which);
		return 1;
	}
	if (valid > 1) {
		rc = report(c, k, "value matches %zu schemas of oneOf (#%zu, %s), "
			    "exactly one must match", valid, first, fg_buf_cstr(&which));
		fg_buf_release(&which);
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
	fg_buf_release(&sum);
	fg_buf_release(&which);
	return rc;
}

static int v_keyword(struct vctx *c, json_t *schema, const struct ckw *it,
		     const json_t *inst)
{
	const char *k = kw_names[it->kw];
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

int fg_schema_validate(const struct fg_schema *schema, const json_t *instance,
		       const struct fg_yaml_doc *doc, struct fg_diags *diags,
		       struct fg_error *err)
{
	struct vctx c = { schema, doc, diags, err, FG_BUF_INIT, NULL, 0, 0 };
	int rc;

	if (!schema || !instance)
		return fg_error_set(err, FG_EINVALID, "validate needs a schema and an instance");
	c.md = pcre2_match_data_create(1, NULL);
	if (!c.md)
		return fg_error_oom(err);
	rc = v_schema(&c, schema->root, instance);
	if (rc >= 0 && (c.ptr.failed || (diags && diags->failed)))
		rc = fg_error_oom(err);
	pcre2_match_data_free(c.md);
	fg_buf_release(&c.ptr);
	return rc;
}
