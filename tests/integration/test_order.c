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
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	struct it_result r;
	char *lp = it_path("%s/list.txt", f->tmp);
	char *slow = it_url(&f->srv, "/data/slow.bin?size=500&delay=1.5");
	const char *argv[] = { it_bin(), "-j", "4", "--json", "-o", "dl",
			       "list.txt", NULL };
	cJSON *res, *last, *e;
	int rc;

	it_buf_printf(&list, "%s\n", slow);
	for (int k = 0; k < N_FAST; k++)
		it_buf_printf(&list, "%s/data/q%d.bin?size=%d\n", f->srv.base,
			      k, 2000 + k);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 0, N_FAST + 1);
	cJSON_ArrayForEach(e, res) {
		IT_ASSERT_JSTR(e, "status", "ok");
	}
	last = cJSON_GetArrayItem(res, N_FAST);
	if (strcmp(it_json_str(last, "url") ? it_json_str(last, "url") : "",
		   slow) != 0) {
		it_dump(&r);
		fail_msg("last result line is %s, want the slow %s",
			 it_json_str(last, "url"), slow);
	}
	IT_ASSERT_JNUM(last, "line", 1);
	{
		char *file = it_path("%s/dl/slow.bin", f->tmp);

		assert_true(it_file_matches_body(file, "/data/slow.bin", 500));
		free(file);
	}
	for (int k = 0; k < N_FAST; k++) {
		char *file = it_path("%s/dl/q%d.bin", f->tmp, k);
		char *up = it_path("/data/q%d.bin", k);

		assert_true(it_file_matches_body(file, up,
						 (size_t)(2000 + k)));
		free(file);
		free(up);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(lp);
	free(slow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slow_first_finishes_last,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
