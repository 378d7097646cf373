import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

import { oauth2ProxyArgs, oauth2ProxyCookieSecret, oauth2ProxySecretEnv, type OAuth2ProxyInput } from "../generated/oauth2Proxy";
import { oauth2CallbackUrl } from "../services";
import { oauth2ProxyBinary, redisServerBinary } from "./support/binaries";
import { freePort } from "./support/ports";

const tenantId = "4944843d-e347-4fe7-a279-4006ce5efc33";
const clientId = "0b7f2c1e-5d4a-4e7b-9c3d-2a1f0e9d8c7b";

const productionInput: OAuth2ProxyInput = {
    tenantId,
    clientId,
    publicOrigin: "https://netos.xiberian.net",
    allowedRoles: ["NetOS.User", "NetOS.Admin"],
    trustedProxyCidrs: ["172.30.0.0/24"],
};

/** Returns every value of `--name=value` flags, in order. */
function flagValues(args: readonly string[], name: string): string[] {
    const prefix = `--${name}=`;
    return args.filter((arg) => arg.startsWith(prefix)).map((arg) => arg.slice(prefix.length));
}

function flagValue(args: readonly string[], name: string): string | undefined {
    const values = flagValues(args, name);
    assert.ok(values.length <= 1, `--${name} appears ${values.length} times`);
    return values[0];
}

describe("oauth2ProxyArgs flags", () => {
    const args = oauth2ProxyArgs(productionInput);

    test("provider and issuer", () => {
        assert.equal(flagValue(args, "provider"), "entra-id");
        assert.equal(flagValue(args, "oidc-issuer-url"), `https://login.microsoftonline.com/${tenantId}/v2.0`);
        assert.equal(flagValue(args, "client-id"), clientId);
        assert.equal(flagValue(args, "entra-id-allowed-tenant"), tenantId);
    });

    test("scope includes openid email profile", () => {
        const scopes = (flagValue(args, "scope") ?? "").split(" ");
        for (const scope of ["openid", "email", "profile"]) {
            assert.ok(scopes.includes(scope), `scope lacks ${scope}`);
        }
    });

    test("redirect URL from services.ts", () => {
        assert.equal(flagValue(args, "redirect-url"), oauth2CallbackUrl("https://netos.xiberian.net"));
        assert.equal(flagValue(args, "redirect-url"), "https://netos.xiberian.net/oauth2/callback");
    });

    test("production uses discovery", () => {
        assert.ok(!args.includes("--skip-oidc-discovery"));
        assert.equal(flagValue(args, "login-url"), undefined);
        assert.equal(flagValue(args, "redeem-url"), undefined);
        assert.equal(flagValue(args, "oidc-jwks-url"), undefined);
    });

    test("cookie settings", () => {
        assert.equal(flagValue(args, "cookie-name"), "__Host-netos_session");
        assert.equal(flagValue(args, "cookie-secure"), "true");
        assert.equal(flagValue(args, "cookie-path"), "/");
        assert.equal(flagValue(args, "cookie-samesite"), "lax");
        assert.equal(flagValue(args, "cookie-expire"), "8h");
        assert.equal(flagValue(args, "cookie-refresh"), "50m");
        assert.equal(flagValue(args, "cookie-domain"), undefined);
    });

    test("redis session store", () => {
        assert.equal(flagValue(args, "session-store-type"), "redis");
        assert.equal(flagValue(args, "redis-connection-url"), "redis://redis:6379");
    });

    test("upstream and address defaults", () => {
        assert.equal(flagValue(args, "upstream"), "http://public-proxy:8080/");
        assert.equal(flagValue(args, "http-address"), "0.0.0.0:4180");
    });

    test("trusted proxies, never trusted IPs", () => {
        assert.ok(args.includes("--reverse-proxy"));
        assert.deepEqual(flagValues(args, "trusted-proxy-ip"), ["172.30.0.0/24"]);
        assert.equal(args.some((arg) => arg.startsWith("--trusted-ip")), false);
    });

    test("api routes answer 401", () => {
        const routes = flagValues(args, "api-route").map((route) => new RegExp(route));
        assert.ok(routes.some((route) => route.test("/api/x")), "no route matches /api/x");
        assert.ok(routes.some((route) => route.test("/openapi.json")), "no route matches /openapi.json");
        assert.equal(routes.some((route) => route.test("/docs-api/")), false);
        assert.equal(routes.some((route) => route.test("/")), false);
    });

    test("roles gate access", () => {
        assert.equal(flagValue(args, "oidc-groups-claim"), "roles");
        assert.deepEqual(flagValues(args, "allowed-group"), ["NetOS.User", "NetOS.Admin"]);
        assert.equal(flagValue(args, "email-domain"), "*");
        assert.ok(args.includes("--skip-claims-from-profile-url"));
    });

    test("users without email accepted", () => {
        assert.equal(flagValue(args, "oidc-email-claim"), "preferred_username");
    });

    test("upstream identity headers", () => {
        assert.equal(flagValue(args, "pass-authorization-header"), "true");
        assert.equal(flagValue(args, "pass-user-headers"), "true");
        assert.equal(flagValue(args, "skip-auth-strip-headers"), "true");
        assert.equal(flagValue(args, "pass-basic-auth"), "false");
    });

    test("sign-in and health flags", () => {
        assert.ok(args.includes("--skip-provider-button"));
        assert.ok(args.includes("--silence-ping-logging"));
        assert.equal(flagValue(args, "ping-path"), "/ping");
        assert.equal(flagValue(args, "whitelist-domain"), undefined);
        assert.equal(flagValue(args, "metrics-address"), undefined);
    });

    test("no secret flags", () => {
        for (const flag of ["client-secret", "cookie-secret", "redis-password", "client-secret-file", "cookie-secret-file"]) {
            assert.equal(args.some((arg) => arg.startsWith(`--${flag}`)), false, `--${flag} must not be on the command line`);
        }
    });

    test("secret env names", () => {
        assert.equal(oauth2ProxySecretEnv.clientSecret, "OAUTH2_PROXY_CLIENT_SECRET");
        assert.equal(oauth2ProxySecretEnv.cookieSecret, "OAUTH2_PROXY_COOKIE_SECRET");
        assert.equal(oauth2ProxySecretEnv.redisPassword, "OAUTH2_PROXY_REDIS_PASSWORD");
    });

    test("metrics address optional", () => {
        const withMetrics = oauth2ProxyArgs({ ...productionInput, metricsAddress: "0.0.0.0:9180" });
        assert.equal(flagValue(withMetrics, "metrics-address"), "0.0.0.0:9180");
    });
});

