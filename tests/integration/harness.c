/* harness.c: helpers for fetchmany's integration tests (see harness.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "harness.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>

/* ------------------------------------------------------------------ time */

double it_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void it_sleep(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int ms_left(double deadline)
{
	double left = deadline - it_now();

	if (left <= 0)
		return 0;
	if (left > 1000.0)
		return 1000000;
	return (int)(left * 1000.0) + 1;
}

/* ------------------------------------------------------------------ misc */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = xmalloc(n);

	memcpy(d, s, n);
	return d;
}

void it_buf_append(struct it_buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (b->len + n + 1 > cap)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			fprintf(stderr, "harness: out of memory\n");
			abort();
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static int set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

static int cloexec_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	if (set_cloexec(fds[0]) != 0 || set_cloexec(fds[1]) != 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	return 0;
}

static void close_pipes(int (*fds)[2], int n)
{
	for (int i = 0; i < n; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

/* Opens n close-on-exec pipes: 0, or -1 with none left open. */
static int cloexec_pipes(int (*fds)[2], int n)
{
	for (int i = 0; i < n; i++) {
		if (cloexec_pipe(fds[i]) != 0) {
			close_pipes(fds, i);
			return -1;
		}
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* printf into a malloc'd string; its length in *len. */
static char *vformat(size_t *len, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *s;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort();
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	*len = (size_t)n;
	return s;
}

char *it_path(const char *fmt, ...)
{
	va_list ap;
	size_t n;
	char *s;

	va_start(ap, fmt);
	s = vformat(&n, fmt, ap);
	va_end(ap);
	return s;
}

void it_buf_printf(struct it_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	char *s;

	va_start(ap, fmt);
	s = vformat(&n, fmt, ap);
	va_end(ap);
	it_buf_append(b, s, n);
	free(s);
}

/* Bounded wait for pid; SIGKILL when it has not exited by the deadline.
 * Returns the wait status; *killed set when it had to be killed. */
static int reap(pid_t pid, double deadline, int *killed)
{
	int st = 0;

	*killed = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			return st;
		if (w < 0 && errno != EINTR)
			return 0;
		if (it_now() >= deadline)
			break;
		it_sleep(0.01);
	}
	*killed = 1;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

int it_starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int it_ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!hay)
		return 0;
	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] &&
		       tolower((unsigned char)hay[i]) ==
			       tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return n == 0;
}

/* ---------------------------------------------------------------- server */

int it_server_start(struct it_server *s, const char *const extra_args[])
{
	const char *script = getenv("FM_HTTPD");
	const char *argv[32];
	int pp[2][2];
	int *in = pp[0], *out = pp[1];
	size_t n = 0;
	char line[128];
	size_t got = 0;
	double deadline;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->stdin_fd = -1;
	if (!script) {
		fprintf(stderr, "harness: FM_HTTPD is not set\n");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	argv[n++] = "python3";
	argv[n++] = script;
	for (size_t i = 0; extra_args && extra_args[i] && n < 31; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;

	if (cloexec_pipes(pp, 2) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close_pipes(pp, 2);
		return -1;
	}
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "harness: exec python3: %s\n", strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->pid = pid;
	s->stdin_fd = in[1];

	deadline = it_now() + 10.0;
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		struct pollfd pfd = { .fd = out[0], .events = POLLIN };
		int r = poll(&pfd, 1, ms_left(deadline));
		ssize_t k;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		k = read(out[0], line + got, sizeof(line) - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(out[0]);
	line[got] = '\0';
	if (sscanf(line, "PORT %d", &s->port) != 1 || s->port <= 0) {
		fprintf(stderr, "harness: server did not report its port "
			"(got \"%s\")\n", line);
		it_server_stop(s);
		return -1;
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	return 0;
}

void it_server_stop(struct it_server *s)
{
	int killed;

	close_fd(&s->stdin_fd);
	if (s->pid > 0) {
		reap(s->pid, it_now() + 5.0, &killed);
		if (killed)
			fprintf(stderr, "harness: server had to be killed\n");
		s->pid = 0;
	}
}

char *it_url(const struct it_server *s, const char *path_query)
{
	return it_path("%s%s", s->base, path_query);
}

static size_t curl_sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
	it_buf_append(ud, ptr, size * nmemb);
	return size * nmemb;
}

char *it_http_get(const struct it_server *s, const char *path, long *status,
		  size_t *len)
{
	static int inited;
	struct it_buf b = { 0 };
	char *url = it_url(s, path);
	CURL *c;
	CURLcode rc;

	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = 1;
	}
	c = curl_easy_init();
	if (!c) {
		free(url);
		return NULL;
	}
	it_buf_append(&b, "", 0);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (status)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	free(url);
	if (rc != CURLE_OK) {
		fprintf(stderr, "harness: GET %s: %s\n", path,
			curl_easy_strerror(rc));
		free(b.data);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.data;
}

static cJSON *get_json(const struct it_server *s, const char *path)
{
	long st = 0;
	char *body = it_http_get(s, path, &st, NULL);
	cJSON *j;

	if (!body)
		return NULL;
	j = st == 200 ? cJSON_Parse(body) : NULL;
	if (!j)
		fprintf(stderr, "harness: bad answer to %s (%ld)\n", path, st);
	free(body);
	return j;
}

cJSON *it_server_log(const struct it_server *s)
{
	return get_json(s, "/_log");
}

cJSON *it_server_stats(const struct it_server *s)
{
	return get_json(s, "/_stats");
}

long it_server_stat(const struct it_server *s, const char *key)
{
	cJSON *j = it_server_stats(s);
	const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
	long r = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;

	cJSON_Delete(j);
	return r;
}

char *it_qenc(const char *s)
{
	CURL *c = curl_easy_init();
	char *e, *copy;

	assert_non_null(c);
	e = curl_easy_escape(c, s, 0);
	curl_easy_cleanup(c);
	assert_non_null(e);
	copy = it_path("%s", e);
	curl_free(e);
	return copy;
}

int it_log_count(const cJSON *log, const char *path_query)
{
	return it_json_count_str(log, "path", path_query);
}

const char *it_log_header(const cJSON *e, const char *name)
{
	return it_json_str(cJSON_GetObjectItemCaseSensitive(e, "headers"),
			   name);
}

cJSON *it_log_entry(const cJSON *log, const char *path_query, int idx)
{
	cJSON *e;

	cJSON_ArrayForEach(e, log) {
		const char *p = it_json_str(e, "path");

		if (p && strcmp(p, path_query) == 0 && idx-- == 0)
			return e;
	}
	return NULL;
}

char *it_cert_dir(char **why)
{
	const char *vargv[] = { "openssl", "version", NULL };
	struct it_result r;
	char *dir = it_mkdtemp();
	int rc;

	if (!dir)
		return NULL;
	rc = it_run(vargv, NULL, dir, &r);
	if (rc != 0 || !r.exited || r.exit_code != 0)
		*why = it_path("the openssl command is not available (exit "
			       "%d): cannot make a test certificate",
			       r.exited ? r.exit_code : -1);
	it_result_free(&r);
	return dir;
}

void it_cert_dir_free(char *dir, char *why)
{
	if (dir) {
		it_rmtree(dir);
		free(dir);
	}
	free(why);
}

int it_make_cert(const char *dir, const char *cert, const char *key,
		 char **why)
{
	const char *argv[] = { "openssl", "req", "-x509", "-newkey",
			       "rsa:2048", "-nodes", "-keyout", key, "-out",
			       cert, "-subj", "/CN=localhost", "-addext",
			       "subjectAltName=DNS:localhost,IP:127.0.0.1",
			       "-days", "1", NULL };
	struct it_result r;
	int rc = it_run(argv, NULL, dir, &r);

	if (rc != 0 || !r.exited || r.exit_code != 0) {
		if (why)
			*why = it_path("openssl req failed (exit %d%s): %.300s",
				       r.exited ? r.exit_code : -1,
				       r.exited && r.exit_code == 127
					       ? ", openssl not installed?"
					       : "",
				       r.err ? r.err : "");
		it_result_free(&r);
		return -1;
	}
	it_result_free(&r);
	return 0;
}

int it_log_times(const cJSON *log, const char *path_query, double *starts,
		 double *ends, int max)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, log) {
		const char *path = it_json_str(e, "path");
		const cJSON *ts, *te;

		if (!path || strcmp(path, path_query) != 0)
			continue;
		if (n < max) {
			ts = cJSON_GetObjectItemCaseSensitive(e, "t_start");
			te = cJSON_GetObjectItemCaseSensitive(e, "t_end");
			if (starts)
				starts[n] = cJSON_IsNumber(ts) ? ts->valuedouble
							       : -1.0;
			if (ends)
				ends[n] = cJSON_IsNumber(te) ? te->valuedouble
							     : -1.0;
		}
		n++;
	}
	return n;
}

int it_server_sha256(const struct it_server *s, const char *path,
		     size_t size, char hex[65])
{
	CURL *c = curl_easy_init();
	char *esc, *q, *body;
	long st = 0;
	size_t len = 0;

	if (!c)
		return -1;
	esc = curl_easy_escape(c, path, 0);
	curl_easy_cleanup(c);
	if (!esc)
		return -1;
	q = it_path("/_sha256?path=%s&size=%zu", esc, size);
	curl_free(esc);
	body = it_http_get(s, q, &st, &len);
	free(q);
	if (!body || st != 200 || len != 64) {
		free(body);
		return -1;
	}
	memcpy(hex, body, 65);
	free(body);
	return 0;
}

/* ------------------------------------------------------------- processes */

const char *it_bin(void)
{
	const char *b = getenv("FM_BIN");

	if (!b || !*b)
		fail_msg("FM_BIN is not set");
	return b;
}

static const char *const proxy_vars[] = {
	"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
	"all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", NULL,
};

int it_proc_start(struct it_proc *p, const char *const argv[],
		  const char *cwd, const char *const env[])
{
	int pp[3][2];
	int *in = pp[0], *out = pp[1], *err = pp[2];
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = p->err_fd = -1;
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	if (cloexec_pipes(pp, 3) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close_pipes(pp, 3);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		if (cwd && chdir(cwd) != 0) {
			fprintf(stderr, "harness: chdir %s: %s\n", cwd,
				strerror(errno));
			_exit(127);
		}
		for (size_t i = 0; proxy_vars[i]; i++)
			unsetenv(proxy_vars[i]);
		/* nobody's own defaults file (a test may set another) */
		setenv("XDG_CONFIG_HOME", "/nonexistent/fetchmany-tests", 1);
		for (size_t i = 0; env && env[i]; i++) {
			const char *eq = strchr(env[i], '=');

			if (eq) {
				char *name = xstrdup(env[i]);

				name[eq - env[i]] = '\0';
				setenv(name, eq + 1, 1);
			} else {
				unsetenv(env[i]);
			}
		}
		if (strchr(argv[0], '/'))
			execv(argv[0], (char *const *)argv);
		else
			execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->pid = pid;
	p->in_fd = in[1];
	/* Writes take what fits (it_proc_pump polls first). */
	fcntl(p->in_fd, F_SETFL, fcntl(p->in_fd, F_GETFL) | O_NONBLOCK);
	p->out_fd = out[0];
	p->err_fd = err[0];
	it_buf_append(&p->out, "", 0);
	it_buf_append(&p->err, "", 0);
	return 0;
}

static size_t count_newlines(const char *s, ssize_t n)
{
	size_t lines = 0;

	for (ssize_t i = 0; i < n; i++)
		if (s[i] == '\n')
			lines++;
	return lines;
}

int it_proc_pump(struct it_proc *p, double deadline, const char *wdata,
		 size_t wlen, size_t *wdone)
{
	struct pollfd pfd[3];
	int idx_out = -1, idx_err = -1, idx_in = -1;
	nfds_t n = 0;
	int r;

	if (p->out_fd >= 0) {
		pfd[n] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
		idx_out = (int)n++;
	}
	if (p->err_fd >= 0) {
		pfd[n] = (struct pollfd){ .fd = p->err_fd, .events = POLLIN };
		idx_err = (int)n++;
	}
	if (wdata && p->in_fd >= 0 && *wdone < wlen) {
		pfd[n] = (struct pollfd){ .fd = p->in_fd, .events = POLLOUT };
		idx_in = (int)n++;
	}
	if (n == 0) {
		/* Nothing to wait on: do not spin. */
		it_sleep(0.01);
		return 0;
	}
	r = poll(pfd, n, ms_left(deadline));
	if (r <= 0)
		return 0;
	for (int k = 0; k < 2; k++) {
		int idx = k == 0 ? idx_out : idx_err;
		int *fd = k == 0 ? &p->out_fd : &p->err_fd;
		struct it_buf *b = k == 0 ? &p->out : &p->err;
		char tmp[65536];
		ssize_t got;

		if (idx < 0 || !(pfd[idx].revents & (POLLIN | POLLHUP |
						      POLLERR)))
			continue;
		got = read(*fd, tmp, sizeof(tmp));
		if (got > 0) {
			it_buf_append(b, tmp, (size_t)got);
			if (k == 0)
				p->out_lines += count_newlines(tmp, got);
		} else if (got == 0 || (errno != EINTR && errno != EAGAIN))
			close_fd(fd);
	}
	if (idx_in >= 0 && (pfd[idx_in].revents & (POLLOUT | POLLERR |
						   POLLHUP))) {
		size_t chunk = wlen - *wdone;
		ssize_t w;

		/* The pipe is non-blocking: a write takes what fits. */
		if (chunk > 65536)
			chunk = 65536;
		w = write(p->in_fd, wdata + *wdone, chunk);
		if (w > 0)
			*wdone += (size_t)w;
		else if (w < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
	return 0;
}

int it_proc_write(struct it_proc *p, const char *data, double timeout_s)
{
	double deadline = it_now() + timeout_s;
	size_t len = strlen(data), done = 0;

	while (done < len) {
		if (p->in_fd < 0 || it_now() >= deadline)
			return -1;
		if (it_proc_pump(p, deadline, data, len, &done) != 0)
			return -1;
	}
	return 0;
}

size_t it_count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

size_t it_proc_lines(const struct it_proc *p)
{
	return p->out_lines;
}

int it_proc_wait_lines(struct it_proc *p, size_t nlines, double timeout_s)
{
	double deadline = it_now() + timeout_s;

	for (;;) {
		if (p->out_lines >= nlines)
			return 0;
		if (p->out_fd < 0 || it_now() >= deadline)
			return -1;
		it_proc_pump(p, deadline, NULL, 0, NULL);
	}
}

void it_result_set_status(struct it_result *r, int wstatus)
{
	if (WIFEXITED(wstatus)) {
		r->exited = 1;
		r->exit_code = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		r->signaled = WTERMSIG(wstatus);
	}
}

int it_proc_finish(struct it_proc *p, double timeout_s, struct it_result *r)
{
	double deadline = it_now() + timeout_s;
	int killed = 0, late = 0, st;

	memset(r, 0, sizeof(*r));
	close_fd(&p->in_fd);
	while ((p->out_fd >= 0 || p->err_fd >= 0) && it_now() < deadline)
		it_proc_pump(p, deadline, NULL, 0, NULL);
	if (p->out_fd >= 0 || p->err_fd >= 0) {
		kill(p->pid, SIGKILL);
		killed = 1;
	}
	st = reap(p->pid, killed ? it_now() + 5.0 : deadline, &late);
	killed |= late;
	if (killed) {
		/* Drain what is left after the kill, briefly. */
		double d2 = it_now() + 1.0;

		while ((p->out_fd >= 0 || p->err_fd >= 0) && it_now() < d2)
			it_proc_pump(p, d2, NULL, 0, NULL);
	}
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	r->timed_out = killed;
	it_result_set_status(r, st);
	r->out = p->out.data ? p->out.data : xstrdup("");
	r->out_len = p->out.len;
	r->err = p->err.data ? p->err.data : xstrdup("");
	r->err_len = p->err.len;
	memset(&p->out, 0, sizeof(p->out));
	memset(&p->err, 0, sizeof(p->err));
	p->pid = 0;
	if (killed)
		fprintf(stderr, "harness: %s killed after %.0f s\n",
			"child", timeout_s);
	return killed ? -1 : 0;
}

int it_run_env(const char *const argv[], const char *stdin_data,
	       const char *cwd, const char *const env[], struct it_result *r)
{
	struct it_proc p;
	double deadline = it_now() + IT_RUN_TIMEOUT;
	size_t len = stdin_data ? strlen(stdin_data) : 0, done = 0;

	memset(r, 0, sizeof(*r));
	if (it_proc_start(&p, argv, cwd, env) != 0) {
		r->out = xstrdup("");
		r->err = xstrdup("");
		return -1;
	}
	while (done < len && p.in_fd >= 0 && it_now() < deadline) {
		if (it_proc_pump(&p, deadline, stdin_data, len, &done) != 0)
			break;
	}
	return it_proc_finish(&p, deadline - it_now(), r);
}

int it_run(const char *const argv[], const char *stdin_data, const char *cwd,
	   struct it_result *r)
{
	return it_run_env(argv, stdin_data, cwd, NULL, r);
}

void it_result_free(struct it_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

void it_dump(const struct it_result *r)
{
	fprintf(stderr, "--- run: %s %d%s\n",
		r->exited ? "exit" : "signal",
		r->exited ? r->exit_code : r->signaled,
		r->timed_out ? " (killed: timeout)" : "");
	fprintf(stderr, "--- stdout:\n%s\n--- stderr:\n%s\n--- end\n",
		r->out ? r->out : "", r->err ? r->err : "");
}

/* --------------------------------------------------------------- waiting */

void it_proc_pump_for(struct it_proc *p, double s)
{
	double deadline = it_now() + s;

	/* No line count is ever reached: this reads until the time is up or
	 * stdout closes. */
	(void)it_proc_wait_lines(p, SIZE_MAX, s);
	it_sleep(deadline - it_now());
}

static void idle(struct it_proc *p, double s)
{
	if (p)
		it_proc_pump_for(p, s);
	else
		it_sleep(s);
}

long it_wait_requests(const struct it_server *s, struct it_proc *p, long n,
		      double timeout_s)
{
	double deadline = it_now() + timeout_s;

	for (;;) {
		long got = it_server_stat(s, "requests");

		if (got >= n)
			return got;
		if (it_now() >= deadline)
			return -1;
		idle(p, 0.02);
	}
}

int it_wait_ended(const struct it_server *s, struct it_proc *p,
		  const char *path_query, int n, double timeout_s)
{
	double deadline = it_now() + timeout_s;

	for (;;) {
		cJSON *log = it_server_log(s);
		double ends[64];
		int got = 0, m;

		if (log) {
			m = it_log_times(log, path_query, NULL, ends, 64);
			for (int i = 0; i < m && i < 64; i++)
				if (ends[i] >= 0)
					got++;
			cJSON_Delete(log);
		}
		if (got >= n)
			return 0;
		if (it_now() >= deadline)
			return -1;
		idle(p, 0.02);
	}
}

/* How many descriptors of pid point below the directory real (a
 * canonical path). */
static int count_open_below(pid_t pid, const char *real)
{
	char fddir[64], fdpath[64 + 256], target[PATH_MAX];
	size_t rl = strlen(real);
	struct dirent *d;
	DIR *fds;
	int n = 0;

	snprintf(fddir, sizeof(fddir), "/proc/%ld/fd", (long)pid);
	fds = opendir(fddir);
	if (!fds)
		return 0;
	while ((d = readdir(fds))) {
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", fddir, d->d_name);
		len = readlink(fdpath, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, real, rl) == 0 && target[rl] == '/')
			n++;
	}
	closedir(fds);
	return n;
}

int it_wait_bodies(const char *dir, struct it_proc *p, int n,
		   double timeout_s)
{
	double deadline = it_now() + timeout_s;
	char real[PATH_MAX];

	for (;;) {
		/* dir may appear only once the run has started. */
		if (realpath(dir, real) && count_open_below(p->pid, real) >= n)
			return 0;
		if (it_now() >= deadline)
			return -1;
		idle(p, 0.02);
	}
}

void it_dump_with_log(const struct it_result *r, const struct it_server *s)
{
	cJSON *log = it_server_log(s);
	char *text = log ? cJSON_Print(log) : NULL;

	if (r)
		it_dump(r);
	fprintf(stderr, "--- server log:\n%s\n--- end\n",
		text ? text : "(unavailable)");
	free(text);
	cJSON_Delete(log);
}

/* ----------------------------------------------------------------- files */

char *it_mkdtemp(void)
{
	char tmpl[] = "/tmp/fm-it-XXXXXX";

	if (!mkdtemp(tmpl))
		return NULL;
	return xstrdup(tmpl);
}

int it_rmtree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = it_path("%s/%s", path, de->d_name);
		if (it_rmtree(sub) != 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rmdir(path) != 0)
		rc = -1;
	return rc;
}

char *it_read_file(const char *path, size_t *len)
{
	struct it_buf b = { 0 };
	char tmp[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	it_buf_append(&b, "", 0);
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			free(b.data);
			return NULL;
		}
		it_buf_append(&b, tmp, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	return b.data;
}

int it_write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	return close(fd);
}

void it_write_list(const struct it_fixture *f, const char *text)
{
	char *lp = it_path("%s/list.txt", f->tmp);

	assert_int_equal(it_write_file(lp, text, strlen(text)), 0);
	free(lp);
}

int it_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tree_walk(const char *root, const char *rel, char ***names,
		     size_t *n, size_t *cap)
{
	char *dir = rel[0] ? it_path("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	free(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *sub, *full;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = rel[0] ? it_path("%s/%s", rel, de->d_name)
			     : xstrdup(de->d_name);
		full = it_path("%s/%s", root, sub);
		if (lstat(full, &st) != 0) {
			free(full);
			free(sub);
			continue;
		}
		free(full);
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*names = realloc(*names, *cap * sizeof(**names));
			if (!*names)
				abort();
		}
		if (S_ISDIR(st.st_mode)) {
			(*names)[(*n)++] = it_path("%s/", sub);
			if (tree_walk(root, sub, names, n, cap) != 0)
				rc = -1;
		} else {
			(*names)[(*n)++] = xstrdup(sub);
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

cJSON *it_tree_list(const char *root)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	cJSON *arr;

	if (tree_walk(root, "", &names, &n, &cap) != 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return NULL;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
		free(names[i]);
	}
	free(names);
	return arr;
}

int it_tree_count_suffix(const cJSON *tree, const char *suffix)
{
	const cJSON *e;
	size_t sl = strlen(suffix);
	int n = 0;

	cJSON_ArrayForEach(e, tree) {
		const char *s = cJSON_GetStringValue(e);
		size_t l = s ? strlen(s) : 0;

		if (s && l >= sl && strcmp(s + l - sl, suffix) == 0)
			n++;
	}
	return n;
}

int it_tree_has(const cJSON *tree, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, tree) {
		const char *s = cJSON_GetStringValue(e);

		if (s && strcmp(s, name) == 0)
			return 1;
	}
	return 0;
}

char *it_expected_body(const char *path, size_t size)
{
	size_t plen = strlen(path) + 1;
	char *b = xmalloc(size + 1);

	for (size_t i = 0; i < size; i++) {
		size_t k = i % plen;

		b[i] = k + 1 == plen ? '\n' : path[k];
	}
	b[size] = '\0';
	return b;
}

int it_write_body(const char *file_path, const char *url_path, size_t size)
{
	char *b = it_expected_body(url_path, size);
	int rc = it_write_file(file_path, b, size);

	free(b);
	return rc;
}

int it_tool_digest(const char *tool, const char *file, char *hex,
		   size_t cap)
{
	const char *argv[] = { tool, file, NULL };
	struct it_result r;
	size_t n, skip;
	int rc = it_run(argv, NULL, NULL, &r);

	/* a '\\' first says that the name is escaped */
	skip = r.out[0] == '\\';
	n = strcspn(r.out + skip, " \n");
	if (rc != 0 || !r.exited || r.exit_code != 0 || n == 0 || n >= cap) {
		fprintf(stderr, "harness: %s %s failed\n", tool, file);
		it_dump(&r);
		it_result_free(&r);
		return -1;
	}
	memcpy(hex, r.out + skip, n);
	hex[n] = '\0';
	it_result_free(&r);
	return 0;
}

int it_file_matches_body(const char *file_path, const char *url_path,
			 size_t size)
{
	size_t len = 0;
	char *got = it_read_file(file_path, &len);
	char *want;
	int ok;

	if (!got) {
		fprintf(stderr, "harness: %s: cannot read: %s\n", file_path,
			strerror(errno));
		return 0;
	}
	want = it_expected_body(url_path, size);
	ok = len == size && memcmp(got, want, size) == 0;
	if (!ok)
		fprintf(stderr, "harness: %s: %zu bytes, want %zu bytes of %s"
			"%s\n", file_path, len, size, url_path,
			len == size ? " (content differs)" : "");
	free(got);
	free(want);
	return ok;
}

int it_count_files(const char *dir)
{
	cJSON *tree;
	const cJSON *e;
	int n = 0;

	if (!it_exists(dir))
		return 0;
	tree = it_tree_list(dir);
	if (!tree)
		return -1;
	cJSON_ArrayForEach(e, tree) {
		const char *s = cJSON_GetStringValue(e);
		size_t l = s ? strlen(s) : 0;

		if (s && l > 0 && s[l - 1] != '/')
			n++;
	}
	cJSON_Delete(tree);
	return n;
}

void it_expect_no_part(const char *dir)
{
	cJSON *tree;

	if (!it_exists(dir))
		return;
	tree = it_tree_list(dir);
	assert_non_null(tree);
	if (it_tree_count_suffix(tree, ".part") != 0) {
		char *t = cJSON_PrintUnformatted(tree);

		fail_msg("a .part was left in %s: %s", dir, t);
	}
	cJSON_Delete(tree);
}

void it_expect_tree(const char *dir, const char *const names[])
{
	cJSON *tree = it_tree_list(dir);
	int n = 0;

	assert_non_null(tree);
	for (; names[n]; n++)
		if (!it_tree_has(tree, names[n]))
			break;
	if (names[n] || cJSON_GetArraySize(tree) != n) {
		char *t = cJSON_PrintUnformatted(tree);

		fail_msg("%s holds %s; %s%s", dir, t,
			 names[n] ? "missing " : "want exactly the listed",
			 names[n] ? names[n] : " names");
	}
	cJSON_Delete(tree);
}

char *it_file_etag(const char *path)
{
	char buf[512];
	ssize_t n = getxattr(path, "user.etag", buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return it_path("%s", buf);
}

/* ------------------------------------------------------------------ JSON */

cJSON *it_jsonl_parse(const char *text, int *bad)
{
	cJSON *arr = cJSON_CreateArray();
	const char *p = text ? text : "";

	if (bad)
		*bad = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xmalloc(n + 1);
		cJSON *j;

		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);
		if (n == 0) {
			free(line);
			continue;
		}
		j = cJSON_Parse(line);
		if (cJSON_IsObject(j)) {
			cJSON_AddItemToArray(arr, j);
		} else {
			fprintf(stderr, "harness: not a JSON object: %s\n",
				line);
			cJSON_Delete(j);
			if (bad)
				(*bad)++;
		}
		free(line);
	}
	return arr;
}

const char *it_json_str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(obj, key));
}

double it_json_num(const cJSON *obj, const char *key, int *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (ok)
		*ok = cJSON_IsNumber(v);
	return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

int it_json_is_null(const cJSON *obj, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key));
}

cJSON *it_json_find_url(const cJSON *array, const char *url)
{
	cJSON *e;

	cJSON_ArrayForEach(e, array) {
		const char *u = it_json_str(e, "url");

		if (u && strcmp(u, url) == 0)
			return e;
	}
	return NULL;
}

cJSON *it_json_find_num(const cJSON *array, const char *key, double v)
{
	cJSON *e;

	cJSON_ArrayForEach(e, array) {
		int ok;
		double x = it_json_num(e, key, &ok);

		if (ok && x == v)
			return e;
	}
	return NULL;
}

int it_json_count_str(const cJSON *array, const char *key, const char *v)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, array) {
		const char *s = it_json_str(e, key);

		if (s && strcmp(s, v) == 0)
			n++;
	}
	return n;
}

