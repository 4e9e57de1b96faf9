#include "gitcli.h"

#include <errno.h>
#include <git2.h>
#include <spawn.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Generous for `for-each-ref` over many thousands of branches. */
#define GIT_OUTPUT_MAX (64 * 1024 * 1024)

/* Replace refs (under refs/replace/) are pushed content: honouring them would
 * let a push make git show one object in place of another, so every git
 * fleetgate runs ignores them (rule replace-ref). */
#define NO_REPLACE "GIT_NO_REPLACE_OBJECTS=1"

/* NO_REPLACE, extra_env, then environ without its own NO_REPLACE setting,
 * in new memory (the strings are borrowed). */
static char **build_env(const char *const *extra_env)
{
	size_t n = 0, m = 0, k = 0, i;
	char **env;

	while (environ[n])
		n++;
	while (extra_env && extra_env[m])
		m++;
	env = calloc(n + m + 2, sizeof(*env));
	if (!env)
		return NULL;
	env[k++] = (char *)NO_REPLACE;
	for (i = 0; i < m; i++)
		env[k++] = (char *)extra_env[i];
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "GIT_NO_REPLACE_OBJECTS=", 23))
			env[k++] = environ[i];
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

/* "git [--git-dir DIR] ARGS..." in new memory (the strings are borrowed). */
static const char **build_argv(const char *git_dir, const char *const *args)
{
	size_t n = 0, argc = 0, i;
	const char **argv;

	while (args[n])
		n++;
	argv = calloc(n + 4, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[argc++] = "git";
	if (git_dir) {
		argv[argc++] = "--git-dir";
		argv[argc++] = git_dir;
	}
	for (i = 0; i < n; i++)
		argv[argc++] = args[i];
	return argv;
}

static int spawn_git(pid_t *pid, int pipefd[2], const char *const *argv,
		     char **env, struct fg_error *err)
{
	posix_spawn_file_actions_t actions;
	int rc;

	if (pipe(pipefd) < 0)
		return fg_error_set(err, FG_EIO, "unable to create a pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&actions, pipefd[0]);
	posix_spawn_file_actions_addclose(&actions, pipefd[1]);
	rc = posix_spawnp(pid, "git", &actions, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return fg_error_set(err, FG_EIO, "unable to run git: %s", strerror(rc));
	}
	return 0;
}

int fg_git_run(const char *git_dir, const char *const *args,
	       const char *const *extra_env, struct fg_buf *out, int *status,
	       struct fg_error *err)
{
	const char **argv = build_argv(git_dir, args);
	char **env = build_env(extra_env);
	int pipefd[2] = { -1, -1 }, wstatus, rc;
	pid_t pid;

	if (!argv || !env) {
		rc = fg_error_oom(err);
		goto out;
	}
	if ((rc = spawn_git(&pid, pipefd, argv, env, err)) < 0)
		goto out;
	rc = collect(pipefd[0], out, args[0], err);
	close(pipefd[0]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			rc = fg_error_set(err, FG_EIO, "unable to wait for git: %s",
					  strerror(errno));
			goto out;
		}
	}
	*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128;
out:
	free(argv);
	free(env);
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

int fg_git_open_failed(struct fg_error *err, const char *git_dir)
{
	const git_error *e = git_error_last();
	struct passwd *pw;
	struct stat st;

	/* libgit2 and git refuse a repository another user owns (git's
	 * safe.directory); libgit2 then says only "config value
	 * 'safe.directory' was not found", which tells an admin nothing */
	if (stat(git_dir, &st) == 0 && st.st_uid != geteuid()) {
		pw = getpwuid(st.st_uid);
		if (pw)
			return fg_error_set(err, FG_EPERM, "'%s' belongs to the user '%s': "
					    "run fleetgate as that user (sudo -u %s fleetgate ...)",
					    git_dir, pw->pw_name, pw->pw_name);
		return fg_error_set(err, FG_EPERM, "'%s' belongs to user id %u: run "
				    "fleetgate as the repository's owner", git_dir,
				    (unsigned)st.st_uid);
	}
	return fg_error_set(err, FG_ENOTFOUND, "%s: %s", git_dir,
			    e ? e->message : "not a git repository");
}

int fg_git_open(git_repository **out, const char *git_dir, struct fg_error *err)
{
	*out = NULL;
	/* asked first: libgit2 1.5 refuses a SHA-256 repository and leaks
	 * while doing so */
	if (fg_repo_uses_sha256(git_dir) > 0)
		return fg_error_set(err, FG_EINVALID, "'%s' is a SHA-256 repository, "
				    "which fleetgate cannot roll out yet (libgit2 1.5 "
				    "cannot read it); the gate still judges its pushes",
				    git_dir);
	if (git_repository_open_ext(out, git_dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return fg_git_open_failed(err, git_dir);
	return 0;
}
