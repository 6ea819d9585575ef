/* fm_share.h: TLS sessions and DNS answers shared by every transfer of
 * a run, whatever worker thread runs it (a libcurl share object, with a
 * lock per kind of data). Connections are not shared: libcurl does not
 * support sharing its connection cache between threads; run.c sends a
 * host's transfers to the worker that holds its connections instead. */
#ifndef FM_SHARE_H
#define FM_SHARE_H

#include <stdbool.h>

#include <curl/curl.h>

struct fm_share;

/* Creates the share; with cookies, the cookie engine's data too (one jar
 * for the whole run). Returns NULL when out of memory or when libcurl
 * refuses it. */
struct fm_share *fm_share_new(bool cookies);

/* Reads the cookies of file (Netscape or HTTP header format) into the
 * shared jar, once for the run. Returns 0, or -1 when libcurl refused. */
int fm_share_load_cookies(struct fm_share *s, const char *file);

/* Writes the shared jar to file, whole or not at all: into a temporary
 * file beside it, renamed over it (an empty jar makes an empty file).
 * Returns 0 or -errno. */
int fm_share_save_cookies(struct fm_share *s, const char *file);

/* The share object, for CURLOPT_SHARE (NULL for s NULL: nothing shared). */
CURLSH *fm_share_handle(const struct fm_share *s);

/* Frees s (NULL: nothing) once no easy handle uses it any more. Returns 0,
 * or -EBUSY when one still does (s is then left as it was). */
int fm_share_free(struct fm_share *s);

#endif
