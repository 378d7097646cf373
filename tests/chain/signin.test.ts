/**
 * The whole sign-in through the real chain (OAuth2-Proxy v7.15.6, Nginx,
 * Redis) against the stand-in Entra ID issuer: who gets in, what the web app
 * and the API receive, and which redirects and tokens are rejected.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Chain, chainHostname, chainIdentityHeaders, cookiePairs, sendTo } from "../support/chain";
import type { ChainResponse } from "../support/chain";
import { testUser } from "../support/oidcIssuer";

const userHeader = chainIdentityHeaders.user.toLowerCase();
const rolesHeader = chainIdentityHeaders.roles.toLowerCase();

/** Returns the host a browser would go to after following this Location. */
function redirectHost(response: ChainResponse): string {
    return new URL(response.headers.location ?? "", `https://${chainHostname}`).host;
}

describe("chain sign-in", () => {
    let chain: Chain;

    before(async () => {
        chain = await Chain.start();
    });

    after(async () => {
        await chain?.stop();
    });

    test("sign-in ends on the requested page", async () => {
        const page = "/reports/q3?tab=summary";

        const result = await chain.signIn("exec", page);

        assert.equal(result.start.status, 302);
        assert.equal(result.authorize.status, 302);
        assert.equal(result.callback.status, 302, result.callback.body);
        assert.equal(result.callback.headers.location, page);
        assert.ok(result.sessionCookie, "no session cookie after the callback");

        const response = await chain.send({ path: page, cookie: result.sessionCookie });

        assert.equal(response.status, 200);
        assert.equal(chain.web.requests.at(-1)?.url, page);
    });

    test("session cookie is secure", async () => {
        const result = await chain.signIn("exec");
        const line = result.callback.setCookies.find((cookie) => cookie.startsWith(`${chain.sessionCookieName}=`)) ?? "";

        assert.match(line, /; Secure/);
        assert.match(line, /; HttpOnly/);
        assert.match(line, /; SameSite=Lax/);
        assert.match(line, /; Path=\//);
        assert.doesNotMatch(line, /; Domain=/);
    });

    test("api gets identity and bearer token", async () => {
        const { sessionCookie } = await chain.signIn("exec");

        const response = await chain.send({ path: "/api/whoami", cookie: sessionCookie });

        assert.equal(response.status, 200);
        const received = chain.api.requests.at(-1);
        assert.equal(received?.url, "/api/whoami");
        assert.equal(received?.headers[userHeader], "exec.user@netos-test.example");
        assert.equal(received?.headers[rolesHeader], "exec");
        assert.equal(received?.headers.authorization, `Bearer ${chain.issuer.issuedIdTokens.at(-1)}`);
        assert.equal(received?.headers["x-forwarded-proto"], "https");
    });

    test("web gets identity without token", async () => {
        const { sessionCookie } = await chain.signIn("exec");

        const response = await chain.send({ path: "/", cookie: sessionCookie });

        assert.equal(response.status, 200);
        const received = chain.web.requests.at(-1);
        assert.equal(received?.headers[userHeader], "exec.user@netos-test.example");
        assert.equal(received?.headers[rolesHeader], "exec");
        assert.equal(received?.headers.authorization, undefined);
    });

    test("network engineer gets own role", async () => {
        const { sessionCookie } = await chain.signIn("network-eng");

        const response = await chain.send({ path: "/api/whoami", cookie: sessionCookie });

        assert.equal(response.status, 200);
        assert.equal(chain.api.requests.at(-1)?.headers[userHeader], "network.eng@netos-test.example");
        assert.equal(chain.api.requests.at(-1)?.headers[rolesHeader], "network_eng");
    });

    test("user without role is rejected", async () => {
        const upstreamBefore = chain.upstreamRequestCount;

        const result = await chain.signIn("no-role");

        assert.equal(result.callback.status, 403);
        assert.equal(result.sessionCookie, undefined);
        const cookie = cookiePairs([...result.start.setCookies, ...result.callback.setCookies]).join("; ");
        const api = await chain.sendWithoutSession({ path: "/api/whoami", cookie });
        const page = await chain.sendWithoutSession({ path: "/", cookie });
        assert.equal(api.status, 401);
        assert.equal(page.status, 302);
        assert.equal(chain.upstreamRequestCount, upstreamBefore);
    });

    test("user without mail signs in", async () => {
        const { callback, sessionCookie } = await chain.signIn("no-email");

        assert.equal(callback.status, 302, callback.body);
        const response = await chain.send({ path: "/api/whoami", cookie: sessionCookie });

        assert.equal(response.status, 200);
        assert.equal(chain.api.requests.at(-1)?.headers[userHeader], "no.mail@netos-test.example");
        assert.equal(chain.api.requests.at(-1)?.headers[rolesHeader], "network_eng");
    });

    test("large token keeps cookie small", async (t) => {
        const user = testUser("large-token");

        const result = await chain.signIn("large-token");

        const idToken = chain.issuer.issuedIdTokens.at(-1) ?? "";
        t.diagnostic(`ID token: ${idToken.length} bytes; Set-Cookie lines: ${result.callback.setCookies.map((line) => line.length).join(", ")} bytes`);
        assert.ok(idToken.length > 16_000, `the large token has only ${idToken.length} bytes`);
        assert.ok(result.sessionCookie, "no session cookie for the large token");
        for (const line of result.callback.setCookies) {
            assert.ok(line.length < 1024, `Set-Cookie of ${line.length} bytes`);
        }

        const api = await chain.send({ path: "/api/whoami", cookie: result.sessionCookie });
        const page = await chain.send({ path: "/", cookie: result.sessionCookie });

        assert.equal(api.status, 200, api.body);
        assert.equal(page.status, 200, page.body);
        const received = chain.api.requests.at(-1);
        assert.equal(received?.headers.authorization, `Bearer ${idToken}`);
        assert.equal(received?.headers[rolesHeader], user.roles.join(","));
    });

    test("client identity headers are replaced", async () => {
        const { sessionCookie } = await chain.signIn("network-eng");
        // Every forged value contains evil.example, so the check below finds any that passed.
        const forged = "forged@evil.example";
        const forgedRoles = "exec,admin.evil.example";
        const headers = {
            [chainIdentityHeaders.user]: forged,
            [chainIdentityHeaders.roles]: forgedRoles,
            "X-Forwarded-User": forged,
            "X-Forwarded-Email": forged,
            "X-Forwarded-Preferred-Username": forged,
            "X-Forwarded-Groups": forgedRoles,
            "X-Auth-Request-User": forged,
            "X-Auth-Request-Email": forged,
            "X-Auth-Request-Preferred-Username": forged,
            "X-Auth-Request-Groups": forgedRoles,
            "X-Auth-Request-Access-Token": forged,
            "X-Forwarded-Access-Token": forged,
            "X-Forwarded-Host": "evil.example",
            Forwarded: "for=192.0.2.1;host=evil.example;proto=http",
            Authorization: "Bearer forged.evil.example",
        };

        await chain.send({ path: "/api/whoami", cookie: sessionCookie, headers });
        await chain.send({ path: "/", cookie: sessionCookie, headers });

        for (const received of [chain.api.requests.at(-1), chain.web.requests.at(-1)]) {
            assert.equal(received?.headers[userHeader], "network.eng@netos-test.example");
            assert.equal(received?.headers[rolesHeader], "network_eng");
            const forwarded = Object.entries(received?.headers ?? {}).filter(([, value]) => String(value).includes("evil.example"));
            assert.deepEqual(forwarded, []);
        }
        assert.equal(chain.api.requests.at(-1)?.headers.authorization, `Bearer ${chain.issuer.issuedIdTokens.at(-1)}`);
    });

    test("api docs work when signed in", async () => {
        const { sessionCookie } = await chain.signIn("exec");

        const docs = await chain.send({ path: "/docs-api/", cookie: sessionCookie });
        const docsPath = chain.api.requests.at(-1)?.url;
        const schema = await chain.send({ path: "/openapi.json", cookie: sessionCookie });
        const schemaPath = chain.api.requests.at(-1)?.url;

        assert.equal(docs.status, 200);
        assert.equal(docsPath, "/docs");
        assert.match(docs.body, /url: '\/openapi\.json'/);
        assert.equal(schema.status, 200);
        assert.equal(schemaPath, "/openapi.json");
        assert.equal((JSON.parse(schema.body) as { openapi: string }).openapi, "3.1.0");
    });

    test("open redirects are rejected", async () => {
        const targets = [
            "https://evil.example/",
            "http://evil.example",
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "\\\\evil.example",
            "/\\/evil.example",
            "https:evil.example",
            "https://netos.xiberian.net.evil.example/",
            "https://netos.xiberian.net@evil.example/",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            " //evil.example",
            "\t//evil.example",
        ];
        for (const target of targets) {
            const result = await chain.signIn("exec", `/oauth2/start?rd=${encodeURIComponent(target)}`);

            assert.equal(result.callback.status, 302, `rd=${target}: ${result.callback.body}`);
            assert.equal(redirectHost(result.callback), chainHostname, `rd=${target} redirected to ${result.callback.headers.location}`);
        }
    });

    test("redirect header is not followed", async () => {
        const result = await chain.signIn("exec", "/oauth2/start", { "X-Auth-Request-Redirect": "https://evil.example/" });

        assert.equal(result.callback.status, 302);
        assert.equal(redirectHost(result.callback), chainHostname, `redirected to ${result.callback.headers.location}`);
    });

    test("sign-out redirect stays on host", async () => {
        for (const target of ["https://evil.example/", "//evil.example", "/\\evil.example"]) {
            const response = await chain.sendWithoutSession({ path: `/oauth2/sign_out?rd=${encodeURIComponent(target)}` });

            assert.equal(response.status, 302);
            assert.equal(redirectHost(response), chainHostname, `rd=${target} redirected to ${response.headers.location}`);
        }
    });

    test("bad ID tokens are rejected", async () => {
        const now = Math.floor(Date.now() / 1000);
        const otherTenant = "00000000-0000-4000-8000-0000000000ff";
        const badClaims: Record<string, Record<string, unknown>> = {
            "other nonce": { nonce: "not-the-nonce-of-this-sign-in" },
            "other audience": { aud: "00000000-0000-4000-8000-0000000000aa" },
            "other issuer": { iss: `https://login.microsoftonline.com/${otherTenant}/v2.0` },
            "other tenant": { tid: otherTenant },
            expired: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 },
        };
        for (const [name, claims] of Object.entries(badClaims)) {
            chain.issuer.extraIdTokenClaims = claims;
            try {
                const result = await chain.signIn("exec");

                assert.equal(result.sessionCookie, undefined, `${name}: a session was created`);
                assert.notEqual(result.callback.status, 302, `${name}: the callback redirected to ${result.callback.headers.location}`);
            } finally {
                chain.issuer.extraIdTokenClaims = {};
            }
        }
    });

    test("login page signs in by form", async () => {
        const start = await chain.sendWithoutSession({ path: "/devices" });
        const authorizeUrl = new URL(start.headers.location ?? "");

        const page = await sendTo(Number(authorizeUrl.port), { path: `${authorizeUrl.pathname}${authorizeUrl.search}` });
        assert.equal(page.status, 200);
        for (const key of ["exec", "network-eng", "no-role", "no-email", "large-token"]) {
            assert.match(page.body, new RegExp(`name="user" value="${key}"`));
        }

        const form = new URLSearchParams(authorizeUrl.searchParams);
        form.set("user", "network-eng");
        const chosen = await sendTo(Number(authorizeUrl.port), {
            path: authorizeUrl.pathname,
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: form.toString(),
        });
        assert.equal(chosen.status, 302);
        const callbackUrl = new URL(chosen.headers.location ?? "");
        const callback = await chain.sendWithoutSession({
            path: `${callbackUrl.pathname}${callbackUrl.search}`,
            cookie: cookiePairs(start.setCookies).join("; "),
        });
        assert.equal(callback.status, 302, callback.body);
        assert.equal(callback.headers.location, "/devices");
    });

    test("no upstream reached without a session", (t) => {
        t.diagnostic(chain.auditSummary());

        assert.ok(chain.audit.sent > 30, `only ${chain.audit.sent} requests were sent without a session`);
        assert.equal(chain.audit.reachedUpstream, 0, `reached an upstream: ${chain.audit.leaks.join(", ")}`);
    });
});
