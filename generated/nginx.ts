import { isIP } from "node:net";

import { serviceUrl, services } from "../services";
import { parseHttpUpstream } from "./upstreamUrl";

/**
 * Inputs of the public proxy's `nginx.conf`.
 *
 * The file paths default to the `nginxinc/nginx-unprivileged` image (nginx
 * runs as uid 101, so the pid file and temp files live under /tmp and logs go
 * to the container's stdout/stderr). Tests point them at a temp dir so the
 * same file runs as root or non-root.
 */
export interface NginxConfigInput {
    /** Port Nginx listens on. Default: the public proxy port from services.ts (8080). */
    readonly listenPort?: number;
    /** Address Nginx binds, e.g. `127.0.0.1` in loopback tests. Default: all addresses. */
    readonly listenAddress?: string;
    /** Web app upstream as `http://host:port`. Default: `http://web:3000` from services.ts. */
    readonly webUpstream?: string;
    /** API upstream as `http://host:port`. Default: `http://api:8000` from services.ts. */
    readonly apiUpstream?: string;
    /**
     * DNS servers Nginx re-resolves the upstream names with, e.g. `["127.0.0.11"]`
     * (Docker's embedded DNS). Required when an upstream host is a name, and
     * omitted when both upstreams are IP literals.
     */
    readonly resolvers?: readonly string[];
    /** Seconds Nginx caches a resolved upstream address. Default: 10. */
    readonly resolverValidSeconds?: number;
    /** Request header the API's development shim reads the user from, e.g. `X-NetOS-User`. */
    readonly apiUserHeader: string;
    /** Request header the API's development shim reads the comma-separated roles from, e.g. `X-NetOS-Roles`. */
    readonly apiRolesHeader: string;
    /** Maximum request body size in Nginx size syntax (`25m`, `512k`). Default: `25m`. */
    readonly clientMaxBodySize?: string;
    /** Path of the pid file. Default: `/tmp/nginx.pid`. */
    readonly pidPath?: string;
    /** Directory for the client body and proxy temp files. Default: `/tmp`. */
    readonly tempDir?: string;
    /** Error log destination. Default: `/dev/stderr`. */
    readonly errorLogPath?: string;
    /** Access log destination. Default: `/dev/stdout`. */
    readonly accessLogPath?: string;
    /** Number of worker processes, or `auto`. Default: `auto`. */
    readonly workerProcesses?: number | "auto";
    /**
     * Source addresses or CIDRs Nginx accepts proxied requests from: the SSO
     * proxy's network in production. Every other peer gets 403. Default:
     * loopback only (`127.0.0.1/32`, `::1/128`), so a caller that forgets to
     * pass the SSO proxy's network fails closed instead of open.
     */
    readonly allowedSources?: readonly string[];
    /**
     * Public origin users browse to, e.g. `https://netos.xiberian.net`. When
     * set, `X-Forwarded-Proto` and `X-Forwarded-Host` are fixed to its scheme
     * and host. When omitted, they come from the request Nginx received, and
     * a forwarded scheme other than http or https is replaced by Nginx's own.
     */
    readonly publicOrigin?: string;
}

/** Sources Nginx accepts proxied requests from when `allowedSources` is omitted: loopback only. */
export const nginxDefaultAllowedSources: readonly string[] = ["127.0.0.1/32", "::1/128"];

/** Path of the health endpoint that Nginx answers itself, without proxying. */
export const nginxHealthPath = "/healthz";

/** Path the Swagger UI of the API is published under. */
export const docsApiPath = "/docs-api/";

const headerNamePattern = /^[A-Za-z0-9-]+$/;

// Headers that carry the request itself, or that Nginx, OAuth2-Proxy or
// cloudflared set: an identity header with one of these names would overwrite
// them or be overwritten.
const reservedHeaderNames = ["host", "authorization", "cookie", "content-length", "connection", "transfer-encoding", "forwarded", "x-real-ip"];
const reservedHeaderPrefixes = ["x-forwarded-", "x-auth-request-"];

