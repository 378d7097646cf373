/**
 * Pure helpers the policy rules share: reading values that may be unknown during
 * `pulumi preview`, and parsing image references, hostnames and durations.
 */
import { UnknownValueError } from "@pulumi/policy";

/**
 * Reads `object[key]` and returns it with `known: true`, or `{ known: false }` when the
 * value is unknown during preview.
 *
 * The policy host wraps resource properties in a proxy that throws `UnknownValueError`
 * on every unknown value. A rule that lets the error escape is reported by the engine as
 * an advisory "can't run during preview" and is enforced at `pulumi up`, when inputs are
 * known. Rules call this helper only where they can still decide without the value.
 */
export function readIfKnown(object: Record<string, unknown>, key: string): { known: true; value: unknown } | { known: false } {
    try {
        return { known: true, value: object[key] };
    } catch (error) {
        if (error instanceof UnknownValueError) {
            return { known: false };
        }
        throw error;
    }
}

/** Returns the value as an array, or an empty array when it is missing or not an array. */
export function asArray(value: unknown): unknown[] {
    return Array.isArray(value) ? value : [];
}

/** Returns the value as a plain object, or an empty object when it is missing or not an object. */
export function asRecord(value: unknown): Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A Docker image id as the engine reports it, e.g. the `imageId` output of `docker.RemoteImage`. */
const imageIdPattern = /^sha256:[0-9a-f]{64}$/;

/** A content digest at the end of an image reference: `name@sha256:<64 hex>`. */
const digestSuffixPattern = /@sha256:[0-9a-f]{64}$/;


/** Returns true when the string is a Docker image id (`sha256:<64 hex>`), not a reference. */
export function isImageId(image: string): boolean {
    return imageIdPattern.test(image);
}

/**
 * Returns the tag of an image reference, or `undefined` when it has none.
 *
 * The tag follows the last `:` after the last `/`, so a registry port
 * (`registry.example:5000/app`) is not mistaken for a tag.
 */
export function imageTagOf(reference: string): string | undefined {
    const withoutDigest = reference.split("@")[0] ?? "";
    const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    return colon === -1 ? undefined : lastSegment.slice(colon + 1);
}

/**
 * Returns why an image reference is not pinned to one version, or `undefined` when it is.
 *
 * A digest (`name@sha256:...`) or any explicit tag but `latest` passes. The NetOS
 * images may carry any tag their CI assigns (a release, a commit, a branch build), and
 * the program's config check accepts the same, so a preview never rejects a config
 * the program took. The third-party defaults are full patch tags.
 */
export function unpinnedImageReason(reference: string): string | undefined {
    if (digestSuffixPattern.test(reference)) {
        return undefined;
    }

    const tag = imageTagOf(reference);
    if (tag === undefined || tag === "") {
        return "has no tag, so Docker pulls `latest`";
    }
    if (tag === "latest") {
        return "uses the tag `latest`";
    }
    return undefined;
}

/** The fix every image message ends with. */
export const pinImageFix =
    "pin it to a release tag (e.g. `postgres:16.4`) or a digest (`name@sha256:<64 hex>`)";

/** Returns true for a published-port address that listens on every interface. */
export function isAllInterfacesAddress(ip: string): boolean {
    const address = ip.trim().replace(/^\[(.*)\]$/, "$1");
    return ["", "0.0.0.0", "0.0.0.0/0", "::", "::/0"].includes(address);
}

/** Returns true for a loopback address: `127.0.0.0/8` or `::1`, with or without brackets. */
export function isLoopbackAddress(ip: string): boolean {
    const address = ip.trim().replace(/^\[(.*)\]$/, "$1").toLowerCase();
    return address === "::1" || /^127(\.\d{1,3}){3}$/.test(address);
}

/** Returns true when a URL or `host:port` service string points at the loopback host. */
export function pointsAtLoopback(service: string): boolean {
    let host: string;
    if (service.includes("://")) {
        try {
            host = new URL(service).hostname;
        } catch {
            return false;
        }
    } else {
        // Without a scheme, `localhost:4180` would parse as the URL scheme `localhost:`,
        // so split `host:port` (or `[v6]:port`) by hand.
        host = service.startsWith("[") ? service.slice(0, service.indexOf("]") + 1) : (service.split(":")[0] ?? "");
    }
    host = host.toLowerCase();
    return host === "localhost" || host.endsWith(".localhost") || isLoopbackAddress(host);
}

/** Nanoseconds per unit of a Go `time.Duration` string, the format `endDateRelative` takes. */
const durationUnits: Record<string, number> = {
    ns: 1,
    us: 1e3,
    "µs": 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
};

/**
 * Parses a Go duration string (`8760h`, `2400h30m`, `1.5h`) into hours.
 * Returns `undefined` when the string is not a valid positive duration.
 */
export function parseDurationHours(duration: string): number | undefined {
    const text = duration.trim();
    if (text === "" || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) {
        return undefined;
    }

    let nanoseconds = 0;
    for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
        nanoseconds += Number(match[1]) * (durationUnits[match[2] ?? ""] ?? Number.NaN);
    }
    return Number.isFinite(nanoseconds) && nanoseconds > 0 ? nanoseconds / 3600e9 : undefined;
}

/** Returns the date 12 calendar months after `now`, the latest allowed secret expiry. */
export function twelveMonthsAfter(now: Date): Date {
    const limit = new Date(now.getTime());
    limit.setUTCMonth(limit.getUTCMonth() + 12);
    return limit;
}
