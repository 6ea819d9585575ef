/* Integration: cookies through libcurl's engine (spec 8). --cookie FILE
 * (Netscape format) is read once and shared by every transfer of the
 * run, with what servers set meanwhile; --cookie-jar FILE is written at
 * the end, whole (a temporary file renamed); a cookie set by a redirect
 * is sent on the redirected request. The test server sets a cookie where
 * a URL says setcookie=, and logs the Cookie header it got. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The Cookie header the request for path_query carried, or NULL. */
static char *cookie_of(const struct it_fixture *f, const char *path_query)
{
	cJSON *log = it_server_log(&f->srv), *e;
	char *c = NULL;

	assert_non_null(log);
	cJSON_ArrayForEach(e, log) {
		const char *p = it_json_str(e, "path");

		if (p && strcmp(p, path_query) == 0 && !c) {
			const char *h = it_log_header(e, "cookie");

			c = h ? strdup(h) : strdup("");
		}
	}
	cJSON_Delete(log);
	assert_non_null(c);
	return c;
}

/* --cookie FILE: its cookie for the host goes with every request. */
static void test_cookie_file_sent(void **state)
{
	struct it_fixture *f = *state;
	char *jar = it_path("%s/in.txt", f->tmp);
	const char *text = "# Netscape HTTP Cookie File\n"
			   "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc123\n";
	char *u1 = it_url(&f->srv, "/data/c1?size=10");
	char *u2 = it_url(&f->srv, "/data/c2?size=10");
	const char *args[] = { "--cookie", jar, u1, u2, NULL };
	struct it_result r;
	cJSON *res;
	char *c;

	assert_int_equal(it_write_file(jar, text, strlen(text)), 0);
	res = it_run_json(f, args, 0, 2, &r);
	c = cookie_of(f, "/data/c1?size=10");
	assert_string_equal(c, "session=abc123");
	free(c);
	c = cookie_of(f, "/data/c2?size=10");
	assert_string_equal(c, "session=abc123");
	free(c);
	cJSON_Delete(res);
	it_result_free(&r);
	free(jar);
	free(u1);
	free(u2);
}

/* A cookie set by a redirect is sent on the redirected request; one set
 * by an answer goes with the run's later requests (one transfer at a
 * time, so later is later); --cookie-jar holds both at the end, and no
 * temporary file is left beside it. */
static void test_cookie_jar_and_redirect(void **state)
{
	struct it_fixture *f = *state;
	char *jar = it_path("%s/jar.txt", f->tmp);
	char *u1 = it_url(&f->srv, "/redirect?to=/data/r1%3Fsize%3D10"
				   "&setcookie=via%3Dredirect");
	char *u2 = it_url(&f->srv, "/data/r2?size=10&setcookie=late%3D1");
	char *u3 = it_url(&f->srv, "/data/r3?size=10");
	const char *args[] = { "-j", "1", "--cookie-jar", jar, u1, u2, u3,
			       NULL };
	struct it_result r;
	cJSON *res;
	char *c, *text;
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	res = it_run_json(f, args, 0, 3, &r);
	c = cookie_of(f, "/data/r1?size=10");
	assert_string_equal(c, "via=redirect");
	free(c);
	c = cookie_of(f, "/data/r3?size=10");
	if (!strstr(c, "late=1") || !strstr(c, "via=redirect"))
		fail_msg("the third request should carry both cookies, "
			 "carried \"%s\"", c);
	free(c);
	text = it_read_file(jar, &n);
	assert_non_null(text);
	assert_non_null(strstr(text, "\tvia\tredirect"));
	assert_non_null(strstr(text, "\tlate\t1"));
	free(text);
	d = opendir(f->tmp);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "jar.txt", 7) == 0 &&
		    strcmp(de->d_name, "jar.txt") != 0)
			fail_msg("left beside the jar: %s", de->d_name);
	closedir(d);
	cJSON_Delete(res);
	it_result_free(&r);
	free(jar);
	free(u1);
	free(u2);
	free(u3);
}

/* A --cookie file that cannot be read is a usage error (exit 2), before
 * any request; the same file as --cookie-jar may not exist yet (the first
 * run of a job that keeps its cookies). */
static void test_cookie_file_missing(void **state)
{
	struct it_fixture *f = *state;
	char *missing = it_path("%s/nope.txt", f->tmp);
	char *u = it_url(&f->srv, "/data/m?size=10");
	const char *bad[] = { it_bin(), "--cookie", missing, u, NULL };
	const char *first[] = { "--cookie", missing, "--cookie-jar", missing,
				u, NULL };
	struct it_result r;
	cJSON *res;

	assert_int_equal(it_run(bad, NULL, f->tmp, &r), 0);
	IT_ASSERT_EXIT(r, 2);
	assert_non_null(strstr(r.err, "nope.txt"));
	it_result_free(&r);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 0);
	res = it_run_json(f, first, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_true(it_exists(missing));
	cJSON_Delete(res);
	it_result_free(&r);
	free(missing);
	free(u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cookie_file_sent),
		T(test_cookie_jar_and_redirect),
		T(test_cookie_file_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
