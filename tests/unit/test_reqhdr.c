/* test_reqhdr.c: unit tests of the request headers (fm_reqhdr.h): an
 * entry's header= lines checked, and the list a request sends made from
 * -H's and the entry's, with credentials kept from a foreign host.
 *
 * Table-driven: each row of the merge is the -H headers, the entry's, the
 * host's standing and the exact list that must come out, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "fm_reqhdr.h"

#define MAXH 8

struct check_case {
	const char *h;
	int rc;
	const char *why;    /* substring of the reason; NULL when rc is 0 */
};

static const struct check_case check_cases[] = {
	{"X-A: b", 0, NULL},
	{"X-A:b", 0, NULL},
	{"Accept:", 0, NULL},
	{"Authorization: Bearer a.b.c", 0, NULL},
	{"X-A: tab\tinside", 0, NULL},
	{"X-A: caf\xc3\xa9", 0, NULL},
	{"X-A", -1, "header has no ':'"},
	{"X-A; b", -1, "header has no ':'"},
	{": v", -1, "empty header name"},
	{" X: v", -1, "header name ' X'"},
	{"X Y: v", -1, "header name 'X Y'"},
	{"X\x7f: v", -1, "header name 'X?'"},
	{"X: a\r\nY: b", -1, "header 'X': CR or LF in the value"},
	{"X: a\nb", -1, "header 'X': CR or LF in the value"},
	{"X: a\x01", -1, "header 'X': control character in the value"},
	{"X: a\x7f", -1, "header 'X': control character in the value"},
};

static void check_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]);
	     i++) {
		const struct check_case *c = &check_cases[i];
		char why[256] = "";
		int rc = fm_reqhdr_check(c->h, why, sizeof(why));

		if (rc != c->rc)
			fail_msg("'%s': rc %d, want %d (%s)", c->h, rc, c->rc,
				 why);
		if (c->why && !strstr(why, c->why))
			fail_msg("'%s': why \"%s\", want \"%s\" in it", c->h,
				 why, c->why);
	}
}

static void names_and_credentials(void **state)
{
	(void)state;
	assert_true(fm_reqhdr_same_name("X-A: 1", "x-a: 2"));
	assert_true(fm_reqhdr_same_name("X-A;", "X-A: 2"));
	assert_true(fm_reqhdr_same_name("X-A:", "x-A:v"));
	assert_false(fm_reqhdr_same_name("X-A: 1", "X-AB: 1"));
	assert_false(fm_reqhdr_same_name("X-AB: 1", "X-A: 1"));
	assert_false(fm_reqhdr_same_name("X-A: 1", "X-B: 1"));
	assert_true(fm_reqhdr_is_credential("Authorization: Basic eA=="));
	assert_true(fm_reqhdr_is_credential("authorization:x"));
	assert_true(fm_reqhdr_is_credential("COOKIE: a=1"));
	assert_true(fm_reqhdr_is_credential("Cookie;"));
	assert_false(fm_reqhdr_is_credential("Cookie2: a"));
	assert_false(fm_reqhdr_is_credential("X-Authorization: a"));
	assert_false(fm_reqhdr_is_credential("Proxy-Authorization: a"));
}

struct merge_case {
	const char *what;
	const char *conf[MAXH];   /* -H, NULL-terminated */
	const char *entry[MAXH];  /* header=, NULL-terminated */
	bool foreign;
	const char *want;         /* the list joined by " | " */
};

static const struct merge_case merge_cases[] = {
	{"nothing", {NULL}, {NULL}, false, ""},
	{"-H alone", {"A: 1", "B: 2", NULL}, {NULL}, false, "A: 1 | B: 2"},
	{"entry alone", {NULL}, {"X: 1", NULL}, false, "X: 1"},
	{"-H then the entry's",
	 {"A: 1", NULL}, {"X: 1", "Y: 2", NULL}, false, "A: 1 | X: 1 | Y: 2"},
	{"the entry's replaces -H's of its name, whatever the case",
	 {"X-Token: cli", "Keep: 1", "x-token: cli2", NULL},
	 {"X-TOKEN: entry", NULL}, false, "Keep: 1 | X-TOKEN: entry"},
	{"an empty -H header replaced too",
	 {"X-E;", NULL}, {"X-E: v", NULL}, false, "X-E: v"},
	{"an entry's removal replaces -H's",
	 {"Accept: text/plain", NULL}, {"Accept:", NULL}, false, "Accept:"},
	{"a longer name is another header",
	 {"X-AB: 1", NULL}, {"X-A: 2", NULL}, false, "X-AB: 1 | X-A: 2"},
	{"two entry headers of one name both go",
	 {"A: 0", NULL}, {"A: 1", "a: 2", NULL}, false, "A: 1 | a: 2"},
	{"credentials go to the entry's own host",
	 {"Authorization: Bearer cli", "Cookie: c=1", NULL},
	 {"Cookie: e=2", NULL}, false, "Authorization: Bearer cli | Cookie: e=2"},
	{"no credential to a foreign host, from either",
	 {"Authorization: Bearer cli", "Accept: x/y", "Cookie: c=1", NULL},
	 {"authorization: Bearer entry", "X-A: 1", "cookie: e=2", NULL}, true,
	 "Accept: x/y | X-A: 1"},
	{"an entry credential still replaces -H's for a foreign host",
	 {"Authorization: Bearer cli", NULL},
	 {"Authorization: Bearer entry", NULL}, true, ""},
};

static unsigned count(const char *const *v)
{
	unsigned n = 0;

	while (v[n])
		n++;
	return n;
}

static void merge_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]);
	     i++) {
		const struct merge_case *c = &merge_cases[i];
		struct curl_slist *list = NULL;
		char got[1024] = "";

		assert_int_equal(fm_reqhdr_append(&list, c->conf,
						  count(c->conf),
						  (char *const *)c->entry,
						  count(c->entry), c->foreign),
				 0);
		for (struct curl_slist *l = list; l; l = l->next)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
				 "%s%s", l == list ? "" : " | ", l->data);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->what, got,
				 c->want);
		curl_slist_free_all(list);
	}
}

/* What is appended goes after what the list held: the request's own
 * headers (If-Range, If-None-Match) may come first or later. */
static void appends_to_a_list(void **state)
{
	const char *conf[] = {"A: 1"};
	char *entry[] = {"B: 2"};
	struct curl_slist *list = curl_slist_append(NULL, "If-Range: \"v1\"");

	(void)state;
	assert_non_null(list);
	assert_int_equal(fm_reqhdr_append(&list, conf, 1, entry, 1, false), 0);
	assert_string_equal(list->data, "If-Range: \"v1\"");
	assert_string_equal(list->next->data, "A: 1");
	assert_string_equal(list->next->next->data, "B: 2");
	assert_null(list->next->next->next);
	curl_slist_free_all(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_table),
		cmocka_unit_test(names_and_credentials),
		cmocka_unit_test(merge_table),
		cmocka_unit_test(appends_to_a_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
