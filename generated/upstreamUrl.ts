import { isIP } from "node:net";

/** An HTTP upstream split into the parts the generated configurations need. */
export interface ParsedUpstream {
    /** Host name or IP literal, without brackets. */
    readonly host: string;
    /** TCP port, explicit or implied by the scheme. */
    readonly port: number;
    /** `host:port`, with brackets around an IPv6 literal. */
    readonly authority: string;
    /** True when the host is an IP literal, so no DNS lookup is needed. */
    readonly isIpLiteral: boolean;
}

/**
 * Parses an `http://host:port` upstream URL and rejects anything else
 * (another scheme, credentials, a path, a query), because the generated
 * configurations append their own paths.
 */
export function parseHttpUpstream(name: string, value: string): ParsedUpstream {
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        throw new Error(`${name} is not a valid URL: received "${value}"; expected the form http://host:port, e.g. http://web:3000.`);
    }

    const problems: string[] = [];
    if (url.protocol !== "http:") {
        problems.push(`the scheme must be http (received "${url.protocol}")`);
    }
    if (url.username !== "" || url.password !== "") {
        problems.push("it must not contain credentials");
    }
    if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
        problems.push("it must not contain a path, query or fragment");
    }
    if (problems.length > 0) {
        throw new Error(`${name} "${value}" is invalid: ${problems.join("; ")}. Use the form http://host:port, e.g. http://web:3000.`);
    }

    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = url.port === "" ? 80 : Number(url.port);
    const isIpLiteral = isIP(host) !== 0;
    const authority = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    return { host, port, authority, isIpLiteral };
}
