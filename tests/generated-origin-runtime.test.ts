/**
 * Runs the origin's generated Redis config and container health checks with
 * real programs on loopback: Debian's redis-server 7.0, Node.js, python3 and
 * GNU wget (the containers use BusyBox wget, which takes the same flags).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { nodeHttpHealthCheckTest, pythonHttpHealthCheckTest, wgetHealthCheckTest } from "../generated/healthChecks";
import { redisCliAuthEnv, redisHealthCheckTest, renderRedisConfig } from "../generated/redis";
import { redisServerBinary } from "./support/binaries";
import { freePort } from "./support/chain";

/**
 * Runs a Docker health check test (`CMD` or `CMD-SHELL`) here and returns its
 * exit status. It runs asynchronously, so a server in this process can answer.
 */
function runHealthCheck(check: string[], env: Record<string, string> = {}): Promise<number | null> {
    const [kind, ...rest] = check;
    const argv = kind === "CMD-SHELL" ? ["sh", "-c", rest[0] as string] : rest;
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...env }, stdio: "ignore", timeout: 15_000 });
    return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("exit", (status) => resolve(status));
    });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

describe("redis config (real redis-server)", () => {
    const password = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4";
    let dir: string;
    let port: number;
    let server: ChildProcess | undefined;

    const cli = (args: string[], auth?: string) =>
        spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", ...args], {
            env: { ...process.env, ...(auth === undefined ? {} : { [redisCliAuthEnv]: auth }) },
            encoding: "utf8",
            timeout: 10_000,
        });

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netos-redis-"));
        port = await freePort();
        const config = renderRedisConfig({ password, port, bind: "127.0.0.1", dataDir: dir, maxMemoryMb: 64 });
        fs.writeFileSync(path.join(dir, "redis.conf"), config, { mode: 0o600 });
        server = spawn(redisServerBinary(), [path.join(dir, "redis.conf")], { stdio: "ignore" });
        await waitFor(() => cli(["ping"], password).stdout.trim() === "PONG", "redis-server to answer PING");
    });

    after(() => {
        server?.kill("SIGTERM");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("rejects clients without the password", () => {
        assert.match(cli(["ping"]).stdout, /NOAUTH/);
    });

    test("accepts the password", () => {
        assert.equal(cli(["ping"], password).stdout.trim(), "PONG");
    });

    test("persists to the data dir", () => {
        assert.equal(cli(["config", "get", "appendonly"], password).stdout.trim().split("\n")[1], "yes");
        assert.equal(cli(["config", "get", "dir"], password).stdout.trim().split("\n")[1], fs.realpathSync(dir));
    });

    test("memory ceiling and policy", () => {
        assert.equal(cli(["config", "get", "maxmemory"], password).stdout.trim().split("\n")[1], String(64 * 1024 * 1024));
        assert.equal(cli(["config", "get", "maxmemory-policy"], password).stdout.trim().split("\n")[1], "volatile-lru");
    });

    test("health check passes with password", async () => {
        assert.equal(await runHealthCheck(redisHealthCheckTest(port), { [redisCliAuthEnv]: password }), 0);
    });

    test("health check fails without it", async () => {
        assert.notEqual(await runHealthCheck(redisHealthCheckTest(port), { [redisCliAuthEnv]: "wrong-password" }), 0);
        assert.notEqual(await runHealthCheck(redisHealthCheckTest(port)), 0);
    });

    test("password never in errors", () => {
        assert.throws(() => renderRedisConfig({ password: "short", maxMemoryMb: 64 }), (error: Error) => !error.message.includes("short") && /16 to 128 letters and digits/.test(error.message));
    });
});

describe("http health checks (real programs)", () => {
    let server: http.Server;
    let port: number;

    before(async () => {
        server = http.createServer((request, response) => {
            const status = request.url === "/ok" ? 200 : request.url === "/redirect" ? 302 : request.url === "/missing" ? 404 : 500;
            response.writeHead(status, status === 302 ? { Location: "/elsewhere" } : {});
            response.end();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        port = (server.address() as { port: number }).port;
    });

    after(() => {
        server.close();
    });

    const checks = { node: nodeHttpHealthCheckTest, python: pythonHttpHealthCheckTest, wget: wgetHealthCheckTest };

    for (const [program, check] of Object.entries(checks)) {
        test(`${program} passes on 200`, async () => {
            assert.equal(await runHealthCheck(check(port, "/ok")), 0);
        });

        test(`${program} fails on 500`, async () => {
            assert.notEqual(await runHealthCheck(check(port, "/broken")), 0);
        });

        test(`${program} fails on 404`, async () => {
            assert.notEqual(await runHealthCheck(check(port, "/missing")), 0);
        });

        test(`${program} fails when closed`, async () => {
            const closedPort = await freePort();
            assert.notEqual(await runHealthCheck(check(closedPort, "/ok")), 0);
        });
    }

    test("node passes on a redirect", async () => {
        assert.equal(await runHealthCheck(nodeHttpHealthCheckTest(port, "/redirect")), 0);
    });

    test("invalid path rejected", () => {
        assert.throws(() => nodeHttpHealthCheckTest(3000, "/a b"), /path must be an absolute path/);
        assert.throws(() => pythonHttpHealthCheckTest(8000, "health"), /path must be an absolute path/);
    });
});
