/* The record's summary as a git note on the rolled-out commit, in
 * refs/notes/fleetgate, so a pusher sees it with git alone. Written with
 * git's plumbing (SHA-256 repositories too): the blob, the old notes tree
 * with the note set in a private index, a child commit, and a
 * compare-and-swap update of the notes ref; no temporary ref anyone could
 * see or take. pre-receive refuses pushes to the ref (notes-ref). */
#include "rollout_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "gitcli.h"

#define NOTES_REF "refs/notes/fleetgate"
#define CAS_TRIES 5

/* git, with the worker's name on the notes commits, and index (a private
 * index file, or NULL) as its index. */
static int git(const char *git_dir, const char *index, const char *const *args,
	       struct fg_buf *out, int *status, struct fg_error *err)
{
	char *index_env = index ? fg_asprintf("GIT_INDEX_FILE=%s", index) : NULL;
	const char *env[] = {
		"GIT_AUTHOR_NAME=fleetgate", "GIT_AUTHOR_EMAIL=fleetgate@localhost",
		"GIT_COMMITTER_NAME=fleetgate", "GIT_COMMITTER_EMAIL=fleetgate@localhost",
		index_env, NULL
	};
	int rc;

	*status = 1;
	if (out)
		fg_buf_truncate(out, 0);
	if (index && !index_env)
		return fg_error_oom(err);
	rc = fg_git_run(git_dir, args, env, out, status, err);
	free(index_env);
	return rc;
}

static void chomp(struct fg_buf *b)
{
	while (b->len && (b->ptr[b->len - 1] == '\n' || b->ptr[b->len - 1] == '\r'))
		fg_buf_truncate(b, b->len - 1);
}

/* git whose one-line answer goes to out; its failure is an error. */
static int git_line(const char *git_dir, const char *index, const char *const *args,
		    struct fg_buf *out, struct fg_error *err)
{
	int status, rc = git(git_dir, index, args, out, &status, err);

	chomp(out);
	if (rc == 0 && (status || !out->len))
		rc = fg_error_set(err, FG_EIO, "git %s failed in '%s'", args[0], git_dir);
	return rc;
}

/* The note on commit now, into out ("" when none). */
static int current_note(const char *git_dir, const char *commit, struct fg_buf *out,
			struct fg_error *err)
{
	const char *args[] = { "show", "-s", "--format=%N", "--notes=fleetgate",
			       "--end-of-options", commit, NULL };
	int status, rc = git(git_dir, NULL, args, out, &status, err);

	chomp(out);
	return rc;
}

struct note_files {
	char *text;  /* the note's text, for hash-object */
	char *index; /* a private index for the notes tree */
};

/* The new notes commit: the old notes tree (none: empty) with the note of
 * commit set to blob, as a child of old. */
static int notes_commit(const char *git_dir, const struct note_files *f,
			const char *old, const char *commit, const char *blob,
			struct fg_buf *out, struct fg_error *err)
{
	char *info = fg_asprintf("100644,%s,%s", blob, commit);
	const char *read[] = { "read-tree", old, NULL };
	const char *empty[] = { "read-tree", "--empty", NULL };
	const char *add[] = { "update-index", "--add", "--cacheinfo", info, NULL };
	const char *write[] = { "write-tree", NULL };
	const char *root[] = { "commit-tree", "-m", "fleetgate: rollout record", "", NULL };
	const char *child[] = { "commit-tree", "-m", "fleetgate: rollout record", "",
				"-p", old, NULL };
	struct fg_buf tree = FG_BUF_INIT;
	int status, rc;

	if (!info)
		return fg_error_oom(err);
	unlink(f->index);
	if ((rc = git(git_dir, f->index, *old ? read : empty, NULL, &status, err)) < 0 ||
	    (rc = git(git_dir, f->index, add, NULL, &status, err)) < 0 ||
	    (rc = git_line(git_dir, f->index, write, &tree, err)) < 0)
		goto out;
	root[3] = child[3] = fg_buf_cstr(&tree);
	rc = git_line(git_dir, NULL, *old ? child : root, out, err);
out:
	unlink(f->index);
	fg_buf_release(&tree);
	free(info);
	return rc;
}

