#include "schema_uri.h"
#include "buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct uri_parts {
	const char *scheme; size_t scheme_len; int has_scheme;
	const char *auth; size_t auth_len; int has_auth;
	const char *path; size_t path_len;
	const char *query; size_t query_len; int has_query;
	const char *frag; size_t frag_len; int has_frag;
};

static void uri_parse(const char *s, struct uri_parts *u)
{
	const char *p = s, *end;

	memset(u, 0, sizeof(*u));
	/* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (isalpha((unsigned char)*p)) {
		const char *q = p + 1;

		while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
			q++;
		if (*q == ':') {
			u->scheme = p;
			u->scheme_len = (size_t)(q - p);
			u->has_scheme = 1;
			p = q + 1;
		}
	}
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		end = p + strcspn(p, "/?#");
		u->auth = p;
		u->auth_len = (size_t)(end - p);
		u->has_auth = 1;
		p = end;
	}
	end = p + strcspn(p, "?#");
	u->path = p;
	u->path_len = (size_t)(end - p);
	p = end;
	if (*p == '?') {
		p++;
		end = p + strcspn(p, "#");
		u->query = p;
		u->query_len = (size_t)(end - p);
		u->has_query = 1;
		p = end;
	}
	if (*p == '#') {
		u->frag = p + 1;
		u->frag_len = strlen(p + 1);
		u->has_frag = 1;
	}
}

/* RFC 3986 5.2.4, on a NUL-terminated copy; writes the result into out. */
static void remove_dot_segments(const char *in, struct fg_buf *out)
{
	size_t start = out->len;

	while (*in) {
		if (!strncmp(in, "../", 3)) {
			in += 3;
		} else if (!strncmp(in, "./", 2)) {
			in += 2;
		} else if (!strncmp(in, "/./", 3)) {
			in += 2;
		} else if (!strcmp(in, "/.")) {
			in = "/";
		} else if (!strncmp(in, "/../", 4) || !strcmp(in, "/..")) {
			char *last;

			in = in[3] ? in + 3 : "/";
			last = out->ptr ? strrchr(out->ptr + start, '/') : NULL;
			fg_buf_truncate(out, last ? (size_t)(last - out->ptr) : start);
		} else if (!strcmp(in, ".") || !strcmp(in, "..")) {
			in += strlen(in);
		} else {
			size_t n = strcspn(in + 1, "/") + 1;

			fg_buf_put(out, in, n);
			in += n;
		}
	}
}

static void put_path(struct fg_buf *out, const char *path, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy) {
		out->failed = 1;
		return;
	}
	memcpy(copy, path, len);
	copy[len] = '\0';
	remove_dot_segments(copy, out);
	free(copy);
}

char *fg_uri_resolve(const char *base, const char *ref)
{
	struct uri_parts b, r;
	struct fg_buf out = FG_BUF_INIT;
	const struct uri_parts *auth_from, *query_from;

	uri_parse(base, &b);
	uri_parse(ref, &r);
	if (r.has_scheme) {
		auth_from = &r;
		query_from = &r;
		fg_buf_put(&out, r.scheme, r.scheme_len);
		fg_buf_putc(&out, ':');
	} else {
		if (b.has_scheme) {
			fg_buf_put(&out, b.scheme, b.scheme_len);
			fg_buf_putc(&out, ':');
		}
		auth_from = r.has_auth ? &r : &b;
		query_from = (r.has_auth || r.path_len || r.has_query) ? &r : &b;
	}
	if (auth_from->has_auth) {
		fg_buf_puts(&out, "//");
		fg_buf_put(&out, auth_from->auth, auth_from->auth_len);
	}
	if (r.has_scheme || r.has_auth || (r.path_len && r.path[0] == '/')) {
		put_path(&out, r.path, r.path_len);
	} else if (r.path_len == 0) {
		fg_buf_put(&out, b.path, b.path_len);
	} else {
		struct fg_buf merged = FG_BUF_INIT;

		if (b.has_auth && b.path_len == 0) {
			fg_buf_putc(&merged, '/');
		} else {
			size_t keep = b.path_len;

			while (keep && b.path[keep - 1] != '/')
				keep--;
			fg_buf_put(&merged, b.path, keep);
		}
		fg_buf_put(&merged, r.path, r.path_len);
		if (merged.failed)
			out.failed = 1;
		else
			remove_dot_segments(fg_buf_cstr(&merged), &out);
		fg_buf_release(&merged);
	}
	if (query_from->has_query) {
		fg_buf_putc(&out, '?');
		fg_buf_put(&out, query_from->query, query_from->query_len);
	}
	if (r.has_frag) {
		fg_buf_putc(&out, '#');
		fg_buf_put(&out, r.frag, r.frag_len);
	}
	return fg_buf_detach(&out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *fg_uri_percent_decode(const char *s)
{
	struct fg_buf out = FG_BUF_INIT;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			fg_buf_putc(&out, (char)(hexval(s[1]) * 16 + hexval(s[2])));
			s += 2;
		} else {
			fg_buf_putc(&out, *s);
		}
	}
	return fg_buf_detach(&out);
}

json_t *fg_json_pointer_get(json_t *root, const char *pointer, int *oom)
{
	json_t *node = root;
	const char *p = pointer;
	struct fg_buf seg = FG_BUF_INIT;

	if (*p && *p != '/')
		return NULL;
	while (node && *p == '/') {
		const char *end;

		p++;
		end = p + strcspn(p, "/");
		fg_buf_truncate(&seg, 0);
		for (; p < end; p++) {
			if (*p == '~' && p[1] == '0') {
				fg_buf_putc(&seg, '~');
				p++;
			} else if (*p == '~' && p[1] == '1') {
				fg_buf_putc(&seg, '/');
				p++;
			} else {
				fg_buf_putc(&seg, *p);
			}
		}
		if (seg.failed) {
			*oom = 1;
			node = NULL;
			break;
		}
		if (json_is_object(node)) {
			node = json_object_getn(node, seg.ptr ? seg.ptr : "", seg.len);
		} else if (json_is_array(node)) {
			char *endp;
			unsigned long idx;
			const char *s = fg_buf_cstr(&seg);

			if (!*s || (s[0] == '0' && s[1]) || !isdigit((unsigned char)s[0]))
				node = NULL;
			else {
				idx = strtoul(s, &endp, 10);
				node = *endp ? NULL : json_array_get(node, idx);
			}
		} else {
			node = NULL;
		}
	}
	fg_buf_release(&seg);
	return node;
}
