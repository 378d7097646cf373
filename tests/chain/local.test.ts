/**
 * The chain in `npm run local` mode: plain HTTP on 127.0.0.1 for a browser on
 * this machine, so the cookie is not Secure. Production keeps Secure cookies,
 * and the generated flags reject a non-Secure cookie on any other origin.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { oauth2ProxyArgs } from "../../generated/oauth2Proxy";
import type { OAuth2ProxyInput } from "../../generated/oauth2Proxy";
import { Chain, chainAllowedRoles, chainClientId, chainTenantId } from "../support/chain";

const productionInput: OAuth2ProxyInput = {
    tenantId: chainTenantId,
    clientId: chainClientId,
    publicOrigin: "https://netos.xiberian.net",
    allowedRoles: chainAllowedRoles,
    trustedProxyCidrs: ["172.18.0.0/16"],
};

describe("chain in local mode", () => {
    let chain: Chain;

    before(async () => {
        chain = await Chain.start({ mode: "local" });
    });

    after(async () => {
        await chain?.stop();
    });

    test("redirect URI uses the loopback origin", async () => {
        const response = await chain.sendWithoutSession({ path: "/" });

        const location = new URL(response.headers.location ?? "");
        assert.equal(location.searchParams.get("redirect_uri"), `http://127.0.0.1:${chain.proxyPort}/oauth2/callback`);
    });

    test("browser signs in over plain HTTP", async () => {
        const result = await chain.signIn("exec", "/devices");

        assert.equal(result.callback.headers.location, "/devices");
        const line = result.callback.setCookies.find((cookie) => cookie.startsWith("netos_session_local=")) ?? "";
        assert.doesNotMatch(line, /; Secure/);
        assert.match(line, /; HttpOnly/);
        const page = await chain.send({ path: "/devices", cookie: result.sessionCookie });
        assert.equal(page.status, 200);
        assert.match(page.body, /Signed in as: exec\.user@netos-test\.example/);
    });

    test("no upstream reached without a session", (t) => {
        t.diagnostic(chain.auditSummary());

        assert.equal(chain.audit.reachedUpstream, 0, `reached an upstream: ${chain.audit.leaks.join(", ")}`);
    });
});

describe("cookie security flags", () => {
    test("production cookie is secure", () => {
        const flags = oauth2ProxyArgs(productionInput);

        assert.ok(flags.includes("--cookie-secure=true"));
        assert.ok(flags.includes("--cookie-name=__Host-netos_session"));
    });

    test("insecure cookie needs a loopback origin", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, cookieSecure: false, cookieName: "netos_session" }), /cookieSecure may be false only for a loopback origin/);
    });

    test("insecure cookie needs a plain name", () => {
        assert.throws(
            () => oauth2ProxyArgs({ ...productionInput, publicOrigin: "http://127.0.0.1:4180", cookieSecure: false }),
            /cookieName "__Host-netos_session" needs a Secure cookie/,
        );
    });
});