/* One attempt: the notes commit built beside the notes ref, which moves
 * there only if it still is where it was. 1: lost a race (try again). */
static int attempt(const char *git_dir, const struct note_files *f, const char *commit,
		   const char *blob, struct fg_error *err)
{
	const char *get[] = { "rev-parse", "-q", "--verify", NOTES_REF, NULL };
	struct fg_buf old = FG_BUF_INIT, new = FG_BUF_INIT;
	int status, rc;

	if ((rc = git(git_dir, NULL, get, &old, &status, err)) < 0)
		goto out;
	chomp(&old);
	if ((rc = notes_commit(git_dir, f, fg_buf_cstr(&old), commit, blob, &new, err)) < 0)
		goto out;
	{
		/* "" as the old value: the notes ref must not exist yet */
		const char *cas[] = { "update-ref", "-m", "fleetgate: rollout record",
				      NOTES_REF, fg_buf_cstr(&new), fg_buf_cstr(&old),
				      NULL };

		if ((rc = git(git_dir, NULL, cas, NULL, &status, err)) == 0)
			rc = status ? 1 : 0;
	}
out:
	fg_buf_release(&old);
	fg_buf_release(&new);
	return rc;
}

static int write_note(const char *git_dir, const struct note_files *f,
		      const char *commit, const char *text, struct fg_error *err)
{
	const char *hash[] = { "hash-object", "-w", "--", f->text, NULL };
	struct fg_buf blob = FG_BUF_INIT;
	int rc, tries = 0;

	if ((rc = fg_file_replace(f->text, NULL, text, strlen(text), 0600, err)) < 0 ||
	    (rc = git_line(git_dir, NULL, hash, &blob, err)) < 0)
		goto out;
	while ((rc = attempt(git_dir, f, commit, fg_buf_cstr(&blob), err)) == 1 &&
	       ++tries < CAS_TRIES)
		;
	if (rc == 1)
		rc = fg_error_set(err, FG_EIO, "%s kept moving while the note of %.12s "
				  "was written; the next update writes it", NOTES_REF, commit);
out:
	unlink(f->text);
	fg_buf_release(&blob);
	return rc;
}

int fg_rollout_note(const char *git_dir, const char *state_dir, const char *branch,
		    const struct fg_record *rec, struct fg_error *err)
{
	struct fg_buf text = FG_BUF_INIT, now = FG_BUF_INIT;
	struct note_files f = {
		.text = fg_asprintf("%s/note-%ld.txt", state_dir, (long)getpid()),
		.index = fg_asprintf("%s/note-%ld.index", state_dir, (long)getpid()),
	};
	int rc;

	if (!f.text || !f.index || fg_record_summary(&text, branch, rec) < 0) {
		rc = fg_error_oom(err);
		goto out;
	}
	if ((rc = current_note(git_dir, rec->commit, &now, err)) < 0 ||
	    !strcmp(fg_buf_cstr(&now), fg_buf_cstr(&text)))
		goto out; /* unchanged: no new notes commit per poll */
	if (fg_buf_putc(&text, '\n') < 0) {
		rc = fg_error_oom(err);
		goto out;
	}
	rc = write_note(git_dir, &f, rec->commit, fg_buf_cstr(&text), err);
out:
	fg_buf_release(&text);
	fg_buf_release(&now);
	free(f.text);
	free(f.index);
	return rc;
}

void fg_rollout_note_warn(const char *git_dir, const char *state_dir,
			  const char *branch, const struct fg_record *rec)
{
	struct fg_error e = FG_ERROR_INIT;

	if (fg_rollout_note(git_dir, state_dir, branch, rec, &e) < 0)
		fprintf(stderr, "fleetgate: warning: the rollout note was not written: %s\n",
			e.message);
}
