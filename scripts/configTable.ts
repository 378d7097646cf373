/**
 * Renders the README's config table from the `config:` block of Pulumi.yaml,
 * so the table cannot drift from the declarations. `--write` replaces the
 * table between the config-table markers in README.md; without it the table
 * is printed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

const repoRoot = path.resolve(__dirname, "..");
export const tableStart = "<!-- config-table:start -->";
export const tableEnd = "<!-- config-table:end -->";

interface Declaration {
    type?: string;
    items?: { type?: string };
    description?: string;
    default?: unknown;
    secret?: boolean;
}

function formatDefault(declaration: Declaration): string {
    if (!("default" in declaration)) {
        return "";
    }
    return `\`${JSON.stringify(declaration.default)}\``;
}

function formatType(declaration: Declaration): string {
    if (declaration.type === "array") {
        return `array of ${declaration.items?.type ?? "any"}`;
    }
    return declaration.type ?? "object";
}

/** Renders the Markdown table for every key declared in a Pulumi.yaml text. */
export function renderConfigTable(projectYaml: string): string {
    const project = parseYaml(projectYaml);
    const rows = Object.entries<Declaration>(project.config ?? {}).map(([key, declaration]) => {
        const qualified = key.includes(":") ? key : `${project.name}:${key}`;
        const required = "default" in declaration ? "no" : "yes";
        const secret = declaration.secret ? "yes" : "no";
        const description = (declaration.description ?? "").replace(/\|/g, "\\|");
        return `| \`${qualified}\` | ${formatType(declaration)} | ${formatDefault(declaration)} | ${required} | ${secret} | ${description} |`;
    });
    return ["| key | type | default | required | secret | description |", "|---|---|---|---|---|---|", ...rows].join("\n");
}

/** Returns README text with the table between the markers replaced. */
export function replaceConfigTable(readme: string, table: string): string {
    const start = readme.indexOf(tableStart);
    const end = readme.indexOf(tableEnd);
    if (start < 0 || end < start) {
        throw new Error(`README.md must contain ${tableStart} followed by ${tableEnd}`);
    }
    return `${readme.slice(0, start + tableStart.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
    const table = renderConfigTable(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
    if (process.argv.includes("--write")) {
        const readmePath = path.join(repoRoot, "README.md");
        fs.writeFileSync(readmePath, replaceConfigTable(fs.readFileSync(readmePath, "utf8"), table));
        console.log("README.md config table updated from Pulumi.yaml");
    } else {
        console.log(table);
    }
}
