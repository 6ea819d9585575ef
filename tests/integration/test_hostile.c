/* Integration: a hostile list. 1,000 unusable lines of every kind the
 * list format rejects (binary garbage, NUL bytes, 100 KiB lines, invalid
 * UTF-8, every unsupported scheme, broken JSON, JSON with wrong types, bad
 * digests, unknown keys, fields without '=', out= values that climb out
 * or are absolute, overlong out= components, duplicate output paths,
 * malformed URLs) interleaved at random (fixed seed) with 100 valid
 * entries, in one list, fetched with --json -o a/b/out.
 *
 * Checked: the run survives with exactly 1,100 result lines and exit
 * status 1; every hostile line is "invalid" with its own line number and
 * a specific reason; every valid entry is ok and byte-exact where the
 * man page says it goes (an out= of "%2e%2e" is a literal name: out= is
 * never percent-decoded); nothing is requested for a hostile line and
 * nothing is written outside the output directory; every result line is
 * valid UTF-8, as JSON text must be. All lines use 127.0.0.1: even a
 * line wrongly accepted stays on the loopback interface. */
#define _DEFAULT_SOURCE /* realpath */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define N_HOSTILE 1000
#define N_VALID 100
#define N_LINES (N_HOSTILE + N_VALID)
#define SEED 0x5eedf00dULL
#define OUT_REL "a/b/out"
#define LONG_LEN (100 * 1024)

enum cat {
	C_VALID,
	C_GARBAGE,
	C_NUL,
	C_LONG,
	C_UTF8,
	C_SCHEME,
	C_BADJSON,
	C_JSONTYPE,
	C_DIGEST,
	C_UNKNOWNKEY,
	C_NOEQ,
	C_TRAVERSAL,
	C_OVERLONG,
	C_DUP,
	C_MALFORMED,
	C_NCAT
};

static const char *const cat_name[C_NCAT] = {
	"valid", "binary garbage", "NUL byte", "100 KiB line",
	"invalid UTF-8", "unsupported scheme", "broken JSON",
	"JSON wrong type", "bad digest", "unknown key", "field without =",
	"unsafe out=", "overlong out=", "duplicate path", "malformed URL",
};

/* Hostile lines per category (the rest of N_HOSTILE is garbage). */
static const int cat_count[C_NCAT] = {
	[C_NUL] = 60, [C_LONG] = 20, [C_UTF8] = 80, [C_SCHEME] = 95,
	[C_BADJSON] = 100, [C_JSONTYPE] = 80, [C_DIGEST] = 80,
	[C_UNKNOWNKEY] = 60, [C_NOEQ] = 60, [C_TRAVERSAL] = 120,
	[C_OVERLONG] = 40, [C_DUP] = 20, [C_MALFORMED] = 45,
};

static const char *const schemes[] = {
	"ftp", "file", "gopher", "ldap", "dict", "telnet", "tftp", "smb",
	"scp", "sftp", "mailto", "data", "javascript", "ws", "wss", "rtsp",
	"imap", "pop3", "smtp",
};
#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

struct line {
	enum cat cat;
	int variant;
	int lineno;
	struct it_buf text;      /* without the '\n'; may hold NUL bytes */
	char *want[3];           /* hostile: the error holds one of these */
	char *escape;            /* hostile out=: where a naive join lands */
	char *expect_url;        /* hostile text line: its URL token */
	/* valid: */
	char *url;
	char url_path[64];       /* the body pattern's path */
	unsigned size;
	char *rel;               /* expected path below OUT */
	char *sha;               /* sha256 given, lower case, or NULL */
	int has_out;             /* the entry names an out= (a dup target) */
};

static struct hostile {
	int ran;
	int failed_setup;
	struct it_server srv;
	char *tmp;
	char *out;               /* absolute OUT */
	char marker[40];         /* in every name a hostile out= targets */
	struct line lines[N_LINES];
	struct it_result r;
	cJSON *res;
	cJSON *by_line[N_LINES + 1];
	int nres, bad_json;
	cJSON *tmp_before;       /* tree of tmp before the run */
	cJSON *slash_tmp_before; /* top level of /tmp before the run */
} H;

static void bb_rep(struct it_buf *b, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		it_buf_append(b, s, strlen(s));
}

static uint64_t rng = SEED;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static char *hex64(unsigned seed)
{
	static const char hx[] = "0123456789abcdef";
	char *s = malloc(65);

	if (!s)
		abort();
	for (int i = 0; i < 64; i++)
		s[i] = hx[(seed * 7u + (unsigned)i * 13u) % 16];
	s[64] = '\0';
	return s;
}

static void want(struct line *l, const char *a, const char *b)
{
	l->want[0] = it_path("%s", a);
	l->want[1] = b ? it_path("%s", b) : NULL;
}

/* Where OUT joined with rel would be after a naive normalisation (".."
 * climbs, "." and empty segments go), or rel itself when absolute. */
