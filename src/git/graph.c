#include "graph.h"
#include "buf.h"
#include "gitcli.h"

#include <stdlib.h>
#include <string.h>

int fg_graph_new(struct fg_graph **out, const struct fg_graph_ops *ops, void *state,
		 struct fg_error *err)
{
	struct fg_graph *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g) {
		ops->free(state);
		return fg_error_oom(err);
	}
	g->ops = ops;
	g->state = state;
	*out = g;
	return 0;
}

int fg_graph_open(struct fg_graph **out, const char *git_dir, struct fg_error *err)
{
	if (fg_repo_uses_sha256(git_dir))
		return fg_graph_open_git_cli(out, git_dir, err);
	return fg_graph_open_libgit2(out, git_dir, err);
}

void fg_graph_free(struct fg_graph *graph)
{
	if (!graph)
		return;
	graph->ops->free(graph->state);
	free(graph);
}

bool fg_oid_parse(struct fg_oid *out, const char *s, size_t len)
{
	size_t i;

	if (len != 40 && len != 64)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	memcpy(out->hex, s, len);
	out->hex[len] = '\0';
	return true;
}

bool fg_oid_is_zero(const struct fg_oid *oid)
{
	return oid->hex[0] && strspn(oid->hex, "0") == strlen(oid->hex);
}

bool fg_oid_equal(const struct fg_oid *a, const struct fg_oid *b)
{
	return !strcmp(a->hex, b->hex);
}

void fg_oid_list_release(struct fg_oid_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void fg_branch_tips_release(struct fg_branch_tips *tips)
{
	size_t i;

	for (i = 0; i < tips->count; i++)
		free(tips->items[i].name);
	free(tips->items);
	tips->items = NULL;
	tips->count = 0;
}
