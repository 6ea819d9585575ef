/* Integration: the result line formats of spec section 6: the default
 * tab-separated text line and the JSON Lines record with its exact key
 * order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *field(const cJSON *fields, int i)
{
	return cJSON_GetStringValue(cJSON_GetArrayItem(fields, i));
}

/* g) default text output: STATUS HTTP BYTES SECONDS URL PATH-or-ERROR. */
static void test_text_line(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	char *u = it_url(&f->srv, "/data/g.bin?size=1234");
	const char *argv[] = { it_bin(), "-o", "dl", u, NULL };
	cJSON *lines, *fields;
	char *end;
	double secs;
	int rc;

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);
	lines = it_split_lines(r.out);
	if (cJSON_GetArraySize(lines) != 1 || it_count_lines(r.out) != 1) {
		it_dump(&r);
		fail_msg("want exactly one newline-terminated line on stdout");
	}
	fields = it_split_tabs(field(lines, 0));
	if (cJSON_GetArraySize(fields) != 6) {
		it_dump(&r);
		fail_msg("want 6 tab-separated fields, got %d",
			 cJSON_GetArraySize(fields));
	}
	assert_string_equal(field(fields, 0), "ok");
	assert_string_equal(field(fields, 1), "200");
	assert_string_equal(field(fields, 2), "1234");
	secs = strtod(field(fields, 3), &end);
	if (end == field(fields, 3) || *end != '\0' || secs < 0 || secs > 60)
		fail_msg("seconds field is not a number of seconds: \"%s\"",
			 field(fields, 3));
	assert_string_equal(field(fields, 4), u);
	assert_string_equal(field(fields, 5), "dl/g.bin");
	/* Nothing but result lines on stdout; the summary is on stderr. */
	assert_true(r.err_len > 0);
	{
		char *p = it_path("%s/dl/g.bin", f->tmp);

		assert_true(it_file_matches_body(p, "/data/g.bin", 1234));
		free(p);
	}

	cJSON_Delete(fields);
	cJSON_Delete(lines);
	it_result_free(&r);
	free(u);
}

/* g) a failed entry's text line: 6 fields, the error in the last one. */
static void test_text_line_failed(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	char *u = it_url(&f->srv, "/data/g404.bin?status=404");
	const char *argv[] = { it_bin(), "-o", "dl", u, NULL };
	cJSON *lines, *fields;
	int rc;

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 1);
	lines = it_split_lines(r.out);
	assert_int_equal(cJSON_GetArraySize(lines), 1);
	fields = it_split_tabs(field(lines, 0));
	if (cJSON_GetArraySize(fields) != 6) {
		it_dump(&r);
		fail_msg("want 6 tab-separated fields, got %d",
			 cJSON_GetArraySize(fields));
	}
	assert_string_equal(field(fields, 0), "failed");
	assert_string_equal(field(fields, 1), "404");
	assert_string_equal(field(fields, 4), u);
	assert_true(strlen(field(fields, 5)) > 0);

	cJSON_Delete(fields);
	cJSON_Delete(lines);
	it_result_free(&r);
	free(u);
}

/* h) JSON keys in exactly the spec's order, checked on the raw text. */
static void test_json_key_order(void **state)
{
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	struct it_result r;
	char *lp = it_path("%s/list.txt", f->tmp);
	char *u1 = it_url(&f->srv, "/data/h1.bin?size=4321");
	char *u2 = it_url(&f->srv, "/data/h2.bin?size=10");
	char *u3 = it_url(&f->srv, "/data/h3.bin?size=20");
	char *u4 = it_url(&f->srv, "/data/h4.bin?size=30");
	char digest[65];
	const char *argv[] = { it_bin(), "--json", "-o", "dl", "list.txt", u3,
			       NULL };
	static const char *const k_full[] = {
		"url", "out", "path", "status", "http_status", "bytes",
		"seconds", "attempts", "error", "sha256", "line", "source",
		NULL };
	static const char *const k_plain[] = {
		"url", "path", "status", "http_status", "bytes", "seconds",
		"attempts", "error", "line", "source", NULL };
	static const char *const k_out[] = {
		"url", "out", "path", "status", "http_status", "bytes",
		"seconds", "attempts", "error", "line", "source", NULL };
	cJSON *lines, *l;
	int rc, seen = 0;

	assert_int_equal(it_server_sha256(&f->srv, "/data/h1.bin", 4321,
					  digest), 0);
	it_buf_printf(&list, "%s out=h1.bin sha256=%s\n", u1, digest);
	it_buf_printf(&list, "%s\n", u2);
	it_buf_printf(&list, "{\"url\": \"%s\", \"out\": \"h4.bin\"}\n", u4);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);
	lines = it_split_lines(r.out);
	if (cJSON_GetArraySize(lines) != 4) {
		it_dump(&r);
		fail_msg("want 4 result lines, got %d",
			 cJSON_GetArraySize(lines));
	}
	cJSON_ArrayForEach(l, lines) {
		const char *text = cJSON_GetStringValue(l);
		cJSON *e = cJSON_Parse(text);
		const char *url = it_json_str(e, "url");

		if (!e || !url)
			fail_msg("not a result record: %s", text);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "http_status", 200);
		IT_ASSERT_JNUM(e, "attempts", 1);
		IT_ASSERT_JNULL(e, "error");
		assert_true(cJSON_IsNumber(
			cJSON_GetObjectItemCaseSensitive(e, "seconds")));
		if (strcmp(url, u1) == 0) {
			assert_true(it_json_keys_in_order(text, k_full));
			IT_ASSERT_JSTR(e, "out", "h1.bin");
			IT_ASSERT_JSTR(e, "path", "dl/h1.bin");
			IT_ASSERT_JNUM(e, "bytes", 4321);
			IT_ASSERT_JSTR(e, "sha256", digest);
			IT_ASSERT_JNUM(e, "line", 1);
			IT_ASSERT_JSTR(e, "source", "list.txt");
			seen |= 1;
		} else if (strcmp(url, u2) == 0) {
			assert_true(it_json_keys_in_order(text, k_plain));
			IT_ASSERT_JSTR(e, "path", "dl/h2.bin");
			IT_ASSERT_JNUM(e, "bytes", 10);
			IT_ASSERT_JNUM(e, "line", 2);
			IT_ASSERT_JSTR(e, "source", "list.txt");
			seen |= 2;
		} else if (strcmp(url, u4) == 0) {
			assert_true(it_json_keys_in_order(text, k_out));
			IT_ASSERT_JSTR(e, "out", "h4.bin");
			IT_ASSERT_JSTR(e, "path", "dl/h4.bin");
			IT_ASSERT_JNUM(e, "bytes", 30);
			IT_ASSERT_JNUM(e, "line", 3);
			IT_ASSERT_JSTR(e, "source", "list.txt");
			seen |= 4;
		} else if (strcmp(url, u3) == 0) {
			assert_true(it_json_keys_in_order(text, k_plain));
			IT_ASSERT_JSTR(e, "path", "dl/h3.bin");
			IT_ASSERT_JNUM(e, "bytes", 20);
			IT_ASSERT_JNULL(e, "line");
			IT_ASSERT_JNULL(e, "source");
			seen |= 8;
		} else {
			fail_msg("unexpected url %s", url);
		}
		cJSON_Delete(e);
	}
	assert_int_equal(seen, 15);

	cJSON_Delete(lines);
	it_result_free(&r);
	free(list.data);
	free(lp);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text_line,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_text_line_failed,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_json_key_order,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
