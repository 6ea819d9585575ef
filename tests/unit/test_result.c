/* test_result.c: the text line, the JSON record and the summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
		.digest = { [FM_MD5] = "cd", [FM_SHA256] = "ab",
			    [FM_SHA512] = "ef" },
	};
	char *s = fm_result_json(&r);

	assert_non_null(s);
	assert_string_equal(
		s, "{\"url\":\"http://h/x?q=\\\"1\\\"\",\"out\":\"o/x.bin\","
		   "\"path\":null,\"status\":\"failed\",\"http_status\":null,"
		   "\"bytes\":0,\"seconds\":0,\"attempts\":4,"
		   "\"error\":\"Could not connect\\tto server\","
		   "\"sha256\":\"ab\",\"sha512\":\"ef\",\"md5\":\"cd\","
		   "\"line\":null,\"source\":null}\n");
	free(s);
}

static char *const three[] = {"http://b/x", "https://c:8443/x"};

/* With mirrors: "from" right after "url", "mirrors" right after "out". */
static void json_mirrors_keys_in_order(void **state)
{
	struct fm_result r = {
		.url = "http://a/x",
		.from = "https://c:8443/x",
		.mirrors = three,
		.nmirrors = 2,
		.out = "o/x",
		.path = "dl/o/x",
		.status = FM_STATUS_OK,
		.http_status = 200,
		.bytes = 5,
		.seconds = 0.5,
		.attempts = 3,
		.line = 2,
		.source = "l.txt",
	};
	char *s = fm_result_json(&r);

	(void)state;
	assert_non_null(s);
	assert_string_equal(
		s, "{\"url\":\"http://a/x\",\"from\":\"https://c:8443/x\","
		   "\"out\":\"o/x\",\"mirrors\":[\"http://b/x\","
		   "\"https://c:8443/x\"],\"path\":\"dl/o/x\",\"status\":\"ok\","
		   "\"http_status\":200,\"bytes\":5,\"seconds\":0.5,"
		   "\"attempts\":3,\"error\":null,\"line\":2,"
		   "\"source\":\"l.txt\"}\n");
	free(s);
}

/* A failure with mirrors: "from" is null; without "out", "mirrors" comes
 * right after "from". */
static void json_mirrors_failed(void **state)
{
	struct fm_result r = {
		.url = "http://a/x",
		.mirrors = three,
		.nmirrors = 1,
		.status = FM_STATUS_FAILED,
		.http_status = 404,
		.attempts = 2,
		.error = "all 2 URLs failed",
	};
	char *s = fm_result_json(&r);

	(void)state;
	assert_non_null(s);
	assert_non_null(strstr(s, "{\"url\":\"http://a/x\",\"from\":null,"
				  "\"mirrors\":[\"http://b/x\"],\"path\":null,"
				  "\"status\":\"failed\""));
	free(s);
}

/* The text line names the entry's URL, whichever URL delivered. */
static void text_with_mirrors(void **state)
{
	struct fm_result r = {.url = "http://a/x",
			      .from = "http://b/x",
			      .mirrors = three,
			      .nmirrors = 2,
			      .path = "x",
			      .status = FM_STATUS_OK,
			      .http_status = 200,
			      .bytes = 1};
	char *s = fm_result_text(&r);

	(void)state;
	assert_string_equal(s, "ok\t200\t1\t0.000\thttp://a/x\tx\n");
	free(s);
}

/* fm_result_urls_failed(): every URL tried with its reason, in order. */
static void urls_failed_all(void **state)
{
	const char *urls[] = {"http://a/x", "http://b/x", "http://c/x"};
	const char *whys[] = {"HTTP 404", "Couldn't connect to server",
			      "HTTP 403"};
	char b[256];

	(void)state;
	assert_ptr_equal(fm_result_urls_failed(b, sizeof(b), urls, whys, 3),
			 b);
	assert_string_equal(b, "all 3 URLs failed: http://a/x: HTTP 404; "
			       "http://b/x: Couldn't connect to server; "
			       "http://c/x: HTTP 403");
}

/* Retries spent before every URL was tried: only those tried. */
static void urls_failed_some_untried(void **state)
{
	const char *urls[] = {"http://a/x", "http://b/x", "http://c/x"};
	const char *whys[] = {"HTTP 503", NULL, NULL};
	char b[256];

	(void)state;
	fm_result_urls_failed(b, sizeof(b), urls, whys, 3);
	assert_string_equal(b, "1 of 3 URLs failed, no retries left: "
			       "http://a/x: HTTP 503");
	whys[2] = "HTTP 503";
	fm_result_urls_failed(b, sizeof(b), urls, whys, 3);
	assert_string_equal(b, "2 of 3 URLs failed, no retries left: "
			       "http://a/x: HTTP 503; http://c/x: HTTP 503");
}

