#include "gate_dryrun.h"
#include "fsutil.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A plan of a very large fleet is long; the pusher's terminal is no place
 * for more. */
#define PLAN_OUTPUT_MAX ((size_t)1 << 20)

/* The child: the plan on one pipe, nothing to read, and SIGALRM (which
 * survives execv) ends it when it runs past the policy's timeout. */
static void exec_planner(int fd, const char *const *argv, unsigned timeout)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	alarm(timeout);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static int wait_planner(pid_t pid, unsigned timeout, struct fg_error *err)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fg_error_set(err, FG_EIO, "the planner was lost: %s",
					    strerror(errno));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		return fg_error_set(err, FG_ENET, "no plan within %u seconds "
				    "(mender.timeout_seconds)", timeout);
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return fg_error_set(err, FG_ERROR, "the planner failed");
	return 0;
}

/* Runs argv and collects what it prints (stdout and stderr). */
static int run_planner(char **text, size_t *len, const char *const *argv,
		       unsigned timeout, struct fg_error *err)
{
	int fds[2], rc, wrc;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return fg_error_set(err, FG_EIO, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		exec_planner(fds[1], argv, timeout);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return fg_error_set(err, FG_EIO, "fork: %s", strerror(errno));
	}
	rc = fg_read_fd_bounded(text, len, fds[0], PLAN_OUTPUT_MAX, err);
	close(fds[0]);
	if (rc < 0)
		kill(pid, SIGKILL);
	wrc = wait_planner(pid, timeout, rc < 0 ? NULL : err);
	return rc < 0 ? rc : wrc;
}

/* The plan names artifacts and devices from pushed files: no escape
 * sequence reaches the pusher's terminal. */
static void put_lines(struct fg_buf *out, const char *prefix, const char *text)
{
	const char *p;

	fg_buf_puts(out, prefix);
	for (p = text; *p; p++) {
		if (*p == '\n') {
			fg_buf_putc(out, '\n');
			if (p[1])
				fg_buf_puts(out, prefix);
		} else {
			fg_buf_putc(out, (unsigned char)*p < 0x20 && *p != '\t' ? '?' : *p);
		}
	}
	if (p > text && p[-1] != '\n')
		fg_buf_putc(out, '\n');
}

static void plan_branch(struct fg_buf *out, const char *prefix, const char *fleetgate,
			const char *git_dir, const char *branch, const char *rev,
			unsigned timeout)
{
	const char *argv[] = { fleetgate, "plan", "--repo", git_dir, "--rev", rev,
			       "--", branch, NULL };
	struct fg_error err = FG_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;

	fg_buf_printf(out, "%sfleetgate: %s %.7s: dry run (fleetgate.dry-run); the plan:\n",
		      prefix, branch, rev);
	if (run_planner(&text, &len, argv, timeout, &err) == 0 ||
	    (text && len))
		put_lines(out, prefix, text ? text : "");
	if (err.code)
		fg_buf_printf(out, "%sfleetgate: %s %.7s: no plan: %s; after a real push: "
			      "fleetgate plan --repo %s %s --rev %.12s\n", prefix, branch,
			      rev, err.message, git_dir, branch, rev);
	free(text);
}

void fg_gate_dry_run(const struct fg_gate_input *in, const struct fg_policy *policy,
		     const struct fg_ref_updates *updates, const char *prefix,
		     struct fg_buf *out)
{
	char *git_dir = fg_gate_git_dir(in), *dir = fg_self_dir();
	char *fleetgate = dir ? fg_asprintf("%s/fleetgate", dir) : NULL;
	unsigned timeout = policy->mender.timeout_seconds > 0 ?
		(unsigned)policy->mender.timeout_seconds : 30;
	size_t i;

	if (!policy->mender.url)
		fg_buf_printf(out, "%sfleetgate: dry run: the policy has no mender.url, "
			      "so no push rolls anything out\n", prefix);
	for (i = 0; policy->mender.url && i < updates->count; i++) {
		const struct fg_ref_update *u = &updates->items[i];
		const char *branch = fg_ref_branch_name(u->refname);

		if (!branch || fg_oid_is_zero(&u->new_id) ||
		    !fg_policy_rolls_out(policy, branch))
			continue;
		if (!git_dir || !fleetgate)
			fg_buf_printf(out, "%sfleetgate: %s %.7s: no plan: cannot find the "
				      "repository or the fleetgate program\n", prefix,
				      branch, u->new_id.hex);
		else
			plan_branch(out, prefix, fleetgate, git_dir, branch,
				    u->new_id.hex, timeout);
	}
	free(fleetgate);
	free(dir);
	free(git_dir);
}
