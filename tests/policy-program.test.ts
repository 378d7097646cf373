/**
 * Runs every policy rule over the production program's registrations, recorded under
 * mocks with their resource options, and expects no violation. Each rule must also have
 * seen the resources it targets, so the test cannot pass on an empty program.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";

import * as grpc from "@grpc/grpc-js";

import {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
    UnknownValueError,
} from "@pulumi/policy";

import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerProto from "@pulumi/pulumi/proto/analyzer_pb";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

import { isDataVolume, resourcePolicies, resourceTypes, stackPolicies, targetTypeByRule } from "../policy/rules";
import { RecordedResource, repoRoot, runProgram } from "./support/mocks";

/** Per-property dependencies of each registration, keyed by URN. The shared recorder does not keep them. */
const propertyDependenciesByUrn = new Map<string, Record<string, string[]>>();

let propertyDependenciesRecorded = false;

/**
 * Wraps the SDK's mock monitor once so each registration's `propertyDependencies` is recorded.
 * The stack rule needs them to tell which RemoteImage a container's `image` came from.
 */
function recordPropertyDependencies(): void {
    if (propertyDependenciesRecorded) {
        return;
    }
    propertyDependenciesRecorded = true;
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
    const register = MockMonitor.prototype.registerResource;
    MockMonitor.prototype.registerResource = function (request: any, callback: (error: unknown, response: any) => void) {
        return register.call(this, request, (error: unknown, response: any) => {
            if (!error) {
                const byProperty: Record<string, string[]> = {};
                request.getPropertydependenciesMap().forEach((dependencies: any, property: string) => {
                    byProperty[property] = dependencies.getUrnsList();
                });
                propertyDependenciesByUrn.set(response.getUrn(), byProperty);
            }
            callback(error, response);
        });
    };
}

function policyOptions(resource: RecordedResource): PolicyResourceOptions {
    return {
        protect: resource.options.protect,
        ignoreChanges: resource.options.ignoreChanges,
        deleteBeforeReplace: resource.options.deleteBeforeReplace,
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: resource.options.additionalSecretOutputs,
        ...(resource.options.parent ? { parent: resource.options.parent } : {}),
    };
}

const notApplicable = (reason?: string): never => {
    throw new Error(`notApplicable: ${reason ?? ""}`);
};

/** Converts a recorded registration into the arguments the policy host passes to a resource rule. */
function toResourceArgs(resource: RecordedResource): ResourceValidationArgs {
    return {
        type: resource.type,
        name: resource.name,
        urn: resource.urn,
        // Unknown inputs are recorded as the engine's unknown sentinel, and the proxy throws on them as the host does.
        props: unknownCheckingProxy(resource.inputs),
        opts: policyOptions(resource),
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => ({}) as T,
        notApplicable,
    };
}

/** Converts all registrations into the stack view, with dependencies linked by URN. */
function toStackResources(resources: RecordedResource[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    for (const resource of resources) {
        byUrn.set(resource.urn, {
            type: resource.type,
            name: resource.name,
            urn: resource.urn,
            props: unknownCheckingProxy(resource.inputs),
            opts: policyOptions(resource),
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        });
    }

    const linked = (urns: string[]) => urns.map((urn) => byUrn.get(urn)).filter((found): found is PolicyResource => found !== undefined);
    for (const resource of resources) {
        const stackResource = byUrn.get(resource.urn);
        if (stackResource === undefined) {
            continue;
        }
        stackResource.dependencies = linked(resource.options.dependsOn);
        for (const [property, urns] of Object.entries(propertyDependenciesByUrn.get(resource.urn) ?? {})) {
            stackResource.propertyDependencies[property] = linked(urns);
        }
    }
    return [...byUrn.values()];
}

interface RuleOutcome {
    /** Violation messages, each prefixed with the resource name. */
    readonly violations: string[];
    /** Resources of the rule's target type that the rule ran on. */
    readonly checked: number;
    /** Resources the rule could not decide because a value was unknown; the engine reports these as advisory. */
    readonly deferred: string[];
}

async function runResourceRule(policy: ResourceValidationPolicy, resources: RecordedResource[]): Promise<RuleOutcome> {
    const outcome = { violations: [] as string[], checked: 0, deferred: [] as string[] };
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];

    for (const resource of resources) {
        if (resource.type === targetTypeByRule[policy.name]) {
            outcome.checked += 1;
        }
        for (const validate of validations) {
            try {
                await validate?.(toResourceArgs(resource), (message) => outcome.violations.push(`${resource.name}: ${message}`));
            } catch (error) {
                if (error instanceof UnknownValueError) {
                    outcome.deferred.push(`${resource.name}: ${(error as Error).message}`);
                } else {
                    throw error;
                }
            }
        }
    }
    return outcome;
}

async function runStackRule(policy: StackValidationPolicy, resources: RecordedResource[]): Promise<RuleOutcome> {
    const violations: string[] = [];
    await policy.validateStack(
        { resources: toStackResources(resources), stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable },
        (message, urn) => violations.push(`${urn ?? "stack"}: ${message}`),
    );
    const checked = resources.filter((resource) => resource.type === targetTypeByRule[policy.name]).length;
    return { violations, checked, deferred: [] };
}