static char *naive_join(const char *out, const char *rel)
{
	char *joined = rel[0] == '/' ? it_path("%s", rel)
				     : it_path("%s/%s", out, rel);
	char *res = calloc(1, strlen(joined) + 2);
	char *save = NULL, *seg;
	size_t n = 0;

	if (!res)
		abort();
	for (seg = strtok_r(joined, "/", &save); seg;
	     seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (n > 0 && res[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			res[n] = '\0';
			continue;
		}
		res[n++] = '/';
		memcpy(res + n, seg, strlen(seg));
		n += strlen(seg);
		res[n] = '\0';
	}
	if (n == 0)
		strcpy(res, "/");
	free(joined);
	return res;
}

/* ------------------------------------------------------------- hostile */

static void gen_garbage(struct line *l)
{
	size_t n = 1 + below(300);
	unsigned char c = (unsigned char)(0x80 + below(0x80));

	/* First byte >= 0x80: not the start of a scheme, not blank, not
	 * '#' or '{'; no '\n' and no NUL (those have their own lines). */
	it_buf_append(&l->text, &c, 1);
	for (size_t i = 1; i < n; i++) {
		c = (unsigned char)(1 + below(255));
		if (c == '\n')
			c = 0xfe;
		it_buf_append(&l->text, &c, 1);
	}
	want(l, "not an absolute URL", NULL);
}

static void gen_nul(struct line *l, const char *b, int k)
{
	struct it_buf *t = &l->text;
	char *h = hex64((unsigned)k);

	switch (k % 8) {
	case 0:
		it_buf_printf(t, "%s/data/nul%d.bin", b, k);
		it_buf_append(t, "\0tail", 5);
		break;
	case 1:
		it_buf_append(t, "\0", 1);
		it_buf_printf(t, "%s/data/nul%d.bin", b, k);
		break;
	case 2:
		it_buf_printf(t, "%s/data/nul%d.bin out=a", b, k);
		it_buf_append(t, "\0b", 2);
		break;
	case 3:
		it_buf_printf(t, "{\"url\": \"%s/data/nul%d.bin", b, k);
		it_buf_append(t, "\0\"}", 3);
		break;
	case 4:
		/* The JSON escape: cJSON would decode it to a NUL. */
		it_buf_printf(t, "{\"url\": \"%s/data/nul%d.bin\\u0000x\"}", b,
			      k);
		break;
	case 5:
		it_buf_append(t, "\0\0\0", 3);
		break;
	case 6:
		it_buf_append(t, "   \0   ", 7);
		break;
	default:
		it_buf_printf(t, "%s/data/nul%d.bin sha256=%.32s", b, k, h);
		it_buf_append(t, "\0", 1);
		it_buf_printf(t, "%.31s", h);
		break;
	}
	free(h);
	want(l, "NUL byte", NULL);
}

static void gen_long(struct line *l, const char *b, int k)
{
	struct it_buf *t = &l->text;

	switch (k % 5) {
	case 0:
		it_buf_printf(t, "%s/data/", b);
		bb_rep(t, "a", LONG_LEN);
		break;
	case 1:
		bb_rep(t, "x", LONG_LEN);
		break;
	case 2:
		it_buf_printf(t, "{\"url\": \"%s/", b);
		bb_rep(t, "b", LONG_LEN);
		it_buf_printf(t, "\"}");
		break;
	case 3:
		it_buf_printf(t, "%s/data/long%d.bin out=", b, k);
		bb_rep(t, "c", LONG_LEN);
		break;
	default:
		/* One byte over the limit. */
		it_buf_printf(t, "%s/", b);
		bb_rep(t, "d", 64 * 1024 + 1 - t->len);
		break;
	}
	want(l, "line longer than 65536 bytes", NULL);
}

static void gen_utf8(struct line *l, const char *b, int k)
{
	struct it_buf *t = &l->text;

	switch (k % 10) {
	case 0:
		it_buf_append(t, "\xc3\x28", 2);
		it_buf_printf(t, "://127.0.0.1/u%d", k);
		want(l, "not an absolute URL", NULL);
		break;
	case 1:
		it_buf_printf(t, "%s/data/u%d.bin ", b, k);
		it_buf_append(t, "\xff\xfe=1", 4);
		want(l, "unknown key '", NULL);
		break;
	case 2:
		it_buf_printf(t, "%s/data/u%d.bin sha256=", b, k);
		bb_rep(t, "\xff", 64);
		want(l, "sha256 must be 64 hex digits", NULL);
		break;
	case 3:
		it_buf_printf(t, "{\"url\": \"%s/data/u%d.bin\", \"", b, k);
		it_buf_append(t, "\xff", 1);
		it_buf_printf(t, "\": 1}");
		want(l, "unknown key '", NULL);
		break;
	case 4:
		it_buf_printf(t, "{\"url\": \"");
		it_buf_append(t, "\xc3\x28", 2);
		it_buf_printf(t, "://127.0.0.1/u%d\"}", k);
		want(l, "not an absolute URL", NULL);
		break;
	case 5:
		/* Overlong encoding of '/'. */
		it_buf_printf(t, "%s/data/u%d.bin ", b, k);
		it_buf_append(t, "\xc0\xaf=x", 4);
		want(l, "unknown key '", NULL);
		break;
	case 6:
		/* A UTF-16 surrogate, encoded. */
		it_buf_printf(t, "%s/data/u%d.bin ", b, k);
		it_buf_append(t, "\xed\xa0\x80=x", 5);
		want(l, "unknown key '", NULL);
		break;
	case 7:
		it_buf_append(t, "\xf8\x88\x80\x80\x80", 5);
		it_buf_printf(t, "://127.0.0.1/u%d", k);
		want(l, "not an absolute URL", NULL);
		break;
	case 8:
		/* A key cut in the middle of a sequence. */
		it_buf_printf(t, "%s/data/u%d.bin out", b, k);
		it_buf_append(t, "\xe2\x82=x", 4);
		want(l, "unknown key '", NULL);
		break;
	default:
		it_buf_printf(t, "{\"url\": \"%s/data/u%d.bin\", \"sha256\": \"",
			      b, k);
		bb_rep(t, "\xc3\xa9", 32);
		it_buf_printf(t, "\"}");
		want(l, "sha256 must be 64 hex digits", NULL);
		break;
	}
}

static void gen_scheme(struct line *l, const char *m, int port, int k)
{
	const char *s = schemes[(size_t)k % N_SCHEMES];
	int v = k / (int)N_SCHEMES;
	struct it_buf *t = &l->text;
	char up[16], *target, *u, *msg;
	size_t i;

	for (i = 0; s[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	up[i] = '\0';
	if (strcmp(s, "mailto") == 0)
		target = it_path("%s-%d@127.0.0.1", m, k);
	else if (strcmp(s, "data") == 0)
		target = it_path("text/plain,%s-%d", m, k);
	else if (strcmp(s, "javascript") == 0)
		target = it_path("void(%d)", k);
	else if (strcmp(s, "file") == 0)
		target = it_path("///nonexistent/%s-%d", m, k);
	else
		target = it_path("//127.0.0.1:%d/%s-%d", port, m, k);
	u = it_path("%s:%s", v == 1 ? up : s, target);
	if (v != 2)
		l->expect_url = it_path("%s", u);
	switch (v) {
	case 2:
		it_buf_printf(t, "{\"url\": \"%s\"}", u);
		break;
	case 3:
		it_buf_printf(t, "%s out=%s-%d.bin", u, m, k);
		break;
	case 4:
		it_buf_printf(t, " \t %s", u);
		break;
	default:
		it_buf_printf(t, "%s", u);
		break;
	}
	msg = it_path("unsupported scheme '%s'", s);
	if (strstr(target, "//"))
		want(l, msg, NULL);
	else
		/* "mailto:x" could also be "host:port": fetchmany says it is
		 * not an absolute URL, which names what is missing. */
		want(l, msg, "not an absolute URL (missing http:// or "
			"https://)");
	free(msg);
	free(u);
	free(target);
}

static void gen_badjson(struct line *l, const char *b, int k)
{
	struct it_buf *t = &l->text;
	char *u = it_path("%s/data/j%d.bin", b, k);

	switch (k % 15) {
	case 0:
		it_buf_printf(t, "{");
		break;
	case 1:
		it_buf_printf(t, "{\"url\": \"%s", u);
		break;
	case 2:
		it_buf_printf(t, "{\"url\": }");
		break;
	case 3:
		it_buf_printf(t, "{\"url\": \"%s\",}", u);
		break;
	case 4:
		it_buf_printf(t, "{'url': '%s'}", u);
		break;
	case 5:
		it_buf_printf(t, "{\"url\": \"%s\"} trailing", u);
		break;
	case 6:
		it_buf_printf(t, "{\"url\": \"%s\"}}", u);
		break;
	case 7:
		it_buf_printf(t, "{\"url\": \"%s\" \"out\": \"x%d\"}", u, k);
		break;
	case 8:
		it_buf_printf(t, "{\"url\": \"\\x41\"}");
		break;
	case 9:
		it_buf_printf(t, "{\"url\": \"\\ud800\"}");
		break;
	case 10:
		/* Nesting deeper than any parser should follow. */
		it_buf_printf(t, "{\"a\": ");
		bb_rep(t, "[", 1500);
		bb_rep(t, "]", 1500);
		it_buf_printf(t, "}");
		break;
	case 11:
		it_buf_printf(t, "{url: \"%s\"}", u);
		break;
	case 12:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": [1,2,}", u);
		break;
	case 13:
		it_buf_printf(t, "{\"url\": 0x10}");
		break;
	default:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": \"a\" /* c */}", u);
		break;
	}
	free(u);
	want(l, "invalid JSON at column", NULL);
}

static void gen_jsontype(struct line *l, const char *b, int k)
{
	struct it_buf *t = &l->text;
	char *u = it_path("%s/data/t%d.bin", b, k);
	char *h = hex64((unsigned)k);

	switch (k % 18) {
	case 0:
		it_buf_printf(t, "{\"url\": %d}", k);
		want(l, "'url' must be a string", NULL);
		break;
	case 1:
		it_buf_printf(t, "{\"url\": null}");
		want(l, "'url' must be a string", NULL);
		break;
	case 2:
		it_buf_printf(t, "{\"url\": true}");
		want(l, "'url' must be a string", NULL);
		break;
	case 3:
		it_buf_printf(t, "{\"url\": [\"%s\"]}", u);
		want(l, "'url' must be a string", NULL);
		break;
	case 4:
		it_buf_printf(t, "{\"url\": {\"u\": \"%s\"}}", u);
		want(l, "'url' must be a string", NULL);
		break;
	case 5:
		it_buf_printf(t, "{\"url\": 1.5e300}");
		want(l, "'url' must be a string", NULL);
		break;
	case 6:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": %d}", u, k);
		want(l, "'out' must be a string", NULL);
		break;
	case 7:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": null}", u);
		want(l, "'out' must be a string", NULL);
		break;
	case 8:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": [\"a\"]}", u);
		want(l, "'out' must be a string", NULL);
		break;
	case 9:
		it_buf_printf(t, "{\"url\": \"%s\", \"sha256\": %d}", u, k);
		want(l, "'sha256' must be a string", NULL);
		break;
	case 10:
		it_buf_printf(t, "{\"url\": \"%s\", \"sha256\": [\"%s\"]}", u,
			      h);
		want(l, "'sha256' must be a string", NULL);
		break;
	case 11:
		it_buf_printf(t, "{\"url\": \"%s\", \"sha256\": true}", u);
		want(l, "'sha256' must be a string", NULL);
		break;
	case 12:
		it_buf_printf(t, "{}");
		want(l, "JSON entry has no 'url'", NULL);
		break;
	case 13:
		it_buf_printf(t, "{\"out\": \"t%d.bin\"}", k);
		want(l, "JSON entry has no 'url'", NULL);
		break;
	case 14:
		it_buf_printf(t, "{\"url\": \"%s\", \"url\": \"%s?2\"}", u, u);
		want(l, "duplicate key 'url'", NULL);
		break;
	case 15:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": \"a%d\", \"out\": "
			      "\"b%d\"}", u, k, k);
		want(l, "duplicate key 'out'", NULL);
		break;
	case 16:
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": \"\"}", u);
		want(l, "empty value for key 'out'", NULL);
		break;
	default:
		it_buf_printf(t, "{\"URL\": \"%s\"}", u);
		want(l, "JSON entry has no 'url'", "unknown key 'URL'");
		break;
	}
	free(h);
	free(u);
}

