/*
 * gate.h: the pre-receive decision for a whole push.
 *
 * Takes what git gave the hook (ref updates, environment) and answers
 * accept or reject with one message line per problem. It fails closed: any
 * error on the way (policy missing or broken, repository unreadable, out of
 * memory) rejects every ref with the reason. The hook's main() only reads
 * input, calls fg_gate_run and prints.
 *
 * Ownership rule: struct fg_gate_result owns its message text; release it
 * with fg_gate_result_release. The input's strings are borrowed.
 */
#ifndef FG_GATE_H
#define FG_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "hook_input.h"

struct fg_gate_input {
	const char *git_dir;   /* NULL: from the hook's environment */
	const char *policy_path; /* NULL: git config fleetgate.policy, else default */
	const char *(*lookup)(const char *name); /* environment lookup */
	const char *stdin_data;
	size_t stdin_len;
};

struct fg_gate_result {
	bool accepted;
	bool dry_run;         /* -o fleetgate.dry-run: plans shown, nothing pushed */
	size_t refs;          /* ref updates in the push */
	size_t rejected;      /* ref updates refused */
	struct fg_buf messages; /* lines for the pusher, each ending in '\n' */
};

#define FG_GATE_RESULT_INIT { .accepted = false, .dry_run = false, .refs = 0, \
			      .rejected = 0, .messages = FG_BUF_INIT }

/* Decides the push. Never fails: every problem becomes a rejection with a
 * message in result->messages (result->accepted false).
 *
 * Each ref gets one server-log line once the push is decided (verdict and
 * the rule that decided it, fleet check included). An accepted push leaves
 * a record of each branch update for post-receive (judged.h); a record that
 * cannot be written rejects the push. With the push option fleetgate.dry-run, a
 * push the rules accept is not accepted: the plan of every branch that
 * would roll out is added to the messages (gate_dryrun.h), then
 * "fleetgate: dry run: nothing was pushed" (result->dry_run); a dry run the
 * rules refuse ends with that line too, after its rejections. */
void fg_gate_run(const struct fg_gate_input *in, struct fg_gate_result *result);

/* Finds the policy path for a repository: `git config fleetgate.policy` in
 * git_dir's config, else SYSCONFDIR/fleetgate/policy.yaml. Returns new
 * memory the caller frees, or an FG_E* code. */
int fg_gate_policy_path(char **out, const char *git_dir, struct fg_error *err);

/* The hook's repository as an absolute path: in->git_dir, else $GIT_DIR,
 * else ".". New memory the caller frees; NULL when it does not exist or on
 * OOM. */
char *fg_gate_git_dir(const struct fg_gate_input *in);

void fg_gate_result_release(struct fg_gate_result *result);

#endif
