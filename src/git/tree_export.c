#include "tree_export.h"
#include "buf.h"
#include "gitcli.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The folder holds "index" (git's, private) and "tree/" (the files), so the
 * index never shows up among the files checked. */
#define TREE_SUBDIR "/tree"

static int git_ok(const char *git_dir, const char *const *args, const char *index,
		  struct fg_error *err)
{
	const char *env[] = { index, NULL };
	int status, rc = fg_git_run(git_dir, args, env, NULL, &status, err);

	if (rc == 0 && status != 0)
		rc = fg_error_set(err, FG_EIO, "git %s failed (exit %d) while exporting the "
				  "pushed tree", args[0], status);
	return rc;
}

/* checkout-index leaves a submodule (gitlink) as an empty folder, which
 * the work-tree checks cannot tell from any folder: give each one an empty
 * ".git", the mark of a checked-out submodule (tree_source.h), so the rule
 * submodule-in-devices judges an exported tree as it judges a commit. */
static int mark_gitlinks(const char *git_dir, const char *index, const char *tree,
			 struct fg_error *err)
{
	const char *ls[] = { "ls-files", "--stage", "-z", NULL };
	const char *env[] = { index, NULL };
	struct fg_buf list = FG_BUF_INIT;
	size_t at = 0;
	int status, rc = fg_git_run(git_dir, ls, env, &list, &status, err);

	if (rc == 0 && status != 0)
		rc = fg_error_set(err, FG_EIO, "git ls-files failed (exit %d) while "
				  "exporting the pushed tree", status);
	while (rc == 0 && at < list.len) {
		const char *entry = list.ptr + at, *tab = strchr(entry, '\t');
		char *mark;
		int fd;

		at += strlen(entry) + 1;
		if (strncmp(entry, "160000 ", 7) || !tab)
			continue;
		mark = fg_asprintf("%s/%s/.git", tree, tab + 1);
		if (!mark)
			rc = fg_error_oom(err);
		else if ((fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC, 0600)) < 0)
			rc = fg_error_set(err, FG_EIO, "unable to mark the submodule "
					  "'%s' of the pushed tree", tab + 1);
		else
			close(fd);
		free(mark);
	}
	fg_buf_release(&list);
	return rc;
}

int fg_tree_export(const char *git_dir, const char *rev, char **out,
		   struct fg_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *base = fg_asprintf("%s/fleetgate-tree.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *index = NULL, *tree = NULL;
	int rc;

	*out = NULL;
	if (!base)
		return fg_error_oom(err);
	if (!mkdtemp(base)) {
		rc = fg_error_set(err, FG_EIO, "unable to create a temporary folder");
		free(base);
		return rc;
	}
	index = fg_asprintf("GIT_INDEX_FILE=%s/index", base);
	tree = fg_asprintf("%s" TREE_SUBDIR, base);
	if (!index || !tree) {
		rc = fg_error_oom(err);
	} else {
		const char *read_tree[] = { "read-tree", rev, NULL };
		const char *checkout[] = { "--work-tree", tree, "checkout-index", "-a",
					   "-f", NULL };

		rc = git_ok(git_dir, read_tree, index, err);
		if (rc == 0 && mkdir(tree, 0700) < 0)
			rc = fg_error_set(err, FG_EIO, "unable to create '%s'", tree);
		if (rc == 0)
			rc = git_ok(git_dir, checkout, index, err);
		if (rc == 0)
			rc = mark_gitlinks(git_dir, index, tree, err);
	}
	free(index);
	free(tree);
	if (rc < 0) {
		fg_tree_export_remove(base);
		return rc;
	}
	*out = fg_asprintf("%s" TREE_SUBDIR, base);
	free(base);
	return *out ? 0 : fg_error_oom(err);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	remove(path);
	return 0;
}

void fg_tree_export_remove(char *dir)
{
	char *slash;

	if (!dir)
		return;
	/* given ".../fleetgate-tree.XXXXXX/tree", remove the whole base */
	slash = strrchr(dir, '/');
	if (slash && !strcmp(slash, TREE_SUBDIR))
		*slash = '\0';
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}