describe("oauth2ProxyArgs validation", () => {
    test("empty roles rejected", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, allowedRoles: [] }), /allowedRoles must list at least one app role/);
    });

    test("empty trusted proxies rejected", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, trustedProxyCidrs: [] }), /trustedProxyCidrs must list cloudflared's network/);
    });

    test("invalid CIDR rejected", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, trustedProxyCidrs: ["10.0.0.0/33"] }), /received "10\.0\.0\.0\/33"/);
    });

    test("skip discovery needs endpoints", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, skipDiscovery: true, loginUrl: "http://127.0.0.1:1/authorize" }), (error: Error) => {
            assert.match(error.message, /redeemUrl must be an http\(s\) URL when skipDiscovery is true/);
            assert.match(error.message, /jwksUrl must be an http\(s\) URL when skipDiscovery is true/);
            assert.doesNotMatch(error.message, /loginUrl/);
            return true;
        });
    });

    test("redis password never echoed", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, redisUrl: "redis://:hunter2@redis:6379" }), (error: Error) => {
            assert.match(error.message, /redisUrl must be a redis:\/\/ URL without credentials/);
            assert.doesNotMatch(error.message, /hunter2/);
            return true;
        });
    });

    test("public origin with path rejected", () => {
        assert.throws(() => oauth2ProxyArgs({ ...productionInput, publicOrigin: "https://netos.xiberian.net/app" }), /publicOrigin must be a scheme, host and optional port/);
    });
});

describe("oauth2ProxyCookieSecret", () => {
    test("converts to URL-safe base64", () => {
        const standard = Buffer.from(Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? 0xfb : 0xff))).toString("base64");
        assert.match(standard, /[+/]/);
        const converted = oauth2ProxyCookieSecret(standard);
        assert.doesNotMatch(converted, /[+/=]/);
        assert.equal(Buffer.from(converted, "base64url").length, 32);
    });

    test("wrong length rejected", () => {
        const secret = randomBytes(20).toString("base64");
        assert.throws(() => oauth2ProxyCookieSecret(secret), (error: Error) => {
            assert.match(error.message, /16, 24 or 32 bytes/);
            assert.ok(!error.message.includes(secret), "the message must not contain the secret");
            return true;
        });
    });
});

describe("binary lookup", () => {
    test("missing binary names setup", (t) => {
        const emptyCache = mkdtempSync(path.join(os.tmpdir(), "netos-cache-"));
        const saved = process.env["XDG_CACHE_HOME"];
        t.after(() => {
            if (saved === undefined) {
                delete process.env["XDG_CACHE_HOME"];
            } else {
                process.env["XDG_CACHE_HOME"] = saved;
            }
            rmSync(emptyCache, { recursive: true, force: true });
        });
        process.env["XDG_CACHE_HOME"] = emptyCache;
        assert.throws(() => oauth2ProxyBinary(), /bash scripts\/setup\.sh/);
    });
});

// ---- The real OAuth2-Proxy on 127.0.0.1, with discovery skipped ----

