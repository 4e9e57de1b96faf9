#include "postreceive.h"
#include "buf.h"
#include "fsutil.h"
#include "gate.h"
#include "hook_input.h"
#include "policy.h"
#include "queue.h"
#include "judged.h"
#include "serverlog.h"
#include "yaml_load.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *fg_post_receive_spool(const struct fg_policy *policy, const char *git_dir)
{
	if (policy && policy->spool_dir)
		return fg_strdup(policy->spool_dir);
	return fg_asprintf("%s/fleetgate/spool", git_dir);
}

/* The repository, or with git_dir NULL the hook's own from the environment
 * (pre-receive: the pushed objects wait in git's quarantine, named by
 * GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES). */
static int open_repo(git_repository **repo, const char *git_dir)
{
	if (git_dir)
		return git_repository_open_bare(repo, git_dir);
	return git_repository_open_ext(repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
}

/* default_branch of fleet.yaml at `commit`, or NULL (not a fleet, unreadable,
 * or a SHA-256 repository libgit2 cannot open: protected branches still get
 * their jobs then). */
static char *fleet_default_branch(const char *git_dir, const char *commit)
{
	struct fg_yaml_doc *doc = NULL;
	git_repository *repo = NULL;
	git_object *blob = NULL;
	char *spec = fg_asprintf("%s:fleet.yaml", commit), *branch = NULL;

	git_libgit2_init();
	if (spec && open_repo(&repo, git_dir) == 0 &&
	    git_revparse_single(&blob, repo, spec) == 0 &&
	    git_object_type(blob) == GIT_OBJECT_BLOB &&
	    git_blob_rawsize((git_blob *)blob) <= FG_YAML_MAX_BYTES_DEFAULT &&
	    fg_yaml_load_buffer(&doc, "fleet.yaml", git_blob_rawcontent((git_blob *)blob),
				(size_t)git_blob_rawsize((git_blob *)blob), NULL, NULL) == 0)
		branch = fg_strdup(json_string_value(json_object_get(doc->root,
								      "default_branch")));
	fg_yaml_doc_free(doc);
	git_object_free(blob);
	git_repository_free(repo);
	git_libgit2_shutdown();
	free(spec);
	return branch;
}

static bool named_as_source(const struct fg_policy *policy, const char *branch)
{
	size_t i, j;

	for (i = 0; i < policy->branch_count; i++)
		for (j = 0; j < policy->branches[i].promote_from.count; j++)
			if (!strcmp(policy->branches[i].promote_from.items[j], branch))
				return true;
	return false;
}

/* Feature branches have no devices; protected stages, literal sources such
 * as develop (lab boards) and the fleet's default branch may. */
static bool branch_wants_rollout(const struct fg_policy *policy, const char *branch,
				 const char *default_branch)
{
	if (default_branch && !strcmp(default_branch, branch))
		return true;
	if (!policy)
		return true; /* without a policy we cannot tell; queue, never lose */
	return fg_policy_branch(policy, branch) || named_as_source(policy, branch);
}

bool fg_post_receive_wants_rollout(const struct fg_policy *policy, const char *git_dir,
				   const char *branch, const char *commit)
{
	char *default_branch = fleet_default_branch(git_dir, commit);
	bool wanted = branch_wants_rollout(policy, branch, default_branch);

	free(default_branch);
	return wanted;
}

/* What one run of the hook shares between the updated refs. */
struct post {
	const struct fg_post_receive_input *in;
	const struct fg_policy *policy;
	const char *git_dir;
	const char *spool;
	const char *pusher;
	bool skip; /* fleetgate.skip-rollout, from a pusher allowed to */
};

static int queue_branch(const struct post *p, const struct fg_ref_update *u,
			const char *branch)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_job job = { 0 };
	char id[32];
	int rc;

	job.repo = (char *)p->git_dir;
	job.branch = (char *)branch;
	job.old_id = (char *)u->old_id.hex;
	job.new_id = (char *)u->new_id.hex;
	job.pusher = (char *)p->pusher;
	rc = fg_queue_add(p->spool, &job, &err);
	if (rc < 0) {
		fprintf(p->in->out, "fleetgate: ERROR: the rollout of %s %.7s was NOT queued: "
			"%s\nfleetgate: ERROR: the push itself landed; run 'fleetgate rollout "
			"--repo %s %s' once the spool is writable\n", branch, u->new_id.hex,
			err.message, p->git_dir, branch);
		fg_serverlog(p->policy, "post-receive", "ref", u->refname, "new", u->new_id.hex,
			     "verdict", "queue-failed", "error", err.message, NULL);
		return rc;
	}
	snprintf(id, sizeof(id), "%lu", job.id);
	fprintf(p->in->out, "fleetgate: %s %.7s queued as job %lu for the devices subscribed "
		"to %s; follow with: fleetgate queue --repo %s\n", branch, u->new_id.hex,
		job.id, branch, p->git_dir);
	fg_serverlog(p->policy, "post-receive", "ref", u->refname, "new", u->new_id.hex,
		     "verdict", "queued", "job", id, "pusher", p->pusher, NULL);
	return 0;
}

