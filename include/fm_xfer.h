/* fm_xfer.h: one attempt at a job (fm_job.h): a transfer.
 *
 * A transfer (struct fm_xfer) owns one reusable easy handle, so
 * connections and option setup carry over from one job to the next; the
 * worker's slot (worker.h) that holds it keeps it for good. Two files
 * implement it: xfer.c the attempt and its request, body.c the response
 * body; src/xfer_body.h says which fields each writes. */
#ifndef FM_XFER_H
#define FM_XFER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "fm_claims.h"
#include "fm_digest.h"
#include "fm_headers.h"
#include "fm_job.h"
#include "fm_list.h"
#include "fm_policy.h"
#include "fm_rate.h"
#include "fm_result.h"
#include "fm_sink.h"
#include "fm_split.h"

/* Settings shared by every transfer. */
struct fm_xfer_conf {
	const char *user_agent;
	long connect_timeout_ms; /* 0: none */
	long timeout_ms;         /* whole attempt; 0: none */
	const char *output_dir;  /* as reported; NULL without -o */
	bool resume;             /* -c */
	bool parts;              /* NAME.part names are in use (claims) */
	bool no_clobber;         /* -n */
	bool timestamping;       /* -N */
	bool sha256_all;         /* --sha256 */
	bool content_disposition; /* --content-disposition */
	struct fm_claims *claims; /* for server-given names */
	pthread_mutex_t *claims_lock; /* claims are shared between threads */
	long max_redirs;
	const struct fm_retry_on *retry_on; /* --retry-on */
	const char *const *headers; /* -H, in order */
	int nheaders;
	bool netrc;              /* --netrc or --netrc-file */
	const char *netrc_file;
	const char *cacert;
	bool insecure;
	bool https_only;         /* no http:, redirects included */
	const char *proxy;       /* NULL: libcurl reads the environment */
	bool cookies;            /* the cookie engine, on the share's jar */
	bool fsync;              /* bodies flushed before they are named */
	bool xattr;              /* user.xdg.origin.url on each file */
	bool check;              /* --check: ask, write nothing */
	const char *noproxy;
	uint64_t max_filesize;   /* 0: none */
	bool compressed;
	unsigned split;          /* --split: 1 never cuts a body */
	uint64_t min_split;      /* --min-split-size */
	long buffer_size;        /* libcurl's receive buffer per transfer */
	CURLSH *share;           /* TLS sessions and DNS (fm_share.h) */
};

struct fm_xfer {
	CURL *easy;
	const struct fm_xfer_conf *conf;
	struct fm_job *job;
	struct fm_sink sink;
	struct fm_resp resp;     /* headers of the latest response */
	struct fm_hasher hash;   /* contexts made on first use, then reused */
	bool hashing;            /* hash holds this attempt's digests */
	struct curl_slist *headers; /* this attempt's request headers */
	int64_t resume_from;     /* > 0: a Range was asked from here */
	struct fm_range *resume_done; /* -c, a .part of a cut body: what it
				    holds (malloc'd), or NULL */
	unsigned resume_n;       /* how many ranges */
	uint64_t resume_size;    /* the body's size it recorded */
	bool conditional;        /* -N sent If-Modified-Since/None-Match */
	bool paused;             /* waiting for --limit-rate tokens */
	struct fm_bucket *bucket; /* --limit-rate: its worker's; NULL: none */
	int local_err;           /* -errno from the sink during this attempt */
	int sock_err;            /* -errno of a socket() that failed */
	enum fm_stop stop;       /* our own reason to stop the transfer,
				    FM_STOP_NONE when none */
	char *fail_why;          /* what fm_xfer_note_stop() said, or NULL;
				    held until the next attempt */
	unsigned requests;       /* sent by this attempt, redirects and
				    libcurl's own retries included */
	bool curl_retried;       /* libcurl retried a request on another
				    connection: reset the handle */
	bool fresh;              /* this attempt must not reuse a
				    connection (see fm_retry_fresh()) */
	uint64_t t_start;  /* when the attempt began (ns, CLOCK_MONOTONIC) */
	uint64_t last_rx;  /* when a byte last arrived (ns, CLOCK_MONOTONIC) */
	bool requested;    /* the request is out: set-up is over, and the
			      stall clock runs (CURLOPT_PREREQFUNCTION) */
	int sock;          /* the socket libcurl last watched for it, or -1
			      (set by its worker) */
	char peer_ip[48];  /* its connection, as CURLOPT_PREREQFUNCTION */
	int peer_port;     /* tells: transfers sharing one (HTTP/2) have */
	int local_port;    /* all three equal */
	atomic_uint_least64_t body_bytes; /* sink.bytes, for the live line */
	void (*on_answer)(struct fm_xfer *x); /* or NULL: called at the
				    response's first header line, then
				    cleared (set by its worker) */
	void (*on_split)(struct fm_xfer *x); /* called when its body is
				    cut (job->split set; by its worker) */
	/* Of a job whose body is cut (fm_split.h; segment.c): */
	bool segmented;          /* this attempt fetches a segment */
	struct fm_seg *seg;      /* that segment (set by the scheduler, or
				    by the first transfer when it cuts);
				    NULL once it has nothing to do */
	bool seg_probe;          /* seg is the split's probe */
	bool seg_open;           /* its answer was checked: bytes go in */
	bool seg_stopped;        /* stopped because another failed, or
				    yielding */
	bool check_stopped;      /* --check: the body was not read on */
	atomic_bool yield;       /* the scheduler wants the slot for an
				    entry that waits: a segment (not the
				    first, nor a probe) stops at its next
				    byte, keeping what it wrote; set by the
				    scheduler only, cleared when it hands the
				    slot over */
	bool seg_restart;        /* the body changed on the server: the
				    entry starts again */
	uint64_t seg_from;       /* the first byte its request asked */
	uint64_t seg_bytes;      /* taken by this attempt */
	char *seg_buf;           /* gathers its pieces of one read for one
				    pwrite (buffer_size bytes, made at the
				    slot's first segment, kept) */
	size_t seg_len;          /* bytes in it */
	char errbuf[CURL_ERROR_SIZE];
};

