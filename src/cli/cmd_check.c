/*
 * fleetgate check: the fleet checks of the pre-receive gate, run on a work
 * tree or on a commit, for developers (pre-commit/pre-push) and tools.
 */
#include "commands.h"
#include "buf.h"
#include "diag.h"
#include "error.h"
#include "fleet_check.h"
#include "gitcli.h"
#include "tree_export.h"
#include "tree_source.h"

#include <git2.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BRANCHES 64

struct check_args {
	const char *dir;
	const char *git_dir;
	const char *rev;
	const char *schema_rev;
	const char *since;
	int json;
	const char *branches[MAX_BRANCHES];
	size_t nbranches;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fleetgate check [--format text|json] [--branch NAME]... [DIR]\n"
		"       fleetgate check --git-dir GITDIR --rev REV [--since REV]\n"
		"                       [--schema-rev REV] [--format text|json] [--branch NAME]...\n\n"
		"Checks a fleet repository (fleet.yaml, devices/, schemas/) as the\n"
		"pre-receive hook does. DIR defaults to the current directory.\n"
		"  --branch NAME     a branch name default_branch/subscribed_branch may\n"
		"                    use, besides the branches of the repository\n"
		"  --schema-rev REV  take schemas/configuration.schema.* from REV\n"
		"  --since REV       check only what changed since REV, as the\n"
		"                    pre-receive hook does (all when fleet.yaml or\n"
		"                    schemas/ changed)\n"
		"Exit status: 0 valid, 1 invalid, 2 usage or error. See fleetgate-fleet(5).\n");
}

static int parse_args(struct check_args *a, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(arg, "--format") && val) {
			if (strcmp(val, "json") && strcmp(val, "text"))
				break;
			a->json = !strcmp(val, "json");
		} else if (!strcmp(arg, "--git-dir") && val) {
			a->git_dir = val;
		} else if (!strcmp(arg, "--rev") && val) {
			a->rev = val;
		} else if (!strcmp(arg, "--since") && val) {
			a->since = val;
		} else if (!strcmp(arg, "--schema-rev") && val) {
			a->schema_rev = val;
		} else if (!strcmp(arg, "--branch") && val) {
			if (a->nbranches == MAX_BRANCHES)
				break;
			a->branches[a->nbranches++] = val;
		} else if (arg[0] != '-' && !a->dir) {
			a->dir = arg;
			continue;
		} else {
			break;
		}
		i++;
	}
	if (i < argc || (a->git_dir && a->dir) || (!a->git_dir && (a->rev || a->schema_rev || a->since))) {
		usage(stderr);
		return 2;
	}
	if (a->git_dir && !a->rev)
		a->rev = "HEAD";
	if (!a->dir)
		a->dir = ".";
	return -1;
}

static int print_json(const struct fg_diags *d, int verdict)
{
	json_t *root = json_object(), *list = json_array();
	size_t i;
	char *text;

	if (!root || !list) {
		json_decref(list);
		goto fail;
	}
	if (json_object_set_new(root, "errors", list) < 0 ||
	    json_object_set_new(root, "valid", json_boolean(verdict == 0)) < 0)
		goto fail;
	for (i = 0; i < d->count; i++) {
		const struct fg_diag *it = &d->items[i];
		json_t *o = json_pack("{s:s?, s:i, s:i, s:s?, s:s?, s:s, s:s?}",
				      "file", it->path, "line", it->line,
				      "column", it->column, "pointer", it->pointer,
				      "rule", it->keyword, "message", it->message,
				      "hint", it->hint);

		if (!o || json_array_append_new(list, o) < 0)
			goto fail;
	}
	text = json_dumps(root, JSON_INDENT(2));
	if (!text)
		goto fail;
	puts(text);
	free(text);
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

static int print_text(const struct fg_diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		char *line = fg_diag_format(&d->items[i]);

		if (!line)
			return -1;
		printf("%s\n", line);
		free(line);
	}
	if (d->dropped)
		printf("... and %zu more\n", d->dropped);
	return 0;
}

static int resolve(git_oid *out, git_repository *repo, const char *spec,
		   struct fg_error *err)
{
	git_object *obj = NULL;

	if (git_revparse_single(&obj, repo, spec) < 0)
		return fg_error_set(err, FG_ENOTFOUND, "unknown revision '%s'", spec);
	git_oid_cpy(out, git_object_id(obj));
	git_object_free(obj);
	return 0;
}

/* The gate's incremental check, for benchmarks and pre-push hooks. */
static int check_since(git_repository *repo, const struct check_args *a,
		       struct fg_fleet_check_opts *opts, struct fg_diags *diags,
		       struct fg_error *err)
{
	git_oid old, new, schema;
	int rc;

	opts->branch_exists = fg_fleet_branch_in_repo;
	opts->branch_payload = repo;
	rc = resolve(&old, repo, a->since, err);
	if (rc == 0)
		rc = resolve(&new, repo, a->rev, err);
	if (rc == 0 && a->schema_rev)
		rc = resolve(&schema, repo, a->schema_rev, err);
	if (rc == 0)
		rc = fg_fleet_check_push(repo, &old, &new, a->schema_rev ? &schema : NULL,
					 opts, diags, err);
	return rc;
}