/* Only fleetgate's pre-receive judges a push: a forge that replaced it
 * (gitolite's `option hook.pre-receive`) must not get its pushes rolled
 * out. */
static void refuse_unjudged(const struct post *p, const struct fg_ref_update *u)
{
	fprintf(p->in->out, "fleetgate: %s was not judged by fleetgate's pre-receive; "
		"nothing is rolled out (tell the server admin: the pre-receive hook is "
		"not fleetgate's)\n", u->refname);
	fg_serverlog(p->policy, "post-receive", "ref", u->refname, "new", u->new_id.hex,
		     "verdict", "unjudged", "pusher", p->pusher, NULL);
}

/* One updated ref: 1 when a job was queued, 0 when none was due, a negative
 * FG_E* code when it could not be written (already reported). */
static int handle_update(const struct post *p, const struct fg_ref_update *u)
{
	const char *branch = fg_ref_branch_name(u->refname);

	if (!branch ||
	    !fg_post_receive_wants_rollout(p->policy, p->git_dir, branch, u->new_id.hex))
		return 0;
	if (!fg_judged_has(p->git_dir, u)) {
		refuse_unjudged(p, u);
		return 0;
	}
	if (p->skip) {
		fprintf(p->in->out, "fleetgate: %s %.7s: rollout skipped at %s's request "
			"(fleetgate.skip-rollout)\n", branch, u->new_id.hex, p->pusher);
		fg_serverlog(p->policy, "post-receive", "ref", u->refname, "new",
			     u->new_id.hex, "verdict", "skipped", "pusher", p->pusher, NULL);
		return 0;
	}
	return queue_branch(p, u, branch) < 0 ? FG_EIO : 1;
}

static bool skip_allowed(const struct fg_post_receive_input *in,
			 const struct fg_policy *policy, const struct fg_push_options *opts,
			 const char *pusher)
{
	if (!fg_push_options_has(opts, "fleetgate.skip-rollout"))
		return false;
	if (policy && fg_policy_user_in(policy, &policy->skip_rollout_allowed, pusher))
		return true;
	fprintf(in->out, "fleetgate: push option fleetgate.skip-rollout ignored: '%s' is "
		"not listed under rollout.skip_allowed in the server policy\n",
		pusher ? pusher : "(unknown pusher)");
	return false;
}

static char *resolve_git_dir(const struct fg_post_receive_input *in)
{
	const char *dir = in->git_dir ? in->git_dir : in->lookup("GIT_DIR");
	char abs[PATH_MAX];

	if (!dir || !*dir)
		dir = ".";
	return realpath(dir, abs) ? fg_strdup(abs) : NULL;
}

static struct fg_policy *load_policy(const struct fg_post_receive_input *in,
				     const char *git_dir)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	char *path = NULL;

	if (fg_gate_policy_path(&path, git_dir, &err) == 0)
		fg_policy_load(&policy, path, &err);
	if (!policy)
		fprintf(in->out, "fleetgate: WARNING: %s; rollouts are queued in the default "
			"spool and wait until the policy is fixed\n", err.message);
	free(path);
	return policy;
}

/* Every ref: its job, and its record from pre-receive consumed once acted
 * on (kept when the job could not be written). */
