/* fm_name.h: where a body goes on disk, relative to the output directory.
 *
 * Pure functions (libcurl's URL parser aside). Every path returned is
 * relative, uses '/' separators, has no empty, "." or ".." segment, no
 * control character, and no component longer than NAME_MAX; the last
 * component leaves room for the ".part" suffix. */
#ifndef FM_NAME_H
#define FM_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

/* Suffix of the temporary file a body is written to. */
#define FM_PART_SUFFIX ".part"

/* Longest final component: NAME_MAX less the room for ".part". */
#define FM_NAME_COMPONENT_MAX (255 - 5)

/* Checks an out= value given by the user. Absolute paths, ".." segments,
 * control characters, an empty value, a trailing '/', and components that
 * are too long are refused (-1, reason in why); "." and empty segments are
 * not errors (fm_name_resolve() drops them). Returns 0 when usable. */
int fm_name_check_out(const char *out, char *why, size_t whylen);

/* Computes the output path of an entry, relative to the output directory.
 *
 * url: an absolute http(s) URL (already checked by fm_url_check()).
 * out: the entry's out= value or NULL; when set it wins, normalised.
 * mirror: keep the URL's structure: HOST[_PORT]/PATH (port only when it
 *   is given and not the scheme's default).
 * Without out= or mirror the name is the last segment of the URL's path,
 * percent-decoded; an empty last segment gives "index.html". The query
 * never takes part. Names from URLs are sanitised, never refused: '/',
 * '\\' and control characters become '_', "." and ".." segments are
 * dropped, overlong components are cut on a UTF-8 boundary, and decoded
 * bytes that are not valid UTF-8 stay percent-encoded ("%FF"). An out=
 * that is not valid UTF-8 is refused.
 *
 * On success returns 0 and stores a malloc'd path in *relpath. Returns -1
 * with a reason in why when out= is unusable or the URL cannot be parsed. */
int fm_name_resolve(const char *url, const char *out, bool mirror,
		    char **relpath, char *why, size_t whylen);

/* fm_name_resolve() for a URL already parsed (by fm_url_parse()): the
 * same result, without parsing it again. */
int fm_name_resolve_parsed(CURLU *uh, const char *out, bool mirror,
			   char **relpath, char *why, size_t whylen);

/* Sanitises one server- or URL-given file name component in place, as
 * described above (the bytes are already percent-decoded). An empty or
 * all-dots result becomes "index.html" when fallback is true, else "".
 * Returns buf. */
char *fm_name_sanitize(char *buf, bool fallback);

/* Copies the n bytes at src to dst (3 * n + 1 bytes at least, not
 * overlapping src) as valid UTF-8: each byte that does not belong to a
 * well-formed sequence (RFC 3629: a stray continuation byte, an overlong
 * form, a surrogate, beyond U+10FFFF, a sequence cut short) becomes
 * "%XX" (upper-case hex); everything else, NUL included, is copied.
 * Terminates dst and returns its length. Names on disk go through it,
 * so that the path reported in JSON is always the file's real name. */
size_t fm_name_utf8_escape(char *dst, const char *src, size_t n);

/* Writes url's host, lower case, into buf. Returns 0, or -1 when the URL
 * cannot be parsed or the host does not fit. */
int fm_url_host(const char *url, char *buf, size_t cap);

/* fm_url_host() for a URL already parsed. */
int fm_url_host_parsed(CURLU *uh, char *buf, size_t cap);

/* Joins the output directory (NULL when -o was not given: the bare name
 * is reported) and a relative path into a malloc'd string, with one '/'
 * between them. Returns NULL when out of memory. */
char *fm_name_join(const char *dir, const char *rel);

/* Replaces the last component of relpath with name, into a malloc'd
 * string. Returns NULL when out of memory. */
char *fm_name_replace_leaf(const char *relpath, const char *name);

#endif
