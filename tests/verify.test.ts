/**
 * `npm run verify` against servers on loopback only: the real chain
 * (OAuth2-Proxy v7.15.6, Nginx and Redis), where every check must pass or be
 * skipped, and plain node:http servers that play a broken or an
 * Access-guarded deployment. No test names a remote target; the Cloudflare
 * check of a public hostname gets a stub resolver instead of DNS.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";

import {
    buildTarget,
    checkCloudflare,
    formatResult,
    formatSummary,
    isCloudflareAddress,
    isLoopbackTarget,
    parseCommandLine,
    protectedPaths,
    readStackConfig,
    runChecks,
    UsageError,
} from "../scripts/verify";
import type { CheckResult, Reply, VerifyTarget } from "../scripts/verify";
import { Chain, chainClientId, chainHostname, chainTenantId } from "./support/chain";
import { repoRoot } from "./support/mocks";

interface CommandResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Environment of the spawned commands: no npm update check, so nothing but the target is contacted. */
const commandEnv = { ...process.env, NPM_CONFIG_UPDATE_NOTIFIER: "false", NO_UPDATE_NOTIFIER: "1" };

/** Runs `npm run --silent verify -- <args>` in the repository and returns its exit code and output. */
function runVerifyCommand(args: readonly string[]): Promise<CommandResult> {
    return runCommand("npm", ["run", "--silent", "verify", "--", ...args], commandEnv);
}

function runCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        execFile(command, [...args], { cwd: repoRoot, env, timeout: 60_000 }, (error, stdout, stderr) => {
            if (error && typeof error.code !== "number") {
                reject(error);
                return;
            }
            resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
        });
    });
}

/** Returns the check lines of the output: every line that starts with a status. */
function checkLines(stdout: string): string[] {
    return stdout.split("\n").filter((line) => /^(PASS|FAIL|SKIP) /.test(line));
}

/** Returns the one line of a check, failing when it is missing or repeated. */
function lineOf(lines: readonly string[], checkName: string): string {
    const matches = lines.filter((line) => line.slice(6).startsWith(`${checkName}:`));
    assert.equal(matches.length, 1, `expected one line for "${checkName}" in:\n${lines.join("\n")}`);
    return matches[0] as string;
}