static void gen_digest(struct line *l, const char *b, int k)
{
	struct it_buf *t = &l->text;
	char *u = it_path("%s/data/d%d.bin", b, k);
	char *h = hex64((unsigned)k);
	const char *bad = "sha256 must be 64 hex digits";

	want(l, bad, NULL);
	if (k % 13 < 9 || k % 13 == 12)
		l->expect_url = it_path("%s", u);
	switch (k % 13) {
	case 0:
		it_buf_printf(t, "%s sha256=%.63s", u, h);
		break;
	case 1:
		it_buf_printf(t, "%s sha256=%s0", u, h);
		break;
	case 2:
		it_buf_printf(t, "%s sha256=%.63sg", u, h);
		break;
	case 3:
		it_buf_printf(t, "%s sha256=z%.63s", u, h);
		break;
	case 4:
		it_buf_printf(t, "%s sha256=", u);
		free(l->want[0]);
		want(l, "empty value for key 'sha256'", NULL);
		break;
	case 5:
		it_buf_printf(t, "%s sha256=0x%.62s", u, h);
		break;
	case 6:
		it_buf_printf(t, "%s sha256=%s%s", u, h, h);
		break;
	case 7:
		it_buf_printf(t, "%s sha256=a", u);
		break;
	case 8:
		it_buf_printf(t, "%s sha256=%.32s-%.31s", u, h, h + 32);
		break;
	case 9:
		it_buf_printf(t, "{\"url\": \"%s\", \"sha256\": \"%.63s\"}", u,
			      h);
		break;
	case 10:
		it_buf_printf(t, "{\"url\": \"%s\", \"sha256\": \"%s1\"}", u, h);
		break;
	case 11:
		it_buf_printf(t, "{\"url\": \"%s\", \"sha256\": \"\"}", u);
		free(l->want[0]);
		want(l, "empty value for key 'sha256'", NULL);
		break;
	default:
		it_buf_printf(t, "%s sha256=%s=", u, h);
		break;
	}
	free(h);
	free(u);
}

