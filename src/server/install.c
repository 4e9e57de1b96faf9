#include "install.h"
#include "buf.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The marker that tells a hook we wrote from one somebody else wrote. */
#define MARKER "# installed by fleetgate install"

static const char *const hook_names[] = { "pre-receive", "post-receive" };

int fg_install_parse_layout(enum fg_hook_layout *out, const char *name,
			    struct fg_error *err)
{
	if (!strcmp(name, "plain"))
		*out = FG_LAYOUT_PLAIN;
	else if (!strcmp(name, "gitea"))
		*out = FG_LAYOUT_GITEA;
	else if (!strcmp(name, "gitlab"))
		*out = FG_LAYOUT_GITLAB;
	else
		return fg_error_set(err, FG_EINVALID, "unknown layout '%s'; use plain, "
				    "gitea or gitlab", name);
	return 0;
}

static char *hook_path(const struct fg_install_options *o, const char *hook)
{
	switch (o->layout) {
	case FG_LAYOUT_GITEA:
		return fg_asprintf("%s/hooks/%s.d/fleetgate", o->repo, hook);
	case FG_LAYOUT_GITLAB:
		return fg_asprintf("%s/custom_hooks/%s.d/fleetgate", o->repo, hook);
	default:
		return fg_asprintf("%s/hooks/%s", o->repo, hook);
	}
}

/* What stands at a hook's path: the advice for a foreign hook depends on
 * who wrote it (advising hooks/NAME.d on gitolite blocks every push). */
enum hook_kind {
	HOOK_ABSENT_OR_OURS,
	HOOK_FOREIGN,
	HOOK_GITOLITE,   /* gitolite's own hook or its repo-specific runner */
	HOOK_DISPATCHER  /* runs hooks/<name>.d/ (Gitea) */
};

static enum hook_kind classify_foreign(const char *text)
{
	if (strstr(text, "gitolite"))
		return HOOK_GITOLITE;
	if (strstr(text, "-receive.d"))
		return HOOK_DISPATCHER;
	return HOOK_FOREIGN;
}

/* Reads the head of the hook at path (a symlink: its target) and says
 * whose it is. */
static int hook_kind_of(const char *path, enum hook_kind *out, struct fg_error *err)
{
	char head[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*out = HOOK_ABSENT_OR_OURS;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != ELOOP)
			return fg_error_set(err, FG_EIO, "unable to read '%s': %s",
					    path, strerror(errno));
		n = readlink(path, head, sizeof(head) - 1);
		head[n > 0 ? n : 0] = '\0';
		*out = classify_foreign(head);
		return 0;
	}
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	head[n > 0 ? n : 0] = '\0';
	if (!strstr(head, MARKER))
		*out = classify_foreign(head);
	return 0;
}

static int refuse_foreign(const char *path, enum hook_kind kind, struct fg_error *err)
{
	switch (kind) {
	case HOOK_GITOLITE:
		return fg_error_set(err, FG_EPERM, "'%s' is gitolite's hook; do not "
				    "replace it (--force) or use hooks/*.d: install "
				    "fleetgate as gitolite repo-specific hooks instead "
				    "(docs/operations.md, \"gitolite\")", path);
	case HOOK_DISPATCHER:
		return fg_error_set(err, FG_EPERM, "'%s' runs the scripts in its .d "
				    "folder; install with --layout gitea to add fleetgate "
				    "there", path);
	default:
		return fg_error_set(err, FG_EPERM, "'%s' is a hook fleetgate did not "
				    "install; move it away or call fleetgate's hook from "
				    "it, or pass --force to replace it", path);
	}
}

/* Single-quotes s for /bin/sh: ' becomes '\''. */
static void shell_quote(struct fg_buf *b, const char *s)
{
	fg_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			fg_buf_puts(b, "'\\''");
		else
			fg_buf_putc(b, *s);
	}
	fg_buf_putc(b, '\'');
}