/** Starts a node:http server on 127.0.0.1 that handles every request with `handler`. */
async function startServer(handler: http.RequestListener): Promise<{ server: http.Server; port: number; paths: string[] }> {
    const paths: string[] = [];
    const server = http.createServer((request, response) => {
        paths.push(request.url ?? "");
        handler(request, response);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    return { server, port: (server.address() as AddressInfo).port, paths };
}

function stopServer(server: http.Server | undefined): Promise<void> {
    if (server === undefined) {
        return Promise.resolve();
    }
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
}

function result(status: CheckResult["status"], detail: string, fix?: string): CheckResult {
    return { name: "sign-in redirect: client_id", status, detail, fix };
}

describe("verify output format", () => {
    test("pass is one line", () => {
        const line = formatResult(result("PASS", "0e4f5c1a"));

        assert.equal(line, "PASS  sign-in redirect: client_id: 0e4f5c1a");
    });

    test("failure carries its fix", () => {
        const line = formatResult(result("FAIL", "client_id is x", "run pulumi up."));

        assert.ok(line.startsWith("FAIL  sign-in redirect: client_id: "), line);
        assert.ok(line.endsWith(" Fix: run pulumi up."), line);
    });

    test("skip has no fix", () => {
        const line = formatResult(result("SKIP", "not given", "ignored"));

        assert.doesNotMatch(line, /Fix:/);
    });

    test("line breaks are flattened", () => {
        const line = formatResult(result("FAIL", "first\nsecond\r\n third", "a\nb"));

        assert.doesNotMatch(line, /[\r\n]/);
        assert.match(line, /first second third/);
    });

    test("summary counts each status", () => {
        const summary = formatSummary([result("PASS", ""), result("FAIL", ""), result("FAIL", ""), result("SKIP", "")]);

        assert.equal(summary, "verify: 1 passed, 2 failed, 1 skipped");
    });
});

describe("verify command line", () => {
    test("no target is a usage error", () => {
        assert.throws(() => parseCommandLine([]), UsageError);
    });

    test("two targets are a usage error", () => {
        assert.throws(() => parseCommandLine(["--url", "https://a.example", "--host", "a.example"]), /only one of --stack, --url and --host/);
    });

    test("invalid access value", () => {
        assert.throws(() => parseCommandLine(["--host", "a.example", "--access", "yes"]), /invalid --access "yes"/);
    });

    test("url with a path", () => {
        assert.throws(() => buildTarget(parseCommandLine(["--url", "https://a.example/app"])), /give the origin only/);
    });

    test("invalid connect address", () => {
        assert.throws(() => buildTarget(parseCommandLine(["--host", "a.example", "--connect", "127.0.0.1"])), /use HOST:PORT/);
    });

    test("host gives an https origin", () => {
        const target = buildTarget(parseCommandLine(["--host", "netos.xiberian.net", "--connect", "127.0.0.1:4180"]));

        assert.equal(target.publicOrigin, "https://netos.xiberian.net");
        assert.deepEqual(target.connect, { host: "127.0.0.1", port: 4180 });
        assert.equal(target.access, "auto");
    });

    test("tenant gives the authorize endpoint", () => {
        const target = buildTarget(parseCommandLine(["--host", "a.example", "--tenant", chainTenantId]));

        assert.equal(target.authorizeUrl, `https://login.microsoftonline.com/${chainTenantId}/oauth2/v2.0/authorize`);
    });

    test("authorize url drops its query", () => {
        const target = buildTarget(parseCommandLine(["--host", "a.example", "--tenant", chainTenantId, "--authorize-url", "http://127.0.0.1:9/t/authorize?x=1"]));

        assert.equal(target.authorizeUrl, "http://127.0.0.1:9/t/authorize");
    });

    test("stack facts fill the target", () => {
        const target = buildTarget(parseCommandLine(["--stack", "prod"]), {
            publicUrl: "https://netos.xiberian.net",
            clientId: chainClientId,
            tenantId: chainTenantId,
            accessEnabled: false,
        });

        assert.equal(target.publicOrigin, "https://netos.xiberian.net");
        assert.equal(target.clientId, chainClientId);
        assert.equal(target.authorizeUrl, `https://login.microsoftonline.com/${chainTenantId}/oauth2/v2.0/authorize`);
        assert.equal(target.access, "off");
    });

    test("options override stack facts", () => {
        const target = buildTarget(parseCommandLine(["--stack", "prod", "--client-id", "other", "--access", "auto"]), {
            publicUrl: "https://netos.xiberian.net",
            clientId: chainClientId,
            accessEnabled: true,
        });

        assert.equal(target.clientId, "other");
        assert.equal(target.access, "auto");
    });

    test("stack without publicUrl", () => {
        assert.throws(() => buildTarget(parseCommandLine(["--stack", "prod"]), {}), /has no publicUrl output/);
    });

    test("prod stack config", () => {
        const config = readStackConfig("prod");

        assert.equal(config["netos:entraTenantId"], chainTenantId);
        assert.equal(config["netos:hostname"], chainHostname);
    });

    test("no target exits 2 and sends nothing", async () => {
        const run = await runVerifyCommand([]);

        assert.equal(run.code, 2);
        assert.match(run.stderr, /no target/);
        assert.equal(checkLines(run.stdout).length, 0);
    });

    test("stack without the Pulumi CLI exits 2", async () => {
        // PATH is an empty directory, so no `pulumi` is found even where one
        // is installed next to node; a real CLI would contact the backend.
        const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), "netos-verify-path-"));
        try {
            const env = { PATH: emptyBin, HOME: process.env.HOME ?? "/root" };

            const run = await runCommand(process.execPath, ["--import", "tsx", "scripts/verify.ts", "--stack", "prod"], env);

            assert.equal(run.code, 2);
            assert.match(run.stderr, /Pulumi CLI was not found/);
        } finally {
            fs.rmSync(emptyBin, { recursive: true, force: true });
        }
    });
});

