/* name.c: where a body goes on disk, relative to the output directory
 * (see fm_name.h).
 *
 * Two sources of names are treated differently on purpose. An out= value
 * is the user's own choice, so it is checked and refused when unsafe: a
 * silent rewrite would put the file somewhere the user did not ask for.
 * A name taken from a URL (or a server) is someone else's, so it is
 * sanitised and never refused: control bytes and separators become '_',
 * dot and empty segments go, long components are cut. Either way the path
 * returned is relative and cannot leave the output directory. libcurl's
 * URL parser splits the URL; percent-decoding is done here, per segment,
 * so that an encoded "/" (%2F) cannot create a new directory level. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fm_error.h"
#include "fm_name.h"

/* NAME_MAX of the file systems we write to. Directory components may use
 * all of it; the final one leaves room for FM_PART_SUFFIX. */
#define COMPONENT_MAX 255

/* When a final component is cut, a suffix of up to this many bytes that
 * starts with '.' is kept, so "…long….tar.gz" stays a ".tar.gz": the type
 * of a file is in its extension, the distinctive part of a long name
 * usually in its beginning. */
#define EXT_MAX 16

#define FALLBACK_NAME "index.html"


static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Length of the well-formed UTF-8 sequence at the n > 0 bytes at s (1 to
 * 4), or 0 when they do not start one: a stray continuation byte, an
 * overlong form, a surrogate, a code point beyond U+10FFFF, or a
 * sequence cut short. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], min;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

size_t fm_name_utf8_escape(char *dst, const char *src, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, j = 0, k;

	while (i < n) {
		k = utf8_len(s + i, n - i);
		if (k > 0) {
			memcpy(dst + j, s + i, k);
			i += k;
			j += k;
			continue;
		}
		dst[j++] = '%';
		dst[j++] = digits[s[i] >> 4];
		dst[j++] = digits[s[i] & 15];
		i++;
	}
	dst[j] = '\0';
	return j;
}

/* Replaces, in the n bytes at s, what must not appear in one component. */
static void scrub(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_control((unsigned char)s[i]) || s[i] == '/' || s[i] == '\\')
			s[i] = '_';
}

/* Empty, ".", ".." or any other run of dots: not a usable name. "..." is
 * harmless to the file system, but hidden-looking and confusing, so it is
 * treated like its shorter cousins. */
static bool all_dots(const char *s)
{
	return s[strspn(s, ".")] == '\0';
}

/* The largest cut position <= n that does not split a UTF-8 sequence of s
 * (n < strlen(s)). Bytes that are not UTF-8 are cut anywhere. */
static size_t utf8_floor(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k <= 3 && k <= n; k++)
		if (((unsigned char)s[n - k] & 0xc0) != 0x80)
			return n - k;
	return n;
}

/* Where the kept extension of an over-long final component starts: the
 * first '.' among its last EXT_MAX bytes, or len when there is none. */
static size_t ext_start(const char *s, size_t len)
{
	const char *dot = memchr(s + len - EXT_MAX, '.', EXT_MAX);

	return dot != NULL ? (size_t)(dot - s) : len;
}

/* Cuts s to at most max bytes (max > EXT_MAX) on a UTF-8 boundary. */
static void cut(char *s, size_t max, bool keep_ext)
{
	size_t len = strlen(s), ext, head;

	if (len <= max)
		return;
	ext = keep_ext ? ext_start(s, len) : len;
	head = utf8_floor(s, max - (len - ext));
	memmove(s + head, s + ext, len - ext + 1);
}

/* Makes s one safe component of at most max bytes, or "" when nothing
 * usable is left. Cutting goes first, as it can leave only dots. */
static void clean(char *s, size_t max, bool keep_ext)
{
	scrub(s, strlen(s));
	cut(s, max, keep_ext);
	if (all_dots(s))
		s[0] = '\0';
}

