/*
 * commands.h: the fleetgate subcommands. Each lives in src/cli/cmd_NAME.c,
 * parses its own arguments, calls the library and prints; no rule lives here.
 *
 * Every command returns the process exit code: 0 success, 1 a negative
 * verdict (invalid input, rejected check), 2 usage or an internal error.
 * argv[0] is the subcommand name.
 */
#ifndef FG_CLI_COMMANDS_H
#define FG_CLI_COMMANDS_H

struct fg_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_install(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_rollout(int argc, char **argv);

/* The table of subcommands, terminated by a NULL name. */
extern const struct fg_command fg_commands[];

#endif
