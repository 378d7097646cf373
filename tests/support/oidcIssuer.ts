/**
 * A stand-in for Microsoft Entra ID, for tests and `npm run local` only.
 *
 * It serves the three endpoints OAuth2-Proxy uses when OIDC discovery is
 * skipped (authorize, token, JWKS) on 127.0.0.1, under the same paths as the
 * Entra v2 endpoints of a tenant, and signs ID tokens shaped like Entra v2 ID
 * tokens. The `iss` claim is the real Entra issuer URL even though the keys
 * are served on loopback, so OAuth2-Proxy verifies tokens exactly as in
 * production. Keys, signing and the JWKS come from `jose`.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import type { CryptoKey, JWK } from "jose";

/** A user the stand-in issuer can sign in, with the claims Entra would put in the ID token. */
export interface TestUser {
    /** Short stable key the tests use, e.g. `exec`. */
    readonly key: string;
    /** `name` claim: the display name. */
    readonly name: string;
    /** `preferred_username` claim: the user principal name; also the `login_hint` that picks this user. */
    readonly preferredUsername: string;
    /** `email` claim; omitted from the token when undefined, as Entra does for users without a mail attribute. */
    readonly email?: string;
    /** `oid` claim: the object id of the user in the tenant. */
    readonly objectId: string;
    /** `roles` claim: the app roles assigned to the user; omitted from the token when empty, as Entra does. */
    readonly roles: readonly string[];
}

/** Number of extra roles of the `large-token` user; enough for an ID token of about 20 KB. */
const largeTokenExtraRoles = 480;

function testObjectId(n: number): string {
    return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/**
 * The test users: one per role, one without a role, one without a mail
 * attribute and one whose token is about 20 KB but has a valid role.
 * The domain is a reserved example domain, so no address belongs to anyone.
 */
export const testUsers: readonly TestUser[] = [
    {
        key: "exec",
        name: "Test Executive",
        preferredUsername: "exec.user@netos-test.example",
        email: "exec.user@netos-test.example",
        objectId: testObjectId(1),
        roles: ["exec"],
    },
    {
        key: "network-eng",
        name: "Test Network Engineer",
        preferredUsername: "network.eng@netos-test.example",
        email: "network.eng@netos-test.example",
        objectId: testObjectId(2),
        roles: ["network_eng"],
    },
    {
        key: "no-role",
        name: "Test User Without Role",
        preferredUsername: "no.role@netos-test.example",
        email: "no.role@netos-test.example",
        objectId: testObjectId(3),
        roles: [],
    },
    {
        key: "no-email",
        name: "Test User Without Mail",
        preferredUsername: "no.mail@netos-test.example",
        objectId: testObjectId(4),
        roles: ["network_eng"],
    },
    {
        key: "large-token",
        name: "Test User With Large Token",
        preferredUsername: "large.token@netos-test.example",
        email: "large.token@netos-test.example",
        objectId: testObjectId(5),
        roles: [
            "exec",
            ...Array.from({ length: largeTokenExtraRoles }, (_, i) => `netos.generated.role-${String(i).padStart(4, "0")}`),
        ],
    },
];

/** Returns the test user with the given key, or throws naming the known keys. */
export function testUser(key: string): TestUser {
    const user = testUsers.find((candidate) => candidate.key === key);
    if (!user) {
        throw new Error(`unknown test user "${key}"; known users: ${testUsers.map((u) => u.key).join(", ")}`);
    }
    return user;
}

/** Settings of the stand-in issuer. */
export interface OidcIssuerOptions {
    /** Entra tenant id; it appears in the issuer URL, the endpoint paths and the `tid` claim. */
    readonly tenantId: string;
    /** Client id of the app registration; the only accepted `client_id` and the `aud` claim. */
    readonly clientId: string;
    /** Client secret the token endpoint requires (client_secret_basic or client_secret_post). */
    readonly clientSecret: string;
    /** The only accepted `redirect_uri`, compared character for character as Entra does. */
    readonly redirectUri: string;
    /** Users who can sign in. Default: `testUsers`. */
    readonly users?: readonly TestUser[];
    /** Lifetime of ID and access tokens in seconds (`exp`, `expires_in`). Default: 3600, as Entra. */
    readonly tokenLifetimeSeconds?: number;
    /** Reject authorization requests without an S256 `code_challenge`. Default: true. */
    readonly requirePkce?: boolean;
}

/** An HTTP request the issuer received: method and path only, because bodies carry secrets. */
export interface IssuerRequest {
    readonly method: string;
    readonly path: string;
}

/** An authorization code waiting to be redeemed, with everything the token request must match. */
interface PendingCode {
    readonly user: TestUser;
    readonly scope: string;
    readonly redirectUri: string;
    readonly nonce: string | undefined;
    readonly codeChallenge: string | undefined;
    readonly expiresAt: number;
}

/** How long an authorization code stays valid, in milliseconds; a test redeems it at once. */
const codeLifetimeMs = 60_000;

class OAuthError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        description: string,
    ) {
        super(description);
    }
}

