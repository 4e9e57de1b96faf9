#include "policy.h"
#include "buf.h"
#include "fsutil.h"
#include "yaml_load.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A policy is small; anything bigger is a mistake, not a policy. */
#define POLICY_MAX_BYTES (256 * 1024)

struct parser {
	const struct fg_yaml_doc *doc;
	struct fg_policy *policy;
	struct fg_error *err;
};

static int bad(struct parser *p, const char *pointer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports a problem at the YAML location of `pointer`. */
static int bad(struct parser *p, const char *pointer, const char *fmt, ...)
{
	struct fg_buf b = FG_BUF_INIT;
	int line, column;
	va_list ap;

	fg_yaml_doc_location(p->doc, pointer, &line, &column);
	fg_buf_puts(&b, p->doc->path);
	if (line)
		fg_buf_printf(&b, ":%d:%d", line, column);
	fg_buf_puts(&b, ": ");
	va_start(ap, fmt);
	fg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.failed)
		fg_error_oom(p->err);
	else
		fg_error_set(p->err, FG_EINVALID, "%s", fg_buf_cstr(&b));
	fg_buf_release(&b);
	return p->err ? p->err->code : FG_EINVALID;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a mapping";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Rejects keys of `obj` not in the NULL-terminated `allowed` list. */
static int check_keys(struct parser *p, const json_t *obj, const char *pointer,
		      const char *what, const char *const *allowed)
{
	const char *key;
	json_t *value;
	size_t i;

	json_object_foreach((json_t *)obj, key, value) {
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed[i]) {
			struct fg_buf names = FG_BUF_INIT;
			char *at = fg_json_pointer_append(pointer, key);
			int rc;

			for (i = 0; allowed[i]; i++)
				fg_buf_printf(&names, "%s%s", i ? ", " : "", allowed[i]);
			rc = at && !names.failed
				? bad(p, at, "unknown key '%s' in %s; known keys: %s",
				      key, what, fg_buf_cstr(&names))
				: fg_error_oom(p->err);
			free(at);
			fg_buf_release(&names);
			return rc;
		}
	}
	return 0;
}

static int expect_type(struct parser *p, const json_t *v, json_type type,
		       const char *pointer, const char *what)
{
	const char *want;

	if (json_typeof(v) == type)
		return 0;
	switch (type) {
	case JSON_OBJECT: want = "a mapping"; break;
	case JSON_ARRAY: want = "a list"; break;
	case JSON_STRING: want = "a string"; break;
	default: want = "a value of another type"; break;
	}
	return bad(p, pointer, "%s must be %s, not %s", what, want, type_name(v));
}

static int copy_string(struct parser *p, const json_t *v, const char *pointer,
		       const char *what, char **out)
{
	int rc = expect_type(p, v, JSON_STRING, pointer, what);

	if (rc < 0)
		return rc;
	if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
		return bad(p, pointer, "%s must be a non-empty string without NUL", what);
	free(*out);
	*out = fg_strdup(json_string_value(v));
	return *out ? 0 : fg_error_oom(p->err);
}

static int copy_strlist(struct parser *p, const json_t *v, const char *pointer,
			const char *what, struct fg_strlist *out)
{
	size_t i;
	int rc = expect_type(p, v, JSON_ARRAY, pointer, what);

	if (rc < 0)
		return rc;
	out->items = calloc(json_array_size(v) + 1, sizeof(*out->items));
	if (!out->items)
		return fg_error_oom(p->err);
	for (i = 0; i < json_array_size(v); i++) {
		char index[32];
		char *at;

		snprintf(index, sizeof(index), "%zu", i);
		at = fg_json_pointer_append(pointer, index);
		if (!at)
			return fg_error_oom(p->err);
		rc = copy_string(p, json_array_get(v, i), at, what, &out->items[i]);
		free(at);
		if (rc < 0)
			return rc;
		out->count++;
	}
	return 0;
}

