import { describe, test } from "node:test";
import * as assert from "node:assert/strict";

import { cloudflaredCommand, cloudflaredHealthCheckTest, cloudflaredTokenEnv } from "../generated/cloudflared";

describe("cloudflaredCommand", () => {
    const command = cloudflaredCommand();

    test("runs a tunnel", () => {
        assert.equal(command[0], "tunnel");
        assert.equal(command[command.length - 1], "run");
    });

    test("no autoupdate", () => {
        assert.ok(command.includes("--no-autoupdate"));
    });

    test("metrics address set", () => {
        const index = command.indexOf("--metrics");
        assert.ok(index >= 0, "--metrics is missing");
        assert.equal(command[index + 1], "0.0.0.0:20241");
    });

    test("custom metrics port", () => {
        const custom = cloudflaredCommand({ metricsPort: 2000 });
        assert.equal(custom[custom.indexOf("--metrics") + 1], "0.0.0.0:2000");
    });

    test("no token on command line", () => {
        assert.equal(command.some((arg) => arg.startsWith("--token")), false);
        assert.equal(command.some((arg) => /^ey[A-Za-z0-9_-]{20,}/.test(arg)), false);
    });

    test("token env name", () => {
        assert.equal(cloudflaredTokenEnv, "TUNNEL_TOKEN");
    });

    test("invalid port rejected", () => {
        assert.throws(() => cloudflaredCommand({ metricsPort: 70000 }), /metricsPort must be an integer from 1 to 65535 \(received 70000\)/);
    });
});

describe("cloudflaredHealthCheckTest", () => {
    test("uses tunnel ready", () => {
        assert.deepEqual(cloudflaredHealthCheckTest(), ["CMD", "cloudflared", "tunnel", "--metrics", "127.0.0.1:20241", "ready"]);
    });

    test("follows metrics port", () => {
        const check = cloudflaredHealthCheckTest({ metricsPort: 2000 });
        assert.equal(check[check.indexOf("--metrics") + 1], "127.0.0.1:2000");
    });
});
