/* test_completion.c: the shell completions (data/fetchmany.bash and
 * data/_fetchmany) offer what the binary accepts.
 *
 * The bash function is run for real: bash --norc --noprofile sources the
 * file, sets COMP_WORDS and COMP_CWORD as readline would, calls _fetchmany
 * and prints COMPREPLY. Every option that `$FM_BIN --help` lists must be
 * offered by it and named in the zsh file, and neither may offer an option
 * the binary does not have. The option table itself (fm_opts_table())
 * is checked too: every row is in both files, and each takes a value in
 * zsh and in bash exactly when its row does. Skipped, with the reason on
 * stderr, when bash is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fm_opts.h"
#include "ut.h"

#define MAX_WORDS 256

/* The bash run by complete(): $1 is the source root, the rest the words
 * of the command line; the last word is the one being completed. It
 * prints COMPREPLY joined by single spaces, then a newline. */
static const char complete_script[] =
	"set -u\n"
	". \"$1/data/fetchmany.bash\" || exit 3\n"
	"shift\n"
	"COMP_WORDS=(\"$@\")\n"
	"COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
	"COMP_LINE=\"${COMP_WORDS[*]}\"\n"
	"COMP_POINT=${#COMP_LINE}\n"
	"COMPREPLY=()\n"
	"_fetchmany || exit 4\n"
	"IFS=' '\n"
	"printf '%s\\n' \"${COMPREPLY[*]}\"\n";

static char bash_path[4096];

static const char *srcdir(void)
{
	const char *s = getenv("FM_SRCDIR");

	if (!s || !*s)
		fail_msg("FM_SRCDIR is not set");
	return s;
}

static const char *fm_bin(void)
{
	const char *s = getenv("FM_BIN");

	if (!s || !*s)
		fail_msg("FM_BIN is not set");
	return s;
}

/* Looks bash up in PATH; false when it is not there. */
static bool find_bash(void)
{
	const char *path = getenv("PATH");
	const char *p = path && *path ? path : "/usr/bin:/bin";

	while (*p) {
		size_t n = strcspn(p, ":");
		int w = snprintf(bash_path, sizeof(bash_path), "%.*s/bash",
				 n ? (int)n : 1, n ? p : ".");

		if (w > 0 && (size_t)w < sizeof(bash_path) &&
		    access(bash_path, X_OK) == 0)
			return true;
		p += n;
		if (*p == ':')
			p++;
	}
	bash_path[0] = '\0';
	return false;
}

/* Runs argv with stdin from /dev/null and returns its standard output
 * (malloc'd, NUL-terminated); its exit status goes to *status (-1 when it
 * did not exit normally). Its standard error is the test's. */
static char *capture(const char *const argv[], int *status)
{
	int fds[2], ws;
	pid_t pid;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	fflush(NULL);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(fds[1], 1) < 0)
			_exit(126);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "test_completion: exec %s failed\n", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = read(fds[0], buf + len, cap - len - 1);
		if (r < 0)
			fail_msg("reading the output of %s failed", argv[0]);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fds[0]);
	buf[len] = '\0';
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	return buf;
}

/* What _fetchmany offers for the command line words (NULL-terminated;
 * the last one is being completed), as one line of space-separated
 * words without the newline. */
static char *complete(const char *const words[])
{
	const char *argv[MAX_WORDS];
	size_t n = 0;
	int status;
	char *out;
	size_t len;

	argv[n++] = bash_path;
	argv[n++] = "--norc";
	argv[n++] = "--noprofile";
	argv[n++] = "-c";
	argv[n++] = complete_script;
	argv[n++] = "bash";
	argv[n++] = srcdir();
	for (size_t i = 0; words[i]; i++) {
		assert_true(n < MAX_WORDS - 1);
		argv[n++] = words[i];
	}
	argv[n] = NULL;
	out = capture(argv, &status);
	if (status != 0)
		fail_msg("completing with data/fetchmany.bash: bash exited "
			 "%d, output \"%s\"", status, out);
	len = strlen(out);
	if (len == 0 || out[len - 1] != '\n')
		fail_msg("completion output not one line: \"%s\"", out);
	out[len - 1] = '\0';
	return out;
}

