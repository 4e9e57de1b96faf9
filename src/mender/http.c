#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct fg_http_client {
	struct fg_http_opts opts;
	char *base_url;
	char *ca_file;
	char *auth_hint;
	char *token;
	CURLM *multi;
	struct curl_slist *json_headers;
	struct curl_slist *plain_headers;
	unsigned long rng;
};

enum xfer_state { XFER_FREE, XFER_WAITING, XFER_RUNNING };

/* One slot of a batch: a request moving through its attempts. */
struct xfer {
	enum xfer_state state;
	size_t index;
	const struct fg_http_request *req;
	CURL *easy;
	char *url;
	struct fg_http_response resp;
	long retry_after;  /* seconds from the last answer, -1 if none */
	size_t max_body;
	int too_large;
	long long ready_ms;
	char errbuf[CURL_ERROR_SIZE];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long next_random(struct fg_http_client *c)
{
	/* xorshift: jitter only needs to spread clients apart, not secrecy */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void fg_http_response_release(struct fg_http_response *r)
{
	if (!r)
		return;
	fg_buf_release(&r->body);
	free(r->location);
	r->location = NULL;
	r->status = 0;
	r->total_count = -1;
}

/* --- retry policy --- */

int fg_http_status_retryable(long status)
{
	/* 500 included: Mender's services answer it on transient backend
	 * (database) failures, and every call we retry is idempotent or
	 * answered with 409 when repeated. */
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

static int curl_code_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}

long fg_http_backoff_ms(const struct fg_http_opts *opts, int attempt,
			unsigned long random)
{
	long d = opts->backoff_base_ms > 0 ? opts->backoff_base_ms : 1;
	long half;
	int i;

	for (i = 0; i < attempt && d < opts->backoff_max_ms; i++)
		d = d > opts->backoff_max_ms / 2 ? opts->backoff_max_ms : d * 2;
	if (d > opts->backoff_max_ms)
		d = opts->backoff_max_ms;
	half = d / 2;
	return half + (long)(random % (unsigned long)(d - half + 1));
}

long fg_http_parse_retry_after(const char *value, time_t now)
{
	char *end;
	long secs;
	time_t when;

	while (*value == ' ' || *value == '\t')
		value++;
	if (*value >= '0' && *value <= '9') {
		errno = 0;
		secs = strtol(value, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (errno || *end)
			return -1;
		return secs;
	}
	when = curl_getdate(value, NULL);
	if (when == (time_t)-1)
		return -1;
	return when > now ? (long)(when - now) : 0;
}

long fg_http_retry_delay_ms(const struct fg_http_opts *opts, int attempt,
			    long retry_after_s, unsigned long random)
{
	long d = fg_http_backoff_ms(opts, attempt, random);

	if (retry_after_s >= 0) {
		if (retry_after_s > opts->backoff_max_ms / 1000)
			return opts->backoff_max_ms;
		if (retry_after_s * 1000 > d)
			d = retry_after_s * 1000;
	}
	return d > opts->backoff_max_ms ? opts->backoff_max_ms : d;
}

void fg_http_error_message(const char *body, size_t len, char *out,
			   size_t outlen)
{
	json_t *root = json_loadb(body ? body : "", len, 0, NULL);
	json_t *msg = json_is_object(root) ? json_object_get(root, "error") : NULL;
	const char *s = json_is_string(msg) ? json_string_value(msg) : "";
	size_t o = 0;

	if (!outlen)
		goto out;
	for (; *s && o + 1 < outlen; s++)
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			out[o++] = *s;
	out[o] = '\0';
out:
	json_decref(root);
}

/* --- client --- */

int fg_http_global_init(struct fg_error *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fg_error_set(err, FG_ERROR, "unable to initialise libcurl");
	return 0;
}

void fg_http_global_cleanup(void)
{
	curl_global_cleanup();
}

static int token_char_ok(char ch)
{
	/* JWTs and Mender PATs are base64url with dots; anything outside
	 * this set (CR/LF above all) would corrupt the request header */
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || strchr("-_.=+/~", ch);
}

int fg_http_set_token(struct fg_http_client *c, const char *token,
		      struct fg_error *err)
{
	const char *p;
	char *copy;

	if (token) {
		if (!*token)
			return fg_error_set(err, FG_EINVALID, "the Mender token is empty");
		for (p = token; *p; p++)
			if (!token_char_ok(*p))
				return fg_error_set(err, FG_EINVALID,
					"the Mender token holds a character a token never has");
	}
	copy = fg_strdup(token);
	if (token && !copy)
		return fg_error_oom(err);
	wipe_free(c->token);
	c->token = copy;
	return 0;
}

static int valid_base_url(const char *url)
{
	return url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7));
}

int fg_http_client_new(struct fg_http_client **out,
		       const struct fg_http_opts *opts, struct fg_error *err)
{
	struct fg_http_client *c;
	size_t len;

	*out = NULL;
	if (!valid_base_url(opts->base_url))
		return fg_error_set(err, FG_EINVALID,
			"Mender URL '%s' is not http:// or https://",
			opts->base_url ? opts->base_url : "");
	c = calloc(1, sizeof(*c));
	if (!c)
		return fg_error_oom(err);
	c->opts = *opts;
	if (c->opts.max_parallel < 1)
		c->opts.max_parallel = 1;
	c->base_url = fg_strdup(opts->base_url);
	c->ca_file = fg_strdup(opts->ca_file);
	c->auth_hint = fg_strdup(opts->auth_hint);
	c->rng = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ 0x9e3779b9UL;
	c->multi = curl_multi_init();
	c->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->json_headers)
		c->json_headers = curl_slist_append(c->json_headers, "Expect:");
	/* a bodiless POST must not claim a form body (curl's default) */
	c->plain_headers = curl_slist_append(NULL, "Expect:");
	if (c->plain_headers)
		c->plain_headers = curl_slist_append(c->plain_headers, "Content-Type:");
	if (!c->base_url || (opts->ca_file && !c->ca_file) ||
	    (opts->auth_hint && !c->auth_hint) || !c->multi ||
	    !c->json_headers || !c->plain_headers) {
		fg_http_client_free(c);
		return fg_error_oom(err);
	}
	len = strlen(c->base_url);
	while (len && c->base_url[len - 1] == '/')
		c->base_url[--len] = '\0';
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)c->opts.max_parallel);
	*out = c;
	return 0;
}

