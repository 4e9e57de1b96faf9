/*
 * http.h: the small HTTP layer the Mender client talks through (libcurl).
 *
 * Owns: one curl multi handle per client (so connections are reused across
 * calls and batches), the bearer token, retry with exponential backoff and
 * jitter, Retry-After, the response size cap and bounded parallelism.
 * Never does: follow redirects (so credentials never reach another host),
 * speak anything but http/https, turn TLS verification off, or put the
 * token into an error message, a log line or curl's verbose output.
 *
 * Ownership rule: the client owns a private copy of the token and wipes it
 * on free; a struct fg_http_response owns its body and location, released
 * with fg_http_response_release. Requests are borrowed for the call only.
 *
 * Error behaviour: every call returns 0 on a 2xx answer. Anything else is
 * FG_ENET (transport failure, non-2xx status; resp->status tells which, 0
 * for no answer), FG_ELIMIT (response larger than the cap), FG_ENOMEM, and
 * the message names the call ("POST /path"), the HTTP status and Mender's
 * `error` field from the JSON body when there is one.
 */
#ifndef FG_HTTP_H
#define FG_HTTP_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "error.h"

struct fg_http_opts {
	const char *base_url;    /* "https://host[:port]", no trailing path */
	const char *ca_file;     /* PEM bundle for a private CA; NULL: system */
	long connect_timeout_ms;
	long timeout_ms;         /* total time of one attempt */
	int max_retries;         /* extra attempts after the first */
	long backoff_base_ms;    /* first retry waits about this long */
	long backoff_max_ms;     /* cap of one wait, Retry-After included */
	size_t max_body;         /* responses larger than this are aborted */
	int max_parallel;        /* transfers in flight in a batch */
	/* Said after "Mender refused the credentials" when an answer is 401
	 * or 403: which file holds them and what to do; copied; may be NULL. */
	const char *auth_hint;
};

#define FG_HTTP_OPTS_INIT { .base_url = NULL, .ca_file = NULL, \
	.connect_timeout_ms = 10000, .timeout_ms = 30000, .max_retries = 4, \
	.backoff_base_ms = 500, .backoff_max_ms = 30000, \
	.max_body = (size_t)64 << 20, .max_parallel = 8, .auth_hint = NULL }

struct fg_http_request {
	const char *method;       /* "GET", "POST", "PUT", "DELETE" */
	const char *path;         /* starts with '/', may carry a query */
	const char *body;         /* JSON; NULL for none */
	size_t body_len;
	/* Basic credentials for this request only (login); both or neither.
	 * When set, the bearer token is not sent. Borrowed. */
	const char *basic_user;
	const char *basic_pass;
};

struct fg_http_response {
	long status;          /* 0 when no HTTP answer arrived */
	struct fg_buf body;
	char *location;       /* Location header or NULL; owned */
	long long total_count;/* X-Total-Count or -1 */
	int attempts;         /* how many attempts were made */
};

#define FG_HTTP_RESPONSE_INIT { 0, FG_BUF_INIT, NULL, -1, 0 }

void fg_http_response_release(struct fg_http_response *r);

struct fg_http_client;

/* curl's process-wide setup; call once from main before any client, and
 * fg_http_global_cleanup once at exit. FG_ERROR if curl cannot start. */
int fg_http_global_init(struct fg_error *err);
void fg_http_global_cleanup(void);

/* Creates a client (no network yet). Fails with FG_EINVALID for a base URL
 * that is not http:// or https://, FG_ENOMEM, FG_ERROR if curl fails. */
int fg_http_client_new(struct fg_http_client **out,
		       const struct fg_http_opts *opts, struct fg_error *err);
/* Wipes the token and frees everything; accepts NULL. */
void fg_http_client_free(struct fg_http_client *c);

/* Sets (or with NULL clears) the bearer token; the client keeps a copy.
 * FG_EINVALID if it holds characters a token never has (e.g. CR/LF). */
int fg_http_set_token(struct fg_http_client *c, const char *token,
		      struct fg_error *err);

/* One call with retries. resp (initialised with FG_HTTP_RESPONSE_INIT,
 * released by the caller) is filled also on failure (status, body). */
int fg_http_do(struct fg_http_client *c, const struct fg_http_request *req,
	       struct fg_http_response *resp, struct fg_error *err);

/* Called once per request of a batch, in completion order, with that
 * request's result (rc as fg_http_do returns it, err its message). The
 * callback may steal resp->body / resp->location (set them empty); the
 * batch releases the rest. A negative return stops the batch early and
 * becomes the batch's return value (the callback fills batch_err). */
typedef int (*fg_http_done_fn)(void *ctx, size_t index, int rc,
			       struct fg_http_response *resp,
			       const struct fg_error *err,
			       struct fg_error *batch_err);

/* Runs n requests with at most opts.max_parallel in flight, each retried
 * like fg_http_do. Returns 0 when every request was handed to done (a
 * failed request is not a batch failure unless done says so), or the
 * negative value done returned, or FG_ENOMEM / FG_ERROR (curl itself). */
int fg_http_batch(struct fg_http_client *c, const struct fg_http_request *reqs,
		  size_t n, fg_http_done_fn done, void *ctx, struct fg_error *err);

/* --- retry policy, exposed for unit tests --- */

/* 1 if an answer with this HTTP status is worth another attempt. */
int fg_http_status_retryable(long status);

/* Wait before retry number `attempt` (0 for the first retry): base * 2^n
 * capped at max, then jittered into [d/2, d] by `random`. */
long fg_http_backoff_ms(const struct fg_http_opts *opts, int attempt,
			unsigned long random);

/* Seconds a Retry-After value asks for (delta-seconds or an HTTP date,
 * relative to now; a date in the past gives 0), or -1 if unparsable. */
long fg_http_parse_retry_after(const char *value, time_t now);

/* The wait before the next attempt: the backoff, or Retry-After when it
 * asks for longer, capped at opts->backoff_max_ms. */
long fg_http_retry_delay_ms(const struct fg_http_opts *opts, int attempt,
			    long retry_after_s, unsigned long random);

/* Mender's `error` message from a JSON error body into out (at most
 * outlen bytes, control characters dropped); "" if there is none. */
void fg_http_error_message(const char *body, size_t len, char *out,
			   size_t outlen);

#endif
