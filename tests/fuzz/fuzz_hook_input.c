/* Fuzz target: what git hands pre-receive/post-receive. The first byte
 * splits the input into stdin lines and push options (one per line), so
 * both parsers see hostile data. */
#define FG_FUZZ_TARGET hook_input
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hook_input.h"

static struct fg_push_options *fuzz_options;
static char count_text[32];

static const char *lookup(const char *name)
{
	unsigned long i;

	if (!strcmp(name, "GIT_PUSH_OPTION_COUNT"))
		return count_text;
	if (strncmp(name, "GIT_PUSH_OPTION_", 16))
		return NULL;
	i = strtoul(name + 16, NULL, 10);
	return i < fuzz_options->count ? fuzz_options->items[i] : NULL;
}

/* Splits text at '\n' into a NUL-terminated option list (owned by out). */
static void split_options(struct fg_push_options *out, const char *text, size_t len)
{
	size_t start = 0, i;

	out->items = calloc(len + 2, sizeof(*out->items));
	out->count = 0;
	if (!out->items)
		return;
	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		out->items[out->count] = malloc(i - start + 1);
		if (!out->items[out->count])
			return;
		memcpy(out->items[out->count], text + start, i - start);
		out->items[out->count][i - start] = '\0';
		out->count++;
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_ref_updates updates;
	struct fg_push_options raw = { NULL, 0 }, parsed;
	struct fg_error err = FG_ERROR_INIT;
	size_t split, i;

	if (size == 0)
		return 0;
	split = data[0] % size;
	if (fg_hook_parse_updates(&updates, (const char *)data + 1, split, &err) == 0) {
		for (i = 0; i < updates.count; i++) {
			/* every accepted ref is under refs/ and a branch name is inside it */
			const char *b = fg_ref_branch_name(updates.items[i].refname);

			if (strncmp(updates.items[i].refname, "refs/", 5) ||
			    (b && b != updates.items[i].refname + 11))
				abort();
		}
		fg_ref_updates_release(&updates);
	} else if (updates.count != 0 || err.code == 0) {
		abort();
	}
	split_options(&raw, (const char *)data + 1 + split, size - 1 - split);
	fuzz_options = &raw;
	snprintf(count_text, sizeof(count_text), "%zu", raw.count);
	if (fg_hook_parse_push_options(&parsed, lookup, &err) == 0) {
		fg_push_options_has(&parsed, "fleetgate.dry-run");
		fg_push_options_release(&parsed);
	}
	fg_push_options_release(&raw);
	return 0;
}