int it_count_url(const cJSON *results, const char *url)
{
	return it_json_count_str(results, "url", url);
}

/* Skips a JSON string starting at the '"' at p; returns the position after
 * its closing quote, or NULL. */
static const char *skip_string(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

int it_json_keys_in_order(const char *line, const char *const keys[])
{
	/* Text scan: collect the top-level keys in the order written. */
	const char *p = line;
	int depth = 0, expect_key = 0;
	size_t ki = 0;
	cJSON *obj, *c;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '{') {
		fprintf(stderr, "keys: line does not start with '{': %s\n",
			line);
		return 0;
	}
	for (; *p && *p != '\n'; p++) {
		if (*p == '"') {
			const char *end = skip_string(p);

			if (!end)
				break;
			if (depth == 1 && expect_key) {
				size_t n = (size_t)(end - p) - 2;
				const char *q = end;

				while (*q == ' ')
					q++;
				if (*q != ':') {
					fprintf(stderr, "keys: no ':' after "
						"key at: %s\n", p);
					return 0;
				}
				if (!keys[ki] || strlen(keys[ki]) != n ||
				    strncmp(keys[ki], p + 1, n) != 0) {
					fprintf(stderr, "keys: key #%zu is "
						"\"%.*s\", want \"%s\" in: "
						"%s\n", ki + 1, (int)n, p + 1,
						keys[ki] ? keys[ki] : "(none)",
						line);
					return 0;
				}
				ki++;
				expect_key = 0;
			}
			p = end - 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
			if (depth == 1)
				expect_key = 1;
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (*p == ',' && depth == 1) {
			expect_key = 1;
		}
	}
	if (keys[ki]) {
		fprintf(stderr, "keys: missing \"%s\" (key #%zu) in: %s\n",
			keys[ki], ki + 1, line);
		return 0;
	}

	/* Parsed: the same order, nothing else. */
	obj = cJSON_Parse(line);
	if (!cJSON_IsObject(obj)) {
		fprintf(stderr, "keys: not a JSON object: %s\n", line);
		cJSON_Delete(obj);
		return 0;
	}
	ki = 0;
	cJSON_ArrayForEach(c, obj) {
		if (!keys[ki] || strcmp(c->string, keys[ki]) != 0) {
			fprintf(stderr, "keys: parsed key #%zu is \"%s\"\n",
				ki + 1, c->string);
			cJSON_Delete(obj);
			return 0;
		}
		ki++;
	}
	cJSON_Delete(obj);
	if (keys[ki]) {
		fprintf(stderr, "keys: parsed object lacks \"%s\"\n",
			keys[ki]);
		return 0;
	}
	return 1;
}

static cJSON *split(const char *text, char sep)
{
	cJSON *arr = cJSON_CreateArray();
	const char *p = text ? text : "";

	while (*p) {
		const char *e = strchr(p, sep);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *s = xmalloc(n + 1);

		memcpy(s, p, n);
		s[n] = '\0';
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
		free(s);
		p += n;
		if (e) {
			p++;
			if (!*p && sep != '\n')
				cJSON_AddItemToArray(arr,
						     cJSON_CreateString(""));
		}
	}
	return arr;
}

cJSON *it_split_lines(const char *text)
{
	return split(text, '\n');
}

cJSON *it_split_tabs(const char *line)
{
	return split(line, '\t');
}

/* -------------------------------------------------------- cmocka fixture */

struct it_fixture *it_fixture_new(const char *const server_args[])
{
	struct it_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (it_server_start(&f->srv, server_args) != 0) {
		free(f);
		return NULL;
	}
	f->tmp = it_mkdtemp();
	if (!f->tmp) {
		it_server_stop(&f->srv);
		free(f);
		return NULL;
	}
	return f;
}

void it_fixture_free(struct it_fixture *f)
{
	if (!f)
		return;
	it_server_stop(&f->srv);
	if (f->tmp) {
		if (getenv("FM_KEEP_TMP"))
			fprintf(stderr, "kept %s\n", f->tmp);
		else
			it_rmtree(f->tmp);
		free(f->tmp);
	}
	free(f);
}

int it_fixture_setup(void **state)
{
	*state = it_fixture_new(NULL);
	return *state ? 0 : -1;
}

int it_fixture_teardown(void **state)
{
	it_fixture_free(*state);
	*state = NULL;
	return 0;
}

void it_assert_requests(const struct it_fixture *f,
			const struct it_result *r, const char *path_query,
			int want)
{
	int got = it_requests_for(f, path_query);

	if (got != want) {
		it_dump_with_log(r, &f->srv);
		fail_msg("%s: want %d requests at the server, got %d",
			 path_query, want, got);
	}
}

void it_expect_no_part_dl(const struct it_fixture *f)
{
	char *dl = it_path("%s/dl", f->tmp);

	it_expect_no_part(dl);
	free(dl);
}

long it_host_peak(const struct it_fixture *f, const char *host)
{
	cJSON *st = it_server_stats(&f->srv);
	const cJSON *by, *v;
	long n = -1;

	assert_non_null(st);
	by = cJSON_GetObjectItemCaseSensitive(st, "max_concurrent_by_host");
	v = by ? cJSON_GetObjectItemCaseSensitive(by, host) : NULL;
	if (cJSON_IsNumber(v))
		n = (long)v->valuedouble;
	cJSON_Delete(st);
	return n;
}

int it_requests_for(const struct it_fixture *f, const char *path_query)
{
	cJSON *log = it_server_log(&f->srv);
	int n;

	assert_non_null(log);
	n = it_log_count(log, path_query);
	cJSON_Delete(log);
	return n;
}

cJSON *it_check_json(const struct it_fixture *f, const struct it_result *r,
		     int want_exit, int nlines)
{
	cJSON *res;
	int bad;

	if (want_exit >= 0 && (!r->exited || r->exit_code != want_exit)) {
		it_dump_with_log(r, &f->srv);
		fail_msg("exit status: want %d, got %s %d", want_exit,
			 r->exited ? "exit" : "signal",
			 r->exited ? r->exit_code : r->signaled);
	}
	res = it_jsonl_parse(r->out, &bad);
	assert_int_equal(bad, 0);
	if (nlines >= 0 && cJSON_GetArraySize(res) != nlines) {
		it_dump_with_log(r, &f->srv);
		fail_msg("want %d result lines, got %d", nlines,
			 cJSON_GetArraySize(res));
	}
	return res;
}

cJSON *it_run_json_full(const struct it_fixture *f, const char *out,
			const char *const env[], const char *const args[],
			int want_exit, int nlines, struct it_result *r)
{
	const char *argv[64];
	size_t n = 0;
	int rc;

	argv[n++] = it_bin();
	argv[n++] = "--json";
	if (out) {
		argv[n++] = "-o";
		argv[n++] = out;
	}
	for (size_t i = 0; args[i]; i++) {
		if (n >= 63)
			fail_msg("it_run_json: too many arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	rc = it_run_env(argv, NULL, f->tmp, env, r);
	IT_ASSERT_RAN(rc, *r);
	return it_check_json(f, r, want_exit, nlines);
}

cJSON *it_run_json(const struct it_fixture *f, const char *const args[],
		   int want_exit, int nlines, struct it_result *r)
{
	return it_run_json_full(f, "dl", NULL, args, want_exit, nlines, r);
}

cJSON *it_run_json_plain(const struct it_fixture *f,
			 const char *const args[], int want_exit, int nlines,
			 struct it_result *r)
{
	return it_run_json_full(f, NULL, NULL, args, want_exit, nlines, r);
}

/* ------------------------------------------------- single-run table tests */

/* s with every %BASE replaced by base (malloc'd). */
static char *subst_base(const char *s, const char *base)
{
	struct it_buf b = { 0 };
	const char *hit;

	it_buf_append(&b, "", 0);
	while ((hit = strstr(s, "%BASE"))) {
		it_buf_append(&b, s, (size_t)(hit - s));
		it_buf_append(&b, base, strlen(base));
		s = hit + 5;
	}
	it_buf_append(&b, s, strlen(s));
	return b.data;
}

/* 1 when item satisfies the check op ('=' or '~') against want. */
static int check_value(const cJSON *item, char op, const char *want)
{
	char *end;
	double num;

	if (op == '~')
		return cJSON_IsString(item) &&
		       it_ci_contains(item->valuestring, want);
	if (strcmp(want, "null") == 0)
		return cJSON_IsNull(item);
	if (strcmp(want, "*") == 0)
		return cJSON_IsString(item) && item->valuestring[0] != '\0';
	num = strtod(want, &end);
	if (*want && *end == '\0')
		return cJSON_IsNumber(item) && item->valuedouble == num;
	return cJSON_IsString(item) && strcmp(item->valuestring, want) == 0;
}

/* Splits "key=value" or "key~value" in tok (modified in place). */
static char split_check(char *tok, char **want)
{
	char *op = strpbrk(tok, "=~");
	char c;

	if (!op)
		fail_msg("it_case: \"%s\" is not key=value or key~value", tok);
	c = *op;
	*op = '\0';
	*want = op + 1;
	return c;
}

/* The result that the record's first check picks, or NULL. */
static const cJSON *pick_result(const cJSON *res, const char *record)
{
	char *first = xstrdup(record), *want;
	const cJSON *e, *found = NULL;
	char op;

	first[strcspn(first, " ")] = '\0';
	op = split_check(first, &want);
	cJSON_ArrayForEach(e, res) {
		if (check_value(cJSON_GetObjectItemCaseSensitive(e, first), op,
				want)) {
			found = e;
			break;
		}
	}
	free(first);
	return found;
}

void it_run_case(const struct it_fixture *f, const struct it_case *c)
{
	const char *args[17];
	char *owned[17] = { 0 };
	struct it_result r;
	int nrec = 0, i;
	char *dl;
	cJSON *res, *log;

	if (c->list) {
		char *text = subst_base(c->list, f->srv.base);

		it_write_list(f, text);
		free(text);
	}
	for (i = 0; i < 16 && c->args[i]; i++)
		args[i] = owned[i] = subst_base(c->args[i], f->srv.base);
	args[i] = NULL;
	while (nrec < 16 && c->records[nrec])
		nrec++;
	res = it_run_json(f, args, c->exit, nrec, &r);
	for (i = 0; i < nrec; i++) {
		char *rec = subst_base(c->records[i], f->srv.base);
		const cJSON *e = pick_result(res, rec);
		char *save = NULL, *tok, *want;

		if (!e) {
			it_dump_with_log(&r, &f->srv);
			fail_msg("no result for the record \"%s\"", rec);
		}
		for (tok = strtok_r(rec, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			char op = split_check(tok, &want);
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, tok);

			if (!check_value(v, op, want)) {
				char *got = v ? cJSON_PrintUnformatted(v) : NULL;

				it_dump_with_log(&r, &f->srv);
				fail_msg("record %d: want %s%c%s, got %s", i + 1,
					 tok, op, want, got ? got : "(absent)");
			}
		}
		free(rec);
	}
	log = it_server_log(&f->srv);
	assert_non_null(log);
	if (c->requests >= 0 && cJSON_GetArraySize(log) != c->requests) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("want %d requests, the server saw %d", c->requests,
			 cJSON_GetArraySize(log));
	}
	dl = it_path("%s/dl", f->tmp);
	if (it_count_files(dl) != c->files) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("want %d files below dl/, found %d", c->files,
			 it_count_files(dl));
	}
	free(dl);
	if (c->not_output && (strstr(r.out, c->not_output) ||
			      strstr(r.err, c->not_output))) {
		it_dump(&r);
		fail_msg("\"%s\" in the output", c->not_output);
	}
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	for (i = 0; owned[i]; i++)
		free(owned[i]);
}