/* Runs `fn` on the value under `key` when present, with its pointer. */
static int with_member(struct parser *p, const json_t *obj, const char *pointer,
		       const char *key, const json_t **value, char **at)
{
	*value = json_object_get(obj, key);
	*at = NULL;
	if (!*value)
		return 0;
	*at = fg_json_pointer_append(pointer, key);
	return *at ? 1 : fg_error_oom(p->err);
}

static int parse_optional_string(struct parser *p, const json_t *obj,
				 const char *pointer, const char *key, char **out)
{
	const json_t *v;
	char *at;
	int rc = with_member(p, obj, pointer, key, &v, &at);

	if (rc <= 0)
		return rc;
	rc = copy_string(p, v, at, key, out);
	free(at);
	return rc;
}

static int parse_optional_strlist(struct parser *p, const json_t *obj,
				  const char *pointer, const char *key,
				  struct fg_strlist *out)
{
	const json_t *v;
	char *at;
	int rc = with_member(p, obj, pointer, key, &v, &at);

	if (rc <= 0)
		return rc;
	rc = copy_strlist(p, v, at, key, out);
	free(at);
	return rc;
}

static int parse_optional_bool(struct parser *p, const json_t *obj,
			       const char *pointer, const char *key, bool *out)
{
	const json_t *v;
	char *at;
	int rc = with_member(p, obj, pointer, key, &v, &at);

	if (rc <= 0)
		return rc;
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else
		rc = bad(p, at, "%s must be true or false, not %s", key, type_name(v));
	free(at);
	return rc < 0 ? rc : 0;
}

static int parse_branch(struct parser *p, const char *name, const json_t *v,
			const char *pointer, struct fg_branch_rule *rule)
{
	static const char *const keys[] = { "promote_from", "pushers",
					     "via_merge_request", NULL };
	const json_t *from;
	char *at;
	int rc;

	if (!*name || strpbrk(name, "*?[\\ ~^:") || !strncmp(name, "refs/", 5))
		return bad(p, pointer, "'%s' is not a plain branch name; name protected "
			   "branches exactly, e.g. 'canary'", name);
	rule->name = fg_strdup(name);
	if (!rule->name)
		return fg_error_oom(p->err);
	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "a branch rule")) < 0 ||
	    (rc = check_keys(p, v, pointer, "a branch rule", keys)) < 0)
		return rc;
	rc = with_member(p, v, pointer, "promote_from", &from, &at);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return bad(p, pointer, "branch '%s' has no 'promote_from'; list the "
			   "branches it takes commits from", name);
	rc = copy_strlist(p, from, at, "promote_from", &rule->promote_from);
	if (rc == 0 && rule->promote_from.count == 0)
		rc = bad(p, at, "'promote_from' of '%s' is empty; list at least one branch",
			 name);
	free(at);
	if (rc < 0)
		return rc;
	if ((rc = parse_optional_strlist(p, v, pointer, "pushers", &rule->pushers)) < 0)
		return rc;
	return parse_optional_bool(p, v, pointer, "via_merge_request",
				   &rule->via_merge_request);
}

