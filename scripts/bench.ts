/**
 * `npm run bench`: measures what the sign-in chain costs per request.
 *
 * Starts one loopback chain per variant (OAuth2-Proxy v7.15.6 -> Nginx -> stub
 * web, with sessions in Redis) and signs a test user in to each. Each round
 * then runs Debian's `wrk` once against a stub web app directly, once against
 * Nginx alone and once through every chain with the session cookie. It prints requests per second
 * and p50/p99 latency per run, the medians, the chain-to-direct ratio, and how
 * each tuning variant compares with the baseline. Every run is bounded in time
 * and goes to 127.0.0.1 only.
 *
 * Usage: npm run bench [-- --duration 10 --runs 3 --connections 32 --threads 2 --variants baseline,no-access-log]
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { Chain, chainHostname } from "../tests/support/chain";
import type { ChainOptions } from "../tests/support/chain";
import { oauth2ProxyBinary } from "../tests/support/binaries";
import { testUser } from "../tests/support/oidcIssuer";

/** Limits on the options, so a typo cannot start an unbounded load. */
const limits = { duration: 60, runs: 10, connections: 256, threads: 16 } as const;

interface BenchOptions {
    /** Seconds per wrk run. */
    readonly duration: number;
    /** Runs per measurement. */
    readonly runs: number;
    readonly connections: number;
    readonly threads: number;
    /** Names of the chain variants to measure, baseline first. */
    readonly variants: readonly string[];
}

/** One configuration of the chain to measure. */
interface Variant {
    readonly description: string;
    readonly options: ChainOptions;
    /** Test user whose session the requests carry. Default: `exec`, with an ID token of about 1.2 KB. */
    readonly user?: string;
}

/**
 * The baseline is the generated configuration with Nginx's production worker
 * count and the `exec` user's session. Each other variant changes one thing.
 */
const variants: Record<string, Variant> = {
    baseline: {
        description: "generated configuration, Nginx worker_processes auto",
        options: { nginxWorkerProcesses: "auto" },
    },
    "upstream-keepalive": {
        description: "Nginx keeps idle connections to the web stub (upstream block with keepalive 32)",
        options: {
            nginxWorkerProcesses: "auto",
            // Only possible here because the loopback upstream is an IP literal: Nginx 1.22
            // cannot re-resolve a name inside an upstream block.
            nginxConfigTransform: (config) => {
                const web = /set \$netos_web ([0-9.]+:[0-9]+);/.exec(config)?.[1];
                if (web === undefined) {
                    throw new Error("upstream-keepalive: the rendered nginx.conf has no `set $netos_web <ip:port>;` line to rewrite");
                }
                return config
                    .replace("http {", `http {\n    upstream netos_web_pool {\n        server ${web};\n        keepalive 32;\n    }`)
                    .replace("proxy_pass http://$netos_web;", "proxy_pass http://netos_web_pool;");
            },
        },
    },
    "no-access-log": {
        description: "Nginx access log off (OAuth2-Proxy still logs every request)",
        options: {
            nginxWorkerProcesses: "auto",
            nginxConfigTransform: (config) => config.replace(/^ {4}access_log [^;]+;$/m, "    access_log off;"),
        },
    },
    "large-token": {
        description: "baseline configuration, session of the large-token user (481 roles, ID token of about 19 KB)",
        options: { nginxWorkerProcesses: "auto" },
        user: "large-token",
    },
    "no-request-log": {
        description: "OAuth2-Proxy request log off (--request-logging=false)",
        options: { nginxWorkerProcesses: "auto", oauth2ProxyExtraFlags: ["--request-logging=false"] },
    },
};

/** The numbers of one wrk run. */
interface RunResult {
    readonly requestsPerSecond: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly requests: number;
    readonly socketErrors: number;
}

function parseOptions(args: readonly string[]): BenchOptions {
    const value = (name: string, fallback: string): string => {
        const index = args.indexOf(`--${name}`);
        return index < 0 ? fallback : (args[index + 1] ?? "");
    };
    const integer = (name: keyof typeof limits, fallback: number): number => {
        const text = value(name, String(fallback));
        const parsed = Number(text);
        if (!/^[0-9]+$/.test(text) || parsed < 1 || parsed > limits[name]) {
            throw new Error(`invalid --${name} "${text}": expected an integer from 1 to ${limits[name]}`);
        }
        return parsed;
    };
    const names = value("variants", Object.keys(variants).join(",")).split(",").filter((name) => name !== "");
    for (const name of names) {
        if (!(name in variants)) {
            throw new Error(`unknown variant "${name}": expected a comma-separated list of ${Object.keys(variants).join(", ")}`);
        }
    }
    if (names[0] !== "baseline") {
        names.unshift("baseline");
    }
    return {
        duration: integer("duration", 10),
        runs: integer("runs", 3),
        connections: integer("connections", 32),
        threads: integer("threads", 2),
        variants: [...new Set(names)],
    };
}

