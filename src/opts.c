/* opts.c: the option table, --help and --version.
 *
 * Every option is one row of opt_table[] (curl's src/tool_getparam.c):
 * its names, its kind, the field of struct fm_opts it sets, its bounds
 * and its line of --help. getopt_long's tables and --help are derived
 * from the rows, and one setter per kind checks the value with one
 * message per kind that names the option, so that nothing later has to.
 * Only options that set more than one field, or check more than a kind
 * can, have a function of their own (FM_OPT_SPECIAL). Adding an option
 * is a row here and a paragraph in man/fetchmany.1. */
#define _GNU_SOURCE /* getopt_long */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <uv.h>

#include "fm_error.h"
#include "fm_opts.h"

/* The parse in progress, as the special setters see it. */
struct fm_opt_parse {
	struct fm_opts *o;
	int argc;
	FILE *out, *err;
};

#define FIELD(f) offsetof(struct fm_opts, f), sizeof(((struct fm_opts *)0)->f)
#define FLAG(n, l, f, h) {n, l, FM_OPT_FLAG, FIELD(f), .help = h}
#define UINT(n, l, f, lo, hi, a, h)                                         \
	{n, l, FM_OPT_UINT, FIELD(f), lo, hi, .arg = a, .help = h}
#define SECONDS(n, l, f, h)                                                 \
	{n, l, FM_OPT_SECONDS, FIELD(f), 0, (unsigned long)FM_SECONDS_MAX,  \
	 .arg = "S", .help = h}
#define SIZE(n, l, f, a, h) {n, l, FM_OPT_SIZE, FIELD(f), .arg = a, .help = h}
#define STRING(n, l, f, a, h)                                               \
	{n, l, FM_OPT_STRING, FIELD(f), .arg = a, .help = h}
#define SPECIAL(n, l, fn, a, h)                                             \
	{n, l, FM_OPT_SPECIAL, 0, 0, .special = fn, .arg = a, .help = h}

static void print_version(FILE *f)
{
	fprintf(f, "fetchmany %s\n", FM_VERSION);
	fprintf(f, "libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	fprintf(f, "libuv %s\n", uv_version_string());
	fprintf(f, "cJSON %s\n", cJSON_Version());
	fprintf(f, "%s\n", OpenSSL_version(OPENSSL_VERSION));
}

/* Parses a whole decimal number within [lo, hi]. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v < lo || *v > hi)
		return -1;
	return 0;
}

/* Parses a duration in seconds within [lo, hi]: a decimal number,
 * fractions allowed. NaN and infinities are not numbers of seconds. */
static int parse_seconds(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v >= lo) || !(*v <= hi))
		return -1;
	return 0;
}

int fm_parse_size(const char *s, uint64_t *v)
{
	static const char units[] = "KMGT";
	const char *u;
	double d, mult = 1;
	char *end;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || !(d > 0) || *s == '-' || *s == '+')
		return -1;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -1;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
		if (strcasecmp(end, "") && strcasecmp(end, "b") &&
		    strcasecmp(end, "ib"))
			return -1;
	}
	d *= mult;
	if (d >= 18446744073709551615.0 || d < 1)
		return -1;
	*v = (uint64_t)d;
	return 0;
}

