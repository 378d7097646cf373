import { isIP } from "node:net";

import { oauth2CallbackUrl, serviceUrl, services } from "../services";

/**
 * Inputs of the OAuth2-Proxy v7.15.6 command line. Secrets are not inputs:
 * they travel in the environment variables named by `oauth2ProxySecretEnv`.
 */
export interface OAuth2ProxyInput {
    /** Entra ID tenant (directory) id; sets the issuer and the only accepted `tid`. */
    readonly tenantId: string;
    /** Application (client) id of the Entra ID app registration. */
    readonly clientId: string;
    /** Public origin users browse to, e.g. `https://netos.xiberian.net` or `http://127.0.0.1:40123`; the redirect URL is derived from it. */
    readonly publicOrigin: string;
    /** Entra ID app roles (values of the `roles` claim) that may sign in; a user needs at least one. */
    readonly allowedRoles: readonly string[];
    /**
     * Addresses or CIDRs allowed to set X-Forwarded-* headers: cloudflared's
     * network. Must not be empty, because OAuth2-Proxy then trusts every address.
     */
    readonly trustedProxyCidrs: readonly string[];
    /** OIDC issuer. Default: `https://login.microsoftonline.com/<tenantId>/v2.0`. Loopback tests point it at a local stub. */
    readonly issuerUrl?: string;
    /** Skip OIDC discovery and use `loginUrl`, `redeemUrl` and `jwksUrl` instead. Default: false (production uses discovery). */
    readonly skipDiscovery?: boolean;
    /** Authorization endpoint; required when `skipDiscovery` is true. */
    readonly loginUrl?: string;
    /** Token endpoint; required when `skipDiscovery` is true. */
    readonly redeemUrl?: string;
    /** JWKS endpoint; required when `skipDiscovery` is true. */
    readonly jwksUrl?: string;
    /**
     * OAuth scopes requested at sign-in. Default: `openid email profile offline_access`.
     * `offline_access` makes Entra ID issue a refresh token, so the session can renew
     * the ID token (valid for about an hour) that the API receives as a bearer token.
     */
    readonly scope?: string;
    /**
     * ID token claim stored as the session's e-mail. Default: `preferred_username`,
     * because Entra ID omits `email` for accounts without a mail attribute and
     * OAuth2-Proxy rejects a session without an e-mail.
     */
    readonly emailClaim?: string;
    /** Upstream URL (the public proxy). Default: `http://public-proxy:8080/` from services.ts. */
    readonly upstreamUrl?: string;
    /** Address OAuth2-Proxy listens on. Default: `0.0.0.0:4180` (port from services.ts). */
    readonly httpAddress?: string;
    /** Redis URL of the session store, without a password. Default: `redis://redis:6379` from services.ts. */
    readonly redisUrl?: string;
    /** Session cookie name. Default: `__Host-netos_session` (Secure, Path=/ and no Domain, as the prefix demands). */
    readonly cookieName?: string;
    /**
     * Mark the session and CSRF cookies Secure. Default: true. Only a chain
     * served over plain HTTP on http://127.0.0.1 or http://localhost
     * (`npm run local`) may set false, because a browser may not store Secure
     * cookies from plain HTTP. The cookie name must then lack the `__Host-` and
     * `__Secure-` prefixes, which require Secure.
     */
    readonly cookieSecure?: boolean;
    /** Session lifetime as a Go duration. Default: `8h`. */
    readonly cookieExpire?: string;
    /** Age after which the session is refreshed with the refresh token, as a Go duration; below `cookieExpire`. Default: `50m`. */
    readonly cookieRefresh?: string;
    /** Address of the Prometheus metrics listener, e.g. `0.0.0.0:9180`. Default: none. */
    readonly metricsAddress?: string;
}

/** Environment variables that carry the OAuth2-Proxy secrets, so they never appear on the command line. */
export const oauth2ProxySecretEnv = {
    /** Client secret of the Entra ID app registration. */
    clientSecret: "OAUTH2_PROXY_CLIENT_SECRET",
    /**
     * Key that encrypts the session cookie: 32 random bytes in URL-safe base64
     * (RFC 4648 section 5, padding optional). Use `oauth2ProxyCookieSecret` to
     * convert standard base64.
     */
    cookieSecret: "OAUTH2_PROXY_COOKIE_SECRET",
    /** Password of the Redis session store. */
    redisPassword: "OAUTH2_PROXY_REDIS_PASSWORD",
} as const;

/** Path OAuth2-Proxy answers health checks on with 200, without authentication. */
export const oauth2ProxyPingPath = "/ping";

/**
 * Request paths (regular expressions on the request URI) that answer 401
 * instead of redirecting to Entra ID: API clients cannot follow a sign-in
 * redirect. `/docs-api/` is left out because a browser opens it and wants
 * the redirect.
 */
export const oauth2ProxyApiRoutes: readonly string[] = ["^/api/", "^/openapi\\.json($|\\?)"];