/** Converts a wrk latency such as `1.23ms`, `850.00us` or `1.02s` to milliseconds. */
function toMs(amount: string, unit: string): number {
    const factor: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
    return Number(amount) * (factor[unit] ?? Number.NaN);
}

/** Extracts the numbers from wrk 4.1's report printed with `--latency`. */
function parseWrk(output: string): RunResult {
    const rps = /Requests\/sec:\s+([0-9.]+)/.exec(output);
    const p50 = /^\s+50%\s+([0-9.]+)(us|ms|s|m)\s*$/m.exec(output);
    const p99 = /^\s+99%\s+([0-9.]+)(us|ms|s|m)\s*$/m.exec(output);
    const requests = /([0-9]+) requests in/.exec(output);
    if (!rps || !p50 || !p99 || !requests) {
        throw new Error(`cannot parse the wrk report:\n${output}`);
    }
    const socket = /Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)/.exec(output);
    const socketErrors = socket ? socket.slice(1).reduce((total, count) => total + Number(count), 0) : 0;
    const non2xx = /Non-2xx or 3xx responses: ([0-9]+)/.exec(output);
    if (non2xx) {
        throw new Error(`wrk received ${non2xx[1]} responses with status 4xx or 5xx:\n${output}`);
    }
    return {
        requestsPerSecond: Number(rps[1]),
        p50Ms: toMs(p50[1] ?? "", p50[2] ?? ""),
        p99Ms: toMs(p99[1] ?? "", p99[2] ?? ""),
        requests: Number(requests[1]),
        socketErrors,
    };
}

