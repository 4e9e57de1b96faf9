/*
 * fleetgate status: per branch its tip and the record of its last rollout.
 *
 *   fleetgate status [--repo DIR] [BRANCH...] [--devices] [--format text|json]
 *
 * Reads the records (record.h) in the repository's state folder and the
 * tips through git; only --devices asks Mender (a dry-run plan of the
 * last rolled-out commit: one search, and the configuration of every
 * device). Exit 0 when the last rollout of every branch shown succeeded,
 * 1 otherwise, 2 on error.
 */
#include "commands.h"
#include "buf.h"
#include "gate.h"
#include "gitcli.h"
#include "policy.h"
#include "record.h"
#include "rollout.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: fleetgate status [--repo DIR] [BRANCH...] [--devices] "
	"[--format text|json]\n";

struct status_args {
	const char *repo;
	bool json, devices;
	char **branches;
	size_t nbranches;
};

struct names {
	char **items;
	size_t count;
};

static int names_add(struct names *n, const char *s)
{
	size_t i;
	char **grown;

	for (i = 0; i < n->count; i++)
		if (!strcmp(n->items[i], s))
			return 0;
	if (!(grown = realloc(n->items, (n->count + 1) * sizeof(*grown))))
		return FG_ENOMEM;
	n->items = grown;
	if (!(grown[n->count] = fg_strdup(s)))
		return FG_ENOMEM;
	n->count++;
	return 0;
}

static void names_release(struct names *n)
{
	size_t i;

	for (i = 0; i < n->count; i++)
		free(n->items[i]);
	free(n->items);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "feature%2Fx.json" -> "feature/x" (the record module's file names). */
static char *decode_name(const char *file)
{
	size_t len = strlen(file);
	char *out, *o;
	unsigned hi, lo;

	if (len < 6 || strcmp(file + len - 5, ".json") || !(out = malloc(len)))
		return NULL;
	for (o = out; len > 5; file++, len--) {
		if (*file == '%' && len > 7 && sscanf(file + 1, "%1x%1x", &hi, &lo) == 2) {
			*o++ = (char)(hi << 4 | lo);
			file += 2;
			len -= 2;
		} else {
			*o++ = *file;
		}
	}
	*o = '\0';
	return out;
}

/* No branch named: the protected branches and every branch with a record. */
static int default_branches(struct names *n, const struct fg_policy *p,
			    const char *state_dir)
{
	char *dir = fg_asprintf("%s/records", state_dir);
	struct dirent *de;
	DIR *d;
	size_t i;
	int rc = 0;

	for (i = 0; p && rc == 0 && i < p->branch_count; i++)
		rc = names_add(n, p->branches[i].name);
	if (dir && (d = opendir(dir))) {
		while (rc == 0 && (de = readdir(d))) {
			char *name = decode_name(de->d_name);

			if (name)
				rc = names_add(n, name);
			free(name);
		}
		closedir(d);
	}
	free(dir);
	if (n->count)
		qsort(n->items, n->count, sizeof(*n->items), cmp_name);
	return dir ? rc : FG_ENOMEM;
}

/* The tip of refs/heads/<branch>, or "" when the branch does not exist.
 * git, not libgit2: SHA-256 repositories too. */
static int branch_tip(char *out, size_t size, const char *git_dir, const char *branch)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_buf b = FG_BUF_INIT;
	char *ref = fg_asprintf("refs/heads/%s^{commit}", branch);
	const char *args[] = { "rev-parse", "--verify", "-q", "--end-of-options", ref,
			       NULL };
	int status = 1, rc;

	out[0] = '\0';
	if (!ref)
		return FG_ENOMEM;
	rc = fg_git_run(git_dir, args, NULL, &b, &status, &err);
	if (rc == 0 && status == 0 && b.len)
		snprintf(out, size, "%.*s", (int)strcspn(fg_buf_cstr(&b), "\n"),
			 fg_buf_cstr(&b));
	fg_buf_release(&b);
	free(ref);
	return rc;
}

static void print_text(const char *branch, const char *tip, const struct fg_record *rec)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	printf("%-12s tip %.7s", branch, *tip ? tip : "-");
	if (!rec) {
		printf("  never rolled out\n");
		return;
	}
	fg_record_summary(&b, branch, rec);
	printf("  rolled out %.7s%s\n  %s\n", rec->commit,
	       strcmp(rec->commit, tip) ? " (not the tip)" : "", fg_buf_cstr(&b));
	fg_buf_release(&b);
	for (i = 0; i < rec->nfailed_devices; i++)
		printf("  failed: %s\n", rec->failed_devices[i]);
	if (rec->last_error)
		printf("  last error: %s\n", rec->last_error);
}