/* Too long for the buffer: the short parts stay whole, the longest are
 * cut alike, each ending in "...", and every URL is named. */
static void urls_failed_cut_fairly(void **state)
{
	char long_a[200], long_c[300];
	const char *urls[] = {"http://a/x", "http://b/x", "http://c/x"};
	const char *whys[] = {long_a, "HTTP 404", long_c};
	char b[256];
	const char *pa, *pb, *pc;

	(void)state;
	memset(long_a, 'a', sizeof(long_a) - 1);
	long_a[sizeof(long_a) - 1] = '\0';
	memset(long_c, 'c', sizeof(long_c) - 1);
	long_c[sizeof(long_c) - 1] = '\0';
	fm_result_urls_failed(b, sizeof(b), urls, whys, 3);
	assert_true(strlen(b) < sizeof(b));
	assert_true(strlen(b) > sizeof(b) - 8); /* the room is used */
	assert_true(strncmp(b, "all 3 URLs failed: http://a/x: aaa", 34) == 0);
	pa = strstr(b, "http://a/x: ");
	pb = strstr(b, "; http://b/x: HTTP 404; http://c/x: ccc");
	pc = strstr(b, "; http://c/x: ");
	assert_non_null(pa);
	assert_non_null(pb);
	assert_non_null(pc);
	/* both long parts cut to the same length, each ending in "..." */
	assert_memory_equal(pb - 3, "...", 3);
	assert_string_equal(b + strlen(b) - 3, "...");
	assert_int_equal(pb - pa, (long)strlen(pc + 2));
}

/* A cut never splits a UTF-8 sequence. */
static void urls_failed_cut_utf8(void **state)
{
	char why[400];
	const char *urls[] = {"http://a/x"};
	const char *whys[] = {why};
	char b[64];
	size_t n;

	(void)state;
	why[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(why, "\xc3\xa9");
	fm_result_urls_failed(b, sizeof(b), urls, whys, 1);
	n = strlen(b);
	assert_true(n < sizeof(b));
	assert_string_equal(b + n - 3, "...");
	/* before "...": a whole two-byte sequence */
	assert_int_equal((unsigned char)b[n - 5], 0xc3);
	assert_int_equal((unsigned char)b[n - 4], 0xa9);
}

/* Many URLs: as many as fit with a readable share, then how many more. */
static void urls_failed_many(void **state)
{
	const char *urls[100], *whys[100];
	char names[100][32], b[256];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "http://m%02d.example/x", i);
		urls[i] = names[i];
		whys[i] = "Couldn't connect to server";
	}
	fm_result_urls_failed(b, sizeof(b), urls, whys, 100);
	assert_true(strlen(b) < sizeof(b));
	assert_true(strncmp(b, "all 100 URLs failed: http://m00.example/x",
			    41) == 0);
	assert_non_null(strstr(b, " more"));
	/* a buffer too small for anything but the start: still a string */
	fm_result_urls_failed(b, 12, urls, whys, 100);
	assert_string_equal(b, "all 100 URL");
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

/* --check with no size announced: bytes null in JSON, "-" in text. */
static void bytes_unknown(void **state)
{
	struct fm_result r = {.url = "http://h/c",
			      .status = FM_STATUS_OK,
			      .http_status = 200,
			      .bytes_unknown = true};
	char *s = fm_result_text(&r);

	assert_string_equal(s, "ok\t200\t-\t0.000\thttp://h/c\t-\n");
	free(s);
	s = fm_result_json(&r);
	assert_non_null(strstr(s, "\"bytes\":null,"));
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
		cmocka_unit_test(json_mirrors_keys_in_order),
		cmocka_unit_test(json_mirrors_failed),
		cmocka_unit_test(text_with_mirrors),
		cmocka_unit_test(urls_failed_all),
		cmocka_unit_test(urls_failed_some_untried),
		cmocka_unit_test(urls_failed_cut_fairly),
		cmocka_unit_test(urls_failed_cut_utf8),
		cmocka_unit_test(urls_failed_many),
		cmocka_unit_test(json_is_valid_utf8_whatever_the_input),
		cmocka_unit_test(text_ok_and_failed),
		cmocka_unit_test(human_bytes_units),
		cmocka_unit_test(bytes_unknown),
		cmocka_unit_test(summary_counts_by_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