int fm_parse_shard(const char *s, unsigned *k, unsigned *n)
{
	const char *slash = strchr(s, '/');
	unsigned long a, b;
	char *kpart;
	int rc;

	if (!slash)
		return -1;
	kpart = strndup(s, (size_t)(slash - s));
	if (!kpart)
		return -1;
	rc = parse_uint(kpart, 1, UINT_MAX, &a);
	free(kpart);
	if (rc || parse_uint(slash + 1, 1, UINT_MAX, &b) || a > b)
		return -1;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

void fm_opts_free(struct fm_opts *o)
{
	free(o->headers);
	o->headers = NULL;
	o->nheaders = 0;
	free(o->config_text);
	o->config_text = NULL;
	free(o->checksums);
	o->checksums = NULL;
	o->nchecksums = 0;
}

/* A header given with -H must at least look like "Name: value" (or
 * "Name:" to remove one of libcurl's, or "Name;" for an empty value). */
static bool header_ok(const char *h)
{
	size_t n = strcspn(h, ":;");

	if (n == 0 || !h[n])
		return false;
	for (size_t i = 0; i < n; i++)
		if (h[i] <= ' ' || h[i] == 0x7f)
			return false;
	for (const char *p = h; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
}

/* Prints "fetchmany: --NAME: 'ARG' is not WHAT", WHAT from fmt: the one
 * message of every value that does not fit its option. */
__attribute__((format(printf, 4, 5))) static enum fm_opts_result
bad_value(const struct fm_opt *r, const char *arg, FILE *err,
	  const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "fetchmany: --%s: '%s' is not ", r->name, arg);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	return FM_OPTS_USAGE;
}

static enum fm_opts_result show_help(const struct fm_opt *r, const char *arg,
				     struct fm_opt_parse *p)
{
	(void)r, (void)arg;
	fm_opts_usage(p->out);
	return FM_OPTS_EXIT;
}

static enum fm_opts_result show_version(const struct fm_opt *r,
					const char *arg, struct fm_opt_parse *p)
{
	(void)r, (void)arg;
	print_version(p->out);
	return FM_OPTS_EXIT;
}

/* -o: an empty name would mean the current directory by accident; run.c
 * also needs to know whether it was given. */
static enum fm_opts_result set_output_dir(const struct fm_opt *r,
					  const char *arg,
					  struct fm_opt_parse *p)
{
	(void)r;
	if (!*arg) {
		fputs("fetchmany: --output-dir: empty directory name\n",
		      p->err);
		return FM_OPTS_USAGE;
	}
	p->o->output_dir = arg;
	p->o->output_dir_given = true;
	return FM_OPTS_RUN;
}

/* Appends arg to the values of a repeatable option (*v, *n): there are
 * never more than argc. */
static enum fm_opts_result push_value(const char ***v, int *n,
				      const char *arg, struct fm_opt_parse *p)
{
	if (!*v && !(*v = calloc((size_t)p->argc, sizeof(**v)))) {
		fputs("fetchmany: out of memory\n", p->err);
		return FM_OPTS_USAGE;
	}
	(*v)[(*n)++] = arg;
	return FM_OPTS_RUN;
}

/* -H: checked, then appended. */
static enum fm_opts_result add_header(const struct fm_opt *r, const char *arg,
				      struct fm_opt_parse *p)
{
	if (!header_ok(arg))
		return bad_value(r, arg, p->err, "'Name: value'");
	return push_value(&p->o->headers, &p->o->nheaders, arg, p);
}

/* --checksums: appended; the files are read when the run starts. */
static enum fm_opts_result add_checksums(const struct fm_opt *r,
					 const char *arg,
					 struct fm_opt_parse *p)
{
	if (!*arg)
		return bad_value(r, arg, p->err, "a file name");
	return push_value(&p->o->checksums, &p->o->nchecksums, arg, p);
}

/* --retry-on: each list adds its statuses to the set. */
static enum fm_opts_result add_retry_on(const struct fm_opt *r,
					const char *arg,
					struct fm_opt_parse *p)
{
	char why[128];

	if (fm_retry_on_parse(&p->o->retry_on, arg, why, sizeof(why))) {
		fprintf(p->err, "fetchmany: --%s: '%s': %s\n", r->name, arg,
			why);
		return FM_OPTS_USAGE;
	}
	return FM_OPTS_RUN;
}

/* Whether libcurl can take url as a proxy: [SCHEME://][USER[:PASSWORD]@]
 * HOST[:PORT], SCHEME one of http (the default), https, socks4, socks4a,
 * socks5, socks5h, PORT 1 to 65535. */
static bool proxy_url_ok(const char *url)
{
	static const char *const schemes[] = {"http", "https", "socks4",
					      "socks4a", "socks5", "socks5h",
					      NULL};
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (u &&
	    curl_url_set(u, CURLUPART_URL, url,
			 CURLU_DEFAULT_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
		    CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && *host)
		for (size_t i = 0; schemes[i] && !ok; i++)
			ok = strcasecmp(scheme, schemes[i]) == 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* --proxy: refused at once when libcurl could not use it, rather than by
 * every transfer; the message hides its credentials. "" is no proxy. */
static enum fm_opts_result set_proxy(const struct fm_opt *r, const char *arg,
				     struct fm_opt_parse *p)
{
	enum fm_opts_result res;
	char *shown;

	if (!*arg || proxy_url_ok(arg)) {
		p->o->proxy = arg;
		return FM_OPTS_RUN;
	}
	shown = strdup(arg);
	if (shown)
		fm_redact_userinfo(shown);
	res = bad_value(r, shown ? shown : "(hidden)", p->err,
			"a proxy URL ([http|https|socks4|socks4a|socks5|"
			"socks5h://][user:password@]host[:port])");
	free(shown);
	return res;
}

/* --shard K/N sets two fields. */
static enum fm_opts_result set_shard(const struct fm_opt *r, const char *arg,
				     struct fm_opt_parse *p)
{
	if (fm_parse_shard(arg, &p->o->shard_k, &p->o->shard_n))
		return bad_value(r, arg, p->err, "K/N with 1 <= K <= N");
	return FM_OPTS_RUN;
}

/* --config and --no-config were seen before the parse (find_config()). */
static enum fm_opts_result config_given(const struct fm_opt *r,
					const char *arg, struct fm_opt_parse *p)
{
	(void)r, (void)arg, (void)p;
	return FM_OPTS_RUN;
}

static const char *const progress_values[] = {"auto", "always", "never",
					      NULL};

/* The rows, in --help order. A row that opens a --help group is written
 * out in full, to carry its .group; the others use the macros above. */
static const struct fm_opt opt_table[] = {
	{"shard", 0, FM_OPT_SPECIAL, .special = set_shard, .arg = "K/N",
	 .help = "keep the entries whose URL hash mod N is K-1",
	 .group = "Input"},
	FLAG("dry-run", 0, dry_run,
	     "print each entry's destination; no network"),

	{"output-dir", 'o', FM_OPT_SPECIAL, .special = set_output_dir,
	 .arg = "DIR", .help = "write files under DIR (default: .)",
	 .group = "Output"},
	FLAG("mirror", 'x', mirror,
	     "keep the URL's structure: DIR/HOST[_PORT]/PATH"),
	FLAG("content-disposition", 0, content_disposition,
	     "prefer the server's file name"),
	FLAG("continue", 'c', resume,
	     "resume NAME.part files left by an earlier run"),
	FLAG("no-clobber", 'n', no_clobber,
	     "skip entries whose file exists, without a request"),
	FLAG("timestamping", 'N', timestamping,
	     "only fetch what changed (If-Modified-Since, ETag)"),
	FLAG("sha256", 0, sha256, "compute and report every file's SHA-256"),
	SPECIAL("checksums", 0, add_checksums, "FILE",
		"expected digests from a SHA256SUMS-style file\n"
		"(coreutils or BSD format; repeatable)"),
	FLAG("require-digest", 0, require_digest,
	     "an entry without an expected digest is invalid"),

	{"jobs", 'j', FM_OPT_UINT, FIELD(jobs), 1, FM_JOBS_MAX, .arg = "N",
	 .help = "transfers in flight at most, 1..10000 (default: 16)",
	 .group = "Concurrency and timeouts"},
	UINT("per-host", 0, per_host, 0, FM_JOBS_MAX, "N",
	     "transfers per host at most (default: 0, no limit)"),
	UINT("split", 0, split, 1, FM_SPLIT_MAX, "N",
	     "transfers per large body at most, 1..64 (default: 8;\n"
	     "1: one each)"),
	SIZE("min-split-size", 0, min_split_size, "SIZE",
	     "smallest piece of a split body; bodies under\n"
	     "2 x SIZE go whole (default: 8M)"),
	SIZE("limit-rate", 0, limit_rate, "RATE",
	     "cap on all transfers' total rate (default: none)"),
	UINT("threads", 0, threads, 0, FM_THREADS_MAX, "N",
	     "threads that run the transfers (default: 0, one per\n"
	     "CPU, at most 8)"),
	SECONDS("connect-timeout", 0, connect_timeout,
		"connection set-up limit (default: 10)"),
	SECONDS("timeout", 't', timeout,
		"limit per attempt, whole transfer (default: 0, none)"),
	SECONDS("stall-timeout", 0, stall_timeout,
		"fail an attempt that received nothing for S\n"
		"(default: 30; 0: never)"),

	{"retries", 'r', FM_OPT_UINT, FIELD(retries), 0, FM_RETRIES_MAX,
	 .arg = "N", .help = "retries after the first attempt (default: 3)",
	 .group = "Retries"},
	SPECIAL("retry-on", 0, add_retry_on, "LIST",
		"also retry these HTTP statuses, e.g. 403,404,52x\n"
		"(repeatable; default: none)"),
	SECONDS("backoff", 0, backoff,
		"first retry waits S to S/2, doubling (default: 1)"),
	SECONDS("backoff-max", 0, backoff_max,
		"longest wait, Retry-After included (default: 30)"),
	FLAG("fail-fast", 0, fail_fast, "stop at the first failed entry"),

	{"header", 'H', FM_OPT_SPECIAL, .special = add_header,
	 .arg = "'N: V'",
	 .help = "add a request header (repeatable; a list entry's\n"
		 "header= of the same name replaces it)",
	 .group = "HTTP"},
	STRING("user-agent", 'A', user_agent, "STR",
	       "(default: fetchmany/" FM_VERSION ")"),
	UINT("max-redirs", 0, max_redirs, 0, 1000, "N",
	     "redirects followed at most (default: 10)"),
	SIZE("max-filesize", 0, max_filesize, "SIZE",
	     "fail larger bodies (default: none)"),
	FLAG("compressed", 0, compressed,
	     "ask for compressed bodies, store them decoded"),
	FLAG("check", 0, check,
	     "ask each server whether the file is there (HEAD),\n"
	     "write nothing"),
	FLAG("fsync", 0, fsync,
	     "flush each file to disk before it gets its name"),
	FLAG("xattr", 0, xattr,
	     "record the URL in the user.xdg.origin.url attribute"),
	FLAG("netrc", 0, netrc, "read credentials from ~/.netrc"),
	STRING("netrc-file", 0, netrc_file, "F", "read credentials from F"),
	STRING("cacert", 0, cacert, "FILE",
	       "trust the CA certificates in FILE"),
	FLAG("insecure", 'k', insecure, "do not verify TLS certificates"),
	FLAG("https-only", 0, https_only,
	     "refuse http:// URLs and redirects to them"),
	SPECIAL("proxy", 0, set_proxy, "URL",
	       "use this HTTP proxy (\"\": none; default: the\n"
	       "environment's http_proxy, https_proxy, all_proxy)"),
	STRING("noproxy", 0, noproxy, "LIST",
	       "hosts reached without the proxy (default: no_proxy)"),
	STRING("cookie", 0, cookie, "FILE",
	       "send the cookies of FILE (Netscape format)"),
	STRING("cookie-jar", 0, cookie_jar, "FILE",
	       "write every cookie to FILE at the end"),

	{"json", 0, FM_OPT_FLAG, FIELD(json),
	 .help = "results as JSON Lines (default: tab-separated)",
	 .group = "Reporting"},
	FLAG("quiet", 'q', quiet, "no result lines; failures still on stderr"),
	{"progress", 0, FM_OPT_ENUM, FIELD(progress),
	 .values = progress_values, .arg = "WHEN",
	 .help = "live line on stderr: auto (a terminal), always,\n"
		 "never (default: auto)"},
	SPECIAL("config", 0, config_given, "FILE",
		"read default options from FILE (default:\n"
		"$XDG_CONFIG_HOME/fetchmany/config)"),
	SPECIAL("no-config", 0, config_given, NULL,
		"read no file of default options"),
	SPECIAL("help", 'h', show_help, NULL, "show this help and exit"),
	SPECIAL("version", 'V', show_version, NULL, "show versions and exit"),
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

const struct fm_opt *fm_opts_table(size_t *n)
{
	*n = NOPTS;
	return opt_table;
}

/* The setters, one per kind. Each stores arg into r's field of p->o, or
 * says why not and returns FM_OPTS_USAGE. */
static enum fm_opts_result set_flag(const struct fm_opt *r, const char *arg,
				    struct fm_opt_parse *p)
{
	(void)arg;
	*(bool *)((char *)p->o + r->off) = true;
	return FM_OPTS_RUN;
}

static enum fm_opts_result set_uint(const struct fm_opt *r, const char *arg,
				    struct fm_opt_parse *p)
{
	unsigned long v;

	if (parse_uint(arg, r->min, r->max, &v))
		return bad_value(r, arg, p->err, "a number from %lu to %lu",
				 r->min, r->max);
	*(unsigned *)((char *)p->o + r->off) = (unsigned)v;
	return FM_OPTS_RUN;
}

static enum fm_opts_result set_seconds(const struct fm_opt *r,
				       const char *arg, struct fm_opt_parse *p)
{
	double v;

	if (parse_seconds(arg, (double)r->min, (double)r->max, &v))
		return bad_value(r, arg, p->err,
				 "a number of seconds from %lu to %lu", r->min,
				 r->max);
	*(double *)((char *)p->o + r->off) = v;
	return FM_OPTS_RUN;
}

static enum fm_opts_result set_size(const struct fm_opt *r, const char *arg,
				    struct fm_opt_parse *p)
{
	if (fm_parse_size(arg, (uint64_t *)((char *)p->o + r->off)))
		return bad_value(r, arg, p->err, "a size such as 500K or 1.5M");
	return FM_OPTS_RUN;
}

static enum fm_opts_result set_string(const struct fm_opt *r,
				      const char *arg, struct fm_opt_parse *p)
{
	*(const char **)((char *)p->o + r->off) = arg;
	return FM_OPTS_RUN;
}

/* Stores the index of arg in r->values; the message lists them as
 * "a, b or c". */
static enum fm_opts_result set_enum(const struct fm_opt *r, const char *arg,
				    struct fm_opt_parse *p)
{
	size_t n = 0;

	for (; r->values[n]; n++)
		if (strcmp(arg, r->values[n]) == 0) {
			*(int *)((char *)p->o + r->off) = (int)n;
			return FM_OPTS_RUN;
		}
	fprintf(p->err, "fetchmany: --%s: '%s' is not ", r->name, arg);
	for (size_t i = 0; i < n; i++)
		fprintf(p->err, "%s%s", r->values[i],
			i + 2 < n ? ", " : i + 2 == n ? " or " : "\n");
	return FM_OPTS_USAGE;
}

static enum fm_opts_result (*const setters[])(const struct fm_opt *,
					      const char *,
					      struct fm_opt_parse *) = {
	[FM_OPT_FLAG] = set_flag,       [FM_OPT_UINT] = set_uint,
	[FM_OPT_SECONDS] = set_seconds, [FM_OPT_SIZE] = set_size,
	[FM_OPT_STRING] = set_string,   [FM_OPT_ENUM] = set_enum,
};

_Static_assert(sizeof(enum fm_progress_mode) == sizeof(int),
	       "set_enum stores an int");

void fm_opts_usage(FILE *f)
{
	fputs("Usage: fetchmany [OPTIONS] [LIST | URL]...\n"
	      "Download every URL of the lists concurrently; one result line "
	      "per entry.\n"
	      "A LIST is a file of URLs, '-' (or nothing) is standard input.\n"
	      "S: seconds, fractions allowed. SIZE, RATE: bytes, suffixes "
	      "K, M, G (1024s).\n",
	      f);
	for (const struct fm_opt *r = opt_table; r < opt_table + NOPTS; r++) {
		int w;

		if (r->group)
			fprintf(f, "\n%s:\n", r->group);
		w = r->letter ? fprintf(f, "  -%c, ", r->letter)
			      : fprintf(f, "      ");
		w += fprintf(f, "--%s%s%s", r->name, r->arg ? " " : "",
			     r->arg ? r->arg : "");
		fprintf(f, "%*s", w < 23 ? 25 - w : 2, "");
		/* A help text's '\n' continues it under itself. */
		for (const char *h = r->help; *h; h++)
			if (*h == '\n')
				fprintf(f, "\n%25s", "");
			else
				fputc(*h, f);
		fputc('\n', f);
	}
	fputs("\n"
	      "Exit status: 0 all ok, 1 an entry failed or was invalid, "
	      "2 usage error,\n"
	      "130/143 interrupted. See fetchmany(1).\n",
	      f);
}

/* getopt_long returns a row's letter, or OPT_LONG + its index. */
enum { OPT_LONG = 256 };

/* Fills getopt_long's two tables from the rows. */
static void getopt_tables(struct option *longs, char *shorts)
{
	*shorts++ = ':'; /* a missing value is ':', not '?' */
	for (size_t i = 0; i < NOPTS; i++) {
		const struct fm_opt *r = &opt_table[i];

		longs[i] = (struct option){
			r->name, r->arg ? required_argument : no_argument,
			NULL, r->letter ? r->letter : OPT_LONG + (int)i};
		if (r->letter) {
			*shorts++ = r->letter;
			if (r->arg)
				*shorts++ = ':';
		}
	}
	longs[NOPTS] = (struct option){0};
	*shorts = '\0';
}

static const struct fm_opt *row_of(int c)
{
	if (c >= OPT_LONG)
		return &opt_table[c - OPT_LONG];
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_table[i].letter && opt_table[i].letter == c)
			return &opt_table[i];
	return NULL;
}

/* What getopt_long could not match: a missing value, or an unknown
 * option (a short one by its letter, a long one as written). */
static enum fm_opts_result not_an_option(int c, char **argv, FILE *err)
{
	if (c == ':') {
		fprintf(err, "fetchmany: option '%s' needs a value\n",
			argv[optind - 1]);
		return FM_OPTS_USAGE;
	}
	if (optopt > 0 && optopt < OPT_LONG)
		fprintf(err, "fetchmany: unknown option '-%c'\n", optopt);
	else
		fprintf(err, "fetchmany: unknown option '%s'\n",
			argv[optind - 1]);
	fputs("Try 'fetchmany --help'.\n", err);
	return FM_OPTS_USAGE;
}

static const struct fm_opts defaults = {
	.jobs = FM_JOBS_DEFAULT,
	.output_dir = ".",
	.connect_timeout = 10,
	.stall_timeout = 30,
	.retries = 3,
	.backoff = 1,
	.backoff_max = 30,
	.max_redirs = 10,
	.split = FM_SPLIT_DEFAULT,
	.min_split_size = FM_MIN_SPLIT_DEFAULT,
};

/* ----------------------------------------------------- the defaults file */

/* The row of long option name (n bytes), or NULL. */
static const struct fm_opt *row_named(const char *name, size_t n)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opt_table[i].name) == n &&
		    strncmp(opt_table[i].name, name, n) == 0)
			return &opt_table[i];
	return NULL;
}

