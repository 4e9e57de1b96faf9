/* Fuzz target: the server policy loader. The admin owns the file, but a
 * crash on a typo must still be impossible: the hook fails closed. */
#define FG_FUZZ_TARGET policy
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	size_t i;
	int rc;

	rc = fg_policy_parse(&policy, "policy.yaml", (const char *)data, size, &err);
	if (rc < 0) {
		if (policy || err.code != rc)
			abort();
		return 0;
	}
	for (i = 0; i < policy->branch_count; i++) {
		const struct fg_branch_rule *b = &policy->branches[i];

		if (fg_policy_branch(policy, b->name) != b || b->promote_from.count == 0)
			abort();
		fg_policy_user_in(policy, &b->pushers, "alice");
		fg_policy_promotes_from(b, "feature/x");
	}
	fg_policy_free(policy);
	return 0;
}
