/* fm_list.h: one line of a URL list to one entry.
 *
 * The pure part of input handling: no I/O, no global state. The reader in
 * src/input.c splits the stream into lines and feeds them here. */
#ifndef FM_LIST_H
#define FM_LIST_H

#include <stddef.h>

#include <curl/curl.h>

#include "fm_digest.h"

/* Longest accepted line, in bytes, newline excluded. */
#define FM_LINE_MAX (64 * 1024)

/* Room for a reason why a line or entry is invalid. */
#define FM_WHY_MAX 256

/* The most mirror URLs one entry may give (more make it invalid): far
 * more than any file lives on, few enough that an entry's URLs and their
 * reasons stay small. */
#define FM_MIRRORS_MAX 100

/* The most header= fields one entry may give, and the longest one, name
 * and value, in bytes: far more than a request needs (a bearer token is
 * a few KiB at most), few enough that an entry stays small. */
#define FM_HEADERS_MAX 32
#define FM_HEADER_LEN_MAX 8192

struct fm_entry {
	char *url;    /* text: the URL token as written; JSON: the decoded url */
	char *out;    /* out= / "out", or NULL */
	char *digest[FM_ALGOS]; /* expected digests (sha256=, sha512=, sha1=,
				   md5=), lowercase hex of their lengths;
				   NULL where none */
	char **mirrors; /* mirror= / "mirrors": the entry's other URLs, in
			   the order given, none twice nor equal to url;
			   NULL when none */
	unsigned nmirrors;
	char **headers; /* header= / "headers": "Name: value" lines, checked
			   (fm_reqhdr_check()), in the order given; NULL when
			   none. Never part of a result: they may be
			   credentials */
	unsigned nheaders;
	CURLU *uh;    /* url as curl_url() parsed it, for naming; or NULL */
};

enum fm_line_kind {
	FM_LINE_SKIP,    /* blank line or comment */
	FM_LINE_ENTRY,   /* *e holds a usable entry */
	FM_LINE_INVALID, /* why holds the reason; e->url is set when one was found */
};

/* Parses one line of a list.
 *
 * line/len: the line without its line terminator (a trailing '\r' is
 *   white space); it may contain NUL bytes, which make it invalid.
 * e: receives heap copies of the fields (release with fm_entry_clear());
 *   it is zeroed first, whatever the result.
 * why/whylen: receives a one-line reason on FM_LINE_INVALID.
 *
 * Checks everything that can be known from the line alone: URL syntax
 * (curl_url()), scheme http or https, known keys, fields of the form
 * key=value, each digest as hex digits of its algorithm's length
 * (fm_digest_check(), stored lowercase), out= safe per
 * fm_name_check_out(), each mirror= URL as the URL itself (a bad one is
 * named in the reason; one that repeats the URL or an earlier mirror is
 * left out), each header= per fm_reqhdr_check() (at most FM_HEADERS_MAX
 * of at most FM_HEADER_LEN_MAX bytes; a reason names a header, never
 * quotes its value). A text field's value that opens with a double
 * quote ends at the closing one, which must end the field: inside,
 * white space stays and \" and \\ stand for " and \. JSON lines are
 * objects with string members url, out and the digests' keys, and
 * arrays of strings mirrors and headers; other members are ignored only
 * when they are keys of fetchmany's own result records (from, path,
 * status, http_status, bytes, seconds, attempts, error, line, source),
 * otherwise invalid. A JSON digest of null is treated as absent. */
enum fm_line_kind fm_list_parse_line(const char *line, size_t len,
				     struct fm_entry *e, char *why,
				     size_t whylen);

/* Checks that url is an absolute http or https URL that curl_url() accepts.
 * Returns 0, or -1 with a reason in why. */
int fm_url_check(const char *url, char *why, size_t whylen);

/* fm_url_check() that keeps what it parsed: on success *uh is url's
 * handle (free it with curl_url_cleanup()), so that nothing has to parse
 * url again. Returns 0, or -1 with a reason in why (*uh NULL). */
int fm_url_parse(const char *url, CURLU **uh, char *why, size_t whylen);

/* Frees the strings, the mirrors and the URL handle of e and zeroes it. */
void fm_entry_clear(struct fm_entry *e);

#endif
