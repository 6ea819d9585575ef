/* Integration: standard streams (spec 6 "Standard streams", issue 13).
 *
 * fetchmany is started as a shell would start it, with descriptors 0, 1
 * and 2 closed, on /dev/full, or on a pipe whose reader goes away or never
 * reads, and SIGPIPE at its default action. No download may land in a
 * standard descriptor, a write error on standard output stops the run
 * with exit 1 and one message (never a death by SIGPIPE), and a blocked
 * standard output holds back new transfers without blocking signals. */
#define _GNU_SOURCE /* pipe2 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* What the child's descriptors 0, 1, 2 are: a descriptor of ours to dup
 * there, or CLOSED. */
#define CLOSED (-1)

/* Starts fetchmany with args (NULL-terminated, after argv[0]) in cwd with
 * fds[i] as its descriptor i (CLOSED: closed), SIGPIPE at its default
 * action and no signal blocked, as a shell starts a command. */
static pid_t spawn(const char *cwd, const char *const args[], const int fds[3])
{
	const char *argv[64];
	size_t n = 0;
	pid_t pid;

	argv[n++] = it_bin();
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid != 0)
		return pid;
	{
		sigset_t none;
		int hi = 100;

		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Out of the way first, so that a dup2 never clobbers a
		 * descriptor still to be moved. */
		int moved[3];
		for (int i = 0; i < 3; i++)
			moved[i] = fds[i] == CLOSED ? CLOSED
					: fcntl(fds[i], F_DUPFD, hi);
		for (int i = 0; i < 3; i++) {
			if (moved[i] == CLOSED)
				close(i);
			else
				dup2(moved[i], i);
		}
		for (int i = 3; i < 1024; i++)
			close(i);
		if (chdir(cwd) != 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Waits at most timeout_s for pid; returns its wait status, or -1 after
 * killing it. */
static int reap(pid_t pid, double timeout_s)
{
	double end = it_now() + timeout_s;
	int st;

	while (it_now() < end) {
		pid_t got = waitpid(pid, &st, WNOHANG);

		if (got == pid)
			return st;
		it_sleep(0.01);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void expect_exit(int st, int code, const char *err_text)
{
	if (st == -1)
		fail_msg("fetchmany had to be killed; stderr:\n%s",
			 err_text ? err_text : "");
	if (WIFSIGNALED(st))
		fail_msg("fetchmany died of signal %d; stderr:\n%s",
			 WTERMSIG(st), err_text ? err_text : "");
	if (WEXITSTATUS(st) != code)
		fail_msg("exit status %d, want %d; stderr:\n%s",
			 WEXITSTATUS(st), code, err_text ? err_text : "");
}

/* Writes a list of n URLs /data/<stem>K.bin?<query> into dir/list.txt and
 * returns its path. */
static char *write_list(const struct it_fixture *f, const char *stem, int n,
			const char *query)
{
	struct it_buf b = {0};
	char *path = it_path("%s/list.txt", f->tmp);

	for (int i = 0; i < n; i++)
		it_buf_printf(&b, "%s/data/%s%d.bin?%s\n", f->srv.base, stem,
			      i, query);
	assert_int_equal(it_write_file(path, b.data, b.len), 0);
	free(b.data);
	return path;
}

/* Every file below dl is one of the n bodies of write_list(), whole, and
 * no other file is there; returns how many there are. */
static int check_bodies(const char *dl, const char *stem, int n, size_t size)
{
	int found = 0;

	for (int i = 0; i < n; i++) {
		char *file = it_path("%s/%s%d.bin", dl, stem, i);
		char *url_path = it_path("/data/%s%d.bin", stem, i);

		if (it_exists(file)) {
			if (!it_file_matches_body(file, url_path, size))
				fail_msg("%s does not hold its body", file);
			found++;
		}
		free(file);
		free(url_path);
	}
	if (it_count_files(dl) != found)
		fail_msg("%d files in %s, %d of them bodies",
			 it_count_files(dl), dl, found);
	return found;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	return fd;
}

/* Runs one download of 100 slowly trickling bodies at -j 8 with the
 * standard descriptors given (CLOSED ones closed); stderr, when not
 * closed, goes to a file whose text is returned in *err. */
static void run_with_fds(const struct it_fixture *f, const char *const extra[],
			 bool close_in, bool close_out, bool close_err,
			 int want_exit)
{
	char *list = write_list(f, "t", 100, "size=3000&trickle=0.002");
	char *dl = it_path("%s/dl", f->tmp);
	char *errf = it_path("%s/stderr.txt", f->tmp);
	const char *args[16];
	size_t n = 0;
	int fds[3];
	char *err;
	int st;

	args[n++] = "-j";
	args[n++] = "8";
	args[n++] = "-o";
	args[n++] = "dl";
	for (size_t i = 0; extra[i]; i++)
		args[n++] = extra[i];
	args[n++] = list;
	args[n] = NULL;
	fds[0] = close_in ? CLOSED : open_or_die("/dev/null", O_RDONLY);
	fds[1] = close_out ? CLOSED : open_or_die("/dev/null", O_WRONLY);
	fds[2] = close_err ? CLOSED
			   : open_or_die(errf, O_WRONLY | O_CREAT | O_TRUNC);
	st = reap(spawn(f->tmp, args, fds), 60.0);
	for (int i = 0; i < 3; i++)
		if (fds[i] != CLOSED)
			close(fds[i]);
	err = close_err ? NULL : it_read_file(errf, NULL);
	expect_exit(st, want_exit, err);
	if (check_bodies(dl, "t", 100, 3000) != 100)
		fail_msg("not every body was written; stderr:\n%s",
			 err ? err : "");
	free(err);
	free(errf);
	free(dl);
	free(list);
}

/* Results into a closed standard output never land in a download. */
static void closed_stdout(void **state)
{
	const char *extra[] = { "--json", NULL };

	run_with_fds(*state, extra, false, true, false, 0);
}

/* Both standard input and output closed: libuv must not be handed a
 * standard descriptor for a socket (it asserts fd > 2). */
static void closed_stdin_and_stdout(void **state)
{
	const char *extra[] = { "--json", NULL };

	run_with_fds(*state, extra, true, true, false, 0);
}

/* The live line into a closed standard error never lands in a download. */
static void closed_stderr_with_progress(void **state)
{
	const char *extra[] = { "--progress=always", NULL };

	run_with_fds(*state, extra, false, false, true, 0);
}

/* Starts fetchmany with standard output into a pipe whose read end goes
 * to *rd, standard input on /dev/null and standard error into errf. */
static pid_t spawn_into_pipe(const struct it_fixture *f,
			     const char *const args[], const char *errf,
			     int *rd)
{
	int p[2], fds[3];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[0] = open_or_die("/dev/null", O_RDONLY);
	fds[1] = p[1];
	fds[2] = open_or_die(errf, O_WRONLY | O_CREAT | O_TRUNC);
	pid = spawn(f->tmp, args, fds);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	*rd = p[0];
	return pid;
}

/* Reads the first line from fd (bounded), then closes it, as `head -n 1`
 * does. Returns 0 when a line came. */
static int read_one_line_and_close(int fd, double timeout_s)
{
	double end = it_now() + timeout_s;
	char c;

	while (it_now() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = read(fd, &c, 1);
		if (n <= 0)
			break;
		if (c == '\n') {
			close(fd);
			return 0;
		}
	}
	close(fd);
	return -1;
}

/* `fetchmany --json LIST | head -n 1`: the reader goes after one line.
 * fetchmany must notice the broken pipe, stop as on SIGINT, say so once
 * and exit 1: no death by SIGPIPE, no body half-written. */
static void reader_gone(void **state)
{
	struct it_fixture *f = *state;
	char *list = write_list(f, "h", 30, "size=20000&trickle=0.01");
	char *dl = it_path("%s/dl", f->tmp);
	char *errf = it_path("%s/stderr.txt", f->tmp);
	const char *args[] = { "--json", "-j", "4", "-o", "dl", list, NULL };
	int rd;
	char *err;
	pid_t pid;
	int st;

	pid = spawn_into_pipe(f, args, errf, &rd);
	assert_int_equal(read_one_line_and_close(rd, 30.0), 0);
	st = reap(pid, 30.0);
	err = it_read_file(errf, NULL);
	expect_exit(st, 1, err);
	if (!it_ci_contains(err, "broken pipe"))
		fail_msg("stderr should name the cause:\n%s", err);
	/* The run stopped: far from all 30 were fetched, and what is on
	 * disk is whole (no .part, no half body). */
	if (check_bodies(dl, "h", 30, 20000) == 30)
		fail_msg("the run went on after its reader left:\n%s", err);
	free(err);
	free(errf);
	free(dl);
	free(list);
}

/* Reads fd to its end (bounded); returns the number of lines. */
static long count_lines_to_eof(int fd, double timeout_s)
{
	double end = it_now() + timeout_s;
	long lines = 0;
	char buf[4096];

	while (it_now() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	return lines;
}

/* Standard output a pipe that whoever started us made non-blocking (the
 * flag is shared), and a reader that starts late: EAGAIN means "wait",
 * and every result arrives. */
static void nonblocking_slow_reader(void **state)
{
	struct it_fixture *f = *state;
	char *list = write_list(f, "n", 1000, "size=10");
	char *errf = it_path("%s/stderr.txt", f->tmp);
	const char *args[] = { "--json", "-j", "20", "-o", "dl", list, NULL };
	int p[2], fds[3];
	long lines;
	char *err;
	pid_t pid;
	int st;

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	fds[0] = open_or_die("/dev/null", O_RDONLY);
	fds[1] = p[1];
	fds[2] = open_or_die(errf, O_WRONLY | O_CREAT | O_TRUNC);
	pid = spawn(f->tmp, args, fds);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	it_sleep(3.0);
	lines = count_lines_to_eof(p[0], 60.0);
	close(p[0]);
	st = reap(pid, 30.0);
	err = it_read_file(errf, NULL);
	expect_exit(st, 0, err);
	if (lines != 1000)
		fail_msg("%ld result lines, want 1000; stderr:\n%s", lines, err);
	free(err);
	free(errf);
	free(list);
}

/* Results into a full device: exit 1 with the OS's message, not 0. */
static void stdout_full(void **state)
{
	struct it_fixture *f = *state;
	char *list = write_list(f, "d", 5, "size=100");
	char *errf = it_path("%s/stderr.txt", f->tmp);
	const char *args[] = { "--json", "-o", "dl", list, NULL };
	int fds[3];
	char *err;
	int st;

	if (access("/dev/full", W_OK) != 0)
		skip();
	fds[0] = open_or_die("/dev/null", O_RDONLY);
	fds[1] = open_or_die("/dev/full", O_WRONLY);
	fds[2] = open_or_die(errf, O_WRONLY | O_CREAT | O_TRUNC);
	st = reap(spawn(f->tmp, args, fds), 30.0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	err = it_read_file(errf, NULL);
	expect_exit(st, 1, err);
	if (!it_ci_contains(err, "no space left"))
		fail_msg("stderr should name the cause:\n%s", err);
	free(err);
	free(errf);
	free(list);
}

/* Waits until the server's request count holds still for 1 s (at most
 * timeout_s); returns it. */
static long settled_requests(const struct it_server *srv, double timeout_s)
{
	double end = it_now() + timeout_s;
	long last = -1, now;

	while (it_now() < end) {
		now = it_server_stat(srv, "requests");
		if (now == last)
			return now;
		last = now;
		it_sleep(1.0);
	}
	return last;
}

/* Standard output a pipe nobody reads, 3,000 entries: the run holds
 * back (it does not fetch the whole list into memory), and the signals
 * given still end it, in bounded time. */
static void blocked_stdout(const struct it_fixture *f, const int sigs[],
			   int nsig, int want_exit, double within_s)
{
	char *list = write_list(f, "b", 3000, "size=10");
	char *errf = it_path("%s/stderr.txt", f->tmp);
	const char *args[] = { "--json", "-j", "8", "-o", "dl", list, NULL };
	int rd;
	long seen;
	char *err;
	double t0;
	pid_t pid;
	int st;

	pid = spawn_into_pipe(f, args, errf, &rd);
	seen = settled_requests(&f->srv, 30.0);
	fprintf(stderr, "# %ld requests before the output filled\n", seen);
	if (seen >= 3000) {
		kill(pid, SIGKILL);
		reap(pid, 5.0);
		fail_msg("every entry was fetched into a pipe nobody reads");
	}
	/* Apart: two pending standard signals would merge into one. */
	for (int i = 0; i < nsig; i++) {
		if (i)
			it_sleep(0.3);
		t0 = it_now();
		kill(pid, sigs[i]);
	}
	st = reap(pid, 20.0);
	fprintf(stderr, "# exited %.2f s after the last signal\n",
		it_now() - t0);
	err = it_read_file(errf, NULL);
	expect_exit(st, want_exit, err);
	if (it_now() - t0 > within_s)
		fail_msg("exit took %.2f s, want at most %.1f s",
			 it_now() - t0, within_s);
	close(rd);
	free(err);
	free(errf);
	free(list);
}

static void blocked_stdout_sigterm(void **state)
{
	const int sigs[] = { SIGTERM };

	blocked_stdout(*state, sigs, 1, 143, 15.0);
}

/* A second signal ends the process at once, results pending or not
 * (the first one alone would wait five seconds for the output). */
static void blocked_stdout_two_sigints(void **state)
{
	const int sigs[] = { SIGINT, SIGINT };

	blocked_stdout(*state, sigs, 2, 130, 2.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(closed_stdout,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(closed_stdin_and_stdout,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(closed_stderr_with_progress,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(reader_gone,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(nonblocking_slow_reader,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(stdout_full,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(blocked_stdout_sigterm,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(blocked_stdout_two_sigints,
			it_fixture_setup, it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
