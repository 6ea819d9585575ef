/* Integration: the defaults file (spec 8). $XDG_CONFIG_HOME/fetchmany/config
 * holds long options applied before the command line, which wins;
 * --no-config reads none; a bad line is a usage error naming the file and
 * the line, before any request. What the server received says which
 * options were in force. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* Writes text as f->tmp/cfg/fetchmany/config; returns "XDG_CONFIG_HOME=
 * f->tmp/cfg" (malloc'd) for the child's environment. */
static char *write_config(const struct it_fixture *f, const char *text)
{
	char *dir = it_path("%s/cfg", f->tmp);
	char *sub = it_path("%s/cfg/fetchmany", f->tmp);
	char *file = it_path("%s/config", sub);
	char *var = it_path("XDG_CONFIG_HOME=%s", dir);

	mkdir(dir, 0700);
	mkdir(sub, 0700);
	assert_int_equal(it_write_file(file, text, strlen(text)), 0);
	free(dir);
	free(sub);
	free(file);
	return var;
}

/* The User-Agent and X-Cfg headers of the request for path_query. */
static void headers_of(const struct it_fixture *f, const char *pq,
		       char ua[128], char xcfg[64])
{
	cJSON *log = it_server_log(&f->srv), *e;
	bool seen = false;

	assert_non_null(log);
	cJSON_ArrayForEach(e, log) {
		const char *p = it_json_str(e, "path");

		if (!p || strcmp(p, pq) != 0)
			continue;
		const char *h = it_log_header(e, "user-agent");

		snprintf(ua, 128, "%s", h ? h : "(none)");
		h = it_log_header(e, "x-cfg");
		snprintf(xcfg, 64, "%s", h ? h : "(none)");
		seen = true;
	}
	cJSON_Delete(log);
	assert_true(seen);
}

static void test_config_precedence(void **state)
{
	struct it_fixture *f = *state;
	char *var = write_config(f, "# ci defaults\n"
				    "user-agent = \"from config/1\"\n"
				    "header = X-Cfg: yes\n"
				    "retries 0\n");
	const char *env[] = { var, NULL };
	char *u1 = it_url(&f->srv, "/data/p1?size=10");
	char *u2 = it_url(&f->srv, "/data/p2?size=10");
	char *u3 = it_url(&f->srv, "/data/p3?size=10");
	const char *a1[] = { u1, NULL };
	const char *a2[] = { "-A", "cli/2", u2, NULL };
	const char *a3[] = { "--no-config", u3, NULL };
	char ua[128], x[64];
	struct it_result r;
	cJSON *res;

	res = it_run_json_full(f, "dl", env, a1, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	headers_of(f, "/data/p1?size=10", ua, x);
	assert_string_equal(ua, "from config/1");
	assert_string_equal(x, "yes");

	res = it_run_json_full(f, "dl", env, a2, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	headers_of(f, "/data/p2?size=10", ua, x);
	assert_string_equal(ua, "cli/2");
	assert_string_equal(x, "yes");

	res = it_run_json_full(f, "dl", env, a3, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	headers_of(f, "/data/p3?size=10", ua, x);
	assert_non_null(strstr(ua, "fetchmany/"));
	assert_string_equal(x, "(none)");
	free(var);
	free(u1);
	free(u2);
	free(u3);
}

static void test_config_bad_line(void **state)
{
	struct it_fixture *f = *state;
	char *var = write_config(f, "jobs = 4\n\nper-host = lots\n");
	const char *env[] = { var, NULL };
	char *u = it_url(&f->srv, "/data/b?size=10");
	const char *argv[] = { it_bin(), u, NULL };
	char *want = it_path("%s/cfg/fetchmany/config:3: --per-host: 'lots'",
			     f->tmp);
	struct it_result r;

	assert_int_equal(it_run_env(argv, NULL, f->tmp, env, &r), 0);
	IT_ASSERT_EXIT(r, 2);
	if (!strstr(r.err, want))
		fail_msg("stderr should hold \"%s\": %s", want, r.err);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 0);
	it_result_free(&r);
	free(var);
	free(u);
	free(want);
}

/* --config and --no-config as getopt_long takes them, abbreviated
 * (--conf FILE, --conf=FILE, --no-conf): the file named is the one read,
 * and --no-conf reads none, not even a default file with a bad line.
 * A directory named by --config is a usage error that names it. Before,
 * only the full spellings were seen: --conf read the default file and
 * --no-conf failed on its bad line; a directory read as an empty file. */
static void test_config_abbreviated_and_directory(void **state)
{
	struct it_fixture *f = *state;
	char *var = write_config(f, "user-agent = default/1\nretries = bad\n");
	const char *env[] = { var, NULL };
	char *named = it_path("%s/named.cfg", f->tmp);
	char *dir = it_path("--config=%s", f->tmp);
	char *u1 = it_url(&f->srv, "/data/c1?size=10");
	char *u2 = it_url(&f->srv, "/data/c2?size=10");
	char *u3 = it_url(&f->srv, "/data/c3?size=10");
	const char *a1[] = { "--conf", "named.cfg", u1, NULL };
	const char *a2[] = { "--conf=named.cfg", u2, NULL };
	const char *a3[] = { "--no-conf", u3, NULL };
	const char *argv[] = { it_bin(), "--no-config", dir, u1, NULL };
	char ua[128], x[64];
	struct it_result r;
	cJSON *res;

	assert_int_equal(it_write_file(named, "user-agent = named/2\n", 21), 0);
	res = it_run_json_full(f, "dl", env, a1, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	headers_of(f, "/data/c1?size=10", ua, x);
	assert_string_equal(ua, "named/2");
	res = it_run_json_full(f, "dl", env, a2, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	headers_of(f, "/data/c2?size=10", ua, x);
	assert_string_equal(ua, "named/2");
	res = it_run_json_full(f, "dl", env, a3, 0, 1, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	headers_of(f, "/data/c3?size=10", ua, x);
	assert_non_null(strstr(ua, "fetchmany/"));

	/* --config DIR, even after --no-config: named, it must be read */
	argv[1] = dir;
	argv[2] = u1;
	argv[3] = NULL;
	assert_int_equal(it_run_env(argv, NULL, f->tmp, env, &r), 0);
	IT_ASSERT_EXIT(r, 2);
	if (!strstr(r.err, f->tmp) || !strstr(r.err, "Is a directory"))
		fail_msg("stderr should name %s, a directory: %s", f->tmp,
			 r.err);
	it_result_free(&r);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 3);
	free(var);
	free(named);
	free(dir);
	free(u1);
	free(u2);
	free(u3);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_precedence),
		T(test_config_bad_line),
		T(test_config_abbreviated_and_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