static bool failed_device(const struct fg_record *rec, const char *id)
{
	size_t i;

	for (i = 0; rec && i < rec->nfailed_devices; i++)
		if (!strcmp(rec->failed_devices[i], id))
			return true;
	return false;
}

/* One device of the dry-run plan as status shows it. The outcome is the
 * record's: failed (listed), in-sync (nothing left to do) or pending. */
static json_t *device_row(const json_t *d, const struct fg_record *rec)
{
	const json_t *os = json_object_get(d, "os"), *conf = json_object_get(d, "configuration");
	const char *id = json_string_value(json_object_get(d, "id"));
	const char *os_action = json_string_value(json_object_get(os, "action"));
	const char *conf_action = json_string_value(json_object_get(conf, "action"));
	bool at_c = os_action && conf_action && !strcmp(os_action, "in-sync") &&
		    (!strcmp(conf_action, "in-sync") || !strcmp(conf_action, "not-checked"));

	return json_pack("{s:s?, s:O?, s:O?, s:O?, s:s?, s:s}", "id", id,
			 "name", json_object_get(d, "name"),
			 "desired_os", json_object_get(os, "desired"),
			 "current_os", json_object_get(os, "current"),
			 "configuration", conf_action,
			 "outcome", failed_device(rec, id ? id : "") ? "failed"
				    : at_c ? "in-sync" : "pending");
}

/* The devices following the branch: a dry-run plan of the last rolled-out
 * commit (else the tip), into *rows (new reference). */
static int device_rows(json_t **rows, const char *git_dir, const struct fg_policy *p,
		       const char *branch, const struct fg_record *rec,
		       struct fg_error *err)
{
	struct fg_rollout_options o = FG_ROLLOUT_OPTIONS_INIT;
	json_t *report = NULL, *plan = NULL, *d;
	char *text = NULL;
	size_t len = 0, i;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	*rows = json_array();
	if (!mem || !*rows) {
		rc = fg_error_oom(err);
		goto out;
	}
	o.git_dir = git_dir;
	o.branch = branch;
	o.rev = rec ? rec->commit : NULL;
	o.policy = p;
	o.dry_run = o.full = true;
	o.json_report = mem;
	rc = fg_rollout_run(&o, &report, err);
	fclose(mem);
	mem = NULL;
	if (rc == 0 && !(plan = json_loadb(text, len, 0, NULL)))
		rc = fg_error_set(err, FG_EINVALID, "the plan of '%s' could not be read", branch);
	json_array_foreach(json_object_get(plan, "devices"), i, d)
		if (rc == 0 && json_array_append_new(*rows, device_row(d, rec)) < 0)
			rc = fg_error_oom(err);
out:
	if (mem)
		fclose(mem);
	free(text);
	json_decref(report);
	json_decref(plan);
	return rc;
}

static void print_rows(const json_t *rows)
{
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
		printf("    %-16s %s  os %s (wants %s)  configuration %s  %s\n",
		       json_string_value(json_object_get(r, "name")) ?
		       json_string_value(json_object_get(r, "name")) : "-",
		       json_string_value(json_object_get(r, "id")),
		       json_string_value(json_object_get(r, "current_os")) ?
		       json_string_value(json_object_get(r, "current_os")) : "?",
		       json_string_value(json_object_get(r, "desired_os")) ?
		       json_string_value(json_object_get(r, "desired_os")) : "?",
		       json_string_value(json_object_get(r, "configuration")),
		       json_string_value(json_object_get(r, "outcome")));
}

