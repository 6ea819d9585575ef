/* Integration: what a written file carries beyond its bytes (spec 4).
 * --fsync: each body is flushed (fdatasync) before it gets its name, and
 * its directory (fsync) after, seen with strace; none without. --xattr:
 * user.xdg.origin.url holds the URL that delivered the file, without
 * credentials; none without. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"

#define ORIGIN "user.xdg.origin.url"

/* Runs fetchmany under strace (calls fdatasync and fsync only) on three
 * URLs, with fsync or not; counts the calls that returned 0. */
static void traced(struct it_fixture *f, bool fsync, int *datasyncs,
		   int *fsyncs)
{
	char *trace = it_path("%s/trace.txt", f->tmp);
	char *u1 = it_url(&f->srv, "/data/d1.bin?size=1000");
	char *u2 = it_url(&f->srv, "/data/sub/d2.bin?size=20000");
	char *u3 = it_url(&f->srv, "/data/d3.bin?size=5");
	const char *argv[] = { "strace", "-f", "-qq", "-o", trace, "-e",
			       "trace=fdatasync,fsync", it_bin(), "-o", "dl",
			       fsync ? "--fsync" : "-q", u1, u2, u3, NULL };
	/* LeakSanitizer cannot run under ptrace (a sanitised build) */
	const char *env[] = { "ASAN_OPTIONS=detect_leaks=0", NULL };
	struct it_result r;
	char *text, *line, *save = NULL;
	size_t n;

	assert_int_equal(it_run_env(argv, NULL, f->tmp, env, &r), 0);
	IT_ASSERT_EXIT(r, 0);
	text = it_read_file(trace, &n);
	assert_non_null(text);
	*datasyncs = *fsyncs = 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* a call another thread interrupts ends on a line of its
		 * own: "<... fsync resumed>) = 0" */
		if (!strstr(line, "= 0"))
			continue;
		if (strstr(line, "fdatasync"))
			(*datasyncs)++;
		else if (strstr(line, "fsync"))
			(*fsyncs)++;
	}
	free(text);
	it_result_free(&r);
	unlink(trace);
	free(trace);
	free(u1);
	free(u2);
	free(u3);
}

static bool have_strace(void)
{
	return access("/usr/bin/strace", X_OK) == 0;
}

static void test_fsync_flushes(void **state)
{
	struct it_fixture *f = *state;
	int ds, fs;

	if (!have_strace()) {
		printf("# SKIP: no strace\n");
		skip();
	}
	traced(f, false, &ds, &fs);
	fprintf(stderr, "# without --fsync: %d fdatasync, %d fsync\n", ds, fs);
	assert_int_equal(ds, 0);
	assert_int_equal(fs, 0);
	traced(f, true, &ds, &fs);
	fprintf(stderr, "# with --fsync: %d fdatasync, %d fsync\n", ds, fs);
	/* one flush of each body, one of each directory it was named in */
	assert_int_equal(ds, 3);
	assert_int_equal(fs, 3);
}

/* The origin URL, without user:password, on each file; none without
 * --xattr. A redirected body records where it came from. */
static void test_xattr_origin(void **state)
{
	struct it_fixture *f = *state;
	char *u1 = it_path("http://user:secret@127.0.0.1:%d/data/x1.bin"
			   "?size=100", f->srv.port);
	char *want1 = it_url(&f->srv, "/data/x1.bin?size=100");
	char *target = it_url(&f->srv, "/data/x2.bin?size=10");
	char *u2 = it_url(&f->srv, "/redirect?to=/data/x2.bin%3Fsize%3D10");
	char *p1 = it_path("%s/dl/x1.bin", f->tmp);
	char *p2 = it_path("%s/dl/x2.bin", f->tmp);
	char *p3 = it_path("%s/dl/x3.bin", f->tmp);
	char *u3 = it_url(&f->srv, "/data/x3.bin?size=10");
	const char *plain[] = { u3, NULL };
	char *list = it_path("%s\n%s out=x2.bin\n", u1, u2);
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *with_list[] = { "--xattr", "list.txt", NULL };
	char buf[512];
	ssize_t n;
	struct it_result r;
	cJSON *res;

	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);
	res = it_run_json(f, with_list, 0, 2, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	n = getxattr(p1, ORIGIN, buf, sizeof(buf) - 1);
	if (n < 0) {
		printf("# SKIP: no user xattrs here\n");
		skip();
	}
	buf[n] = '\0';
	assert_string_equal(buf, want1);
	n = getxattr(p2, ORIGIN, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, target);

	res = it_run_json(f, plain, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	assert_true(getxattr(p3, ORIGIN, buf, sizeof(buf)) < 0);
	free(u1);
	free(u2);
	free(u3);
	free(want1);
	free(target);
	free(p1);
	free(p2);
	free(p3);
	free(list);
	free(lp);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fsync_flushes),
		T(test_xattr_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