/* The long option that arg ("--NAME" or "--NAME=VALUE") stands for as
 * getopt_long takes it: NAME whole, or a prefix of one option's name
 * alone (--conf is --config); NULL for none, or for a prefix of several
 * (getopt_long refuses it). */
static const struct fm_opt *row_meant(const char *arg)
{
	const struct fm_opt *found = NULL;
	const char *name;
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return NULL; /* not "--NAME": nothing to read past it */
	name = arg + 2;
	n = strcspn(name, "=");
	if (n == 0)
		return NULL;
	if ((found = row_named(name, n)))
		return found;
	for (size_t i = 0; i < NOPTS; i++)
		if (strncmp(opt_table[i].name, name, n) == 0) {
			if (found)
				return NULL;
			found = &opt_table[i];
		}
	return found;
}

/* The defaults file the command line names (--config FILE, or none with
 * --no-config), else $XDG_CONFIG_HOME/fetchmany/config, else
 * ~/.config/fetchmany/config, into path. Returns 1 when one was named
 * (it must exist), 0 for the usual place (it may not), -1 for none. */
static int find_config(int argc, char **argv, char *path, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int named = 0;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const struct fm_opt *r = row_meant(argv[i]);
		const char *eq = strchr(argv[i], '=');

		if (!r)
			continue;
		if (strcmp(r->name, "no-config") == 0)
			return -1;
		if (strcmp(r->name, "config") != 0)
			continue;
		if (eq) {
			snprintf(path, cap, "%s", eq + 1);
			named = 1;
		} else if (i + 1 < argc) {
			snprintf(path, cap, "%s", argv[++i]);
			named = 1;
		}
	}
	if (named)
		return 1;
	if (xdg && *xdg)
		snprintf(path, cap, "%s/fetchmany/config", xdg);
	else if (home && *home)
		snprintf(path, cap, "%s/.config/fetchmany/config", home);
	else
		return -1;
	return 0;
}

