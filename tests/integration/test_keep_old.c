/* Integration: a failed download leaves an older file of the same name
 * untouched and removes its .part. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

static void test_failed_keeps_old_file(void **state)
{
	struct fm_fixture *f = *state;
	struct run_result r;
	char *dl = fm_path("%s/dl", f->tmp);
	char *x = fm_path("%s/dl/x.bin", f->tmp);
	char *part = fm_path("%s/dl/x.bin.part", f->tmp);
	char *lp = fm_path("%s/list.txt", f->tmp);
	char *u = fm_url(&f->srv, "/data/x.bin?status=500");
	char *line = fm_path("%s out=x.bin\n", u);
	const char *argv[] = { fm_bin(), "--json", "-o", "dl", "list.txt",
			       NULL };
	cJSON *res, *e, *log, *tree;
	char *content;
	size_t len = 0;
	int bad, rc, ok;
	double attempts;

	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(fm_write_file(x, "old", 3), 0);
	assert_int_equal(fm_write_file(lp, line, strlen(line)), 0);

	rc = fm_run(argv, NULL, f->tmp, &r);
	FM_ASSERT_RAN(rc, r);
	FM_ASSERT_EXIT(r, 1);
	res = fm_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), 1);
	e = cJSON_GetArrayItem(res, 0);
	FM_ASSERT_JSTR(e, "url", u);
	FM_ASSERT_JSTR(e, "out", "x.bin");
	FM_ASSERT_JSTR(e, "status", "failed");
	FM_ASSERT_JNUM(e, "http_status", 500);
	FM_ASSERT_JNUM(e, "bytes", 0);
	attempts = fm_json_num(e, "attempts", &ok);
	assert_true(ok);
	assert_true(attempts >= 1);

	/* The old file is untouched and no .part is left. */
	content = fm_read_file(x, &len);
	assert_non_null(content);
	assert_int_equal(len, 3);
	assert_memory_equal(content, "old", 3);
	assert_false(fm_exists(part));
	tree = fm_tree_list(dl);
	assert_non_null(tree);
	assert_int_equal(cJSON_GetArraySize(tree), 1);

	/* As many requests as reported attempts. */
	log = fm_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), (int)attempts);
	/* 500 is retried: 1 + 3 retries by default (spec 5). Checked last so
	 * that a failure here is not mistaken for a clobbering bug. */
	FM_ASSERT_JNUM(e, "attempts", 4);

	cJSON_Delete(tree);
	cJSON_Delete(log);
	cJSON_Delete(res);
	fm_run_result_free(&r);
	free(content);
	free(dl);
	free(x);
	free(part);
	free(lp);
	free(u);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_keeps_old_file,
						fm_fixture_setup,
						fm_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
