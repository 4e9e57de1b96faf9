#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static const struct fg_http_opts opts = { .base_url = "http://127.0.0.1",
	.connect_timeout_ms = 1000, .timeout_ms = 1000, .max_retries = 4,
	.backoff_base_ms = 500, .backoff_max_ms = 8000, .max_body = 1024,
	.max_parallel = 4 };

static void test_retryable_statuses(void **state)
{
	static const long yes[] = { 429, 500, 502, 503, 504 };
	static const long no[] = { 200, 201, 204, 400, 401, 403, 404, 409, 422, 501 };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(fg_http_status_retryable(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(fg_http_status_retryable(no[i]));
}

static void test_backoff_doubles_and_caps(void **state)
{
	/* random 0 gives the low end d/2, a huge random modulo lands in [d/2, d] */
	static const long low[] = { 250, 500, 1000, 2000, 4000, 4000, 4000 };
	int a;

	for (a = 0; a < 7; a++) {
		long hi = fg_http_backoff_ms(&opts, a, (unsigned long)-1);

		assert_int_equal(fg_http_backoff_ms(&opts, a, 0), low[a]);
		assert_in_range(hi, low[a], low[a] * 2);
	}
	assert_int_equal(fg_http_backoff_ms(&opts, 2, 2000 - 1000), 2000);
	/* a silly attempt count must not overflow */
	assert_in_range(fg_http_backoff_ms(&opts, 1000, 12345), 4000, 8000);
}

static void test_backoff_jitter_spreads(void **state)
{
	long seen_low = 0, seen_high = 0;
	unsigned long r;

	for (r = 0; r < 1000; r++) {
		long d = fg_http_backoff_ms(&opts, 1, r * 7919);

		assert_in_range(d, 500, 1000);
		seen_low |= d < 700;
		seen_high |= d > 800;
	}
	assert_true(seen_low && seen_high);
}

static void test_retry_after_seconds(void **state)
{
	assert_int_equal(fg_http_parse_retry_after("0", 0), 0);
	assert_int_equal(fg_http_parse_retry_after("7", 0), 7);
	assert_int_equal(fg_http_parse_retry_after(" 120\r\n", 0), 120);
	assert_int_equal(fg_http_parse_retry_after("12abc", 0), -1);
	assert_int_equal(fg_http_parse_retry_after("", 0), -1);
	assert_int_equal(fg_http_parse_retry_after("soon", 0), -1);
	assert_int_equal(fg_http_parse_retry_after("99999999999999999999999", 0), -1);
}

static void test_retry_after_http_date(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777 */
	const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";

	assert_int_equal(fg_http_parse_retry_after(date, 784111777 - 30), 30);
	assert_int_equal(fg_http_parse_retry_after(date, 784111777 + 30), 0);
}

static void test_retry_delay_honours_and_caps_retry_after(void **state)
{
	/* without Retry-After: the backoff */
	assert_int_equal(fg_http_retry_delay_ms(&opts, 0, -1, 0), 250);
	/* Retry-After longer than the backoff wins */
	assert_int_equal(fg_http_retry_delay_ms(&opts, 0, 3, 0), 3000);
	/* shorter than the backoff: the backoff stays */
	assert_int_equal(fg_http_retry_delay_ms(&opts, 4, 1, 0), 4000);
	/* an absurd Retry-After is capped */
	assert_int_equal(fg_http_retry_delay_ms(&opts, 0, 86400, 0), 8000);
	assert_int_equal(fg_http_retry_delay_ms(&opts, 0, 2147483647L, 0), 8000);
}

static void test_error_message_extraction(void **state)
{
	char out[32];
	const char *ok = "{\"error\":\"deployment exists\",\"request_id\":\"x\"}";
	const char *ctl = "{\"error\":\"a\\nb\\u0007c\"}";

	fg_http_error_message(ok, strlen(ok), out, sizeof(out));
	assert_string_equal(out, "deployment exists");
	fg_http_error_message(ctl, strlen(ctl), out, sizeof(out));
	assert_string_equal(out, "abc");
	fg_http_error_message("{\"error\":", 9, out, sizeof(out));
	assert_string_equal(out, "");
	fg_http_error_message("{\"error\":5}", 11, out, sizeof(out));
	assert_string_equal(out, "");
	fg_http_error_message("[]", 2, out, sizeof(out));
	assert_string_equal(out, "");
	fg_http_error_message(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "");
	fg_http_error_message("{\"error\":\"0123456789012345678901234567890123456789\"}",
			      52, out, 8);
	assert_string_equal(out, "0123456");
}

static void test_client_refuses_other_schemes(void **state)
{
	struct fg_http_opts o = opts;
	struct fg_http_client *c = NULL;
	struct fg_error err = FG_ERROR_INIT;

	o.base_url = "ftp://mender.example.com";
	assert_int_equal(fg_http_client_new(&c, &o, &err), FG_EINVALID);
	assert_null(c);
	o.base_url = "file:///etc/passwd";
	assert_int_equal(fg_http_client_new(&c, &o, &err), FG_EINVALID);
	o.base_url = "https://mender.example.com/";
	assert_int_equal(fg_http_client_new(&c, &o, &err), 0);
	fg_http_client_free(c);
}

static void test_token_with_crlf_refused_without_echo(void **state)
{
	struct fg_http_client *c = NULL;
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_http_client_new(&c, &opts, &err), 0);
	assert_int_equal(fg_http_set_token(c, "abc.def\r\nX-Evil: 1", &err), FG_EINVALID);
	assert_null(strstr(err.message, "abc.def"));
	assert_int_equal(fg_http_set_token(c, "", &err), FG_EINVALID);
	assert_int_equal(fg_http_set_token(c, "eyJhbGciOi.J9-_x", &err), 0);
	assert_int_equal(fg_http_set_token(c, NULL, &err), 0);
	fg_http_client_free(c);
}

static void test_connection_refused_names_call(void **state)
{
	struct fg_http_opts o = opts;
	struct fg_http_client *c = NULL;
	struct fg_error err = FG_ERROR_INIT;
	struct fg_http_request req = { "GET", "/api/x", NULL, 0, NULL, NULL };
	struct fg_http_response resp = FG_HTTP_RESPONSE_INIT;

	/* port 1 on loopback: nothing listens, the refusal is immediate */
	o.base_url = "http://127.0.0.1:1";
	o.max_retries = 2;
	o.backoff_base_ms = 1;
	o.backoff_max_ms = 2;
	assert_int_equal(fg_http_client_new(&c, &o, &err), 0);
	assert_int_equal(fg_http_set_token(c, "SECRETTOKEN", &err), 0);
	assert_int_equal(fg_http_do(c, &req, &resp, &err), FG_ENET);
	assert_int_equal(resp.status, 0);
	assert_int_equal(resp.attempts, 3);
	assert_non_null(strstr(err.message, "GET /api/x"));
	assert_null(strstr(err.message, "SECRETTOKEN"));
	fg_http_response_release(&resp);
	fg_http_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retryable_statuses),
		cmocka_unit_test(test_backoff_doubles_and_caps),
		cmocka_unit_test(test_backoff_jitter_spreads),
		cmocka_unit_test(test_retry_after_seconds),
		cmocka_unit_test(test_retry_after_http_date),
		cmocka_unit_test(test_retry_delay_honours_and_caps_retry_after),
		cmocka_unit_test(test_error_message_extraction),
		cmocka_unit_test(test_client_refuses_other_schemes),
		cmocka_unit_test(test_token_with_crlf_refused_without_echo),
		cmocka_unit_test(test_connection_refused_names_call),
	};

	int rc;

	fg_http_global_init(NULL);
	rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
	fg_http_global_cleanup();
	return rc;
}
