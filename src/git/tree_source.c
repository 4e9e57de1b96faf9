#include "tree_source.h"
#include "buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fg_source {
	char *root;            /* directory source */
	git_repository *repo;  /* git source (borrowed) */
	git_tree *tree;
};

static int git_fail(struct fg_error *err, int code, const char *what)
{
	const git_error *e = git_error_last();

	return fg_error_set(err, code, "%s: %s", what,
			    e && e->message ? e->message : "libgit2 error");
}

int fg_source_open_dir(struct fg_source **out, const char *root,
		       struct fg_error *err)
{
	struct stat st;
	struct fg_source *src;

	*out = NULL;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
		return fg_error_set(err, FG_ENOTFOUND, "'%s' is not a directory", root);
	src = calloc(1, sizeof(*src));
	if (!src || !(src->root = fg_strdup(root))) {
		free(src);
		return fg_error_oom(err);
	}
	*out = src;
	return 0;
}

int fg_source_open_git(struct fg_source **out, git_repository *repo,
		       const git_oid *commit, struct fg_error *err)
{
	git_object *obj = NULL, *peeled = NULL;
	struct fg_source *src;
	char hex[GIT_OID_HEXSZ + 1];

	*out = NULL;
	git_oid_tostr(hex, sizeof(hex), commit);
	if (git_object_lookup(&obj, repo, commit, GIT_OBJECT_ANY) < 0)
		return git_fail(err, FG_ENOTFOUND, hex);
	if (git_object_peel(&peeled, obj, GIT_OBJECT_TREE) < 0) {
		git_object_free(obj);
		return git_fail(err, FG_ENOTFOUND, hex);
	}
	git_object_free(obj);
	src = calloc(1, sizeof(*src));
	if (!src) {
		git_object_free(peeled);
		return fg_error_oom(err);
	}
	src->repo = repo;
	src->tree = (git_tree *)peeled;
	*out = src;
	return 0;
}

int fg_source_open_rev(struct fg_source **out, git_repository *repo,
		       const char *rev, struct fg_error *err)
{
	git_object *obj = NULL;
	git_oid id;

	*out = NULL;
	if (git_revparse_single(&obj, repo, rev) < 0)
		return git_fail(err, FG_ENOTFOUND, rev);
	git_oid_cpy(&id, git_object_id(obj));
	git_object_free(obj);
	return fg_source_open_git(out, repo, &id, err);
}

git_repository *fg_source_repo(const struct fg_source *src)
{
	return src ? src->repo : NULL;
}

const git_tree *fg_source_tree(const struct fg_source *src)
{
	return src ? src->tree : NULL;
}

void fg_source_free(struct fg_source *src)
{
	if (!src)
		return;
	git_tree_free(src->tree);
	free(src->root);
	free(src);
}

/* ---- directory sources ---- */

static char *dir_join(const struct fg_source *src, const char *path)
{
	return *path ? fg_asprintf("%s/%s", src->root, path) : fg_strdup(src->root);
}

static enum fg_entry_kind kind_of_stat(const char *full, const struct stat *st)
{
	struct stat gst;
	char *dotgit;
	int sub;

	if (S_ISLNK(st->st_mode))
		return FG_ENTRY_SYMLINK;
	if (S_ISREG(st->st_mode))
		return FG_ENTRY_FILE;
	if (!S_ISDIR(st->st_mode))
		return FG_ENTRY_OTHER;
	/* A checked-out submodule is a directory with a .git file or dir. */
	dotgit = fg_asprintf("%s/.git", full);
	sub = dotgit && lstat(dotgit, &gst) == 0;
	free(dotgit);
	return sub ? FG_ENTRY_SUBMODULE : FG_ENTRY_DIR;
}

static int dir_kind(struct fg_source *src, const char *path,
		    enum fg_entry_kind *kind, struct fg_error *err)
{
	struct stat st;
	char *full = dir_join(src, path);

