/**
 * The README as a reference: every section an operator needs is present, the
 * outputs table lists exactly what the program exports, the diagram names
 * every service and network, and every in-page link points at a heading.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";

import { services, ServiceKey } from "../services";
import { tableEnd, tableStart } from "../scripts/configTable";
import { mockedOutputs, repoRoot, resourcesOfType, runProgram } from "./support/mocks";

const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");

/** Returns the headings of a Markdown text with their level, skipping code blocks. */
function headings(markdown: string): { level: number; text: string }[] {
    const found: { level: number; text: string }[] = [];
    let inCode = false;
    for (const line of markdown.split("\n")) {
        if (line.startsWith("```")) {
            inCode = !inCode;
            continue;
        }
        const match = /^(#{1,6}) +(.+?) *$/.exec(line);
        if (!inCode && match) {
            found.push({ level: (match[1] as string).length, text: match[2] as string });
        }
    }
    return found;
}

/** Returns the body of a level-2 section: the lines after its heading up to the next level-2 heading. */
function section(title: string): string {
    const lines = readme.split("\n");
    const start = lines.findIndex((line) => line === `## ${title}`);
    assert.ok(start >= 0, `README.md has no "## ${title}" section`);
    const end = lines.findIndex((line, index) => index > start && line.startsWith("## "));
    return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** Returns the anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens. */
function githubAnchor(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/`/g, "")
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-");
}

/** Returns the first-column values of a Markdown table's rows, with backticks removed. */
function tableKeys(table: string): string[] {
    return table
        .split("\n")
        .filter((line) => line.startsWith("|") && !/^\|[- |]+\|$/.test(line))
        .slice(1)
        .map((line) => (line.split("|")[1] ?? "").trim().replace(/`/g, ""));
}

describe("README sections", () => {
    const titles = headings(readme).map((heading) => heading.text);

    for (const title of [
        "Architecture",
        "Configuration",
        "Outputs",
        "Verifying a deployment",
        "Troubleshooting",
        "Required permissions",
        "Entra ID permissions",
        "Day-2 operations",
    ]) {
        test(`has ${title}`, () => {
            assert.ok(titles.includes(title), `README.md has no heading "${title}"; headings: ${titles.join(", ")}`);
        });
    }

    for (const title of [
        "Switching over from the compose deployment",
        "Rotating a secret",
        "Upgrading a pinned image",
        "Importing resources created by hand",
        "Tearing down without losing data",
    ]) {
        test(`day-2 covers ${title.toLowerCase()}`, () => {
            assert.match(section("Day-2 operations"), new RegExp(`^### ${title}$`, "m"));
        });
    }

    test("config table markers", () => {
        const start = readme.indexOf(tableStart);
        assert.ok(start >= 0, `README.md lacks ${tableStart}`);
        assert.ok(readme.indexOf(tableEnd) > start, `README.md lacks ${tableEnd} after the start marker`);
    });

    test("licence note for groups", () => {
        assert.match(readme, /Entra ID P1 or P2/);
    });

    test("in-page links resolve", () => {
        const anchors = new Set(headings(readme).map((heading) => githubAnchor(heading.text)));
        const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1] as string);

        assert.ok(links.length > 0, "README.md has no in-page links");
        for (const link of links) {
            assert.ok(anchors.has(link), `link #${link} matches no heading`);
        }
    });
});

describe("README architecture", () => {
    const architecture = section("Architecture");
    const diagram = /```mermaid\n([\s\S]*?)\n```/.exec(architecture)?.[1] ?? "";

    test("has a Mermaid flowchart", () => {
        assert.match(diagram, /^flowchart /);
    });

    for (const name of [...Object.values(services).map((service) => service.alias), "cloudflared", "Cloudflare Access", "Entra ID"]) {
        test(`diagram shows ${name}`, () => {
            assert.ok(diagram.includes(name), `the diagram does not mention ${name}`);
        });
    }

    for (const network of ["edge", "proxy", "app", "data", "sessions"]) {
        test(`diagram shows ${network} network`, () => {
            assert.ok(diagram.includes(`${network} network`), `the diagram does not label a hop with the ${network} network`);
        });
    }
});

describe("README network table", () => {
    const networkType = "docker:index/network:Network";
    const rows = section("Architecture")
        .split("\n")
        .filter((line) => /^\| `[a-z]+` \|/.test(line))
        .map((line) => line.split("|").map((cell) => cell.trim()));
    const documented = new Map(rows.map((cells) => [(cells[1] ?? "").replace(/`/g, ""), (cells[2] ?? "").split(", ").sort()]));
    let registered: Map<string, string[]>;

    /** Returns a Docker resource's labels as a map. */
    function labelsOf(inputs: Record<string, any>): Record<string, string> {
        return Object.fromEntries((inputs.labels ?? []).map((entry: { label: string; value: string }) => [entry.label, entry.value]));
    }

    before(async () => {
        // With appEgress on, so the optional egress network is registered too.
        const run = await runProgram({ config: { appEgress: true } });
        const roleByNetworkName = new Map<string, string>();
        for (const network of resourcesOfType(run, networkType)) {
            const name = mockedOutputs[networkType]?.(network.name, network.inputs).name as string;
            roleByNetworkName.set(name, labelsOf(network.inputs)["netos.network"] ?? "");
        }
        registered = new Map();
        for (const container of resourcesOfType(run, "docker:index/container:Container")) {
            const service = labelsOf(container.inputs)["netos.service"] ?? "";
            const alias = service in services ? services[service as ServiceKey].alias : service;
            for (const network of container.inputs.networksAdvanced ?? []) {
                const role = roleByNetworkName.get(network.name) ?? `unknown network ${network.name}`;
                registered.set(role, [...(registered.get(role) ?? []), alias].sort());
            }
        }
    });

    test("lists every network", () => {
        assert.deepEqual([...documented.keys()].sort(), [...registered.keys()].sort());
    });

    test("members match the program", () => {
        for (const [role, members] of registered) {
            assert.deepEqual(documented.get(role), members, `members of the ${role} network`);
        }
    });
});

describe("README outputs table", () => {
    let outputNames: string[];
    const tableKeysListed = tableKeys(section("Outputs"));

    before(async () => {
        const run = await runProgram();
        outputNames = Object.keys(run.outputs);
    });

    test("lists every output", () => {
        assert.ok(outputNames.length > 0, "the program exported no outputs");
        for (const name of outputNames) {
            assert.ok(tableKeysListed.includes(name), `stack output ${name} is missing from the Outputs table`);
        }
    });

    test("lists no stale output", () => {
        for (const name of tableKeysListed) {
            assert.ok(outputNames.includes(name), `the Outputs table lists ${name}, which the program does not export`);
        }
    });
});

describe("README troubleshooting table", () => {
    const rows = section("Troubleshooting")
        .split("\n")
        .filter((line) => line.startsWith("|"));

    for (const symptom of [
        "Redirect loop after login",
        "502 Bad Gateway",
        "Tunnel not connecting",
        "CORS errors in the browser",
        "Access Denied after login",
        "401 from the API",
    ]) {
        test(`covers ${symptom}`, () => {
            const row = rows.find((line) => line.startsWith(`| ${symptom} |`));
            assert.ok(row, `no table row starts with "| ${symptom} |"`);
            // symptom, cause, prevention, what to check: four non-empty cells.
            const cells = row.split("|").slice(1, -1).map((cell) => cell.trim());
            assert.equal(cells.length, 4, row);
            for (const cell of cells) {
                assert.ok(cell.length > 0, `an empty cell in: ${row}`);
            }
        });
    }
});
