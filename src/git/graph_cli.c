/*
 * The git command line back end of graph.h, for SHA-256 repositories.
 * Every query runs `git` directly with an argument vector (no shell), so no
 * pushed name or content is ever interpreted by anything but git itself.
 */
#include "graph.h"
#include "buf.h"
#include "gitcli.h"

#include <stdlib.h>
#include <string.h>

struct cli_state {
	char *git_dir; /* NULL: git uses $GIT_DIR from the hook's environment */
};

static int run_git(const struct cli_state *st, const char *const *args,
		   struct fg_buf *out, int *status, struct fg_error *err)
{
	return fg_git_run(st->git_dir, args, NULL, out, status, err);
}

/* Runs git and requires success, returning its first output line. */
static int git_line(const struct cli_state *st, const char *const *args,
		    struct fg_buf *out, struct fg_error *err)
{
	int status, rc = run_git(st, args, out, &status, err);
	char *nl;

	if (rc < 0)
		return rc;
	if (status != 0)
		return fg_error_set(err, FG_ENOTFOUND, "git %s %s failed (exit %d)",
				    args[0], args[1] ? args[1] : "", status);
	nl = memchr(out->ptr ? out->ptr : "", '\n', out->len);
	if (nl)
		fg_buf_truncate(out, (size_t)(nl - out->ptr));
	return 0;
}

static int parse_oid_or_fail(struct fg_oid *out, const char *s, size_t len,
			     struct fg_error *err)
{
	if (!fg_oid_parse(out, s, len))
		return fg_error_set(err, FG_EIO, "git printed an unexpected object id");
	return 0;
}

static int cli_rev_parse(void *state, const struct fg_oid *id, const char *suffix,
			 struct fg_oid *out, struct fg_error *err)
{
	struct fg_buf spec = FG_BUF_INIT, line = FG_BUF_INIT;
	const char *args[] = { "rev-parse", "--verify", "--quiet", NULL, NULL };
	int rc;

	fg_buf_printf(&spec, "%s%s", id->hex, suffix);
	if (spec.failed)
		return fg_error_oom(err);
	args[3] = spec.ptr;
	rc = git_line(state, args, &line, err);
	if (rc == 0)
		rc = parse_oid_or_fail(out, fg_buf_cstr(&line), line.len, err);
	else
		rc = fg_error_set(err, FG_ENOTFOUND, "object %.12s is not a commit in the "
				  "repository", id->hex);
	fg_buf_release(&spec);
	fg_buf_release(&line);
	return rc;
}

static int cli_peel_commit(void *state, const struct fg_oid *id, struct fg_oid *out,
			   struct fg_error *err)
{
	return cli_rev_parse(state, id, "^{commit}", out, err);
}

static int cli_tree(void *state, const struct fg_oid *commit, struct fg_oid *out,
		    struct fg_error *err)
{
	return cli_rev_parse(state, commit, "^{tree}", out, err);
}

static int cli_parents(void *state, const struct fg_oid *commit,
		       struct fg_oid_list *out, struct fg_error *err)
{
	const char *args[] = { "rev-list", "--parents", "-n1", commit->hex, "--", NULL };
	struct fg_buf line = FG_BUF_INIT;
	size_t hexlen = strlen(commit->hex), n, i;
	int rc = git_line(state, args, &line, err);

	out->items = NULL;
	out->count = 0;
	if (rc < 0)
		goto out;
	/* "<commit> <parent1> <parent2>..." */
	n = line.len / (hexlen + 1);
	out->items = calloc(n ? n : 1, sizeof(*out->items));
	if (!out->items) {
		rc = fg_error_oom(err);
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = parse_oid_or_fail(&out->items[i], line.ptr + (i + 1) * (hexlen + 1),
				       hexlen, err);
	out->count = n;
	if (rc < 0)
		fg_oid_list_release(out);
out:
	fg_buf_release(&line);
	return rc;
}

static int cli_is_ancestor(void *state, const struct fg_oid *ancestor,
			   const struct fg_oid *descendant, bool *out,
			   struct fg_error *err)
{
	const char *args[] = { "merge-base", "--is-ancestor", ancestor->hex,
			       descendant->hex, NULL };
	struct fg_buf ignored = FG_BUF_INIT;
	int status, rc = run_git(state, args, &ignored, &status, err);

