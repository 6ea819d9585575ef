/* test_opts.c: the option table, --help and the man page agree; values
 * are checked with clear errors. */
#define _GNU_SOURCE /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_opts.h"

static char *help_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fm_opts_usage(f);
	fclose(f);
	return buf;
}

/* The man page with roff's "\-" turned into "-". */
static char *man_text(void)
{
	const char *src = getenv("FM_SRCDIR");
	char path[4096];
	FILE *f;
	char *buf, *w;
	long n;

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/man/fetchmany.1", src);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	w = buf;
	for (char *r = buf; *r; r++) {
		if (r[0] == '\\' && r[1] == '-')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	return buf;
}

static bool has_option(const char *text, const char *name)
{
	char want[64];
	const char *p = text;
	size_t n;

	snprintf(want, sizeof(want), "--%s", name);
	n = strlen(want);
	/* whole option names only: --backoff must not match --backoff-max */
	while ((p = strstr(p, want))) {
		char next = p[n];

		if (next != '-' && (next < 'a' || next > 'z'))
			return true;
		p += n;
	}
	return false;
}

static void every_option_in_help_and_man(void **state)
{
	const char *const *names = fm_opts_names();
	char *help = help_text(), *man = man_text();
	int count = 0;

	for (; *names; names++, count++) {
		if (!has_option(help, *names))
			fail_msg("--%s is missing from --help", *names);
		if (!has_option(man, *names))
			fail_msg("--%s is missing from man/fetchmany.1", *names);
	}
	assert_true(count >= 10);
	free(help);
	free(man);
}

static void help_fits_80_columns(void **state)
{
	char *help = help_text();
	char *line = help;

	while (line && *line) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len > 79)
			fail_msg("help line over 79 columns: %.*s", (int)len,
				 line);
		line = nl ? nl + 1 : NULL;
	}
	free(help);
}

static enum fm_opts_result parse(struct fm_opts *o, char **argv)
{
	int argc = 0;
	FILE *devnull = fopen("/dev/null", "w");
	enum fm_opts_result r;

	while (argv[argc])
		argc++;
	r = fm_opts_parse(argc, argv, o, devnull, devnull);
	fclose(devnull);
	return r;
}

static void defaults_from_the_spec(void **state)
{
	char *argv[] = {"fetchmany", "list.txt", NULL};
	struct fm_opts o;

	assert_int_equal(parse(&o, argv), FM_OPTS_RUN);
	assert_int_equal(o.jobs, 16);
	assert_string_equal(o.output_dir, ".");
	assert_int_equal(o.retries, 3);
	assert_float_equal(o.connect_timeout, 10, 0);
	assert_float_equal(o.timeout, 0, 0);
	assert_float_equal(o.stall_timeout, 30, 0);
	assert_float_equal(o.backoff, 1, 0);
	assert_float_equal(o.backoff_max, 30, 0);
	assert_false(o.fail_fast);
	assert_int_equal(o.threads, 0);
	assert_int_equal(o.ninputs, 1);
}

static void values_parsed(void **state)
{
	char *argv[] = {"fetchmany", "-j", "50", "--stall-timeout", "0.5",
			"-r0", "--backoff=0.2", "-t", "1.5", "--threads", "3",
			"-", "http://h/x", NULL};
	struct fm_opts o;

	assert_int_equal(parse(&o, argv), FM_OPTS_RUN);
	assert_int_equal(o.jobs, 50);
	assert_float_equal(o.stall_timeout, 0.5, 1e-12);
	assert_int_equal(o.retries, 0);
	assert_float_equal(o.backoff, 0.2, 1e-12);
	assert_float_equal(o.timeout, 1.5, 1e-12);
	assert_int_equal(o.threads, 3);
	assert_int_equal(o.ninputs, 2);
}