describe("verify Cloudflare check", () => {
    const publicTarget: VerifyTarget = { publicOrigin: "https://netos.xiberian.net", access: "auto", timeoutMs: 1000 };
    const plainReply: Reply = { status: 302, headers: { location: "https://login.microsoftonline.com/" }, bodyBytes: 0 };

    test("Cloudflare addresses", () => {
        assert.equal(isCloudflareAddress("104.16.132.229"), true);
        assert.equal(isCloudflareAddress("172.67.1.1"), true);
        assert.equal(isCloudflareAddress("2606:4700:3033::6815:1"), true);
    });

    test("other addresses", () => {
        assert.equal(isCloudflareAddress("192.0.2.10"), false);
        assert.equal(isCloudflareAddress("127.0.0.1"), false);
        assert.equal(isCloudflareAddress("2001:db8::1"), false);
        assert.equal(isCloudflareAddress("not-an-address"), false);
    });

    test("loopback targets", () => {
        assert.equal(isLoopbackTarget({ ...publicTarget, connect: { host: "127.0.0.1", port: 4180 } }), true);
        assert.equal(isLoopbackTarget({ ...publicTarget, publicOrigin: "http://127.0.0.1:4180" }), true);
        assert.equal(isLoopbackTarget({ ...publicTarget, publicOrigin: "http://[::1]:4180" }), true);
        assert.equal(isLoopbackTarget(publicTarget), false);
    });

    test("loopback is skipped without a lookup", async () => {
        let lookups = 0;
        const target = { ...publicTarget, connect: { host: "127.0.0.1", port: 4180 } };

        const check = await checkCloudflare(target, plainReply, async () => {
            lookups += 1;
            return [];
        });

        assert.equal(check.status, "SKIP");
        assert.equal(lookups, 0);
    });

    test("Cloudflare answer passes", async () => {
        const check = await checkCloudflare(publicTarget, plainReply, async () => ["104.21.1.1", "2606:4700:3030::ac43:1"]);

        assert.equal(check.status, "PASS");
    });

    test("other answer fails", async () => {
        const check = await checkCloudflare(publicTarget, plainReply, async () => ["192.0.2.10"]);

        assert.equal(check.status, "FAIL");
        assert.match(check.detail, /192\.0\.2\.10/);
        assert.match(check.fix ?? "", /proxied CNAME/);
    });

    test("cf-ray header passes", async () => {
        const reply: Reply = { ...plainReply, headers: { ...plainReply.headers, "cf-ray": "8f0c1d2e3a4b5c6d-AMS" } };

        const check = await checkCloudflare(publicTarget, reply, async () => ["192.0.2.10"]);

        assert.equal(check.status, "PASS");
    });

    test("failed lookup fails", async () => {
        const check = await checkCloudflare(publicTarget, plainReply, async () => {
            throw new Error("getaddrinfo ENOTFOUND netos.xiberian.net");
        });

        assert.equal(check.status, "FAIL");
        assert.match(check.detail, /DNS lookup failed/);
    });
});

