/*
 * standalone.c: replays fuzz corpora without libFuzzer, printing TAP.
 *
 *   corpus-run                 every registered target over its seed corpus
 *                              $FG_SRCDIR/tests/fuzz/corpus/<name>/
 *   corpus-run NAME PATH...    one target over files or directories (to
 *                              replay a crash that scripts/fuzz saved)
 *
 * One TAP line per input file. An input that crashes the target kills the
 * program, which the TAP driver reports as an error; sanitizers and valgrind
 * report what they see as usual.
 */
#define FG_LIBFUZZER 1
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

#define MAX_TARGETS 32

static struct {
	const char *name;
	fg_fuzz_fn fn;
} targets[MAX_TARGETS];
static size_t ntargets;

void fg_fuzz_register(const char *name, fg_fuzz_fn fn)
{
	if (ntargets == MAX_TARGETS) {
		fprintf(stderr, "corpus-run: more than %d targets\n", MAX_TARGETS);
		exit(2);
	}
	targets[ntargets].name = name;
	targets[ntargets].fn = fn;
	ntargets++;
}

struct inputs {
	char **paths;
	size_t count, alloc;
};

static int add_input(struct inputs *in, const char *path)
{
	char **p;

	if (in->count == in->alloc) {
		in->alloc = in->alloc ? in->alloc * 2 : 64;
		p = realloc(in->paths, in->alloc * sizeof(*p));
		if (!p)
			return -1;
		in->paths = p;
	}
	in->paths[in->count] = fg_strdup(path);
	return in->paths[in->count++] ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects path itself, or the regular files directly inside it, sorted. */
static int collect(struct inputs *in, const char *path)
{
	struct dirent *de;
	struct stat st;
	size_t first = in->count;
	char *file;
	DIR *d;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "corpus-run: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_input(in, path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		file = fg_asprintf("%s/%s", path, de->d_name);
		if (!file || (stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
			      add_input(in, file) < 0)) {
			free(file);
			closedir(d);
			return -1;
		}
		free(file);
	}
	closedir(d);
	qsort(in->paths + first, in->count - first, sizeof(char *), by_name);
	return 0;
}

static int read_file(const char *path, struct fg_buf *b)
{
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_put(b, chunk, n);
	fclose(f);
	return b->failed ? -1 : 0;
}

struct run {
	const char *target;
	fg_fuzz_fn fn;
	size_t first, last; /* range of inputs */
};

int main(int argc, char **argv)
{
	struct inputs in = { NULL, 0, 0 };
	struct run runs[MAX_TARGETS];
	const char *src = getenv("FG_SRCDIR");
	size_t nruns = 0, i, j, n = 0;
	char *dir;
	int failed = 0;

	if (argc == 2 || (argc > 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [TARGET PATH...]\n", argv[0]);
		return 2;
	}
	for (i = 0; i < ntargets; i++) {
		if (argc > 2 && strcmp(argv[1], targets[i].name))
			continue;
		runs[nruns].target = targets[i].name;
		runs[nruns].fn = targets[i].fn;
		runs[nruns].first = in.count;
		if (argc > 2) {
			for (j = 2; j < (size_t)argc; j++)
				if (collect(&in, argv[j]) < 0)
					return 2;
		} else {
			dir = fg_asprintf("%s/tests/fuzz/corpus/%s", src ? src : ".",
					  targets[i].name);
			if (!dir || collect(&in, dir) < 0)
				return 2;
			free(dir);
		}
		runs[nruns].last = in.count;
		nruns++;
	}
	if (!nruns) {
		fprintf(stderr, "corpus-run: no target named '%s'\n", argc > 2 ? argv[1] : "");
		return 2;
	}
	printf("1..%zu\n", in.count);
	fflush(stdout);
	for (i = 0; i < nruns; i++) {
		for (j = runs[i].first; j < runs[i].last; j++) {
			struct fg_buf b = FG_BUF_INIT;
			const char *name = strrchr(in.paths[j], '/');

			name = name ? name + 1 : in.paths[j];
			if (read_file(in.paths[j], &b) < 0) {
				printf("not ok %zu - %s %s: unreadable\n", ++n, runs[i].target, name);
				failed = 1;
			} else {
				/* a copy of exactly the file's size, so ASan and
				 * valgrind see any read past its end */
				uint8_t *copy = malloc(b.len ? b.len : 1);

				if (!copy)
					return 2;
				memcpy(copy, b.ptr ? b.ptr : "", b.len);
				runs[i].fn(copy, b.len);
				free(copy);
				printf("ok %zu - %s %s\n", ++n, runs[i].target, name);
			}
			fflush(stdout);
			fg_buf_release(&b);
		}
	}
	for (i = 0; i < in.count; i++)
		free(in.paths[i]);
	free(in.paths);
	return failed;
}
