/*
 * fleetgate-post-receive: turns an accepted push into rollout jobs.
 *
 * For every updated branch that devices may follow, a job is written
 * durably to the spool and a detached worker is started, so the push
 * returns at once. post-receive cannot fail a push; what this hook must
 * never do is lose a rollout silently: a job it cannot write is reported
 * loudly to the pusher and to the server log, and the exit status says so.
 */
#include "gate.h"
#include "hook_input.h"
#include "policy.h"
#include "postreceive.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define STDIN_MAX (64u * 1024 * 1024)

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

int main(void)
{
	struct fg_post_receive_input in = { 0 };
	struct fg_error err = FG_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (fg_hook_read_fd(&data, &len, STDIN_FILENO, STDIN_MAX, &err) < 0) {
		fprintf(stderr, "fleetgate: ERROR: no rollout was queued: %s; "
			"run 'fleetgate rollout' by hand\n", err.message);
		return 1;
	}
	in.lookup = env_lookup;
	in.stdin_data = data;
	in.stdin_len = len;
	in.out = stderr;
	rc = fg_post_receive_run(&in);
	free(data);
	return rc < 0 ? 1 : 0;
}
