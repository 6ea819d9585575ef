/* Integration: the live progress line (--progress) on a real terminal.
 *
 * fetchmany runs under forkpty() with its standard error on a
 * pseudo-terminal 60 columns wide, and everything it writes there is read
 * from the master side: the line is redrawn after "\r\e[K", shows the
 * done/known counter and the running transfers, never reaches the last
 * column, and is erased for good before the summary. It is not drawn on a
 * pipe, under -q or with --progress=never, and is with --progress=always
 * even on a pipe. With standard output on the same terminal, every result
 * line starts at column 0, never glued to a progress line. */
#define _DEFAULT_SOURCE /* forkpty, TIOCSWINSZ */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"

#define ERASE "\r\033[K"
#define ERASE_LEN 4
#define PTY_COLS 60

/* The long run: 20 bodies of 200000 bytes, each sent in 1 KiB pieces
 * 10 ms apart (about 2 s a body), 4 at a time: about 10 s in all, plenty
 * of 100 ms redraws. */
#define LONG_N 20
#define LONG_STEM "p" /* /data/pN?QUERY */
#define LONG_QUERY "size=200000&trickle=0.01"
/* The short run for the cases that look for the line's absence (and for
 * --progress=always, which shows that this run is long enough to draw
 * it): 8 bodies of 50000 bytes, about 0.5 s each, 4 at a time: about 1 s,
 * some ten redraws had the line been on. */
#define SHORT_N 8
#define SHORT_STEM "q"
#define SHORT_QUERY "size=50000&trickle=0.01"

static const char *const proxy_vars[] = {
	"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
	"all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", NULL,
};

/* ----------------------------------------------------------- pty runs */

struct raw_buf {
	char *data; /* NUL-terminated when not NULL */
	size_t len, cap;
};

struct pty_run {
	int exited;
	int exit_code;
	int signaled;
	int timed_out;
	struct raw_buf tty;  /* everything read from the pty master */
	struct raw_buf out;  /* stdout, when it was a pipe */
};

static void raw_append(struct raw_buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->data = realloc(b->data, cap);
		assert_non_null(b->data);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Reads what fd has; returns false at end of file (or EIO: the pty's
 * slave side is closed everywhere). */
static bool drain(int fd, struct raw_buf *b)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n > 0) {
		raw_append(b, chunk, (size_t)n);
		return true;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	return false;
}

/* Runs argv in cwd with its standard error (and standard output too when
 * stdout_on_tty, a pipe otherwise) on a new pseudo-terminal PTY_COLS
 * columns wide; standard input is /dev/null. Reads the terminal and the
 * pipe until both are closed, killing the child after IT_RUN_TIMEOUT. */
