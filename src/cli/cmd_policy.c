#include "commands.h"

#include <stdio.h>

int cmd_policy(int argc, char **argv)
{
	fprintf(stderr, "fleetgate policy: not implemented yet\n");
	return 2;
}