	if (!full)
		return fg_error_oom(err);
	if (lstat(full, &st) < 0) {
		int e = errno;

		free(full);
		return fg_error_set(err, e == ENOENT || e == ENOTDIR ? FG_ENOTFOUND : FG_EIO,
				    "unable to stat '%s': %s", path, strerror(e));
	}
	*kind = kind_of_stat(full, &st);
	free(full);
	return 0;
}

static int dir_read(struct fg_source *src, const char *path, size_t max_bytes,
		    char **data, size_t *len, struct fg_error *err)
{
	struct stat st;
	char *full = dir_join(src, path), *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	if (!full)
		return fg_error_oom(err);
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	free(full);
	if (fd < 0)
		return fg_error_set(err, errno == ENOENT ? FG_ENOTFOUND :
				    errno == ELOOP ? FG_EINVALID : FG_EIO,
				    "unable to open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = fg_error_set(err, FG_EINVALID, "'%s' is not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max_bytes) {
		rc = fg_error_set(err, FG_ELIMIT,
				  "'%s' is %lld bytes, more than the limit of %zu",
				  path, (long long)st.st_size, max_bytes);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = fg_error_oom(err);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		free(buf);
		rc = fg_error_set(err, FG_EIO, "unable to read '%s'", path);
		goto out;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
out:
	close(fd);
	return rc;
}

struct dir_entry {
	char *name;
	enum fg_entry_kind kind;
};

/* git's tree order (a directory sorts as if its name ended in '/'), so a
 * work tree and a commit report their findings in the same order. */
static int dir_entry_cmp(const void *a, const void *b)
{
	const struct dir_entry *x = a, *y = b;
	size_t n = strlen(x->name), m = strlen(y->name), k = n < m ? n : m;
	int r = memcmp(x->name, y->name, k);
	unsigned char cx, cy;

	if (r)
		return r;
	cx = n > k ? (unsigned char)x->name[k] : x->kind == FG_ENTRY_DIR ? '/' : 0;
	cy = m > k ? (unsigned char)y->name[k] : y->kind == FG_ENTRY_DIR ? '/' : 0;
	return (int)cx - (int)cy;
}

/* Reads the names and kinds of one directory into a sorted array. */
static int dir_list(struct fg_source *src, struct fg_buf *path,
		    struct dir_entry **out, size_t *count, struct fg_error *err)
{
	char *full = dir_join(src, fg_buf_cstr(path));
	struct dir_entry *list = NULL, *grown;
	size_t n = 0, alloc = 0, base = path->len;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!full)
		return fg_error_oom(err);
	d = opendir(full);
	free(full);
	if (!d)
		return fg_error_set(err, errno == ENOENT ? FG_ENOTFOUND : FG_EIO,
				    "unable to read directory '%s': %s",
				    fg_buf_cstr(path), strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		enum fg_entry_kind kind;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (base == 0 && !strcmp(de->d_name, ".git")))
			continue;
		fg_buf_truncate(path, base);
		if (base)
			fg_buf_putc(path, '/');
		if (fg_buf_puts(path, de->d_name) < 0) {
			rc = fg_error_oom(err);
			break;
		}
		rc = dir_kind(src, fg_buf_cstr(path), &kind, err);
		if (rc == FG_ENOTFOUND) { /* removed while we walk */
			rc = 0;
			continue;
		}
		if (rc == 0 && n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			grown = realloc(list, alloc * sizeof(*list));
			if (!grown)
				rc = fg_error_oom(err);
			else
				list = grown;
		}
		if (rc == 0 && !(list[n].name = fg_strdup(de->d_name)))
			rc = fg_error_oom(err);
		if (rc == 0)
			list[n++].kind = kind;
	}
	closedir(d);
	fg_buf_truncate(path, base);
	if (rc < 0) {
		while (n)
			free(list[--n].name);
		free(list);
		return rc;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), dir_entry_cmp);
	*out = list;
	*count = n;
	return 0;
}