/* SHA-256 repositories, which libgit2 1.5 cannot open: git resolves REV
 * and exports its files, and the work-tree check judges them (the gate
 * does the same). */
static int export_rev(char **out, const char *git_dir, const char *rev,
		      struct fg_error *err)
{
	const char *args[] = { "rev-parse", "--verify", "--quiet", NULL, NULL };
	struct fg_buf oid = FG_BUF_INIT;
	char *spec = fg_asprintf("%s^{commit}", rev);
	int status = 0, rc;

	*out = NULL;
	if (!spec)
		return fg_error_oom(err);
	args[3] = spec;
	rc = fg_git_run(git_dir, args, NULL, &oid, &status, err);
	if (rc == 0 && (status != 0 || oid.len < 41))
		rc = fg_error_set(err, FG_ENOTFOUND, "unknown revision '%s'", rev);
	if (rc == 0) {
		oid.ptr[strcspn(oid.ptr, "\n")] = '\0';
		rc = fg_tree_export(git_dir, oid.ptr, out, err);
	}
	fg_buf_release(&oid);
	free(spec);
	return rc;
}

/* The checks of a commit of a SHA-256 repository (no --since: the whole
 * tree is checked). */
static int check_exported(const struct check_args *a, struct fg_fleet_check_opts *opts,
			  struct fg_diags *diags, struct fg_error *err)
{
	struct fg_source *src = NULL, *schema_src = NULL;
	char *tree = NULL, *schema_tree = NULL;
	int rc = export_rev(&tree, a->git_dir, a->rev, err);

	if (rc == 0 && a->schema_rev)
		rc = export_rev(&schema_tree, a->git_dir, a->schema_rev, err);
	if (rc == 0)
		rc = fg_source_open_dir(&src, tree, err);
	if (rc == 0 && schema_tree)
		rc = fg_source_open_dir(&schema_src, schema_tree, err);
	opts->schema_source = schema_src;
	if (rc == 0)
		rc = fg_fleet_check(src, opts, diags, err);
	fg_source_free(schema_src);
	fg_source_free(src);
	fg_tree_export_remove(schema_tree);
	fg_tree_export_remove(tree);
	return rc;
}

static int run_check(const struct check_args *a, struct fg_diags *diags,
		     struct fg_error *err)
{
	struct fg_fleet_check_opts opts = FG_FLEET_CHECK_OPTS_INIT;
	struct fg_source *src = NULL, *schema_src = NULL;
	git_repository *repo = NULL;
	int rc;

	opts.known_branches = a->branches;
	opts.known_branch_count = a->nbranches;
	if (a->git_dir && !a->since && fg_repo_uses_sha256(a->git_dir) > 0)
		return check_exported(a, &opts, diags, err);
	if (a->git_dir) {
		if (git_repository_open_bare(&repo, a->git_dir) < 0 &&
		    git_repository_open(&repo, a->git_dir) < 0)
			return fg_error_set(err, FG_ENOTFOUND,
					    "'%s' is not a git repository", a->git_dir);
		if (a->since) {
			rc = check_since(repo, a, &opts, diags, err);
			git_repository_free(repo);
			return rc;
		}
		rc = fg_source_open_rev(&src, repo, a->rev, err);
		if (rc == 0 && a->schema_rev)
			rc = fg_source_open_rev(&schema_src, repo, a->schema_rev, err);
	} else {
		rc = fg_source_open_dir(&src, a->dir, err);
		/* the branches of the work tree's repository, when there is one */
		if (git_repository_open_ext(&repo, a->dir, 0, NULL) < 0)
			repo = NULL;
	}
	if (repo) {
		opts.branch_exists = fg_fleet_branch_in_repo;
		opts.branch_payload = repo;
	}
	opts.schema_source = schema_src;
	if (rc == 0)
		rc = fg_fleet_check(src, &opts, diags, err);
	fg_source_free(schema_src);
	fg_source_free(src);
	git_repository_free(repo);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	struct check_args a;
	struct fg_diags diags = FG_DIAGS_INIT;
	struct fg_error err = FG_ERROR_INIT;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	git_libgit2_init();
	rc = run_check(&a, &diags, &err);
	if (rc < 0) {
		fprintf(stderr, "fleetgate check: %s\n", err.message);
		rc = 2;
	} else if ((a.json ? print_json(&diags, rc) : print_text(&diags)) < 0) {
		fprintf(stderr, "fleetgate check: out of memory\n");
		rc = 2;
	} else if (!a.json) {
		if (rc)
			fprintf(stderr, "fleetgate check: %zu problem%s found\n",
				fg_diags_total(&diags),
				fg_diags_total(&diags) == 1 ? "" : "s");
	}
	fg_diags_release(&diags);
	git_libgit2_shutdown();
	return rc;
}
