/* test_result.c: the text line, the JSON record and the summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_result.h"

static void json_ok_record_exact(void **state)
{
	struct fm_result r = {
		.url = "http://h/a.gif",
		.path = "dl/a.gif",
		.status = FM_STATUS_OK,
		.http_status = 200,
		.bytes = 1234,
		.seconds = 0.25,
		.attempts = 1,
		.line = 3,
		.source = "urls.txt",
	};
	char *s = fm_result_json(&r);

	assert_non_null(s);
	assert_string_equal(
		s, "{\"url\":\"http://h/a.gif\",\"path\":\"dl/a.gif\","
		   "\"status\":\"ok\",\"http_status\":200,\"bytes\":1234,"
		   "\"seconds\":0.25,\"attempts\":1,\"error\":null,"
		   "\"line\":3,\"source\":\"urls.txt\"}\n");
	free(s);
}

static void json_optional_keys_in_order(void **state)
{
	struct fm_result r = {
		.url = "http://h/x?q=\"1\"",
		.out = "o/x.bin",
		.status = FM_STATUS_FAILED,
		.http_status = 0,
		.attempts = 4,
		.error = "Could not connect\tto server",
		.sha256 = "ab",
	};
	char *s = fm_result_json(&r);

	assert_non_null(s);
	assert_string_equal(
		s, "{\"url\":\"http://h/x?q=\\\"1\\\"\",\"out\":\"o/x.bin\","
		   "\"path\":null,\"status\":\"failed\",\"http_status\":null,"
		   "\"bytes\":0,\"seconds\":0,\"attempts\":4,"
		   "\"error\":\"Could not connect\\tto server\","
		   "\"sha256\":\"ab\",\"line\":null,\"source\":null}\n");
	free(s);
}

static void json_invalid_without_url(void **state)
{
	struct fm_result r = {.status = FM_STATUS_INVALID,
			      .error = "NUL byte in line",
			      .line = 9,
			      .source = "-"};
	char *s = fm_result_json(&r);

	assert_non_null(s);
	assert_non_null(strstr(s, "{\"url\":null,\"path\":null,"
				  "\"status\":\"invalid\""));
	assert_non_null(strstr(s, "\"line\":9,\"source\":\"-\"}"));
	free(s);
}

static void text_ok_and_failed(void **state)
{
	struct fm_result ok = {.url = "http://h/a",
			       .path = "a",
			       .status = FM_STATUS_OK,
			       .http_status = 200,
			       .bytes = 10,
			       .seconds = 1.5};
	struct fm_result bad = {.url = "http://h/b",
				.status = FM_STATUS_FAILED,
				.error = "line one\nline two"};
	char *s = fm_result_text(&ok);

	assert_string_equal(s, "ok\t200\t10\t1.500\thttp://h/a\ta\n");
	free(s);
	s = fm_result_text(&bad);
	/* no HTTP status: "-"; a newline in the error must not split the line */
	assert_string_equal(s,
			    "failed\t-\t0\t0.000\thttp://h/b\tline one line two\n");
	free(s);
}

static void human_bytes_units(void **state)
{
	char b[32];

	assert_string_equal(fm_human_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(fm_human_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(fm_human_bytes(1024, b, sizeof(b)), "1.0 KiB");
	assert_string_equal(fm_human_bytes(1536 * 1024, b, sizeof(b)),
			    "1.5 MiB");
	assert_string_equal(fm_human_bytes(5ULL << 30, b, sizeof(b)),
			    "5.0 GiB");
}

static void summary_counts_by_status(void **state)
{
	struct fm_tally t = {.bytes = 2048};
	char b[256];

	t.count[FM_STATUS_OK] = 3;
	t.count[FM_STATUS_FAILED] = 1;
	t.count[FM_STATUS_INVALID] = 2;
	fm_summary_format(&t, 2.0, 0, b, sizeof(b));
	assert_string_equal(b, "6 entries: 3 ok, 1 failed, 2 invalid; "
			       "2.0 KiB in 2.00 s (1.0 KiB/s)");
	fm_summary_format(&t, 2.0, 7, b, sizeof(b));
	assert_non_null(strstr(b, "2 invalid, 7 left;"));
}

static void json_is_valid_utf8_whatever_the_input(void **state)
{
	struct fm_result r = {
		.url = "http://h/caf\xc3\xa9/\xff\xfe.bin",
		.status = FM_STATUS_INVALID,
		.error = "unknown key '\xff'",
		.out = "\xed\xa0\x80x", /* a UTF-16 surrogate: not UTF-8 */
		.source = "l\xc3",        /* cut short */
	};
	char *s = fm_result_json(&r);

	assert_non_null(s);
	/* valid sequences kept, each bad byte one U+FFFD */
	assert_non_null(strstr(s, "\"url\":\"http://h/caf\xc3\xa9/"
				  "\xef\xbf\xbd\xef\xbf\xbd.bin\""));
	assert_non_null(strstr(s, "\"error\":\"unknown key "
				  "'\xef\xbf\xbd'\""));
	assert_non_null(strstr(s, "\"out\":\"\xef\xbf\xbd\xef\xbf\xbd"
				  "\xef\xbf\xbdx\""));
	assert_non_null(strstr(s, "\"source\":\"l\xef\xbf\xbd\""));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_ok_record_exact),
		cmocka_unit_test(json_optional_keys_in_order),
		cmocka_unit_test(json_invalid_without_url),
		cmocka_unit_test(json_is_valid_utf8_whatever_the_input),
		cmocka_unit_test(text_ok_and_failed),
		cmocka_unit_test(human_bytes_units),
		cmocka_unit_test(summary_counts_by_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
