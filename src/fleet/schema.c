/*
 * schema.c: compiles JSON Schema draft 7 documents for schema_validate.c.
 *
 * fg_schema_new walks every schema document once: it checks keyword types,
 * compiles every regular expression (so a bad one is reported with its
 * schema pointer and validation never compiles), records the base URI of
 * every "$ref" so validation only looks references up, and turns each
 * schema object into a list of keyword ids.
 */
#include "schema.h"
#include "buf.h"
#include "ecma_regex.h"
#include "schema_internal.h"
#include "schema_uri.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fg_pmap_put(struct pmap *m, const void *key, void *val)
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
				fg_pmap_put(&g, m->keys[j], m->vals[j]);
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

void fg_pmap_release(struct pmap *m, void (*free_val)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->keys[i] && free_val)
			free_val(m->vals[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}


const char *const fg_schema_kw_names[] = {
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

	for (i = 1; i < sizeof(fg_schema_kw_names) / sizeof(fg_schema_kw_names[0]); i++)
		if (!strcmp(k, fg_schema_kw_names[i]))
			return (enum kw)i;
	return KW_OTHER; /* then, else, additionalItems ride along with if, items */
}

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
	fg_pmap_release(&s->refs, free_ref_entry);
	fg_pmap_release(&s->patterns, free_code);
	fg_pmap_release(&s->patprops, free_pp_entry);
	fg_pmap_release(&s->nodes, free);
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
	if (!e || !e->keys || !e->codes || fg_pmap_put(&w->s->patprops, map, e) < 0) {
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
	    fg_pmap_put(&w->s->refs, node, e) < 0) {
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
		if (fg_pmap_put(&w->s->patterns, v, code) < 0) {
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
	if (fg_pmap_put(&w->s->nodes, node, cn) < 0) {
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

/* Finds the node `uri` names; NULL if none, with *oom set when an
 * allocation failed on the way. */
static json_t *lookup_uri(const struct fg_schema *s, const char *uri, int *oom)
{
	const char *hash = strchr(uri, '#');
	char *docuri, *frag;
	json_t *doc, *node;

	if (!hash)
		return json_object_get(s->registry, uri);
	docuri = strndup(uri, (size_t)(hash - uri));
	if (!docuri) {
		*oom = 1;
		return NULL;
	}
	doc = json_object_get(s->registry, docuri);
	free(docuri);
	if (!doc)
		return NULL;
	if (!hash[1])
		return doc;
	frag = fg_uri_percent_decode(hash + 1);
	if (!frag) {
		*oom = 1;
		return NULL;
	}
	if (frag[0] == '/')
		node = fg_json_pointer_get(doc, frag, oom);
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
		int oom = 0;

		if (!s->refs.keys[i] || e->target)
			continue;
		e->target = lookup_uri(s, e->uri, &oom);
		if (oom)
			return fg_error_oom(err);
		if (!e->target || !json_is_object(e->target) ||
		    pmap_get(&s->nodes, e->target))
			continue;
		base = fg_strdup(e->uri);
		if (!base)
			return fg_error_oom(err);
		strip_fragment(base);
		rc = walk_schema(&w, e->target, base, 0);
		if (rc == 0 && w.sp.failed)
			rc = fg_error_oom(err);
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


/* Appends the JSON pointer of `node` below `at` (a depth-first search;
 * only for messages about a schema that is refused). 1 when found. */
static int pointer_of(struct fg_buf *out, const json_t *at, const json_t *node,
		      int depth)
{
	size_t len = out->len, i;
	const char *k, *p;
	json_t *v;
	void *it;

	if (at == node)
		return 1;
	if (depth > MAX_DEPTH)
		return 0;
	for (it = json_object_iter((json_t *)at); it;
	     it = json_object_iter_next((json_t *)at, it)) {
		k = json_object_iter_key(it);
		v = json_object_iter_value(it);
		fg_buf_putc(out, '/');
		for (p = k; *p; p++) {
			if (*p == '~' || *p == '/')
				fg_buf_puts(out, *p == '~' ? "~0" : "~1");
			else
				fg_buf_putc(out, *p);
		}
		if (pointer_of(out, v, node, depth + 1))
			return 1;
		fg_buf_truncate(out, len);
	}
	json_array_foreach((json_t *)at, i, v) {
		fg_buf_printf(out, "/%zu", i);
		if (pointer_of(out, v, node, depth + 1))
			return 1;
		fg_buf_truncate(out, len);
	}
	return 0;
}

static int ref_problem(const struct fg_schema *s, const void *node, int code,
		       const char *uri, const char *what, struct fg_error *err)
{
	struct fg_buf at = FG_BUF_INIT;
	char *safe = fg_escape(uri);

	pointer_of(&at, s->root, node, 0);
	if (at.failed || !safe)
		code = fg_error_oom(err);
	else
		fg_error_set(err, code, "invalid schema at '#%s': $ref '%s' %s",
			     fg_buf_cstr(&at), safe, what);
	fg_buf_release(&at);
	free(safe);
	return code;
}

int fg_schema_check_refs(const struct fg_schema *s, struct fg_error *err)
{
	size_t i, hops;

	for (i = 0; i < s->refs.cap; i++) {
		const struct ref_entry *e = s->refs.vals[i], *next;
		const json_t *t;

		if (!s->refs.keys[i])
			continue;
		if (!e->target)
			return ref_problem(s, s->refs.keys[i], FG_ENOTFOUND, e->uri,
					   "resolves to no schema of this document", err);
		/* a chain of $refs must end at a schema that is not a $ref */
		for (t = e->target, hops = 0; hops <= s->refs.n; hops++) {
			next = pmap_get(&s->refs, t);
			if (!next)
				break;
			if (!next->target)
				return ref_problem(s, t, FG_ENOTFOUND, next->uri,
						   "resolves to no schema of this document", err);
			t = next->target;
		}
		if (hops > s->refs.n)
			return ref_problem(s, s->refs.keys[i], FG_ELIMIT, e->uri,
					   "is part of a loop of $refs that never reaches a schema",
					   err);
		if (!json_is_object(t) && !json_is_boolean(t))
			return ref_problem(s, s->refs.keys[i], FG_EINVALID, e->uri,
					   "does not point to a schema", err);
	}
	return 0;
}
