/* xfer_body.h: the seam between xfer.c (an attempt and its request) and
 * body.c (the response body); private to those two files.
 *
 * Both halves of a transfer (struct fm_xfer, fm_xfer.h) run on the
 * thread of the worker that holds its slot, one callback at a time. What
 * each side writes of it:
 * - xfer.c sets every field up (fm_xfer_init()), resets it for each
 *   attempt (fm_xfer_begin()) and frees it (fm_xfer_cleanup()). In
 *   between it alone writes the easy handle and the request (headers,
 *   conditional, resume_from when asking a Range), what the connection
 *   callbacks learn (resp, requests, requested, peer_ip, peer_port,
 *   local_port, sock_err, curl_retried) and the error buffer; it
 *   prepares the sink before the request (directories, -n) and releases
 *   or aborts it once the verdict is known.
 * - body.c writes, from the first 2xx byte to the commit: the sink while
 *   the body is open (open, write, commit), hash and hashing, body_bytes,
 *   paused (for the worker's --limit-rate timer), resume_from back to 0
 *   when a 200 answers a Range, and of the job its relpath and path (a
 *   server-given name) and no_resume.
 * - Either side stops an attempt the same way: a -errno in x->local_err,
 *   or our own reason in x->stop, with its words (if it has any) through
 *   fm_xfer_note_stop(), the one writer of x->fail_why. Every callback
 *   counts as life for the stall clock (last_rx).
 * - The worker that holds the slot (worker.c) writes the rest: bucket,
 *   sock and fresh, and clears paused when it resumes the transfer. */
#ifndef FM_XFER_BODY_H
#define FM_XFER_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "fm_policy.h"
#include "fm_xfer.h"

/* Extended attributes of a file or its .part: the validators that body.c
 * saves beside a body and xfer.c sends back (-N's If-None-Match, -c's
 * If-Range). */
#define ATTR_ETAG "user.etag"
#define ATTR_LAST_MODIFIED "user.last_modified"

/* Records our own reason to stop x's attempt, and its words (printf
 * format); a later call replaces both. What it means is fm_judge()'s.
 * In xfer.c. */
__attribute__((format(printf, 3, 4))) void
fm_xfer_note_stop(struct fm_xfer *x, enum fm_stop stop, const char *fmt, ...);

/* The CURLOPT_WRITEFUNCTION of every transfer, data its struct fm_xfer:
 * paces the bytes under --limit-rate, opens the body at the first 2xx
 * byte (resume check, server-given name, digest), writes and hashes it.
 * Returns nmemb bytes taken, CURL_WRITEFUNC_PAUSE, or 0 to stop the
 * transfer: x->stop or x->local_err says why. In body.c. */
size_t fm_body_on_curl_write(char *ptr, size_t size, size_t nmemb,
			     void *data);

/* The body of x's attempt is complete: opens it if it was empty, checks
 * its digests and moves it over NAME; sets o's bytes, got and status.
 * Returns true when committed; false when not: x->stop or x->local_err
 * says why. In body.c. */
bool fm_body_commit(struct fm_xfer *x, struct fm_outcome *o);

/* A 416 answered x's attempt: when a Range was asked and the .part holds
 * the whole body already, commits it (fm_body_commit()); else the .part
 * goes and the next attempt starts from zero (x->stop says so). Returns
 * true when committed; false when no Range was asked, or when not
 * committed. In body.c. */
bool fm_body_range_not_satisfiable(struct fm_xfer *x, struct fm_outcome *o);

/* The Last-Modified of x's response as a time (the file's mtime), or
 * -1. In body.c. */
int64_t fm_body_mtime(const struct fm_xfer *x);

/* Cuts the body of x's first response (a 200, its file just opened) if
 * it is large enough and has a validator (fm_split.h): x then fetches
 * the first segment, and job->split is set. Returns 0 (cut or not) or
 * -errno. In segment.c. */
int fm_seg_cut(struct fm_xfer *x, long code);

/* Goes on with a cut body's .part resumed under -c (x->resume_done, its
 * file just opened in place, a 206 for its first gap): x fetches that
 * gap, and job->split is set, the other gaps waiting for transfers of
 * their own. Returns 0 or -errno. In segment.c. */
int fm_seg_resume(struct fm_xfer *x);

/* --check's part of the write callback: an error page's bytes and a
 * 206's one byte are let through, unread; a whole body (a 200 to the
 * ranged GET) stops the transfer at once (x->check_stopped). In xfer.c. */
size_t fm_check_on_write(struct fm_xfer *x, size_t n);

/* Writes out what x->seg_buf holds of its segment. Returns what
 * fm_split_write() does (FM_SPLIT_MORE when it held nothing). In
 * segment.c. */
int fm_seg_flush(struct fm_xfer *x);

/* Whether the scheduler asked x's segment to give its slot up (x->yield):
 * then what is gathered is written and the transfer stops, its segment
 * left whole for later (x->seg_stopped). In segment.c. */
bool fm_seg_yielding(struct fm_xfer *x);

/* The write callback's part for a segment (x->segmented): checks the
 * answer at its first byte, then writes in place. Returns what
 * fm_body_on_curl_write() returns. In segment.c. */
size_t fm_seg_on_write(struct fm_xfer *x, char *ptr, size_t n);

#endif
