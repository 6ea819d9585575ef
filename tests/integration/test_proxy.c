/* Integration: proxies (spec 8). --proxy URL sends every request through
 * an HTTP proxy, its credentials (user:password@ in URL) to the proxy
 * alone; --noproxy LIST names hosts reached directly; the environment's
 * http_proxy and no_proxy work as they do for curl when no option says
 * otherwise. A second tests/httpd.py started with --proxy is the proxy:
 * its /_log says what went through it, the origin's what arrived there.
 * (HTTPS through a proxy, CONNECT, is in test_tls.c, which has the
 * certificates.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct px {
	struct it_fixture *f;   /* the origin */
	struct it_server proxy;
};

static int px_setup(void **state)
{
	static const char *const args[] = { "--proxy", NULL };
	struct px *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	p->f = it_fixture_new(NULL);
	if (!p->f || it_server_start(&p->proxy, args) != 0) {
		if (p->f)
			it_fixture_free(p->f);
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static int px_teardown(void **state)
{
	struct px *p = *state;

	it_server_stop(&p->proxy);
	it_fixture_free(p->f);
	free(p);
	return 0;
}

/* The requests a server logged (not its /_* ones). */
static int logged(const struct it_server *s)
{
	cJSON *log = it_server_log(s);
	int n;

	assert_non_null(log);
	n = cJSON_GetArraySize(log);
	cJSON_Delete(log);
	return n;
}

/* --proxy with credentials: the request goes through the proxy (as an
 * absolute URL, with Proxy-Authorization: Basic of them), the origin gets
 * it without any credential, the body is byte for byte, and no result
 * line says the password. */
static void test_proxy_with_credentials(void **state)
{
	struct px *p = *state;
	struct it_fixture *f = p->f;
	char *u = it_url(&f->srv, "/data/px.bin?size=5000");
	char *proxy = it_path("http://alice:s3cret@127.0.0.1:%d",
			      p->proxy.port);
	char *file = it_path("%s/dl/px.bin", f->tmp);
	const char *args[] = { "--proxy", proxy, u, NULL };
	struct it_result r;
	cJSON *res, *plog, *olog, *e;

	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_true(it_file_matches_body(file, "/data/px.bin", 5000));
	assert_null(strstr(r.out, "s3cret"));
	assert_null(strstr(r.err, "s3cret"));
	plog = it_server_log(&p->proxy);
	assert_int_equal(cJSON_GetArraySize(plog), 1);
	e = cJSON_GetArrayItem(plog, 0);
	IT_ASSERT_JSTR(e, "path", u);
	/* base64("alice:s3cret") */
	assert_string_equal(it_log_header(e, "proxy-authorization"),
			    "Basic YWxpY2U6czNjcmV0");
	olog = it_server_log(&f->srv);
	assert_int_equal(cJSON_GetArraySize(olog), 1);
	e = cJSON_GetArrayItem(olog, 0);
	assert_null(it_log_header(e, "proxy-authorization"));
	assert_null(it_log_header(e, "authorization"));

	cJSON_Delete(plog);
	cJSON_Delete(olog);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(proxy);
	free(file);
}

/* --noproxy naming the origin's host: straight there, the proxy unused. */
static void test_noproxy(void **state)
{
	struct px *p = *state;
	struct it_fixture *f = p->f;
	char *u = it_url(&f->srv, "/data/np.bin?size=100");
	char *proxy = it_path("http://127.0.0.1:%d", p->proxy.port);
	const char *args[] = { "--proxy", proxy, "--noproxy",
			       "example.org,127.0.0.1", u, NULL };
	struct it_result r;
	cJSON *res;

	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_int_equal(logged(&p->proxy), 0);
	assert_int_equal(logged(&f->srv), 1);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(proxy);
}

/* The environment, as curl reads it: http_proxy is used; no_proxy (or
 * --noproxy) sends the host straight; --proxy "" (empty) turns a proxy
 * from the environment off. */
static void test_proxy_environment(void **state)
{
	struct px *p = *state;
	struct it_fixture *f = p->f;
	char *u1 = it_url(&f->srv, "/data/e1.bin?size=100");
	char *u2 = it_url(&f->srv, "/data/e2.bin?size=100");
	char *u3 = it_url(&f->srv, "/data/e3.bin?size=100");
	char *var = it_path("http_proxy=http://127.0.0.1:%d", p->proxy.port);
	const char *env[] = { var, NULL };
	const char *env_no[] = { var, "no_proxy=127.0.0.1", NULL };
	const char *a1[] = { u1, NULL };
	const char *a2[] = { u2, NULL };
	const char *a3[] = { "--proxy", "", u3, NULL };
	struct it_result r;
	cJSON *res;

	res = it_run_json_full(f, "dl", env, a1, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_int_equal(logged(&p->proxy), 1);
	cJSON_Delete(res);
	it_result_free(&r);

	res = it_run_json_full(f, "dl", env_no, a2, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_int_equal(logged(&p->proxy), 1); /* no more */
	cJSON_Delete(res);
	it_result_free(&r);

	res = it_run_json_full(f, "dl", env, a3, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_int_equal(logged(&p->proxy), 1);
	assert_int_equal(logged(&f->srv), 3);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(u3);
	free(var);
}

/* A proxy's password is never shown. A --proxy libcurl could not use
 * (a port out of range, an ftp:// proxy) is a usage error, exit 2, before
 * any request, and the message hides the password; an environment proxy
 * libcurl refuses fails the entry with libcurl's message, the password
 * hidden there too. Before, every entry failed with "Unsupported proxy
 * syntax in 'http://u:SECRETPW@127.0.0.1:99999'", in its result and on
 * standard error, and the run exited 1. */
static void test_proxy_password_never_shown(void **state)
{
	struct px *p = *state;
	struct it_fixture *f = p->f;
	char *u = it_url(&f->srv, "/data/s1.bin?size=100");
	const char *bad[] = {"http://u:SECRETPW@127.0.0.1:99999",
			     "ftp://puser:SECRETPW@127.0.0.1:1", NULL};
	const char *env[] = {"http_proxy=http://puser:SECRETPW@[bad", NULL};
	const char *a[] = {"-r", "0", u, NULL};
	struct it_result r;
	cJSON *res, *e;

	for (int i = 0; bad[i]; i++) {
		const char *argv[] = {it_bin(), "--no-config", "--json",
				      "--proxy", bad[i], u, NULL};

		IT_ASSERT_RAN(it_run_env(argv, NULL, f->tmp, NULL, &r), r);
		if (!r.exited || r.exit_code != 2 || strstr(r.err, "SECRETPW") ||
		    !strstr(r.err, "--proxy") || r.out_len) {
			it_dump(&r);
			fail_msg("--proxy %s: want exit 2, a message naming "
				 "--proxy, no password, no result", bad[i]);
		}
		it_result_free(&r);
	}
	assert_int_equal(logged(&f->srv), 0);

	res = it_run_json_full(f, "dl", env, a, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	fprintf(stderr, "# error: %s\n", it_json_str(e, "error"));
	if (strstr(r.out, "SECRETPW") || strstr(r.err, "SECRETPW")) {
		it_dump(&r);
		fail_msg("the environment proxy's password was shown");
	}
	assert_non_null(strstr(it_json_str(e, "error"), "***@"));
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

#define PX_TEST(fn) cmocka_unit_test_setup_teardown(fn, px_setup, px_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PX_TEST(test_proxy_with_credentials),
		PX_TEST(test_noproxy),
		PX_TEST(test_proxy_environment),
		PX_TEST(test_proxy_password_never_shown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