/** The stand-in Entra ID issuer; create it with `OidcIssuer.start`. */
export class OidcIssuer {
    /** The `iss` claim: `https://login.microsoftonline.com/<tenant>/v2.0`. */
    readonly issuer: string;
    /** Every request received, in order. */
    readonly requests: IssuerRequest[] = [];
    /** Every ID token issued by the token endpoint, newest last. */
    readonly issuedIdTokens: string[] = [];
    /**
     * Claims added to or overriding those of every ID token the token endpoint
     * issues, so a test can make the issuer return a bad token (another
     * nonce, audience or tenant, an expired token). Empty by default.
     */
    extraIdTokenClaims: Record<string, unknown> = {};

    private readonly codes = new Map<string, PendingCode>();
    /** Refresh tokens not yet used, with the user and scope they were issued for. */
    private readonly refreshTokens = new Map<string, { readonly user: TestUser; readonly scope: string }>();
    private readonly users: readonly TestUser[];
    private readonly tokenLifetimeSeconds: number;
    private readonly requirePkce: boolean;

    private constructor(
        private readonly options: OidcIssuerOptions,
        private readonly server: http.Server,
        private readonly privateKey: CryptoKey,
        private readonly publicJwk: JWK,
    ) {
        this.issuer = `https://login.microsoftonline.com/${options.tenantId}/v2.0`;
        this.users = options.users ?? testUsers;
        this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
        this.requirePkce = options.requirePkce ?? true;
    }