static int handle_updates(const struct post *p, const struct fg_ref_updates *updates)
{
	bool queued = false;
	size_t i;
	int rc = 0, r;

	for (i = 0; i < updates->count; i++) {
		const struct fg_ref_update *u = &updates->items[i];

		if (fg_oid_is_zero(&u->new_id))
			continue;
		r = handle_update(p, u);
		if (r < 0)
			rc = r;
		else
			fg_judged_remove(p->git_dir, u);
		queued |= r > 0;
	}
	if (queued && !p->in->no_worker &&
	    fg_post_receive_spawn_worker(p->in->fleetgate, p->git_dir) < 0)
		fprintf(p->in->out, "fleetgate: WARNING: could not start a worker; the jobs "
			"wait for the next 'fleetgate queue run' (systemd timer)\n");
	return rc;
}

int fg_post_receive_run(const struct fg_post_receive_input *in)
{
	struct fg_ref_updates updates = { NULL, 0 };
	struct fg_push_options opts = { NULL, 0 };
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	char *git_dir = NULL, *spool = NULL;
	struct post p = { .in = in, .pusher = fg_hook_pusher(in->lookup) };
	int rc = 0;

	if (!(git_dir = resolve_git_dir(in))) {
		fprintf(in->out, "fleetgate: ERROR: no rollout queued: cannot find the "
			"repository\n");
		return FG_EIO;
	}
	if ((rc = fg_hook_parse_updates(&updates, in->stdin_data, in->stdin_len, &err)) < 0) {
		fprintf(in->out, "fleetgate: ERROR: no rollout queued: %s\n", err.message);
		goto out;
	}
	policy = load_policy(in, git_dir);
	if (policy && !policy->mender.url) {
		/* a server that uses fleetgate only as a promotion gate: there is
		 * nowhere to roll out to, so a job could only fail, forever */
		fg_serverlog(policy, "post-receive", "verdict", "no-rollout",
			     "reason", "no mender.url in the policy", NULL);
		goto out;
	}
	/* The refs have moved whatever the options say: options we cannot
	 * read (too many, too long) must not cost the devices their rollout. */
	if (fg_hook_parse_push_options(&opts, in->lookup, &err) < 0) {
		fprintf(in->out, "fleetgate: WARNING: push options ignored (%s); the "
			"rollout is queued as if none had been given\n", err.message);
		fg_serverlog(policy, "post-receive", "verdict", "options-ignored",
			     "error", err.message, "pusher", p.pusher, NULL);
		fg_error_clear(&err);
	}
	if (!(spool = fg_post_receive_spool(policy, git_dir))) {
		rc = FG_ENOMEM;
		goto out;
	}
	p.policy = policy;
	p.git_dir = git_dir;
	p.spool = spool;
	p.skip = skip_allowed(in, policy, &opts, p.pusher);
	rc = handle_updates(&p, &updates);
out:
	fg_ref_updates_release(&updates);
	fg_push_options_release(&opts);
	fg_policy_free(policy);
	free(spool);
	free(git_dir);
	return rc;
}

static char *default_fleetgate(void)
{
	char *dir = fg_self_dir();
	char *path = dir ? fg_asprintf("%s/fleetgate", dir) : NULL;

	free(dir);
	return path;
}

/* The grandchild: no terminal, no pipes back to git (else the push would
 * wait for it), its own session. */
static void exec_worker(const char *fleetgate, const char *git_dir)
{
	int fd = open("/dev/null", O_RDWR);
	const char *argv[] = { fleetgate, "queue", "run", "--repo", git_dir, "--wait", NULL };
	int i;

	if (fd < 0)
		_exit(127);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	for (i = 3; i < 1024; i++)
		close(i);
	execv(fleetgate, (char *const *)argv);
	_exit(127);
}

int fg_post_receive_spawn_worker(const char *fleetgate, const char *git_dir)
{
	char *binary = fleetgate ? fg_strdup(fleetgate) : default_fleetgate();
	int status;
	pid_t pid;

	if (!binary || access(binary, X_OK) < 0) {
		free(binary);
		return FG_EIO;
	}
	pid = fork();
	if (pid < 0) {
		free(binary);
		return FG_EIO;
	}
	if (pid == 0) {
		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid == 0)
			exec_worker(binary, git_dir);
		_exit(0);
	}
	free(binary);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return FG_EIO;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : FG_EIO;
}