interface Reply {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
}

function get(port: number, urlPath: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        });
        req.setTimeout(5000, () => req.destroy(new Error(`GET ${urlPath} timed out after 5 s`)));
        req.on("error", reject);
    });
}

function collectOutput(child: ChildProcess): () => string {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    return () => output;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
    }
}

async function waitFor(what: string, child: ChildProcess, output: () => string, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) {
            throw new Error(`${what} exited with code ${child.exitCode}:\n${output()}`);
        }
        if (await ready().catch(() => false)) {
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} was not ready within 15 s:\n${output()}`);
}

describe("oauth2-proxy live", () => {
    let redis: ChildProcess | undefined;
    let proxy: ChildProcess | undefined;
    let proxyPort: number;
    let loginUrl: string;
    let publicOrigin: string;
    let args: string[];
    const redisPassword = randomBytes(16).toString("hex");
    const clientSecret = randomBytes(16).toString("hex");

    before(async () => {
        const binary = oauth2ProxyBinary();

        const redisPort = await freePort();
        redis = spawn(redisServerBinary(), ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", redisPassword], { stdio: ["ignore", "pipe", "pipe"] });
        const redisOutput = collectOutput(redis);
        await waitFor("redis-server", redis, redisOutput, async () => redisOutput().includes("Ready to accept connections"));

        // Nothing listens on the issuer port: with discovery skipped, OAuth2-Proxy
        // contacts the identity provider only when redeeming a code.
        const issuerPort = await freePort();
        const issuer = `http://127.0.0.1:${issuerPort}`;
        loginUrl = `${issuer}/${tenantId}/oauth2/v2.0/authorize`;
        proxyPort = await freePort();
        publicOrigin = `http://127.0.0.1:${proxyPort}`;
        const upstreamPort = await freePort();

        args = oauth2ProxyArgs({
            tenantId,
            clientId,
            publicOrigin,
            allowedRoles: ["NetOS.User"],
            trustedProxyCidrs: ["127.0.0.1/32"],
            issuerUrl: `${issuer}/${tenantId}/v2.0`,
            skipDiscovery: true,
            loginUrl,
            redeemUrl: `${issuer}/${tenantId}/oauth2/v2.0/token`,
            jwksUrl: `${issuer}/${tenantId}/discovery/v2.0/keys`,
            upstreamUrl: `http://127.0.0.1:${upstreamPort}/`,
            httpAddress: `127.0.0.1:${proxyPort}`,
            redisUrl: `redis://127.0.0.1:${redisPort}`,
        });

        // A standard base64 secret with + or / proves the conversion matters.
        let standardSecret = "";
        while (!/[+/]/.test(standardSecret)) {
            standardSecret = randomBytes(32).toString("base64");
        }
        proxy = spawn(binary, args, {
            stdio: ["ignore", "pipe", "pipe"],
            env: {
                PATH: process.env["PATH"] ?? "/usr/bin:/bin",
                [oauth2ProxySecretEnv.clientSecret]: clientSecret,
                [oauth2ProxySecretEnv.cookieSecret]: oauth2ProxyCookieSecret(standardSecret),
                [oauth2ProxySecretEnv.redisPassword]: redisPassword,
            },
        });
        const proxyOutput = collectOutput(proxy);
        await waitFor("oauth2-proxy", proxy, proxyOutput, async () => (await get(proxyPort, "/ping")).status === 200);
    });

    after(async () => {
        await stop(proxy);
        await stop(redis);
    });

    test("no secret on command line", () => {
        for (const secret of [redisPassword, clientSecret]) {
            assert.equal(args.some((arg) => arg.includes(secret)), false);
        }
    });

    test("ping answers 200", async () => {
        assert.equal((await get(proxyPort, "/ping")).status, 200);
    });

    test("api path answers 401", async () => {
        assert.equal((await get(proxyPort, "/api/x")).status, 401);
    });

    test("openapi.json answers 401", async () => {
        assert.equal((await get(proxyPort, "/openapi.json")).status, 401);
    });

    test("root redirects to login", async () => {
        const reply = await get(proxyPort, "/");
        assert.equal(reply.status, 302);
        const location = new URL(reply.headers.location ?? "");
        assert.equal(`${location.origin}${location.pathname}`, loginUrl);
        assert.equal(location.searchParams.get("redirect_uri"), oauth2CallbackUrl(publicOrigin));
        assert.equal(location.searchParams.get("client_id"), clientId);
        assert.equal(location.searchParams.get("code_challenge_method"), "S256");
    });

    test("docs-api redirects to login", async () => {
        const reply = await get(proxyPort, "/docs-api/");
        assert.equal(reply.status, 302);
        assert.ok((reply.headers.location ?? "").startsWith(loginUrl));
    });

    test("CSRF cookie is host-only", async () => {
        const reply = await get(proxyPort, "/");
        const cookie = (reply.headers["set-cookie"] ?? []).find((value) => value.startsWith("__Host-netos_session"));
        assert.ok(cookie, "no __Host-netos_session cookie was set");
        assert.match(cookie, /; Path=\/;/);
        assert.match(cookie, /; Secure/);
        assert.doesNotMatch(cookie, /Domain=/i);
    });
});

