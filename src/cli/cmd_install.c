#include "commands.h"

#include <stdio.h>

int cmd_install(int argc, char **argv)
{
	fprintf(stderr, "fleetgate install: not implemented yet\n");
	return 2;
}