void fg_http_client_free(struct fg_http_client *c)
{
	if (!c)
		return;
	wipe_free(c->token);
	free(c->base_url);
	free(c->ca_file);
	free(c->auth_hint);
	curl_slist_free_all(c->json_headers);
	curl_slist_free_all(c->plain_headers);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c);
}

/* --- one transfer --- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;

	if (x->resp.body.len + n > x->max_body) {
		x->too_large = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return fg_buf_put(&x->resp.body, data, n) < 0 ? 0 : n;
}

static char *header_value(char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);
	char *v, *end;

	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return fg_asprintf("%.*s", (int)(end - v), v);
}

static long long parse_count(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	return (errno || end == s || *end || v < 0) ? -1 : v;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	char *v;

	if ((v = header_value(line, n, "Location"))) {
		free(x->resp.location);
		x->resp.location = v;
	} else if ((v = header_value(line, n, "X-Total-Count"))) {
		x->resp.total_count = parse_count(v);
		free(v);
	} else if ((v = header_value(line, n, "Retry-After"))) {
		x->retry_after = fg_http_parse_retry_after(v, time(NULL));
		free(v);
	}
	return n;
}

static void set_method(CURL *e, const struct fg_http_request *req)
{
	if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (req->body || strcmp(req->method, "DELETE")) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
}

static void set_auth(struct fg_http_client *c, CURL *e,
		     const struct fg_http_request *req)
{
	if (req->basic_user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_pass);
	} else if (c->token) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, c->token);
	}
}

static void set_protocols(CURL *e)
{
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the bitmask options are deprecated */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static void setup_easy(struct fg_http_client *c, struct xfer *x)
{
	CURL *e = x->easy;
	const struct fg_http_opts *o = &c->opts;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	set_protocols(e);
	/* no redirects: the Authorization header must never reach another
	 * host, and Mender's API does not redirect */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER,
			 x->req->body ? c->json_headers : c->plain_headers);
	set_method(e, x->req);
	set_auth(c, e, x->req);
}

static void reset_attempt(struct xfer *x)
{
	fg_buf_release(&x->resp.body);
	free(x->resp.location);
	x->resp.location = NULL;
	x->resp.status = 0;
	x->resp.total_count = -1;
	x->retry_after = -1;
	x->too_large = 0;
	x->errbuf[0] = '\0';
}

static int start_attempt(struct fg_http_client *c, struct xfer *x,
			 struct fg_error *err)
{
	reset_attempt(x);
	setup_easy(c, x);
	x->resp.attempts++;
	if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
		return fg_error_set(err, FG_ERROR, "%s %s: curl refused the transfer",
				    x->req->method, x->req->path);
	x->state = XFER_RUNNING;
	return 0;
}