/* What an attempt at a segment (xfer.seg) came to; for the entry, when
 * its body is cut, only FM_PIECE_WHOLE says more. */
enum fm_piece {
	FM_PIECE_NONE,    /* not a segment: the outcome is the entry's */
	FM_PIECE_DONE,    /* the segment is complete, or had nothing left */
	FM_PIECE_FAILED,  /* it failed: with retry, what it did not fetch
			     waits, free, for the scheduler to say when */
	FM_PIECE_RESTART, /* the body changed on the server: the entry
			     starts again from zero (retry says whether
			     it may) */
	FM_PIECE_WHOLE,   /* the body is complete and named, or failed
			     its digest: the outcome is the entry's */
};

/* Room for an attempt's error: a digest mismatch quotes two SHA-512
 * digests (fm_digest_compare()), longer than a list line's reason. */
#define FM_ERROR_MAX (FM_DIGEST_WHY_MAX > FM_WHY_MAX ? FM_DIGEST_WHY_MAX \
						     : FM_WHY_MAX)

/* What an attempt came to. */
struct fm_outcome {
	enum fm_piece piece;
	enum fm_status status;
	bool retry;        /* transient: the caller may try again */
	bool drop_url;     /* failed for good, by the URL's fault: another
			      URL of the entry may do better (fm_judge()) */
	bool no_fd;        /* for want of a descriptor (EMFILE, ENFILE): the
			      caller may delay it, not counted as an attempt */
	long http_status;  /* 0: no response */
	uint64_t bytes;    /* size of the file now on disk, when ok */
	double retry_after; /* Retry-After in seconds, < 0 when absent */
	uint32_t answered_site; /* with answered_known: the hash of the host
				   whose answer gave retry_after (after a
				   redirect, not the entry's) */
	bool answered_known;
	bool reused;       /* the attempt made no new connection */
	bool multiplexed;  /* its last response came over HTTP/2 or later */
	bool retry_fresh;  /* go again at once on a new connection, as the
			      same attempt (fm_retry_fresh()) */
	bool not_counted;  /* no request left (-n found NAME): not one of
			      the entry's attempts (fm_judge()) */
	bool again;        /* --check: HEAD refused; the same attempt goes
			      again at once as a ranged GET */
	bool size_unknown; /* --check: bytes is no announced size */
	struct fm_digests got; /* computed digests, "" where not computed */
	char error[FM_ERROR_MAX];
};

/* Creates the easy handle of transfer x (zeroed, or cleaned up) with the
 * shared settings, which must outlive it. Returns 0 or FM_E_CURL. */
int fm_xfer_init(struct fm_xfer *x, const struct fm_xfer_conf *conf);

/* What fm_xfer_begin() came to. */
enum fm_begin {
	FM_BEGIN_RUN,     /* the transfer is ready: hand x->easy to libcurl */
	FM_BEGIN_SKIPPED, /* -n found NAME: done without network, o says so */
	FM_BEGIN_FAILED,  /* the destination or the request could not be
			     prepared: done without network, o says why */
};

/* Points slot x at job (x->fresh: on a new connection): prepares the destination under rootfd and sets up
 * the request. Returns FM_BEGIN_RUN when the transfer is ready to run;
 * otherwise the job is finished without network access and o holds its
 * outcome. */
enum fm_begin fm_xfer_begin(struct fm_xfer *x, struct fm_job *job, int rootfd,
			    struct fm_outcome *o);

/* Ends the attempt that libcurl finished with rc: commits the body (rename
 * over NAME) or discards the .part, and fills o. */
void fm_xfer_end(struct fm_xfer *x, CURLcode rc, struct fm_outcome *o);

/* Ends an attempt that we stopped ourselves for stop (the easy handle
 * must already be out of the multi handle), as if libcurl had ended it
 * with rc, with why as its error. */
void fm_xfer_stop(struct fm_xfer *x, enum fm_stop stop, CURLcode rc,
		  const char *why, struct fm_outcome *o);

/* Abandons a running attempt without a verdict (the easy handle must
 * already be out of the multi handle): the .part is removed. */
void fm_xfer_abandon(struct fm_xfer *x);

/* Frees the easy handle and the digest contexts. */
void fm_xfer_cleanup(struct fm_xfer *x);

/* CLOCK_MONOTONIC now, in nanoseconds (the clock of uv_hrtime()). */
uint64_t fm_now_ns(void);

#endif