	fg_buf_release(&ignored);
	if (rc < 0)
		return rc;
	if (status > 1)
		return fg_error_set(err, FG_EIO, "git merge-base failed (exit %d)", status);
	*out = status == 0;
	return 0;
}

/* "rev-list [--first-parent] --max-count=N [--format=...] TIP... [^HIDE] --" */
static const char **walk_args(const struct fg_walk *w, struct fg_buf *max,
			      struct fg_buf *hide)
{
	const char **args = calloc(w->ntips + 9, sizeof(*args));
	size_t n = 0, i;

	if (!args)
		return NULL;
	args[n++] = "rev-list";
	if (w->first_parent)
		args[n++] = "--first-parent";
	/* one more than asked, to tell a cut walk from a complete one */
	fg_buf_printf(max, "--max-count=%zu", w->max + 1);
	args[n++] = fg_buf_cstr(max);
	if (w->parents || w->trees) {
		/* "<commit> <tree> <parent>..." per line, read in the same pass */
		args[n++] = "--no-commit-header";
		args[n++] = "--format=%H %T %P";
	}
	for (i = 0; i < w->ntips; i++)
		args[n++] = w->tips[i].hex;
	if (w->hide) {
		fg_buf_printf(hide, "^%s", w->hide->hex);
		args[n++] = fg_buf_cstr(hide);
	}
	args[n++] = "--";
	if (max->failed || hide->failed) {
		free(args);
		return NULL;
	}
	return args;
}

/* One output line of rev-list: "<commit>" or "<commit> <tree>[ <parent>...]". */
static int walk_line(const char *line, size_t len, const struct fg_walk *w,
		     fg_walk_fn fn, void *payload, struct fg_error *err)
{
	struct fg_walk_commit c;
	size_t hexlen = 0, n = 0, i;
	int rc;

	memset(&c, 0, sizeof(c));
	while (hexlen < len && line[hexlen] != ' ')
		hexlen++;
	if ((rc = parse_oid_or_fail(&c.id, line, hexlen, err)) < 0)
		return rc;
	if (!w->parents && !w->trees)
		return fn(payload, &c, err);
	if (len < 2 * hexlen + 1 ||
	    (rc = parse_oid_or_fail(&c.tree, line + hexlen + 1, hexlen, err)) < 0)
		return fg_error_set(err, FG_EIO, "git rev-list printed an unexpected line");
	if (len > 2 * hexlen + 1)
		n = (len - 2 * hexlen - 1) / (hexlen + 1);
	if (w->parents && n && !(c.parents.items = calloc(n, sizeof(*c.parents.items))))
		return fg_error_oom(err);
	for (i = 0; w->parents && i < n && rc == 0; i++, c.parents.count++)
		rc = parse_oid_or_fail(&c.parents.items[i],
				       line + (i + 2) * (hexlen + 1), hexlen, err);
	if (rc == 0)
		rc = fn(payload, &c, err);
	fg_oid_list_release(&c.parents);
	return rc;
}

static int cli_walk(void *state, const struct fg_walk *w, fg_walk_fn fn,
		    void *payload, bool *truncated, struct fg_error *err)
{
	struct fg_buf max = FG_BUF_INIT, hide = FG_BUF_INIT, text = FG_BUF_INIT;
	const char **args = walk_args(w, &max, &hide);
	size_t pos = 0, seen = 0;
	int status, rc;

	*truncated = false;
	if (!args) {
		rc = fg_error_oom(err);
		goto out;
	}
	rc = run_git(state, args, &text, &status, err);
	if (rc == 0 && status != 0)
		rc = fg_error_set(err, FG_ENOTFOUND, "git rev-list failed (exit %d) while "
				  "walking the commit graph", status);
	while (rc == 0 && pos < text.len) {
		char *nl = memchr(text.ptr + pos, '\n', text.len - pos);
		size_t len = nl ? (size_t)(nl - text.ptr) - pos : text.len - pos;

		if (seen++ == w->max) {
			*truncated = true;
			break;
		}
		rc = walk_line(text.ptr + pos, len, w, fn, payload, err);
		pos += len + 1;
	}
out:
	free(args);
	fg_buf_release(&max);
	fg_buf_release(&hide);
	fg_buf_release(&text);
	return rc == 1 ? 0 : rc;
}

static int cli_symref_target(void *state, const char *refname, char **out,
			     struct fg_error *err)
{
	const char *args[] = { "symbolic-ref", "-q", refname, NULL };
	struct fg_buf line = FG_BUF_INIT;
	int status, rc = run_git(state, args, &line, &status, err);
	char *nl;

