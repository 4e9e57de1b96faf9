/* fleetgate install: put the hooks into a bare repository. */
#include "commands.h"
#include "buf.h"
#include "fsutil.h"
#include "install.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BINDIR
#define BINDIR "/usr/local/bin"
#endif

static const char usage[] =
	"usage: fleetgate install --repo PATH --policy FILE "
	"[--layout plain|gitea|gitlab] [--force]\n";

/* The hooks installed next to the running fleetgate win over BINDIR, so a
 * build tree or a relocated install hooks up its own binaries. */
static char *find_bindir(void)
{
	char *dir = fg_self_dir();
	char *probe = dir ? fg_asprintf("%s/fleetgate-pre-receive", dir) : NULL;

	if (probe && access(probe, X_OK) == 0) {
		free(probe);
		return dir;
	}
	free(probe);
	free(dir);
	return fg_strdup(BINDIR);
}

int cmd_install(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "layout", required_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fg_install_options opts = { 0 };
	struct fg_error err = FG_ERROR_INIT;
	char *bindir = NULL;
	int c, rc;

	opts.layout = FG_LAYOUT_PLAIN;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': opts.repo = optarg; break;
		case 'p': opts.policy = optarg; break;
		case 'f': opts.force = true; break;
		case 'l':
			if (fg_install_parse_layout(&opts.layout, optarg, &err) < 0) {
				fprintf(stderr, "fleetgate install: %s\n", err.message);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!opts.repo || !opts.policy || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	bindir = find_bindir();
	if (!bindir) {
		fprintf(stderr, "fleetgate install: out of memory\n");
		return 2;
	}
	opts.bindir = bindir;
	rc = fg_install_hooks(&opts, &err);
	if (rc < 0)
		fprintf(stderr, "fleetgate install: %s\n", err.message);
	else
		printf("fleetgate: hooks installed in %s (policy %s)\n", opts.repo, opts.policy);
	free(bindir);
	return rc < 0 ? 1 : 0;
}