    /** Generates a signing key and starts the issuer on a free 127.0.0.1 port. */
    static async start(options: OidcIssuerOptions): Promise<OidcIssuer> {
        const { privateKey, publicKey } = await generateKeyPair("RS256");
        const jwk = await exportJWK(publicKey);
        const kid = await calculateJwkThumbprint(jwk);
        const publicJwk: JWK = { ...jwk, kid, use: "sig", alg: "RS256" };

        const server = http.createServer();
        const issuer = new OidcIssuer(options, server, privateKey, publicJwk);
        server.on("request", (req, res) => {
            issuer.handle(req, res).catch((error: unknown) => {
                res.writeHead(500, { "content-type": "text/plain" }).end(`stand-in issuer failed: ${String(error)}\n`);
            });
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve());
        });
        return issuer;
    }

    /** Base URL the issuer listens on, e.g. `http://127.0.0.1:40123`. */
    get baseUrl(): string {
        const address = this.server.address() as AddressInfo;
        return `http://127.0.0.1:${address.port}`;
    }

    /** Authorization endpoint, the path Entra uses: `/<tenant>/oauth2/v2.0/authorize`. */
    get authorizeUrl(): string {
        return `${this.baseUrl}${this.authorizePath}`;
    }

    /** Token endpoint, the path Entra uses: `/<tenant>/oauth2/v2.0/token`. */
    get tokenUrl(): string {
        return `${this.baseUrl}${this.tokenPath}`;
    }

    /** JWKS endpoint, the path Entra uses: `/<tenant>/discovery/v2.0/keys`. */
    get jwksUrl(): string {
        return `${this.baseUrl}${this.jwksPath}`;
    }

    private get authorizePath(): string {
        return `/${this.options.tenantId}/oauth2/v2.0/authorize`;
    }

    private get tokenPath(): string {
        return `/${this.options.tenantId}/oauth2/v2.0/token`;
    }

    private get jwksPath(): string {
        return `/${this.options.tenantId}/discovery/v2.0/keys`;
    }

    /**
     * Signs an Entra v2-shaped ID token for a user with the issuer's key.
     * `extraClaims` are added or override the defaults, so tests can forge
     * tokens that differ in one claim.
     */
    async signIdToken(user: TestUser, nonce: string | undefined, extraClaims: Record<string, unknown> = {}): Promise<string> {
        const now = Math.floor(Date.now() / 1000);
        const claims: Record<string, unknown> = {
            aud: this.options.clientId,
            iss: this.issuer,
            iat: now,
            nbf: now,
            exp: now + this.tokenLifetimeSeconds,
            name: user.name,
            oid: user.objectId,
            preferred_username: user.preferredUsername,
            // Entra's `sub` is a pairwise id per app, not the object id.
            sub: createHash("sha256").update(`${this.options.clientId}:${user.objectId}`).digest("base64url").slice(0, 43),
            tid: this.options.tenantId,
            uti: randomBytes(16).toString("base64url"),
            ver: "2.0",
        };
        if (nonce !== undefined) {
            claims.nonce = nonce;
        }
        if (user.email !== undefined) {
            claims.email = user.email;
        }
        if (user.roles.length > 0) {
            claims.roles = [...user.roles];
        }
        Object.assign(claims, extraClaims);

        return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.publicJwk.kid }).sign(this.privateKey);
    }

    /** Stops listening and closes open connections. */
    async stop(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? "/", this.baseUrl);
        this.requests.push({ method: req.method ?? "", path: url.pathname });

        if (url.pathname === this.jwksPath && req.method === "GET") {
            sendJson(res, 200, { keys: [this.publicJwk] });
            return;
        }
        if (url.pathname === this.authorizePath && (req.method === "GET" || req.method === "POST")) {
            const params = req.method === "GET" ? url.searchParams : new URLSearchParams(await readBody(req));
            this.authorize(params, res);
            return;
        }
        if (url.pathname === this.tokenPath && req.method === "POST") {
            const body = new URLSearchParams(await readBody(req));
            try {
                sendJson(res, 200, await this.redeem(req, body));
            } catch (error) {
                if (!(error instanceof OAuthError)) {
                    throw error;
                }
                sendJson(res, error.status, { error: error.code, error_description: error.message });
            }
            return;
        }
        res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${req.method} ${url.pathname}\n`);
    }

    /**
     * Handles the authorization request. Without a user choice it returns the
     * login page. With `login_hint` (a user's preferred_username or key) or a
     * posted `user`, it issues a code and redirects to the redirect URI.
     */
    private authorize(params: URLSearchParams, res: http.ServerResponse): void {
        const problem = this.checkAuthorizationRequest(params);
        if (problem) {
            // Like Entra, show the error instead of redirecting to an unverified redirect URI.
            res.writeHead(400, { "content-type": "text/plain" }).end(`invalid authorization request: ${problem}\n`);
            return;
        }

        const choice = params.get("user") ?? params.get("login_hint");
        if (choice === null) {
            res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(this.renderLoginPage(params));
            return;
        }
        const user = this.users.find((candidate) => candidate.key === choice || candidate.preferredUsername === choice);
        if (!user) {
            res.writeHead(400, { "content-type": "text/plain" }).end(`unknown test user: ${choice}\n`);
            return;
        }

        const code = randomBytes(32).toString("base64url");
        this.codes.set(code, {
            user,
            scope: params.get("scope") ?? "",
            redirectUri: params.get("redirect_uri") ?? "",
            nonce: params.get("nonce") ?? undefined,
            codeChallenge: params.get("code_challenge") ?? undefined,
            expiresAt: Date.now() + codeLifetimeMs,
        });
        const location = new URL(params.get("redirect_uri") ?? "");
        location.searchParams.set("code", code);
        const state = params.get("state");
        if (state !== null) {
            location.searchParams.set("state", state);
        }
        res.writeHead(302, { location: location.toString() }).end();
    }

    /** Returns what is wrong with an authorization request, or undefined when it is valid. */
    private checkAuthorizationRequest(params: URLSearchParams): string | undefined {
        if (params.get("client_id") !== this.options.clientId) {
            return `client_id "${params.get("client_id") ?? ""}" is not the registered client`;
        }
        if (params.get("redirect_uri") !== this.options.redirectUri) {
            return `redirect_uri "${params.get("redirect_uri") ?? ""}" does not match the registered ${this.options.redirectUri}`;
        }
        if (params.get("response_type") !== "code") {
            return `response_type "${params.get("response_type") ?? ""}" is not supported; expected "code"`;
        }
        const scopes = (params.get("scope") ?? "").split(" ");
        if (!scopes.includes("openid")) {
            return `scope "${params.get("scope") ?? ""}" does not include openid`;
        }
        if (this.requirePkce && (params.get("code_challenge_method") !== "S256" || !params.get("code_challenge"))) {
            return `PKCE is required: expected code_challenge with code_challenge_method=S256, received method "${params.get("code_challenge_method") ?? ""}"`;
        }
        return undefined;
    }

    /** Returns a page with one button per test user; each posts the authorization request back with the choice. */
    private renderLoginPage(params: URLSearchParams): string {
        const hidden = [...params.entries()]
            .filter(([name]) => name !== "user" && name !== "login_hint")
            .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
            .join("\n      ");
        const buttons = this.users
            .map((user) => {
                let roles = user.roles.join(", ");
                if (user.roles.length === 0) {
                    roles = "no role";
                } else if (user.roles.length > 3) {
                    roles = `${user.roles.length} roles`;
                }
                const mail = user.email === undefined ? ", no mail" : "";
                return `<p><button type="submit" name="user" value="${escapeHtml(user.key)}">${escapeHtml(user.name)}</button> ${escapeHtml(user.preferredUsername)} (${escapeHtml(roles)}${mail})</p>`;
            })
            .join("\n      ");
        return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Sign in (stand-in for Entra ID)</title></head>
  <body>
    <h1>Sign in as a test user</h1>
    <p>Stand-in for Microsoft Entra ID, tenant ${escapeHtml(this.options.tenantId)}. Tests and local runs only.</p>
    <form method="post" action="${escapeHtml(this.authorizePath)}">
      ${hidden}
      ${buttons}
    </form>
  </body>
</html>
`;
    }

    /**
     * Handles the token request: redeems an authorization code after checking
     * the client, the redirect URI and the PKCE verifier, or a refresh token.
     */
    private async redeem(req: http.IncomingMessage, body: URLSearchParams): Promise<Record<string, unknown>> {
        this.authenticateClient(req, body);

        const grantType = body.get("grant_type");
        if (grantType === "refresh_token") {
            return this.redeemRefreshToken(body);
        }
        if (grantType !== "authorization_code") {
            throw new OAuthError(400, "unsupported_grant_type", `grant_type "${grantType ?? ""}" is not supported`);
        }
        const code = body.get("code") ?? "";
        const pending = this.codes.get(code);
        // A code is single use: remove it before any other check can fail.
        this.codes.delete(code);
        if (!pending || pending.expiresAt < Date.now()) {
            throw new OAuthError(400, "invalid_grant", "the authorization code is unknown, used or expired");
        }
        if (body.get("redirect_uri") !== pending.redirectUri) {
            throw new OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization request");
        }
        if (pending.codeChallenge !== undefined || this.requirePkce) {
            const verifier = body.get("code_verifier");
            if (!verifier) {
                throw new OAuthError(400, "invalid_grant", "code_verifier is missing");
            }
            const challenge = createHash("sha256").update(verifier).digest("base64url");
            if (challenge !== pending.codeChallenge) {
                throw new OAuthError(400, "invalid_grant", "code_verifier does not match the code_challenge");
            }
        }
        return this.tokenResponse(pending.user, pending.scope, pending.nonce);
    }

    /** Redeems a refresh token and issues new tokens without a nonce. Refresh tokens are single use here, stricter than Entra. */
    private async redeemRefreshToken(body: URLSearchParams): Promise<Record<string, unknown>> {
        const refreshToken = body.get("refresh_token") ?? "";
        const grant = this.refreshTokens.get(refreshToken);
        this.refreshTokens.delete(refreshToken);
        if (!grant) {
            throw new OAuthError(400, "invalid_grant", "the refresh token is unknown or already used");
        }
        return this.tokenResponse(grant.user, grant.scope, undefined);
    }

    private async tokenResponse(user: TestUser, scope: string, nonce: string | undefined): Promise<Record<string, unknown>> {
        const idToken = await this.signIdToken(user, nonce, this.extraIdTokenClaims);
        this.issuedIdTokens.push(idToken);
        const response: Record<string, unknown> = {
            token_type: "Bearer",
            scope,
            expires_in: this.tokenLifetimeSeconds,
            ext_expires_in: this.tokenLifetimeSeconds,
            // The access token is opaque here; OAuth2-Proxy only stores it.
            access_token: randomUUID(),
            id_token: idToken,
        };
        // Like Entra, issue a refresh token only for the offline_access scope.
        if (scope.split(" ").includes("offline_access")) {
            const refreshToken = randomBytes(32).toString("base64url");
            this.refreshTokens.set(refreshToken, { user, scope });
            response.refresh_token = refreshToken;
        }
        return response;
    }

    /** Throws invalid_client unless the request carries this client's id and secret (HTTP Basic or form fields). */
    private authenticateClient(req: http.IncomingMessage, body: URLSearchParams): void {
        let clientId = body.get("client_id");
        let clientSecret = body.get("client_secret");
        const authorization = req.headers.authorization;
        if (authorization?.startsWith("Basic ")) {
            // RFC 6749 section 2.3.1: both parts are form-urlencoded before Base64.
            const decoded = Buffer.from(authorization.slice("Basic ".length), "base64").toString("utf8");
            const separator = decoded.indexOf(":");
            if (separator < 0) {
                throw new OAuthError(401, "invalid_client", "the Basic credentials contain no colon");
            }
            clientId = decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, " "));
            clientSecret = decodeURIComponent(decoded.slice(separator + 1).replace(/\+/g, " "));
        }
        if (clientId !== this.options.clientId || clientSecret === null || !secretsEqual(clientSecret, this.options.clientSecret)) {
            throw new OAuthError(401, "invalid_client", "client authentication failed");
        }
    }
}

function secretsEqual(received: string, expected: string): boolean {
    const a = Buffer.from(received);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(value));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
}

function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
