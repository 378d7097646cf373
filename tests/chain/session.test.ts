/**
 * Session cookies in the real chain (OAuth2-Proxy v7.15.6 with sessions in
 * Redis): tampered, re-signed, expired and signed-out cookies are rejected,
 * and a session past its refresh period gets a new ID token.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { Chain, chainIdentityHeaders, cookiePairs, resignSessionCookie, sendTo, sessionRedisKey } from "../support/chain";

/** Returns the value of a `--name=value` flag, or throws naming the flag. */
function flagValue(flags: readonly string[], name: string): string {
    const flag = flags.find((candidate) => candidate.startsWith(`${name}=`));
    if (flag === undefined) {
        throw new Error(`OAuth2-Proxy runs without ${name}`);
    }
    return flag.slice(name.length + 1);
}

/** Converts a Go duration made of hours, minutes and seconds (`8h`, `1h30m`) to seconds. */
function goDurationSeconds(duration: string): number {
    const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
    const parts = [...duration.matchAll(/([0-9]+)([hms])/g)];
    if (parts.length === 0 || parts.map((part) => part[0]).join("") !== duration) {
        throw new Error(`unsupported Go duration "${duration}"; expected hours, minutes and seconds such as 8h or 1h30m`);
    }
    return parts.reduce((total, part) => total + Number(part[1]) * (units[part[2] ?? "s"] ?? 1), 0);
}

