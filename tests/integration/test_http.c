/* Integration: HTTP behaviour (spec 8): only http and https, also across
 * redirects; --max-redirs; -H, -A and the default User-Agent; the
 * Authorization and Cookie headers and netrc credentials never follow a
 * redirect to another host; --netrc / --netrc-file; --max-filesize with
 * and without a Content-Length; --compressed. Every check reads what the
 * server really saw in its /_log. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* ------------------------------------------------------------- helpers */

/* The result for url, failing the test when there is none. */
static cJSON *result_for(const cJSON *res, const char *url,
			 const struct it_result *r)
{
	cJSON *e = it_json_find_url(res, url);

	if (!e) {
		it_dump(r);
		fail_msg("no result line for %s", url);
	}
	return e;
}

/* The /_log entry for pq, failing the test when the server never saw it. */
static const cJSON *must_log_entry(const struct it_fixture *f,
				   const cJSON *log, const char *pq,
				   const struct it_result *r)
{
	const cJSON *e = it_log_entry(log, pq, 0);

	if (!e) {
		it_dump_with_log(r, &f->srv);
		fail_msg("the server never saw %s", pq);
	}
	return e;
}

/* Number of /_log entries whose path starts with prefix. */
static int requests_prefix(const struct it_fixture *f, const char *prefix)
{
	cJSON *log = it_server_log(&f->srv);
	const cJSON *e;
	int n = 0;

	assert_non_null(log);
	cJSON_ArrayForEach(e, log)
		if (it_starts_with(it_json_str(e, "path"), prefix))
			n++;
	cJSON_Delete(log);
	return n;
}

static void assert_error_mentions(const cJSON *e, const char *word,
				  const struct it_result *r)
{
	const char *err = it_json_str(e, "error");

	if (!err || !it_ci_contains(err, word)) {
		it_dump(r);
		fail_msg("error should mention \"%s\", got \"%s\"", word,
			 err ? err : "(null)");
	}
}

/* No file at all below tmp/dl (no NAME, no .part). */
static void assert_dl_empty(const struct it_fixture *f,
			    const struct it_result *r)
{
	char *dl = it_path("%s/dl", f->tmp);
	int n = it_count_files(dl);

	if (n != 0) {
		it_dump(r);
		fail_msg("want no file under dl/, found %d", n);
	}
	free(dl);
}

static char *localhost_url(const struct it_fixture *f, const char *pq)
{
	return it_path("http://localhost:%d%s", f->srv.port, pq);
}

/* ------------------------------------------------ schemes and redirects */

/* A file:// line (in any letter case) is invalid, with no request made;
 * the valid line beside it is fetched. */
static void test_file_scheme_line_invalid(void **state)
{
	static const struct it_case c = {
		.list = "file:///etc/passwd\n"
			"FILE:///etc/passwd out=passwd2\n"
			"%BASE/data/good.bin?size=10\n",
		.args = { "list.txt", NULL },
		.exit = 1,
		.records = {
			"line=1 status=invalid attempts=0 path=null "
			"http_status=null error~scheme",
			"line=2 status=invalid attempts=0 path=null "
			"http_status=null error~scheme",
			"url=%BASE/data/good.bin?size=10 status=ok",
			NULL,
		},
		.requests = 1,
		.files = 1,
	};

	it_run_case(*state, &c);
}

/* A redirect to file:///etc/passwd fails the entry: not ok, not retried,
 * nothing written, the error names the protocol. */
static void test_redirect_to_file_fails(void **state)
{
	static const struct it_case c = {
		.args = { "-r", "3", "--backoff", "0.1",
			  "%BASE/redirect?to=file:///etc/passwd", NULL },
		.exit = 1,
		.records = {
			"url=%BASE/redirect?to=file:///etc/passwd "
			"status=failed path=null bytes=0 attempts=1 error~file",
			NULL,
		},
		.requests = 1,
		.files = 0,
		.not_output = "root:",
	};

	it_run_case(*state, &c);
}