/* One line of the defaults file, cut in place: "NAME", "NAME VALUE" or
 * "NAME = VALUE" (a leading "--" allowed; a value in double quotes keeps
 * its blanks). *name is NULL for a blank or comment line. Pure. */
static void split_line(char *line, char **name, size_t *nlen, char **value)
{
	char *end;

	*name = *value = NULL;
	line += strspn(line, " \t");
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' ||
			      end[-1] == '\r'))
		*--end = '\0';
	if (!*line || *line == '#')
		return;
	if (strncmp(line, "--", 2) == 0)
		line += 2;
	*name = line;
	*nlen = strcspn(line, " \t=");
	line += *nlen;
	line += strspn(line, " \t");
	if (*line == '=') {
		line++;
		line += strspn(line, " \t");
	}
	if (*line == '"' && end - line >= 2 && end[-1] == '"') {
		end[-1] = '\0';
		line++;
	}
	if (*line || (*nlen < strlen(*name) && strchr(*name + *nlen, '=')))
		*value = line;
}

/* Applies one option of the defaults file (FILE:LINE in where) as the
 * command line would, its message (if any) said as at where. */
static enum fm_opts_result config_option(char *line, const char *where,
					 struct fm_opt_parse *p)
{
	const struct fm_opt *r;
	enum fm_opts_result res;
	char *name, *value, *msg = NULL;
	size_t nlen, mlen = 0;
	FILE *err = p->err, *mem;

