/**
 * Runs the Pulumi program under `pulumi.runtime.setMocks` and records every
 * registration with its inputs, which inputs are secret, and its resource
 * options. Invokes that are not in `mockedInvokes` throw, so a new data-source
 * call cannot pass with a made-up result.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";

export const repoRoot = path.resolve(__dirname, "..", "..");

/** The options a resource was registered with, as the engine received them. */
export interface RecordedOptions {
    readonly protect: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly retainOnDelete: boolean;
    readonly ignoreChanges: string[];
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
    /** URNs of the resources this one depends on, explicitly or through inputs. */
    readonly dependsOn: string[];
    readonly parent: string;
    /** Provider reference `<urn>::<id>`, or "" for the default provider. */
    readonly provider: string;
    readonly deletedWith: string;
}

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly custom: boolean;
    /** Inputs with secrets unwrapped to their plain values. */
    readonly inputs: Record<string, any>;
    /** Dotted paths of inputs whose value is marked secret, for example `envs` or `value`. */
    readonly secretInputPaths: string[];
    readonly options: RecordedOptions;
}

export interface RecordedInvoke {
    readonly token: string;
    readonly inputs: Record<string, any>;
}

export interface StackOutput {
    readonly value: unknown;
    readonly secret: boolean;
}

export interface ProgramRun {
    readonly resources: RecordedResource[];
    readonly invokes: RecordedInvoke[];
    /** The program's exports, resolved. */
    readonly outputs: Record<string, StackOutput>;
}

export interface RunOptions {
    /** Config values (without the `netos:` prefix unless another namespace is meant) merged over the production config. */
    readonly config?: Record<string, unknown>;
    /** Keys (same form as `config`) to remove from the production config. */
    readonly unset?: readonly string[];
    /** Run as `pulumi preview` does. Default: false. */
    readonly preview?: boolean;
    /** Stack name. Default: prod. */
    readonly stack?: string;
    /** Replace the production config entirely instead of merging into it. */
    readonly replaceConfig?: boolean;
}

const secretSignatureKey = "4dabf18193072939515e22adb298388d";
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

/** Returns a value's dotted paths whose value is a serialized secret. */
function findSecretPaths(value: unknown, prefix = ""): string[] {
    if (value === null || typeof value !== "object") {
        return [];
    }
    const record = value as Record<string, unknown>;
    if (record[secretSignatureKey] === secretSignature) {
        return [prefix];
    }
    return Object.entries(record).flatMap(([key, child]) => findSecretPaths(child, prefix === "" ? key : `${prefix}.${key}`));
}

/**
 * Settings an operator supplies beside the stack file, as the deploy workflow
 * does with DOCKER_HOST. The address is never contacted: providers are mocked.
 */
export const operatorConfig: Readonly<Record<string, unknown>> = { "docker:host": "ssh://deploy@origin.netos.test" };

/** Reads a stack file's config and Pulumi.yaml's defaults as the CLI would merge them. */
export function stackConfig(stack = "prod"): Record<string, unknown> {
    const project = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
    const merged: Record<string, unknown> = {};
    for (const [key, declaration] of Object.entries<any>(project.config ?? {})) {
        const qualified = key.includes(":") ? key : `${project.name}:${key}`;
        if (declaration && typeof declaration === "object" && "default" in declaration) {
            merged[qualified] = declaration.default;
        }
    }
    const stackFile = path.join(repoRoot, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(stackFile)) {
        Object.assign(merged, parseYaml(fs.readFileSync(stackFile, "utf8"))?.config ?? {});
    }
    return merged;
}

function qualify(key: string): string {
    return key.includes(":") ? key : `netos:${key}`;
}

