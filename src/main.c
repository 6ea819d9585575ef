/* main.c: parse the command line, run, map the outcome to an exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fm_opts.h"
#include "fm_run.h"

/* Each running transfer may hold a socket, a file and a directory: lift
 * the soft descriptor limit to the hard one so -j 10000 is not refused. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A standard descriptor closed by whoever started us would be the next
 * one open() or socket() returns: a download would land in it and
 * results or the live line be written into that download (libuv also
 * asserts that it never watches one). Open each missing one on
 * /dev/null first, as curl does. Returns false when that fails. */
static bool open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (got != fd) {
			if (got >= 0)
				close(got);
			return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	struct fm_opts o;
	int stdin_flags, status;

	if (!open_std_fds())
		return 2;
	/* A reader that goes away is an error of the write (EPIPE), which
	 * stops the run cleanly with a message (run.c), not a death. */
	signal(SIGPIPE, SIG_IGN);

	switch (fm_opts_parse(argc, argv, &o, stdout, stderr)) {
	case FM_OPTS_EXIT:
		return 0;
	case FM_OPTS_USAGE:
		return 2;
	case FM_OPTS_RUN:
		break;
	}
	if (o.ninputs == 0 && isatty(STDIN_FILENO)) {
		fm_opts_usage(stderr);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("fetchmany: libcurl failed to initialise\n", stderr);
		return 2;
	}
	raise_fd_limit();
	/* libuv makes a watched descriptor non-blocking, and standard input's
	 * flags are shared with whoever gave it to us: put them back. */
	stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
	status = fm_run(&o);
	fm_opts_free(&o);
	if (stdin_flags >= 0)
		fcntl(STDIN_FILENO, F_SETFL, stdin_flags);
	curl_global_cleanup();
	return status;
}
