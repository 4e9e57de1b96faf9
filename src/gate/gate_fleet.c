#include "gate_fleet.h"
#include "diag.h"
#include "fleet_check.h"
#include "schema.h"
#include "gitcli.h"
#include "tree_export.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fg_gate_fleet {
	git_repository *repo;      /* NULL for a SHA-256 repository */
	char *git_dir;             /* SHA-256: for git itself; NULL: environment */
	const struct fg_policy *policy;
	const struct fg_branch_tips *tips; /* branches before the push (borrowed) */
	const char **known;        /* policy + existing + created branches */
	size_t nknown;
	/* one for the whole push, however many refs it updates */
	struct fg_schema_budget schema_budget;
};

static int git_fail(struct fg_error *err, const char *what)
{
	const git_error *e = git_error_last();

	return fg_error_set(err, FG_EIO, "%s: %s", what,
			    e && e->message ? e->message : "libgit2 error");
}

static int open_repo(git_repository **repo, const char *git_dir, struct fg_error *err)
{
	int rc;

	if (git_dir) {
		rc = git_repository_open_ext(repo, git_dir, GIT_REPOSITORY_OPEN_NO_SEARCH |
					     GIT_REPOSITORY_OPEN_BARE, NULL);
	} else {
		/* as in graph_libgit2.c: the quarantine comes through
		 * GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES */
		unsetenv("GIT_WORK_TREE");
		unsetenv("GIT_COMMON_DIR");
		rc = git_repository_open_ext(repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	}
	if (rc < 0)
		return git_fail(err, "unable to open the repository for the fleet check");
	return 0;
}

static const char *branch_of(const char *refname)
{
	return strncmp(refname, "refs/heads/", 11) ? NULL : refname + 11;
}

static int collect_known(struct fg_gate_fleet *gf, const struct fg_ref_updates *u,
			 struct fg_error *err)
{
	size_t i, n = gf->policy->branch_count + gf->tips->count + u->count;

	gf->known = calloc(n ? n : 1, sizeof(*gf->known));
	if (!gf->known)
		return fg_error_oom(err);
	for (i = 0; i < gf->policy->branch_count; i++)
		gf->known[gf->nknown++] = gf->policy->branches[i].name;
	for (i = 0; i < gf->tips->count; i++)
		gf->known[gf->nknown++] = gf->tips->items[i].name;
	for (i = 0; i < u->count; i++) {
		const char *b = branch_of(u->items[i].refname);

		if (b && !fg_oid_is_zero(&u->items[i].new_id))
			gf->known[gf->nknown++] = b;
	}
	return 0;
}

int fg_gate_fleet_open(struct fg_gate_fleet **out, const char *git_dir,
		       const struct fg_policy *policy,
		       const struct fg_ref_updates *updates,
		       const struct fg_branch_tips *tips, struct fg_error *err)
{
	struct fg_gate_fleet *gf = calloc(1, sizeof(*gf));
	int rc = 0;

	*out = NULL;
	if (!gf)
		return fg_error_oom(err);
	git_libgit2_init();
	gf->schema_budget = (struct fg_schema_budget)FG_SCHEMA_BUDGET_INIT;
	gf->policy = policy;
	gf->tips = tips;
	if (fg_repo_uses_sha256(git_dir)) {
		if (git_dir && !(gf->git_dir = fg_strdup(git_dir)))
			rc = fg_error_oom(err);
	} else {
		rc = open_repo(&gf->repo, git_dir, err);
	}
	if (rc == 0)
		rc = collect_known(gf, updates, err);
	if (rc < 0) {
		fg_gate_fleet_free(gf);
		return rc;
	}
	*out = gf;
	return 0;
}

void fg_gate_fleet_free(struct fg_gate_fleet *gf)
{
	if (!gf)
		return;
	free(gf->known);
	free(gf->git_dir);
	git_repository_free(gf->repo);
	free(gf);
	git_libgit2_shutdown();
}

int fg_gate_fleet_selects(const struct fg_gate_fleet *gf,
			  const struct fg_ref_update *update)
{
	const char *b = branch_of(update->refname);

	if (!b || fg_oid_is_zero(&update->new_id))
		return 0;
	return gf->policy->validate == FG_VALIDATE_ALL ||
	       fg_policy_branch(gf->policy, b) != NULL;
}

static const struct fg_oid *tip_of(const struct fg_gate_fleet *gf, const char *name)
{
	size_t i;

	for (i = 0; i < gf->tips->count; i++)
		if (!strcmp(gf->tips->items[i].name, name))
			return &gf->tips->items[i].oid;
	return NULL;
}

/* A new branch is compared with the branch it will be promoted into. */
static const struct fg_oid *base_of_new_branch(const struct fg_gate_fleet *gf,
					       const char *branch)
{
	const struct fg_policy *p = gf->policy;
	const struct fg_oid *base;
	size_t i;

	for (i = 0; i < p->branch_count; i++)
		if (fg_policy_promotes_from(&p->branches[i], branch) &&
		    (base = tip_of(gf, p->branches[i].name)) != NULL)
			return base;
	return tip_of(gf, "main");
}

static void put_field(struct fg_buf *lines, const char *s)
{
	fg_buf_put_escaped(lines, s, strlen(s));
}

/* Every field is pushed content on its way to the pusher's terminal:
 * escaped (already when it was added, again here; idempotent). */
static void format_lines(const struct fg_diags *d, const char *prefix,
			 struct fg_buf *lines)
{
	size_t i;

	for (i = 0; i < d->count && i < FG_GATE_FLEET_MAX_LINES; i++) {
		const struct fg_diag *it = &d->items[i];

		fg_buf_printf(lines, "%s  ", prefix);
		put_field(lines, it->path ? it->path : "(fleet)");
		if (it->line > 0)
			fg_buf_printf(lines, ":%d:%d", it->line, it->column);
		fg_buf_puts(lines, ": ");
		put_field(lines, it->message);
		if (it->hint) {
			fg_buf_puts(lines, " (");
			put_field(lines, it->hint);
			fg_buf_putc(lines, ')');
		}
		fg_buf_putc(lines, '\n');
	}
	if (fg_diags_total(d) > i)
		fg_buf_printf(lines, "%s  ... and %zu more\n", prefix,
			      fg_diags_total(d) - i);
}

/* An error message may name a path, a $ref or a ref name from the push;
 * the gate prints it as it is, so it is escaped here. */
static void escape_error(struct fg_error *err)
{
	char *safe = fg_escape(err->message);

	if (safe)
		snprintf(err->message, sizeof(err->message), "%s", safe);
	else
		fg_error_oom(err);
	free(safe);
}

/* libgit2: the incremental check of fleet_check.h. */
static int check_with_libgit2(struct fg_gate_fleet *gf, const struct fg_oid *base_hex,
			      const struct fg_ref_update *update,
			      const struct fg_fleet_check_opts *opts, struct fg_diags *d,
			      struct fg_error *err)
{
	git_oid base, new;

	if (git_oid_fromstr(&new, update->new_id.hex) < 0 ||
	    (base_hex && git_oid_fromstr(&base, base_hex->hex) < 0))
		return fg_error_set(err, FG_EINVALID, "'%s' is not a SHA-1 branch update",
				    update->refname);
	/* the base is the target before the push: its schema judges */
	return fg_fleet_check_push(gf->repo, base_hex ? &base : NULL, &new,
				   base_hex ? &base : NULL, opts, d, err);
}

/* SHA-256, which libgit2 1.5 cannot read: git exports the new tree (and the
 * base, whose schema judges) and the whole fleet is checked as a work tree. */
static int check_exported(struct fg_gate_fleet *gf, const struct fg_oid *base_hex,
			  const struct fg_ref_update *update,
			  struct fg_fleet_check_opts *opts, struct fg_diags *d,
			  struct fg_error *err)
{
	struct fg_source *src = NULL, *schema_src = NULL;
	char *tree = NULL, *base_tree = NULL;
	int rc;

	rc = fg_tree_export(gf->git_dir, update->new_id.hex, &tree, err);
	if (rc == 0 && base_hex)
		rc = fg_tree_export(gf->git_dir, base_hex->hex, &base_tree, err);
	if (rc == 0)
		rc = fg_source_open_dir(&src, tree, err);
	if (rc == 0 && base_tree)
		rc = fg_source_open_dir(&schema_src, base_tree, err);
	if (rc == 0) {
		opts->schema_source = schema_src;
		rc = fg_fleet_check(src, opts, d, err);
	}
	fg_source_free(src);
	fg_source_free(schema_src);
	fg_tree_export_remove(tree);
	fg_tree_export_remove(base_tree);
	return rc;
}

int fg_gate_fleet_check(struct fg_gate_fleet *gf, const struct fg_ref_update *update,
			const char *line_prefix, struct fg_buf *lines,
			char *explanation, size_t explanation_size,
			struct fg_error *err)
{
	struct fg_fleet_check_opts opts = FG_FLEET_CHECK_OPTS_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	const char *branch = branch_of(update->refname);
	const struct fg_oid *base;
	int rc;

	if (!branch)
		return fg_error_set(err, FG_EINVALID, "'%s' is not a branch", update->refname);
	base = fg_oid_is_zero(&update->old_id) ? base_of_new_branch(gf, branch)
					      : &update->old_id;
	/* every branch that exists or is being created is known: no lookups */
	opts.known_branches = gf->known;
	opts.known_branch_count = gf->nknown;
	opts.schema_budget = &gf->schema_budget;
	opts.secret_words = (const char *const *)gf->policy->secret_words.items;
	opts.secret_word_count = gf->policy->secret_words.count;
	rc = gf->repo ? check_with_libgit2(gf, base, update, &opts, &d, err)
		      : check_exported(gf, base, update, &opts, &d, err);
	if (rc == 1) {
		snprintf(explanation, explanation_size,
			 "%zu problem%s in the fleet files", fg_diags_total(&d),
			 fg_diags_total(&d) == 1 ? "" : "s");
		format_lines(&d, line_prefix, lines);
		if (d.failed || lines->failed)
			rc = fg_error_oom(err);
	}
	if (rc < 0)
		escape_error(err);
	fg_diags_release(&d);
	return rc;
}
