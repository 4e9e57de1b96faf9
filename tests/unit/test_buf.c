#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "error.h"

static void test_buf_grows_and_formats(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	int i;
	char *s;

	assert_string_equal(fg_buf_cstr(&b), "");
	for (i = 0; i < 1000; i++)
		assert_int_equal(fg_buf_printf(&b, "%d,", i % 10), 0);
	assert_int_equal(b.len, 2000);
	assert_memory_equal(b.ptr, "0,1,2,", 6);
	fg_buf_truncate(&b, 3);
	assert_string_equal(fg_buf_cstr(&b), "0,1");
	s = fg_buf_detach(&b);
	assert_string_equal(s, "0,1");
	assert_null(b.ptr);
	free(s);
}

static void test_error_set_and_prefix(void **state)
{
	struct fg_error err = FG_ERROR_INIT;

	assert_int_equal(fg_error_set(&err, FG_EINVALID, "bad '%s'", "x"), FG_EINVALID);
	fg_error_prefix(&err, "policy.yaml");
	assert_string_equal(err.message, "policy.yaml: bad 'x'");
	assert_int_equal(err.code, FG_EINVALID);
	assert_int_equal(fg_error_set(NULL, FG_EIO, "ignored"), FG_EIO);
}

static void test_error_truncates_long_message(void **state)
{
	struct fg_error err = FG_ERROR_INIT;
	char big[4000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fg_error_set(&err, FG_ERROR, "%s", big);
	assert_int_equal(strlen(err.message), FG_ERROR_MESSAGE_MAX - 1);
}

static void test_diags_collect_and_format(void **state)
{
	struct fg_diags a = FG_DIAGS_INIT, b = FG_DIAGS_INIT;
	char *line;

	assert_int_equal(fg_diags_add(&a, "fleet.yaml", 3, 5, "/x", "type",
				      "quote it", "must be a %s", "string"), 0);
	assert_int_equal(fg_diags_add(&b, NULL, 0, 0, NULL, NULL, NULL, "plain"), 0);
	assert_int_equal(fg_diags_take(&a, &b), 0);
	assert_int_equal(a.count, 2);
	assert_int_equal(b.count, 0);
	line = fg_diag_format(&a.items[0]);
	assert_string_equal(line, "fleet.yaml:3:5: must be a string (quote it)");
	free(line);
	line = fg_diag_format(&a.items[1]);
	assert_string_equal(line, "plain");
	free(line);
	fg_diags_release(&a);
	fg_diags_release(&b);
}

static char *escaped(const char *s, size_t len)
{
	struct fg_buf b = FG_BUF_INIT;

	assert_int_equal(fg_buf_put_escaped(&b, s, len), 0);
	return fg_buf_detach(&b);
}

/* Pushed content cannot start a line or drive a terminal: controls, DEL,
 * C1 controls and invalid UTF-8 are escaped; valid UTF-8 and text stay. */
static void test_escape_pushed_content(void **state)
{
	static const char forged[] = "k\nremote: fleetgate: accepted\x1b[2J";
	static const char bytes[] = "a\0b\x7f\xc2\x9b\xff\xc3(\xe2\x82";
	char *e;

	(void)state;
	e = escaped(forged, strlen(forged));
	assert_string_equal(e, "k\\nremote: fleetgate: accepted\\x1b[2J");
	assert_null(strchr(e, '\n'));
	free(e);
	e = escaped(bytes, sizeof(bytes) - 1);
	assert_string_equal(e, "a\\x00b\\x7f\\xc2\\x9b\\xff\\xc3(\\xe2\\x82");
	free(e);
	/* valid UTF-8 (2, 3 and 4 bytes), tabs, CR; overlong and surrogate
	 * forms are not valid */
	e = escaped("K\xc3\xa4se \xe2\x82\xac \xf0\x9f\x94\x91\t\r", 14 + 2);
	assert_string_equal(e, "K\xc3\xa4se \xe2\x82\xac \xf0\x9f\x94\x91\\t\\r");
	free(e);
	e = escaped("\xc0\xaf\xed\xa0\x80", 5);
	assert_string_equal(e, "\\xc0\\xaf\\xed\\xa0\\x80");
	free(e);
}

/* Escaping twice changes nothing: a finding passes several layers. */
static void test_escape_is_idempotent(void **state)
{
	static const char in[] = "a\\b\x1b]0;x\x07\xff\n";
	char *once, *twice;

	(void)state;
	once = escaped(in, sizeof(in) - 1);
	twice = fg_escape(once);
	assert_string_equal(once, "a\\b\\x1b]0;x\\x07\\xff\\n");
	assert_string_equal(once, twice);
	free(once);
	free(twice);
	assert_null(fg_escape(NULL));
}

/* Every field of a finding is stored escaped and formatted escaped. */
static void test_diags_escape_every_field(void **state)
{
	struct fg_diags d = FG_DIAGS_INIT;
	char *line;

	(void)state;
	assert_int_equal(fg_diags_add(&d, "devices/x\nremote: y.yaml", 1, 2,
				      "/configuration/k\x1b[2J", "rule\n",
				      "hint\r", "key '%s' is bad", "a\nremote: fleetgate: accepted"), 0);
	assert_string_equal(d.items[0].path, "devices/x\\nremote: y.yaml");
	assert_string_equal(d.items[0].pointer, "/configuration/k\\x1b[2J");
	assert_string_equal(d.items[0].keyword, "rule\\n");
	line = fg_diag_format(&d.items[0]);
	assert_string_equal(line, "devices/x\\nremote: y.yaml:1:2: key "
			    "'a\\nremote: fleetgate: accepted' is bad (hint\\r)");
	free(line);
	/* an item edited in place is escaped on output too */
	d.items[0].message[0] = '\x1b';
	line = fg_diag_format(&d.items[0]);
	assert_non_null(strstr(line, ": \\x1bey '"));
	free(line);
	fg_diags_release(&d);
}

/* A capped list keeps max findings and counts the rest, also when lists
 * are moved into it. */
static void test_diags_cap(void **state)
{
	struct fg_diags a = FG_DIAGS_INIT, b = FG_DIAGS_INIT;
	int i;

	(void)state;
	a.max = 3;
	for (i = 0; i < 5; i++)
		assert_int_equal(fg_diags_add(&a, NULL, 0, 0, NULL, NULL, NULL, "a%d", i), 0);
	assert_int_equal(a.count, 3);
	assert_int_equal(a.dropped, 2);
	for (i = 0; i < 4; i++)
		assert_int_equal(fg_diags_add(&b, NULL, 0, 0, NULL, NULL, NULL, "b%d", i), 0);
	b.dropped = 1;
	a.max = 5;
	assert_int_equal(fg_diags_take(&a, &b), 0);
	assert_int_equal(a.count, 5);
	assert_string_equal(a.items[4].message, "b1");
	assert_int_equal(a.dropped, 2 + 2 + 1);
	assert_int_equal(fg_diags_total(&a), 10);
	assert_int_equal(fg_diags_total(&b), 0);
	fg_diags_release(&a);
	fg_diags_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_formats),
		cmocka_unit_test(test_error_set_and_prefix),
		cmocka_unit_test(test_error_truncates_long_message),
		cmocka_unit_test(test_diags_collect_and_format),
		cmocka_unit_test(test_escape_pushed_content),
		cmocka_unit_test(test_escape_is_idempotent),
		cmocka_unit_test(test_diags_escape_every_field),
		cmocka_unit_test(test_diags_cap),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