/** Serializes a config value the way the CLI passes it to the program: strings as is, the rest as JSON. */
function serializeConfigValue(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** The Cloudflare account the mocked data sources describe. */
export const mockCloudflare = {
    zoneName: "xiberian.net",
    zoneId: "0123456789abcdef0123456789abcdef",
    accountId: "fedcba9876543210fedcba9876543210",
    teamName: "xiber",
} as const;

type InvokeHandler = (inputs: Record<string, any>) => Record<string, any>;

/** Results for every data source the program may call, keyed by invoke token. */
export const mockedInvokes: Record<string, InvokeHandler> = {
    "azuread:index/getClientConfig:getClientConfig": () => ({
        clientId: "11111111-1111-1111-1111-111111111111",
        objectId: "22222222-2222-2222-2222-222222222222",
        tenantId: "4944843d-e347-4fe7-a279-4006ce5efc33",
    }),
    "azuread:index/getServicePrincipal:getServicePrincipal": (inputs) => ({
        clientId: inputs.clientId,
        objectId: "33333333-3333-3333-3333-333333333333",
        oauth2PermissionScopeIds: {},
        appRoleIds: {},
    }),
    // The account has one zone, xiberian.net; any other name matches nothing.
    "cloudflare:index/getZones:getZones": (inputs) => ({
        results:
            inputs.name === mockCloudflare.zoneName
                ? [{ id: mockCloudflare.zoneId, name: mockCloudflare.zoneName, status: "active", account: { id: mockCloudflare.accountId, name: "Xiber" } }]
                : [],
    }),
    "cloudflare:index/getZeroTrustOrganization:getZeroTrustOrganization": (inputs) => ({
        accountId: inputs.accountId,
        authDomain: `${mockCloudflare.teamName}.cloudflareaccess.com`,
        name: "Xiber",
    }),
    "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken": (inputs) => ({
        accountId: inputs.accountId,
        tunnelId: inputs.tunnelId,
        token: `mock-tunnel-token-${inputs.tunnelId}`,
    }),
    "azuread:index/getGroup:getGroup": (inputs) => ({
        displayName: inputs.displayName,
        objectId: fakeGuid(`group:${inputs.displayName}`),
        securityEnabled: true,
    }),
};

/** Computed outputs the providers would return, keyed by resource type. */
export const mockedOutputs: Record<string, (name: string, inputs: Record<string, any>) => Record<string, any>> = {
    "azuread:index/application:Application": (name) => ({
        clientId: fakeGuid(`client:${name}`),
        objectId: fakeGuid(`object:${name}`),
    }),
    "azuread:index/servicePrincipal:ServicePrincipal": (name) => ({ objectId: fakeGuid(`sp:${name}`) }),
    "azuread:index/applicationPassword:ApplicationPassword": (name) => ({
        value: `mock-password-value-${name}`,
        keyId: fakeGuid(`key:${name}`),
        endDate: new Date(Date.now() + 180 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    }),
    "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication": (name) => ({ aud: `mock-aud-${name}` }),
    "random:index/randomUuid:RandomUuid": (name) => ({ result: fakeGuid(`uuid:${name}`) }),
    "random:index/randomPassword:RandomPassword": (name, inputs) => ({
        // With special: false the provider returns letters and digits only.
        result: (inputs.special === false ? `mockpassword${name.replace(/[^A-Za-z0-9]/g, "")}` : `mock-password-${name}`)
            .padEnd(inputs.length ?? 32, "x")
            .slice(0, inputs.length ?? 32),
        bcryptHash: "mock",
    }),
    // Docker names a resource without a name input after its logical name plus a random suffix.
    "docker:index/remoteImage:RemoteImage": (_name, inputs) => ({
        imageId: `sha256:${fakeDigest(`image:${inputs.name}`)}`,
        repoDigest: `${String(inputs.name).replace(/:[^/:@]+$/, "")}@sha256:${fakeDigest(`digest:${inputs.name}`)}`,
    }),
    "docker:index/network:Network": (name, inputs) => ({ name: inputs.name ?? `${name}-${fakeDigest(name).slice(0, 7)}` }),
    "docker:index/volume:Volume": (name, inputs) => ({
        name: inputs.name ?? `${name}-${fakeDigest(name).slice(0, 7)}`,
        mountpoint: `/var/lib/docker/volumes/${inputs.name ?? name}/_data`,
    }),
    "docker:index/container:Container": (name, inputs) => ({ name: inputs.name ?? `${name}-${fakeDigest(name).slice(0, 7)}` }),
    "random:index/randomBytes:RandomBytes": (name, inputs) => ({
        base64: Buffer.alloc(inputs.length ?? 32, name).toString("base64"),
        hex: Buffer.alloc(inputs.length ?? 32, name).toString("hex"),
    }),
    "random:index/randomId:RandomId": (name, inputs) => ({
        b64Std: Buffer.alloc(inputs.byteLength ?? 32, name).toString("base64"),
        b64Url: Buffer.alloc(inputs.byteLength ?? 32, name).toString("base64url"),
        hex: Buffer.alloc(inputs.byteLength ?? 32, name).toString("hex"),
    }),
};

/** Returns a deterministic sha256 hex digest of a seed, shaped like an image id or digest. */
export function fakeDigest(seed: string): string {
    return require("node:crypto").createHash("sha256").update(seed).digest("hex") as string;
}

/** Returns a deterministic GUID-shaped string derived from a seed. */
export function fakeGuid(seed: string): string {
    const hex = require("node:crypto").createHash("sha256").update(seed).digest("hex") as string;
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

let recorder: { resources: RecordedResource[]; invokes: RecordedInvoke[] } | undefined;
let monitorPatched = false;

/** Wraps the SDK's mock monitor once so every registration request is recorded with its options. */
function patchMockMonitor(): void {
    if (monitorPatched) {
        return;
    }
    monitorPatched = true;
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
    const register = MockMonitor.prototype.registerResource;
    MockMonitor.prototype.registerResource = function (req: any, callback: (err: any, res: any) => void) {
        const wrapped = (err: any, res: any) => {
            if (!err && recorder) {
                const raw = req.getObject()?.toJavaScript() ?? {};
                recorder.resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: res.getUrn(),
                    custom: req.getCustom(),
                    inputs: unwrapSecrets(raw),
                    secretInputPaths: findSecretPaths(raw),
                    options: {
                        protect: Boolean(req.getProtect()),
                        deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
                        retainOnDelete: Boolean(req.getRetainondelete()),
                        ignoreChanges: req.getIgnorechangesList(),
                        replaceOnChanges: req.getReplaceonchangesList(),
                        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                        dependsOn: req.getDependenciesList(),
                        parent: req.getParent(),
                        provider: req.getProvider(),
                        deletedWith: req.getDeletedwith(),
                    },
                });
            }
            callback(err, res);
        };
        return register.call(this, req, wrapped);
    };
}

/** Replaces serialized secrets by their plain values. */
function unwrapSecrets(value: any): any {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value !== null && typeof value === "object") {
        if (value[secretSignatureKey] === secretSignature) {
            return unwrapSecrets(value.value);
        }
        return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, unwrapSecrets(child)]));
    }
    return value;
}