/* Replaces every occurrence of the token in msg, in case a server or a
 * library echoed it back. */
static void redact(char *msg, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;
	char *p;

	if (!sl)
		return;
	while ((p = strstr(msg, secret))) {
		memset(p, '*', 3);
		memmove(p + 3, p + sl, strlen(p + sl) + 1);
	}
}

/* The final result of an attempt that will not be retried. */
static int finish_result(struct fg_http_client *c, struct xfer *x,
			 CURLcode cc, struct fg_error *err)
{
	const char *m = x->req->method, *p = x->req->path;
	char menderr[512];
	int rc;

	if (cc == CURLE_OK && x->resp.status >= 200 && x->resp.status < 300)
		return 0;
	if (x->too_large || cc == CURLE_FILESIZE_EXCEEDED)
		rc = fg_error_set(err, FG_ELIMIT,
			"%s %s: response larger than %zu bytes, aborted",
			m, p, c->opts.max_body);
	else if (cc != CURLE_OK)
		rc = fg_error_set(err, FG_ENET, "%s %s: %s%s", m, p,
			x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc),
			x->resp.attempts > 1 ? " (after retries)" : "");
	else if (x->resp.status == 401 || x->resp.status == 403)
		/* FG_EPERM, not FG_ENET: no retry heals credentials Mender
		 * refuses; an admin must replace them */
		rc = fg_error_set(err, FG_EPERM, "%s %s: HTTP %ld: Mender refused the "
			"credentials%s%s", m, p, x->resp.status,
			c->auth_hint ? "; " : "", c->auth_hint ? c->auth_hint : "");
	else {
		fg_http_error_message(x->resp.body.ptr, x->resp.body.len,
				      menderr, sizeof(menderr));
		rc = fg_error_set(err, FG_ENET, "%s %s: HTTP %ld%s%s%s", m, p,
			x->resp.status, menderr[0] ? ": " : "", menderr,
			x->resp.attempts > 1 ? " (after retries)" : "");
	}
	redact(err->message, c->token);
	redact(err->message, x->req->basic_pass);
	return rc;
}

static int should_retry(struct fg_http_client *c, struct xfer *x, CURLcode cc)
{
	if (x->resp.attempts > c->opts.max_retries)
		return 0;
	if (cc != CURLE_OK)
		return !x->too_large && curl_code_retryable(cc);
	return fg_http_status_retryable(x->resp.status);
}

/* --- batch --- */

struct batch {
	struct fg_http_client *c;
	const struct fg_http_request *reqs;
	size_t n, next;
	struct xfer *slots;
	size_t nslots;
	fg_http_done_fn done;
	void *ctx;
};

static int slot_open(struct batch *b, struct xfer *x, struct fg_error *err)
{
	const struct fg_http_request *req = &b->reqs[b->next];

	memset(&x->resp, 0, sizeof(x->resp));
	x->resp.total_count = -1;
	x->req = req;
	x->index = b->next++;
	x->max_body = b->c->opts.max_body;
	x->url = fg_asprintf("%s%s", b->c->base_url, req->path);
	if (!x->url)
		return fg_error_oom(err);
	if (!x->easy && !(x->easy = curl_easy_init()))
		return fg_error_set(err, FG_ERROR, "curl_easy_init failed");
	x->state = XFER_WAITING;
	x->ready_ms = 0;
	return 0;
}

static void slot_close(struct batch *b, struct xfer *x)
{
	if (x->state == XFER_RUNNING)
		curl_multi_remove_handle(b->c->multi, x->easy);
	fg_http_response_release(&x->resp);
	free(x->url);
	x->url = NULL;
	x->state = XFER_FREE;
}

static int fill_and_start(struct batch *b, long long now, struct fg_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < b->nslots; i++) {
		struct xfer *x = &b->slots[i];

		if (x->state == XFER_FREE && b->next < b->n &&
		    (rc = slot_open(b, x, err)) < 0)
			return rc;
		if (x->state == XFER_WAITING && x->ready_ms <= now &&
		    (rc = start_attempt(b->c, x, err)) < 0)
			return rc;
	}
	return 0;
}