static void run_pty(const char *const argv[], const char *cwd,
		    bool stdout_on_tty, struct pty_run *r)
{
	struct winsize ws = { .ws_row = 24, .ws_col = PTY_COLS };
	struct winsize got;
	int outp[2] = { -1, -1 }, master = -1, status;
	double deadline = it_now() + IT_RUN_TIMEOUT;
	bool tty_open = true, out_open = !stdout_on_tty;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	raw_append(&r->tty, "", 0);
	raw_append(&r->out, "", 0);
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	if (!stdout_on_tty)
		assert_int_equal(pipe(outp), 0);
	pid = forkpty(&master, NULL, NULL, &ws);
	assert_true(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		signal(SIGPIPE, SIG_DFL);
		/* forkpty set the size already; say it again, on the very
		 * terminal fetchmany will ask. */
		if (ioctl(STDERR_FILENO, TIOCSWINSZ, &ws) != 0)
			_exit(126);
		if (nul < 0 || dup2(nul, STDIN_FILENO) < 0)
			_exit(126);
		if (!stdout_on_tty) {
			if (dup2(outp[1], STDOUT_FILENO) < 0)
				_exit(126);
			close(outp[0]);
			close(outp[1]);
		}
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		for (size_t i = 0; proxy_vars[i]; i++)
			unsetenv(proxy_vars[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	(void)fcntl(master, F_SETFD, FD_CLOEXEC);
	if (!stdout_on_tty) {
		close(outp[1]);
		(void)fcntl(outp[0], F_SETFD, FD_CLOEXEC);
	}
	assert_int_equal(ioctl(master, TIOCGWINSZ, &got), 0);
	assert_int_equal(got.ws_col, PTY_COLS);

	while (tty_open || out_open) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int i_tty = -1, i_out = -1;
		double left = deadline - it_now();

		if (left <= 0) {
			if (r->timed_out)
				break; /* killed, and still not closed */
			kill(pid, SIGKILL);
			r->timed_out = 1;
			deadline = it_now() + 5;
			continue;
		}
		if (tty_open) {
			i_tty = (int)n;
			pfd[n++] = (struct pollfd){ .fd = master,
						    .events = POLLIN };
		}
		if (out_open) {
			i_out = (int)n;
			pfd[n++] = (struct pollfd){ .fd = outp[0],
						    .events = POLLIN };
		}
		if (poll(pfd, n, left > 0.1 ? 100 : (int)(left * 1000) + 1) <
		    0)
			continue;
		if (i_tty >= 0 && pfd[i_tty].revents)
			tty_open = drain(master, &r->tty);
		if (i_out >= 0 && pfd[i_out].revents)
			out_open = drain(outp[0], &r->out);
	}
	close(master);
	if (!stdout_on_tty)
		close(outp[0]);
	if (r->timed_out)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status)) {
		r->exited = 1;
		r->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->signaled = WTERMSIG(status);
	}
}

static void pty_run_free(struct pty_run *r)
{
	free(r->tty.data);
	free(r->out.data);
}

/* Prints s on stderr with \r, \n, ESC and tabs made visible, one output
 * line per terminal line. */
static void dump_escaped(const char *title, const char *s)
{
	fprintf(stderr, "---- %s\n", title);
	for (; *s; s++) {
		switch (*s) {
		case '\r': fputs("\\r", stderr); break;
		case '\n': fputs("\\n\n", stderr); break;
		case '\033': fputs("\\e", stderr); break;
		case '\t': fputs("\\t", stderr); break;
		default: fputc(*s, stderr); break;
		}
	}
	fputs("\n----\n", stderr);
}

static void dump_pty(const struct pty_run *r)
{
	fprintf(stderr, "exit: %s %d%s\n", r->exited ? "status" : "signal",
		r->exited ? r->exit_code : r->signaled,
		r->timed_out ? " (killed: timed out)" : "");
	dump_escaped("terminal", r->tty.data);
	dump_escaped("stdout pipe", r->out.data);
}

#define PTY_FAIL(r, ...)                                                     \
	do {                                                                 \
		dump_pty(r);                                                 \
		fail_msg(__VA_ARGS__);                                       \
	} while (0)

static void assert_pty_exit(const struct pty_run *r, int code)
{
	if (r->timed_out || !r->exited || r->exit_code != code)
		PTY_FAIL(r, "exit: want status %d, got %s %d%s", code,
			 r->exited ? "status" : "signal",
			 r->exited ? r->exit_code : r->signaled,
			 r->timed_out ? " (timed out)" : "");
}

/* ------------------------------------------------------------- helpers */

/* argv: fetchmany -o dl -j 4 [extra...] URL*n (NULL-terminated extra),
 * the URLs /data/STEM0?QUERY ... /data/STEM(n-1)?QUERY, malloc'd into
 * urls[] (freed by free_urls). */
#define MAX_ARGV 64

static void build_argv(const struct it_fixture *f, const char *argv[],
		       char *urls[], int n, const char *stem,
		       const char *query, const char *const extra[])
{
	size_t k = 0;

	argv[k++] = it_bin();
	argv[k++] = "-o";
	argv[k++] = "dl";
	argv[k++] = "-j";
	argv[k++] = "4";
	for (size_t i = 0; extra && extra[i]; i++)
		argv[k++] = extra[i];
	for (int i = 0; i < n; i++) {
		char pq[128];

		snprintf(pq, sizeof(pq), "/data/%s%d?%s", stem, i, query);
		urls[i] = it_url(&f->srv, pq);
		argv[k++] = urls[i];
	}
	assert_true(k < MAX_ARGV);
	argv[k] = NULL;
}

