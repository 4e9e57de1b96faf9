#include "postreceive.h"
#include "buf.h"
#include "fsutil.h"
#include "gate.h"
#include "hook_input.h"
#include "policy.h"
#include "queue.h"
#include "judged.h"
#include "rollout.h"
#include "serverlog.h"

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

/* Rule rollout-branches: only branches the policy lists get jobs, whatever
 * the pushed fleet.yaml says; a feature branch never reaches a device. */
static bool branch_wants_rollout(const struct fg_policy *policy, const char *branch)
{
	if (!policy)
		return true; /* cannot tell yet: queue, never lose; the worker
			      * refuses the job if the fixed policy does not list it */
	return fg_policy_rolls_out(policy, branch);
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
	/* the pusher follows with git alone (the worker's notes), never with a
	 * server command or path */
	fprintf(p->in->out, "fleetgate: %s %.7s queued as job %lu for the devices subscribed "
		"to %s; follow with: git fetch origin refs/notes/fleetgate:refs/notes/"
		"fleetgate && git log --notes=fleetgate\n", branch, u->new_id.hex,
		job.id, branch);
	fg_serverlog(p->policy, "post-receive", "ref", u->refname, "new", u->new_id.hex,
		     "verdict", "queued", "job", id, "pusher", p->pusher, NULL);
	return 0;
}

/* The branches `moved` names that get a job of their own: listed by the
 * policy, and not the pushed branch (it has its job already). */
static bool moved_wants_rollout(const struct fg_policy *policy, const char *pushed,
				const char *branch)
{
	return strcmp(branch, pushed) && fg_policy_rolls_out(policy, branch);
}

/* Rule moved-devices: a push to the subscriptions branch that moves devices
 * to another branch also rolls that branch out at its tip, so a moved
 * device gets its new branch's state now, not at that branch's next push. */
static int queue_moved(const struct post *p, const struct fg_ref_update *u,
		       const char *branch)
{
	const char *subs = p->policy ? fg_policy_subscriptions_branch(p->policy) : NULL;
	struct fg_rollout_moved moved = { NULL, NULL, 0 };
	struct fg_error err = FG_ERROR_INIT;
	size_t i;
	int rc = 0;

	if (!subs || strcmp(subs, branch))
		return 0;
	if (fg_rollout_moved_to(&moved, p->git_dir, u->old_id.hex, u->new_id.hex, &err) < 0) {
		fprintf(p->in->out, "fleetgate: WARNING: %s %.7s: cannot tell which branches "
			"gained devices (%s); roll them out with 'fleetgate rollout --repo "
			"%s BRANCH'\n", branch, u->new_id.hex, err.message, p->git_dir);
		fg_serverlog(p->policy, "post-receive", "ref", u->refname, "new", u->new_id.hex,
			     "verdict", "moved-unknown", "error", err.message, NULL);
		return 0;
	}
	for (i = 0; rc == 0 && i < moved.count; i++) {
		struct fg_ref_update m = { NULL, { { 0 } }, { { 0 } } };

		if (!moved_wants_rollout(p->policy, branch, moved.branches[i]))
			continue;
		m.refname = fg_asprintf("refs/heads/%s", moved.branches[i]);
		fg_oid_parse(&m.old_id, moved.tips[i], strlen(moved.tips[i]));
		m.new_id = m.old_id;
		fprintf(p->in->out, "fleetgate: %s %.7s moves devices to %s; %s is rolled out "
			"at %.7s (moved-devices)\n", branch, u->new_id.hex, moved.branches[i],
			moved.branches[i], moved.tips[i]);
		rc = m.refname ? queue_branch(p, &m, moved.branches[i]) : FG_ENOMEM;
		free(m.refname);
	}
	fg_rollout_moved_release(&moved);
	return rc;
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

	if (!branch || !branch_wants_rollout(p->policy, branch))
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
	if (queue_branch(p, u, branch) < 0 || queue_moved(p, u, branch) < 0)
		return FG_EIO;
	return 1;
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
