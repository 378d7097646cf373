/**
 * Stand-ins for the NetOS web app and API behind Nginx, for tests and
 * `npm run local`. Each records every request it receives, with its headers,
 * so a test can prove what reached an upstream and what did not.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** The NetOS service a stub replaces; it decides the responses. */
export type StubRole = "web" | "api";

/** A request as the stub received it. */
export interface RecordedRequest {
    readonly method: string;
    /** The request target exactly as received, e.g. `/api/x?y=1`. */
    readonly url: string;
    /** Headers with lower-case names, as Node.js parses them. */
    readonly headers: http.IncomingHttpHeaders;
    readonly bodyLength: number;
}

/** Settings of a stub upstream. */
export interface StubUpstreamOptions {
    /** The service the stub replaces. */
    readonly role: StubRole;
    /** Name of the header that carries the signed-in user (the API shim's user header). */
    readonly userHeader: string;
    /** Name of the header that carries the user's roles (the API shim's roles header). */
    readonly rolesHeader: string;
    /** Keep every request in `requests`. Default: true; the benchmark only counts, to bound memory. */
    readonly recordRequests?: boolean;
}

/**
 * Largest request head the stubs accept, in bytes. Node.js defaults to
 * 16 KiB, which a 20 KB Entra ID token in `Authorization` exceeds.
 */
// NOTE: the real API server has its own limit (uvicorn with h11 accepts 16 KiB
// by default), which these stubs do not model.
const maxHeaderBytes = 64 * 1024;

/**
 * Minimal stand-in for FastAPI's Swagger UI page: like FastAPI's, it loads the
 * schema from the absolute path `/openapi.json`.
 */
const swaggerUiHtml = `<!doctype html>
<html>
  <head><title>NetOS API - Swagger UI (stub)</title></head>
  <body>
    <div id="swagger-ui"></div>
    <script>
    const ui = SwaggerUIBundle({
        url: '/openapi.json',
        dom_id: '#swagger-ui',
    })
    </script>
  </body>
</html>
`;

const openApiSchema = {
    openapi: "3.1.0",
    info: { title: "NetOS API (stub)", version: "0.0.0" },
    paths: {},
};

/** A stub web app or API on a free 127.0.0.1 port; create it with `StubUpstream.start`. */
export class StubUpstream {
    /** Every request received, in order; empty when `recordRequests` is false. */
    readonly requests: RecordedRequest[] = [];
    /** Number of requests received, recorded or not. */
    requestCount = 0;

    private constructor(
        readonly options: StubUpstreamOptions,
        private readonly server: http.Server,
    ) {}

    /** Starts a stub on a free 127.0.0.1 port. */
    static async start(options: StubUpstreamOptions): Promise<StubUpstream> {
        const server = http.createServer({ maxHeaderSize: maxHeaderBytes });
        const stub = new StubUpstream(options, server);
        server.on("request", (req, res) => stub.handle(req, res));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve());
        });
        return stub;
    }

    /** The port the stub listens on. */
    get port(): number {
        return (this.server.address() as AddressInfo).port;
    }

    /** Base URL, e.g. `http://127.0.0.1:40123`. */
    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Stops listening and closes open keep-alive connections. */
    async stop(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        let bodyLength = 0;
        req.on("data", (chunk: Buffer) => {
            bodyLength += chunk.length;
        });
        req.on("end", () => {
            this.requestCount += 1;
            if (this.options.recordRequests ?? true) {
                this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyLength });
            }
            this.respond(req, res);
        });
    }

    private respond(req: http.IncomingMessage, res: http.ServerResponse): void {
        const path = new URL(req.url ?? "/", "http://stub.invalid").pathname;
        const user = headerValue(req.headers[this.options.userHeader.toLowerCase()]);
        const roles = headerValue(req.headers[this.options.rolesHeader.toLowerCase()]);

        if (this.options.role === "api" && path === "/docs") {
            res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(swaggerUiHtml);
            return;
        }
        if (this.options.role === "api" && path === "/openapi.json") {
            sendJson(res, { ...openApiSchema });
            return;
        }
        if (this.options.role === "api") {
            sendJson(res, { service: "api", method: req.method, path: req.url, user, roles });
            return;
        }

        const page = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>NetOS web (stub)</title></head>
  <body>
    <h1>NetOS web (stub)</h1>
    <p>Path: ${escapeHtml(req.url ?? "")}</p>
    <p>Signed in as: ${escapeHtml(user ?? "(no user header)")}</p>
    <p>Roles: ${escapeHtml(roles ?? "(no roles header)")}</p>
    <p><a href="/api/whoami">API: /api/whoami</a> | <a href="/docs-api/">API docs</a> | <a href="/oauth2/sign_out">Sign out</a></p>
  </body>
</html>
`;
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
    }
}

function headerValue(value: string | string[] | undefined): string | undefined {
    return Array.isArray(value) ? value.join(", ") : value;
}

function sendJson(res: http.ServerResponse, value: unknown): void {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
}

function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
