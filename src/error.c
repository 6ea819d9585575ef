/* error.c: one table from error codes to messages (see fm_error.h). */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "fm_error.h"

/* libuv's codes on Unix are negative errno values (uv-errno.h). */
_Static_assert(UV_ENOMEM == -ENOMEM && UV_EAGAIN == -EAGAIN &&
		       UV_EMFILE == -EMFILE && UV_EINVAL == -EINVAL,
	       "libuv codes are not -errno here");

const char *fm_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case FM_E_CURL:
		return "libcurl error";
	}
	if (err < 0 && err > FM_E_BASE)
		return strerror(-err);
	return "unknown error";
}

int fm_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

int fm_uv_err(int rc)
{
	/* UV_EOF is -4095 and the UV_EAI_* lie from -3000 down; every
	 * errno is far above. */
	assert(rc <= 0 && rc > UV_EAI_ADDRFAMILY);
	return rc;
}

void fm_redact_userinfo(char *s)
{
	char *p = s;

	while ((p = strstr(p, "://"))) {
		char *user = p + 3, *end = user, *at = NULL;

		/* the authority ends where a URL's path, query or fragment
		 * begins, or where the message's quoting does */
		for (; *end && !strchr("/?#'\"` \t\r\n<>", *end); end++)
			if (*end == '@')
				at = end;
		if (!at || (at - user == 3 && !strncmp(user, "***", 3))) {
			p = end;
			continue;
		}
		memmove(user + 3, at, strlen(at) + 1);
		memcpy(user, "***", 3);
		p = user + 3;
	}
}
