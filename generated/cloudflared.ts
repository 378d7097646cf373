import { isIP } from "node:net";

/** Inputs of the cloudflared container command. */
export interface CloudflaredCommandInput {
    /** Port of the metrics server, which also serves `/ready` for the health check. Default: 20241. */
    readonly metricsPort?: number;
    /**
     * Address the metrics server binds inside the container. Default: `0.0.0.0`.
     * Pass `127.0.0.1`, as the origin does: the health check runs inside the
     * container, so no other container needs to reach the metrics.
     */
    readonly metricsAddress?: string;
}

/**
 * Environment variable cloudflared reads the tunnel token from for
 * `tunnel run`, so the token stays out of the command line.
 */
export const cloudflaredTokenEnv = "TUNNEL_TOKEN";

/** Default port of the cloudflared metrics server (the first of the range cloudflared tries by default). */
export const cloudflaredDefaultMetricsPort = 20241;

/**
 * Returns the arguments of the `cloudflare/cloudflared` image for a
 * remotely-managed tunnel. The image's entrypoint is the `cloudflared` binary,
 * and the token comes from `TUNNEL_TOKEN`.
 */
export function cloudflaredCommand(input: CloudflaredCommandInput = {}): string[] {
    const { metricsAddress, metricsPort } = resolve(input);
    return ["tunnel", "--no-autoupdate", "--metrics", `${metricsAddress}:${metricsPort}`, "run"];
}

/**
 * Returns the Docker health check test (`["CMD", ...]`) for the cloudflared
 * container. The image has no shell, curl or wget, so the check runs
 * `cloudflared tunnel ready`, which requests `/ready` on the metrics server and
 * exits non-zero unless the tunnel holds a connection to Cloudflare's edge.
 *
 * NOTE: `tunnel ready` first shipped in cloudflared releases of late 2024, so
 * the pinned image must be from 2025 or later. Check it with
 * `cloudflared tunnel ready --help` when changing the pin.
 */
export function cloudflaredHealthCheckTest(input: CloudflaredCommandInput = {}): string[] {
    const { metricsPort } = resolve(input);
    return ["CMD", "cloudflared", "tunnel", "--metrics", `127.0.0.1:${metricsPort}`, "ready"];
}

function resolve(input: CloudflaredCommandInput): { metricsAddress: string; metricsPort: number } {
    const metricsPort = input.metricsPort ?? cloudflaredDefaultMetricsPort;
    const metricsAddress = input.metricsAddress ?? "0.0.0.0";
    if (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535) {
        throw new Error(`metricsPort must be an integer from 1 to 65535 (received ${metricsPort}).`);
    }
    if (isIP(metricsAddress) === 0) {
        throw new Error(`metricsAddress must be an IP address such as 0.0.0.0 (received "${metricsAddress}").`);
    }
    return { metricsAddress: isIP(metricsAddress) === 6 ? `[${metricsAddress}]` : metricsAddress, metricsPort };
}
