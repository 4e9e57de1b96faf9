/* Placeholder until the rollout engine lands (branch `engine`): every job
 * fails with a clear message and stays queued for retry, so nothing is lost. */
#include "rollout.h"

int fg_rollout_run(const struct fg_rollout_options *opts, json_t **report,
		   struct fg_error *err)
{
	*report = NULL;
	return fg_error_set(err, FG_ERROR, "the rollout engine is not built into this "
			    "fleetgate yet; the job stays queued");
}