static int dir_walk(struct fg_source *src, struct fg_buf *path,
		    fg_source_walk_cb cb, void *payload, struct fg_error *err)
{
	struct dir_entry *list = NULL;
	size_t i, n = 0, base = path->len;
	int rc = dir_list(src, path, &list, &n, err);

	for (i = 0; rc >= 0 && i < n; i++) {
		fg_buf_truncate(path, base);
		if (base)
			fg_buf_putc(path, '/');
		if (fg_buf_puts(path, list[i].name) < 0) {
			rc = fg_error_oom(err);
			break;
		}
		rc = cb(fg_buf_cstr(path), list[i].kind, NULL, payload);
		if (rc == 0 && list[i].kind == FG_ENTRY_DIR)
			rc = dir_walk(src, path, cb, payload, err);
	}
	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
	fg_buf_truncate(path, base);
	return rc < 0 ? rc : 0;
}

/* ---- git sources ---- */

enum fg_entry_kind fg_source_kind_of_mode(git_filemode_t mode)
{
	switch (mode) {
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return FG_ENTRY_FILE;
	case GIT_FILEMODE_TREE:
		return FG_ENTRY_DIR;
	case GIT_FILEMODE_LINK:
		return FG_ENTRY_SYMLINK;
	case GIT_FILEMODE_COMMIT:
		return FG_ENTRY_SUBMODULE;
	default:
		return FG_ENTRY_OTHER;
	}
}

static int git_entry(struct fg_source *src, const char *path,
		     git_tree_entry **entry, struct fg_error *err)
{
	int rc = git_tree_entry_bypath(entry, src->tree, path);

	if (rc == GIT_ENOTFOUND)
		return fg_error_set(err, FG_ENOTFOUND, "'%s' does not exist", path);
	if (rc < 0)
		return git_fail(err, FG_EIO, path);
	return 0;
}

static int git_kind(struct fg_source *src, const char *path,
		    enum fg_entry_kind *kind, struct fg_error *err)
{
	git_tree_entry *entry = NULL;
	int rc;

	if (!*path) {
		*kind = FG_ENTRY_DIR;
		return 0;
	}
	rc = git_entry(src, path, &entry, err);
	if (rc < 0)
		return rc;
	*kind = fg_source_kind_of_mode(git_tree_entry_filemode(entry));
	git_tree_entry_free(entry);
	return 0;
}

/* Reads a blob by id, refusing it from its header when it is too large, so a
 * 50 MB blob in a push never gets inflated into memory. */
static int git_read_blob(git_repository *repo, const git_oid *id,
			 const char *path, size_t max_bytes, char **data,
			 size_t *len, struct fg_error *err)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_object_t type;
	size_t size;
	char *buf;
	int rc = 0;

	if (git_repository_odb(&odb, repo) < 0)
		return git_fail(err, FG_EIO, path);
	if (git_odb_read_header(&size, &type, odb, id) < 0) {
		rc = git_fail(err, FG_EIO, path);
		goto out;
	}
	if (type != GIT_OBJECT_BLOB) {
		rc = fg_error_set(err, FG_EINVALID, "'%s' is not a file", path);
		goto out;
	}
	if (size > max_bytes) {
		rc = fg_error_set(err, FG_ELIMIT,
				  "'%s' is %zu bytes, more than the limit of %zu",
				  path, size, max_bytes);
		goto out;
	}
	if (git_odb_read(&obj, odb, id) < 0) {
		rc = git_fail(err, FG_EIO, path);
		goto out;
	}
	size = git_odb_object_size(obj);
	buf = malloc(size + 1);
	if (!buf) {
		rc = fg_error_oom(err);
		goto out;
	}
	if (size)
		memcpy(buf, git_odb_object_data(obj), size);
	buf[size] = '\0';
	*data = buf;
	*len = size;
out:
	git_odb_object_free(obj);
	git_odb_free(odb);
	return rc;
}

int fg_source_read_blob(git_repository *repo, const git_oid *id,
			const char *path, size_t max_bytes, char **data,
			size_t *len, struct fg_error *err)
{
	*data = NULL;
	*len = 0;
	return git_read_blob(repo, id, path, max_bytes, data, len, err);
}

