#include "gitcli.h"

#include <errno.h>
#include <git2.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Generous for `for-each-ref` over many thousands of branches. */
#define GIT_OUTPUT_MAX (64 * 1024 * 1024)

/* environ plus extra_env, in new memory (the strings are borrowed). */
static char **build_env(const char *const *extra_env)
{
	size_t n = 0, m = 0, i;
	char **env;

	while (environ[n])
		n++;
	while (extra_env && extra_env[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < m; i++)
		env[i] = (char *)extra_env[i];
	for (i = 0; i < n; i++)
		env[m + i] = environ[i];
	return env;
}

static int collect(int fd, struct fg_buf *out, const char *what, struct fg_error *err)
{
	char chunk[8192];
	ssize_t n;
	int rc = 0;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0 || !out || rc < 0)
			continue;
		if (out->len + (size_t)n > GIT_OUTPUT_MAX || fg_buf_put(out, chunk, (size_t)n) < 0)
			rc = fg_error_set(err, FG_ELIMIT, "git %s printed too much", what);
	}
	return rc;
}

int fg_git_run(const char *git_dir, const char *const *args,
	       const char *const *extra_env, struct fg_buf *out, int *status,
	       struct fg_error *err)
{
	const char *argv[16];
	posix_spawn_file_actions_t actions;
	char **env = build_env(extra_env);
	int pipefd[2] = { -1, -1 }, wstatus, rc;
	size_t argc = 0, i;
	pid_t pid;

	if (!env)
		return fg_error_oom(err);
	argv[argc++] = "git";
	if (git_dir) {
		argv[argc++] = "--git-dir";
		argv[argc++] = git_dir;
	}
	for (i = 0; args[i] && argc < 15; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (pipe(pipefd) < 0) {
		free(env);
		return fg_error_set(err, FG_EIO, "unable to create a pipe: %s", strerror(errno));
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&actions, pipefd[0]);
	posix_spawn_file_actions_addclose(&actions, pipefd[1]);
	rc = posix_spawnp(&pid, "git", &actions, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&actions);
	free(env);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return fg_error_set(err, FG_EIO, "unable to run git: %s", strerror(rc));
	}
	rc = collect(pipefd[0], out, args[0], err);
	close(pipefd[0]);
	while (waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR)
			return fg_error_set(err, FG_EIO, "unable to wait for git: %s",
					    strerror(errno));
	*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128;
	return rc;
}

int fg_repo_uses_sha256(const char *git_dir)
{
	const char *dir = git_dir ? git_dir : getenv("GIT_DIR");
	char *path = fg_asprintf("%s/config", dir && *dir ? dir : ".");
	git_config *cfg = NULL;
	git_buf value = { 0 };
	int sha256 = 0;

	/* asked up front: libgit2 1.5 refuses such a repository, and leaks
	 * while doing so */
	git_libgit2_init();
	if (path && git_config_open_ondisk(&cfg, path) == 0 &&
	    git_config_get_string_buf(&value, cfg, "extensions.objectformat") == 0)
		sha256 = !strcmp(value.ptr, "sha256");
	git_buf_dispose(&value);
	git_config_free(cfg);
	git_libgit2_shutdown();
	free(path);
	return sha256;
}