static int parse_branches(struct parser *p, const json_t *v, const char *pointer)
{
	const char *name;
	json_t *rule;
	int rc;

	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "'branches'")) < 0)
		return rc;
	p->policy->branches = calloc(json_object_size(v) + 1,
				     sizeof(*p->policy->branches));
	if (!p->policy->branches)
		return fg_error_oom(p->err);
	json_object_foreach((json_t *)v, name, rule) {
		char *at = fg_json_pointer_append(pointer, name);

		if (!at)
			return fg_error_oom(p->err);
		rc = parse_branch(p, name, rule, at,
				  &p->policy->branches[p->policy->branch_count]);
		p->policy->branch_count++;
		free(at);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_groups(struct parser *p, const json_t *v, const char *pointer)
{
	const char *name;
	json_t *members;
	int rc;

	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "'groups'")) < 0)
		return rc;
	p->policy->groups = calloc(json_object_size(v) + 1, sizeof(*p->policy->groups));
	if (!p->policy->groups)
		return fg_error_oom(p->err);
	json_object_foreach((json_t *)v, name, members) {
		struct fg_group *g = &p->policy->groups[p->policy->group_count++];
		char *at = fg_json_pointer_append(pointer, name);

		if (!at || !(g->name = fg_strdup(name))) {
			free(at);
			return fg_error_oom(p->err);
		}
		rc = copy_strlist(p, members, at, "a group", &g->members);
		free(at);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_mender(struct parser *p, const json_t *v, const char *pointer)
{
	static const char *const keys[] = { "url", "token_file", "username_file",
					     "password_file", "ca_file",
					     "timeout_seconds", NULL };
	struct fg_mender_settings *m = &p->policy->mender;
	const json_t *t;
	char *at;
	int rc;

	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "'mender'")) < 0 ||
	    (rc = check_keys(p, v, pointer, "'mender'", keys)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "url", &m->url)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "token_file", &m->token_file)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "username_file", &m->username_file)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "password_file", &m->password_file)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "ca_file", &m->ca_file)) < 0)
		return rc;
	if (m->url && strncmp(m->url, "https://", 8) && strncmp(m->url, "http://", 7))
		return bad(p, pointer, "mender.url must start with https:// (or http:// "
			   "for a server on this host)");
	if ((m->username_file == NULL) != (m->password_file == NULL))
		return bad(p, pointer, "mender.username_file and mender.password_file "
			   "go together; set both or neither");
	rc = with_member(p, v, pointer, "timeout_seconds", &t, &at);
	if (rc <= 0)
		return rc;
	if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 3600)
		rc = bad(p, at, "timeout_seconds must be a whole number from 1 to 3600");
	else
		m->timeout_seconds = (long)json_integer_value(t);
	free(at);
	return rc < 0 ? rc : 0;
}

static int parse_log(struct parser *p, const json_t *v, const char *pointer)
{
	static const char *const keys[] = { "file", "syslog", NULL };
	int rc;

	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "'log'")) < 0 ||
	    (rc = check_keys(p, v, pointer, "'log'", keys)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "file", &p->policy->log_file)) < 0)
		return rc;
	return parse_optional_bool(p, v, pointer, "syslog", &p->policy->log_syslog);
}

int fg_policy_parse_duration(long *out, const char *text)
{
	static const struct { char unit; long seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }
	};
	char *end;
	long n;
	size_t i;

	if (!text || *text < '0' || *text > '9')
		return FG_EINVALID;
	errno = 0;
	n = strtol(text, &end, 10);
	if (errno || n > 365L * 86400 || end[0] == '\0' || end[1] != '\0')
		return FG_EINVALID;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit && n <= 365L * 86400 / units[i].seconds) {
			*out = n * units[i].seconds;
			return 0;
		}
	return FG_EINVALID;
}

static int parse_optional_duration(struct parser *p, const json_t *obj,
				   const char *pointer, const char *key, long *out)
{
	char *text = NULL, *at = fg_json_pointer_append(pointer, key);
	int rc = at ? parse_optional_string(p, obj, pointer, key, &text) : fg_error_oom(p->err);

	if (rc == 0 && text && fg_policy_parse_duration(out, text) < 0)
		rc = bad(p, at, "%s '%.32s' is not a duration; write a number and a "
			 "unit, like 30s, 15m, 24h or 2d (at most a year)", key, text);
	free(text);
	free(at);
	return rc;
}