/* buf must hold sizeof(FALLBACK_NAME) bytes when fallback is true: the
 * header cannot say so, as the function takes no size. */
char *fm_name_sanitize(char *buf, bool fallback)
{
	clean(buf, FM_NAME_COMPONENT_MAX, true);
	if (buf[0] == '\0' && fallback)
		memcpy(buf, FALLBACK_NAME, sizeof(FALLBACK_NAME));
	return buf;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes the n bytes at src into dst (3 * n + 1 bytes at
 * least), using tmp (n bytes at least) on the way. A decoded sequence
 * that is not valid UTF-8 is encoded again, byte by byte ("%FF" stays
 * "%FF"): names on disk are UTF-8, so that the path reported is the
 * file's real name. Then the result is scrubbed, so a decoded NUL or '/'
 * is already '_' when the string is terminated. A '%' not followed by
 * two hex digits is kept. */
static void decode(char *dst, const char *src, size_t n, char *tmp)
{
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		int hi = -1, lo = -1;

		if (src[i] == '%' && i + 2 < n) {
			hi = hex_value(src[i + 1]);
			lo = hex_value(src[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			tmp[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			tmp[j++] = src[i];
		}
	}
	j = fm_name_utf8_escape(dst, tmp, j);
	scrub(dst, j);
}

/* The segment rules of fm_name_check_out(), for an out= that is not
 * empty, not absolute and does not end in '/'. */
static int check_segments(const char *out, char *why, size_t whylen)
{
	const char *seg = out, *slash;
	size_t n;

	for (;;) {
		slash = strchr(seg, '/');
		n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		if (n == 2 && seg[0] == '.' && seg[1] == '.')
			return fm_why(why, whylen,
				      "unsafe out=: '..' segment climbs out of "
				      "the output directory");
		if (n > COMPONENT_MAX)
			return fm_why(why, whylen,
				      "unsafe out=: component longer than %d "
				      "bytes",
				      COMPONENT_MAX);
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
	/* seg is now the final component. "a/." would normalise to "a", but
	 * what the user wrote names a directory, like "a/". */
	if (n == 1 && seg[0] == '.')
		return fm_why(why, whylen,
			      "unsafe out=: ends with '.' (names a directory)");
	if (n > FM_NAME_COMPONENT_MAX)
		return fm_why(why, whylen,
			      "unsafe out=: file name longer than %d bytes "
			      "(room for \"%s\")",
			      FM_NAME_COMPONENT_MAX, FM_PART_SUFFIX);
	return 0;
}

int fm_name_check_out(const char *out, char *why, size_t whylen)
{
	const char *p;

	if (out == NULL || out[0] == '\0')
		return fm_why(why, whylen, "unsafe out=: empty");
	if (out[0] == '/')
		return fm_why(why, whylen, "unsafe out=: absolute path");
	for (p = out; *p != '\0'; p++)
		if (is_control((unsigned char)*p))
			return fm_why(why, whylen, "unsafe out=: control character 0x%02x",
				    (unsigned char)*p);
	/* Names on disk are UTF-8, so that the path reported is the real
	 * one; the user's own name is refused rather than rewritten. */
	for (const char *q = out; q < p;) {
		size_t k = utf8_len((const unsigned char *)q, (size_t)(p - q));

		if (k == 0)
			return fm_why(why, whylen, "unsafe out=: not valid "
				      "UTF-8 (byte 0x%02x)", (unsigned char)*q);
		q += k;
	}
	if (p[-1] == '/')
		return fm_why(why, whylen, "unsafe out=: ends with '/' (names a directory)");
	return check_segments(out, why, whylen);
}

/* A string that grows, for building a path one component at a time. */
struct path {
	char *buf;
	size_t len, cap;
};

/* Appends component s, with a '/' before it unless it is the first.
 * Returns 0 or -ENOMEM. */
static int path_add(struct path *p, const char *s)
{
	size_t n = strlen(s), need = p->len + n + 2;

	if (need > p->cap) {
		char *nbuf = realloc(p->buf, need * 2);

		if (nbuf == NULL)
			return -ENOMEM;
		p->buf = nbuf;
		p->cap = need * 2;
	}
	if (p->len > 0)
		p->buf[p->len++] = '/';
	memcpy(p->buf + p->len, s, n + 1);
	p->len += n;
	return 0;
}

/* out= with its "." and empty segments dropped (it passed the check). */
static char *normalise_out(const char *out)
{
	struct path p = { NULL, 0, 0 };
	char *copy = strdup(out), *seg, *save = NULL;

	if (copy == NULL)
		return NULL;
	for (seg = strtok_r(copy, "/", &save); seg != NULL;
	     seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (path_add(&p, seg) != 0) {
			free(p.buf);
			p.buf = NULL;
			break;
		}
	}
	free(copy);
	return p.buf;
}

/* The mirror's first component: host, lowercased, IPv6 brackets removed,
 * then "_PORT" when the URL names a port that is not the default. Returns
 * 0 or -ENOMEM. */
static int add_host(struct path *p, CURLU *h)
{
	char *host = NULL, *port = NULL, *low, *comp;
	const char *name;
	size_t len, i;
	int rc = -ENOMEM;

	/* A URL without a host never passes fm_url_check(); should one come
	 * here anyway, it gets "_" like any other unusable host. */
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		host = NULL;
	if (curl_url_get(h, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
		port = NULL;
	name = host != NULL ? host : "";
	len = strlen(name);
	if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
		name++;
		len -= 2;
	}
	/* Room for the host's bytes lowercased (the first len) and for
	 * them escaped where they are not UTF-8 (3 * len). */
	low = malloc(4 * len + (port != NULL ? strlen(port) : 0) + 2);
	if (low != NULL) {
		comp = low + len;
		for (i = 0; i < len; i++)
			low[i] = name[i] >= 'A' && name[i] <= 'Z' ?
				 (char)(name[i] - 'A' + 'a') : name[i];
		fm_name_utf8_escape(comp, low, len);
		if (port != NULL)
			strcat(strcat(comp, "_"), port);
		/* curl decodes "%2e%2e" in a host: the host is sanitised too. */
		clean(comp, COMPONENT_MAX, false);
		rc = path_add(p, comp[0] != '\0' ? comp : "_");
	}
	free(low);
	curl_free(host);
	curl_free(port);
	return rc;
}

/* Appends the directory segments of path (all but the last), decoded
 * and cleaned; segments that clean to nothing are dropped. buf and tmp
 * are scratch space for decode() of strlen(path) bytes. Returns 0 or
 * -ENOMEM. */
static int add_dirs(struct path *p, const char *path, char *buf, char *tmp)
{
	const char *seg = path, *slash;

	while ((slash = strchr(seg, '/')) != NULL) {
		decode(buf, seg, (size_t)(slash - seg), tmp);
		clean(buf, COMPONENT_MAX, false);
		if (buf[0] != '\0' && path_add(p, buf) != 0)
			return -ENOMEM;
		seg = slash + 1;
	}
	return 0;
}

/* Builds the name from the URL path: its last segment, after the host
 * and the other segments in mirror mode. */
static char *url_name(CURLU *h, const char *path, bool mirror)
{
	struct path p = { NULL, 0, 0 };
	const char *last = strrchr(path, '/');
	size_t len = strlen(path);
	/* decode() output (3 * len + 1, and room for the fallback name),
	 * then its scratch (len). */
	char *buf = malloc(4 * len + sizeof(FALLBACK_NAME));
	char *tmp = buf + 3 * len + sizeof(FALLBACK_NAME);
	int rc = buf == NULL ? -ENOMEM : 0;

	last = last != NULL ? last + 1 : path;
	if (rc == 0 && mirror)
		rc = add_host(&p, h);
	if (rc == 0 && mirror)
		rc = add_dirs(&p, path, buf, tmp);
	if (rc == 0) {
		decode(buf, last, strlen(last), tmp);
		rc = path_add(&p, fm_name_sanitize(buf, true));
	}
	free(buf);
	if (rc != 0) {
		free(p.buf);
		return NULL;
	}
	return p.buf;
}

/* The name of parsed URL h. */
static int resolve_url(CURLU *h, bool mirror, char **relpath, char *why,
		       size_t whylen)
{
	char *path = NULL;
	CURLUcode uc = curl_url_get(h, CURLUPART_PATH, &path, 0);

	if (uc == CURLUE_OK) {
		*relpath = url_name(h, path, mirror);
		if (*relpath == NULL)
			fm_why(why, whylen, "out of memory");
	} else {
		fm_why(why, whylen, "malformed URL: %s", curl_url_strerror(uc));
	}
	curl_free(path);
	return *relpath != NULL ? 0 : -1;
}

int fm_name_resolve_parsed(CURLU *uh, const char *out, bool mirror,
			   char **relpath, char *why, size_t whylen)
{
	*relpath = NULL;
	if (out == NULL)
		return resolve_url(uh, mirror, relpath, why, whylen);
	if (fm_name_check_out(out, why, whylen) != 0)
		return -1;
	*relpath = normalise_out(out);
	if (*relpath == NULL)
		return fm_why(why, whylen, "out of memory");
	return 0;
}

int fm_name_resolve(const char *url, const char *out, bool mirror,
		    char **relpath, char *why, size_t whylen)
{
	CURLUcode uc;
	CURLU *h;
	int rc;

	*relpath = NULL;
	if (out != NULL)
		return fm_name_resolve_parsed(NULL, out, mirror, relpath, why,
					      whylen);
	if (url == NULL)
		return fm_why(why, whylen, "no URL");
	h = curl_url();
	if (h == NULL)
		return fm_why(why, whylen, "out of memory");
	uc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (uc == CURLUE_OK)
		rc = resolve_url(h, mirror, relpath, why, whylen);
	else
		rc = fm_why(why, whylen, "malformed URL: %s",
			    curl_url_strerror(uc));
	curl_url_cleanup(h);
	return rc;
}

char *fm_name_join(const char *dir, const char *rel)
{
	size_t dlen;
	char *p;

	if (!dir)
		return strdup(rel);
	dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	p = malloc(dlen + 1 + strlen(rel) + 1);
	if (p)
		sprintf(p, "%.*s%s%s", (int)dlen, dir,
			dir[dlen - 1] == '/' ? "" : "/", rel);
	return p;
}

char *fm_name_replace_leaf(const char *relpath, const char *name)
{
	const char *slash = strrchr(relpath, '/');
	size_t keep = slash ? (size_t)(slash - relpath) + 1 : 0;
	char *p = malloc(keep + strlen(name) + 1);

	if (p) {
		memcpy(p, relpath, keep);
		strcpy(p + keep, name);
	}
	return p;
}

int fm_url_host_parsed(CURLU *uh, char *buf, size_t cap)
{
	char *host = NULL;
	int rc = -1;

	if (!curl_url_get(uh, CURLUPART_HOST, &host, 0) && strlen(host) < cap) {
		for (size_t i = 0; host[i]; i++)
			buf[i] = (char)tolower((unsigned char)host[i]);
		buf[strlen(host)] = '\0';
		rc = 0;
	}
	curl_free(host);
	return rc;
}

int fm_url_host(const char *url, char *buf, size_t cap)
{
	CURLU *h = curl_url();
	int rc = -1;

	if (h && !curl_url_set(h, CURLUPART_URL, url, 0))
		rc = fm_url_host_parsed(h, buf, cap);
	curl_url_cleanup(h);
	return rc;
}
