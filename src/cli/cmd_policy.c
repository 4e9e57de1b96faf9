/* fleetgate policy check FILE: check a server policy offline. */
#include "commands.h"
#include "policy.h"

#include <stdio.h>
#include <string.h>

int cmd_policy(int argc, char **argv)
{
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	size_t i;

	if (argc != 3 || strcmp(argv[1], "check")) {
		fputs("usage: fleetgate policy check FILE\n", argc == 2 &&
		      !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (fg_policy_load(&policy, argv[2], &err) < 0) {
		fprintf(stderr, "fleetgate policy: %s\n", err.message);
		return 1;
	}
	printf("%s: ok, %zu protected branch%s:", argv[2], policy->branch_count,
	       policy->branch_count == 1 ? "" : "es");
	for (i = 0; i < policy->branch_count; i++)
		printf(" %s", policy->branches[i].name);
	printf("\n");
	fg_policy_free(policy);
	return 0;
}
