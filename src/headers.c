/* headers.c: parsing the few response headers fetchmany acts on.
 *
 * Everything here reads bytes a server chose, so every parser is bounded
 * by the length it is given, never by a terminator, and drops what it
 * cannot parse whole. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fm_headers.h"

#define LAST_MODIFIED_MAX 64

static char none[1]; /* every absent value */

void fm_resp_init(struct fm_resp *r)
{
	*r = (struct fm_resp){.etag = none, .last_modified = none,
			      .filename = none, .range_first = -1,
			      .range_last = -1, .range_total = -1,
			      .retry_after = -1, .retry_date = -1};
}

static void drop(char **v)
{
	if (*v != none)
		free(*v);
	*v = none;
}

void fm_resp_clear(struct fm_resp *r)
{
	drop(&r->etag);
	drop(&r->last_modified);
	drop(&r->filename);
	fm_resp_init(r);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims white space and CR/LF from both ends of [*v, *v + *n). */
static void trim(const char **v, size_t *n)
{
	while (*n && (is_ows(**v) || **v == '\r' || **v == '\n')) {
		(*v)++;
		(*n)--;
	}
	while (*n && (is_ows((*v)[*n - 1]) || (*v)[*n - 1] == '\r' ||
		      (*v)[*n - 1] == '\n'))
		(*n)--;
}

/* Keeps a copy of a value, or nothing when it is cap bytes or longer or
 * holds a control byte: a cut validator would be a wrong one. */
static void keep(char **dst, size_t cap, const char *v, size_t n)
{
	char *copy;

	drop(dst);
	if (n == 0 || n >= cap)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return;
	copy = malloc(n + 1);
	if (!copy)
		return; /* as if absent: it only serves later requests */
	memcpy(copy, v, n);
	copy[n] = '\0';
	*dst = copy;
}

static bool name_is(const char *line, size_t nlen, const char *name)
{
	return strlen(name) == nlen && strncasecmp(line, name, nlen) == 0;
}

void fm_resp_feed(struct fm_resp *r, const char *line, size_t len)
{
	const char *colon, *v;
	size_t nlen, vlen;

	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		fm_resp_clear(r);
		return;
	}
	colon = memchr(line, ':', len);
	if (!colon)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	trim(&v, &vlen);
	if (name_is(line, nlen, "etag")) {
		keep(&r->etag, FM_ETAG_MAX, v, vlen);
	} else if (name_is(line, nlen, "last-modified")) {
		keep(&r->last_modified, LAST_MODIFIED_MAX, v, vlen);
	} else if (name_is(line, nlen, "content-disposition")) {
		char name[FM_NAME_COMPONENT_MAX + 1];

		drop(&r->filename);
		if (fm_disposition_filename(v, vlen, name, sizeof(name)) == 0)
			keep(&r->filename, sizeof(name), name, strlen(name));
	} else if (name_is(line, nlen, "content-range")) {
		r->has_range = fm_content_range(v, vlen, &r->range_first,
						&r->range_last,
						&r->range_total) == 0;
		if (!r->has_range)
			r->range_first = r->range_last = r->range_total = -1;
	} else if (name_is(line, nlen, "content-encoding")) {
		r->encoded = !(vlen == 8 && strncasecmp(v, "identity", 8) == 0);
	} else if (name_is(line, nlen, "retry-after")) {
		fm_retry_after_parse(v, vlen, &r->retry_after, &r->retry_date);
	}
}

