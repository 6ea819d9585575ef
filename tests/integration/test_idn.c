/* Integration: host names in any script (spec 8: IDN works whatever the
 * locale). libcurl hands a non-ASCII host name to libidn2 as text in the
 * locale's encoding; fetchmany reads URLs as UTF-8, so the conversion must
 * not depend on LC_ALL / LC_CTYPE / LANG. The server must see the
 * punycode name in the Host header (xn--bcher-kva.localhost), and number
 * formatting must stay the C locale's (a '.' in "seconds").
 *
 * libcurl 7.88 resolves "localhost" and every "*.localhost" name to the
 * loopback addresses itself (RFC 6761), so no /etc/hosts entry is needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ACE "xn--bcher-kva.localhost"

/* The environment changes of one run: "NAME=VALUE" sets, "NAME" unsets. */
struct locale_case {
	const char *what;
	const char *env[5];
};

static const struct locale_case cases[] = {
	{"LC_ALL=C", {"LC_ALL=C", "LANG=C", NULL}},
	{"LC_ALL=C.UTF-8", {"LC_ALL=C.UTF-8", NULL}},
	{"no locale variables", {"LC_ALL", "LC_CTYPE", "LANG", "LANGUAGE",
				 NULL}},
	{"LC_CTYPE=POSIX, LANG=C.UTF-8", {"LC_ALL", "LC_CTYPE=POSIX",
					  "LANG=C.UTF-8", NULL}},
	/* Where it exists, a locale whose decimal point is ','. */
	{"LC_ALL=de_DE.UTF-8", {"LC_ALL=de_DE.UTF-8", NULL}},
};

/* 1 when the raw JSON line's "seconds" value is digits '.' digits. */
static int seconds_has_point(const char *line)
{
	const char *p = strstr(line, "\"seconds\":");
	size_t digits;

	if (!p)
		return 0;
	p += strlen("\"seconds\":");
	digits = strspn(p, "0123456789");
	return digits > 0 && p[digits] == '.' &&
	       strspn(p + digits + 1, "0123456789") > 0;
}

/* http://bücher.localhost:PORT/data/idn-K.bin, as a URL argument and as a
 * line of a list file, under each locale case: both ok, bodies right, the
 * server saw the punycode Host. The unfixed binary failed them all with
 * "URL using bad/illegal format or missing URL". */
static void test_idn_host_any_locale(void **state)
{
	struct it_fixture *f = *state;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *arg_url = it_path("http://b\xc3\xbc" "cher.localhost:%d"
					"/data/idn-a%zu.bin?size=300",
					f->srv.port, k);
		char *list_url = it_path("http://b\xc3\xbc" "cher.localhost:%d"
					 "/data/idn-l%zu.bin?size=300",
					 f->srv.port, k);
		char *list = it_path("%s/list%zu.txt", f->tmp, k);
		char *list_arg = it_path("list%zu.txt", k);
		char *line = it_path("%s\n", list_url);
		const char *argv[] = {it_bin(), "--json", "-o", "dl",
				      arg_url, list_arg, NULL};
		struct it_result r;
		cJSON *res, *lines;
		const cJSON *e;
		int bad;

		assert_int_equal(it_write_file(list, line, strlen(line)), 0);
		IT_ASSERT_RAN(it_run_env(argv, NULL, f->tmp, cases[k].env, &r),
			      r);
		res = it_jsonl_parse(r.out, &bad);
		assert_int_equal(bad, 0);
		cJSON_ArrayForEach(e, res) {
			const char *st = it_json_str(e, "status");

			if (!st || strcmp(st, "ok") != 0) {
				it_dump(&r);
				fail_msg("%s: %s: want ok, got %s (%s)",
					 cases[k].what, it_json_str(e, "url"),
					 st ? st : "-",
					 it_json_str(e, "error")
						 ? it_json_str(e, "error")
						 : "-");
			}
		}
		if (cJSON_GetArraySize(res) != 2) {
			it_dump(&r);
			fail_msg("%s: want 2 results", cases[k].what);
		}
		IT_ASSERT_EXIT(r, 0);
		lines = it_split_lines(r.out);
		cJSON_ArrayForEach(e, lines) {
			if (!seconds_has_point(e->valuestring)) {
				it_dump(&r);
				fail_msg("%s: \"seconds\" without a '.': %s",
					 cases[k].what, e->valuestring);
			}
		}
		cJSON_Delete(lines);
		for (int i = 0; i < 2; i++) {
			char *file = it_path("%s/dl/idn-%c%zu.bin", f->tmp,
					     i ? 'l' : 'a', k);
			char *up = it_path("/data/idn-%c%zu.bin",
					   i ? 'l' : 'a', k);

			assert_true(it_file_matches_body(file, up, 300));
			free(file);
			free(up);
		}
		cJSON_Delete(res);
		it_result_free(&r);
		free(arg_url);
		free(list_url);
		free(list);
		free(list_arg);
		free(line);
	}
	/* The name on the wire was the punycode one, never the raw bytes. */
	if (it_host_peak(f, ACE) < 1)
		fail_msg("the server never saw Host: " ACE);
	assert_int_equal(it_host_peak(f, "b\xc3\xbc" "cher.localhost"), -1);
	assert_int_equal(it_server_stat(&f->srv, "requests"),
			 2 * (long)(sizeof(cases) / sizeof(cases[0])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idn_host_any_locale,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