static void gen_unknownkey(struct line *l, const char *b, int k)
{
	static const char *const text_keys[] = {
		"foo", "OUT", "Sha256", "url", "out.", "user", "headers", "-o",
		"sha384", "md4", "referer", "cookie", "size", "output", "path",
		"status",
	};
	static const char *const json_keys[] = {
		"header", "Out", "sha224", "", "cookie", "OUT", "timeout",
	};
	const size_t nt = sizeof(text_keys) / sizeof(text_keys[0]);
	const size_t nj = sizeof(json_keys) / sizeof(json_keys[0]);
	struct it_buf *t = &l->text;
	char *u = it_path("%s/data/k%d.bin", b, k);
	char *msg;

	if (k % 10 == 9) {
		l->expect_url = it_path("%s", u);
		it_buf_printf(t, "%s out=k%da.bin out=k%db.bin", u, k, k);
		want(l, "duplicate key 'out'", NULL);
	} else if (k % 3 == 2) {
		const char *key = json_keys[(size_t)k % nj];

		it_buf_printf(t, "{\"url\": \"%s\", \"%s\": \"v\"}", u, key);
		msg = it_path("unknown key '%s'", key);
		want(l, msg, NULL);
		free(msg);
	} else {
		const char *key = text_keys[(size_t)k % nt];

		l->expect_url = it_path("%s", u);
		it_buf_printf(t, "%s %s=v%d", u, key, k);
		msg = it_path("unknown key '%s'", key);
		want(l, msg, NULL);
		free(msg);
	}
	free(u);
}

static void gen_noeq(struct line *l, const char *b, int k)
{
	static const char *const toks[] = {
		"justword", "out", "sha256", "=v", "==", "--insecure", "-k",
		"=", "out:x", "x",
	};
	const char *tok = toks[(size_t)k % (sizeof(toks) / sizeof(toks[0]))];
	struct it_buf *t = &l->text;
	char *msg = it_path("field '%s' is not key=value", tok);

	l->expect_url = it_path("%s/data/n%d.bin", b, k);
	if (k % 2)
		it_buf_printf(t, "%s/data/n%d.bin out=n%d.bin %s", b, k, k,
			      tok);
	else
		it_buf_printf(t, "%s/data/n%d.bin %s", b, k, tok);
	want(l, msg, NULL);
	free(msg);
}