static void assert_completes(const char *const words[], const char *want)
{
	char *got = complete(words);

	if (strcmp(got, want) != 0)
		fail_msg("completing \"%s\": want \"%s\", got \"%s\"",
			 words[1] ? words[1] : "", want, got);
	free(got);
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Long option names ("--name", malloc'd) found in text: "--" at the start
 * or after a blank, comma, quote, brace or bracket, followed by a letter
 * or digit, then [a-z0-9-]*. Duplicates are left out. Returns how many
 * went into names[]. */
static size_t long_options(const char *text, char *names[], size_t max)
{
	size_t count = 0;

	for (const char *p = text; (p = strstr(p, "--")); p += 2) {
		const char *e = p + 2;
		bool dup = false;
		size_t len;
		char *name;

		if (p > text && !strchr(" \t\n,'\"{([", p[-1]))
			continue;
		if (!((*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9')))
			continue;
		while (is_name_char(*e))
			e++;
		len = (size_t)(e - p);
		for (size_t i = 0; i < count; i++)
			if (strlen(names[i]) == len &&
			    strncmp(names[i], p, len) == 0)
				dup = true;
		if (dup)
			continue;
		assert_true(count < max);
		name = malloc(len + 1);
		assert_non_null(name);
		memcpy(name, p, len);
		name[len] = '\0';
		names[count++] = name;
	}
	return count;
}

/* Short options in the help text: lines "  -x, --long ...". Writes the
 * letters into letters[] (NUL-terminated). */
static void short_options(const char *help, char *letters, size_t cap)
{
	size_t n = 0;

	for (const char *l = help; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1
							     : l + strlen(l)) {
		const char *p = l;

		while (*p == ' ')
			p++;
		if (p > l && p[0] == '-' && p[1] && p[1] != '-' &&
		    p[2] == ',') {
			assert_true(n + 1 < cap);
			letters[n++] = p[1];
		}
	}
	letters[n] = '\0';
}

/* text holds opt as a whole option (--backoff does not count as
 * --backoff-max, nor -c inside -cx). */
static bool has_word(const char *text, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = text; (p = strstr(p, opt)); p += n)
		if (!is_name_char(p[n]) && (p == text || !is_name_char(p[-1])))
			return true;
	return false;
}

/* words (space-separated) holds exactly w as one of its words. */
static bool has_exact_word(const char *words, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = words; (p = strstr(p, w)); p += n)
		if ((p == words || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static char *help_text(void)
{
	const char *argv[] = { fm_bin(), "--help", NULL };
	int status;
	char *out = capture(argv, &status);

	assert_int_equal(status, 0);
	return out;
}

static int setup(void **state)
{
	if (!find_bash()) {
		fprintf(stderr, "test_completion: skipped: bash not found in "
			"PATH (%s)\n", getenv("PATH") ? getenv("PATH") : "");
	}
	return 0;
}

#define NEED_BASH()                                                          \
	do {                                                                 \
		if (!bash_path[0])                                           \
			skip(); /* the reason was printed by setup() */      \
	} while (0)

/* The file registers the function for fetchmany. */
static void registered(void **state)
{
	const char *argv[] = {
		NULL, "--norc", "--noprofile", "-c",
		". \"$1/data/fetchmany.bash\" && complete -p fetchmany",
		"bash", NULL, NULL,
	};
	int status;
	char *out;

	NEED_BASH();
	argv[0] = bash_path;
	argv[6] = srcdir();
	out = capture(argv, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "complete -F _fetchmany fetchmany\n");
	free(out);
}

static void unique_prefix(void **state)
{
	const char *const max_f[] = { "fetchmany", "--max-f", NULL };
	/* "--pro" is --progress and --proxy: "--prog" is one */
	const char *const pro[] = { "fetchmany", "--prog", NULL };
	const char *const later[] = { "fetchmany", "-j", "4", "--prog", NULL };
	const char *const both[] = { "fetchmany", "--pro", NULL };

	NEED_BASH();
	assert_completes(max_f, "--max-filesize");
	assert_completes(pro, "--progress");
	assert_completes(later, "--progress");
	assert_completes(both, "--proxy --progress");
}

static void progress_values(void **state)
{
	const char *const next[] = { "fetchmany", "--progress", "", NULL };
	const char *const part[] = { "fetchmany", "--progress", "ne", NULL };
	/* "--progress=al" as bash splits it at '=' (COMP_WORDBREAKS). */
	const char *const split[] = { "fetchmany", "--progress", "=", "al",
				      NULL };
	const char *const eq[] = { "fetchmany", "--progress", "=", NULL };
	/* ... and as one word when '=' is not a word break. */
	const char *const joined[] = { "fetchmany", "--progress=al", NULL };

	NEED_BASH();
	assert_completes(next, "auto always never");
	assert_completes(part, "never");
	assert_completes(split, "always");
	assert_completes(eq, "auto always never");
	assert_completes(joined, "--progress=always");
}

/* Options whose value is a number, a size or a string offer nothing. */
static void free_values_offer_nothing(void **state)
{
	static const char *const opts[] = {
		"--shard", "--jobs", "-j", "--max-filesize", "--header", "-H",
		"--user-agent", "--limit-rate", "--retries", NULL,
	};

	NEED_BASH();
	for (size_t i = 0; opts[i]; i++) {
		const char *const w[] = { "fetchmany", opts[i], "", NULL };

		assert_completes(w, "");
	}
}

/* Makes path (relative to the current directory) as an empty file. */
static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

/* Number of space-separated words in s. */
static size_t word_count(const char *s)
{
	size_t n = 0;

	for (const char *p = s; *p; p++)
		if (*p != ' ' && (p == s || p[-1] == ' '))
			n++;
	return n;
}

/* --output-dir offers directories only; --cacert, --netrc-file and a LIST
 * argument offer files. Checked in a fresh directory holding the
 * directories d1 and d2 and the files f1 and f2 (compgen completes
 * relative to the current directory, in no promised order). */
static void files_and_directories(void **state)
{
	static const char *const file_opts[] = {
		"--cacert", "--netrc-file", NULL,
	};
	const char *const dir[] = { "fetchmany", "--output-dir", "", NULL };
	const char *const dir_o[] = { "fetchmany", "-o", "d", NULL };
	const char *const dir_eq[] = { "fetchmany", "--output-dir=d1", NULL };
	const char *const list[] = { "fetchmany", "-j", "4", "f", NULL };
	const char *const list2[] = { "fetchmany", "-q", "f", NULL };
	char tmpl[] = "/tmp/fm-completion-XXXXXX";
	char *cwd, *got;

	NEED_BASH();
	(void)srcdir();
	assert_non_null(mkdtemp(tmpl));
	cwd = getcwd(NULL, 0);
	assert_non_null(cwd);
	assert_int_equal(chdir(tmpl), 0);
	assert_int_equal(mkdir("d1", 0755), 0);
	assert_int_equal(mkdir("d2", 0755), 0);
	touch("f1");
	touch("f2");

	got = complete(dir);
	assert_int_equal(word_count(got), 2);
	assert_true(has_exact_word(got, "d1"));
	assert_true(has_exact_word(got, "d2"));
	free(got);
	got = complete(dir_o);
	assert_int_equal(word_count(got), 2);
	assert_true(has_exact_word(got, "d1"));
	assert_true(has_exact_word(got, "d2"));
	free(got);
	assert_completes(dir_eq, "--output-dir=d1");
	for (size_t i = 0; file_opts[i]; i++) {
		const char *const w[] = { "fetchmany", file_opts[i], "f",
					  NULL };

		got = complete(w);
		assert_int_equal(word_count(got), 2);
		assert_true(has_exact_word(got, "f1"));
		assert_true(has_exact_word(got, "f2"));
		free(got);
	}
	got = complete(list);
	assert_int_equal(word_count(got), 2);
	assert_true(has_exact_word(got, "f1"));
	assert_true(has_exact_word(got, "f2"));
	free(got);
	got = complete(list2);
	assert_int_equal(word_count(got), 2);
	free(got);

	unlink("f1");
	unlink("f2");
	rmdir("d1");
	rmdir("d2");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rmdir(tmpl), 0);
	free(cwd);
}

/* Every option of --help is offered by bash for "--" (long) and "-"
 * (short and long), and named in the zsh file; neither completion offers
 * an option the binary does not list. */
static void every_option_covered(void **state)
{
	const char *const dd[] = { "fetchmany", "--", NULL };
	const char *const d[] = { "fetchmany", "-", NULL };
	char *help, *zsh, *bash_long, *bash_all;
	char *names[MAX_WORDS], *znames[MAX_WORDS], *bnames[MAX_WORDS];
	char letters[64];
	size_t n, zn, bn;
	int missing = 0;

	NEED_BASH();
	help = help_text();
	zsh = ut_read_source("data/_fetchmany");
	bash_long = complete(dd);
	bash_all = complete(d);

	n = long_options(help, names, MAX_WORDS);
	/* A sanity floor, so that a parse of nothing cannot pass. */
	if (n < 10)
		fail_msg("found only %zu long options in --help:\n%s", n,
			 help);
	for (size_t i = 0; i < n; i++) {
		if (!has_exact_word(bash_long, names[i])) {
			fprintf(stderr, "# bash does not offer %s for --\n",
				names[i]);
			missing++;
		}
		if (!has_exact_word(bash_all, names[i])) {
			fprintf(stderr, "# bash does not offer %s for -\n",
				names[i]);
			missing++;
		}
		if (!has_word(zsh, names[i])) {
			fprintf(stderr, "# data/_fetchmany lacks %s\n",
				names[i]);
			missing++;
		}
	}

	short_options(help, letters, sizeof(letters));
	if (strlen(letters) < 5)
		fail_msg("found only %zu short options in --help",
			 strlen(letters));
	for (const char *c = letters; *c; c++) {
		char opt[3] = { '-', *c, '\0' };
		/* zsh specs read '{-x,--long}' or '{-x+,--long=}'. */
		char plain[5] = { '{', '-', *c, ',', '\0' };
		char valued[6] = { '{', '-', *c, '+', ',', '\0' };

		if (!has_exact_word(bash_all, opt)) {
			fprintf(stderr, "# bash does not offer %s for -\n",
				opt);
			missing++;
		}
		if (!strstr(zsh, plain) && !strstr(zsh, valued)) {
			fprintf(stderr, "# data/_fetchmany lacks %s\n", opt);
			missing++;
		}
	}

	/* Nothing extra: every "--name" either file offers is in --help. */
	bn = long_options(bash_all, bnames, MAX_WORDS);
	zn = long_options(zsh, znames, MAX_WORDS);
	for (size_t i = 0; i < bn; i++)
		if (!has_word(help, bnames[i])) {
			fprintf(stderr, "# bash offers unknown %s\n",
				bnames[i]);
			missing++;
		}
	for (size_t i = 0; i < zn; i++)
		if (!has_word(help, znames[i])) {
			fprintf(stderr, "# data/_fetchmany names unknown %s\n",
				znames[i]);
			missing++;
		}
	if (missing)
		fail_msg("%d completion problems (listed above)", missing);

	for (size_t i = 0; i < n; i++)
		free(names[i]);
	for (size_t i = 0; i < bn; i++)
		free(bnames[i]);
	for (size_t i = 0; i < zn; i++)
		free(znames[i]);
	free(help);
	free(zsh);
	free(bash_long);
	free(bash_all);
}

/* Every row of the option table is named in the zsh file, with a value
 * ("--name=" / "-x+") exactly when the row takes one. */
static void table_in_zsh(void **state)
{
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);
	char *zsh = ut_read_source("data/_fetchmany");
	int missing = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fm_opt *r = &t[i];
		char spec[3][80];
		bool found;

		/* '--name=[' alone ('*--name=[' when repeatable), or in
		 * {-x+,--name=} after the letter. */
		snprintf(spec[0], sizeof(spec[0]), "'--%s%s[", r->name,
			 r->arg ? "=" : "");
		snprintf(spec[1], sizeof(spec[1]), "{-%c%s,--%s%s}",
			 r->letter, r->arg ? "+" : "", r->name,
			 r->arg ? "=" : "");
		snprintf(spec[2], sizeof(spec[2]), "'*--%s%s[", r->name,
			 r->arg ? "=" : "");
		found = r->letter ? strstr(zsh, spec[1]) != NULL
				  : strstr(zsh, spec[0]) || strstr(zsh, spec[2]);
		if (!found) {
			fprintf(stderr, "# data/_fetchmany lacks %s\n",
				r->letter ? spec[1] : spec[0]);
			missing++;
		}
	}
	if (missing)
		fail_msg("%d rows not in data/_fetchmany (listed above)",
			 missing);
	free(zsh);
}

/* Every row is offered by bash, and a short option takes the next word
 * as its value exactly when its row has one: in a directory holding
 * only the file f1, "-x ''" offers f1 (a LIST) after a flag and nothing
 * after an option with a value (-o offers directories only). */
static void table_in_bash(void **state)
{
	const char *const dd[] = { "fetchmany", "--", NULL };
	const char *const d[] = { "fetchmany", "-", NULL };
	size_t n;
	const struct fm_opt *t = fm_opts_table(&n);
	char tmpl[] = "/tmp/fm-completion-XXXXXX";
	char *bash_long, *bash_all, *cwd;
	int missing = 0;

	NEED_BASH();
	(void)srcdir();
	bash_long = complete(dd);
	bash_all = complete(d);
	assert_non_null(mkdtemp(tmpl));
	cwd = getcwd(NULL, 0);
	assert_non_null(cwd);
	assert_int_equal(chdir(tmpl), 0);
	touch("f1");
	for (size_t i = 0; i < n; i++) {
		const struct fm_opt *r = &t[i];
		char name[64], letter[3] = { '-', r->letter, '\0' };

		snprintf(name, sizeof(name), "--%s", r->name);
		if (!has_exact_word(bash_long, name) ||
		    !has_exact_word(bash_all, name)) {
			fprintf(stderr, "# bash does not offer %s\n", name);
			missing++;
		}
		if (r->letter) {
			const char *const w[] = { "fetchmany", letter, "",
						  NULL };
			char *got;

			if (!has_exact_word(bash_all, letter)) {
				fprintf(stderr, "# bash does not offer %s\n",
					letter);
				missing++;
			}
			got = complete(w);
			if (strcmp(got, r->arg ? "" : "f1") != 0) {
				fprintf(stderr, "# bash after %s offers "
					"\"%s\"\n", letter, got);
				missing++;
			}
			free(got);
		}
	}
	unlink("f1");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rmdir(tmpl), 0);
	free(cwd);
	free(bash_long);
	free(bash_all);
	if (missing)
		fail_msg("%d rows not in data/fetchmany.bash (listed above)",
			 missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registered),
		cmocka_unit_test(unique_prefix),
		cmocka_unit_test(progress_values),
		cmocka_unit_test(free_values_offer_nothing),
		cmocka_unit_test(files_and_directories),
		cmocka_unit_test(every_option_covered),
		cmocka_unit_test(table_in_zsh),
		cmocka_unit_test(table_in_bash),
	};

	return cmocka_run_group_tests_name("completion", tests, setup, NULL);
}
