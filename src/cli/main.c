/*
 * fleetgate: the command-line front end. Dispatches to src/cli/cmd_*.c.
 */
#include "config.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

const struct fg_command fg_commands[] = {
	{ "install", cmd_install, "install the hooks into a bare repository" },
	{ "policy", cmd_policy, "check a server policy file (policy check FILE)" },
	{ "check", cmd_check, "check a fleet repository (check [DIR] | --git-dir D --rev R)" },
	{ "queue", cmd_queue, "list, run, retry or drop rollout jobs" },
	{ "status", cmd_status, "show each branch's last rollout and how its devices fared" },
	{ "validate", cmd_validate, "validate YAML/JSON files against a JSON Schema" },
	{ "plan", cmd_plan, "show what a rollout of a branch would do in Mender" },
	{ "rollout", cmd_rollout, "roll a branch out to its devices through Mender now" },
	{ NULL, NULL, NULL }
};

static void usage(FILE *out)
{
	const struct fg_command *c;

	fprintf(out, "usage: fleetgate <command> [<args>]\n\ncommands:\n");
	for (c = fg_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\nRun 'fleetgate <command> --help' for a command's options; "
		     "see fleetgate(1).\n");
}

int main(int argc, char **argv)
{
	const struct fg_command *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("fleetgate %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (c = fg_commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "fleetgate: '%s' is not a command; see 'fleetgate --help'\n",
		argv[1]);
	return 2;
}