static int parse_rollout(struct parser *p, const json_t *v, const char *pointer)
{
	static const char *const keys[] = { "skip_allowed", "subscriptions_from",
					     "follow_timeout", NULL };
	int rc;

	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "'rollout'")) < 0 ||
	    (rc = check_keys(p, v, pointer, "'rollout'", keys)) < 0 ||
	    (rc = parse_optional_string(p, v, pointer, "subscriptions_from",
					&p->policy->subscriptions_from)) < 0 ||
	    (rc = parse_optional_duration(p, v, pointer, "follow_timeout",
					  &p->policy->follow_timeout)) < 0)
		return rc;
	return parse_optional_strlist(p, v, pointer, "skip_allowed",
				      &p->policy->skip_rollout_allowed);
}

/* Who follows which branch is read from one branch only; a branch anyone
 * may push to would hand every device to anyone. */
static int check_subscriptions_from(struct parser *p)
{
	const char *b = p->policy->subscriptions_from;

	if (!b || fg_policy_branch(p->policy, b))
		return 0;
	return bad(p, "/rollout/subscriptions_from", "subscriptions_from '%s' is not a "
		   "protected branch; name one listed under 'branches' (the devices "
		   "follow what that branch's fleet files say)", b);
}

static int parse_secret_rule(struct parser *p, const char *branch, const json_t *v,
			     const char *pointer, struct fg_secret_rule *rule)
{
	if (!(rule->branch = fg_strdup(branch)))
		return fg_error_oom(p->err);
	if (!*branch)
		return bad(p, pointer, "an empty branch name in 'secrets'");
	if (json_is_string(v) && !strcmp(json_string_value(v), "*")) {
		rule->all = true;
		return 0;
	}
	if (!json_is_array(v))
		return bad(p, pointer, "secrets of '%s' must be a list of secret names "
			   "or \"*\", not %s", branch, type_name(v));
	return copy_strlist(p, v, pointer, "a secret name", &rule->names);
}

