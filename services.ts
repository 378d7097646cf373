/**
 * The services of the NetOS origin, each with the network alias other
 * containers use to reach it and the port it listens on inside its container.
 *
 * The tunnel ingress, the proxy upstreams and the containers all take their
 * names and ports from here, so they cannot disagree.
 */
export const services = {
    /** OAuth2-Proxy: OIDC sign-in against Entra ID, the only target of the tunnel. */
    ssoProxy: { alias: "sso-proxy", port: 4180 },
    /** Nginx: routes signed-in traffic to the web app and the API. */
    publicProxy: { alias: "public-proxy", port: 8080 },
    /** The NetOS Next.js web app. */
    web: { alias: "web", port: 3000 },
    /** The NetOS FastAPI backend. */
    api: { alias: "api", port: 8000 },
    /** PostgreSQL 16, the API's database. */
    postgres: { alias: "postgres", port: 5432 },
    /** Redis 7: the API's cache and OAuth2-Proxy's session store. */
    redis: { alias: "redis", port: 6379 },
} as const;

export type ServiceKey = keyof typeof services;

export interface ServiceEndpoint {
    readonly alias: string;
    readonly port: number;
}

/** Returns `http://<alias>:<port>` for a service, the form proxies and the tunnel ingress use. */
export function serviceUrl(key: ServiceKey): string {
    const service: ServiceEndpoint = services[key];
    return `http://${service.alias}:${service.port}`;
}

/** The path OAuth2-Proxy serves its OIDC callback on, and Entra ID redirects to. */
export const oauth2CallbackPath = "/oauth2/callback";

/** Returns the public origin of a hostname: always HTTPS, because Cloudflare terminates TLS. */
export function publicOriginOf(hostname: string): string {
    return `https://${hostname}`;
}

/** Returns the OIDC redirect URI for a public origin such as `https://netos.xiberian.net`. */
export function oauth2CallbackUrl(publicOrigin: string): string {
    return `${publicOrigin.replace(/\/+$/, "")}${oauth2CallbackPath}`;
}
