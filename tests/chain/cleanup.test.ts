/**
 * A run that ends without `Chain.stop()` (a test process stopped by SIGTERM)
 * must not leave any of the chain's programs behind, Nginx's workers included.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

/** Returns the PIDs of every descendant of a process, read from `ps`. */
function descendantsOf(pid: number): number[] {
    const table = spawnSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" }).stdout;
    const children = new Map<number, number[]>();
    for (const line of table.trim().split("\n")) {
        const [child, parent] = line.trim().split(/\s+/).map(Number);
        children.set(parent, [...(children.get(parent) ?? []), child]);
    }
    const found: number[] = [];
    const pending = [pid];
    while (pending.length > 0) {
        for (const child of children.get(pending.pop() as number) ?? []) {
            found.push(child);
            pending.push(child);
        }
    }
    return found;
}

function isRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

test("SIGTERM leaves no chain process", { timeout: 60_000 }, async () => {
    const script = `const { Chain } = require(${JSON.stringify(path.join(__dirname, "..", "support", "chain.ts"))});
        Chain.start().then(() => console.log("started"));
        setInterval(() => {}, 1000);`;
    const runner = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
        runner.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("started") && resolve());
        runner.once("exit", (code) => reject(new Error(`the chain runner exited with code ${code} before the chain started`)));
    });

    const chainProcesses = descendantsOf(runner.pid as number);
    assert.ok(chainProcesses.length >= 4, `expected Redis, Nginx with a worker, and OAuth2-Proxy; found PIDs ${chainProcesses.join(", ")}`);

    runner.kill("SIGTERM");
    await new Promise((resolve) => runner.once("exit", resolve));
    const deadline = Date.now() + 5_000;
    while (chainProcesses.some(isRunning) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const survivors = chainProcesses.filter(isRunning);
    for (const pid of survivors) {
        process.kill(pid, "SIGKILL");
    }
    assert.deepEqual(survivors, [], "chain processes outlived the run");
});