describe("verify against the chain", () => {
    let chain: Chain;
    let chainArgs: string[];

    before(async () => {
        chain = await Chain.start();
        chainArgs = ["--connect", `127.0.0.1:${chain.proxyPort}`, "--host", chainHostname, "--authorize-url", chain.issuer.authorizeUrl, "--client-id", chainClientId];
    });

    after(async () => {
        await chain?.stop();
    });

    test("every check passes", async () => {
        const run = await runVerifyCommand(chainArgs);
        const lines = checkLines(run.stdout);

        assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
        assert.equal(lines.length, protectedPaths.length + 7);
        for (const line of lines) {
            assert.match(line, /^(PASS|SKIP) /, line);
        }
        for (const requestPath of protectedPaths) {
            assert.match(lineOf(lines, `no content without a session: ${requestPath}`), /^PASS /);
        }
        assert.match(lineOf(lines, "sign-in redirect: authorize endpoint"), /^PASS /);
        assert.match(lineOf(lines, "sign-in redirect: client_id"), /^PASS /);
        assert.equal(lineOf(lines, "sign-in redirect: redirect_uri"), "PASS  sign-in redirect: redirect_uri: https://netos.xiberian.net/oauth2/callback");
        assert.match(lineOf(lines, "API without a session returns 401"), /^PASS /);
        assert.match(lineOf(lines, "OAuth2-Proxy ping (/ping)"), /^PASS /);
        assert.match(lineOf(lines, "Cloudflare Access redirect"), /^SKIP /);
        assert.match(lineOf(lines, "hostname served through Cloudflare"), /^SKIP /);
    });

    test("nothing reached an upstream", () => {
        assert.equal(chain.upstreamRequestCount, 0);
    });

    test("wrong client id fails", async () => {
        const target = buildTarget(parseCommandLine([...chainArgs.slice(0, -1), "11111111-2222-4333-8444-555555555555"]));

        const results = await runChecks(target);

        const check = results.find((entry) => entry.name === "sign-in redirect: client_id");
        assert.equal(check?.status, "FAIL");
        assert.match(check?.detail ?? "", new RegExp(`client_id is ${chainClientId}`));
    });

    test("wrong tenant fails", async () => {
        const target = buildTarget(parseCommandLine(["--connect", `127.0.0.1:${chain.proxyPort}`, "--host", chainHostname, "--tenant", chainTenantId]));

        const results = await runChecks(target);

        // The chain's issuer is a stand-in on loopback, not login.microsoftonline.com.
        assert.equal(results.find((entry) => entry.name === "sign-in redirect: authorize endpoint")?.status, "FAIL");
    });

    test("other hostname fails redirect_uri", async () => {
        const target = buildTarget(parseCommandLine(["--connect", `127.0.0.1:${chain.proxyPort}`, "--host", "other.xiberian.net"]));

        const results = await runChecks(target);

        const check = results.find((entry) => entry.name === "sign-in redirect: redirect_uri");
        assert.equal(check?.status, "FAIL");
        assert.match(check?.detail ?? "", /expected https:\/\/other\.xiberian\.net\/oauth2\/callback/);
    });

    test("Access expected but absent fails", async () => {
        const target = buildTarget(parseCommandLine([...chainArgs, "--access", "on"]));

        const results = await runChecks(target);

        assert.equal(results.find((entry) => entry.name === "Cloudflare Access redirect")?.status, "FAIL");
    });
});

