/* harness.h: helpers for fetchmany's cmocka integration tests.
 *
 * The tests drive the real binary ($FM_BIN) against tests/httpd.py
 * ($FM_HTTPD) on the loopback interface. Nothing here links the product
 * library: only libc, libcurl (to query the server), cJSON and cmocka.
 *
 * Every wait is bounded. Child processes get pipes marked close-on-exec so
 * that one child never holds another's pipe open.
 *
 * Names: every function, type and macro of the harness starts with it_ /
 * IT_ ("integration test"). fm_ belongs to the program (src/, include/):
 * the harness never uses it, so it_run() cannot be mistaken for the
 * scheduler's fm_run(). Test files name their own static helpers without
 * either prefix; a helper two test files need belongs here. */
#ifndef IT_HARNESS_H
#define IT_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* ------------------------------------------------------------------ time */

/* Seconds of CLOCK_MONOTONIC (the client side clock; the server's times in
 * /_log come from its own monotonic clock and are only compared with each
 * other). */
double it_now(void);

/* Sleeps s seconds (restarted on EINTR). */
void it_sleep(double s);

/* ---------------------------------------------------------------- server */

struct it_server {
	pid_t pid;       /* 0 when not running */
	int stdin_fd;    /* write end of the server's stdin; closing it stops it */
	int port;
	char base[64];   /* "http://127.0.0.1:PORT" */
};

/* Starts python3 $FM_HTTPD with the extra arguments (NULL-terminated list,
 * or NULL) and waits (at most 10 s) for its "PORT n" line. Returns 0, or
 * -1 with a message on stderr. */
int it_server_start(struct it_server *s, const char *const extra_args[]);

/* Closes the server's stdin and waits for it to exit; SIGKILL after 5 s. */
void it_server_stop(struct it_server *s);

/* Returns the malloc'd URL base + path_query ("/data/a.bin?size=3"). */
char *it_url(const struct it_server *s, const char *path_query);

/* s percent-encoded for a query value (malloc'd; fails the test when out
 * of memory). */
char *it_qenc(const char *s);

/* GETs base + path with libcurl (no proxy, 10 s timeout). Returns the
 * malloc'd NUL-terminated body (length in *len when len is not NULL) and
 * the HTTP status in *status, or NULL on a transfer error. */
char *it_http_get(const struct it_server *s, const char *path, long *status,
		  size_t *len);

/* The server's /_log (a JSON array) and /_stats (an object); NULL on
 * error. Free with cJSON_Delete. */
cJSON *it_server_log(const struct it_server *s);
cJSON *it_server_stats(const struct it_server *s);

/* One number out of /_stats ("requests", "max_concurrent", "concurrent");
 * -1 on error. */
long it_server_stat(const struct it_server *s, const char *key);

/* Counts /_log entries whose "path" (path and query) equals path_query. */
int it_log_count(const cJSON *log, const char *path_query);

/* The request header name (in lower case) of the /_log entry e, or NULL
 * when the request did not carry it. */
const char *it_log_header(const cJSON *e, const char *name);

/* The idx-th (from 0) /_log entry for path_query, or NULL. */
cJSON *it_log_entry(const cJSON *log, const char *path_query, int idx);

/* A new temporary directory for certificates, or NULL when none can be
 * made. When the openssl command does not run, *why (malloc'd) says so
 * and no certificate can be made: the caller's TLS tests skip. */
char *it_cert_dir(char **why);

/* Removes dir (NULL: nothing) and frees it and why. */
void it_cert_dir_free(char *dir, char *why);

/* Makes a self-signed certificate for localhost and 127.0.0.1 with
 * openssl req, as the files cert and key (relative to dir). Returns 0, or
 * -1 with the reason in *why (malloc'd; when why is not NULL). */
int it_make_cert(const char *dir, const char *cert, const char *key,
		 char **why);

/* The /_log entries for path_query, in the order the server began them:
 * their t_start and t_end (t_end -1 while still running) go to starts[]
 * and ends[] (either may be NULL), at most max of them. Returns how many
 * entries matched (may exceed max). */
int it_log_times(const cJSON *log, const char *path_query, double *starts,
		 double *ends, int max);

/* The hex SHA-256 of the /data body for path (no query) and size, as
 * computed by the server (/_sha256). Writes 65 bytes into hex. Returns 0
 * or -1. */