static int parse_secrets(struct parser *p, const json_t *v, const char *pointer)
{
	struct fg_policy *pol = p->policy;
	const char *branch;
	json_t *names;
	int rc;

	if ((rc = expect_type(p, v, JSON_OBJECT, pointer, "'secrets'")) < 0)
		return rc;
	pol->secrets = calloc(json_object_size(v) + 1, sizeof(*pol->secrets));
	if (!pol->secrets)
		return fg_error_oom(p->err);
	json_object_foreach((json_t *)v, branch, names) {
		char *at = fg_json_pointer_append(pointer, branch);

		if (!at)
			return fg_error_oom(p->err);
		rc = parse_secret_rule(p, branch, names, at, &pol->secrets[pol->secret_count++]);
		free(at);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_validate(struct parser *p, const json_t *root)
{
	const json_t *v = json_object_get(root, "validate");
	const char *s = json_string_value(v);

	if (!v)
		return 0;
	if (s && !strcmp(s, "all"))
		p->policy->validate = FG_VALIDATE_ALL;
	else if (s && !strcmp(s, "protected"))
		p->policy->validate = FG_VALIDATE_PROTECTED;
	else
		return bad(p, "/validate", "validate must be 'all' or 'protected'");
	return 0;
}

static int parse_version(struct parser *p, const json_t *root)
{
	const json_t *v = json_object_get(root, "version");

	if (!v)
		return bad(p, "", "missing 'version: 1' at the top of the policy");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return bad(p, "/version", "unsupported policy version; this fleetgate "
			   "reads 'version: 1'");
	return 0;
}

/* A "@group" that names no group would silently allow nobody; say so. */
static int check_group_refs(struct parser *p, const struct fg_strlist *list,
			    const char *where)
{
	size_t i, g;

	for (i = 0; i < list->count; i++) {
		const char *item = list->items[i];

		if (item[0] != '@')
			continue;
		for (g = 0; g < p->policy->group_count; g++)
			if (!strcmp(p->policy->groups[g].name, item + 1))
				break;
		if (g == p->policy->group_count)
			return bad(p, where, "'%s' names no group; define it under 'groups'",
				   item);
	}
	return 0;
}

static int check_all_group_refs(struct parser *p)
{
	struct fg_policy *pol = p->policy;
	size_t i;
	int rc;

	for (i = 0; i < pol->branch_count; i++) {
		char *at = fg_asprintf("/branches/%s/pushers", pol->branches[i].name);

		if (!at)
			return fg_error_oom(p->err);
		rc = check_group_refs(p, &pol->branches[i].pushers, at);
		free(at);
		if (rc < 0)
			return rc;
	}
	if ((rc = check_group_refs(p, &pol->bypass, "/bypass")) < 0)
		return rc;
	return check_group_refs(p, &pol->skip_rollout_allowed, "/rollout/skip_allowed");
}

/* secret_words are matched against whole parts of a key, which never hold
 * '_', '-', '.' or an upper-case letter: refuse a word that could never
 * match rather than ignore it. */
static int parse_secret_words(struct parser *p, const json_t *root)
{
	struct fg_strlist *w = &p->policy->secret_words;
	size_t i;
	int rc = parse_optional_strlist(p, root, "", "secret_words", w);

	for (i = 0; rc == 0 && i < w->count; i++) {
		char at[48];

		if (strspn(w->items[i], "abcdefghijklmnopqrstuvwxyz0123456789") ==
		    strlen(w->items[i]))
			continue;
		snprintf(at, sizeof(at), "/secret_words/%zu", i);
		rc = bad(p, at, "secret_words: a word is lower-case letters and digits; "
			 "it is matched against each part of a key split at '_', '-', "
			 "'.' and camelCase");
	}
	return rc;
}

static int parse_root(struct parser *p, const json_t *root)
{
	static const char *const keys[] = { "version", "branches", "groups", "bypass",
					    "validate", "mender", "secrets_dir",
					    "spool_dir", "log", "rollout", "secrets",
					    "secret_words", "allow_replace_refs", NULL };
	const json_t *v;
	int rc;

	if (!root || !json_is_object(root))
		return bad(p, "", "the policy must be a mapping with 'version: 1' and "
			   "'branches'");
	if ((rc = check_keys(p, root, "", "the policy", keys)) < 0 ||
	    (rc = parse_version(p, root)) < 0)
		return rc;
	if (!(v = json_object_get(root, "branches")))
		return bad(p, "", "missing 'branches'; list the protected branches");
	if ((rc = parse_branches(p, v, "/branches")) < 0)
		return rc;
	if ((v = json_object_get(root, "groups")) && (rc = parse_groups(p, v, "/groups")) < 0)
		return rc;
	if ((rc = parse_optional_strlist(p, root, "", "bypass", &p->policy->bypass)) < 0 ||
	    (rc = parse_validate(p, root)) < 0 ||
	    (rc = parse_optional_bool(p, root, "", "allow_replace_refs",
				      &p->policy->allow_replace_refs)) < 0)
		return rc;
	if ((v = json_object_get(root, "mender")) && (rc = parse_mender(p, v, "/mender")) < 0)
		return rc;
	if ((v = json_object_get(root, "log")) && (rc = parse_log(p, v, "/log")) < 0)
		return rc;
	if ((v = json_object_get(root, "rollout")) &&
	    (rc = parse_rollout(p, v, "/rollout")) < 0)
		return rc;
	if ((v = json_object_get(root, "secrets")) &&
	    (rc = parse_secrets(p, v, "/secrets")) < 0)
		return rc;
	if ((rc = parse_optional_string(p, root, "", "secrets_dir", &p->policy->secrets_dir)) < 0 ||
	    (rc = parse_optional_string(p, root, "", "spool_dir", &p->policy->spool_dir)) < 0 ||
	    (rc = check_subscriptions_from(p)) < 0 ||
	    (rc = parse_secret_words(p, root)) < 0)
		return rc;
	return check_all_group_refs(p);
}

int fg_policy_parse(struct fg_policy **out, const char *path, const char *data,
		    size_t len, struct fg_error *err)
{
	struct fg_yaml_limits limits = FG_YAML_LIMITS_INIT;
	struct fg_yaml_doc *doc = NULL;
	struct parser p;
	int rc;

	*out = NULL;
	limits.max_bytes = POLICY_MAX_BYTES;
	rc = fg_yaml_load_buffer(&doc, path, data, len, &limits, err);
	if (rc < 0)
		return rc;
	p.doc = doc;
	p.err = err;
	p.policy = calloc(1, sizeof(*p.policy));
	if (!p.policy || !(p.policy->path = fg_strdup(path))) {
		rc = fg_error_oom(err);
		goto out;
	}
	p.policy->follow_timeout = FG_POLICY_FOLLOW_TIMEOUT;
	rc = parse_root(&p, doc->root);
out:
	fg_yaml_doc_free(doc);
	if (rc < 0) {
		fg_policy_free(p.policy);
		return rc;
	}
	*out = p.policy;
	return 0;
}

/* doas refuses a config others can write; so do we, for the file and the
 * directory holding it (which could otherwise swap the file). */
static int check_owner_and_mode(const char *path, const struct stat *st,
				const char *what, struct fg_error *err)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return fg_error_set(err, FG_EPERM,
				    "%s '%s' is writable by group or others; "
				    "chmod go-w it", what, path);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return fg_error_set(err, FG_EPERM,
				    "%s '%s' is owned by uid %u, neither root nor the "
				    "git server's user; chown it", what, path,
				    (unsigned)st->st_uid);
	return 0;
}

static int check_parent_dir(const char *path, struct fg_error *err)
{
	struct stat st;
	char *dir = fg_strdup(path);
	char *slash;
	int rc;

	if (!dir)
		return fg_error_oom(err);
	slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		dir = fg_strdup(".");
		if (!dir)
			return fg_error_oom(err);
	} else {
		slash[slash == dir ? 1 : 0] = '\0';
	}
	if (stat(dir, &st) < 0) {
		rc = fg_error_set(err, FG_EIO, "unable to stat '%s': %s", dir, strerror(errno));
	} else {
		/* a sticky world-writable dir like /tmp cannot be used to swap files */
		rc = (st.st_mode & S_ISVTX) ? 0
			: check_owner_and_mode(dir, &st, "directory", err);
	}
	free(dir);
	return rc;
}

