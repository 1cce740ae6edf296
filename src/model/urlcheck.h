/* urlcheck.h - which agent URLs colony accepts (shared/api/vectors.md §3.6): http(s) only, and never an address
 * literal in a loopback, link-local/metadata, private, or documentation range. A host name must resolve. */
#ifndef COLONY_MODEL_URLCHECK_H
#define COLONY_MODEL_URLCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

enum { URL_MAX_LEN = 2048 };

/* The register-time check: url_check_agent_form, then the host name (if not an address literal) must resolve.
 * On refusal, CL_INVALID with the reason ("unsupported scheme", "address … is in a blocked range"…). */
cl_err url_check_agent(const char *url, cl_error *err);
/* Everything but resolution: scheme, shape, port, no credentials, no blocked address literal. The host goes to
 * `host` (hostcap bytes) and *literal says whether it is an address. */
cl_err url_check_agent_form(const char *url, char *host, size_t hostcap, bool *literal, cl_error *err);
/* The send-time check: url_check_agent_form alone (no resolution, which would block an event loop; the address
 * actually reached is checked by the HTTP client once connected). */
cl_err url_check_outbound(const char *url, cl_error *err);
/* True when the IP literal `host` (IPv4, or IPv6 without brackets) lies in a range agents may not use. */
bool url_ip_blocked(const char *host);

#endif
