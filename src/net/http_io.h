/*
 * http_io.h - the HTTP/1.1 server of UDA 1.1 sections 2-4 (descriptions,
 * SOAP control, GENA subscriptions): igdd's own, on the LANs' addresses only,
 * run by the loop, requests parsed by proto/http.c. Every request is
 * turned into a struct http_request and answered by httpd_handle()
 * (svc/httpd.h); this file does sockets and limits, nothing else.
 */
#ifndef IGDD_HTTP_IO_H
#define IGDD_HTTP_IO_H

struct engine;
struct loop;
struct http_io;

/*
 * Listen on every LAN address (http_io_sync()), port e->cfg->http_port
 * (0: any free port, the same for every address), with the connection
 * limits of the configuration; store the port actually bound in
 * e->http_port; register with l. e and l must outlive the returned
 * object. Returns NULL (and logs why) when no address can be listened
 * on although there are some (none yet is fine: they come later).
 */
struct http_io *http_io_new(struct engine *e, struct loop *l);

/*
 * The LANs' addresses changed (net/lanwatch.h): close the listeners of
 * addresses gone, open one for each new address (at e->http_port).
 * Connections already open stay. The number opened, or -EADDRNOTAVAIL
 * when every address failed and none is listened on.
 */
int http_io_sync(struct http_io *h);

/* Listening sockets open now. */
unsigned http_io_listeners(const struct http_io *h);

/* Close every connection and the listening socket, free. NULL is a no-op. */
void http_io_free(struct http_io *h);

#endif