// What OAuth2-Proxy itself passes on, which generated/nginx.ts must correct:
// v7.15.6 copies client-sent Forwarded, X-Forwarded-Host and X-Forwarded-Proto
// to its upstream even when the peer is not a trusted proxy.
describe("oauth2-proxy forwarded headers live", () => {
    let redis: ChildProcess | undefined;
    let proxy: ChildProcess | undefined;
    let upstream: http.Server | undefined;
    let proxyPort: number;
    const received: http.IncomingHttpHeaders[] = [];
    const redisPassword = randomBytes(16).toString("hex");

    before(async () => {
        const redisPort = await freePort();
        redis = spawn(redisServerBinary(), ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", redisPassword], { stdio: ["ignore", "pipe", "pipe"] });
        const redisOutput = collectOutput(redis);
        await waitFor("redis-server", redis, redisOutput, async () => redisOutput().includes("Ready to accept connections"));

        upstream = http.createServer((req, res) => {
            received.push(req.headers);
            res.writeHead(200, { "content-type": "text/plain" }).end("upstream");
        });
        await new Promise<void>((resolve) => upstream?.listen(0, "127.0.0.1", resolve));
        const upstreamPort = (upstream.address() as { port: number }).port;

        const issuer = `http://127.0.0.1:${await freePort()}`;
        proxyPort = await freePort();
        const args = oauth2ProxyArgs({
            tenantId,
            clientId,
            publicOrigin: `http://127.0.0.1:${proxyPort}`,
            allowedRoles: ["NetOS.User"],
            // Loopback is not trusted here, so the test client plays an untrusted peer.
            trustedProxyCidrs: ["10.213.7.0/24"],
            issuerUrl: `${issuer}/${tenantId}/v2.0`,
            skipDiscovery: true,
            loginUrl: `${issuer}/${tenantId}/oauth2/v2.0/authorize`,
            redeemUrl: `${issuer}/${tenantId}/oauth2/v2.0/token`,
            jwksUrl: `${issuer}/${tenantId}/discovery/v2.0/keys`,
            upstreamUrl: `http://127.0.0.1:${upstreamPort}/`,
            httpAddress: `127.0.0.1:${proxyPort}`,
            redisUrl: `redis://127.0.0.1:${redisPort}`,
        });
        // One unauthenticated path, so a request reaches the upstream without a session.
        proxy = spawn(oauth2ProxyBinary(), [...args, "--skip-auth-route=^/probe$"], {
            stdio: ["ignore", "pipe", "pipe"],
            env: {
                PATH: process.env["PATH"] ?? "/usr/bin:/bin",
                [oauth2ProxySecretEnv.clientSecret]: randomBytes(16).toString("hex"),
                [oauth2ProxySecretEnv.cookieSecret]: oauth2ProxyCookieSecret(randomBytes(32).toString("base64")),
                [oauth2ProxySecretEnv.redisPassword]: redisPassword,
            },
        });
        const proxyOutput = collectOutput(proxy);
        await waitFor("oauth2-proxy", proxy, proxyOutput, async () => (await get(proxyPort, "/ping")).status === 200);
    });

    after(async () => {
        await stop(proxy);
        await stop(redis);
        await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
    });

    /** Sends /probe with client-chosen forwarding headers and returns what the upstream received. */
    async function probe(): Promise<http.IncomingHttpHeaders> {
        const before = received.length;
        const reply = await new Promise<number>((resolve, reject) => {
            const headers = { "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example", Forwarded: "for=192.0.2.1;host=evil.example;proto=http" };
            const req = http.get({ host: "127.0.0.1", port: proxyPort, path: "/probe", headers, agent: false }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            });
            req.setTimeout(5000, () => req.destroy(new Error("GET /probe timed out after 5 s")));
            req.on("error", reject);
        });
        assert.equal(reply, 200);
        assert.equal(received.length, before + 1, "the upstream did not receive /probe");
        return received[received.length - 1] as http.IncomingHttpHeaders;
    }

    test("passes client X-Forwarded-Proto", async () => {
        assert.equal((await probe())["x-forwarded-proto"], "http");
    });

    test("passes client X-Forwarded-Host", async () => {
        assert.equal((await probe())["x-forwarded-host"], "evil.example");
    });

    test("passes client Forwarded", async () => {
        assert.equal((await probe()).forwarded, "for=192.0.2.1;host=evil.example;proto=http");
    });
});