static void free_urls(char *urls[], int n)
{
	for (int i = 0; i < n; i++)
		free(urls[i]);
}

/* Number of lines of text that start with "ok\t200\t". */
static int count_ok_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; p;) {
		if (it_starts_with(p, "ok\t200\t"))
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static size_t count_str(const char *text, const char *s)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

/* A progress line: "DONE/KNOWN" (KNOWN followed by '+' while the lists
 * are being read) as its first field. Returns true and the numbers when
 * seg starts so. */
static bool parse_counter(const char *seg, unsigned long *done,
			  unsigned long *known)
{
	char *end;

	if (*seg < '0' || *seg > '9')
		return false;
	*done = strtoul(seg, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return false;
	*known = strtoul(end + 1, &end, 10);
	if (*end == '+')
		end++;
	return *end == '\0' || *end == ' ';
}

/* The segments of text between erases: seg[0] is what comes before the
 * first "\r\e[K", seg[i] what follows the i-th. Malloc'd copies in a
 * cJSON array of strings. */
static cJSON *split_erases(const char *text)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = text;

	assert_non_null(a);
	for (;;) {
		const char *e = strstr(p, ERASE);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *s = malloc(n + 1);

		assert_non_null(s);
		memcpy(s, p, n);
		s[n] = '\0';
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
		free(s);
		if (!e)
			break;
		p = e + ERASE_LEN;
	}
	return a;
}

/* ---------------------------------------------------------------- tests */

/* stderr on a 60-column terminal, stdout on a pipe: the line is redrawn
 * at least three times, each time after "\r\e[K", shows "N/20" and
 * "running", stays within 59 columns, its done count never goes back,
 * and the summary comes right after a final erase, the line gone. */
static void test_line_on_tty(void **state)
{
	struct it_fixture *f = *state;
	const char *argv[MAX_ARGV];
	char *urls[LONG_N];
	struct pty_run r;
	cJSON *segs;
	int nsegs, drawn = 0, with_total = 0;
	unsigned long last_done = 0;
	const char *summary, *last;

	build_argv(f, argv, urls, LONG_N, LONG_STEM, LONG_QUERY, NULL);
	run_pty(argv, f->tmp, false, &r);
	assert_pty_exit(&r, 0);
	if (count_ok_lines(r.out.data) != LONG_N)
		PTY_FAIL(&r, "want %d ok lines on stdout, got %d", LONG_N,
			 count_ok_lines(r.out.data));

	segs = split_erases(r.tty.data);
	nsegs = cJSON_GetArraySize(segs);
	if (nsegs < 2)
		PTY_FAIL(&r, "no \\r\\e[K on the terminal at all");
	if (cJSON_GetArrayItem(segs, 0)->valuestring[0] != '\0')
		PTY_FAIL(&r, "text before the first erase: \"%s\"",
			 cJSON_GetArrayItem(segs, 0)->valuestring);

	/* Every segment but the last is a progress line (stdout is not on
	 * the terminal, so nothing else is written between erases). */
	for (int i = 1; i < nsegs - 1; i++) {
		const char *s = cJSON_GetArrayItem(segs, i)->valuestring;
		unsigned long done, known;
		size_t len = strlen(s);

		if (len == 0)
			continue; /* an erase with nothing drawn after it */
		drawn++;
		if (len > PTY_COLS - 1)
			PTY_FAIL(&r, "segment %d is %zu columns wide, more than "
				 "%d: \"%s\"", i, len, PTY_COLS - 1, s);
		if (strpbrk(s, "\r\n\033"))
			PTY_FAIL(&r, "segment %d holds a control character: "
				 "\"%s\"", i, s);
		if (!parse_counter(s, &done, &known))
			PTY_FAIL(&r, "segment %d does not start with a "
				 "done/known counter: \"%s\"", i, s);
		if (!strstr(s, "running"))
			PTY_FAIL(&r, "segment %d lacks \"running\": \"%s\"", i,
				 s);
		if (done > known || known > LONG_N)
			PTY_FAIL(&r, "segment %d: counter %lu/%lu out of range",
				 i, done, known);
		if (done < last_done)
			PTY_FAIL(&r, "segment %d: done went back from %lu to "
				 "%lu", i, last_done, done);
		last_done = done;
		if (known == LONG_N)
			with_total++;
	}
	if (drawn < 3)
		PTY_FAIL(&r, "the line was drawn %d times, want at least 3",
			 drawn);
	if (with_total < 3)
		PTY_FAIL(&r, "only %d drawn lines show \"N/%d\", want at "
			 "least 3", with_total, LONG_N);

	/* The end: erase, then the summary at once, then nothing. */
	last = cJSON_GetArrayItem(segs, nsegs - 1)->valuestring;
	if (!it_starts_with(last, "fetchmany: 20 entries: 20 ok"))
		PTY_FAIL(&r, "after the last erase: want the summary, got "
			 "\"%s\"", last);
	summary = strstr(r.tty.data, "fetchmany: 20 entries: 20 ok");
	assert_non_null(summary);
	assert_true(summary - r.tty.data >= ERASE_LEN);
	assert_memory_equal(summary - ERASE_LEN, ERASE, ERASE_LEN);
	if (strchr(last, '\n') == NULL || strchr(last, '\n')[1] != '\0')
		PTY_FAIL(&r, "the summary is not the last line");

	cJSON_Delete(segs);
	pty_run_free(&r);
	free_urls(urls, LONG_N);
}

/* stdout and stderr both on the terminal: every result line starts at
 * column 0 (right after "\r\e[K" or a newline) and holds no escape, and
 * the line is still drawn between results. */
static void test_results_on_same_tty(void **state)
{
	struct it_fixture *f = *state;
	const char *argv[MAX_ARGV];
	char *urls[LONG_N];
	struct pty_run r;
	int results = 0, progress = 0;
	const char *t, *summary;

	build_argv(f, argv, urls, LONG_N, LONG_STEM, LONG_QUERY, NULL);
	run_pty(argv, f->tmp, true, &r);
	assert_pty_exit(&r, 0);
	t = r.tty.data;

	for (const char *p = t; (p = strstr(p, "ok\t200\t")); p++) {
		const char *eol = strchr(p, '\n');
		bool after_erase = p - t >= ERASE_LEN &&
				   memcmp(p - ERASE_LEN, ERASE, ERASE_LEN) == 0;
		bool after_newline = p == t || p[-1] == '\n';

		results++;
		if (!after_erase && !after_newline)
			PTY_FAIL(&r, "result line %d does not start at column "
				 "0: \"%.*s\" before it", results,
				 (int)(p - t > 40 ? 40 : p - t),
				 p - t > 40 ? p - 40 : t);
		if (!eol)
			PTY_FAIL(&r, "result line %d has no end", results);
		for (const char *c = p; c < eol; c++)
			if (*c == '\033')
				PTY_FAIL(&r, "result line %d holds an escape",
					 results);
	}
	if (results != LONG_N)
		PTY_FAIL(&r, "want %d result lines on the terminal, got %d",
			 LONG_N, results);

	for (const char *p = t; (p = strstr(p, ERASE)); p += ERASE_LEN) {
		unsigned long done, known;

		if (parse_counter(p + ERASE_LEN, &done, &known))
			progress++;
	}
	if (progress < 1)
		PTY_FAIL(&r, "the progress line was never drawn");
	/* The summary starts at column 0 as well: right after an erase, or
	 * after the last result line when the line was not drawn again
	 * since (it was erased before that result). */
	summary = strstr(t, "fetchmany: 20 entries: 20 ok");
	if (!summary)
		PTY_FAIL(&r, "no summary on the terminal");
	if (!(summary - t >= ERASE_LEN &&
	      memcmp(summary - ERASE_LEN, ERASE, ERASE_LEN) == 0) &&
	    !(summary > t && summary[-1] == '\n'))
		PTY_FAIL(&r, "the summary does not start at column 0");

	pty_run_free(&r);
	free_urls(urls, LONG_N);
}

/* The pty cases where no line may appear: not a single "\e[K". */
static void run_pty_no_line(void **state, const char *opt, int want_out,
			    const char *want_summary)
{
	struct it_fixture *f = *state;
	const char *argv[MAX_ARGV];
	const char *extra[] = { opt, NULL };
	char *urls[SHORT_N];
	struct pty_run r;

	build_argv(f, argv, urls, SHORT_N, SHORT_STEM, SHORT_QUERY, extra);
	run_pty(argv, f->tmp, false, &r);
	assert_pty_exit(&r, 0);
	if (strstr(r.tty.data, "\033[K"))
		PTY_FAIL(&r, "with %s the terminal got \\e[K", opt);
	if (count_ok_lines(r.out.data) != want_out)
		PTY_FAIL(&r, "want %d ok lines on stdout, got %d", want_out,
			 count_ok_lines(r.out.data));
	if (want_summary && !it_starts_with(r.tty.data, want_summary))
		PTY_FAIL(&r, "want the summary alone on the terminal");
	if (!want_summary && r.tty.len != 0)
		PTY_FAIL(&r, "with %s the terminal got output", opt);
	pty_run_free(&r);
	free_urls(urls, SHORT_N);
}

static void test_quiet_on_tty(void **state)
{
	run_pty_no_line(state, "-q", 0, NULL);
}

static void test_never_on_tty(void **state)
{
	run_pty_no_line(state, "--progress=never", SHORT_N,
			"fetchmany: 8 entries: 8 ok");
}

/* Standard error a pipe (the harness's usual run): no line. */
static void test_pipe_no_line(void **state)
{
	struct it_fixture *f = *state;
	const char *argv[MAX_ARGV];
	char *urls[SHORT_N];
	struct it_result r;
	int rc;

	build_argv(f, argv, urls, SHORT_N, SHORT_STEM, SHORT_QUERY, NULL);
	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);
	if (strstr(r.err, "\033[K")) {
		it_dump(&r);
		fail_msg("stderr is a pipe, yet it got \\e[K");
	}
	assert_int_equal(count_ok_lines(r.out), SHORT_N);
	assert_true(it_starts_with(r.err, "fetchmany: 8 entries: 8 ok"));
	it_result_free(&r);
	free_urls(urls, SHORT_N);
}