	*out = NULL;
	/* exit 1: the ref is not symbolic (or does not exist) */
	if (rc == 0 && status == 0 && line.len) {
		nl = memchr(line.ptr, '\n', line.len);
		if (nl)
			fg_buf_truncate(&line, (size_t)(nl - line.ptr));
		if (!(*out = fg_strdup(fg_buf_cstr(&line))))
			rc = fg_error_oom(err);
	} else if (rc == 0 && status > 1) {
		rc = fg_error_set(err, FG_EIO, "git symbolic-ref failed (exit %d)", status);
	}
	fg_buf_release(&line);
	return rc;
}

static int cli_branches(void *state, struct fg_branch_tips *out, struct fg_error *err)
{
	const char *args[] = { "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)",
			       "refs/heads/", NULL };
	struct fg_buf text = FG_BUF_INIT;
	char *line, *next, *save = NULL;
	int status, rc = run_git(state, args, &text, &status, err);
	size_t lines = 0, i;

	out->items = NULL;
	out->count = 0;
	if (rc == 0 && status != 0)
		rc = fg_error_set(err, FG_EIO, "git for-each-ref failed (exit %d)", status);
	if (rc < 0)
		goto out;
	if (text.len == 0)
		goto out; /* a new repository has no branches yet */
	for (i = 0; i < text.len; i++)
		lines += text.ptr[i] == '\n';
	out->items = calloc(lines + 1, sizeof(*out->items));
	if (!out->items) {
		rc = fg_error_oom(err);
		goto out;
	}
	for (line = strtok_r(text.ptr, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		/* "<id> <peeled id or empty> refs/heads/<name>" */
		char *peeled = strchr(line, ' ');
		struct fg_branch_tip *tip = &out->items[out->count];

		next = peeled ? strchr(peeled + 1, ' ') : NULL;
		if (!next || strncmp(next + 1, "refs/heads/", 11)) {
			rc = fg_error_set(err, FG_EIO, "git for-each-ref printed an unexpected line");
			break;
		}
		if (next > peeled + 1)
			rc = parse_oid_or_fail(&tip->oid, peeled + 1, (size_t)(next - peeled - 1), err);
		else
			rc = parse_oid_or_fail(&tip->oid, line, (size_t)(peeled - line), err);
		if (rc == 0 && !(tip->name = fg_strdup(next + 12)))
			rc = fg_error_oom(err);
		if (rc == 0)
			out->count++;
	}
	if (rc < 0)
		fg_branch_tips_release(out);
out:
	fg_buf_release(&text);
	return rc;
}

static void cli_free(void *state)
{
	struct cli_state *st = state;

	if (st)
		free(st->git_dir);
	free(st);
}

static const struct fg_graph_ops cli_ops = {
	.peel_commit = cli_peel_commit,
	.parents = cli_parents,
	.tree = cli_tree,
	.is_ancestor = cli_is_ancestor,
	.walk = cli_walk,
	.symref_target = cli_symref_target,
	.branches = cli_branches,
	.free = cli_free,
};

int fg_graph_open_git_cli(struct fg_graph **out, const char *git_dir,
			  struct fg_error *err)
{
	struct cli_state *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st || (git_dir && !(st->git_dir = fg_strdup(git_dir)))) {
		cli_free(st);
		return fg_error_oom(err);
	}
	return fg_graph_new(out, &cli_ops, st, err);
}