int fg_policy_load(struct fg_policy **out, const char *path, struct fg_error *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	if ((rc = fg_open_regular(&fd, path, O_RDONLY, 0, err)) < 0) {
		if (rc == FG_ENOTFOUND)
			return fg_error_set(err, rc, "policy '%s' does not exist; set it "
					    "with 'fleetgate install --policy FILE'", path);
		fg_error_prefix(err, "policy");
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = fg_error_set(err, FG_EIO, "unable to stat policy '%s': %s", path,
				  strerror(errno));
		goto out;
	}
	if ((rc = check_owner_and_mode(path, &st, "policy", err)) < 0 ||
	    (rc = check_parent_dir(path, err)) < 0)
		goto out;
	if ((rc = fg_read_fd_bounded(&data, &len, fd, POLICY_MAX_BYTES, err)) < 0) {
		fg_error_prefix(err, "policy '%s'", path);
		goto out;
	}
	rc = fg_policy_parse(out, path, data, len, err);
out:
	free(data);
	close(fd);
	return rc;
}

const struct fg_branch_rule *fg_policy_branch(const struct fg_policy *policy,
					      const char *branch)
{
	size_t i;

	for (i = 0; i < policy->branch_count; i++)
		if (!strcmp(policy->branches[i].name, branch))
			return &policy->branches[i];
	return NULL;
}

static bool group_has(const struct fg_policy *policy, const char *group,
		      const char *user)
{
	size_t g, i;

	for (g = 0; g < policy->group_count; g++) {
		if (strcmp(policy->groups[g].name, group))
			continue;
		for (i = 0; i < policy->groups[g].members.count; i++)
			if (!strcmp(policy->groups[g].members.items[i], user))
				return true;
	}
	return false;
}

