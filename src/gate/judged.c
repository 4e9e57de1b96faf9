#include "judged.h"
#include "buf.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX (FG_HOOK_MAX_REFNAME + 2 * 64 + 8)

static char *line_of(const struct fg_ref_update *u)
{
	return fg_asprintf("%s %s %s\n", u->refname, u->old_id.hex, u->new_id.hex);
}

/* <git_dir>/fleetgate/judged/<sha1 of the line>, or NULL on OOM. A
 * cryptographic hash: a pusher who picks a ref name must not be able to
 * make it collide with another push's record. */
static char *path_of(const char *git_dir, const char *line)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid oid;
	int rc;

	git_libgit2_init();
	rc = git_odb_hash(&oid, line, strlen(line), GIT_OBJECT_BLOB);
	git_libgit2_shutdown();
	if (rc < 0)
		return NULL;
	git_oid_tostr(hex, sizeof(hex), &oid);
	return fg_asprintf("%s/fleetgate/judged/%s", git_dir, hex);
}

static int make_dirs(const char *git_dir, struct fg_error *err)
{
	char *top = fg_asprintf("%s/fleetgate", git_dir);
	char *dir = fg_asprintf("%s/fleetgate/judged", git_dir);
	int rc = 0;

	if (!top || !dir)
		rc = fg_error_oom(err);
	else if ((mkdir(top, 0750) < 0 && errno != EEXIST) ||
		 (mkdir(dir, 0700) < 0 && errno != EEXIST))
		rc = fg_error_set(err, FG_EIO, "unable to create '%s': %s", dir,
				  strerror(errno));
	free(top);
	free(dir);
	return rc;
}

int fg_judged_record(const char *git_dir, const struct fg_ref_update *u,
		     struct fg_error *err)
{
	char *line = line_of(u), *path = line ? path_of(git_dir, line) : NULL;
	int rc;

	if (!line || !path)
		rc = fg_error_oom(err);
	else if ((rc = make_dirs(git_dir, err)) == 0)
		rc = fg_file_replace(path, NULL, line, strlen(line), 0600, err);
	free(path);
	free(line);
	return rc;
}

bool fg_judged_has(const char *git_dir, const struct fg_ref_update *u)
{
	char *line = line_of(u), *path = line ? path_of(git_dir, line) : NULL;
	char *text = NULL;
	size_t len = 0;
	bool found = false;

	/* the content too: the name alone is only a hash */
	if (path && fg_read_file_bounded(&text, &len, path, RECORD_MAX, NULL) == 0)
		found = len == strlen(line) && !memcmp(text, line, len);
	free(text);
	free(path);
	free(line);
	return found;
}

void fg_judged_remove(const char *git_dir, const struct fg_ref_update *u)
{
	char *line = line_of(u), *path = line ? path_of(git_dir, line) : NULL;

	if (path)
		unlink(path);
	free(path);
	free(line);
}

void fg_judged_prune(const char *git_dir, time_t before)
{
	char *dir = fg_asprintf("%s/fleetgate/judged", git_dir);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	struct stat st;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode) && st.st_mtime < before)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	free(dir);
}