const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const computed = mockedOutputs[args.type]?.(args.name, args.inputs) ?? {};
        return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...computed } };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const handler = mockedInvokes[args.token];
        if (!handler) {
            throw new Error(`unmocked invoke ${args.token}: add an answer to mockedInvokes in tests/support/mocks.ts`);
        }
        recorder?.invokes.push({ token: args.token, inputs: args.inputs });
        return handler(args.inputs);
    },
};

/** Resolves an Output (or plain value) and whether it is secret. */
export async function resolveOutput(value: unknown): Promise<StackOutput> {
    if (!pulumi.Output.isInstance(value)) {
        return { value, secret: false };
    }
    const output = value as any;
    const [resolved, secret] = await Promise.all([output.promise(), output.isSecret]);
    return { value: resolved, secret: Boolean(secret) };
}

/** Drops the program's modules from the require cache, so each run starts from a clean module state. */
function forgetProgramModules(): void {
    for (const file of Object.keys(require.cache)) {
        if (file.startsWith(repoRoot) && !file.includes(`${path.sep}node_modules${path.sep}`) && !file.includes(`${path.sep}tests${path.sep}`)) {
            delete require.cache[file];
        }
    }
}

/**
 * Runs `index.ts` under mocks with the production config (plus overrides) and
 * returns every registration. Rejects with the program's error, for example a
 * `ConfigError`, and then `resources` is never returned.
 */
export async function runProgram(options: RunOptions = {}): Promise<ProgramRun> {
    const { run, error } = await runProgramSettled(options);
    if (error) {
        throw error;
    }
    return run;
}

/** Like `runProgram`, but returns the error together with what was registered before it. */
export async function runProgramSettled(options: RunOptions = {}): Promise<{ run: ProgramRun; error?: unknown }> {
    patchMockMonitor();
    const stack = options.stack ?? "prod";
    const config: Record<string, unknown> = options.replaceConfig ? {} : { ...operatorConfig, ...stackConfig("prod") };
    for (const key of options.unset ?? []) {
        delete config[qualify(key)];
    }
    for (const [key, value] of Object.entries(options.config ?? {})) {
        config[qualify(key)] = value;
    }

    const current = { resources: [] as RecordedResource[], invokes: [] as RecordedInvoke[] };
    recorder = current;
    await pulumi.runtime.setMocks(mocks, "netos", stack, options.preview ?? false);
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [key, serializeConfigValue(value)])), []);

    forgetProgramModules();
    let exportsOfProgram: Record<string, unknown> = {};
    let error: unknown;
    try {
        const program = require(path.join(repoRoot, "index.ts"));
        // A program may export an async function, as the Pulumi Node.js runtime allows; its result is the stack outputs.
        exportsOfProgram = typeof program === "function" ? await program() : program;
    } catch (caught) {
        error = caught;
    }
    const outputs: Record<string, StackOutput> = {};
    for (const [key, value] of Object.entries(exportsOfProgram)) {
        outputs[key] = await resolveOutput(value);
    }
    await (pulumi.runtime as any).waitForRPCs();
    recorder = undefined;
    return { run: { resources: current.resources, invokes: current.invokes, outputs }, error };
}

/** Returns the one resource of a type whose name ends with `suffix`, failing loudly otherwise. */
export function findResource(run: ProgramRun, type: string, suffix = ""): RecordedResource {
    const matches = run.resources.filter((resource) => resource.type === type && resource.name.endsWith(suffix));
    if (matches.length !== 1) {
        const names = run.resources.filter((resource) => resource.type === type).map((resource) => resource.name);
        throw new Error(`expected one ${type} named *${suffix}, found ${matches.length} among [${names.join(", ")}]`);
    }
    return matches[0];
}

/** Returns every resource of a type. */
export function resourcesOfType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((resource) => resource.type === type);
}
