/**
 * The stand-in Entra ID issuer on its own: the chain tests rely on it to
 * reject what Entra ID rejects (a wrong PKCE verifier, client secret or
 * redirect URI, a reused code) and to sign tokens shaped like Entra v2's.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import type { JSONWebKeySet } from "jose";

import { sendTo } from "../support/chain";
import type { ChainResponse } from "../support/chain";
import { OidcIssuer, testUser } from "../support/oidcIssuer";

const tenantId = "4944843d-e347-4fe7-a279-4006ce5efc33";
const clientId = "0e4f5c1a-7d2b-4c8e-9a3f-6b1d2e3f4a5b";
const clientSecret = "test-client-secret";
const redirectUri = "https://netos.xiberian.net/oauth2/callback";

describe("stand-in issuer", () => {
    let issuer: OidcIssuer;

    before(async () => {
        issuer = await OidcIssuer.start({ tenantId, clientId, clientSecret, redirectUri });
    });

    after(async () => {
        await issuer?.stop();
    });

    function port(): number {
        return Number(new URL(issuer.baseUrl).port);
    }

    /** Sends an authorization request for a user and returns the issuer's response. */
    function authorize(overrides: Record<string, string>): Promise<ChainResponse> {
        const params = new URLSearchParams({
            client_id: clientId,
            redirect_uri: redirectUri,
            response_type: "code",
            scope: "openid email profile offline_access",
            state: "state-1",
            nonce: "nonce-1",
            login_hint: "exec",
            ...overrides,
        });
        return sendTo(port(), { path: `${new URL(issuer.authorizeUrl).pathname}?${params.toString()}` });
    }

    /** Runs the authorization request with a fresh PKCE pair and returns the code and the verifier. */
    async function issueCode(userKey = "exec"): Promise<{ code: string; verifier: string }> {
        const verifier = randomBytes(32).toString("base64url");
        const challenge = createHash("sha256").update(verifier).digest("base64url");
        const response = await authorize({ login_hint: userKey, code_challenge: challenge, code_challenge_method: "S256" });
        assert.equal(response.status, 302, response.body);
        const code = new URL(response.headers.location ?? "").searchParams.get("code");
        return { code: code ?? assert.fail("no code in the redirect"), verifier };
    }

    function redeem(fields: Record<string, string>): Promise<ChainResponse> {
        const body = new URLSearchParams({ grant_type: "authorization_code", redirect_uri: redirectUri, client_id: clientId, client_secret: clientSecret, ...fields });
        return sendTo(port(), {
            path: new URL(issuer.tokenUrl).pathname,
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: body.toString(),
        });
    }

    test("code redirect carries state", async () => {
        const verifier = randomBytes(32).toString("base64url");
        const challenge = createHash("sha256").update(verifier).digest("base64url");

        const response = await authorize({ code_challenge: challenge, code_challenge_method: "S256" });

        const location = new URL(response.headers.location ?? "");
        assert.equal(`${location.origin}${location.pathname}`, redirectUri);
        assert.equal(location.searchParams.get("state"), "state-1");
        assert.ok(location.searchParams.get("code"));
    });

    test("authorization without PKCE is rejected", async () => {
        const missing = await authorize({});
        const plain = await authorize({ code_challenge: "abc", code_challenge_method: "plain" });

        assert.equal(missing.status, 400);
        assert.equal(plain.status, 400);
    });

    test("other redirect URI is rejected", async () => {
        const response = await authorize({ redirect_uri: "https://evil.example/oauth2/callback", code_challenge: "abc", code_challenge_method: "S256" });

        assert.equal(response.status, 400);
        assert.equal(response.headers.location, undefined);
    });

    test("token with verifier is issued", async () => {
        const { code, verifier } = await issueCode();

        const response = await redeem({ code, code_verifier: verifier });

        assert.equal(response.status, 200, response.body);
        const body = JSON.parse(response.body) as Record<string, unknown>;
        assert.equal(typeof body.id_token, "string");
        assert.equal(typeof body.access_token, "string");
        assert.equal(typeof body.refresh_token, "string");
    });

    test("wrong verifier is rejected", async () => {
        const { code } = await issueCode();

        const response = await redeem({ code, code_verifier: randomBytes(32).toString("base64url") });

        assert.equal(response.status, 400);
        assert.equal((JSON.parse(response.body) as { error: string }).error, "invalid_grant");
    });

    test("wrong client secret is rejected", async () => {
        const { code, verifier } = await issueCode();

        const response = await redeem({ code, code_verifier: verifier, client_secret: "wrong" });

        assert.equal(response.status, 401);
        assert.equal((JSON.parse(response.body) as { error: string }).error, "invalid_client");
    });

    test("code is single use", async () => {
        const { code, verifier } = await issueCode();

        const first = await redeem({ code, code_verifier: verifier });
        const second = await redeem({ code, code_verifier: verifier });

        assert.equal(first.status, 200);
        assert.equal(second.status, 400);
    });

    test("ID token is shaped like Entra v2", async () => {
        const { code, verifier } = await issueCode("no-email");
        const response = await redeem({ code, code_verifier: verifier });
        const idToken = (JSON.parse(response.body) as { id_token: string }).id_token;
        const jwks = JSON.parse((await sendTo(port(), { path: new URL(issuer.jwksUrl).pathname })).body) as JSONWebKeySet;

        const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
            issuer: `https://login.microsoftonline.com/${tenantId}/v2.0`,
            audience: clientId,
        });

        assert.equal(protectedHeader.alg, "RS256");
        assert.equal(payload.tid, tenantId);
        assert.equal(payload.ver, "2.0");
        assert.equal(payload.nonce, "nonce-1");
        assert.equal(payload.preferred_username, testUser("no-email").preferredUsername);
        assert.deepEqual(payload.roles, ["network_eng"]);
        assert.equal(payload.email, undefined);
        assert.equal(payload.email_verified, undefined);
        assert.equal(payload.groups, undefined);
        assert.equal(payload._claim_names, undefined);
        assert.equal(payload._claim_sources, undefined);
    });

    test("user without role has no roles claim", async () => {
        const token = await issuer.signIdToken(testUser("no-role"), undefined);
        const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;

        assert.equal(payload.roles, undefined);
        assert.equal(payload.email, "no.role@netos-test.example");
    });

    test("large token is about 20 KB", async () => {
        const token = await issuer.signIdToken(testUser("large-token"), "nonce");

        assert.ok(token.length > 16_000, `${token.length} bytes`);
        assert.ok(token.length < 32_000, `${token.length} bytes`);
        assert.ok(testUser("large-token").roles.includes("exec"));
    });
});
