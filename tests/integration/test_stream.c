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
	struct fm_fixture *f = *state;
	struct fm_proc p;
	struct run_result r;
	char *u1 = fm_url(&f->srv, "/data/s1.bin?size=3000");
	char *u2 = fm_url(&f->srv, "/data/s2.bin?size=4000");
	char *l1 = fm_path("%s\n", u1);
	char *l2 = fm_path("%s\n", u2);
	const char *argv[] = { fm_bin(), "--json", "-", NULL };
	cJSON *res, *e;
	int bad, rc;

	assert_int_equal(fm_proc_start(&p, argv, f->tmp, NULL), 0);
	if (fm_proc_write(&p, l1, 5.0) != 0) {
		fm_proc_finish(&p, 5.0, &r);
		fm_dump(&r);
		fail_msg("could not write the first line to fetchmany's stdin");
	}
	/* stdin stays open: the result of line 1 must come anyway. */
	if (fm_proc_wait_lines(&p, 1, 5.0) != 0) {
		fm_proc_finish(&p, 5.0, &r);
		fm_dump(&r);
		fail_msg("no result line within 5 s of writing the first URL "
			 "while stdin was still open");
	}
	res = fm_jsonl_parse(p.out.data, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), 1);
	e = cJSON_GetArrayItem(res, 0);
	FM_ASSERT_JSTR(e, "url", u1);
	FM_ASSERT_JSTR(e, "status", "ok");
	FM_ASSERT_JNUM(e, "line", 1);
	FM_ASSERT_JSTR(e, "source", "-");
	FM_ASSERT_JSTR(e, "path", "s1.bin");
	cJSON_Delete(res);
	/* Nothing else has been asked for yet. */
	assert_int_equal(fm_server_stat(&f->srv, "requests"), 1);

	rc = fm_proc_write(&p, l2, 5.0);
	assert_int_equal(rc, 0);
	rc = fm_proc_finish(&p, FM_RUN_TIMEOUT, &r);
	FM_ASSERT_RAN(rc, r);
	FM_ASSERT_EXIT(r, 0);
	res = fm_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), 2);
	e = cJSON_GetArrayItem(res, 1);
	FM_ASSERT_JSTR(e, "url", u2);
	FM_ASSERT_JSTR(e, "status", "ok");
	FM_ASSERT_JNUM(e, "line", 2);
	FM_ASSERT_JSTR(e, "source", "-");
	FM_ASSERT_JSTR(e, "path", "s2.bin");

	{
		char *f1 = fm_path("%s/s1.bin", f->tmp);
		char *f2 = fm_path("%s/s2.bin", f->tmp);

		assert_true(fm_file_matches_body(f1, "/data/s1.bin", 3000));
		assert_true(fm_file_matches_body(f2, "/data/s2.bin", 4000));
		free(f1);
		free(f2);
	}

	cJSON_Delete(res);
	fm_run_result_free(&r);
	free(u1);
	free(u2);
	free(l1);
	free(l2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stdin_streaming,
						fm_fixture_setup,
						fm_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
