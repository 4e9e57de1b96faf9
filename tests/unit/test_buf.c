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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_formats),
		cmocka_unit_test(test_error_set_and_prefix),
		cmocka_unit_test(test_error_truncates_long_message),
		cmocka_unit_test(test_diags_collect_and_format),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