const goDurationPattern = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Returns the command-line flags of OAuth2-Proxy v7.15.6 for Entra ID sign-in
 * in front of the public proxy. Flag names were checked against v7.15.6's
 * `pkg/apis/options`. Throws one error listing every invalid input.
 */
export function oauth2ProxyArgs(input: OAuth2ProxyInput): string[] {
    const issuerUrl = input.issuerUrl ?? `https://login.microsoftonline.com/${input.tenantId}/v2.0`;
    const skipDiscovery = input.skipDiscovery ?? false;
    const scope = input.scope ?? "openid email profile offline_access";
    const emailClaim = input.emailClaim ?? "preferred_username";
    const upstreamUrl = input.upstreamUrl ?? `${serviceUrl("publicProxy")}/`;
    const httpAddress = input.httpAddress ?? `0.0.0.0:${services.ssoProxy.port}`;
    const redisUrl = input.redisUrl ?? `redis://${services.redis.alias}:${services.redis.port}`;
    const cookieName = input.cookieName ?? "__Host-netos_session";
    const cookieExpire = input.cookieExpire ?? "8h";
    const cookieRefresh = input.cookieRefresh ?? "50m";

    const problems = validate(input, { issuerUrl, skipDiscovery, upstreamUrl, redisUrl, cookieName, cookieExpire, cookieRefresh });
    if (problems.length > 0) {
        throw new Error(`Invalid OAuth2-Proxy input:\n- ${problems.join("\n- ")}`);
    }

    const args = [
        "--provider=entra-id",
        `--oidc-issuer-url=${issuerUrl}`,
        `--client-id=${input.clientId}`,
        `--scope=${scope}`,
        `--redirect-url=${oauth2CallbackUrl(input.publicOrigin)}`,
        // Use PKCE. Entra ID supports it, and OAuth2-Proxy enables it only when asked.
        "--code-challenge-method=S256",
        // Send a nonce and check it in the ID token, so a captured ID token
        // cannot be replayed into a new session; v7.15.6 skips it by default.
        "--insecure-oidc-skip-nonce=false",
        // Checked on every session in addition to the single-tenant issuer.
        `--entra-id-allowed-tenant=${input.tenantId}`,

        // Identity: app roles arrive in the ID token's `roles` claim.
        "--oidc-groups-claim=roles",
        ...input.allowedRoles.map((role) => `--allowed-group=${role}`),
        "--email-domain=*",
        `--oidc-email-claim=${emailClaim}`,
        // A claim missing from the ID token (no roles, no overage pointer) would
        // otherwise be looked up at the discovered userinfo endpoint on Microsoft Graph.
        "--skip-claims-from-profile-url",

        `--http-address=${httpAddress}`,
        `--upstream=${upstreamUrl}`,
        "--reverse-proxy",
        ...input.trustedProxyCidrs.map((cidr) => `--trusted-proxy-ip=${cidr}`),
        // Cloudflare's edge sets this header and cloudflared passes it on. It is used in logs.
        "--real-client-ip-header=CF-Connecting-IP",
        ...oauth2ProxyApiRoutes.map((route) => `--api-route=${route}`),
        "--skip-provider-button",

        `--cookie-secure=${input.cookieSecure ?? true}`,
        "--cookie-httponly=true",
        `--cookie-name=${cookieName}`,
        "--cookie-path=/",
        "--cookie-samesite=lax",
        `--cookie-expire=${cookieExpire}`,
        `--cookie-refresh=${cookieRefresh}`,

        "--session-store-type=redis",
        `--redis-connection-url=${redisUrl}`,

        // Upstream headers: the ID token as bearer, the user headers, and never
        // a client-sent copy of them (skip-auth-strip-headers strips those).
        "--pass-authorization-header=true",
        "--pass-user-headers=true",
        "--pass-basic-auth=false",
        "--pass-access-token=false",
        "--skip-auth-strip-headers=true",

        `--ping-path=${oauth2ProxyPingPath}`,
        "--silence-ping-logging",
    ];

    if (skipDiscovery) {
        args.push(
            "--skip-oidc-discovery",
            `--login-url=${input.loginUrl}`,
            `--redeem-url=${input.redeemUrl}`,
            `--oidc-jwks-url=${input.jwksUrl}`,
        );
    }
    if (input.metricsAddress !== undefined) {
        args.push(`--metrics-address=${input.metricsAddress}`);
    }
    return args;
}

/**
 * Converts a standard base64 secret (as `random.RandomBytes` returns it) to the
 * URL-safe form OAuth2-Proxy v7.15.6 decodes. OAuth2-Proxy decodes the cookie
 * secret with URL-safe base64 only and otherwise uses the raw string, so a
 * standard secret containing `+` or `/` would be read as a 44-byte key and
 * rejected. Throws unless the secret decodes to 16, 24 or 32 bytes.
 */