static void bad_values_are_usage_errors(void **state)
{
	static const char *const bad[][3] = {
		{"-j", "0"},        {"-j", "10001"},  {"-j", "5x"},
		{"-j", "-3"},       {"-r", "1001"},   {"-t", "-1"},
		{"-t", "nan"},      {"-t", "inf"},    {"--backoff", ""},
		{"--stall-timeout", "1s"}, {"-o", ""},
		{"--threads", "65"}, {"--threads", "-1"}, {"--threads", "2x"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"fetchmany", (char *)bad[i][0],
				(char *)bad[i][1], NULL};
		struct fm_opts o;

		if (parse(&o, argv) != FM_OPTS_USAGE)
			fail_msg("%s '%s' was accepted", bad[i][0], bad[i][1]);
	}
	char *unknown[] = {"fetchmany", "--no-such-option", NULL};
	char *missing[] = {"fetchmany", "-j", NULL};
	struct fm_opts o;

	assert_int_equal(parse(&o, unknown), FM_OPTS_USAGE);
	assert_int_equal(parse(&o, missing), FM_OPTS_USAGE);
}

static void sizes_and_shards(void **state)
{
	uint64_t v;
	unsigned k, n;

	assert_int_equal(fm_parse_size("500", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(fm_parse_size("1K", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(fm_parse_size("1.5M", &v), 0);
	assert_int_equal(v, 1572864);
	assert_int_equal(fm_parse_size("2g", &v), 0);
	assert_int_equal(v, 2147483648ULL);
	assert_int_equal(fm_parse_size("10MiB", &v), 0);
	assert_int_equal(v, 10485760);
	assert_int_equal(fm_parse_size("3kb", &v), 0);
	assert_int_equal(v, 3072);
	assert_int_equal(fm_parse_size("0", &v), -1);
	assert_int_equal(fm_parse_size("-1K", &v), -1);
	assert_int_equal(fm_parse_size("1X", &v), -1);
	assert_int_equal(fm_parse_size("1KX", &v), -1);
	assert_int_equal(fm_parse_size("", &v), -1);
	assert_int_equal(fm_parse_size("nan", &v), -1);
	assert_int_equal(fm_parse_size("99999999T", &v), -1);

	assert_int_equal(fm_parse_shard("1/3", &k, &n), 0);
	assert_int_equal(k, 1);
	assert_int_equal(n, 3);
	assert_int_equal(fm_parse_shard("3/3", &k, &n), 0);
	assert_int_equal(fm_parse_shard("0/3", &k, &n), -1);
	assert_int_equal(fm_parse_shard("4/3", &k, &n), -1);
	assert_int_equal(fm_parse_shard("1/0", &k, &n), -1);
	assert_int_equal(fm_parse_shard("1", &k, &n), -1);
	assert_int_equal(fm_parse_shard("a/b", &k, &n), -1);
	assert_int_equal(fm_parse_shard("1/3/4", &k, &n), -1);
}

static void headers_checked(void **state)
{
	char *good[] = {"fetchmany", "-H", "Authorization: Bearer x", "-H",
			"X-Empty;", "-H", "Accept:", NULL};
	char *bad[][4] = {
		{"fetchmany", "-H", "no colon here", NULL},
		{"fetchmany", "-H", ": value", NULL},
		{"fetchmany", "-H", "Bad Name: v", NULL},
		{"fetchmany", "-H", "X: a\r\nInjected: 1", NULL},
	};
	struct fm_opts o;

	assert_int_equal(parse(&o, good), FM_OPTS_RUN);
	assert_int_equal(o.nheaders, 3);
	assert_string_equal(o.headers[0], "Authorization: Bearer x");
	fm_opts_free(&o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(&o, bad[i]) != FM_OPTS_USAGE)
			fail_msg("header '%s' was accepted", bad[i][2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_option_in_help_and_man),
		cmocka_unit_test(help_fits_80_columns),
		cmocka_unit_test(defaults_from_the_spec),
		cmocka_unit_test(values_parsed),
		cmocka_unit_test(bad_values_are_usage_errors),
		cmocka_unit_test(sizes_and_shards),
		cmocka_unit_test(headers_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