/** Runs wrk once against a loopback URL and returns its numbers. */
function runWrk(options: BenchOptions, url: string, scriptPath: string | undefined): Promise<RunResult> {
    const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.duration}s`, "--latency"];
    if (scriptPath !== undefined) {
        args.push("-s", scriptPath);
    }
    args.push(url);
    return new Promise((resolve, reject) => {
        execFile("wrk", args, { timeout: (options.duration + 30) * 1000 }, (error, stdout, stderr) => {
            if (error) {
                reject(new Error(`wrk ${args.join(" ")} failed: ${error.message}\n${stderr}`));
                return;
            }
            try {
                resolve(parseWrk(stdout));
            } catch (parseError) {
                reject(parseError);
            }
        });
    });
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function formatRun(label: string, run: RunResult): string {
    return `${label.padEnd(28)} ${run.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${run.p50Ms.toFixed(2).padStart(6)} ms  p99 ${run.p99Ms.toFixed(2).padStart(7)} ms  socket errors ${run.socketErrors}`;
}

/** Summary of several runs of one measurement. */
interface Summary {
    readonly rps: number;
    readonly rpsMin: number;
    readonly rpsMax: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
}

function summarize(runs: readonly RunResult[]): Summary {
    const rps = runs.map((run) => run.requestsPerSecond);
    return {
        rps: median(rps),
        rpsMin: Math.min(...rps),
        rpsMax: Math.max(...rps),
        p50Ms: median(runs.map((run) => run.p50Ms)),
        p99Ms: median(runs.map((run) => run.p99Ms)),
    };
}

function formatSummary(label: string, summary: Summary): string {
    return `${label.padEnd(28)} median ${summary.rps.toFixed(0)} req/s (runs ${summary.rpsMin.toFixed(0)}-${summary.rpsMax.toFixed(0)}), p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms`;
}

/** Prints the machine and program versions the numbers belong to. */
async function printMachine(): Promise<void> {
    const cpu = /model name\s*:\s*(.+)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
    const memoryGiB = (os.totalmem() / 1024 ** 3).toFixed(1);
    const nginx = await commandOutput("/usr/sbin/nginx", ["-v"]);
    const redis = await commandOutput("/usr/bin/redis-server", ["--version"]);
    const proxy = await commandOutput("go", ["version", "-m", oauth2ProxyBinary()]);
    const proxyVersion = /\bmod\s+github\.com\/oauth2-proxy\/oauth2-proxy\/v7\s+(\S+)/.exec(proxy)?.[1] ?? "unknown";
    console.log(`machine: ${os.cpus().length} CPUs (${cpu}), ${memoryGiB} GiB memory, Node.js ${process.version}`);
    console.log(`programs: ${nginx.trim()}; ${redis.trim().split(" ").slice(0, 3).join(" ")}; OAuth2-Proxy ${proxyVersion}`);
}

function commandOutput(command: string, args: readonly string[]): Promise<string> {
    return new Promise((resolve) => {
        execFile(command, [...args], { timeout: 10_000 }, (error, stdout, stderr) => {
            resolve(error ? `(${command} failed: ${error.message})` : `${stdout}${stderr}`);
        });
    });
}

/** A started chain of one variant, signed in, with the wrk script that carries its session cookie. */
interface PreparedChain {
    readonly name: string;
    readonly chain: Chain;
    readonly scriptPath: string;
}

/**
 * Starts the chain of a variant, signs in and checks that a request with the
 * session reaches the web stub. On failure the chain is stopped.
 */
async function prepareVariant(name: string): Promise<PreparedChain> {
    const variant = variants[name] as Variant;
    const chain = await Chain.start({ ...variant.options, recordUpstreamRequests: false });
    try {
        const { sessionCookie } = await chain.signIn(testUser(variant.user ?? "exec").key);
        if (sessionCookie === undefined) {
            throw new Error(`${name}: the sign-in returned no session cookie.\n${chain.logTails()}`);
        }
        const probe = await chain.send({ path: "/", cookie: sessionCookie });
        if (probe.status !== 200) {
            throw new Error(`${name}: a signed-in request returned ${probe.status}, expected 200.\n${chain.logTails()}`);
        }

        // The cookie is a credential, so it goes to wrk in a 0600 script file, not on its command line.
        const scriptPath = path.join(chain.dir, "bench-headers.lua");
        const script = [
            `wrk.headers["Host"] = "${chainHostname}"`,
            `wrk.headers["X-Forwarded-Proto"] = "https"`,
            `wrk.headers["Cookie"] = "${sessionCookie}"`,
            "",
        ].join("\n");
        fs.writeFileSync(scriptPath, script, { mode: 0o600 });
        return { name, chain, scriptPath };
    } catch (error) {
        await chain.stop();
        throw error;
    }
}

/** Runs wrk once through a prepared chain and checks that every completed request reached the web stub. */
async function runThroughChain(options: BenchOptions, prepared: PreparedChain): Promise<RunResult> {
    const { chain, name } = prepared;
    const before = chain.web.requestCount;
    const result = await runWrk(options, `http://127.0.0.1:${chain.proxyPort}/`, prepared.scriptPath);
    const reached = chain.web.requestCount - before;
    // wrk counts only completed responses, so the stub receives at least as many requests.
    if (reached < result.requests) {
        throw new Error(`${name}: wrk completed ${result.requests} requests but only ${reached} reached the web stub; the session was not accepted.\n${chain.logTails()}`);
    }
    return result;
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    await printMachine();
    console.log(`wrk: ${options.threads} threads, ${options.connections} connections, ${options.duration} s per run, ${options.runs} runs per measurement, GET / as a signed-in test user`);
    for (const name of options.variants) {
        console.log(`variant ${name}: ${(variants[name] as Variant).description}`);
    }

    // All chains run at once and each round measures every one of them, so a
    // change in the machine's load spreads over all variants instead of one.
    const prepared: PreparedChain[] = [];
    const chainRuns = new Map<string, RunResult[]>();
    const directRuns: RunResult[] = [];
    const nginxRuns: RunResult[] = [];
    try {
        for (const name of options.variants) {
            prepared.push(await prepareVariant(name));
            chainRuns.set(name, []);
        }
        const baselineChain = (prepared[0] as PreparedChain).chain;
        const directUrl = `${baselineChain.web.url}/`;
        for (let round = 1; round <= options.runs; round += 1) {
            console.log(`\nround ${round} (load average ${os.loadavg()[0]?.toFixed(2)})`);
            const direct = await runWrk(options, directUrl, undefined);
            directRuns.push(direct);
            console.log(formatRun("  direct", direct));
            // Nginx alone, without OAuth2-Proxy in front, shows which hop costs what.
            const nginxOnly = await runWrk(options, `http://127.0.0.1:${baselineChain.nginxPort}/`, (prepared[0] as PreparedChain).scriptPath);
            nginxRuns.push(nginxOnly);
            console.log(formatRun("  nginx only", nginxOnly));
            for (const entry of prepared) {
                const result = await runThroughChain(options, entry);
                chainRuns.get(entry.name)?.push(result);
                console.log(formatRun(`  ${entry.name}`, result));
            }
        }
    } finally {
        for (const entry of prepared) {
            await entry.chain.stop();
        }
    }

    console.log("\nsummary");
    const direct = summarize(directRuns);
    const baseline = summarize(chainRuns.get("baseline") ?? []);
    console.log(formatSummary("direct", direct));
    console.log(formatSummary("nginx only", summarize(nginxRuns)));
    for (const [name, runs] of chainRuns) {
        const result = summarize(runs);
        console.log(formatSummary(name, result));
        console.log(`${"".padEnd(28)} chain/direct: ${(result.rps / direct.rps).toFixed(3)} of the requests per second, ${(result.p50Ms / direct.p50Ms).toFixed(1)}x the p50 latency`);
        if (name !== "baseline") {
            const change = (result.rps / baseline.rps - 1) * 100;
            // A change counts only when every run beats every baseline run (or loses to every one).
            const beyondSpread = result.rpsMin > baseline.rpsMax || result.rpsMax < baseline.rpsMin;
            console.log(`${"".padEnd(28)} versus baseline: ${change >= 0 ? "+" : ""}${change.toFixed(1)}% req/s, ${beyondSpread ? "beyond" : "within"} the run-to-run spread`);
        }
    }
}

main().catch((error: unknown) => {
    console.error(`bench: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