export function oauth2ProxyCookieSecret(base64Secret: string): string {
    const bytes = Buffer.from(base64Secret, "base64");
    const roundTrip = bytes.toString("base64").replace(/=+$/, "");
    if (roundTrip !== base64Secret.replace(/=+$/, "") || ![16, 24, 32].includes(bytes.length)) {
        // The value is a secret, so the message gives only its length.
        throw new Error(`The cookie secret must be standard base64 of 16, 24 or 32 bytes (received ${base64Secret.length} characters); generate it with random.RandomBytes({ length: 32 }).`);
    }
    return bytes.toString("base64url");
}

interface ResolvedValues {
    issuerUrl: string;
    skipDiscovery: boolean;
    upstreamUrl: string;
    redisUrl: string;
    cookieName: string;
    cookieExpire: string;
    cookieRefresh: string;
}

function validate(input: OAuth2ProxyInput, values: ResolvedValues): string[] {
    const problems: string[] = [];
    const check = (ok: boolean, message: string): void => {
        if (!ok) {
            problems.push(message);
        }
    };

    check(uuidPattern.test(input.tenantId), `tenantId must be a GUID such as 4944843d-e347-4fe7-a279-4006ce5efc33 (received "${input.tenantId}").`);
    check(uuidPattern.test(input.clientId), `clientId must be the application (client) id GUID (received "${input.clientId}").`);
    check(isOrigin(input.publicOrigin), `publicOrigin must be a scheme, host and optional port without a path, e.g. https://netos.xiberian.net (received "${input.publicOrigin}").`);
    check(input.allowedRoles.length > 0, "allowedRoles must list at least one app role; with none, OAuth2-Proxy would admit every user of the tenant.");
    for (const role of input.allowedRoles) {
        check(/^[^\s,]+$/.test(role), `allowedRoles entries must be non-empty and contain no spaces or commas (received "${role}").`);
    }
    check(input.trustedProxyCidrs.length > 0, "trustedProxyCidrs must list cloudflared's network; with none, OAuth2-Proxy trusts X-Forwarded-* headers from every address.");
    for (const cidr of input.trustedProxyCidrs) {
        check(isCidrOrAddress(cidr), `trustedProxyCidrs entries must be IP addresses or CIDRs such as 172.18.0.0/16 (received "${cidr}").`);
    }
    check(isUrl(values.issuerUrl, ["https:", "http:"]), `issuerUrl must be an http(s) URL (received "${values.issuerUrl}").`);
    if (values.skipDiscovery) {
        for (const [name, value] of Object.entries({ loginUrl: input.loginUrl, redeemUrl: input.redeemUrl, jwksUrl: input.jwksUrl })) {
            check(value !== undefined && isUrl(value, ["https:", "http:"]), `${name} must be an http(s) URL when skipDiscovery is true (received "${value}").`);
        }
    }
    check(isUrl(values.upstreamUrl, ["http:", "https:"]), `upstreamUrl must be an http(s) URL such as http://public-proxy:8080/ (received "${values.upstreamUrl}").`);
    check(isUrl(values.redisUrl, ["redis:", "rediss:"]) && !/\/\/[^/]*@/.test(values.redisUrl), `redisUrl must be a redis:// URL without credentials; the password goes in ${oauth2ProxySecretEnv.redisPassword} (received a value of ${values.redisUrl.length} characters).`);
    check(/^[A-Za-z0-9_-]+$/.test(values.cookieName), `cookieName may contain only letters, digits, _ and - (received "${values.cookieName}").`);
    if (input.cookieSecure === false) {
        check(/^http:\/\/(127\.0\.0\.1|localhost)(:[0-9]+)?\/?$/.test(input.publicOrigin), `cookieSecure may be false only for a loopback origin such as http://127.0.0.1:4180 (received publicOrigin "${input.publicOrigin}"); remove cookieSecure to keep cookies Secure.`);
        check(!/^__(Host|Secure)-/.test(values.cookieName), `cookieName "${values.cookieName}" needs a Secure cookie; with cookieSecure false, use a name without the __Host- or __Secure- prefix.`);
    }
    check(goDurationPattern.test(values.cookieExpire), `cookieExpire must be a Go duration such as 8h (received "${values.cookieExpire}").`);
    check(goDurationPattern.test(values.cookieRefresh), `cookieRefresh must be a Go duration such as 50m (received "${values.cookieRefresh}").`);
    check(input.metricsAddress === undefined || /^[^\s]+:[0-9]+$/.test(input.metricsAddress), `metricsAddress must be host:port such as 0.0.0.0:9180 (received "${input.metricsAddress}").`);
    return problems;
}

function isUrl(value: string, protocols: readonly string[]): boolean {
    try {
        return protocols.includes(new URL(value).protocol);
    } catch {
        return false;
    }
}

function isOrigin(value: string): boolean {
    try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value.replace(/\/+$/, "");
    } catch {
        return false;
    }
}

function isCidrOrAddress(value: string): boolean {
    const [address, prefix, ...rest] = value.split("/");
    const family = isIP(address ?? "");
    if (family === 0 || rest.length > 0) {
        return false;
    }
    if (prefix === undefined) {
        return true;
    }
    const bits = Number(prefix);
    return /^[0-9]+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}