const rules = [...resourcePolicies, ...stackPolicies];

for (const mode of ["update", "preview"] as const) {
    describe(`policy on program ${mode}`, () => {
        let resources: RecordedResource[] = [];
        const outcomes = new Map<string, RuleOutcome>();

        before(async () => {
            recordPropertyDependencies();
            ({ resources } = await runProgram({ preview: mode === "preview" }));
            for (const policy of resourcePolicies) {
                outcomes.set(policy.name, await runResourceRule(policy, resources));
            }
            for (const policy of stackPolicies) {
                outcomes.set(policy.name, await runStackRule(policy, resources));
            }
        });

        it("registers resources", () => {
            assert.ok(resources.length > 0, "the program registered nothing");
        });

        // The volume rule only acts on data volumes, so it must recognize both of them.
        it("labels both data volumes", () => {
            const dataVolumes = resources.filter((resource) => resource.type === resourceTypes.volume && isDataVolume(resource.inputs, resource.name));
            assert.ok(
                dataVolumes.some((volume) => volume.name.includes("postgres")),
                "no PostgreSQL data volume found",
            );
            assert.ok(
                dataVolumes.some((volume) => volume.name.includes("redis")),
                "no Redis data volume found",
            );
        });

        // The stack rule passes a container through its RemoteImage, so every container must have one.
        it("traces every container image", () => {
            const remoteImageUrns = new Set(resources.filter((resource) => resource.type === resourceTypes.remoteImage).map((resource) => resource.urn));
            for (const container of resources.filter((resource) => resource.type === resourceTypes.container)) {
                const sources = propertyDependenciesByUrn.get(container.urn)?.image ?? [];
                assert.ok(
                    sources.some((urn) => remoteImageUrns.has(urn)),
                    `container ${container.name} takes its image from no RemoteImage`,
                );
            }
        });

        for (const policy of rules) {
            const targetType = targetTypeByRule[policy.name] ?? "";

            it(`passes ${policy.name}`, () => {
                const outcome = outcomes.get(policy.name);
                assert.ok(outcome, `rule ${policy.name} did not run`);
                assert.ok(outcome.checked > 0, `no ${targetType} was registered, so ${policy.name} checked nothing`);
                assert.deepEqual(outcome.violations, []);
                if (mode === "update") {
                    // Every input is known during an update, so no rule may be left undecided.
                    assert.deepEqual(outcome.deferred, []);
                }
            });
        }
    });
}

// --- The pack as the Pulumi CLI runs it -------------------------------------------

/**
 * Starts the pack the way `pulumi preview --policy-pack policy` does. The Pulumi Node.js
 * policy host loads `policy/index.ts` with its own ts-node. The pack then serves the
 * analyzer gRPC API on a free 127.0.0.1 port and prints the port on stdout.
 */
async function startPolicyPack(): Promise<{ process: ChildProcess; address: string }> {
    const host = path.join(repoRoot, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
    // The first argument is the engine address, which the policy host drops unused.
    const child = spawn(process.execPath, [host, "127.0.0.1:0", "."], { cwd: path.join(repoRoot, "policy"), stdio: ["ignore", "pipe", "pipe"] });

    let stderr = "";
    child.stderr?.on("data", (chunk) => (stderr += String(chunk)));
    const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`policy pack printed no port within 120 s; stderr:\n${stderr}`)), 120_000);
        child.stdout?.once("data", (chunk) => {
            clearTimeout(timer);
            resolve(String(chunk).trim());
        });
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`policy pack exited with code ${code}; stderr:\n${stderr}`));
        });
    });
    assert.match(port, /^\d+$/, `policy pack printed "${port}" instead of a port`);
    return { process: child, address: `127.0.0.1:${port}` };
}

function toAnalyzerOptions(resource: RecordedResource): analyzerProto.AnalyzerResourceOptions {
    const options = new analyzerProto.AnalyzerResourceOptions();
    options.setProtect(resource.options.protect);
    options.setDeletebeforereplace(resource.options.deleteBeforeReplace);
    options.setIgnorechangesList(resource.options.ignoreChanges);
    options.setAdditionalsecretoutputsList(resource.options.additionalSecretOutputs);
    options.setParent(resource.options.parent);
    return options;
}

function toAnalyzeRequest(resource: RecordedResource): analyzerProto.AnalyzeRequest {
    const request = new analyzerProto.AnalyzeRequest();
    request.setType(resource.type);
    request.setName(resource.name);
    request.setUrn(resource.urn);
    request.setProperties(Struct.fromJavaScript(resource.inputs));
    request.setOptions(toAnalyzerOptions(resource));
    return request;
}

