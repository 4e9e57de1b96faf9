/*
 * fleetgate-pre-receive: refuses pushes that break the fleet's promotion
 * rules. git runs it with the ref updates on stdin, before any ref moves;
 * exit 0 accepts the whole push, anything else rejects it.
 *
 * Every path that is not an explicit accept is a reject (fail closed).
 */
#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A push of 100,000 refs is ~15 MB of input; refuse anything wilder. */
#define STDIN_MAX (64u * 1024 * 1024)

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

int main(void)
{
	struct fg_gate_result result = FG_GATE_RESULT_INIT;
	struct fg_gate_input in = { 0 };
	struct fg_error err = FG_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int accepted;

	if (fg_hook_read_fd(&data, &len, STDIN_FILENO, STDIN_MAX, &err) < 0) {
		fprintf(stderr, "fleetgate: rejected the push: internal-error: %s; "
			"hint: tell the server admin\n", err.message);
		return 1;
	}
	in.lookup = env_lookup;
	in.stdin_data = data;
	in.stdin_len = len;
	fg_gate_run(&in, &result);
	fputs(fg_buf_cstr(&result.messages), stderr);
	fflush(stderr);
	accepted = result.accepted;
	fg_gate_result_release(&result);
	free(data);
	return accepted ? 0 : 1; /* fail safe */
}