int fm_retry_after_parse(const char *v, size_t n, double *seconds,
			 int64_t *date)
{
	char buf[64];
	uint64_t d = 0;
	size_t i;

	*seconds = -1;
	*date = -1;
	trim(&v, &n);
	for (i = 0; i < n && isdigit((unsigned char)v[i]); i++) {
		if (d > (UINT64_C(1) << 63) / 10)
			d = UINT64_MAX; /* stays too large from here */
		else
			d = d * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > 0 && i == n) {
		*seconds = d > (UINT64_C(1) << 63) ? HUGE_VAL : (double)d;
		return 0;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	*date = fm_http_date(buf);
	return *date < 0 ? -1 : 0;
}

double fm_resp_retry_after(const struct fm_resp *r, int64_t now)
{
	if (r->retry_after >= 0)
		return r->retry_after;
	if (r->retry_date < 0)
		return -1;
	return r->retry_date > now ? (double)(r->retry_date - now) : 0;
}

/* Parses decimal digits at [*p, end) into *out (no sign, no overflow). */
static int number(const char **p, const char *end, int64_t *out)
{
	int64_t v = 0;
	const char *s = *p;

	if (s == end || !isdigit((unsigned char)*s))
		return -1;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

int fm_content_range(const char *v, size_t n, int64_t *first, int64_t *last,
		     int64_t *total)
{
	const char *p = v, *end = v + n;

	trim(&p, &n);
	end = p + n;
	if (n < 6 || strncasecmp(p, "bytes", 5) != 0 || !is_ows(p[5]))
		return -1;
	p += 6;
	while (p < end && is_ows(*p))
		p++;
	if (p < end && *p == '*') {
		*first = *last = -1;
		p++;
	} else {
		if (number(&p, end, first) || p == end || *p++ != '-' ||
		    number(&p, end, last) || *last < *first)
			return -1;
	}
	if (p == end || *p++ != '/')
		return -1;
	if (p < end && *p == '*') {
		*total = -1;
		p++;
		if (*first < 0)
			return -1; /* "* / *" says nothing */
	} else if (number(&p, end, total) ||
		   (*last >= 0 && *last >= *total)) {
		return -1;
	}
	return p == end ? 0 : -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t fm_http_date(const char *s)
{
	static const char days[] = "MonTueWedThuFriSatSun";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30,
					      31, 31, 30, 31, 30, 31};
	int day, year, hh, mm, ss;
	unsigned mon = 0;
	bool name = false;

	/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes, fixed positions. */
	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    strcmp(s + 25, " GMT") != 0)
		return -1;
	for (int i = 0; i < 7 && !name; i++)
		name = memcmp(s, days + 3 * i, 3) == 0;
	for (unsigned i = 0; i < 12 && !mon; i++)
		if (memcmp(s + 8, months + 3 * i, 3) == 0)
			mon = i + 1;
	day = digits(s + 5, 2);
	year = digits(s + 12, 4);
	hh = digits(s + 17, 2);
	mm = digits(s + 20, 2);
	ss = digits(s + 23, 2);
	if (!name || !mon || day < 1 || day > mdays[mon - 1] || year < 1970 ||
	    hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return -1;
	if (mon == 2 && day == 29 &&
	    (year % 4 || (year % 100 == 0 && year % 400)))
		return -1;
	return days_from_civil(year, mon, (unsigned)day) * 86400 +
	       hh * 3600 + mm * 60 + ss;
}

bool fm_etag_is_strong(const char *etag)
{
	return etag[0] == '"';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes an RFC 8187 ext-value (charset'lang'pct-encoded) into out as
 * UTF-8. ISO-8859-1 bytes are converted; other charsets are refused. */
static int ext_value(const char *v, size_t n, char *out, size_t cap)
{
	const char *q1 = memchr(v, '\'', n), *q2, *p, *end = v + n;
	bool latin1;
	size_t o = 0;

	if (!q1)
		return -1;
	q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1));
	if (!q2)
		return -1;
	if ((size_t)(q1 - v) == 5 && strncasecmp(v, "utf-8", 5) == 0)
		latin1 = false;
	else if ((size_t)(q1 - v) == 10 && strncasecmp(v, "iso-8859-1", 10) == 0)
		latin1 = true;
	else
		return -1;
	for (p = q2 + 1; p < end; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = hexval(p[1])) < 0 ||
			    (lo = hexval(p[2])) < 0)
				return -1;
			c = hi * 16 + lo;
			p += 2;
		}
		/* A decoded NUL would cut the name short and hide its real
		 * end ("evil.exe%00.txt"): it becomes '_' like any other
		 * control byte. */
		if (c == 0)
			c = '_';
		if (latin1 && c >= 0x80) {
			if (o + 2 >= cap)
				return -1;
			out[o++] = (char)(0xc0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3f));
			continue;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* Decodes a token or a quoted-string (backslash escapes) into out. */
static int plain_value(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (n && v[0] == '"') {
		size_t i;

		for (i = 1; i < n && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < n)
				i++;
			if (o + 1 >= cap)
				return -1;
			/* A raw NUL must not cut the name short (see
			 * ext_value). */
			out[o++] = v[i] ? v[i] : '_';
		}
		if (i >= n)
			return -1; /* unterminated */
	} else {
		if (n + 1 > cap)
			return -1;
		for (o = 0; o < n; o++)
			out[o] = v[o] ? v[o] : '_';
	}
	out[o] = '\0';
	return 0;
}

/* Finds the end of a parameter value: the next ';' outside quotes. */
static size_t value_end(const char *v, size_t n)
{
	bool quoted = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (quoted && v[i] == '\\') {
			i++;
			continue;
		}
		if (v[i] == '"')
			quoted = !quoted;
		else if (v[i] == ';' && !quoted)
			break;
	}
	return i < n ? i : n;
}

/* Keeps the last path segment of name (under 1024 bytes), with bytes
 * that are not UTF-8 percent-encoded, then sanitises it. */
static int last_segment(char *name, char *out, size_t cap)
{
	char *seg = name, buf[3 * 1024];

	for (char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			seg = p + 1;
	fm_name_utf8_escape(buf, seg, strlen(seg));
	seg = buf;
	/* Sanitising cuts to FM_NAME_COMPONENT_MAX on a UTF-8 boundary. */
	fm_name_sanitize(seg, false);
	if (!seg[0] || strlen(seg) >= cap)
		return -1;
	memcpy(out, seg, strlen(seg) + 1);
	return 0;
}

int fm_disposition_filename(const char *v, size_t n, char *out, size_t cap)
{
	char plain[1024] = "", ext[1024] = "";
	const char *p = v, *end = v + n;

	if (cap < 2)
		return -1;
	/* Skip the disposition type, then walk "; name=value" pairs. */
	p += value_end(p, n);
	while (p < end && *p == ';') {
		const char *name, *eq, *val;
		size_t nl, vl;

		p++;
		while (p < end && is_ows(*p))
			p++;
		name = p;
		vl = value_end(p, (size_t)(end - p));
		eq = memchr(p, '=', vl);
		if (!eq) {
			/* A parameter without a value: skip just it. */
			p += vl;
			continue;
		}
		nl = (size_t)(eq - name);
		while (nl && is_ows(name[nl - 1]))
			nl--;
		val = eq + 1;
		while (val < end && is_ows(*val))
			val++;
		vl = value_end(val, (size_t)(end - val));
		p = val + vl;
		while (vl && is_ows(val[vl - 1]))
			vl--;
		if (nl == 9 && strncasecmp(name, "filename*", 9) == 0) {
			if (ext_value(val, vl, ext, sizeof(ext)))
				ext[0] = '\0';
		} else if (nl == 8 && strncasecmp(name, "filename", 8) == 0) {
			if (plain_value(val, vl, plain, sizeof(plain)))
				plain[0] = '\0';
		}
	}
	if (ext[0] && last_segment(ext, out, cap) == 0)
		return 0;
	if (plain[0] && last_segment(plain, out, cap) == 0)
		return 0;
	out[0] = '\0';
	return -1;
}