/* A chain of 3 redirects with --max-redirs 2 fails (error mentions
 * redirects, not retried, the third redirect is not followed); the same
 * chain with --max-redirs 5 succeeds; a chain of exactly 2 with
 * --max-redirs 2 succeeds. */
static void test_max_redirs(void **state)
{
	struct it_fixture *f = *state;
	char *u3 = it_url(&f->srv, "/chain/c3?n=3&size=300");
	char *u2 = it_url(&f->srv, "/chain/c2?n=2&size=200");
	char *file3 = it_path("%s/dl/c3", f->tmp);
	char *file2 = it_path("%s/dl/c2", f->tmp);
	const char *a_fail[] = { "--max-redirs", "2", "-r", "3", "--backoff",
				 "0.1", u3, NULL };
	const char *a_ok5[] = { "--max-redirs", "5", u3, NULL };
	const char *a_ok2[] = { "--max-redirs", "2", u2, NULL };
	struct it_result r;
	cJSON *res, *e;

	/* 3 > 2: fails after following 2 redirects (3 requests). */
	res = it_run_json(f, a_fail, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNULL(e, "path");
	assert_error_mentions(e, "redirect", &r);
	if (requests_prefix(f, "/chain/c3") != 3) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("--max-redirs 2 on a 3-redirect chain: want 3 "
			 "requests (not retried), got %d",
			 requests_prefix(f, "/chain/c3"));
	}
	it_assert_requests(f, &r, "/chain/c3?n=0&size=300", 0);
	assert_dl_empty(f, &r);
	cJSON_Delete(res);
	it_result_free(&r);

	/* 3 <= 5: ok, the body of the end of the chain. */
	res = it_run_json(f, a_ok5, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 300);
	assert_true(it_file_matches_body(file3, "/chain/c3", 300));
	it_assert_requests(f, &r, "/chain/c3?n=0&size=300", 1);
	cJSON_Delete(res);
	it_result_free(&r);

	/* Exactly 2 with --max-redirs 2: ok. */
	res = it_run_json(f, a_ok2, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 200);
	assert_true(it_file_matches_body(file2, "/chain/c2", 200));
	cJSON_Delete(res);
	it_result_free(&r);

	free(u3);
	free(u2);
	free(file3);
	free(file2);
}

/* The default limit is 10: a chain of 10 is followed, 11 is not. */
static void test_max_redirs_default_10(void **state)
{
	struct it_fixture *f = *state;
	char *u10 = it_url(&f->srv, "/chain/d10?n=10&size=10");
	char *u11 = it_url(&f->srv, "/chain/d11?n=11&size=11");
	const char *args[] = { "-r", "0", u10, u11, NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 1, 2, &r);
	e = result_for(res, u10, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 10);
	e = result_for(res, u11, &r);
	IT_ASSERT_JSTR(e, "status", "failed");
	assert_error_mentions(e, "redirect", &r);
	assert_int_equal(requests_prefix(f, "/chain/d10"), 11);
	assert_int_equal(requests_prefix(f, "/chain/d11"), 11);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u10);
	free(u11);
}

/* ------------------------------------------- headers across redirects */

/* -H 'NAME: VALUE' on a URL of 127.0.0.1 that redirects to localhost (same
 * port): ok; the first request (Host 127.0.0.1) carried the header, the
 * redirected one (Host localhost) did not. */
