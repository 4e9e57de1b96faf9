#include "hook_input.h"
#include "fsutil.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_line(struct fg_ref_update *u, const char *line, size_t len,
		      size_t lineno, struct fg_error *err)
{
	const char *sp1 = memchr(line, ' ', len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
	const char *ref;
	size_t reflen, i;

	if (!sp1 || !sp2 ||
	    !fg_oid_parse(&u->old_id, line, (size_t)(sp1 - line)) ||
	    !fg_oid_parse(&u->new_id, sp1 + 1, (size_t)(sp2 - sp1 - 1)) ||
	    strlen(u->old_id.hex) != strlen(u->new_id.hex))
		return fg_error_set(err, FG_EINVALID,
				    "line %zu of the hook input is not '<old-id> <new-id> <ref>'",
				    lineno);
	ref = sp2 + 1;
	reflen = len - (size_t)(ref - line);
	if (reflen < 6 || reflen > FG_HOOK_MAX_REFNAME || strncmp(ref, "refs/", 5))
		return fg_error_set(err, FG_EINVALID,
				    "line %zu of the hook input names no ref under refs/", lineno);
	for (i = 0; i < reflen; i++)
		if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f)
			return fg_error_set(err, FG_EINVALID,
					    "line %zu of the hook input has a control "
					    "character in the ref name", lineno);
	u->refname = malloc(reflen + 1);
	if (!u->refname)
		return fg_error_oom(err);
	memcpy(u->refname, ref, reflen);
	u->refname[reflen] = '\0';
	return 0;
}

int fg_hook_parse_updates(struct fg_ref_updates *out, const char *data, size_t len,
			  struct fg_error *err)
{
	size_t pos = 0, lineno = 0, alloc = 0;
	int rc = 0;

	out->items = NULL;
	out->count = 0;
	while (pos < len && rc == 0) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t linelen = nl ? (size_t)(nl - (data + pos)) : len - pos;

		lineno++;
		if (out->count == FG_HOOK_MAX_UPDATES) {
			rc = fg_error_set(err, FG_ELIMIT, "more than %d refs in one push",
					  FG_HOOK_MAX_UPDATES);
			break;
		}
		if (out->count == alloc) {
			size_t n = alloc ? alloc * 2 : 16;
			struct fg_ref_update *items = realloc(out->items, n * sizeof(*items));

			if (!items) {
				rc = fg_error_oom(err);
				break;
			}
			out->items = items;
			alloc = n;
		}
		memset(&out->items[out->count], 0, sizeof(out->items[0]));
		rc = parse_line(&out->items[out->count], data + pos, linelen, lineno, err);
		if (rc == 0)
			out->count++;
		pos += linelen + 1;
	}
	if (rc < 0)
		fg_ref_updates_release(out);
	return rc;
}

int fg_hook_read_fd(char **out, size_t *len, int fd, size_t max, struct fg_error *err)
{
	int rc = fg_read_fd_bounded(out, len, fd, max, err);

	if (rc < 0)
		fg_error_prefix(err, "the hook input");
	return rc;
}

int fg_hook_parse_push_options(struct fg_push_options *out,
			       const char *(*lookup)(const char *name),
			       struct fg_error *err)
{
	const char *count_text = lookup("GIT_PUSH_OPTION_COUNT");
	char *end = NULL;
	long count, i;

	out->items = NULL;
	out->count = 0;
	if (!count_text || !*count_text)
		return 0;
	errno = 0;
	count = strtol(count_text, &end, 10);
	if (errno || *end || count < 0)
		return fg_error_set(err, FG_EINVALID, "GIT_PUSH_OPTION_COUNT is not a number");
	if (count > FG_HOOK_MAX_PUSH_OPTIONS)
		return fg_error_set(err, FG_ELIMIT, "more than %d push options",
				    FG_HOOK_MAX_PUSH_OPTIONS);
	out->items = calloc((size_t)count + 1, sizeof(*out->items));
	if (!out->items)
		return fg_error_oom(err);
	for (i = 0; i < count; i++) {
		char name[64];
		const char *value;

		snprintf(name, sizeof(name), "GIT_PUSH_OPTION_%ld", i);
		value = lookup(name);
		if (!value)
			value = "";
		if (strlen(value) > FG_HOOK_MAX_PUSH_OPTION_LEN) {
			fg_push_options_release(out);
			return fg_error_set(err, FG_ELIMIT,
					    "push option %ld is longer than %d bytes", i,
					    FG_HOOK_MAX_PUSH_OPTION_LEN);
		}
		out->items[i] = fg_strdup(value);
		if (!out->items[i]) {
			fg_push_options_release(out);
			return fg_error_oom(err);
		}
		out->count++;
	}
	return 0;
}

bool fg_push_options_has(const struct fg_push_options *opts, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < opts->count; i++)
		if (!strncmp(opts->items[i], name, n) &&
		    (opts->items[i][n] == '\0' || opts->items[i][n] == '='))
			return true;
	return false;
}

const char *fg_hook_pusher(const char *(*lookup)(const char *name))
{
	static const char *const vars[] = { "GITEA_PUSHER_NAME", "GL_USERNAME",
					    "GITHUB_USER_LOGIN", "REMOTE_USER",
					    "GL_USER", NULL };
	size_t i;

	for (i = 0; vars[i]; i++) {
		const char *v = lookup(vars[i]);

		if (v && *v)
			return v;
	}
	return NULL;
}

bool fg_hook_is_forge_merge(const char *(*lookup)(const char *name))
{
	const char *pr = lookup("GITEA_PR_ID");
	const char *proto = lookup("GL_PROTOCOL");

	return (pr && *pr && strcmp(pr, "0")) || (proto && !strcmp(proto, "web"));
}

bool fg_hook_is_gitlab(const char *(*lookup)(const char *name))
{
	const char *id = lookup("GL_ID");

	return id && *id;
}

const char *fg_ref_branch_name(const char *refname)
{
	return strncmp(refname, "refs/heads/", 11) || !refname[11] ? NULL : refname + 11;
}

void fg_ref_updates_release(struct fg_ref_updates *updates)
{
	size_t i;

	for (i = 0; i < updates->count; i++)
		free(updates->items[i].refname);
	free(updates->items);
	updates->items = NULL;
	updates->count = 0;
}

void fg_push_options_release(struct fg_push_options *opts)
{
	size_t i;

	for (i = 0; i < opts->count; i++)
		free(opts->items[i]);
	free(opts->items);
	opts->items = NULL;
	opts->count = 0;
}
