/*
 * fleetgate plan / fleetgate rollout: the rollout engine from the command
 * line, for a person (a table and a summary) or a tool (--format json).
 *
 *   fleetgate plan    --repo DIR BRANCH [--rev C] [--format json] [--full]
 *   fleetgate rollout --repo DIR BRANCH [--rev C] [--full]
 *   overrides: --mender-url URL --token-file FILE --secrets-dir DIR
 *              --policy FILE --state-dir DIR
 */
#include "commands.h"
#include "buf.h"
#include "gate.h"
#include "policy.h"
#include "rollout.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rollout_args {
	struct fg_rollout_options o;
	const char *policy;
	bool json;
};

static void usage(FILE *out, const char *cmd)
{
	fprintf(out,
		"usage: fleetgate %s --repo DIR BRANCH [--rev C] [--full]%s\n"
		"         [--policy FILE] [--mender-url URL] [--token-file FILE]\n"
		"         [--secrets-dir DIR] [--state-dir DIR]\n\n"
		"%s\n"
		"  --rev C      the commit to roll out (default: the tip of BRANCH)\n"
		"  --full       compare every subscriber's configuration, not only\n"
		"               what changed since the last rollout (drift)\n"
		"  --policy     the server policy (default: git config fleetgate.policy);\n"
		"               required: it says which branches roll out, who follows\n"
		"               them and which secrets they may resolve\n"
		"Exit status: 0 done, 1 something could not be applied, 2 usage or error.\n",
		cmd, strcmp(cmd, "plan") ? "" : " [--format json]",
		strcmp(cmd, "plan") ?
		"Applies the plan now: aborts, OS deployments, configurations." :
		"Shows what a rollout would do; changes nothing.");
}

static int parse(struct rollout_args *a, int argc, char **argv, bool plan)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "rev", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "full", no_argument, NULL, 'F' },
		{ "policy", required_argument, NULL, 'p' },
		{ "mender-url", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 't' },
		{ "secrets-dir", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': a->o.git_dir = optarg; break;
		case 'c': a->o.rev = optarg; break;
		case 'F': a->o.full = true; break;
		case 'p': a->policy = optarg; break;
		case 'u': a->o.mender_url = optarg; break;
		case 't': a->o.token_file = optarg; break;
		case 's': a->o.secrets_dir = optarg; break;
		case 'S': a->o.state_dir = optarg; break;
		case 'f':
			if (!plan || (strcmp(optarg, "json") && strcmp(optarg, "text")))
				return -1;
			a->json = !strcmp(optarg, "json");
			break;
		case 'h': return 1;
		default: return -1;
		}
	}
	if (optind != argc - 1 || !a->o.git_dir)
		return -1;
	a->o.branch = argv[optind];
	return 0;
}

/* The policy: --policy, else the repository's; it is required (it decides
 * which branches roll out and who follows them). The flags only override
 * its Mender server, token and secrets directory. */
static int load_policy(struct rollout_args *a, struct fg_policy **out,
		       struct fg_error *err)
{
	char *path = NULL;
	int rc;

	*out = NULL;
	if (a->policy)
		return fg_policy_load(out, a->policy, err);
	if ((rc = fg_gate_policy_path(&path, a->o.git_dir, err)) < 0)
		return rc;
	rc = fg_policy_load(out, path, err);
	free(path);
	return rc;
}

static int run(int argc, char **argv, bool plan)
{
	struct rollout_args a;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_policy *policy = NULL;
	json_t *report = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(&a, argc, argv, plan);
	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr, argv[0]);
		return rc > 0 ? 0 : 2;
	}
	if (load_policy(&a, &policy, &err) < 0) {
		fprintf(stderr, "fleetgate %s: %s\n", argv[0], err.message);
		return 2;
	}
	a.o.policy = policy;
	a.o.dry_run = plan;
	/* set by git only while a pre-receive hook runs: the pushed commits
	 * of a dry-run push wait there (gate_dryrun.h) */
	if (plan)
		a.o.quarantine = getenv("GIT_QUARANTINE_PATH");
	a.o.text_report = a.json ? NULL : stdout;
	a.o.json_report = a.json ? stdout : NULL;
	a.o.progress = !plan && isatty(STDERR_FILENO) ? stderr : NULL;
	rc = fg_rollout_run(&a.o, &report, &err);
	if (a.json && rc == 0)
		putchar('\n');
	if (rc < 0)
		fprintf(stderr, "fleetgate %s: %s\n", argv[0], err.message);
	json_decref(report);
	fg_policy_free(policy);
	return rc == 0 ? 0 : rc == FG_ENET ? 1 : 2;
}

int cmd_plan(int argc, char **argv)
{
	return run(argc, argv, true);
}

int cmd_rollout(int argc, char **argv)
{
	return run(argc, argv, false);
}
