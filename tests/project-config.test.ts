import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { renderConfigTable, tableEnd, tableStart } from "../scripts/configTable";
import { operatorConfig, repoRoot, stackConfig } from "./support/mocks";

const project = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
const declarations: Record<string, { default?: unknown; type?: string }> = project.config;

/** Loads the config module afresh under mocks with the given netos config and returns the validated object and keys read. */
async function loadWith(config: Record<string, unknown>): Promise<{ value: unknown; keysRead: string[] }> {
    await pulumi.runtime.setMocks({ newResource: () => ({ id: undefined, state: {} }), call: () => ({}) }, "netos", "prod", false);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])),
        [],
    );
    const configModule: typeof import("../config") = require("../config");
    const reader = new configModule.ConfigReader("netos");
    let value: unknown;
    try {
        value = configModule.loadConfig(reader);
    } catch (error) {
        // A default may be invalid on its own (roleGroups while Access is on); then both sides must fail alike.
        value = { error: error instanceof Error ? error.message : String(error) };
    }
    return { value, keysRead: [...reader.keysRead].sort() };
}

describe("Pulumi.yaml", () => {
    test("project name and runtime", () => {
        assert.equal(project.name, "netos");
        assert.equal(project.runtime.name, "nodejs");
    });

    test("declares every key read", async () => {
        const { value, keysRead } = await loadWith({ ...operatorConfig, ...stackConfig("prod") });
        assert.equal((value as { error?: string }).error, undefined);
        assert.deepEqual(keysRead, Object.keys(declarations).sort());
    });

    // Unknown-key detection relies on every reader asking for its keys whatever the other settings are.
    test("reads every key with Access off", async () => {
        const { value, keysRead } = await loadWith({ ...operatorConfig, ...stackConfig("prod"), "netos:accessEnabled": "false", "netos:roleGroups": {} });
        assert.equal((value as { error?: string }).error, undefined);
        assert.deepEqual(keysRead, Object.keys(declarations).sort());
    });

    test("every key has a description", () => {
        for (const [key, declaration] of Object.entries<any>(declarations)) {
            assert.equal(typeof declaration.description, "string", `netos:${key} needs a description`);
            assert.ok(declaration.description.length > 10, `netos:${key} has a description too short to help`);
        }
    });

    for (const [key, declaration] of Object.entries(declarations)) {
        if (!("default" in declaration)) {
            continue;
        }
        test(`default of ${key} matches code`, async () => {
            const withoutKey = { ...operatorConfig, ...stackConfig("prod") };
            delete withoutKey[`netos:${key}`];
            const codeDefault = await loadWith(withoutKey);
            const declaredDefault = await loadWith({ ...withoutKey, [`netos:${key}`]: declaration.default });
            assert.deepEqual(declaredDefault.value, codeDefault.value);
        });
    }

    test("production stack needs no secret", () => {
        const text = fs.readFileSync(path.join(repoRoot, "Pulumi.prod.yaml"), "utf8");
        assert.doesNotMatch(text, /secure:/, "Pulumi.prod.yaml must not hold secrets; the program generates them");
        assert.doesNotMatch(text, /encryptionsalt/);
    });

    test("production hostname and tenant", () => {
        const config = stackConfig("prod");
        assert.equal(config["netos:hostname"], "netos.xiberian.net");
        assert.equal(config["netos:entraTenantId"], "4944843d-e347-4fe7-a279-4006ce5efc33");
    });
});

describe("README", () => {
    test("config table matches Pulumi.yaml", () => {
        const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
        const start = readme.indexOf(tableStart);
        const end = readme.indexOf(tableEnd);
        assert.ok(start >= 0, "README.md lacks the config-table start marker");
        assert.ok(end > start, "README.md lacks the config-table end marker after the start marker");
        const table = readme.slice(start + tableStart.length, end).trim();
        const expected = renderConfigTable(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
        assert.equal(table, expected, "README config table is stale: run npm run docs:config");
    });

    test("table lists every key", () => {
        const table = renderConfigTable(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
        for (const key of Object.keys(declarations)) {
            assert.ok(table.includes(`| \`netos:${key}\` |`), `netos:${key} missing from the table`);
        }
    });
});