static int on_complete(struct batch *b, struct xfer *x, CURLcode cc,
		       struct fg_error *err)
{
	struct fg_error call_err = FG_ERROR_INIT;
	int rc;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->resp.status);
	curl_multi_remove_handle(b->c->multi, x->easy);
	x->state = XFER_WAITING;
	if (should_retry(b->c, x, cc)) {
		x->ready_ms = now_ms() + fg_http_retry_delay_ms(&b->c->opts,
			x->resp.attempts - 1, x->retry_after, next_random(b->c));
		return 0;
	}
	rc = finish_result(b->c, x, cc, &call_err);
	rc = b->done(b->ctx, x->index, rc, &x->resp, &call_err, err);
	slot_close(b, x);
	return rc < 0 ? rc : 0;
}

static int drain_messages(struct batch *b, struct fg_error *err)
{
	CURLMsg *msg;
	int left, rc;
	struct xfer *x;

	while ((msg = curl_multi_info_read(b->c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if ((rc = on_complete(b, x, msg->data.result, err)) < 0)
			return rc;
	}
	return 0;
}

/* How long to wait for network activity before a retry becomes due. */
static long wait_budget(struct batch *b, long long now, int *running)
{
	long long wait = 1000;
	size_t i;

	*running = 0;
	for (i = 0; i < b->nslots; i++) {
		if (b->slots[i].state == XFER_RUNNING)
			*running = 1;
		else if (b->slots[i].state == XFER_WAITING &&
			 b->slots[i].ready_ms - now < wait)
			wait = b->slots[i].ready_ms - now;
	}
	return wait < 0 ? 0 : (long)wait;
}

static int step(struct batch *b, struct fg_error *err)
{
	int running, still, rc;
	long wait;
	struct timespec ts;

	wait = wait_budget(b, now_ms(), &running);
	if (!running) {
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		return 0;
	}
	if (curl_multi_perform(b->c->multi, &still) != CURLM_OK)
		return fg_error_set(err, FG_ERROR, "curl multi interface failed");
	/* A transfer perform finished has no socket left to poll: waiting
	 * now would sleep the whole budget (a second per quick call). */
	if ((rc = drain_messages(b, err)) < 0 || still == 0)
		return rc;
	if (curl_multi_poll(b->c->multi, NULL, 0, (int)wait, NULL) != CURLM_OK ||
	    curl_multi_perform(b->c->multi, &still) != CURLM_OK)
		return fg_error_set(err, FG_ERROR, "curl multi interface failed");
	return drain_messages(b, err);
}

static int batch_busy(const struct batch *b)
{
	size_t i;

	if (b->next < b->n)
		return 1;
	for (i = 0; i < b->nslots; i++)
		if (b->slots[i].state != XFER_FREE)
			return 1;
	return 0;
}

int fg_http_batch(struct fg_http_client *c, const struct fg_http_request *reqs,
		  size_t n, fg_http_done_fn done, void *ctx, struct fg_error *err)
{
	struct batch b = { c, reqs, n, 0, NULL, 0, done, ctx };
	size_t i;
	int rc = 0;

	b.nslots = n < (size_t)c->opts.max_parallel ? n : (size_t)c->opts.max_parallel;
	if (!n)
		return 0;
	b.slots = calloc(b.nslots, sizeof(*b.slots));
	if (!b.slots)
		return fg_error_oom(err);
	while (batch_busy(&b)) {
		if ((rc = fill_and_start(&b, now_ms(), err)) < 0 ||
		    (rc = step(&b, err)) < 0)
			break;
	}
	for (i = 0; i < b.nslots; i++) {
		slot_close(&b, &b.slots[i]);
		if (b.slots[i].easy)
			curl_easy_cleanup(b.slots[i].easy);
	}
	free(b.slots);
	return rc;
}

/* --- single call --- */

struct single {
	struct fg_http_response *resp;
	int rc;
	struct fg_error err;
};

static int single_done(void *ctx, size_t index, int rc,
		       struct fg_http_response *resp, const struct fg_error *err,
		       struct fg_error *batch_err)
{
	struct single *s = ctx;

	fg_http_response_release(s->resp);
	*s->resp = *resp;
	memset(resp, 0, sizeof(*resp));
	s->rc = rc;
	s->err = *err;
	return 0;
}

int fg_http_do(struct fg_http_client *c, const struct fg_http_request *req,
	       struct fg_http_response *resp, struct fg_error *err)
{
	struct single s = { resp, 0, FG_ERROR_INIT };
	int rc = fg_http_batch(c, req, 1, single_done, &s, err);

	if (rc < 0)
		return rc;
	if (s.rc < 0 && err)
		*err = s.err;
	return s.rc;
}