int it_server_sha256(const struct it_server *s, const char *path,
		     size_t size, char hex[65]);

/* ------------------------------------------------------------- processes */

struct it_buf {
	char *data;      /* always NUL-terminated when not NULL */
	size_t len;
	size_t cap;
};

struct it_result {
	int exited;      /* 1 when the child exited normally */
	int exit_code;   /* its exit status when exited */
	int signaled;    /* the signal that ended it, or 0 */
	int timed_out;   /* 1 when the harness had to kill it */
	char *out;       /* captured stdout, NUL-terminated (never NULL) */
	size_t out_len;
	char *err;       /* captured stderr, NUL-terminated (never NULL) */
	size_t err_len;
};

/* A running child with pipes on its stdin, stdout and stderr. */
struct it_proc {
	pid_t pid;
	int in_fd;       /* -1 once closed */
	int out_fd;      /* -1 at end of file */
	int err_fd;
	struct it_buf out;
	struct it_buf err;
	size_t out_lines; /* '\n's in out, counted as they arrive */
};

/* Seconds a run may take before it is killed and counted as failed. */
#define IT_RUN_TIMEOUT 60.0

/* The binary under test ($FM_BIN); aborts the test when unset. */
const char *it_bin(void);

/* Starts argv[0] (looked up in PATH when it has no '/') with argv, in cwd
 * (NULL: the current directory). The child's environment is the test's
 * without proxy variables, plus env (NULL-terminated "NAME=VALUE" to set,
 * "NAME" to unset; may be NULL). Returns 0 or -1. */
int it_proc_start(struct it_proc *p, const char *const argv[],
		  const char *cwd, const char *const env[]);

/* Writes all of data to the child's stdin, reading its output meanwhile.
 * Returns 0, or -1 when the child closed its stdin or timeout_s passed. */
int it_proc_write(struct it_proc *p, const char *data, double timeout_s);

/* One round of I/O with the child: waits until deadline at the most for
 * its stdout or stderr to be readable or, with data, its stdin to be
 * writable; reads what is there and writes what fits of data + *done
 * (advancing *done; len is data's length). Returns -1 when the child
 * closed its stdin, 0 otherwise. For loops that do more between rounds
 * than it_proc_write and it_proc_wait_lines do. */
int it_proc_pump(struct it_proc *p, double deadline, const char *data,
		 size_t len, size_t *done);

/* The number of complete lines on the child's stdout so far (counted as
 * they arrive: asking costs nothing). */
size_t it_proc_lines(const struct it_proc *p);

/* Reads the child's output until its stdout holds at least nlines complete
 * lines, its stdout closes, or timeout_s passes. Returns 0 when the lines
 * are there, -1 otherwise. Its stdin stays open. */
int it_proc_wait_lines(struct it_proc *p, size_t nlines, double timeout_s);

/* Closes stdin (if still open), reads everything until the child exits
 * (killing it after timeout_s) and fills r; frees p's resources. Returns
 * 0, or -1 when the child had to be killed. */
int it_proc_finish(struct it_proc *p, double timeout_s, struct it_result *r);

/* Runs argv to completion with stdin_data on its stdin (NULL: empty stdin,
 * at end of file at once), in cwd (NULL: current directory), capturing
 * stdout, stderr and the exit status. Kills it after IT_RUN_TIMEOUT.
 * Returns 0, or -1 when it could not be started or had to be killed. */
int it_run(const char *const argv[], const char *stdin_data, const char *cwd,
	   struct it_result *r);

/* Like it_run, with environment changes as for it_proc_start. */
int it_run_env(const char *const argv[], const char *stdin_data,
	       const char *cwd, const char *const env[], struct it_result *r);

void it_result_free(struct it_result *r);

/* Prints a run's exit status, stdout and stderr on stderr (for failure
 * diagnostics). */
void it_dump(const struct it_result *r);

/* Fills r's exited, exit_code and signaled from a waitpid() status. */
void it_result_set_status(struct it_result *r, int wstatus);

/* Assertions for test files (they include cmocka.h before this header). */
#define IT_ASSERT_RAN(rc, r)                                                 \
	do {                                                                 \
		if ((rc) != 0) {                                             \
			it_dump(&(r));                                       \
			fail_msg("fetchmany did not finish (killed or not "  \
				 "started)");                                \
		}                                                            \
	} while (0)

