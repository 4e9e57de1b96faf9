/*
 * gate_dryrun.h: what pre-receive shows for `git push -o fleetgate.dry-run`.
 *
 * A dry run changes nothing: pre-receive judges the push as usual and, when
 * the rules accept it, adds the rollout plan of every updated branch that
 * would roll out (the branches post-receive would queue, see
 * fg_policy_rolls_out) and rejects the push. The plan comes from
 * `fleetgate plan` run as a child process, so that the hook itself never
 * loads libcurl for ordinary pushes; the child sees the pushed commits in
 * git's quarantine and may talk to Mender, for at most the policy's
 * mender.timeout_seconds (30 when unset) per branch.
 *
 * Ownership rule: all arguments are borrowed; lines are appended to `out`.
 */
#ifndef FG_GATE_DRYRUN_H
#define FG_GATE_DRYRUN_H

#include "buf.h"
#include "gate.h"
#include "hook_input.h"

struct fg_policy;

/* Appends, for each update that would roll out, a header line and the
 * plan (control characters replaced), each line starting with `prefix`.
 * Never fails: a plan that cannot be made becomes a line saying why and
 * how to get it after a real push. */
void fg_gate_dry_run(const struct fg_gate_input *in, const struct fg_policy *policy,
		     const struct fg_ref_updates *updates, const char *prefix,
		     struct fg_buf *out);

#endif
