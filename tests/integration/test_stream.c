/* Integration: entries are processed as they are read. With standard input
 * a pipe that stays open, the first entry's result line must arrive before
 * the second entry is even written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void test_stdin_streaming(void **state)
{
	struct it_fixture *f = *state;
	struct it_proc p;
	struct it_result r;
	char *u1 = it_url(&f->srv, "/data/s1.bin?size=3000");
	char *u2 = it_url(&f->srv, "/data/s2.bin?size=4000");
	char *l1 = it_path("%s\n", u1);
	char *l2 = it_path("%s\n", u2);
	const char *argv[] = { it_bin(), "--json", "-", NULL };
	cJSON *res, *e;
	int bad, rc;

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	if (it_proc_write(&p, l1, 5.0) != 0) {
		it_proc_finish(&p, 5.0, &r);
		it_dump(&r);
		fail_msg("could not write the first line to fetchmany's stdin");
	}
	/* stdin stays open: the result of line 1 must come anyway. */
	if (it_proc_wait_lines(&p, 1, 5.0) != 0) {
		it_proc_finish(&p, 5.0, &r);
		it_dump(&r);
		fail_msg("no result line within 5 s of writing the first URL "
			 "while stdin was still open");
	}
	res = it_jsonl_parse(p.out.data, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), 1);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "url", u1);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "line", 1);
	IT_ASSERT_JSTR(e, "source", "-");
	IT_ASSERT_JSTR(e, "path", "s1.bin");
	cJSON_Delete(res);
	/* Nothing else has been asked for yet. */
	assert_int_equal(it_server_stat(&f->srv, "requests"), 1);

	rc = it_proc_write(&p, l2, 5.0);
	assert_int_equal(rc, 0);
	rc = it_proc_finish(&p, IT_RUN_TIMEOUT, &r);
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 0, 2);
	e = cJSON_GetArrayItem(res, 1);
	IT_ASSERT_JSTR(e, "url", u2);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "line", 2);
	IT_ASSERT_JSTR(e, "source", "-");
	IT_ASSERT_JSTR(e, "path", "s2.bin");

	{
		char *f1 = it_path("%s/s1.bin", f->tmp);
		char *f2 = it_path("%s/s2.bin", f->tmp);

		assert_true(it_file_matches_body(f1, "/data/s1.bin", 3000));
		assert_true(it_file_matches_body(f2, "/data/s2.bin", 4000));
		free(f1);
		free(f2);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(l1);
	free(l2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stdin_streaming,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
