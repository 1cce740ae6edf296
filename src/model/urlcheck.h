/* urlcheck.h - which agent URLs colony accepts (shared/api/vectors.md §3.6): http(s) only, a well-formed host, no
 * credentials, and an address the outbound policy (base/netaddr.h) lets colony dial, whatever its spelling.
 *
 * A host name is judged by its form only: resolving it here would block an event loop, and what it resolves to
 * at registration says nothing about what it resolves to later. The HTTP client judges every address a name
 * resolves to when it dials (http/client.c), so a name that leads to a refused address is never sent to. */
#ifndef COLONY_MODEL_URLCHECK_H
#define COLONY_MODEL_URLCHECK_H

#include "base/error.h"

enum { URL_MAX_LEN = 2048 };

/* CL_OK, or CL_INVALID with the reason ("unsupported scheme", "address 127.0.0.1 is in a blocked range
 * (loopback)"…). A refusal by the address policy is counted in colony_outbound_refused_total{stage="url"}. */
cl_err url_check_agent(const char *url, cl_error *err);

/* A URL stored but never dialled (a poll-mode workspace's placeholder, e.g. remote://no-inbound): bounded,
 * printable ASCII, nothing more (the reference stores it as given). */
cl_err url_check_placeholder(const char *url, cl_error *err);

#endif