/** Replaces one character in the middle of a string with a different one. */
function flipCharacter(text: string, index: number): string {
    const replacement = text[index] === "A" ? "B" : "A";
    return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

describe("chain session cookies", () => {
    let chain: Chain;
    let cookie: string;

    before(async () => {
        chain = await Chain.start();
        const result = await chain.signIn("exec");
        cookie = result.sessionCookie ?? assert.fail(`no session cookie: ${result.callback.status} ${result.callback.body}`);
    });

    after(async () => {
        await chain?.stop();
    });

    test("valid cookie is accepted", async () => {
        const response = await chain.send({ path: "/api/x", cookie });

        assert.equal(response.status, 200);
    });

    test("re-signed cookie is accepted", async () => {
        // Proves resignSessionCookie signs as OAuth2-Proxy does, so the
        // rejections below come from the timestamp or the secret alone.
        const now = Math.floor(Date.now() / 1000);

        const response = await chain.send({ path: "/api/x", cookie: resignSessionCookie(cookie, chain.cookieSecret, now) });

        assert.equal(response.status, 200);
    });

    test("tampered cookies are rejected", async () => {
        const separator = cookie.indexOf("=");
        const [value, timestamp, signature] = cookie.slice(separator + 1).split("|");
        const name = cookie.slice(0, separator);
        const tampered = {
            value: `${name}=${flipCharacter(value ?? "", 20)}|${timestamp}|${signature}`,
            timestamp: `${name}=${value}|${Number(timestamp) + 1}|${signature}`,
            signature: `${name}=${value}|${timestamp}|${flipCharacter(signature ?? "", 10)}`,
            "missing signature": `${name}=${value}|${timestamp}`,
            "other name": `${name}x=${value}|${timestamp}|${signature}`,
        };
        for (const [kind, forged] of Object.entries(tampered)) {
            const response = await chain.sendWithoutSession({ path: "/api/x", cookie: forged });

            assert.equal(response.status, 401, `tampered ${kind}`);
        }
    });

    test("cookie signed with another secret is rejected", async () => {
        const otherSecret = randomBytes(32).toString("base64url");
        const now = Math.floor(Date.now() / 1000);

        const response = await chain.sendWithoutSession({ path: "/api/x", cookie: resignSessionCookie(cookie, otherSecret, now) });

        assert.equal(response.status, 401);
    });

    test("expired cookie is rejected", async () => {
        const lifetime = goDurationSeconds(flagValue(chain.oauth2ProxyFlags, "--cookie-expire"));
        const issuedAt = Math.floor(Date.now() / 1000) - lifetime - 60;

        const response = await chain.sendWithoutSession({ path: "/api/x", cookie: resignSessionCookie(cookie, chain.cookieSecret, issuedAt) });

        assert.equal(response.status, 401);
    });

    test("callback without CSRF cookie is rejected", async () => {
        const start = await chain.sendWithoutSession({ path: "/" });
        const authorizeUrl = new URL(start.headers.location ?? "");
        authorizeUrl.searchParams.set("login_hint", "exec");
        const authorize = await sendTo(Number(authorizeUrl.port), { path: `${authorizeUrl.pathname}${authorizeUrl.search}` });
        const callbackUrl = new URL(authorize.headers.location ?? "");

        const callback = await chain.sendWithoutSession({ path: `${callbackUrl.pathname}${callbackUrl.search}` });

        assert.equal(callback.status, 403);
        const sessionCookies = cookiePairs(callback.setCookies).filter((pair) => pair.startsWith(`${chain.sessionCookieName}=`));
        assert.ok(sessionCookies.every((pair) => pair === `${chain.sessionCookieName}=`), `Set-Cookie: ${callback.setCookies.join(" | ")}`);
    });

    test("sign-out deletes the session", async () => {
        const { sessionCookie } = await chain.signIn("network-eng");
        const signedIn = sessionCookie ?? assert.fail("no session cookie");
        const key = sessionRedisKey(signedIn);
        assert.equal((await chain.redis("EXISTS", key)).trim(), "1");

        const signOut = await chain.send({ path: "/oauth2/sign_out", cookie: signedIn });

        assert.equal(signOut.status, 302);
        assert.ok(signOut.setCookies.some((line) => line.startsWith(`${chain.sessionCookieName}=;`)), `Set-Cookie: ${signOut.setCookies.join(" | ")}`);
        assert.equal((await chain.redis("EXISTS", key)).trim(), "0");
        const api = await chain.sendWithoutSession({ path: "/api/x", cookie: signedIn });
        const page = await chain.sendWithoutSession({ path: "/", cookie: signedIn });
        assert.equal(api.status, 401);
        assert.equal(page.status, 302);
    });

    test("session lives only in Redis", async () => {
        // The cookie is only a ticket: removing the Redis entry ends the session.
        const { sessionCookie } = await chain.signIn("exec");
        const signedIn = sessionCookie ?? assert.fail("no session cookie");
        assert.equal((await chain.send({ path: "/api/x", cookie: signedIn })).status, 200);

        await chain.redis("DEL", sessionRedisKey(signedIn));

        const response = await chain.sendWithoutSession({ path: "/api/x", cookie: signedIn });
        assert.equal(response.status, 401);
    });

    test("no upstream reached without a session", (t) => {
        t.diagnostic(chain.auditSummary());

        assert.ok(chain.audit.sent > 10, `only ${chain.audit.sent} requests were sent without a session`);
        assert.equal(chain.audit.reachedUpstream, 0, `reached an upstream: ${chain.audit.leaks.join(", ")}`);
    });
});

describe("chain session refresh", () => {
    let chain: Chain;

    before(async () => {
        // A refresh period of 1 s instead of 50 m, so a refresh happens within the test.
        chain = await Chain.start({ oauth2ProxyOverrides: { cookieRefresh: "1s" } });
    });

    after(async () => {
        await chain?.stop();
    });

    test("refresh renews the bearer token", async () => {
        const { sessionCookie } = await chain.signIn("exec");
        const signedIn = sessionCookie ?? assert.fail("no session cookie");
        const firstToken = chain.issuer.issuedIdTokens.at(-1);
        // Wait well past the period: after 1.5 s, OAuth2-Proxy v7.15.6 did not refresh yet.
        await new Promise((resolve) => setTimeout(resolve, 2500));

        const response = await chain.send({ path: "/api/whoami", cookie: signedIn });

        assert.equal(response.status, 200, response.body);
        assert.equal(chain.issuer.issuedIdTokens.length, 2, "the session was not refreshed with the refresh token");
        const renewed = chain.issuer.issuedIdTokens.at(-1);
        assert.notEqual(renewed, firstToken);
        assert.equal(chain.api.requests.at(-1)?.headers.authorization, `Bearer ${renewed}`);
        assert.equal(chain.api.requests.at(-1)?.headers[chainIdentityHeaders.roles.toLowerCase()], "exec");
    });
});