static void gen_traversal(struct line *l, const char *b, const char *m,
			  int k)
{
	struct it_buf *t = &l->text;
	const char *dots = "'..' segment";
	const char *abs = "unsafe out=: absolute path";
	char *val, *u = it_path("%s/data/tr%d.bin", b, k);
	int json = 0;

	switch (k % 20) {
	case 0:
		val = it_path("../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 1:
		val = it_path("../../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 2:
		val = it_path("../../../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 3:
		val = it_path("../../../../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 4:
		val = it_path("../../../../../../../../../../../../%s-%d", m,
			      k);
		want(l, dots, NULL);
		break;
	case 5:
		val = it_path("a/../../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 6:
		/* Would stay inside, but the man page refuses any "..". */
		val = it_path("a/../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 7:
		val = it_path("..");
		want(l, dots, NULL);
		break;
	case 8:
		val = it_path("../");
		want(l, "unsafe out=: ends with '/'", dots);
		break;
	case 9:
		val = it_path("/tmp/%s-%d-abs", m, k);
		want(l, abs, NULL);
		break;
	case 10:
		val = it_path("//tmp/%s-%d-abs2", m, k);
		want(l, abs, NULL);
		break;
	case 11:
		val = it_path("/");
		want(l, abs, NULL);
		break;
	case 12:
		val = it_path("./../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 13:
		val = it_path("a/./../../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	case 14:
		val = it_path("../%s-%d", m, k);
		json = 1;
		want(l, dots, NULL);
		break;
	case 15:
		val = it_path("/tmp/%s-%d-json", m, k);
		json = 1;
		want(l, abs, NULL);
		break;
	case 16:
		val = it_path("a\001b%d", k);
		want(l, "unsafe out=: control character 0x01", NULL);
		break;
	case 17:
		val = it_path("tr%d/", k);
		want(l, "unsafe out=: ends with '/'", NULL);
		break;
	case 18:
		val = it_path("tr%d/.", k);
		want(l, "unsafe out=: ends with '.'", NULL);
		break;
	default:
		val = it_path("a/b/../../../%s-%d", m, k);
		want(l, dots, NULL);
		break;
	}
	if (json)
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": \"%s\"}", u, val);
	else
		it_buf_printf(t, "%s out=%s", u, val);
	l->expect_url = it_path("%s", u);
	l->escape = naive_join(H.out, val);
	free(val);
	free(u);
}

static void gen_overlong(struct line *l, const char *b, const char *m,
			 int k)
{
	struct it_buf *t = &l->text;
	const char *comp = "unsafe out=: component longer than 255 bytes";
	const char *file = "unsafe out=: file name longer than 250 bytes";

	l->expect_url = it_path("%s/data/o%d.bin", b, k);

	switch (k % 8) {
	case 0:
		it_buf_printf(t, "%s/data/o%d.bin out=", b, k);
		bb_rep(t, "a", 256);
		want(l, comp, NULL);
		break;
	case 1:
		it_buf_printf(t, "%s/data/o%d.bin out=", b, k);
		bb_rep(t, "a", 251);
		want(l, file, NULL);
		break;
	case 2:
		it_buf_printf(t, "%s/data/o%d.bin out=", b, k);
		bb_rep(t, "a", 255);
		want(l, file, NULL);
		break;
	case 3:
		it_buf_printf(t, "%s/data/o%d.bin out=d/", b, k);
		bb_rep(t, "a", 300);
		it_buf_printf(t, "/f");
		want(l, comp, NULL);
		break;
	case 4:
		it_buf_printf(t, "%s/data/o%d.bin out=", b, k);
		bb_rep(t, "a", 1000);
		want(l, comp, NULL);
		break;
	case 5:
		it_buf_printf(t, "%s/data/o%d.bin out=", b, k);
		bb_rep(t, "\xc3\xa9", 128);
		want(l, comp, NULL);
		break;
	case 6:
		it_buf_printf(t, "{\"url\": \"%s/data/o%d.bin\", \"out\": \"", b,
			      k);
		bb_rep(t, "a", 300);
		it_buf_printf(t, "\"}");
		want(l, comp, NULL);
		break;
	default:
		it_buf_printf(t, "%s/data/o%d.bin out=%s-%d", b, k, m, k);
		bb_rep(t, "x", 4096);
		want(l, comp, NULL);
		break;
	}
}

static void gen_malformed(struct line *l, int port, int k)
{
	struct it_buf *t = &l->text;
	const char *mal = "malformed URL: ";
	const char *abs = "not an absolute URL (missing http:// or https://)";

	switch (k % 15) {
	case 0:
		it_buf_printf(t, "http://");
		want(l, "malformed URL: No host part", NULL);
		break;
	case 1:
		it_buf_printf(t, "https://");
		want(l, "malformed URL: No host part", NULL);
		break;
	case 2:
		it_buf_printf(t, "http://[::1/m%d", k);
		want(l, "malformed URL: Bad IPv6 address", NULL);
		break;
	case 3:
		it_buf_printf(t, "http://127.0.0.1:99999/m%d", k);
		want(l, "malformed URL: Port number", NULL);
		break;
	case 4:
		it_buf_printf(t, "http://127.0.0.1:-1/m%d", k);
		want(l, "malformed URL: Port number", NULL);
		break;
	case 5:
		it_buf_printf(t, "http:m%d", k);
		want(l, mal, NULL);
		break;
	case 6:
		it_buf_printf(t, "://127.0.0.1/m%d", k);
		want(l, abs, NULL);
		break;
	case 7:
		it_buf_printf(t, "http//127.0.0.1/m%d", k);
		want(l, abs, NULL);
		break;
	case 8:
		it_buf_printf(t, "127.0.0.1:%d/m%d", port, k);
		want(l, abs, NULL);
		break;
	case 9:
		it_buf_printf(t, "http://user@:80/m%d", k);
		want(l, "malformed URL: No host part", NULL);
		break;
	case 10:
		it_buf_printf(t, "https://[fe80::1%%25eth0/m%d", k);
		want(l, "malformed URL: Bad IPv6 address", NULL);
		break;
	case 11:
		it_buf_printf(t, "http://127.0.0.1:65536/m%d", k);
		want(l, "malformed URL: Port number", NULL);
		break;
	case 12:
		it_buf_printf(t, "/data/m%d.bin", k);
		want(l, abs, NULL);
		break;
	case 13:
		it_buf_printf(t, "//127.0.0.1:%d/m%d", port, k);
		want(l, abs, NULL);
		break;
	default:
		it_buf_printf(t, "http://127.0.0.1:8a/m%d", k);
		want(l, "malformed URL: Port number", NULL);
		break;
	}
}

/* A duplicate of an earlier valid entry's path (the earlier one wins). */
static void gen_dup(struct line *l, const char *b, int k,
		    const struct line *target)
{
	struct it_buf *t = &l->text;
	char *msg = it_path("output path already used by line %d",
			    target->lineno);

	if (!target->has_out) {
		/* Another URL whose last segment is the same name. */
		it_buf_printf(t, "%s/data/dupdir%d/%s", b, k, target->rel);
		l->expect_url = it_path("%s", t->data);
	} else if (k % 2) {
		it_buf_printf(t, "{\"url\": \"%s/data/dup%d.bin\", \"out\": "
			      "\"%s\"}", b, k, target->rel);
	} else {
		it_buf_printf(t, "%s/data/dup%d.bin out=%s", b, k, target->rel);
		l->expect_url = it_path("%s/data/dup%d.bin", b, k);
	}
	want(l, msg, NULL);
	free(msg);
}

/* --------------------------------------------------------------- valid */

static void gen_valid(struct line *l, const struct it_server *s, int v)
{
	struct it_buf *t = &l->text;
	char hex[65];

	snprintf(l->url_path, sizeof(l->url_path), "/data/hv%03d.bin", v);
	l->size = v % 17 == 0 ? 0 : below(20000);
	l->url = it_path("%s%s?size=%u", s->base, l->url_path, l->size);
	if (v % 10 == 3 || v % 10 == 7) {
		if (it_server_sha256(s, l->url_path, l->size, hex) != 0)
			fail_msg("cannot get the digest of %s", l->url_path);
		l->sha = it_path("%s", hex);
	}
	switch (v % 10) {
	case 0:
		it_buf_printf(t, "%s", l->url);
		l->rel = it_path("hv%03d.bin", v);
		break;
	case 1:
		l->rel = it_path("valid/hv%03d.bin", v);
		it_buf_printf(t, "%s out=%s", l->url, l->rel);
		l->has_out = 1;
		break;
	case 2:
		it_buf_printf(t, "  \t%s \r", l->url);
		l->rel = it_path("hv%03d.bin", v);
		break;
	case 3:
		l->rel = it_path("deep/a/b/c/hv%03d.bin", v);
		it_buf_printf(t, "%s out=%s sha256=%s", l->url, l->rel, l->sha);
		l->has_out = 1;
		break;
	case 4:
		l->rel = it_path("json/hv%03d.bin", v);
		it_buf_printf(t, "{\"url\": \"%s\", \"out\": \"%s\"}", l->url,
			      l->rel);
		l->has_out = 1;
		break;
	case 5:
		/* A result record of an earlier run, fed back. */
		l->rel = it_path("rec/hv%03d.bin", v);
		it_buf_printf(t, "{\"url\":\"%s\",\"out\":\"%s\",\"path\":null,"
			      "\"status\":\"failed\",\"http_status\":503,"
			      "\"bytes\":0,\"seconds\":0.1,\"attempts\":4,"
			      "\"error\":\"HTTP 503\",\"line\":3,\"source\":"
			      "\"old.txt\"}", l->url, l->rel);
		l->has_out = 1;
		break;
	case 6:
		/* out= is not percent-decoded: a directory named "%2e%2e". */
		l->rel = it_path("%%2e%%2e/hv%03d.bin", v);
		it_buf_printf(t, "%s out=%s", l->url, l->rel);
		l->has_out = 1;
		break;
	case 7:
		for (char *c = hex; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 32);
		it_buf_printf(t, "%s sha256=%s", l->url, hex);
		l->rel = it_path("hv%03d.bin", v);
		break;
	case 8:
		free(l->url);
		l->url = it_path("%s%s?size=%u&x=../../etc/passwd", s->base,
				 l->url_path, l->size);
		it_buf_printf(t, "%s", l->url);
		l->rel = it_path("hv%03d.bin", v);
		break;
	default:
		l->rel = it_path("%%2e%%2e%%2f%%2e%%2e%%2fhv%03d.bin", v);
		it_buf_printf(t, "%s out=%s", l->url, l->rel);
		l->has_out = 1;
		break;
	}
}

/* ----------------------------------------------------------------- run */

static cJSON *top_level(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	cJSON *a = cJSON_CreateArray();

	if (!d)
		return a;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			cJSON_AddItemToArray(a, cJSON_CreateString(de->d_name));
	closedir(d);
	return a;
}

static void build_lines(void)
{
	int order[N_LINES], ncat[C_NCAT] = { 0 };
	enum cat hostile_cat[N_HOSTILE];
	int h = 0, valid_lines[N_VALID], nvalid = 0;
	const char *b = H.srv.base;

	/* Category of each hostile line; garbage fills the rest. */
	for (int c = 1; c < C_NCAT; c++)
		for (int i = 0; i < cat_count[c]; i++)
			hostile_cat[h++] = (enum cat)c;
	while (h < N_HOSTILE)
		hostile_cat[h++] = C_GARBAGE;

	/* order[i] < N_VALID: valid entry order[i]; else hostile. The first
	 * line is valid entry 1 (it has an out=, so every duplicate has an
	 * earlier line to collide with). */
	for (int i = 0; i < N_LINES; i++)
		order[i] = i;
	for (int i = N_LINES - 1; i > 0; i--) {
		int j = (int)below((unsigned)i + 1);
		int tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (int i = 0; i < N_LINES; i++)
		if (order[i] == 1) {
			order[i] = order[0];
			order[0] = 1;
			break;
		}

	for (int i = 0; i < N_LINES; i++) {
		struct line *l = &H.lines[i];

		l->lineno = i + 1;
		if (order[i] < N_VALID) {
			l->cat = C_VALID;
			l->variant = order[i];
			gen_valid(l, &H.srv, order[i]);
			valid_lines[nvalid++] = i;
			continue;
		}
		l->cat = hostile_cat[order[i] - N_VALID];
		l->variant = ncat[l->cat]++;
		switch (l->cat) {
		case C_GARBAGE:
			gen_garbage(l);
			break;
		case C_NUL:
			gen_nul(l, b, l->variant);
			break;
		case C_LONG:
			gen_long(l, b, l->variant);
			break;
		case C_UTF8:
			gen_utf8(l, b, l->variant);
			break;
		case C_SCHEME:
			gen_scheme(l, H.marker, H.srv.port, l->variant);
			break;
		case C_BADJSON:
			gen_badjson(l, b, l->variant);
			break;
		case C_JSONTYPE:
			gen_jsontype(l, b, l->variant);
			break;
		case C_DIGEST:
			gen_digest(l, b, l->variant);
			break;
		case C_UNKNOWNKEY:
			gen_unknownkey(l, b, l->variant);
			break;
		case C_NOEQ:
			gen_noeq(l, b, l->variant);
			break;
		case C_TRAVERSAL:
			gen_traversal(l, b, H.marker, l->variant);
			break;
		case C_OVERLONG:
			gen_overlong(l, b, H.marker, l->variant);
			break;
		case C_DUP:
			gen_dup(l, b, l->variant,
				&H.lines[valid_lines[below(
					(unsigned)nvalid)]]);
			break;
		case C_MALFORMED:
		default:
			gen_malformed(l, H.srv.port, l->variant);
			break;
		}
	}
}

/* Runs the list once; every test looks at the same run. */
static void ensure_run(void)
{
	struct it_buf list = { 0 };
	char *lp;
	const char *argv[] = { it_bin(), "--json", "-j", "16", "-o", OUT_REL,
			       "list.txt", NULL };
	const cJSON *o;
	int rc;

	if (H.failed_setup)
		fail_msg("the hostile run failed in an earlier test");
	if (H.ran)
		return;
	H.failed_setup = 1;
	snprintf(H.marker, sizeof(H.marker), "fmhostile-%ld", (long)getpid());
	H.out = it_path("%s/%s", H.tmp, OUT_REL);
	build_lines();
	for (int i = 0; i < N_LINES; i++) {
		it_buf_append(&list, H.lines[i].text.data, H.lines[i].text.len);
		it_buf_append(&list, "\n", 1);
	}
	lp = it_path("%s/list.txt", H.tmp);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);
	fprintf(stderr, "# hostile: %d lines (%d hostile, %d valid), %zu "
		"bytes, seed %#llx\n", N_LINES, N_HOSTILE, N_VALID, list.len,
		(unsigned long long)SEED);
	free(lp);
	free(list.data);

	H.tmp_before = it_tree_list(H.tmp);
	H.slash_tmp_before = top_level("/tmp");
	rc = it_run(argv, NULL, H.tmp, &H.r);
	IT_ASSERT_RAN(rc, H.r);
	H.res = it_jsonl_parse(H.r.out, &H.bad_json);
	H.nres = cJSON_GetArraySize(H.res);
	cJSON_ArrayForEach(o, H.res) {
		int ok;
		double ln = it_json_num(o, "line", &ok);

		if (ok && ln >= 1 && ln <= N_LINES && (double)(int)ln == ln &&
		    !H.by_line[(int)ln])
			H.by_line[(int)ln] = (cJSON *)o;
	}
	fprintf(stderr, "# hostile: fetchmany said: %s", H.r.err);
	H.ran = 1;
	H.failed_setup = 0;
}

static void dump_short(void)
{
	fprintf(stderr, "--- exit %s %d; stderr:\n%s\n",
		H.r.exited ? "status" : "signal",
		H.r.exited ? H.r.exit_code : H.r.signaled, H.r.err);
}

/* --------------------------------------------------------------- tests */

/* The run survives: exit 1, one JSON line per list line, each line number
 * exactly once. */
static void test_hostile_run_survives(void **state)
{
	int seen[N_LINES + 1] = { 0 };
	const cJSON *o;

	(void)state;
	ensure_run();
	if (!H.r.exited || H.r.exit_code != 1) {
		dump_short();
		fail_msg("exit status: want 1, got %s %d",
			 H.r.exited ? "exit" : "signal",
			 H.r.exited ? H.r.exit_code : H.r.signaled);
	}
	if (H.bad_json)
		fail_msg("%d output lines are not JSON objects", H.bad_json);
	if (it_count_lines(H.r.out) != N_LINES || H.nres != N_LINES) {
		dump_short();
		fail_msg("want %d result lines, got %zu (%d JSON objects)",
			 N_LINES, it_count_lines(H.r.out), H.nres);
	}
	cJSON_ArrayForEach(o, H.res) {
		int ok;
		double ln = it_json_num(o, "line", &ok);

		if (!ok || ln < 1 || ln > N_LINES)
			fail_msg("a result without a valid line number");
		seen[(int)ln]++;
		IT_ASSERT_JSTR(o, "source", "list.txt");
	}
	for (int i = 1; i <= N_LINES; i++)
		if (seen[i] != 1)
			fail_msg("line %d reported %d times", i, seen[i]);
}

/* Every hostile line: invalid, its line number, a specific reason. */
static void test_hostile_lines_invalid(void **state)
{
	int n[C_NCAT] = { 0 }, bad = 0;
	const char *sample[C_NCAT] = { 0 };

	(void)state;
	ensure_run();
	for (int i = 0; i < N_LINES; i++) {
		const struct line *l = &H.lines[i];
		const cJSON *o = H.by_line[l->lineno];
		const char *st, *err;
		int match = 0;

		if (l->cat == C_VALID)
			continue;
		n[l->cat]++;
		if (!o) {
			if (bad++ < 20)
				fprintf(stderr, "# line %d (%s): no result\n",
					l->lineno, cat_name[l->cat]);
			continue;
		}
		st = it_json_str(o, "status");
		err = it_json_str(o, "error");
		for (int w = 0; w < 3 && l->want[w]; w++)
			if (err && strstr(err, l->want[w]))
				match = 1;
		if (l->expect_url && (!it_json_str(o, "url") ||
				      strcmp(it_json_str(o, "url"),
					     l->expect_url) != 0)) {
			if (bad++ < 20)
				fprintf(stderr, "# line %d (%s #%d): url %s, "
					"want %s\n", l->lineno,
					cat_name[l->cat], l->variant,
					it_json_str(o, "url") ?
						it_json_str(o, "url") : "null",
					l->expect_url);
			continue;
		}
		if (!st || strcmp(st, "invalid") != 0 || !err || !*err ||
		    !match || !it_json_is_null(o, "http_status") ||
		    !it_json_is_null(o, "path") ||
		    it_json_num(o, "bytes", NULL) != 0 ||
		    it_json_num(o, "attempts", NULL) != 0) {
			if (bad++ < 20)
				fprintf(stderr, "# line %d (%s #%d): want "
					"invalid with \"%s\"%s%s%s, got %s: "
					"\"%s\" (first bytes: %.60s)\n",
					l->lineno, cat_name[l->cat],
					l->variant, l->want[0],
					l->want[1] ? " or \"" : "",
					l->want[1] ? l->want[1] : "",
					l->want[1] ? "\"" : "",
					st ? st : "?", err ? err : "(null)",
					l->text.data);
			continue;
		}
		if (!sample[l->cat])
			sample[l->cat] = err;
	}
	for (int c = 1; c < C_NCAT; c++)
		fprintf(stderr, "# hostile: %-18s %4d lines, e.g. \"%s\"\n",
			cat_name[c], n[c], sample[c] ? sample[c] : "-");
	if (bad)
		fail_msg("%d hostile lines not reported as expected", bad);
}

/* Every valid entry: ok, where the man page says, byte-exact; the server
 * saw each of them once and nothing else. */
static void test_hostile_valid_ok(void **state)
{
	cJSON *log;
	int bad = 0, nreq;

	(void)state;
	ensure_run();
	for (int i = 0; i < N_LINES; i++) {
		const struct line *l = &H.lines[i];
		const cJSON *o = H.by_line[l->lineno];
		char *want_path, *file;
		const char *st, *path;

		if (l->cat != C_VALID)
			continue;
		if (!o) {
			bad++;
			fprintf(stderr, "# line %d (valid): no result\n",
				l->lineno);
			continue;
		}
		want_path = it_path("%s/%s", OUT_REL, l->rel);
		file = it_path("%s/%s", H.tmp, want_path);
		st = it_json_str(o, "status");
		path = it_json_str(o, "path");
		if (!st || strcmp(st, "ok") != 0 || !path ||
		    strcmp(path, want_path) != 0 ||
		    it_json_num(o, "bytes", NULL) != l->size ||
		    !it_json_str(o, "url") ||
		    strcmp(it_json_str(o, "url"), l->url) != 0) {
			bad++;
			fprintf(stderr, "# line %d (valid #%d): want ok at %s "
				"(%u bytes), got %s at %s, error %s\n",
				l->lineno, l->variant, want_path, l->size,
				st ? st : "?", path ? path : "null",
				it_json_str(o, "error") ? it_json_str(o, "error")
							: "null");
		} else if (!it_file_matches_body(file, l->url_path, l->size)) {
			bad++;
		} else if (l->sha && (!it_json_str(o, "sha256") ||
				      strcmp(it_json_str(o, "sha256"),
					     l->sha) != 0)) {
			bad++;
			fprintf(stderr, "# line %d: sha256 %s, want %s\n",
				l->lineno, it_json_str(o, "sha256"), l->sha);
		}
		free(want_path);
		free(file);
	}
	if (bad)
		fail_msg("%d valid entries not downloaded as expected", bad);

	/* Exactly one request per valid entry: nothing for a hostile line. */
	log = it_server_log(&H.srv);
	assert_non_null(log);
	nreq = cJSON_GetArraySize(log);
	for (int i = 0; i < N_LINES; i++) {
		const struct line *l = &H.lines[i];
		const char *pq;

		if (l->cat != C_VALID)
			continue;
		pq = l->url + strlen(H.srv.base);
		if (it_log_count(log, pq) != 1)
			fail_msg("%s: %d requests, want 1", pq,
				 it_log_count(log, pq));
	}
	if (nreq != N_VALID) {
		const cJSON *e;

		cJSON_ArrayForEach(e, log)
			fprintf(stderr, "# request: %s\n",
				it_json_str(e, "path"));
		fail_msg("the server saw %d requests, want %d (the valid "
			 "entries)", nreq, N_VALID);
	}
	cJSON_Delete(log);
}

/* Nothing outside OUT: the scratch directory holds only the list and
 * OUT's parents; no name a hostile out= aimed at exists, in /tmp or
 * elsewhere; below OUT, no symbolic link, every real path inside OUT and
 * exactly the valid entries' files. */
static void test_hostile_nothing_outside(void **state)
{
	cJSON *after, *slash_tmp, *expect;
	const cJSON *e;
	char real_out[PATH_MAX];
	size_t rl;
	int nfiles = 0, bad = 0;

	(void)state;
	ensure_run();

	/* The scratch directory, OUT aside. */
	after = it_tree_list(H.tmp);
	assert_non_null(after);
	expect = cJSON_Duplicate(H.tmp_before, 1);
	cJSON_AddItemToArray(expect, cJSON_CreateString("a/"));
	cJSON_AddItemToArray(expect, cJSON_CreateString("a/b/"));
	cJSON_AddItemToArray(expect, cJSON_CreateString("a/b/out/"));
	cJSON_ArrayForEach(e, after) {
		const char *s = cJSON_GetStringValue(e);

		if (it_starts_with(s, OUT_REL "/"))
			continue;
		if (!it_tree_has(expect, s)) {
			fprintf(stderr, "# written outside OUT: %s/%s\n",
				H.tmp, s);
			bad++;
		}
	}
	cJSON_Delete(expect);
	cJSON_Delete(after);

	/* /tmp's top level: other tests run meanwhile, so only our names
	 * count as a failure; anything else new is listed. */
	slash_tmp = top_level("/tmp");
	cJSON_ArrayForEach(e, slash_tmp) {
		const char *s = cJSON_GetStringValue(e);

		if (it_tree_has(H.slash_tmp_before, s))
			continue;
		if (strstr(s, H.marker)) {
			fprintf(stderr, "# written outside OUT: /tmp/%s\n", s);
			bad++;
		} else {
			fprintf(stderr, "# note: new in /tmp meanwhile (another "
				"test?): %s\n", s);
		}
	}
	cJSON_Delete(slash_tmp);

	/* Where each unsafe out= would have landed if followed. */
	for (int i = 0; i < N_LINES; i++) {
		const char *esc = H.lines[i].escape;
		size_t ol = strlen(H.out);

		/* Only the marked names: "..", "/" and the like name
		 * directories that exist anyway. */
		if (!esc || !strstr(esc, H.marker) ||
		    (strncmp(esc, H.out, ol) == 0 &&
		     (esc[ol] == '/' || esc[ol] == '\0')))
			continue;
		if (it_exists(esc)) {
			fprintf(stderr, "# line %d: out= escaped to %s\n",
				H.lines[i].lineno, esc);
			bad++;
		}
	}

	/* Below OUT. */
	if (!realpath(H.out, real_out))
		fail_msg("cannot resolve %s", H.out);
	rl = strlen(real_out);
	after = it_tree_list(H.out);
	assert_non_null(after);
	cJSON_ArrayForEach(e, after) {
		const char *s = cJSON_GetStringValue(e);
		char *full = it_path("%s/%s", H.out, s);
		char real[PATH_MAX];
		struct stat st;

		if (lstat(full, &st) != 0 || S_ISLNK(st.st_mode)) {
			fprintf(stderr, "# %s: a symbolic link or gone\n", full);
			bad++;
			free(full);
			continue;
		}
		if (!realpath(full, real) ||
			   strncmp(real, real_out, rl) != 0 ||
			   real[rl] != '/') {
			fprintf(stderr, "# %s resolves outside OUT\n", full);
			bad++;
		}
		if (!S_ISDIR(st.st_mode))
			nfiles++;
		free(full);
	}
	for (int i = 0; i < N_LINES; i++) {
		char *f;

		if (H.lines[i].cat != C_VALID)
			continue;
		f = it_path("%s/%s", H.out, H.lines[i].rel);
		if (!it_exists(f)) {
			fprintf(stderr, "# missing: %s\n", f);
			bad++;
		}
		free(f);
	}
	if (nfiles != N_VALID) {
		cJSON_ArrayForEach(e, after)
			fprintf(stderr, "# in OUT: %s\n",
				cJSON_GetStringValue(e));
		bad++;
		fprintf(stderr, "# %d files in OUT, want %d\n", nfiles,
			N_VALID);
	}
	assert_int_equal(it_tree_count_suffix(after, ".part"), 0);
	cJSON_Delete(after);
	if (bad)
		fail_msg("%d problems with where files went (see above)", bad);
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF. Returns 1, or 0 with the offset of the first bad byte. */
static int utf8_valid(const unsigned char *s, size_t n, size_t *at)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			*at = i;
			return 0;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80) {
				*at = i;
				return 0;
			}
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			*at = i;
			return 0;
		}
		i += k + 1;
	}
	return 1;
}

/* JSON text must be UTF-8 (RFC 8259, section 8.1; JSON Lines too): a
 * reason that quotes a hostile key, or a URL echoed back, must not carry
 * invalid bytes into the output, or a consumer (jq, Python's json) chokes
 * on the whole stream. */
static void test_hostile_output_is_utf8(void **state)
{
	const char *p;
	int line = 0, bad = 0;

	(void)state;
	ensure_run();
	for (p = H.r.out; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p), at;

		line++;
		if (!utf8_valid((const unsigned char *)p, n, &at)) {
			cJSON *o = cJSON_ParseWithLength(p, n);

			if (bad++ < 10)
				fprintf(stderr, "# output line %d (input line "
					"%g): invalid UTF-8 at byte %zu: "
					"%.*s\n", line,
					it_json_num(o, "line", NULL), at,
					(int)(n < 160 ? n : 160), p);
			cJSON_Delete(o);
		}
		p = nl ? nl + 1 : NULL;
	}
	if (bad)
		fail_msg("%d of %d output lines are not valid UTF-8", bad, line);
}

/* -------------------------------------------------------------- fixture */

static int group_setup(void **state)
{
	const char *args[] = { "--lifetime", "300", NULL };

	(void)state;
	if (it_server_start(&H.srv, args) != 0)
		return -1;
	H.tmp = it_mkdtemp();
	return H.tmp ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	it_server_stop(&H.srv);
	/* Clean up after a binary that did write where it must not: the
	 * marked names only. */
	for (int i = 0; H.marker[0] && i < N_LINES; i++) {
		const char *esc = H.lines[i].escape;

		if (esc && strstr(esc, H.marker) && it_exists(esc) &&
		    strncmp(esc, H.tmp, strlen(H.tmp)) != 0)
			it_rmtree(esc);
	}
	if (H.marker[0]) {
		cJSON *top = top_level("/tmp");
		const cJSON *e;

		cJSON_ArrayForEach(e, top) {
			const char *s = cJSON_GetStringValue(e);
			char *full;

			if (!strstr(s, H.marker))
				continue;
			full = it_path("/tmp/%s", s);
			it_rmtree(full);
			free(full);
		}
		cJSON_Delete(top);
	}
	if (H.tmp) {
		if (getenv("FM_KEEP_TMP"))
			fprintf(stderr, "kept %s\n", H.tmp);
		else
			it_rmtree(H.tmp);
	}
	for (int i = 0; i < N_LINES; i++) {
		struct line *l = &H.lines[i];

		free(l->text.data);
		for (int w = 0; w < 3; w++)
			free(l->want[w]);
		free(l->escape);
		free(l->expect_url);
		free(l->url);
		free(l->rel);
		free(l->sha);
	}
	cJSON_Delete(H.res);
	cJSON_Delete(H.tmp_before);
	cJSON_Delete(H.slash_tmp_before);
	it_result_free(&H.r);
	free(H.tmp);
	free(H.out);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_run_survives),
		cmocka_unit_test(test_hostile_lines_invalid),
		cmocka_unit_test(test_hostile_valid_ok),
		cmocka_unit_test(test_hostile_nothing_outside),
		cmocka_unit_test(test_hostile_output_is_utf8),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