static int mkdir_parent(const char *path, struct fg_error *err)
{
	char *dir = fg_strdup(path), *slash;
	int rc = 0;

	if (!dir)
		return fg_error_oom(err);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		/* custom_hooks/ and the .d folder may not exist yet */
		char *mid = strrchr(dir, '/');
		if (mid && strstr(mid, ".d")) {
			*mid = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				rc = fg_error_set(err, FG_EIO, "unable to create '%s': %s", dir,
						  strerror(errno));
			*mid = '/';
		}
		if (rc == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = fg_error_set(err, FG_EIO, "unable to create '%s': %s", dir,
					  strerror(errno));
	}
	free(dir);
	return rc;
}

/* Replaced atomically: a push running right now sees either the old hook
 * or the new one. */
static int write_hook(const char *path, const char *binary, struct fg_error *err)
{
	struct fg_buf script = FG_BUF_INIT;
	int rc;

	fg_buf_printf(&script, "#!/bin/sh\n%s; do not edit, rerun it instead\nexec ", MARKER);
	shell_quote(&script, binary);
	fg_buf_puts(&script, " \"$@\"\n");
	if (script.failed)
		rc = fg_error_oom(err);
	else if ((rc = mkdir_parent(path, err)) == 0)
		rc = fg_file_replace(path, NULL, script.ptr, script.len, 0755, err);
	fg_buf_release(&script);
	return rc;
}

static int record_policy(const char *repo, const char *policy, struct fg_error *err)
{
	git_config *cfg = NULL;
	char *path = fg_asprintf("%s/config", repo);
	int rc;

	if (!path)
		return fg_error_oom(err);
	git_libgit2_init();
	rc = git_config_open_ondisk(&cfg, path);
	if (rc == 0)
		rc = git_config_set_string(cfg, "fleetgate.policy", policy);
	if (rc < 0)
		rc = fg_error_set(err, FG_EIO, "unable to record the policy in '%s'", path);
	git_config_free(cfg);
	git_libgit2_shutdown();
	free(path);
	return rc;
}

static int check_targets(const struct fg_install_options *opts, struct fg_error *err)
{
	struct stat st;
	char *probe = fg_asprintf("%s/objects", opts->repo);
	int rc = 0;

	if (!probe)
		return fg_error_oom(err);
	if (stat(probe, &st) < 0 || !S_ISDIR(st.st_mode))
		rc = fg_error_set(err, FG_ENOTFOUND, "'%s' is not a bare git repository "
				  "(no objects/ folder)", opts->repo);
	else if (stat(opts->policy, &st) < 0 || !S_ISREG(st.st_mode))
		rc = fg_error_set(err, FG_ENOTFOUND, "policy '%s' is not a file", opts->policy);
	free(probe);
	return rc;
}

int fg_install_hooks(const struct fg_install_options *opts, struct fg_error *err)
{
	char *paths[2] = { NULL, NULL }, *binary = NULL;
	char policy_abs[PATH_MAX];
	enum hook_kind kind;
	size_t i;
	int rc;

	if ((rc = check_targets(opts, err)) < 0)
		return rc;
	if (!realpath(opts->policy, policy_abs))
		return fg_error_set(err, FG_EIO, "unable to resolve '%s': %s", opts->policy,
				    strerror(errno));
	/* check both before writing either, so a refusal changes nothing */
	for (i = 0; i < 2; i++) {
		if (!(paths[i] = hook_path(opts, hook_names[i]))) {
			rc = fg_error_oom(err);
			goto out;
		}
		if ((rc = hook_kind_of(paths[i], &kind, err)) < 0)
			goto out;
		if (kind != HOOK_ABSENT_OR_OURS && !opts->force) {
			rc = refuse_foreign(paths[i], kind, err);
			goto out;
		}
	}
	for (i = 0; i < 2 && rc == 0; i++) {
		free(binary);
		binary = fg_asprintf("%s/fleetgate-%s", opts->bindir, hook_names[i]);
		rc = binary ? write_hook(paths[i], binary, err) : fg_error_oom(err);
	}
	if (rc == 0)
		rc = record_policy(opts->repo, policy_abs, err);
out:
	free(paths[0]);
	free(paths[1]);
	free(binary);
	return rc;
}