bool fg_policy_user_in(const struct fg_policy *policy,
		       const struct fg_strlist *list, const char *user)
{
	size_t i;

	if (!user || !*user)
		return false;
	for (i = 0; i < list->count; i++) {
		const char *item = list->items[i];

		if (item[0] == '@' ? group_has(policy, item + 1, user)
				   : !strcmp(item, user))
			return true;
	}
	return false;
}

bool fg_policy_promotes_from(const struct fg_branch_rule *rule, const char *branch)
{
	size_t i;

	for (i = 0; i < rule->promote_from.count; i++)
		if (fnmatch(rule->promote_from.items[i], branch, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static bool is_pattern(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

bool fg_policy_rolls_out(const struct fg_policy *policy, const char *branch)
{
	size_t i, j;

	if (fg_policy_branch(policy, branch))
		return true;
	for (i = 0; i < policy->branch_count; i++) {
		const struct fg_strlist *from = &policy->branches[i].promote_from;

		for (j = 0; j < from->count; j++)
			if (!is_pattern(from->items[j]) && !strcmp(from->items[j], branch))
				return true;
	}
	return false;
}

static bool promoted_by_another(const struct fg_policy *policy,
				const struct fg_branch_rule *rule)
{
	size_t i;

	for (i = 0; i < policy->branch_count; i++)
		if (&policy->branches[i] != rule &&
		    fg_policy_promotes_from(&policy->branches[i], rule->name))
			return true;
	return false;
}

const char *fg_policy_subscriptions_branch(const struct fg_policy *policy)
{
	const char *top = NULL;
	size_t i;

	if (policy->subscriptions_from)
		return policy->subscriptions_from;
	for (i = 0; i < policy->branch_count; i++) {
		if (promoted_by_another(policy, &policy->branches[i]))
			continue;
		if (top)
			return NULL; /* two chains: the admin must name one */
		top = policy->branches[i].name;
	}
	return top;
}

bool fg_policy_secret_allowed(const struct fg_policy *policy, const char *branch,
			      const char *name)
{
	size_t i, j;

	for (i = 0; i < policy->secret_count; i++) {
		const struct fg_secret_rule *rule = &policy->secrets[i];

		if (strcmp(rule->branch, branch))
			continue;
		if (rule->all)
			return true;
		for (j = 0; j < rule->names.count; j++)
			if (!strcmp(rule->names.items[j], name))
				return true;
		return false;
	}
	return fg_policy_branch(policy, branch) != NULL;
}

static void strlist_free(struct fg_strlist *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
}

void fg_policy_free(struct fg_policy *policy)
{
	size_t i;

	if (!policy)
		return;
	for (i = 0; i < policy->branch_count; i++) {
		free(policy->branches[i].name);
		strlist_free(&policy->branches[i].promote_from);
		strlist_free(&policy->branches[i].pushers);
	}
	free(policy->branches);
	for (i = 0; i < policy->group_count; i++) {
		free(policy->groups[i].name);
		strlist_free(&policy->groups[i].members);
	}
	free(policy->groups);
	strlist_free(&policy->bypass);
	strlist_free(&policy->skip_rollout_allowed);
	free(policy->subscriptions_from);
	for (i = 0; i < policy->secret_count; i++) {
		free(policy->secrets[i].branch);
		strlist_free(&policy->secrets[i].names);
	}
	free(policy->secrets);
	strlist_free(&policy->secret_words);
	free(policy->mender.url);
	free(policy->mender.token_file);
	free(policy->mender.username_file);
	free(policy->mender.password_file);
	free(policy->mender.ca_file);
	free(policy->secrets_dir);
	free(policy->spool_dir);
	free(policy->log_file);
	free(policy->path);
	free(policy);
}
