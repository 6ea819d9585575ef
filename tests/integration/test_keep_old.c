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
	struct it_fixture *f = *state;
	struct it_result r;
	char *dl = it_path("%s/dl", f->tmp);
	char *x = it_path("%s/dl/x.bin", f->tmp);
	char *part = it_path("%s/dl/x.bin.part", f->tmp);
	char *lp = it_path("%s/list.txt", f->tmp);
	char *u = it_url(&f->srv, "/data/x.bin?status=500");
	char *line = it_path("%s out=x.bin\n", u);
	const char *argv[] = { it_bin(), "--json", "-o", "dl", "list.txt",
			       NULL };
	cJSON *res, *e, *log, *tree;
	char *content;
	size_t len = 0;
	int rc, ok;
	double attempts;

	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(it_write_file(x, "old", 3), 0);
	assert_int_equal(it_write_file(lp, line, strlen(line)), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 1, 1);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "url", u);
	IT_ASSERT_JSTR(e, "out", "x.bin");
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 500);
	IT_ASSERT_JNUM(e, "bytes", 0);
	attempts = it_json_num(e, "attempts", &ok);
	assert_true(ok);
	assert_true(attempts >= 1);

	/* The old file is untouched and no .part is left. */
	content = it_read_file(x, &len);
	assert_non_null(content);
	assert_int_equal(len, 3);
	assert_memory_equal(content, "old", 3);
	assert_false(it_exists(part));
	tree = it_tree_list(dl);
	assert_non_null(tree);
	assert_int_equal(cJSON_GetArraySize(tree), 1);

	/* As many requests as reported attempts. */
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), (int)attempts);
	/* 500 is retried: 1 + 3 retries by default (spec 5). Checked last so
	 * that a failure here is not mistaken for a clobbering bug. */
	IT_ASSERT_JNUM(e, "attempts", 4);

	cJSON_Delete(tree);
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
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
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