describe("verify against the local chain", () => {
    let chain: Chain;

    before(async () => {
        chain = await Chain.start({ mode: "local" });
    });

    after(async () => {
        await chain?.stop();
    });

    test("url target passes", async () => {
        const run = await runVerifyCommand(["--url", chain.publicOrigin, "--authorize-url", chain.issuer.authorizeUrl, "--client-id", chainClientId]);
        const lines = checkLines(run.stdout);

        assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
        assert.equal(lineOf(lines, "sign-in redirect: redirect_uri"), `PASS  sign-in redirect: redirect_uri: ${chain.publicOrigin}/oauth2/callback`);
        assert.equal(chain.upstreamRequestCount, 0);
    });

    test("stack outputs fill the target", async () => {
        // A stand-in for the Pulumi CLI that records its arguments and prints
        // stack outputs pointing at this chain, never at the real hostname.
        const fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), "netos-verify-pulumi-"));
        try {
            const outputs = JSON.stringify({ publicUrl: chain.publicOrigin, entraClientId: chainClientId, tunnelId: "stand-in" });
            fs.writeFileSync(path.join(fakeBin, "pulumi"), `#!/bin/sh\necho "$@" > "${fakeBin}/args"\ncat <<'EOF'\n${outputs}\nEOF\n`, { mode: 0o755 });
            const env = { PATH: `${fakeBin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: process.env.HOME ?? "/root" };

            // Pulumi.prod.yaml turns Access on, which this chain does not have.
            const run = await runCommand(
                process.execPath,
                ["--import", "tsx", "scripts/verify.ts", "--stack", "prod", "--access", "off", "--authorize-url", chain.issuer.authorizeUrl],
                env,
            );
            const lines = checkLines(run.stdout);

            assert.equal(fs.readFileSync(path.join(fakeBin, "args"), "utf8").trim(), "stack output --json --stack prod");
            assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
            assert.equal(lineOf(lines, "sign-in redirect: client_id"), `PASS  sign-in redirect: client_id: ${chainClientId}`);
        } finally {
            fs.rmSync(fakeBin, { recursive: true, force: true });
        }
    });
});

describe("verify against a wrong target", () => {
    let wrong: Awaited<ReturnType<typeof startServer>> | undefined;

    before(async () => {
        // Plays a deployment that serves the app to everyone: 200 and HTML on every path.
        wrong = await startServer((_request, response) => {
            response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>NetOS</title><h1>Dashboard</h1>");
        });
    });

    after(async () => {
        await stopServer(wrong?.server);
    });

    test("every path fails", async () => {
        const run = await runVerifyCommand(["--connect", `127.0.0.1:${wrong?.port}`, "--host", chainHostname, "--tenant", chainTenantId, "--client-id", chainClientId]);
        const lines = checkLines(run.stdout);

        assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
        for (const requestPath of protectedPaths) {
            const line = lineOf(lines, `no content without a session: ${requestPath}`);
            assert.match(line, /^FAIL /, line);
            assert.match(line, /returned 200 with \d+ bytes/, line);
            assert.match(line, / Fix: /, line);
        }
        assert.match(lineOf(lines, "sign-in redirect: redirect_uri"), /^FAIL /);
        assert.match(lineOf(lines, "API without a session returns 401"), /^FAIL /);
        assert.match(run.stdout, /^verify: \d+ passed, \d+ failed, \d+ skipped$/m);
    });

    test("paths arrive unchanged", () => {
        for (const requestPath of protectedPaths) {
            assert.ok(wrong?.paths.includes(requestPath), `${requestPath} not received as sent; received ${wrong?.paths.join(" ")}`);
        }
    });
});

describe("verify behind Cloudflare Access", () => {
    let access: Awaited<ReturnType<typeof startServer>> | undefined;
    let args: string[];

    before(async () => {
        // Plays Access at the edge: every path redirects to the team domain's login page.
        access = await startServer((request, response) => {
            const location = `https://xiber.cloudflareaccess.com/cdn-cgi/access/login/${chainHostname}?redirect_url=${encodeURIComponent(request.url ?? "/")}`;
            response.writeHead(302, { location }).end();
        });
        args = ["--connect", `127.0.0.1:${access.port}`, "--host", chainHostname];
    });

    after(async () => {
        await stopServer(access?.server);
    });

    test("Access redirect passes", async () => {
        const run = await runVerifyCommand([...args, "--access", "on", "--access-team", "xiber"]);
        const lines = checkLines(run.stdout);

        assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
        assert.match(lineOf(lines, "Cloudflare Access redirect"), /^PASS .*xiber\.cloudflareaccess\.com/);
        assert.match(lineOf(lines, "sign-in redirect: client_id"), /^SKIP /);
        assert.match(lineOf(lines, "API without a session returns 401"), /^SKIP /);
        assert.match(lineOf(lines, "OAuth2-Proxy ping (/ping)"), /^SKIP /);
    });

    test("other team fails", async () => {
        const results = await runChecks(buildTarget(parseCommandLine([...args, "--access-team", "other"])));

        const check = results.find((entry) => entry.name === "Cloudflare Access redirect");
        assert.equal(check?.status, "FAIL");
        assert.match(check?.detail ?? "", /expected other\.cloudflareaccess\.com/);
    });

    test("Access not expected fails", async () => {
        const results = await runChecks(buildTarget(parseCommandLine([...args, "--access", "off"])));

        assert.equal(results.find((entry) => entry.name === "Cloudflare Access redirect")?.status, "FAIL");
    });
});