#define IT_ASSERT_EXIT(r, code)                                              \
	do {                                                                 \
		if (!(r).exited || (r).exit_code != (code)) {                \
			it_dump(&(r));                                       \
			fail_msg("exit status: want %d, got %s %d", (code),  \
				 (r).exited ? "exit" : "signal",             \
				 (r).exited ? (r).exit_code : (r).signaled); \
		}                                                            \
	} while (0)

/* obj's string key equals want (fails on absent/non-string). */
#define IT_ASSERT_JSTR(obj, key, want)                                       \
	do {                                                                 \
		const char *it_s_ = it_json_str((obj), (key));               \
		if (!it_s_)                                                  \
			fail_msg("\"%s\": want \"%s\", not a string", (key),  \
				 (want));                                    \
		if (strcmp(it_s_, (want)) != 0)                              \
			fail_msg("\"%s\": want \"%s\", got \"%s\"", (key),   \
				 (want), it_s_);                             \
	} while (0)

/* obj's number key equals want. */
#define IT_ASSERT_JNUM(obj, key, want)                                       \
	do {                                                                 \
		int it_ok_;                                                  \
		double it_v_ = it_json_num((obj), (key), &it_ok_);           \
		if (!it_ok_)                                                 \
			fail_msg("\"%s\": want %g, not a number", (key),      \
				 (double)(want));                            \
		if (it_v_ != (double)(want))                                 \
			fail_msg("\"%s\": want %g, got %g", (key),            \
				 (double)(want), it_v_);                     \
	} while (0)

/* obj's key is present with the value null. */
#define IT_ASSERT_JNULL(obj, key)                                            \
	do {                                                                 \
		if (!it_json_is_null((obj), (key)))                          \
			fail_msg("\"%s\": want null", (key));                 \
	} while (0)

/* Appends n bytes of data to b (b->data stays NUL-terminated). */
void it_buf_append(struct it_buf *b, const void *data, size_t n);