	split_line(line, &name, &nlen, &value);
	if (!name)
		return FM_OPTS_RUN;
	r = row_named(name, nlen);
	if (!r || r->special == show_help || r->special == show_version ||
	    r->special == config_given) {
		fprintf(err, "fetchmany: %s: %s '%.*s'\n", where,
			r ? "not an option for a defaults file:"
			  : "unknown option", (int)nlen, name);
		return FM_OPTS_USAGE;
	}
	if (!r->arg != !value) {
		fprintf(err, "fetchmany: %s: --%s %s\n", where, r->name,
			r->arg ? "needs a value" : "takes no value");
		return FM_OPTS_USAGE;
	}
	/* The setter's own message, said at FILE:LINE. */
	mem = open_memstream(&msg, &mlen);
	if (!mem)
		return FM_OPTS_USAGE;
	p->err = mem;
	res = r->kind == FM_OPT_SPECIAL ? r->special(r, value, p)
					: setters[r->kind](r, value, p);
	p->err = err;
	fclose(mem);
	if (res != FM_OPTS_RUN && msg)
		fprintf(err, "fetchmany: %s: %s", where,
			strncmp(msg, "fetchmany: ", 11) == 0 ? msg + 11 : msg);
	free(msg);
	return res;
}

/* Reads the defaults file (find_config()) into p->o before the command
 * line, which wins: its text is kept (o->config_text), the string options
 * point into it. A missing file is no error unless it was named. */
