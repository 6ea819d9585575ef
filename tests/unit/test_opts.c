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

#include <sys/stat.h>
#include <unistd.h>

#include "fm_opts.h"
#include "ut.h"

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
	char *buf = ut_read_source("man/fetchmany.1"), *w = buf;

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
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);
	char *help = help_text(), *man = man_text();

	assert_true(n >= 10);
	for (size_t i = 0; i < n; i++) {
		if (!has_option(help, t[i].name))
			fail_msg("--%s is missing from --help", t[i].name);
		if (!has_option(man, t[i].name))
			fail_msg("--%s is missing from man/fetchmany.1",
				 t[i].name);
	}
	free(help);
	free(man);
}

/* --help lists the rows in table order, each as "-x, --name ARG" or
 * "--name ARG" at the start of its line. */
static void help_follows_the_table(void **state)
{
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);
	char *help = help_text();
	const char *at = help;

	for (size_t i = 0; i < n; i++) {
		char want[128];

		if (t[i].letter)
			snprintf(want, sizeof(want), "\n  -%c, --%s%s%s",
				 t[i].letter, t[i].name, t[i].arg ? " " : "",
				 t[i].arg ? t[i].arg : "");
		else
			snprintf(want, sizeof(want), "\n      --%s%s%s",
				 t[i].name, t[i].arg ? " " : "",
				 t[i].arg ? t[i].arg : "");
		if (!(at = strstr(at, want)))
			fail_msg("--help lacks \"%s\" after the row before",
				 want + 1);
		at += strlen(want);
	}
	free(help);
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

/* Parses argv; what it printed on err goes to *msg (malloc'd). */
static enum fm_opts_result parse_msg(struct fm_opts *o, char **argv,
				     char **msg)
{
	size_t len;
	FILE *err = open_memstream(msg, &len);
	FILE *devnull = fopen("/dev/null", "w");
	int argc = 0;
	enum fm_opts_result r;

	assert_non_null(err);
	assert_non_null(devnull);
	while (argv[argc])
		argc++;
	r = fm_opts_parse(argc, argv, o, devnull, err);
	fclose(err);
	fclose(devnull);
	return r;
}

/* A value that fits the row's kind, for reaching it. */
static const char *sample_value(const struct fm_opt *r, char *buf,
				size_t cap)
{
	switch (r->kind) {
	case FM_OPT_UINT:
		snprintf(buf, cap, "%lu", r->max);
		return buf;
	case FM_OPT_SECONDS:
		return "0.25";
	case FM_OPT_SIZE:
		return "1.5K";
	case FM_OPT_ENUM:
		return r->values[1];
	default:
		if (strcmp(r->name, "shard") == 0)
			return "2/3";
		if (strcmp(r->name, "header") == 0)
			return "X-A: b";
		if (strcmp(r->name, "retry-on") == 0)
			return "404,52x";
		return "value";
	}
}

/* The size of the field a kind's setter stores into; 0 for SPECIAL. */
static size_t kind_size(enum fm_opt_kind k)
{
	switch (k) {
	case FM_OPT_FLAG:
		return sizeof(bool);
	case FM_OPT_UINT:
		return sizeof(unsigned);
	case FM_OPT_SECONDS:
		return sizeof(double);
	case FM_OPT_SIZE:
		return sizeof(uint64_t);
	case FM_OPT_STRING:
		return sizeof(const char *);
	case FM_OPT_ENUM:
		return sizeof(int);
	default:
		return 0;
	}
}

/* Every row is well formed: a field of its kind's size, and a value
 * (arg) exactly when its kind takes one. */
static void every_row_well_formed(void **state)
{
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);

	for (size_t i = 0; i < n; i++) {
		const struct fm_opt *r = &t[i];

		if (r->size != kind_size(r->kind))
			fail_msg("--%s: a field of %zu bytes for its kind",
				 r->name, r->size);
		if (r->kind != FM_OPT_SPECIAL &&
		    (r->kind == FM_OPT_FLAG) != (r->arg == NULL))
			fail_msg("--%s: arg does not match its kind", r->name);
		if ((r->kind == FM_OPT_SPECIAL) != (r->special != NULL) ||
		    (r->kind == FM_OPT_ENUM) != (r->values != NULL))
			fail_msg("--%s: handler does not match its kind",
				 r->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[j].name, r->name) == 0 ||
			    (r->letter && t[j].letter == r->letter))
				fail_msg("--%s: name or letter used twice",
					 r->name);
	}
}

