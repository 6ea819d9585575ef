/* main.c: parse the command line, run, map the outcome to an exit status. */
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
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

/* libcurl hands a non-ASCII host name to libidn2 (idn2_lookup_ul), which
 * reads it in the encoding of LC_CTYPE: in the C locale every program
 * starts in, "bücher.example" is no name at all. Our URLs are UTF-8
 * whatever the environment says (list files, JSON, the file names we
 * write), so LC_CTYPE is a UTF-8 locale, the environment's only when it is
 * one. Only LC_CTYPE: numbers keep the C locale's '.' (LC_NUMERIC), and
 * <ctype.h> answers the same for every byte in C and in C.UTF-8 (bytes
 * from 0x80 up are no letters, no spaces, and map to themselves). */
static void utf8_ctype(void)
{
	static const char *const names[] = {"C.UTF-8", "C.utf8",
					    "en_US.UTF-8"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (setlocale(LC_CTYPE, names[i]))
			return;
	if (setlocale(LC_CTYPE, "") && strcmp(nl_langinfo(CODESET), "UTF-8"))
		setlocale(LC_CTYPE, "C");
}

int main(int argc, char **argv)
{
	struct fm_opts o;
	int stdin_flags, status;

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
	utf8_ctype();
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("fetchmany: libcurl failed to initialise\n", stderr);
		return 2;
	}
	raise_fd_limit();
	/* Results are flushed once per loop pass (see run.c), not per line. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
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