static void check_header_dropped_cross_host(const struct it_fixture *f,
					    const char *hname,
					    const char *hvalue,
					    const char *fname)
{
	char *target = it_path("/data/%s?size=123", fname);
	char *target_url = localhost_url(f, target);
	char *pq = it_path("/redirect?to=%s", target_url);
	char *u = it_url(&f->srv, pq);
	char *hdr = it_path("%s: %s", hname, hvalue);
	/* The name comes from the entry's URL, not the redirect's. */
	char *file = it_path("%s/dl/redirect", f->tmp);
	char *host1 = it_path("127.0.0.1:%d", f->srv.port);
	char *host2 = it_path("localhost:%d", f->srv.port);
	char lname[64];
	const char *args[] = { "-H", hdr, u, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	const cJSON *first, *second;
	const char *v;
	size_t i;

	for (i = 0; hname[i] && i < sizeof(lname) - 1; i++)
		lname[i] = (char)tolower((unsigned char)hname[i]);
	lname[i] = '\0';

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 123);
	{
		char *up = it_path("/data/%s", fname);

		assert_true(it_file_matches_body(file, up, 123));
		free(up);
	}

	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), 2);
	first = must_log_entry(f, log, pq, &r);
	second = must_log_entry(f, log, target, &r);
	v = it_log_header(first, "host");
	if (!v || strcmp(v, host1) != 0)
		fail_msg("first request: Host want %s, got %s", host1,
			 v ? v : "(none)");
	v = it_log_header(second, "host");
	if (!v || strcmp(v, host2) != 0)
		fail_msg("redirected request: Host want %s, got %s", host2,
			 v ? v : "(none)");
	v = it_log_header(first, lname);
	if (!v || strcmp(v, hvalue) != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("first request (to 127.0.0.1): %s want \"%s\", got "
			 "%s", hname, hvalue, v ? v : "(none)");
	}
	v = it_log_header(second, lname);
	if (v) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("%s \"%s\" leaked to another host after a redirect "
			 "(localhost got \"%s\")", hname, hvalue, v);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(target);
	free(target_url);
	free(pq);
	free(u);
	free(hdr);
	free(file);
	free(host1);
	free(host2);
}

static void test_authorization_not_leaked(void **state)
{
	check_header_dropped_cross_host(*state, "Authorization",
					"Bearer SECRET", "auth.bin");
}

static void test_cookie_not_leaked(void **state)
{
	check_header_dropped_cross_host(*state, "Cookie", "c=1",
					"cookie.bin");
}

/* Control: a redirect on the same host (and port) keeps -H headers, so
 * the test above can tell dropping from never sending. */
static void test_header_kept_same_host(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/redirect?to=/data/same.bin%3Fsize%3D50";
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "-H", "Authorization: Bearer SECRET", "-H",
			       "X-Extra: yes", u, NULL };
	struct it_result r;
	cJSON *res, *log;
	const cJSON *second;
	const char *v;

	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	log = it_server_log(&f->srv);
	assert_non_null(log);
	second = must_log_entry(f, log, "/data/same.bin?size=50", &r);
	v = it_log_header(second, "authorization");
	if (!v || strcmp(v, "Bearer SECRET") != 0)
		fail_msg("same-host redirect: Authorization want \"Bearer "
			 "SECRET\", got %s", v ? v : "(none)");
	v = it_log_header(second, "x-extra");
	if (!v || strcmp(v, "yes") != 0)
		fail_msg("-H X-Extra: want \"yes\", got %s", v ? v : "(none)");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* Another port on the same host is another origin: a second server on
 * 127.0.0.1 must not see Authorization or Cookie. */
static void test_headers_not_leaked_other_port(void **state)
{
	struct it_fixture *f = *state;
	struct it_server other;
	char *target_url, *pq, *u;
	const char *args[7];
	struct it_result r;
	cJSON *res, *log;
	const cJSON *e;

	assert_int_equal(it_server_start(&other, NULL), 0);
	target_url = it_url(&other, "/data/port.bin?size=40");
	pq = it_path("/redirect?to=%s", target_url);
	u = it_url(&f->srv, pq);
	args[0] = "-H";
	args[1] = "Authorization: Bearer SECRET";
	args[2] = "-H";
	args[3] = "Cookie: c=1";
	args[4] = u;
	args[5] = NULL;

	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");

	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = must_log_entry(f, log, pq, &r);
	assert_non_null(it_log_header(e, "authorization"));
	assert_non_null(it_log_header(e, "cookie"));
	cJSON_Delete(log);

	log = it_server_log(&other);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), 1);
	e = cJSON_GetArrayItem(log, 0);
	if (it_log_header(e, "authorization") || it_log_header(e, "cookie")) {
		char *s = cJSON_Print(log);

		fprintf(stderr, "other server's log: %s\n", s);
		free(s);
		fail_msg("Authorization/Cookie leaked to another port after "
			 "a redirect");
	}
	cJSON_Delete(log);

	it_server_stop(&other);
	cJSON_Delete(res);
	it_result_free(&r);
	free(target_url);
	free(pq);
	free(u);
}

