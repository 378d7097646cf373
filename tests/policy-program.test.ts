/**
 * Runs every policy rule over the production program's registrations, recorded under
 * mocks with their resource options, and expects no violation. Each rule must also have
 * seen the resources it targets, so the test cannot pass on an empty program.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
    UnknownValueError,
} from "@pulumi/policy";

import { resourcePolicies, resourceTypes, stackPolicies, targetTypeByRule } from "../policy/rules";
import { RecordedResource, runProgram } from "./support/mocks";

/**
 * Resource types the program does not register yet, because their components have not
 * landed. Their rules are reported as `todo`; the test fails once a type appears, so
 * this list cannot go stale.
 */
const pendingTypes: readonly string[] = [
    resourceTypes.container,
    resourceTypes.remoteImage,
    resourceTypes.volume,
    resourceTypes.tunnelConfig,
    resourceTypes.dnsRecord,
    resourceTypes.accessPolicy,
    resourceTypes.accessApplication,
];

/** Per-property dependencies of each registration, keyed by URN; the shared recorder does not keep them. */
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
        // Unknown inputs are recorded as the engine's unknown sentinel; the proxy throws on them as the host does.
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

        for (const policy of rules) {
            const targetType = targetTypeByRule[policy.name] ?? "";

            it(`passes ${policy.name}`, (t) => {
                const outcome = outcomes.get(policy.name);
                assert.ok(outcome, `rule ${policy.name} did not run`);
                if (pendingTypes.includes(targetType)) {
                    assert.equal(outcome.checked, 0, `${targetType} is registered now: remove it from pendingTypes in this file`);
                    t.todo(`the program registers no ${targetType} yet`);
                    return;
                }
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
