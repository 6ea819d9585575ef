/* fm_policy.h: what an attempt's outcome means.
 *
 * One pure function decides, from libcurl's result code, the HTTP status
 * and any local (file-system) error, whether an attempt succeeded, should
 * be retried, or failed for good. */
#ifndef FM_POLICY_H
#define FM_POLICY_H

#include <curl/curl.h>

enum fm_verdict {
	FM_VERDICT_OK,    /* body complete and accepted */
	FM_VERDICT_RETRY, /* transient: another attempt may succeed */
	FM_VERDICT_FAIL,  /* final */
};

/* Classifies an attempt.
 * rc: libcurl's result for the transfer.
 * http_status: the last response's status, 0 when none arrived.
 * local_err: -errno from writing the body, 0 when none. */
enum fm_verdict fm_classify(CURLcode rc, long http_status, int local_err);

#endif