/* Every row is reached by its long name and by its letter, and a row
 * with a field sets that field (to something else than its default);
 * the two spellings give the same struct. */
static void every_row_reachable(void **state)
{
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);
	char *plain[] = {"fetchmany", NULL};
	struct fm_opts def;

	assert_int_equal(parse(&def, plain), FM_OPTS_RUN);
	for (size_t i = 0; i < n; i++) {
		const struct fm_opt *r = &t[i];
		char buf[32], longname[64], letter[3] = {'-', r->letter, 0};
		/* --config takes a file that exists */
		const char *v = strcmp(r->name, "config") == 0 ? "/dev/null"
				: r->arg ? sample_value(r, buf, sizeof(buf))
					 : NULL;
		char *by_name[] = {"fetchmany", longname, (char *)v, NULL};
		char *by_letter[] = {"fetchmany", letter, (char *)v, NULL};
		struct fm_opts a, b;
		enum fm_opts_result want = r->arg ||
						   r->kind != FM_OPT_SPECIAL ||
						   strcmp(r->name,
							  "no-config") == 0
						   ? FM_OPTS_RUN
						   : FM_OPTS_EXIT;

		snprintf(longname, sizeof(longname), "--%s", r->name);
		if (parse(&a, by_name) != want)
			fail_msg("%s %s: not parsed", longname, v ? v : "");
		if (r->kind != FM_OPT_SPECIAL) {
			assert_true(r->off + r->size <= sizeof(a));
			if (memcmp((char *)&a + r->off, (char *)&def + r->off,
				   r->size) == 0)
				fail_msg("%s %s left its field as it was",
					 longname, v ? v : "");
		}
		if (r->letter) {
			assert_int_equal(parse(&b, by_letter), want);
			if (r->kind != FM_OPT_SPECIAL)
				assert_memory_equal((char *)&a + r->off,
						    (char *)&b + r->off,
						    r->size);
			fm_opts_free(&b);
		}
		fm_opts_free(&a);
	}
}

/* The kinds' rules hold for every row of the kind, with one message:
 * a UINT row takes min and max and refuses min-1 and max+1; a SECONDS
 * row takes fractions and refuses negatives and more than its max; a
 * SIZE row refuses 0; an ENUM row takes each of its values. */
static void bounds_enforced_uniformly(void **state)
{
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);
	int uints = 0, seconds = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fm_opt *r = &t[i];
		char opt[64], ok[2][32], bad[2][32], want[256];
		char *argv[] = {"fetchmany", opt, NULL, NULL};
		const char *what;
		struct fm_opts o;
		char *msg;

		snprintf(opt, sizeof(opt), "--%s", r->name);
		if (r->kind == FM_OPT_UINT) {
			snprintf(ok[0], 32, "%lu", r->min);
			snprintf(ok[1], 32, "%lu", r->max);
			snprintf(bad[0], 32, "%ld", (long)r->min - 1);
			snprintf(bad[1], 32, "%lu", r->max + 1);
			what = "a number from";
			uints++;
		} else if (r->kind == FM_OPT_SECONDS) {
			snprintf(ok[0], 32, "%lu.5", r->min);
			snprintf(ok[1], 32, "%lu", r->max);
			snprintf(bad[0], 32, "%lu.5", r->min - 1);
			snprintf(bad[1], 32, "%lu.25", r->max);
			what = "a number of seconds from";
			seconds++;
		} else {
			continue;
		}
		for (int k = 0; k < 2; k++) {
			argv[2] = ok[k];
			if (parse_msg(&o, argv, &msg) != FM_OPTS_RUN)
				fail_msg("%s %s refused: %s", opt, ok[k], msg);
			free(msg);
			if (r->kind == FM_OPT_SECONDS)
				assert_float_equal(*(double *)((char *)&o +
							       r->off),
						   strtod(ok[k], NULL), 0);
			else
				assert_int_equal(*(unsigned *)((char *)&o +
							       r->off),
						 strtoul(ok[k], NULL, 10));
			argv[2] = bad[k];
			snprintf(want, sizeof(want),
				 "fetchmany: %s: '%s' is not %s %lu to %lu\n",
				 opt, bad[k], what, r->min, r->max);
			assert_int_equal(parse_msg(&o, argv, &msg),
					 FM_OPTS_USAGE);
			assert_string_equal(msg, want);
			free(msg);
		}
	}
	assert_true(uints >= 5);
	assert_true(seconds >= 5);
}

