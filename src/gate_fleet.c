#include "gate_fleet.h"
#include "diag.h"
#include "fleet_check.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tip {
	char *name;
	git_oid id;
};

struct fg_gate_fleet {
	git_repository *repo;
	const struct fg_policy *policy;
	struct tip *tips;          /* local branches before the push */
	size_t ntips;
	const char **known;        /* policy branches + branches created now */
	size_t nknown;
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
	/* libgit2 1.5 cannot open a SHA-256 repository: that fails here,
	 * closed, rather than skipping the fleet check */
	if (rc < 0)
		return git_fail(err, "unable to open the repository for the fleet check");
	return 0;
}

static int snapshot_tips(struct fg_gate_fleet *gf, struct fg_error *err)
{
	git_branch_iterator *it = NULL;
	git_reference *ref = NULL;
	git_branch_t type;
	size_t alloc = 0;
	int rc = 0;

	if (git_branch_iterator_new(&it, gf->repo, GIT_BRANCH_LOCAL) < 0)
		return git_fail(err, "unable to list branches");
	while (rc == 0 && git_branch_next(&ref, &type, it) == 0) {
		const char *name = NULL;
		git_object *commit = NULL;

		if (git_branch_name(&name, ref) == 0 &&
		    git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) == 0) {
			if (gf->ntips == alloc) {
				struct tip *t;

				alloc = alloc ? alloc * 2 : 16;
				t = realloc(gf->tips, alloc * sizeof(*t));
				if (!t)
					rc = fg_error_oom(err);
				else
					gf->tips = t;
			}
			if (rc == 0) {
				gf->tips[gf->ntips].name = fg_strdup(name);
				git_oid_cpy(&gf->tips[gf->ntips].id, git_object_id(commit));
				if (!gf->tips[gf->ntips].name)
					rc = fg_error_oom(err);
				else
					gf->ntips++;
			}
		}
		git_object_free(commit);
		git_reference_free(ref);
	}
	git_branch_iterator_free(it);
	return rc;
}

static const char *branch_of(const char *refname)
{
	return strncmp(refname, "refs/heads/", 11) ? NULL : refname + 11;
}

static int collect_known(struct fg_gate_fleet *gf, const struct fg_ref_updates *u,
			 struct fg_error *err)
{
	size_t i, n = gf->policy->branch_count + u->count;

	gf->known = calloc(n ? n : 1, sizeof(*gf->known));
	if (!gf->known)
		return fg_error_oom(err);
	for (i = 0; i < gf->policy->branch_count; i++)
		gf->known[gf->nknown++] = gf->policy->branches[i].name;
	for (i = 0; i < u->count; i++) {
		const char *b = branch_of(u->items[i].refname);

		if (b && !fg_oid_is_zero(&u->items[i].new_id))
			gf->known[gf->nknown++] = b;
	}
	return 0;
}

int fg_gate_fleet_open(struct fg_gate_fleet **out, const char *git_dir,
		       const struct fg_policy *policy,
		       const struct fg_ref_updates *updates, struct fg_error *err)
{
	struct fg_gate_fleet *gf = calloc(1, sizeof(*gf));
	int rc;

	*out = NULL;
	if (!gf)
		return fg_error_oom(err);
	git_libgit2_init();
	gf->policy = policy;
	rc = open_repo(&gf->repo, git_dir, err);
	if (rc == 0)
		rc = snapshot_tips(gf, err);
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
	size_t i;

	if (!gf)
		return;
	for (i = 0; i < gf->ntips; i++)
		free(gf->tips[i].name);
	free(gf->tips);
	free(gf->known);
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

static const git_oid *tip_of(const struct fg_gate_fleet *gf, const char *name)
{
	size_t i;

	for (i = 0; i < gf->ntips; i++)
		if (!strcmp(gf->tips[i].name, name))
			return &gf->tips[i].id;
	return NULL;
}

/* A new branch is compared with the branch it will be promoted into. */
static const git_oid *base_of_new_branch(const struct fg_gate_fleet *gf,
					 const char *branch)
{
	const struct fg_policy *p = gf->policy;
	const git_oid *base;
	size_t i;

	for (i = 0; i < p->branch_count; i++)
		if (fg_policy_promotes_from(&p->branches[i], branch) &&
		    (base = tip_of(gf, p->branches[i].name)) != NULL)
			return base;
	return tip_of(gf, "main");
}

static void format_lines(const struct fg_diags *d, const char *prefix,
			 struct fg_buf *lines)
{
	size_t i;

	for (i = 0; i < d->count && i < FG_GATE_FLEET_MAX_LINES; i++) {
		const struct fg_diag *it = &d->items[i];

		fg_buf_printf(lines, "%s  %s", prefix, it->path ? it->path : "(fleet)");
		if (it->line > 0)
			fg_buf_printf(lines, ":%d:%d", it->line, it->column);
		fg_buf_printf(lines, ": %s", it->message);
		if (it->hint)
			fg_buf_printf(lines, " (%s)", it->hint);
		fg_buf_putc(lines, '\n');
	}
	if (d->count > FG_GATE_FLEET_MAX_LINES)
		fg_buf_printf(lines, "%s  ... and %zu more\n", prefix,
			      d->count - FG_GATE_FLEET_MAX_LINES);
}

int fg_gate_fleet_check(struct fg_gate_fleet *gf, const struct fg_ref_update *update,
			const char *line_prefix, struct fg_buf *lines,
			char *explanation, size_t explanation_size,
			struct fg_error *err)
{
	struct fg_fleet_check_opts opts = FG_FLEET_CHECK_OPTS_INIT;
	struct fg_diags d = FG_DIAGS_INIT;
	const char *branch = branch_of(update->refname);
	const git_oid *base = NULL;
	git_oid old, new;
	int rc;

	if (!branch || git_oid_fromstr(&new, update->new_id.hex) < 0)
		return fg_error_set(err, FG_EINVALID, "'%s' is not a SHA-1 branch update",
				    update->refname);
	if (!fg_oid_is_zero(&update->old_id)) {
		if (git_oid_fromstr(&old, update->old_id.hex) < 0)
			return fg_error_set(err, FG_EINVALID, "bad old id of '%s'",
					    update->refname);
		base = &old;
	} else {
		base = base_of_new_branch(gf, branch);
	}
	opts.known_branches = gf->known;
	opts.known_branch_count = gf->nknown;
	opts.branch_exists = fg_fleet_branch_in_repo;
	opts.branch_payload = gf->repo;
	/* the base is the target before the push: its schema judges */
	rc = fg_fleet_check_push(gf->repo, base, &new, base, &opts, &d, err);
	if (rc == 1) {
		snprintf(explanation, explanation_size,
			 "%zu problem%s in the fleet files", d.count,
			 d.count == 1 ? "" : "s");
		format_lines(&d, line_prefix, lines);
		if (d.failed || lines->failed)
			rc = fg_error_oom(err);
	}
	fg_diags_release(&d);
	return rc;
}
