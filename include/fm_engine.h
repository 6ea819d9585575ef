/* fm_engine.h: one libcurl multi handle driven by one libuv loop.
 *
 * The engine knows nothing of entries, files or policy: it runs the easy
 * handles it is given and reports each one's end through a callback. */
#ifndef FM_ENGINE_H
#define FM_ENGINE_H

#include <curl/curl.h>

struct uv_loop_s;
struct fm_engine;

/* Called once per finished transfer, after the easy handle has left the
 * multi handle; the callee may add new handles from here. */
typedef void (*fm_engine_done_cb)(void *arg, CURL *easy, CURLcode result);

/* Called when libcurl starts (on) or stops watching socket s for easy
 * (NULL or another handle of libcurl's own during clean-up). libcurl
 * names one transfer per change of a socket's watch: of transfers
 * multiplexed on one connection, only one may hear of it. */
typedef void (*fm_engine_socket_cb)(void *arg, CURL *easy, curl_socket_t s,
				    int on);

/* Creates an engine on loop. Returns NULL when out of memory or when
 * libcurl refuses the multi handle. maxconnects sizes the connection
 * cache (0: libcurl's default). */
struct fm_engine *fm_engine_new(struct uv_loop_s *loop, fm_engine_done_cb done,
				void *arg, long maxconnects);

/* Resizes the connection cache: n connections at most, in use or idle
 * (the oldest idle one is closed to make room). */
void fm_engine_max_connects(struct fm_engine *e, long n);

/* Asks for cb (with the done callback's arg) on every socket libcurl
 * starts or stops watching. */
void fm_engine_on_socket(struct fm_engine *e, fm_engine_socket_cb cb);

/* Starts running easy. Returns 0 or FM_E_CURL. */
int fm_engine_add(struct fm_engine *e, CURL *easy);

/* Stops easy before its end; its done callback is not called. */
void fm_engine_remove(struct fm_engine *e, CURL *easy);

/* Lets libcurl start what it was just given (handles added since the
 * last call) now rather than at the next loop pass. Call it from a libuv
 * callback, never from a libcurl one. */
void fm_engine_flush(struct fm_engine *e);

/* Returns the multi handle, for options that belong there. */
CURLM *fm_engine_multi(struct fm_engine *e);

/* Cleans up the multi handle and closes the engine's libuv handles. All
 * easy handles must have been removed first. The engine's memory is
 * freed once the loop has run the close callbacks (run it once more). */
void fm_engine_close(struct fm_engine *e);

#endif
