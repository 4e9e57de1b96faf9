/* Fuzz target: the parsers of Mender's answers, which come over the network
 * and may be anything. The first byte picks the parser. */
#define FG_FUZZ_TARGET mender
#include "fuzz.h"

#include <stdlib.h>

#include "mender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_error err = FG_ERROR_INIT;
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0: {
		struct fg_mender_devices d = FG_MENDER_DEVICES_INIT;

		fg_mender_parse_devices(body, len, &d, &err);
		fg_mender_devices_release(&d);
		break;
	}
	case 1: {
		struct fg_mender_deployments d = FG_MENDER_DEPLOYMENTS_INIT;

		fg_mender_parse_deployments(body, len, &d, &err);
		fg_mender_deployments_release(&d);
		break;
	}
	case 2: {
		struct fg_mender_deployment d = { 0 };

		if (fg_mender_parse_deployment(body, len, &d, &err) == 0)
			fg_mender_deployment_release(&d);
		break;
	}
	case 3: {
		json_t *configured = NULL, *reported = NULL;

		fg_mender_parse_config(body, len, &configured, &reported, &err);
		json_decref(configured);
		json_decref(reported);
		break;
	}
	default: {
		struct fg_mender_stats s;

		fg_mender_parse_stats(body, len, &s, &err);
		break;
	}
	}
	return 0;
}
