/*
 * gate_fleet.h: the fleet-file part of the pre-receive decision (rule
 * `fleet-invalid`): which updated refs get checked, against what, and how
 * the findings read under the rejection line.
 *
 * For every branch update the policy's `validate: all|protected` selects,
 * the new tip is checked incrementally (fg_fleet_check_push) against:
 *   - an update: the branch's old tip, whose configuration schema judges it;
 *   - a new branch: the tip (before the push) of the protected branch that
 *     promotes from it (its target), else of `main`; with neither, the whole
 *     fleet is checked with its own schema.
 * Branch names the fleet files may use: the policy's protected branches,
 * the repository's branches, and branches the same push creates.
 *
 * It never prints: it formats lines into the caller's fg_buf.
 *
 * Ownership rule: struct fg_gate_fleet returned through `out` belongs to the
 * caller (fg_gate_fleet_free); it borrows the policy and the updates.
 */
#ifndef FG_GATE_FLEET_H
#define FG_GATE_FLEET_H

#include "buf.h"
#include "error.h"
#include "graph.h"
#include "hook_input.h"
#include "policy.h"

/* Findings listed under a rejection before "... and N more". */
#define FG_GATE_FLEET_MAX_LINES 20

struct fg_gate_fleet;

/* Opens the hook's repository (git_dir, or the hook environment with its
 * quarantine when NULL). `tips` are the branches before the push (the
 * promotion context's snapshot), borrowed until fg_gate_fleet_free. A
 * SHA-256 repository, which libgit2 1.5 cannot read, is checked through
 * trees git exports (a full check per update). FG_EIO when it cannot be
 * opened. */
int fg_gate_fleet_open(struct fg_gate_fleet **out, const char *git_dir,
		       const struct fg_policy *policy,
		       const struct fg_ref_updates *updates,
		       const struct fg_branch_tips *tips, struct fg_error *err);

/* Whether the policy wants `update` checked (a branch, not deleted). */
int fg_gate_fleet_selects(const struct fg_gate_fleet *gf,
			  const struct fg_ref_update *update);

/* Checks one update. Returns 0 when the fleet files are valid, 1 when not
 * (then *explanation is set and the indented finding lines, capped, are
 * appended to `lines`), or a negative FG_E* code with err set: the caller
 * rejects then too. */
int fg_gate_fleet_check(struct fg_gate_fleet *gf, const struct fg_ref_update *update,
			const char *line_prefix, struct fg_buf *lines,
			char *explanation, size_t explanation_size,
			struct fg_error *err);

void fg_gate_fleet_free(struct fg_gate_fleet *gf);

#endif
