/* Integration: results are printed in completion order, not list order:
 * a slow first entry does not hold back the fast ones behind it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_FAST 10

static void test_slow_first_finishes_last(void **state)
{
	struct fm_fixture *f = *state;
	struct fm_buf list = { 0 };
	struct run_result r;
	char *lp = fm_path("%s/list.txt", f->tmp);
	char *slow = fm_url(&f->srv, "/data/slow.bin?size=500&delay=1.5");
	const char *argv[] = { fm_bin(), "-j", "4", "--json", "-o", "dl",
			       "list.txt", NULL };
	cJSON *res, *last, *e;
	int bad, rc;

	fm_buf_printf(&list, "%s\n", slow);
	for (int k = 0; k < N_FAST; k++)
		fm_buf_printf(&list, "%s/data/q%d.bin?size=%d\n", f->srv.base,
			      k, 2000 + k);
	assert_int_equal(fm_write_file(lp, list.data, list.len), 0);

	rc = fm_run(argv, NULL, f->tmp, &r);
	FM_ASSERT_RAN(rc, r);
	FM_ASSERT_EXIT(r, 0);
	res = fm_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), N_FAST + 1);
	cJSON_ArrayForEach(e, res) {
		FM_ASSERT_JSTR(e, "status", "ok");
	}
	last = cJSON_GetArrayItem(res, N_FAST);
	if (strcmp(fm_json_str(last, "url") ? fm_json_str(last, "url") : "",
		   slow) != 0) {
		fm_dump(&r);
		fail_msg("last result line is %s, want the slow %s",
			 fm_json_str(last, "url"), slow);
	}
	FM_ASSERT_JNUM(last, "line", 1);
	{
		char *file = fm_path("%s/dl/slow.bin", f->tmp);

		assert_true(fm_file_matches_body(file, "/data/slow.bin", 500));
		free(file);
	}
	for (int k = 0; k < N_FAST; k++) {
		char *file = fm_path("%s/dl/q%d.bin", f->tmp, k);
		char *up = fm_path("/data/q%d.bin", k);

		assert_true(fm_file_matches_body(file, up,
						 (size_t)(2000 + k)));
		free(file);
		free(up);
	}

	cJSON_Delete(res);
	fm_run_result_free(&r);
	free(list.data);
	free(lp);
	free(slow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slow_first_finishes_last,
						fm_fixture_setup,
						fm_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