/* Appends printf-style text to b (b->data stays NUL-terminated). */
void it_buf_printf(struct it_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Number of '\n'-terminated lines in s. */
size_t it_count_lines(const char *s);

/* Prints the run's output and the server's /_log on stderr. */
void it_dump_with_log(const struct it_result *r, const struct it_server *s);

/* --------------------------------------------------------------- waiting */

/* Reads the child's stdout and stderr for s seconds (or until both are
 * closed), so that it never blocks on a full pipe while the test waits. */
void it_proc_pump_for(struct it_proc *p, double s);

/* Polls /_stats every 20 ms (pumping the child's output meanwhile when p is
 * not NULL) until the server has seen at least n requests. Returns the
 * number seen (>= n), or -1 when timeout_s passed first. */
long it_wait_requests(const struct it_server *s, struct it_proc *p, long n,
		      double timeout_s);

/* Polls /_log every 20 ms (pumping p when not NULL) until at least n
 * requests for path_query have ended (t_end not null). Returns 0, or -1
 * when timeout_s passed first. */
int it_wait_ended(const struct it_server *s, struct it_proc *p,
		  const char *path_query, int n, double timeout_s);

/* Polls every 20 ms (pumping p) until process p holds at least n files
 * under dir open: bodies being written, whether as NAME.part or as
 * unnamed O_TMPFILE files (seen in /proc/PID/fd as "DIR/#INODE
 * (deleted)"). Returns 0 or -1 on timeout. */
int it_wait_bodies(const char *dir, struct it_proc *p, int n,
		   double timeout_s);

/* ----------------------------------------------------------------- files */

/* Creates a fresh directory /tmp/fm-it-XXXXXX; returns its malloc'd path
 * or NULL. */
char *it_mkdtemp(void);

/* Removes path and everything below it (does not follow symlinks).
 * Returns 0 or -1. */
int it_rmtree(const char *path);

/* Reads a whole file; returns the malloc'd NUL-terminated contents (length
 * in *len when len is not NULL) or NULL. */
char *it_read_file(const char *path, size_t *len);

/* Writes data to path (created or truncated). Returns 0 or -1. */
int it_write_file(const char *path, const char *data, size_t len);

/* Writes text to the fixture's list file, f->tmp/list.txt (created or
 * truncated; fails the test on error): the LIST that "list.txt" names in
 * a run's arguments. */
struct it_fixture;
void it_write_list(const struct it_fixture *f, const char *text);

/* Returns the malloc'd string a/b (printf-style). */
char *it_path(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

/* 1 when path exists (lstat), 0 otherwise. */
int it_exists(const char *path);

/* Every entry below root, recursively, as paths relative to root (a
 * directory with a trailing '/'), sorted. Returns a cJSON array of strings
 * or NULL when root cannot be read. */
cJSON *it_tree_list(const char *root);

/* Number of entries of a it_tree_list() array whose name ends with
 * suffix. */
int it_tree_count_suffix(const cJSON *tree, const char *suffix);

/* 1 when the it_tree_list() array holds exactly name. */
int it_tree_has(const cJSON *tree, const char *name);

/* The expected /data body for the request path (without query) and size:
 * path followed by '\n', repeated and cut to size bytes. Malloc'd, with a
 * NUL after the size bytes. */
char *it_expected_body(const char *path, size_t size);

/* Writes the /data body for url_path and size into the file at
 * file_path (its directory must exist), so that a real tool can read
 * it. Returns 0 or -1. */
int it_write_body(const char *file_path, const char *url_path, size_t size);

/* Runs a coreutils digest tool (md5sum, sha1sum, sha256sum, sha512sum)
 * on file and copies the digest it prints (its first word, less the '\'
 * of an escaped name) into hex (cap bytes). Returns 0, or -1 with the
 * reason on stderr. */
int it_tool_digest(const char *tool, const char *file, char *hex,
		   size_t cap);

/* 1 when the file at file_path holds exactly the /data body for
 * url_path and size; otherwise 0 with the reason on stderr. */
int it_file_matches_body(const char *file_path, const char *url_path,
			 size_t size);

/* Number of regular files (and other non-directories) below dir,
 * recursively; 0 when dir does not exist; -1 when it cannot be read. */
int it_count_files(const char *dir);

/* Fails the test when a NAME.part file is left anywhere below dir (a dir
 * that does not exist holds none). */
void it_expect_no_part(const char *dir);

/* Fails the test unless dir holds exactly the entries names
 * (NULL-terminated; as it_tree_list() names them), naming what differs. */
void it_expect_tree(const char *dir, const char *const names[]);

/* The value of the user.etag extended attribute of path (malloc'd), or
 * NULL when it has none. */
char *it_file_etag(const char *path);

/* ------------------------------------------------------------------ JSON */

/* Parses JSON Lines: returns a cJSON array holding one item per non-empty
 * line; *bad (when not NULL) counts lines that are not JSON objects (they
 * are left out). Never NULL except when out of memory. */
cJSON *it_jsonl_parse(const char *text, int *bad);

/* The string value of key in obj, or NULL when absent or not a string. */
const char *it_json_str(const cJSON *obj, const char *key);

/* The number value of key; *ok (when not NULL) is 1 when it was a number. */
double it_json_num(const cJSON *obj, const char *key, int *ok);

/* 1 when obj has key with the value null. */
int it_json_is_null(const cJSON *obj, const char *key);

/* The first object of array whose "url" equals url, or NULL. */
cJSON *it_json_find_url(const cJSON *array, const char *url);

/* The first object of array whose number key equals v, or NULL. */
cJSON *it_json_find_num(const cJSON *array, const char *key, double v);

/* Number of objects of array whose string key equals v. */
int it_json_count_str(const cJSON *array, const char *key, const char *v);

/* Number of objects of the JSON Lines array whose "url" equals url. */
int it_count_url(const cJSON *results, const char *url);

/* Checks that the keys of the JSON object in the raw text line appear in
 * exactly the order of keys (NULL-terminated) with no other key, both by
 * scanning the text and by walking the parsed object. Returns 1, or 0 with
 * the reason on stderr. */
int it_json_keys_in_order(const char *line, const char *const keys[]);

/* Splits text into its lines (without '\n'); returns a cJSON array of
 * strings. */
cJSON *it_split_lines(const char *text);

/* Splits line at tabs; returns a cJSON array of strings. */
cJSON *it_split_tabs(const char *line);

/* --------------------------------------------------------------- strings */

/* 1 when s starts with prefix. */
int it_starts_with(const char *s, const char *prefix);

/* 1 when needle occurs in hay ignoring ASCII case (an empty needle always
 * does); 0 when hay is NULL. */
int it_ci_contains(const char *hay, const char *needle);

/* -------------------------------------------------------- cmocka fixture */

/* A server and a scratch directory for one test. */
struct it_fixture {
	struct it_server srv;
	char *tmp;
};

/* cmocka setup/teardown: *state becomes a struct it_fixture. */
int it_fixture_setup(void **state);
int it_fixture_teardown(void **state);

/* The same outside cmocka's setup: a fixture whose server gets
 * server_args (NULL-terminated, or NULL), or NULL when the server or the
 * directory could not be made. it_fixture_free stops the server and
 * removes the directory (kept, and named on stderr, when $FM_KEEP_TMP is
 * set); NULL is fine. */
struct it_fixture *it_fixture_new(const char *const server_args[]);
void it_fixture_free(struct it_fixture *f);

/* Fails the test (dumping r and the server's /_log) unless the fixture
 * server saw want requests for path_query. */
void it_assert_requests(const struct it_fixture *f,
			const struct it_result *r, const char *path_query,
			int want);

/* it_expect_no_part on f->tmp/dl. */
void it_expect_no_part_dl(const struct it_fixture *f);

/* The per-host peak of concurrent requests for host (the Host header
 * without its port) in the fixture server's /_stats, or -1. */
long it_host_peak(const struct it_fixture *f, const char *host);

/* The number of requests for path_query in the fixture server's /_log
 * (fails the test when /_log cannot be read). */
int it_requests_for(const struct it_fixture *f, const char *path_query);

/* For cmocka tests: checks a finished run of "fetchmany --json": that it
 * exited with want_exit (want_exit < 0: the caller checks), that every
 * stdout line is a JSON object and, when nlines >= 0, that there are
 * nlines of them; dumps the run and the server's /_log on a failure.
 * Returns the parsed lines (free with cJSON_Delete). */
cJSON *it_check_json(const struct it_fixture *f, const struct it_result *r,
		     int want_exit, int nlines);

/* Runs "fetchmany --json -o OUT ARGS" (args NULL-terminated; no -o when
 * out is NULL) in f->tmp with an empty stdin and the environment changes
 * env (as for it_proc_start; may be NULL), asserts that it ran, and
 * checks it with it_check_json. r holds the run (free with
 * it_result_free). */
cJSON *it_run_json_full(const struct it_fixture *f, const char *out,
			const char *const env[], const char *const args[],
			int want_exit, int nlines, struct it_result *r);

/* it_run_json_full with "-o dl" and no environment changes. */
cJSON *it_run_json(const struct it_fixture *f, const char *const args[],
		   int want_exit, int nlines, struct it_result *r);

/* The same without "-o dl": the arguments say where files go. */
cJSON *it_run_json_plain(const struct it_fixture *f,
			 const char *const args[], int want_exit, int nlines,
			 struct it_result *r);

/* ------------------------------------------------- single-run table tests */

/* One run of "fetchmany --json -o dl ARGS" as data (after curl's
 * tests/data): the list, the arguments, the exit status, the result
 * records and what the server and dl/ saw. In list, args and records,
 * %BASE stands for the server's "http://127.0.0.1:PORT".
 *
 * A record is a line of space-separated checks on one result object; its
 * first check picks the result (the one whose key equals the value), and
 * there must be exactly as many results as records:
 *   key=null    the value is null
 *   key=NUMBER  the value is that number
 *   key=*       the value is a non-empty string
 *   key~word    the value is a string holding word, ignoring case
 *   key=text    the value is the string text */
struct it_case {
	const char *list;          /* written to list.txt; NULL: none */
	const char *args[16];      /* NULL-terminated */
	int exit;                  /* the exit status */
	const char *records[16];   /* NULL-terminated */
	int requests;              /* requests the server saw; -1: any */
	int files;                 /* files below dl/ (it_count_files) */
	const char *not_output;    /* in neither stdout nor stderr; NULL */
};

/* Runs the case in the fixture and fails the test, naming the check, at
 * the first difference. */
void it_run_case(const struct it_fixture *f, const struct it_case *c);

#endif
