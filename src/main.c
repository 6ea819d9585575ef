/* main.c: parse the command line, run, map the outcome to an exit status. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fm_opts.h"
#include "fm_policy.h"
#include "fm_run.h"

/* Descriptors open now, inherited ones included: they count against the
 * limit as much as our own. */
static unsigned count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 3;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

/* Each running transfer holds a socket, a file and maybe a directory:
 * lift the soft descriptor limit to the hard one so -j 10000 is not
 * refused, and lower -j, saying so once, when even the hard one cannot
 * hold it (running short later only delays entries, see run.c); the
 * worker threads follow -j down (fm_run_workers()). A check: returns 0,
 * or -1 having said why when not even one transfer fits (libuv would
 * abort setting up, or every entry fail). *spare receives the descriptors
 * left for idle connections (fm_fd_spare()). */
static int fit_fd_limit(struct fm_opts *o, uint64_t *spare)
{
	struct rlimit rl;
	unsigned jobs, held;
	uint64_t need;

	*spare = UINT64_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || o->dry_run)
		return 0;
	held = count_open_fds();
	need = fm_fd_min(held, (unsigned)o->ninputs);
	if ((uint64_t)rl.rlim_cur < need) {
		fprintf(stderr,
			"fetchmany: the limit of %llu open files is too low: "
			"at least %llu are needed (ulimit -n)\n",
			(unsigned long long)rl.rlim_cur,
			(unsigned long long)need);
		return -1;
	}
	jobs = fm_fd_jobs(o->jobs, (uint64_t)rl.rlim_cur, held,
			  fm_run_workers(o), (unsigned)o->ninputs);
	*spare = fm_fd_spare(jobs, (uint64_t)rl.rlim_cur, held,
			     fm_run_workers(o), (unsigned)o->ninputs);
	if (jobs == o->jobs)
		return 0;
	fprintf(stderr,
		"fetchmany: warning: -j %u lowered to %u: the limit of %llu "
		"open files holds no more transfers (%u descriptors each); "
		"raise it (ulimit -n) to run more at once\n",
		o->jobs, jobs, (unsigned long long)rl.rlim_cur, FM_FD_PER_JOB);
	o->jobs = jobs;
	return 0;
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

/* A standard descriptor closed by whoever started us would be the next
 * one open() or socket() returns: a download would land in it and
 * results or the live line be written into that download (libuv also
 * asserts that it never watches one). Open each missing one on
 * /dev/null first, as curl does. Returns 0 or -errno. */
static int open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (got < 0)
			return -errno;
		if (got != fd) {
			/* Not fd: cannot be, the lower ones are open. */
			close(got);
			return -EBADF;
		}
	}
	return 0;
}

/* --cookie FILE must be readable: a typo would otherwise go unseen,
 * every request without its cookies. The file --cookie-jar writes may be
 * missing yet (a job's first run keeps its cookies that way). Returns 0,
 * or -1 when it said why not. */
static int check_cookie_file(const struct fm_opts *o)
{
	FILE *f;

	if (!o->cookie)
		return 0;
	f = fopen(o->cookie, "r");
	if (f) {
		fclose(f);
		return 0;
	}
	if (errno == ENOENT && o->cookie_jar &&
	    strcmp(o->cookie, o->cookie_jar) == 0)
		return 0;
	fprintf(stderr, "fetchmany: --cookie %s: %s\n", o->cookie,
		strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	struct fm_opts o;
	uint64_t spare_fds;
	int stdin_flags, status;

	if (open_std_fds())
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
	if (check_cookie_file(&o)) {
		fm_opts_free(&o);
		return 2;
	}
	if (o.ninputs == 0 && isatty(STDIN_FILENO)) {
		fm_opts_usage(stderr);
		return 2;
	}
	utf8_ctype();
	/* Before libcurl and libuv, which may abort without descriptors. */
	if (fit_fd_limit(&o, &spare_fds)) {
		fm_opts_free(&o);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("fetchmany: libcurl failed to initialise\n", stderr);
		fm_opts_free(&o);
		return 2;
	}
	/* libuv makes a watched descriptor non-blocking, and standard input's
	 * flags are shared with whoever gave it to us: put them back. */
	stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
	status = fm_run(&o, spare_fds);
	fm_opts_free(&o);
	if (stdin_flags >= 0)
		fcntl(STDIN_FILENO, F_SETFL, stdin_flags);
	curl_global_cleanup();
	return status;
}