/* ---------------------------------------------------------- User-Agent */

static void test_user_agent_option(void **state)
{
	struct it_fixture *f = *state;
	char *u = it_url(&f->srv, "/data/ua.bin?size=5");
	const char *args[] = { "-A", "agent/1", u, NULL };
	struct it_result r;
	cJSON *res, *log;
	const char *v;

	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	log = it_server_log(&f->srv);
	assert_non_null(log);
	v = it_log_header(must_log_entry(f, log, "/data/ua.bin?size=5", &r),
		       "user-agent");
	if (!v || strcmp(v, "agent/1") != 0)
		fail_msg("-A agent/1: User-Agent was %s", v ? v : "(none)");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* Default: "fetchmany/" followed by the version -V prints. */
static void test_user_agent_default(void **state)
{
	struct it_fixture *f = *state;
	char *u = it_url(&f->srv, "/data/dua.bin?size=5");
	const char *args[] = { u, NULL };
	const char *vargv[] = { it_bin(), "-V", NULL };
	struct it_result r, rv;
	cJSON *res, *log;
	const char *v;
	char version[64] = "";
	char *want;

	assert_int_equal(it_run(vargv, NULL, f->tmp, &rv), 0);
	IT_ASSERT_EXIT(rv, 0);
	if (sscanf(rv.out, "fetchmany %63s", version) != 1)
		fail_msg("-V: first line should be \"fetchmany VERSION\", got "
			 "\"%s\"", rv.out);
	it_result_free(&rv);
	want = it_path("fetchmany/%s", version);

	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	log = it_server_log(&f->srv);
	assert_non_null(log);
	v = it_log_header(must_log_entry(f, log, "/data/dua.bin?size=5", &r),
		       "user-agent");
	if (!v || !it_starts_with(v, "fetchmany/") || strcmp(v, want) != 0)
		fail_msg("default User-Agent: want \"%s\", got %s", want,
			 v ? v : "(none)");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(want);
}

/* --------------------------------------------------------------- netrc */

/* --netrc-file with credentials for 127.0.0.1: Basic u:p ("dTpw") goes to
 * 127.0.0.1, directly and before a redirect; the redirected request to
 * localhost carries no Authorization. */
static void test_netrc_file(void **state)
{
	struct it_fixture *f = *state;
	char *netrc = it_path("%s/ci.netrc", f->tmp);
	const char *text = "machine 127.0.0.1 login u password p\n";
	char *direct = it_url(&f->srv, "/data/n1.bin?size=20");
	char *target_url = localhost_url(f, "/data/n2.bin?size=30");
	char *pq = it_path("/redirect?to=%s", target_url);
	char *via = it_url(&f->srv, pq);
	const char *args[] = { "--netrc-file", netrc, direct, via, NULL };
	struct it_result r;
	cJSON *res, *log;
	const cJSON *e;
	const char *v;

	assert_int_equal(it_write_file(netrc, text, strlen(text)), 0);
	assert_int_equal(chmod(netrc, 0600), 0);
	res = it_run_json(f, args, 0, 2, &r);
	IT_ASSERT_JSTR(result_for(res, direct, &r), "status", "ok");
	IT_ASSERT_JSTR(result_for(res, via, &r), "status", "ok");

	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = must_log_entry(f, log, "/data/n1.bin?size=20", &r);
	v = it_log_header(e, "authorization");
	if (!v || strcmp(v, "Basic dTpw") != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("--netrc-file: 127.0.0.1 want \"Basic dTpw\" (u:p), "
			 "got %s", v ? v : "(none)");
	}
	e = must_log_entry(f, log, pq, &r);
	v = it_log_header(e, "authorization");
	if (!v || strcmp(v, "Basic dTpw") != 0)
		fail_msg("--netrc-file: first request of the redirect want "
			 "\"Basic dTpw\", got %s", v ? v : "(none)");
	e = must_log_entry(f, log, "/data/n2.bin?size=30", &r);
	v = it_log_header(e, "authorization");
	if (v) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("netrc credentials for 127.0.0.1 leaked to localhost "
			 "after a redirect: \"%s\"", v);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(netrc);
	free(direct);
	free(target_url);
	free(pq);
	free(via);
}

/* The password for 127.0.0.1 must not reach localhost even when the netrc
 * has an entry for localhost without a password (the shape of
 * CVE-2024-11053). Basic u:p = "dTpw", v:p = "djpw". */
static void test_netrc_password_not_leaked_partial_entry(void **state)
{
	struct it_fixture *f = *state;
	char *netrc = it_path("%s/ci.netrc", f->tmp);
	const char *text = "machine 127.0.0.1 login u password p\n"
			   "machine localhost login v\n";
	char *target_url = localhost_url(f, "/data/n3.bin?size=30");
	char *pq = it_path("/redirect?to=%s", target_url);
	char *via = it_url(&f->srv, pq);
	const char *args[] = { "--netrc-file", netrc, "-r", "0", via, NULL };
	struct it_result r;
	cJSON *log;
	const cJSON *e;
	const char *v;
	int rc;
	const char *argv[12];
	size_t n = 0;

	assert_int_equal(it_write_file(netrc, text, strlen(text)), 0);
	assert_int_equal(chmod(netrc, 0600), 0);
	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "-o";
	argv[n++] = "dl";
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	/* The outcome may be ok or failed; what matters is what was sent. */
	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);

	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = it_log_entry(log, "/data/n3.bin?size=30", 0);
	v = e ? it_log_header(e, "authorization") : NULL;
	if (v && (strstr(v, "dTpw") || strstr(v, "djpw"))) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the password of 127.0.0.1 was sent to localhost "
			 "after a redirect: \"%s\"", v);
	}

	cJSON_Delete(log);
	it_result_free(&r);
	free(netrc);
	free(target_url);
	free(pq);
	free(via);
}