static enum fm_opts_result read_config(int argc, char **argv,
				       struct fm_opt_parse *p)
{
	char path[4096], where[4200], *text = NULL, *line, *next;
	enum fm_opts_result res = FM_OPTS_RUN;
	unsigned long no = 0;
	size_t len = 0;
	int named = find_config(argc, argv, path, sizeof(path));
	int err = 0;
	FILE *f;

	if (named < 0)
		return FM_OPTS_RUN;
	f = fopen(path, "r");
	if (!f) {
		/* The usual place may be missing, or out of reach: a HOME
		 * that is not ours (sudo -u, a service user) is no error. */
		if (!named && (errno == ENOENT || errno == ENOTDIR ||
			       errno == EACCES))
			return FM_OPTS_RUN;
		fprintf(p->err, "fetchmany: --config %s: %s\n", path,
			strerror(errno));
		return FM_OPTS_USAGE;
	}
	{
		FILE *mem = open_memstream(&text, &len);
		char buf[4096];
		struct stat st;
		size_t n;

		/* a directory opens, and fails its first read */
		if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
			err = EISDIR;
		while (!err && mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, mem);
		if (!err && ferror(f))
			err = errno ? errno : EIO; /* fread's, before more */
		if (mem)
			fclose(mem);
	}
	if (err) {
		fclose(f);
		free(text);
		fprintf(p->err, "fetchmany: --config %s: %s\n", path,
			strerror(err));
		return FM_OPTS_USAGE;
	}
	fclose(f);
	if (!text) {
		fputs("fetchmany: out of memory\n", p->err);
		return FM_OPTS_USAGE;
	}
	p->o->config_text = text;
	/* -H's array has room for as many as the file has lines */
	for (size_t i = 0; i < len; i++)
		p->argc += text[i] == '\n';
	for (line = text; res == FM_OPTS_RUN && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		snprintf(where, sizeof(where), "%s:%lu", path, ++no);
		res = config_option(line, where, p);
	}
	return res;
}

enum fm_opts_result fm_opts_parse(int argc, char **argv, struct fm_opts *o,
				  FILE *out, FILE *err)
{
	struct fm_opt_parse p = {.o = o, .argc = argc, .out = out, .err = err};
	enum fm_opts_result res;
	struct option longs[NOPTS + 1];
	char shorts[2 + 2 * NOPTS];
	const struct fm_opt *r;
	int c;

	*o = defaults;
	res = read_config(argc, argv, &p);
	getopt_tables(longs, shorts);
	opterr = 0;
	/* 0, not 1: glibc then starts afresh. With 1 it goes on with what
	 * it kept of the last parse (a cluster of short options an error
	 * cut short), read from that parse's argv, which may be gone. */
	optind = 0;
	while (res == FM_OPTS_RUN &&
	       (c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (c == ':' || !(r = row_of(c)))
			res = not_an_option(c, argv, err);
		else if (r->kind == FM_OPT_SPECIAL)
			res = r->special(r, optarg, &p);
		else
			res = setters[r->kind](r, optarg, &p);
	}
	if (res != FM_OPTS_RUN) {
		fm_opts_free(o);
		return res;
	}
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return FM_OPTS_RUN;
}
