/* fm_share.h: TLS sessions and DNS answers shared by every transfer of
 * a run, whatever worker thread runs it (a libcurl share object, with a
 * lock per kind of data). Connections are not shared: libcurl does not
 * support sharing its connection cache between threads; run.c sends a
 * host's transfers to the worker that holds its connections instead. */
#ifndef FM_SHARE_H
#define FM_SHARE_H

#include <curl/curl.h>

struct fm_share;

/* Creates the share. Returns NULL when out of memory or when libcurl
 * refuses it. */
struct fm_share *fm_share_new(void);

/* The share object, for CURLOPT_SHARE (NULL for s NULL: nothing shared). */
CURLSH *fm_share_handle(const struct fm_share *s);

/* Frees s (NULL: nothing) once no easy handle uses it any more. Returns 0,
 * or -EBUSY when one still does (s is then left as it was). */
int fm_share_free(struct fm_share *s);

#endif