/* --netrc reads $HOME/.netrc; without --netrc nothing is sent. */
static void test_netrc_home(void **state)
{
	struct it_fixture *f = *state;
	char *netrc = it_path("%s/.netrc", f->tmp);
	char *home = it_path("HOME=%s", f->tmp);
	const char *text = "machine 127.0.0.1 login u password p\n";
	char *u1 = it_url(&f->srv, "/data/h1.bin?size=20");
	char *u2 = it_url(&f->srv, "/data/h2.bin?size=20");
	const char *env[] = { home, NULL };
	const char *a_on[] = { "--netrc", u1, NULL };
	const char *a_off[] = { u2, NULL };
	struct it_result r;
	cJSON *res, *log;
	const char *v;

	assert_int_equal(it_write_file(netrc, text, strlen(text)), 0);
	assert_int_equal(chmod(netrc, 0600), 0);

	res = it_run_json_full(f, "dl", env, a_on, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	cJSON_Delete(res);
	it_result_free(&r);
	res = it_run_json_full(f, "dl", env, a_off, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");

	log = it_server_log(&f->srv);
	assert_non_null(log);
	v = it_log_header(must_log_entry(f, log, "/data/h1.bin?size=20", &r),
		       "authorization");
	if (!v || strcmp(v, "Basic dTpw") != 0)
		fail_msg("--netrc with $HOME/.netrc: want \"Basic dTpw\", got "
			 "%s", v ? v : "(none)");
	v = it_log_header(must_log_entry(f, log, "/data/h2.bin?size=20", &r),
		       "authorization");
	if (v)
		fail_msg("without --netrc, ~/.netrc must not be used; sent "
			 "\"%s\"", v);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(netrc);
	free(home);
	free(u1);
	free(u2);
}

/* ------------------------------------------------------- max-filesize */

/* --max-filesize 1K (1024 bytes): larger bodies fail at once, with or
 * without a Content-Length, and are not retried (-r 3); bodies up to
 * 1024 bytes are ok. */
static void test_max_filesize(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_cl = "/data/big.bin?size=2000";
	const char *pq_ch = "/data/bigc.bin?size=2000&chunked=1";
	const char *pq_ch1025 = "/data/edgec.bin?size=1025&chunked=1";
	const char *pq_small = "/data/small.bin?size=1000";
	const char *pq_cl1024 = "/data/edge.bin?size=1024";
	const char *pq_ch1024 = "/data/edgeok.bin?size=1024&chunked=1";
	char *u_cl = it_url(&f->srv, pq_cl);
	char *u_ch = it_url(&f->srv, pq_ch);
	char *u_ch1025 = it_url(&f->srv, pq_ch1025);
	char *u_small = it_url(&f->srv, pq_small);
	char *u_cl1024 = it_url(&f->srv, pq_cl1024);
	char *u_ch1024 = it_url(&f->srv, pq_ch1024);
	const char *args[] = { "--max-filesize", "1K", "-r", "3", "--backoff",
			       "0.1", u_cl, u_ch, u_ch1025, u_small, u_cl1024,
			       u_ch1024, NULL };
	struct it_result r;
	cJSON *res, *e, *tree;
	char *dl = it_path("%s/dl", f->tmp);
	char *p;
	const char *err;

	res = it_run_json(f, args, 1, 6, &r);

	/* Announced Content-Length 2000 > 1024. */
	e = result_for(res, u_cl, &r);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNUM(e, "bytes", 0);
	IT_ASSERT_JNULL(e, "path");
	err = it_json_str(e, "error");
	if (!err || !(it_ci_contains(err, "max-filesize") ||
		      it_ci_contains(err, "file size") ||
		      it_ci_contains(err, "filesize"))) {
		it_dump(&r);
		fail_msg("Content-Length over --max-filesize: the error should "
			 "say so, got \"%s\"", err ? err : "(null)");
	}
	it_assert_requests(f, &r, pq_cl, 1);

	/* Chunked, 2000 and 1025 bytes: counted as they stream. */
	e = result_for(res, u_ch, &r);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNUM(e, "bytes", 0);
	assert_error_mentions(e, "max-filesize", &r);
	it_assert_requests(f, &r, pq_ch, 1);
	e = result_for(res, u_ch1025, &r);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	assert_error_mentions(e, "max-filesize", &r);
	it_assert_requests(f, &r, pq_ch1025, 1);

	/* At or under the limit. */
	e = result_for(res, u_small, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 1000);
	e = result_for(res, u_cl1024, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 1024);
	e = result_for(res, u_ch1024, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 1024);

	p = it_path("%s/small.bin", dl);
	assert_true(it_file_matches_body(p, "/data/small.bin", 1000));
	free(p);
	p = it_path("%s/edge.bin", dl);
	assert_true(it_file_matches_body(p, "/data/edge.bin", 1024));
	free(p);
	p = it_path("%s/edgeok.bin", dl);
	assert_true(it_file_matches_body(p, "/data/edgeok.bin", 1024));
	free(p);

	/* Only the three ok files; no .part left behind. */
	tree = it_tree_list(dl);
	assert_non_null(tree);
	if (cJSON_GetArraySize(tree) != 3) {
		char *s = cJSON_Print(tree);

		fprintf(stderr, "dl: %s\n", s);
		free(s);
		fail_msg("want exactly the 3 ok files under dl/");
	}
	cJSON_Delete(tree);

	cJSON_Delete(res);
	it_result_free(&r);
	free(dl);
	free(u_cl);
	free(u_ch);
	free(u_ch1025);
	free(u_small);
	free(u_cl1024);
	free(u_ch1024);
}

/* --------------------------------------------------------- compression */

/* --compressed against a server that gzips when asked: Accept-Encoding
 * names gzip, the response was compressed, and the file is the decoded
 * body byte for byte (with a Content-Length and chunked). */
static void test_compressed(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/gz.txt?size=50000&gzip=1";
	const char *pq2 = "/data/gzc.txt?size=30000&gzip=1&chunked=1";
	char *u1 = it_url(&f->srv, pq1);
	char *u2 = it_url(&f->srv, pq2);
	char *file1 = it_path("%s/dl/gz.txt", f->tmp);
	char *file2 = it_path("%s/dl/gzc.txt", f->tmp);
	const char *args[] = { "--compressed", u1, u2, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	const char *pqs[] = { pq1, pq2 };
	const char *v;

	res = it_run_json(f, args, 0, 2, &r);
	e = result_for(res, u1, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 50000);
	e = result_for(res, u2, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 30000);
	assert_true(it_file_matches_body(file1, "/data/gz.txt", 50000));
	assert_true(it_file_matches_body(file2, "/data/gzc.txt", 30000));

	log = it_server_log(&f->srv);
	assert_non_null(log);
	for (int i = 0; i < 2; i++) {
		v = it_log_header(must_log_entry(f, log, pqs[i], &r),
			       "accept-encoding");
		if (!v || !it_ci_contains(v, "gzip"))
			fail_msg("--compressed: Accept-Encoding should name "
				 "gzip, got %s", v ? v : "(none)");
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(file1);
	free(file2);
}

/* Without --compressed: no Accept-Encoding at all (so the gzip=1 server
 * sends it plain), and a body the server compresses anyway (gzip=always)
 * is stored exactly as sent, still compressed. */
static void test_not_compressed(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/plain.txt?size=40000&gzip=1";
	const char *pq2 = "/data/raw.gz?size=40000&gzip=always";
	char *u1 = it_url(&f->srv, pq1);
	char *u2 = it_url(&f->srv, pq2);
	char *file1 = it_path("%s/dl/plain.txt", f->tmp);
	char *file2 = it_path("%s/dl/raw.gz", f->tmp);
	const char *args[] = { u1, u2, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	const cJSON *le;
	char *want, *got;
	size_t want_len = 0, got_len = 0;
	long st = 0;

	res = it_run_json(f, args, 0, 2, &r);
	e = result_for(res, u1, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 40000);
	assert_true(it_file_matches_body(file1, "/data/plain.txt", 40000));

	log = it_server_log(&f->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(le, log) {
		const char *v = it_log_header(le, "accept-encoding");

		if (v) {
			it_dump_with_log(&r, &f->srv);
			fail_msg("without --compressed no Accept-Encoding may "
				 "be sent; %s carried \"%s\"",
				 it_json_str(le, "path"), v);
		}
	}
	cJSON_Delete(log);

	/* The compressed bytes, as the server sends them (the harness's
	 * libcurl does not decode: it sends no Accept-Encoding either). */
	want = it_http_get(&f->srv, "/_gzip?path=/data/raw.gz&size=40000",
			   &st, &want_len);
	assert_non_null(want);
	assert_int_equal(st, 200);
	assert_true(want_len > 2 && (unsigned char)want[0] == 0x1f &&
		    (unsigned char)want[1] == 0x8b);
	e = result_for(res, u2, &r);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", (double)want_len);
	got = it_read_file(file2, &got_len);
	assert_non_null(got);
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		fail_msg("without --compressed a gzip body must be stored as "
			 "sent: want %zu compressed bytes, got %zu bytes%s",
			 want_len, got_len,
			 got_len == want_len ? " (different)" : "");

	free(want);
	free(got);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(file1);
	free(file2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_file_scheme_line_invalid),
		T(test_redirect_to_file_fails),
		T(test_max_redirs),
		T(test_max_redirs_default_10),
		T(test_authorization_not_leaked),
		T(test_cookie_not_leaked),
		T(test_header_kept_same_host),
		T(test_headers_not_leaked_other_port),
		T(test_user_agent_option),
		T(test_user_agent_default),
		T(test_netrc_file),
		T(test_netrc_password_not_leaked_partial_entry),
		T(test_netrc_home),
		T(test_max_filesize),
		T(test_compressed),
		T(test_not_compressed),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
