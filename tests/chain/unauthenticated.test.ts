/**
 * The chain without a session: OAuth2-Proxy v7.15.6, Nginx and Redis run for
 * real on loopback, and no request may reach the web app or the API.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { oauth2CallbackUrl } from "../../services";
import { Chain, chainClientId, chainHostname, chainIdentityHeaders } from "../support/chain";
import { testUser } from "../support/oidcIssuer";

/** Statuses OAuth2-Proxy may return for a request without a session; none of them comes from an upstream. */
const rejectionStatuses = [301, 302, 400, 401, 403, 404, 405];

describe("chain without a session", () => {
    let chain: Chain;

    before(async () => {
        chain = await Chain.start();
    });

    after(async () => {
        await chain?.stop();
    });

    test("page redirects to the issuer", async () => {
        const response = await chain.sendWithoutSession({ path: "/" });

        assert.equal(response.status, 302);
        const location = new URL(response.headers.location ?? "");
        assert.equal(`${location.origin}${location.pathname}`, chain.issuer.authorizeUrl);
        assert.equal(location.searchParams.get("redirect_uri"), "https://netos.xiberian.net/oauth2/callback");
        assert.equal(location.searchParams.get("redirect_uri"), oauth2CallbackUrl(`https://${chainHostname}`));
        assert.equal(location.searchParams.get("client_id"), chainClientId);
        assert.equal(location.searchParams.get("response_type"), "code");
        assert.equal(location.searchParams.get("code_challenge_method"), "S256");
        assert.ok(location.searchParams.get("code_challenge"), "no PKCE code_challenge in the authorization request");
        assert.ok(location.searchParams.get("nonce"), "no nonce in the authorization request");
    });

    test("api request gets 401", async () => {
        const response = await chain.sendWithoutSession({ path: "/api/devices?limit=5" });

        assert.equal(response.status, 401);
        assert.equal(response.headers.location, undefined);
    });

    test("api post gets 401", async () => {
        const response = await chain.sendWithoutSession({
            path: "/api/devices",
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ name: "core-1" }),
        });

        assert.equal(response.status, 401);
    });

    test("schema gets 401", async () => {
        const response = await chain.sendWithoutSession({ path: "/openapi.json" });

        assert.equal(response.status, 401);
        assert.equal(response.headers.location, undefined);
    });

    test("api docs redirect to the issuer", async () => {
        const response = await chain.sendWithoutSession({ path: "/docs-api/" });

        assert.equal(response.status, 302);
        assert.ok(response.headers.location?.startsWith(chain.issuer.authorizeUrl), `Location: ${response.headers.location}`);
    });

    test("neither upstream received anything", () => {
        assert.equal(chain.web.requests.length, 0);
        assert.equal(chain.api.requests.length, 0);
    });

    test("client identity headers are rejected", async () => {
        const headers = {
            [chainIdentityHeaders.user]: "admin@netos-test.example",
            [chainIdentityHeaders.roles]: "exec",
            "X-Forwarded-User": "admin",
            "X-Forwarded-Email": "admin@netos-test.example",
            "X-Forwarded-Groups": "exec",
            "X-Auth-Request-Email": "admin@netos-test.example",
        };

        const api = await chain.sendWithoutSession({ path: "/api/whoami", headers });
        const page = await chain.sendWithoutSession({ path: "/", headers });

        assert.equal(api.status, 401);
        assert.equal(page.status, 302);
    });

    test("bearer ID token is rejected", async () => {
        // A token the issuer really signed, sent without a session cookie:
        // the chain admits only sessions, never bearer tokens.
        const token = await chain.issuer.signIdToken(testUser("exec"), undefined);

        const response = await chain.sendWithoutSession({ path: "/api/whoami", headers: { Authorization: `Bearer ${token}` } });

        assert.equal(response.status, 401);
    });

    test("path tricks do not pass", async () => {
        const paths = [
            "//api",
            "//api/x",
            "/x/../api/",
            "/x/..%2fapi/x",
            "/%2e%2e/api/x",
            "/api/%2e%2e/",
            "/%2fapi/x",
            "/api%2fx",
            "/API/",
            "/Api/x",
            "/./api/x",
            "/api/./x",
            "/api/x%00",
            "/api/x;.css",
            "/docs-api",
            "/DOCS-API/",
            "/openapi.json/..",
            "/OPENAPI.JSON",
            "/oauth2/../api/x",
            "/oauth2/callback/../../api/x",
            "/ping/../api/x",
            "/ping/..%2fapi/x",
            "/healthz",
            "/oauth2/auth",
            "/oauth2/userinfo",
            "/favicon.ico",
            "/_next/static/chunks/main.js",
            "*",
        ];
        for (const path of paths) {
            const before = chain.upstreamRequestCount;

            const response = await chain.sendWithoutSession({ path });

            assert.equal(chain.upstreamRequestCount, before, `${path} reached an upstream`);
            assert.ok(rejectionStatuses.includes(response.status), `${path} returned ${response.status}`);
        }
    });

    test("other methods do not pass", async () => {
        for (const method of ["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
            for (const path of ["/", "/api/x"]) {
                const before = chain.upstreamRequestCount;

                const response = await chain.sendWithoutSession({ path, method });

                assert.equal(chain.upstreamRequestCount, before, `${method} ${path} reached an upstream`);
                assert.ok(rejectionStatuses.includes(response.status), `${method} ${path} returned ${response.status}`);
            }
        }
    });

    test("forged cookies are rejected", async () => {
        const name = chain.sessionCookieName;
        const cookies = [
            `${name}=x`,
            `${name}=`,
            `${name}=djIuYWJj.ZGVm|1796400000|c2lnbmF0dXJl`,
            `${name}=${Buffer.from("v2.abc.def").toString("base64url")}|${Math.floor(Date.now() / 1000)}|${"A".repeat(43)}=`,
            "_oauth2_proxy=x",
            `${name}_csrf=x`,
        ];
        for (const cookie of cookies) {
            const api = await chain.sendWithoutSession({ path: "/api/x", cookie });
            const page = await chain.sendWithoutSession({ path: "/", cookie });

            assert.equal(api.status, 401, `cookie ${cookie}`);
            assert.equal(page.status, 302, `cookie ${cookie}`);
        }
    });

    test("host header is not trusted", async () => {
        // The tunnel's ingress routes only the public hostname here; another Host must not
        // change the redirect URI registered at Entra ID.
        const response = await chain.sendWithoutSession({ path: "/", headers: { Host: "evil.example", "X-Forwarded-Host": "evil.example" } });

        assert.equal(response.status, 302);
        const location = new URL(response.headers.location ?? "");
        assert.equal(location.searchParams.get("redirect_uri"), "https://netos.xiberian.net/oauth2/callback");
    });

    test("forwarded headers trusted from proxy only", async () => {
        // 127.0.0.1 plays cloudflared, the only trusted proxy; 127.0.0.2 plays
        // any other client on the network. Only the proxy may name the visitor.
        const spoofed = "198.51.100.7";
        const headers = { "CF-Connecting-IP": spoofed, "X-Forwarded-For": spoofed };
        const trustedPath = `/trusted-${Date.now()}`;
        const untrustedPath = `/untrusted-${Date.now()}`;

        const trusted = await chain.sendWithoutSession({ path: trustedPath, headers });
        const untrusted = await chain.sendWithoutSession({ path: untrustedPath, headers, sourceAddress: "127.0.0.2" });

        assert.equal(trusted.status, 302);
        assert.equal(untrusted.status, 302);
        const logLine = (path: string): string => chain.oauth2ProxyLog().find((line) => line.includes(`"${path}"`)) ?? "";
        assert.match(logLine(trustedPath), new RegExp(`^${spoofed.replace(/\./g, "\\.")} `));
        assert.match(logLine(untrustedPath), /^127\.0\.0\.2 /);
    });

    test("no upstream reached without a session", (t) => {
        t.diagnostic(chain.auditSummary());

        assert.ok(chain.audit.sent > 50, `only ${chain.audit.sent} requests were sent without a session`);
        assert.equal(chain.audit.reachedUpstream, 0, `reached an upstream: ${chain.audit.leaks.join(", ")}`);
    });

    test("nothing reached Nginx either", () => {
        // Every request in this file lacks a session, so OAuth2-Proxy must have handled all of them itself.
        assert.deepEqual(chain.nginxAccessLog(), []);
    });
});