/**
 * Returns why a header name cannot carry the api's user or roles, or
 * `undefined` when it can: it must be letters, digits and hyphens, and not a
 * header the proxies or HTTP itself use (compared case-insensitively).
 */
export function checkIdentityHeaderName(name: string): string | undefined {
    if (!headerNamePattern.test(name)) {
        return "must be an HTTP header name of letters, digits and hyphens";
    }
    const lower = name.toLowerCase();
    if (reservedHeaderNames.includes(lower) || reservedHeaderPrefixes.some((prefix) => lower.startsWith(prefix))) {
        return "must not be Host, Authorization, Cookie, Content-Length, Connection, Transfer-Encoding, Forwarded, X-Real-IP or an X-Forwarded-* or X-Auth-Request-* header, because HTTP or the proxies use those";
    }
    return undefined;
}
const sizePattern = /^[0-9]+[kKmMgG]?$/;
// Characters that would end or extend an Nginx directive if they reached the file.
const unsafePathPattern = /[\s"'\\;{}$#]/;

/**
 * Renders a complete `nginx.conf` (main context included) for the public proxy.
 *
 * Routes `/` to the web app, `/api/` and `/openapi.json` to the API, and
 * `/docs-api/` to FastAPI's Swagger UI at the API's `/docs`. Nginx answers
 * `/healthz` itself. Works on Nginx 1.22 and later.
 *
 * Throws one error listing every invalid input.
 */
export function renderNginxConfig(input: NginxConfigInput): string {
    const listenPort = input.listenPort ?? services.publicProxy.port;
    const webUpstream = input.webUpstream ?? serviceUrl("web");
    const apiUpstream = input.apiUpstream ?? serviceUrl("api");
    const resolvers = input.resolvers ?? [];
    const resolverValidSeconds = input.resolverValidSeconds ?? 10;
    const clientMaxBodySize = input.clientMaxBodySize ?? "25m";
    const pidPath = input.pidPath ?? "/tmp/nginx.pid";
    const tempDir = (input.tempDir ?? "/tmp").replace(/\/+$/, "");
    const errorLogPath = input.errorLogPath ?? "/dev/stderr";
    const accessLogPath = input.accessLogPath ?? "/dev/stdout";
    const workerProcesses = input.workerProcesses ?? "auto";
    const allowedSources = input.allowedSources ?? nginxDefaultAllowedSources;

    const problems: string[] = [];
    const check = (ok: boolean, message: string): void => {
        if (!ok) {
            problems.push(message);
        }
    };

    check(Number.isInteger(listenPort) && listenPort > 0 && listenPort < 65536, `listenPort must be an integer from 1 to 65535 (received ${listenPort}).`);
    check(input.listenAddress === undefined || isIP(input.listenAddress) !== 0, `listenAddress must be an IP address such as 127.0.0.1 (received "${input.listenAddress}").`);
    for (const [name, value] of Object.entries({ apiUserHeader: input.apiUserHeader, apiRolesHeader: input.apiRolesHeader })) {
        const rule = checkIdentityHeaderName(value);
        check(rule === undefined, `${name} ${rule} (received "${value}").`);
    }
    check(input.apiUserHeader.toLowerCase() !== input.apiRolesHeader.toLowerCase(), `apiUserHeader and apiRolesHeader must differ (both are "${input.apiUserHeader}").`);
    check(sizePattern.test(clientMaxBodySize), `clientMaxBodySize must be a size such as 25m or 512k (received "${clientMaxBodySize}").`);
    check(Number.isInteger(resolverValidSeconds) && resolverValidSeconds > 0, `resolverValidSeconds must be a positive integer (received ${resolverValidSeconds}).`);
    check(workerProcesses === "auto" || (Number.isInteger(workerProcesses) && workerProcesses > 0), `workerProcesses must be a positive integer or "auto" (received ${workerProcesses}).`);
    for (const resolver of resolvers) {
        check(isIP(resolver) !== 0, `resolvers must contain IP addresses such as 127.0.0.11 (received "${resolver}").`);
    }
    check(allowedSources.length > 0, "allowedSources must list at least one address or CIDR, such as the SSO proxy's network 10.213.8.0/24.");
    for (const source of allowedSources) {
        check(isAddressOrCidr(source) && !isAllAddresses(source), `allowedSources must contain IP addresses or CIDRs narrower than all addresses, such as 10.213.8.0/24 (received "${source}").`);
    }
    const origin = parsePublicOrigin(input.publicOrigin);
    if (typeof origin === "string") {
        problems.push(origin);
    }
    for (const [name, value] of Object.entries({ pidPath, tempDir, errorLogPath, accessLogPath })) {
        check(value.startsWith("/") && !unsafePathPattern.test(value), `${name} must be an absolute path without spaces, quotes or ; { } $ # characters (received "${value}").`);
    }

    const upstreams: Record<string, string> = {};
    for (const [name, value] of Object.entries({ webUpstream, apiUpstream })) {
        try {
            const parsed = parseHttpUpstream(name, value);
            upstreams[name] = parsed.authority;
            check(parsed.isIpLiteral || resolvers.length > 0, `${name} "${value}" names a host, so resolvers must list a DNS server (e.g. ["127.0.0.11"] for Docker); only IP literal upstreams work without one.`);
        } catch (error) {
            problems.push((error as Error).message);
        }
    }

    if (problems.length > 0) {
        throw new Error(`Invalid Nginx configuration input:\n- ${problems.join("\n- ")}`);
    }

    const listen = input.listenAddress === undefined
        ? `${listenPort}`
        : `${isIP(input.listenAddress) === 6 ? `[${input.listenAddress}]` : input.listenAddress}:${listenPort}`;

    const resolverLines = resolvers.length === 0
        ? ["    # No resolver: both upstreams are IP literals, so nothing needs re-resolving."]
        : [
            "    # Re-resolve web and api every few seconds, so a replaced container's new",
            "    # address is used and a removed one is dropped. Docker's DNS is on 127.0.0.11.",
            `    resolver ${resolvers.map((r) => (isIP(r) === 6 ? `[${r}]` : r)).join(" ")} valid=${resolverValidSeconds}s ipv6=off;`,
            "    resolver_timeout 5s;",
        ];

    const forwarded = origin === undefined || typeof origin === "string"
        ? { proto: "$netos_forwarded_proto", host: "$host" }
        : { proto: origin.scheme, host: origin.host };
    const webHeaders = proxyHeaders(input.apiUserHeader, input.apiRolesHeader, forwarded, { passAuthorization: false });
    const apiHeaders = proxyHeaders(input.apiUserHeader, input.apiRolesHeader, forwarded, { passAuthorization: true });
    const allowLines = allowedSources.map((source) => `        allow ${source};`);

    return [
        "# Generated by netos-infra (generated/nginx.ts). Do not edit by hand.",
        `worker_processes ${workerProcesses};`,
        `pid ${pidPath};`,
        `error_log ${errorLogPath} notice;`,
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        "    server_tokens off;",
        "    autoindex off;",
        "    default_type application/octet-stream;",
        `    access_log ${accessLogPath};`,
        "    # Redirects keep the path only, so Nginx never writes its own host or port.",
        "    absolute_redirect off;",
        "",
        `    client_body_temp_path ${tempDir}/client_temp;`,
        `    proxy_temp_path ${tempDir}/proxy_temp;`,
        `    fastcgi_temp_path ${tempDir}/fastcgi_temp;`,
        `    uwsgi_temp_path ${tempDir}/uwsgi_temp;`,
        `    scgi_temp_path ${tempDir}/scgi_temp;`,
        "",
        `    client_max_body_size ${clientMaxBodySize};`,
        "    # Entra ID tokens with many roles can exceed 8 KB and arrive in Authorization,",
        "    # so request and response header buffers are sized for 32 KB lines.",
        "    client_header_buffer_size 4k;",
        "    large_client_header_buffers 8 32k;",
        "    proxy_buffer_size 32k;",
        "    proxy_buffers 8 32k;",
        "    proxy_busy_buffers_size 64k;",
        "",
        ...resolverLines,
        "",
        "    # The user for the API's shim: the e-mail OAuth2-Proxy established, or the",
        "    # preferred username (UPN) when the account has no e-mail.",
        "    map $http_x_forwarded_email $netos_user {",
        "        \"\" $http_x_forwarded_preferred_username;",
        "        default $http_x_forwarded_email;",
        "    }",
        "",
        "    # Without a configured public origin: pass on the scheme the SSO proxy",
        "    # forwarded (https from cloudflared) rather than Nginx's own (http), but",
        "    # only http or https, so no other value reaches web or api.",
        "    map $http_x_forwarded_proto $netos_forwarded_proto {",
        "        http http;",
        "        https https;",
        "        default $scheme;",
        "    }",
        "",
        "    server {",
        `        listen ${listen};`,
        "        server_name _;",
        "",
        "        # Only the SSO proxy may send proxied requests: identity headers are",
        "        # trusted because they come from it, so web (or an SSRF in it) gets 403.",
        ...allowLines,
        "        deny all;",
        "",
        "        # Upstreams are variables, so Nginx resolves them per request. An",
        "        # upstream{} block would keep the first address until reload, and",
        "        # `server ... resolve` in it needs Nginx 1.27.3 or later.",
        "        # NOTE: without an upstream{} block there is no keepalive pool, so",
        "        # Nginx opens a new connection to web or api for every request.",
        `        set $netos_web ${upstreams["webUpstream"]};`,
        `        set $netos_api ${upstreams["apiUpstream"]};`,
        "",
        "        proxy_http_version 1.1;",
        "        proxy_connect_timeout 5s;",
        "        proxy_read_timeout 60s;",
        "        # While an old and a new container share an alias, DNS returns both,",
        "        # so a refused connection or a 502/503 from one is retried on the other.",
        "        # Requests with a non-idempotent method are retried only when nothing was sent.",
        "        proxy_next_upstream error timeout http_502 http_503;",
        "        proxy_next_upstream_tries 2;",
        "        proxy_next_upstream_timeout 10s;",
        "        proxy_hide_header X-Powered-By;",
        "",
        `        # Health check for the container: answered here, never proxied.`,
        `        location = ${nginxHealthPath} {`,
        "            # `return` runs before the access phase, so the allow list above does",
        "            # not apply: any peer learns only that Nginx is up.",
        "            access_log off;",
        "            default_type text/plain;",
        "            return 200 \"ok\\n\";",
        "        }",
        "",
        "        location / {",
        ...webHeaders,
        "            proxy_pass http://$netos_web;",
        "        }",
        "",
        "        location /api/ {",
        ...apiHeaders,
        "            proxy_pass http://$netos_api;",
        "        }",
        "",
        "        location = /openapi.json {",
        ...apiHeaders,
        "            proxy_pass http://$netos_api;",
        "        }",
        "",
        `        location = ${docsApiPath.replace(/\/$/, "")} {`,
        `            return 301 ${docsApiPath};`,
        "        }",
        "",
        "        # FastAPI serves Swagger UI at /docs. Its page fetches the schema from",
        "        # the absolute path /openapi.json (routed to the API above) and loads",
        "        # its scripts and styles from a CDN in the browser, so only the page",
        "        # itself is proxied here.",
        `        location = ${docsApiPath} {`,
        ...apiHeaders,
        "            proxy_pass http://$netos_api/docs;",
        "        }",
        "    }",
        "}",
        "",
    ].join("\n");
}

/**
 * Returns the `proxy_set_header` lines of one location. Every location repeats
 * them because a location with any `proxy_set_header` inherits none from the
 * server level.
 */
function proxyHeaders(
    userHeader: string,
    rolesHeader: string,
    forwarded: { proto: string; host: string },
    options: { passAuthorization: boolean },
): string[] {
    const indent = "            ";
    const lines = [
        "proxy_set_header Host $http_host;",
        "proxy_set_header Connection \"\";",
        // OAuth2-Proxy v7.15.6 copies client-sent Forwarded, X-Forwarded-Host and
        // X-Forwarded-Proto to its upstream unchanged, so Nginx replaces all three.
        `proxy_set_header X-Forwarded-Proto ${forwarded.proto};`,
        `proxy_set_header X-Forwarded-Host ${forwarded.host};`,
        "proxy_set_header Forwarded \"\";",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "# The client address OAuth2-Proxy logs: CF-Connecting-IP, which Cloudflare's",
        "# edge sets and cloudflared passes on. Nginx accepts only the SSO proxy,",
        "# which accepts only cloudflared, so no other sender can set it.",
        "proxy_set_header X-Real-IP $http_cf_connecting_ip;",
        "# Always set from OAuth2-Proxy's headers, so a client-sent value never",
        "# reaches web or api. An empty value drops the header.",
        // NOTE: the api's header shim trusts any peer on its network; the api should
        // verify the bearer ID token instead (issuer, audience, signature).
        `proxy_set_header ${userHeader} $netos_user;`,
        // OAuth2-Proxy v7.15.6 joins the roles into one X-Forwarded-Groups line,
        // so this passes all of them even on Nginx 1.22.
        `proxy_set_header ${rolesHeader} $http_x_forwarded_groups;`,
        "# OAuth2-Proxy replaces only the identity headers it sets itself, so drop",
        "# the X-Auth-Request-* and token headers a client could send.",
        "proxy_set_header X-Auth-Request-User \"\";",
        "proxy_set_header X-Auth-Request-Email \"\";",
        "proxy_set_header X-Auth-Request-Preferred-Username \"\";",
        "proxy_set_header X-Auth-Request-Groups \"\";",
        "proxy_set_header X-Auth-Request-Access-Token \"\";",
        "proxy_set_header X-Forwarded-Access-Token \"\";",
    ];
    if (!options.passAuthorization) {
        lines.push("# The web app gets no bearer token: it has no use for the ID token.");
        lines.push("proxy_set_header Authorization \"\";");
    }
    return lines.map((line) => indent + line);
}

/** Returns whether a value is an IP address or an IP CIDR such as `10.213.8.0/24`. */
function isAddressOrCidr(value: string): boolean {
    const [address, prefix, ...rest] = value.split("/");
    const version = isIP(address ?? "");
    if (version === 0 || rest.length > 0) {
        return false;
    }
    if (prefix === undefined) {
        return true;
    }
    const bits = Number(prefix);
    return /^[0-9]{1,3}$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}

/** Returns whether a CIDR covers every address (`/0`), which would let any peer in. */
function isAllAddresses(value: string): boolean {
    return /\/0+$/.test(value);
}

/**
 * Parses the public origin into the scheme and host Nginx forwards, or returns
 * the problem with it. Returns undefined when no origin is given.
 */
function parsePublicOrigin(value: string | undefined): { scheme: string; host: string } | string | undefined {
    if (value === undefined) {
        return undefined;
    }
    const problem = `publicOrigin must be an origin such as https://netos.xiberian.net, without path, query or credentials (received "${value}").`;
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return problem;
    }
    const isOrigin = (url.protocol === "https:" || url.protocol === "http:") && url.username === "" && url.password === "" && url.search === "" && url.hash === "" && url.pathname === "/";
    if (!isOrigin || value.replace(/\/+$/, "") !== url.origin || /[^A-Za-z0-9.:\[\]-]/.test(url.host)) {
        return problem;
    }
    return { scheme: url.protocol.slice(0, -1), host: url.host };
}
