/* connection.c - see connection.h. The snippet texts are colony's own (the contract names the keys and the
 * placeholders, not the words); every value put into them is of a known alphabet (a UUID, a slug, a URL checked by
 * the caller, a token), so nothing pasted into a shell or a config file can break out of its quotes. */
#include "model/connection.h"

#include <string.h>

#include "base/buf.h"
#include "base/json.h"

const char *conn_mcp_server_name(arena_t *a, const char *name, const char *id)
{
    char slug[CONN_SLUG_MAX + 1];
    size_t n = 0;
    bool dash = false;
    for (const char *p = name ? name : ""; *p && n < CONN_SLUG_MAX; p++) {
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0)
                slug[n++] = '-';
            if (n < CONN_SLUG_MAX)
                slug[n++] = c;
            dash = false;
        } else {
            dash = true; /* a run of anything else (bytes of a non-ASCII letter included) is one '-', later */
        }
    }
    while (n > 0 && slug[n - 1] == '-') /* a cut after a run leaves it at the end */
        n--;
    slug[n] = '\0';
    if (n == 0) { /* nothing usable in the name: the id's first 8 characters, hyphens left out */
        for (const char *p = id ? id : ""; *p && n < 8; p++)
            if (*p != '-')
                slug[n++] = *p;
        slug[n] = '\0';
    }
    return arena_sprintf(a, "molecule-%s", slug);
}

enum { SNIPPET_MAX = 16 * 1024 }; /* a rendered snippet: a few hundred bytes of text and values of bounded length */

/* The wrapper's three settings, one a line: indent, key (quoted by kq), separator, value (quoted), line end. */
#define ENV_LINES(indent, kq, sep, quote, end)                                                                     \
    indent kq "MOLECULE_PLATFORM_URL" kq sep quote "{{PLATFORM_URL}}" quote end                                    \
    indent kq "MOLECULE_WORKSPACE_ID" kq sep quote "{{WORKSPACE_ID}}" quote end                                    \
    indent kq "MOLECULE_WORKSPACE_TOKEN" kq sep quote "{{AUTH_TOKEN}}" quote

/* An MCP client configuration in the common "mcpServers" JSON shape. */
#define MCP_SERVERS_JSON                                                                                           \
    "{\n  \"mcpServers\": {\n    \"{{MCP_SERVER_NAME}}\": {\n      \"command\": \"molecule-mcp\",\n"               \
    "      \"env\": {\n" ENV_LINES("        ", "\"", ": ", "\"", ",\n") "\n      }\n    }\n  }\n}\n"

static const struct {
    const char *key, *text;
} SNIPPETS[] = {
    {"curl_register_template",
     "export MOLECULE_WORKSPACE_TOKEN='{{AUTH_TOKEN}}'\n"
     "curl -sS -X POST '{{PLATFORM_URL}}/registry/register' \\\n"
     "  -H \"Authorization: Bearer $MOLECULE_WORKSPACE_TOKEN\" -H 'Content-Type: application/json' \\\n"
     "  -d '{\"id\": \"{{WORKSPACE_ID}}\", \"url\": \"remote://no-inbound\", \"delivery_mode\": \"poll\","
     " \"agent_card\": {\"name\": \"{{MCP_SERVER_NAME}}\"}}'\n"
     "# then every 20 s: POST {{PLATFORM_URL}}/registry/heartbeat {\"workspace_id\": \"{{WORKSPACE_ID}}\"}\n"},
    {"python_snippet",
     "# The molecule-mcp wrapper registers the workspace, heartbeats every 20 s and serves colony's tools.\n"
     "import os, subprocess\n\n"
     "env = dict(os.environ,\n" ENV_LINES("           ", "", "=", "\"", ",\n") ")\n"
     "subprocess.run([\"molecule-mcp\"], env=env, check=True)\n"},
    {"claude_code_channel_snippet",
     "claude mcp add {{MCP_SERVER_NAME}} \\\n" ENV_LINES("  -e ", "", "=", "'", " \\\n") " \\\n  -- molecule-mcp\n"},
    {"universal_mcp_snippet", MCP_SERVERS_JSON},
    {"hermes_channel_snippet",
     "# ~/.hermes/config.yaml\nmcp_servers:\n  {{MCP_SERVER_NAME}}:\n    command: molecule-mcp\n    env:\n"
     ENV_LINES("      ", "", ": ", "\"", "\n") "\n"},
    {"codex_snippet",
     "# ~/.codex/config.toml\n[mcp_servers.{{MCP_SERVER_NAME}}]\ncommand = \"molecule-mcp\"\n\n"
     "[mcp_servers.{{MCP_SERVER_NAME}}.env]\n" ENV_LINES("", "", " = ", "\"", "\n") "\n"},
    {"openclaw_snippet", "# openclaw: add to the MCP servers of your agent's configuration\n" MCP_SERVERS_JSON},
    {"kimi_snippet", "# kimi --mcp-config-file molecule-mcp.json, with molecule-mcp.json:\n" MCP_SERVERS_JSON},
};

/* `t` with each {{NAME}} of names[] replaced by values[] (others are left as they are). */
static const char *render(arena_t *a, const char *t, const char *const *names, const char *const *values, size_t n)
{
    buf_t b = BUF_INIT(SNIPPET_MAX);
    while (*t) {
        size_t i = n;
        if (t[0] == '{' && t[1] == '{')
            for (i = 0; i < n && strncmp(t + 2, names[i], strlen(names[i])) != 0; i++)
                ;
        if (i < n && strncmp(t + 2 + strlen(names[i]), "}}", 2) == 0) {
            buf_append(&b, values[i], strlen(values[i]));
            t += 4 + strlen(names[i]);
        } else {
            buf_append(&b, t, 1);
            t++;
        }
    }
    const char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

json_t *conn_connection(arena_t *a, const char *platform_url, const char *workspace_id, const char *name,
                        const char *auth_token)
{
    const char *names[] = {"PLATFORM_URL", "WORKSPACE_ID", "MCP_SERVER_NAME", "AUTH_TOKEN"};
    const char *values[] = {platform_url, workspace_id, conn_mcp_server_name(a, name, workspace_id),
                            auth_token && *auth_token ? auth_token : "<workspace token>"};
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s}", "workspace_id", workspace_id, "platform_url", platform_url,
                          "auth_token", auth_token ? auth_token : "", "registry_endpoint",
                          arena_sprintf(a, "%s/registry/register", platform_url), "heartbeat_endpoint",
                          arena_sprintf(a, "%s/registry/heartbeat", platform_url));
    for (size_t i = 0; i < sizeof(SNIPPETS) / sizeof(SNIPPETS[0]); i++)
        json_object_set_new(c, SNIPPETS[i].key, json_string(render(a, SNIPPETS[i].text, names, values, 4)));
    return c;
}