static void sizes_and_enums_say_why(void **state)
{
	char *size0[] = {"fetchmany", "--limit-rate=0", NULL};
	char *big[] = {"fetchmany", "--max-filesize", "1Q", NULL};
	char *never[] = {"fetchmany", "--progress=never", NULL};
	char *sometimes[] = {"fetchmany", "--progress", "sometimes", NULL};
	struct fm_opts o;
	char *msg;

	assert_int_equal(parse_msg(&o, size0, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: --limit-rate: '0' is not a size "
				 "such as 500K or 1.5M\n");
	free(msg);
	assert_int_equal(parse_msg(&o, big, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: --max-filesize: '1Q' is not a "
				 "size such as 500K or 1.5M\n");
	free(msg);
	assert_int_equal(parse_msg(&o, never, &msg), FM_OPTS_RUN);
	assert_int_equal(o.progress, FM_PROGRESS_NEVER);
	free(msg);
	assert_int_equal(parse_msg(&o, sometimes, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: --progress: 'sometimes' is not "
				 "auto, always or never\n");
	free(msg);
}

/* What getopt_long cannot match is named as written. */
static void unknown_and_missing_say_why(void **state)
{
	char *unknown[] = {"fetchmany", "-qZ", NULL};
	char *unknown_long[] = {"fetchmany", "--json=1", NULL};
	char *missing[] = {"fetchmany", "--jobs", NULL};
	char *empty_dir[] = {"fetchmany", "--output-dir=", NULL};
	char *shard[] = {"fetchmany", "--shard", "4/3", NULL};
	struct fm_opts o;
	char *msg;

	assert_int_equal(parse_msg(&o, unknown, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: unknown option '-Z'\n"
				 "Try 'fetchmany --help'.\n");
	free(msg);
	assert_int_equal(parse_msg(&o, unknown_long, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: unknown option '--json=1'\n"
				 "Try 'fetchmany --help'.\n");
	free(msg);
	assert_int_equal(parse_msg(&o, missing, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: option '--jobs' needs a value\n");
	free(msg);
	assert_int_equal(parse_msg(&o, empty_dir, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: --output-dir: empty directory "
				 "name\n");
	free(msg);
	assert_int_equal(parse_msg(&o, shard, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: --shard: '4/3' is not K/N with "
				 "1 <= K <= N\n");
	free(msg);
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

/* ------------------------------------------------------ the defaults file */

/* A fresh XDG_CONFIG_HOME holding fetchmany/config with text (NULL: no
 * file); returns the directory (malloc'd) and the file's path in
 * *file. */
static char *config_home(const char *text, char **file)
{
	char *dir = strdup("/tmp/fm-cfg-XXXXXX"), sub[128];
	FILE *f;

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/fetchmany", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	*file = malloc(strlen(sub) + 8);
	sprintf(*file, "%s/config", sub);
	if (text) {
		f = fopen(*file, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	setenv("XDG_CONFIG_HOME", dir, 1);
	return dir;
}

static void config_home_free(char *dir, char *file)
{
	char sub[128];

	unlink(file);
	snprintf(sub, sizeof(sub), "%s/fetchmany", dir);
	rmdir(sub);
	rmdir(dir);
	free(dir);
	free(file);
	setenv("XDG_CONFIG_HOME", "/nonexistent/fm-test", 1);
}

/* Long options one a line (with or without "=", "--" or quotes), comments
 * and blank lines; the command line wins; repeatable ones add up. */
static void config_defaults_then_command_line(void **state)
{
	char *file, *dir = config_home(
		"# defaults\n"
		"jobs = 7\n"
		"\n"
		"  --user-agent \"agent with blanks\"\n"
		"compressed\n"
		"header = X-From: config\n"
		"retries=5\r\n",
		&file);
	char *argv[] = {"fetchmany", "-r", "1", "-H", "X-Cli: 1", "-", NULL};
	struct fm_opts o;

	assert_int_equal(parse(&o, argv), FM_OPTS_RUN);
	assert_int_equal(o.jobs, 7);
	assert_string_equal(o.user_agent, "agent with blanks");
	assert_true(o.compressed);
	assert_int_equal(o.retries, 1);
	assert_int_equal(o.nheaders, 2);
	assert_string_equal(o.headers[0], "X-From: config");
	assert_string_equal(o.headers[1], "X-Cli: 1");
	fm_opts_free(&o);
	config_home_free(dir, file);
}

/* --no-config reads none; --config FILE reads that one (it must exist); a
 * missing file in the usual place is no error. */
static void config_chosen(void **state)
{
	char *file, *dir = config_home("jobs = 7\n", &file);
	char *none[] = {"fetchmany", "--no-config", "-", NULL};
	char *other = strdup("/tmp/fm-cfg-other-XXXXXX");
	char *named[] = {"fetchmany", "--config", other, "-", NULL};
	char *missing[] = {"fetchmany", "--config=/nonexistent/fm.conf", "-",
			   NULL};
	struct fm_opts o;
	char *msg;
	int fd = mkstemp(other);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "jobs 3\n", 7), 7);
	close(fd);
	assert_int_equal(parse(&o, none), FM_OPTS_RUN);
	assert_int_equal(o.jobs, FM_JOBS_DEFAULT);
	fm_opts_free(&o);
	assert_int_equal(parse(&o, named), FM_OPTS_RUN);
	assert_int_equal(o.jobs, 3);
	fm_opts_free(&o);
	assert_int_equal(parse_msg(&o, missing, &msg), FM_OPTS_USAGE);
	assert_non_null(strstr(msg, "/nonexistent/fm.conf"));
	free(msg);
	unlink(other);
	free(other);
	config_home_free(dir, file);
	dir = config_home(NULL, &file);
	assert_int_equal(parse(&o, none), FM_OPTS_RUN);
	fm_opts_free(&o);
	config_home_free(dir, file);
}

/* An unknown option or a bad value is a usage error naming the file and
 * the line, with the option's own message. */
static void config_errors_name_file_and_line(void **state)
{
	char *file, *dir = config_home("jobs = 4\n# ok\nnope = 1\n", &file);
	char *argv[] = {"fetchmany", "-", NULL};
	struct fm_opts o;
	char *msg, want[256];

	assert_int_equal(parse_msg(&o, argv, &msg), FM_OPTS_USAGE);
	snprintf(want, sizeof(want),
		 "fetchmany: %s:3: unknown option 'nope'\n", file);
	assert_string_equal(msg, want);
	free(msg);
	config_home_free(dir, file);

	dir = config_home("\njobs = many\n", &file);
	assert_int_equal(parse_msg(&o, argv, &msg), FM_OPTS_USAGE);
	snprintf(want, sizeof(want), "fetchmany: %s:2: --jobs: 'many' is not",
		 file);
	assert_non_null(strstr(msg, want));
	free(msg);
	config_home_free(dir, file);

	dir = config_home("compressed = yes\n", &file);
	assert_int_equal(parse_msg(&o, argv, &msg), FM_OPTS_USAGE);
	assert_non_null(strstr(msg, ":1: --compressed takes no value"));
	free(msg);
	config_home_free(dir, file);

	dir = config_home("version\n", &file);
	assert_int_equal(parse_msg(&o, argv, &msg), FM_OPTS_USAGE);
	assert_non_null(strstr(msg, ":1: not an option for a defaults file"));
	free(msg);
	config_home_free(dir, file);
}

/* --checksums is repeatable, kept in order (read at the run's start);
 * an empty name is a usage error that says why. */
static void checksums_repeatable(void **state)
{
	char *good[] = {"fetchmany", "--checksums", "SHA256SUMS",
			"--require-digest", "--checksums=MD5SUMS", NULL};
	char *none[] = {"fetchmany", NULL};
	char *empty[] = {"fetchmany", "--checksums", "", NULL};
	struct fm_opts o;
	char *msg = NULL;

	(void)state;
	assert_int_equal(parse(&o, none), FM_OPTS_RUN);
	assert_int_equal(o.nchecksums, 0);
	assert_false(o.require_digest);
	fm_opts_free(&o);
	assert_int_equal(parse(&o, good), FM_OPTS_RUN);
	assert_int_equal(o.nchecksums, 2);
	assert_string_equal(o.checksums[0], "SHA256SUMS");
	assert_string_equal(o.checksums[1], "MD5SUMS");
	assert_true(o.require_digest);
	fm_opts_free(&o);
	assert_null(o.checksums);
	assert_int_equal(parse_msg(&o, empty, &msg), FM_OPTS_USAGE);
	assert_string_equal(msg, "fetchmany: --checksums: '' is not a file "
				 "name\n");
	free(msg);
}

/* --retry-on: lists add up; a bad one is a usage error that names the
 * option, the list and the item at fault. */
static void retry_on_checked(void **state)
{
	char *good[] = {"fetchmany", "--retry-on", "403,52x", "--retry-on=404",
			NULL};
	char *none[] = {"fetchmany", NULL};
	static const char *const bad[][2] = {
		{"abc", "'abc' is not"},  {"99", "'99' is not"},
		{"6xx", "'6xx' is not"},  {"5xxx", "'5xxx' is not"},
		{"403,,404", "empty item"}, {"", "empty item"},
		{"200", "'200' is not"},
	};
	struct fm_opts o;
	char *msg;

	(void)state;
	assert_int_equal(parse(&o, good), FM_OPTS_RUN);
	assert_true(fm_retry_on_has(&o.retry_on, 403));
	assert_true(fm_retry_on_has(&o.retry_on, 404));
	assert_true(fm_retry_on_has(&o.retry_on, 525));
	assert_false(fm_retry_on_has(&o.retry_on, 405));
	assert_false(fm_retry_on_has(&o.retry_on, 530));
	fm_opts_free(&o);
	assert_int_equal(parse(&o, none), FM_OPTS_RUN);
	for (long st = 100; st < 600; st++)
		assert_false(fm_retry_on_has(&o.retry_on, st));
	fm_opts_free(&o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"fetchmany", "--retry-on", (char *)bad[i][0],
				NULL};
		char want[128];

		assert_int_equal(parse_msg(&o, argv, &msg), FM_OPTS_USAGE);
		snprintf(want, sizeof(want), "fetchmany: --retry-on: '%s': ",
			 bad[i][0]);
		if (strncmp(msg, want, strlen(want)) != 0 ||
		    !strstr(msg, bad[i][1]))
			fail_msg("--retry-on '%s': message \"%s\" should start "
				 "\"%s\" and name \"%s\"", bad[i][0], msg, want,
				 bad[i][1]);
		free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_option_in_help_and_man),
		cmocka_unit_test(help_follows_the_table),
		cmocka_unit_test(every_row_well_formed),
		cmocka_unit_test(every_row_reachable),
		cmocka_unit_test(bounds_enforced_uniformly),
		cmocka_unit_test(sizes_and_enums_say_why),
		cmocka_unit_test(unknown_and_missing_say_why),
		cmocka_unit_test(help_fits_80_columns),
		cmocka_unit_test(defaults_from_the_spec),
		cmocka_unit_test(values_parsed),
		cmocka_unit_test(bad_values_are_usage_errors),
		cmocka_unit_test(sizes_and_shards),
		cmocka_unit_test(headers_checked),
		cmocka_unit_test(config_defaults_then_command_line),
		cmocka_unit_test(config_chosen),
		cmocka_unit_test(config_errors_name_file_and_line),
		cmocka_unit_test(checksums_repeatable),
		cmocka_unit_test(retry_on_checked),
	};

	/* No developer's own defaults file in these tests. */
	setenv("XDG_CONFIG_HOME", "/nonexistent/fm-test", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
