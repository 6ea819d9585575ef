/* share.c: what every transfer of the run shares across the worker
 * threads (fm_share.h).
 *
 * Each worker's multi handle has its own connection cache and, without
 * this, each easy handle its own TLS sessions: a host's second worker, or
 * a slot that never served the host, paid a full handshake. libcurl
 * locks a shared kind of data through our callbacks, one mutex per kind,
 * so that a DNS look-up never waits for a TLS session store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

struct fm_share *fm_share_new(bool cookies)
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
	    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    (cookies && curl_share_setopt(s->sh, CURLSHOPT_SHARE,
					  CURL_LOCK_DATA_COOKIE)))
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

/* An easy handle on the share, for the jar alone (no transfer). */
static CURL *jar_handle(struct fm_share *s)
{
	CURL *e = curl_easy_init();

	if (e && curl_easy_setopt(e, CURLOPT_SHARE, s->sh) != CURLE_OK) {
		curl_easy_cleanup(e);
		e = NULL;
	}
	return e;
}

int fm_share_load_cookies(struct fm_share *s, const char *file)
{
	CURL *e = jar_handle(s);
	int rc = -1;

	/* RELOAD reads the CURLOPT_COOKIEFILE files now, not at a first
	 * transfer: the workers' handles then only switch the engine on
	 * (""), so that no handle made later reads the file over cookies
	 * the servers have set since. */
	if (e && curl_easy_setopt(e, CURLOPT_COOKIEFILE, file) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD") == CURLE_OK)
		rc = 0;
	if (e)
		curl_easy_cleanup(e);
	return rc;
}

int fm_share_save_cookies(struct fm_share *s, const char *file)
{
	size_t n = strlen(file);
	char *tmp = malloc(n + sizeof(".XXXXXX"));
	CURL *e;
	int fd, err = 0;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, file, n);
	memcpy(tmp + n, ".XXXXXX", sizeof(".XXXXXX"));
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	close(fd);
	e = jar_handle(s);
	if (!e || curl_easy_setopt(e, CURLOPT_COOKIEJAR, tmp) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_COOKIELIST, "FLUSH") != CURLE_OK)
		err = -EIO;
	if (e) {
		/* cleanup writes the jar again: tmp is still its name */
		curl_easy_cleanup(e);
	}
	if (!err && rename(tmp, file))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
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