/* --progress=always draws the line into a pipe as well, and erases it
 * before the summary. */
static void test_always_on_pipe(void **state)
{
	struct it_fixture *f = *state;
	const char *argv[MAX_ARGV];
	const char *extra[] = { "--progress=always", NULL };
	char *urls[SHORT_N];
	struct it_result r;
	int rc;
	size_t draws = 0;

	build_argv(f, argv, urls, SHORT_N, SHORT_STEM, SHORT_QUERY, extra);
	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);
	for (const char *p = r.err; (p = strstr(p, ERASE)); p += ERASE_LEN) {
		unsigned long done, known;

		if (parse_counter(p + ERASE_LEN, &done, &known) &&
		    strstr(p + ERASE_LEN, "running"))
			draws++;
	}
	if (draws < 1 || count_str(r.err, ERASE) < 2) {
		it_dump(&r);
		fail_msg("--progress=always on a pipe: the line was not drawn");
	}
	if (!strstr(r.err, ERASE "fetchmany: 8 entries: 8 ok")) {
		it_dump(&r);
		fail_msg("the summary does not follow an erase");
	}
	assert_int_equal(count_ok_lines(r.out), SHORT_N);
	it_result_free(&r);
	free_urls(urls, SHORT_N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_on_tty,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_results_on_same_tty,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pipe_no_line,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_quiet_on_tty,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_never_on_tty,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_always_on_pipe,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