/* One branch: printed (text) or appended to out (json). *ok stays true
 * while every branch's last rollout succeeded. */
static int show_branch(const struct status_args *a, const struct fg_policy *p,
		       const char *state_dir, const char *branch, json_t *out, bool *ok,
		       struct fg_error *err)
{
	struct fg_record_history h;
	const struct fg_record *rec;
	json_t *rows = NULL, *item;
	char tip[128];
	int rc;

	if ((rc = fg_record_load(&h, state_dir, branch, err)) < 0)
		return rc;
	if ((rc = branch_tip(tip, sizeof(tip), a->repo, branch)) < 0) {
		rc = fg_error_set(err, rc, "cannot run git in '%s'", a->repo);
		goto out;
	}
	rec = fg_record_latest(&h);
	*ok = *ok && rec && rec->state == FG_RECORD_SUCCEEDED;
	if (a->devices && *tip && (rc = device_rows(&rows, a->repo, p, branch, rec, err)) < 0)
		goto out;
	if (!out) {
		print_text(branch, tip, rec);
		print_rows(rows);
		goto out;
	}
	item = json_pack("{s:s, s:s?, s:o, s:O?}", "branch", branch, "tip", *tip ? tip : NULL,
			 "rollout", rec ? fg_record_to_json(rec) : json_null(),
			 "devices", rows);
	if (json_array_append_new(out, item) < 0)
		rc = fg_error_oom(err);
out:
	json_decref(rows);
	fg_record_history_release(&h);
	return rc;
}

static int show(const struct status_args *a, const char *state_dir,
		const struct fg_policy *policy, struct fg_error *err)
{
	struct names n = { 0 };
	json_t *list = a->json ? json_array() : NULL;
	bool ok = true;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < a->nbranches; i++)
		rc = names_add(&n, a->branches[i]);
	if (rc == 0 && !a->nbranches)
		rc = default_branches(&n, policy, state_dir);
	if (rc < 0 || (a->json && !list)) {
		rc = fg_error_oom(err);
		goto out;
	}
	for (i = 0; rc == 0 && i < n.count; i++)
		rc = show_branch(a, policy, state_dir, n.items[i], list, &ok, err);
	if (rc == 0 && list) {
		json_t *root = json_pack("{s:O}", "branches", list);

		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(root);
	}
out:
	json_decref(list);
	names_release(&n);
	return rc < 0 ? rc : ok ? 0 : 1;
}

static int parse_args(struct status_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "devices", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->repo = ".";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': a->repo = optarg; break;
		case 'd': a->devices = true; break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return -1;
			a->json = !strcmp(optarg, "json");
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default: return -1;
		}
	}
	a->branches = argv + optind;
	a->nbranches = (size_t)(argc - optind);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct fg_error err = FG_ERROR_INIT, perr = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	struct status_args a;
	char *state_dir = NULL, *ppath = NULL;
	int rc;

	if (parse_args(&a, argc, argv) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (!(state_dir = fg_rollout_state_dir(a.repo, NULL))) {
		fprintf(stderr, "fleetgate status: no repository at '%s'; give it with "
			"--repo DIR\n", a.repo);
		return 2;
	}
	/* the policy only names the default branches: status works without it */
	if (fg_gate_policy_path(&ppath, a.repo, &perr) == 0)
		fg_policy_load(&policy, ppath, &perr);
	if (a.devices && !policy) {
		fprintf(stderr, "fleetgate status: --devices needs the server policy (who "
			"follows what, and Mender): %s\n", perr.message);
		rc = -1;
	} else {
		rc = show(&a, state_dir, policy, &err);
		if (rc < 0)
			fprintf(stderr, "fleetgate status: %s\n", err.message);
	}
	fg_policy_free(policy);
	free(ppath);
	free(state_dir);
	return rc < 0 ? 2 : rc;
}
