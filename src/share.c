/* share.c: what every transfer of the run shares across the worker
 * threads (fm_share.h).
 *
 * Each worker's multi handle has its own connection cache and, without
 * this, each easy handle its own TLS sessions: a host's second worker, or
 * a slot that never served the host, paid a full handshake. libcurl
 * locks a shared kind of data through our callbacks, one mutex per kind,
 * so that a DNS look-up never waits for a TLS session store. */
#include <errno.h>
#include <stdlib.h>

#include <uv.h>

#include "fm_share.h"

struct fm_share {
	CURLSH *sh;
	uv_mutex_t lock[CURL_LOCK_DATA_LAST];
};

static void on_lock(CURL *easy, curl_lock_data data, curl_lock_access access,
		    void *arg)
{
	struct fm_share *s = arg;

	(void)easy;
	(void)access;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		uv_mutex_lock(&s->lock[data]);
}

static void on_unlock(CURL *easy, curl_lock_data data, void *arg)
{
	struct fm_share *s = arg;

	(void)easy;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		uv_mutex_unlock(&s->lock[data]);
}

struct fm_share *fm_share_new(void)
{
	struct fm_share *s = calloc(1, sizeof(*s));
	int n = 0;

	if (!s)
		return NULL;
	for (; n < CURL_LOCK_DATA_LAST; n++)
		if (uv_mutex_init(&s->lock[n]))
			goto fail;
	s->sh = curl_share_init();
	if (!s->sh ||
	    curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, on_lock) ||
	    curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, on_unlock) ||
	    curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s) ||
	    curl_share_setopt(s->sh, CURLSHOPT_SHARE,
			      CURL_LOCK_DATA_SSL_SESSION) ||
	    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS))
		goto fail;
	return s;
fail:
	if (s->sh)
		curl_share_cleanup(s->sh);
	while (n-- > 0)
		uv_mutex_destroy(&s->lock[n]);
	free(s);
	return NULL;
}

CURLSH *fm_share_handle(const struct fm_share *s)
{
	return s ? s->sh : NULL;
}

int fm_share_free(struct fm_share *s)
{
	if (!s)
		return 0;
	if (curl_share_cleanup(s->sh) != CURLSHE_OK)
		return -EBUSY;
	for (int n = 0; n < CURL_LOCK_DATA_LAST; n++)
		uv_mutex_destroy(&s->lock[n]);
	free(s);
	return 0;
}