function toAnalyzeStackRequest(resources: RecordedResource[]): analyzerProto.AnalyzeStackRequest {
    const request = new analyzerProto.AnalyzeStackRequest();
    request.setResourcesList(
        resources.map((resource) => {
            const analyzed = new analyzerProto.AnalyzerResource();
            analyzed.setType(resource.type);
            analyzed.setName(resource.name);
            analyzed.setUrn(resource.urn);
            analyzed.setProperties(Struct.fromJavaScript(resource.inputs));
            analyzed.setOptions(toAnalyzerOptions(resource));
            analyzed.setParent(resource.options.parent);
            analyzed.setDependenciesList(resource.options.dependsOn);
            for (const [property, urns] of Object.entries(propertyDependenciesByUrn.get(resource.urn) ?? {})) {
                analyzed.getPropertydependenciesMap().set(property, new analyzerProto.AnalyzerPropertyDependencies().setUrnsList(urns));
            }
            return analyzed;
        }),
    );
    return request;
}

/** Returns each diagnostic as `<policy> <level>: <message>`, so a failed assert shows them all. */
function describeDiagnostics(response: analyzerProto.AnalyzeResponse): string[] {
    return response.getDiagnosticsList().map((diagnostic) => {
        const level = diagnostic.getEnforcementlevel() === analyzerProto.EnforcementLevel.MANDATORY ? "mandatory" : "advisory";
        return `${diagnostic.getPolicyname()} ${level}: ${diagnostic.getMessage()}`;
    });
}

function call<Request, Response>(method: (request: Request, callback: (error: grpc.ServiceError | null, response: Response) => void) => unknown, request: Request): Promise<Response> {
    return new Promise((resolve, reject) => method(request, (error, response) => (error ? reject(error) : resolve(response))));
}

describe("policy pack over gRPC", () => {
    let pack: ChildProcess | undefined;
    let client: AnalyzerClient;

    before(async () => {
        const started = await startPolicyPack();
        pack = started.process;
        client = new AnalyzerClient(started.address, grpc.credentials.createInsecure());
    });

    after(async () => {
        client?.close();
        if (pack && pack.exitCode === null) {
            const exited = new Promise((resolve) => pack?.once("exit", resolve));
            pack.kill();
            await exited;
        }
    });

    function analyze(resource: RecordedResource): Promise<analyzerProto.AnalyzeResponse> {
        return call<analyzerProto.AnalyzeRequest, analyzerProto.AnalyzeResponse>(client.analyze.bind(client), toAnalyzeRequest(resource));
    }

    /** Builds a registration as the recorder stores it. */
    function recorded(type: string, name: string, inputs: Record<string, unknown>): RecordedResource {
        return {
            type,
            name,
            urn: `urn:pulumi:prod::netos::${type}::${name}`,
            custom: true,
            inputs,
            secretInputPaths: [],
            options: {
                protect: false,
                deleteBeforeReplace: false,
                retainOnDelete: false,
                ignoreChanges: [],
                replaceOnChanges: [],
                additionalSecretOutputs: [],
                dependsOn: [],
                parent: "",
                provider: "",
                deletedWith: "",
            },
        };
    }

    it("serves every rule as mandatory", async () => {
        const info = await call<Empty, analyzerProto.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
        assert.equal(info.getName(), "netos-infra");
        const served = info.getPoliciesList().map((policy) => policy.getName());
        assert.deepEqual(served, rules.map((policy) => policy.name));
        for (const policy of info.getPoliciesList()) {
            assert.equal(policy.getEnforcementlevel(), analyzerProto.EnforcementLevel.MANDATORY, policy.getName());
        }
    });

    it("reports a violation as mandatory", async () => {
        const response = await analyze(recorded(resourceTypes.container, "web", { image: "nginx:latest", name: "web" }));
        // The policy host puts the rule's description before the rule's message.
        assert.deepEqual(describeDiagnostics(response), [
            "container-image-pinned mandatory: Container images are pinned to a release tag or a digest, never `latest` or no tag.\n" +
                'Container "web" image "nginx:latest" uses the tag `latest`. ' +
                "Fix: pin it to a release tag (e.g. `postgres:16.4`) or a digest (`name@sha256:<64 hex>`).",
        ]);
    });

    it("defers an unknown as advisory", async () => {
        const response = await analyze(recorded(resourceTypes.applicationPassword, "secret", { applicationId: "app", endDate: unknownValue }));
        const diagnostics = describeDiagnostics(response);
        assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
        assert.match(diagnostics[0] ?? "", /^client-secret-expires-within-12-months advisory: can't run policy .* during preview/);
    });

    it("passes the program's resources", async () => {
        recordPropertyDependencies();
        const { resources } = await runProgram();
        assert.ok(resources.length > 0, "the program registered nothing");

        for (const resource of resources) {
            assert.deepEqual(describeDiagnostics(await analyze(resource)), [], resource.urn);
        }
        const stackResponse = await call<analyzerProto.AnalyzeStackRequest, analyzerProto.AnalyzeResponse>(
            client.analyzeStack.bind(client),
            toAnalyzeStackRequest(resources),
        );
        assert.deepEqual(describeDiagnostics(stackResponse), []);
    });
});