static int git_read(struct fg_source *src, const char *path, size_t max_bytes,
		    char **data, size_t *len, struct fg_error *err)
{
	git_tree_entry *entry = NULL;
	int rc = git_entry(src, path, &entry, err);

	if (rc < 0)
		return rc;
	if (fg_source_kind_of_mode(git_tree_entry_filemode(entry)) != FG_ENTRY_FILE)
		rc = fg_error_set(err, FG_EINVALID, "'%s' is not a regular file", path);
	else
		rc = git_read_blob(src->repo, git_tree_entry_id(entry), path,
				   max_bytes, data, len, err);
	git_tree_entry_free(entry);
	return rc;
}

static int git_walk_tree(struct fg_source *src, const git_tree *tree,
			 struct fg_buf *path, fg_source_walk_cb cb,
			 void *payload, struct fg_error *err)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int rc = 0;

	for (i = 0; i < n && rc >= 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		enum fg_entry_kind kind = fg_source_kind_of_mode(git_tree_entry_filemode(e));
		git_tree *sub = NULL;

		fg_buf_truncate(path, base);
		if (base)
			fg_buf_putc(path, '/');
		if (fg_buf_puts(path, git_tree_entry_name(e)) < 0) {
			rc = fg_error_oom(err);
			break;
		}
		rc = cb(fg_buf_cstr(path), kind, git_tree_entry_id(e), payload);
		if (rc != 0 || kind != FG_ENTRY_DIR)
			continue;
		if (git_tree_lookup(&sub, src->repo, git_tree_entry_id(e)) < 0) {
			rc = git_fail(err, FG_EIO, fg_buf_cstr(path));
			break;
		}
		rc = git_walk_tree(src, sub, path, cb, payload, err);
		git_tree_free(sub);
	}
	fg_buf_truncate(path, base);
	return rc < 0 ? rc : 0;
}

static int git_walk(struct fg_source *src, struct fg_buf *path,
		    fg_source_walk_cb cb, void *payload, struct fg_error *err)
{
	git_object *obj = NULL;
	int rc;

	if (!path->len)
		return git_walk_tree(src, src->tree, path, cb, payload, err);
	rc = git_object_lookup_bypath(&obj, (const git_object *)src->tree,
				      fg_buf_cstr(path), GIT_OBJECT_TREE);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return fg_error_set(err, FG_ENOTFOUND, "'%s' does not exist",
				    fg_buf_cstr(path));
	if (rc < 0)
		return git_fail(err, FG_ENOTFOUND, fg_buf_cstr(path));
	rc = git_walk_tree(src, (git_tree *)obj, path, cb, payload, err);
	git_object_free(obj);
	return rc;
}

/* ---- dispatch ---- */

int fg_source_kind(struct fg_source *src, const char *path,
		   enum fg_entry_kind *kind, struct fg_error *err)
{
	return src->tree ? git_kind(src, path, kind, err)
			 : dir_kind(src, path, kind, err);
}

int fg_source_read(struct fg_source *src, const char *path, size_t max_bytes,
		   char **data, size_t *len, struct fg_error *err)
{
	*data = NULL;
	*len = 0;
	return src->tree ? git_read(src, path, max_bytes, data, len, err)
			 : dir_read(src, path, max_bytes, data, len, err);
}

int fg_source_walk(struct fg_source *src, const char *dir, fg_source_walk_cb cb,
		   void *payload, struct fg_error *err)
{
	struct fg_buf path = FG_BUF_INIT;
	enum fg_entry_kind kind;
	int rc;

	if (fg_buf_puts(&path, dir) < 0)
		return fg_error_oom(err);
	if (!src->tree && *dir) {
		rc = dir_kind(src, dir, &kind, err);
		if (rc == 0 && kind != FG_ENTRY_DIR)
			rc = fg_error_set(err, FG_ENOTFOUND, "'%s' is not a directory", dir);
		if (rc < 0)
			goto out;
	}
	rc = src->tree ? git_walk(src, &path, cb, payload, err)
		       : dir_walk(src, &path, cb, payload, err);
out:
	fg_buf_release(&path);
	return rc;
}
