/**
 * Lints the GitHub Actions workflows with actionlint and checks what the review flow
 * relies on. Forks skip the preview with a notice, and deploys wait for the protected
 * environment and never overlap. The preview, which runs pull-request code, uses only
 * the `preview` environment and its own credentials, never the deploy's. Actions are
 * pinned, and credentials come only from secrets, variables or OIDC.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import { parse as parseYaml } from "yaml";

const repoRoot = path.resolve(__dirname, "..");
const workflowDir = path.join(repoRoot, ".github", "workflows");
const actionlint = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "netos-infra", "gobin", "actionlint");

type Mapping = Record<string, any>;

function readWorkflow(file: string): { text: string; workflow: Mapping } {
    const text = fs.readFileSync(path.join(workflowDir, file), "utf8");
    return { text, workflow: parseYaml(text) as Mapping };
}

const workflowFiles = fs.readdirSync(workflowDir).filter((file) => /\.ya?ml$/.test(file));
const preview = readWorkflow("preview.yml");
const deploy = readWorkflow("deploy.yml");
const test = readWorkflow("test.yml");

/** Returns every step of every job in a workflow. */
function stepsOf(workflow: Mapping): Mapping[] {
    return Object.values<Mapping>(workflow.jobs ?? {}).flatMap((job) => (job.steps ?? []) as Mapping[]);
}

/** Returns the one step that uses the given action, failing when there is not exactly one. */
function stepUsing(workflow: Mapping, action: string): Mapping {
    const matches = stepsOf(workflow).filter((step) => typeof step.uses === "string" && step.uses.startsWith(`${action}@`));
    assert.equal(matches.length, 1, `expected one step using ${action}`);
    return matches[0] as Mapping;
}

/** Returns the names a workflow text reads as `${{ secrets.NAME }}` or `${{ vars.NAME }}`. */
function namesRead(text: string, kind: "secrets" | "vars"): Set<string> {
    const names = new Set<string>();
    for (const match of text.matchAll(new RegExp(`\\$\\{\\{\\s*${kind}\\.([A-Z0-9_]+)\\s*\\}\\}`, "g"))) {
        names.add(match[1] as string);
    }
    return names;
}

/** Returns a job's environment name, whether written as a string or as `{ name }`. */
function environmentOf(job: Mapping): string | undefined {
    return typeof job.environment === "string" ? job.environment : job.environment?.name;
}

/** Returns the README section "Pull-request review", up to the next level-2 heading. */
function reviewSection(): string {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    const start = readme.indexOf("## Pull-request review");
    assert.notEqual(start, -1, "README.md has no section '## Pull-request review'");
    const next = readme.indexOf("\n## ", start + 1);
    return next === -1 ? readme.slice(start) : readme.slice(start, next);
}

describe("workflows lint", () => {
    it("finds the workflow files", () => {
        assert.deepEqual([...workflowFiles].sort(), ["deploy.yml", "preview.yml", "test.yml"]);
    });

    it("passes actionlint", () => {
        assert.ok(fs.existsSync(actionlint), `actionlint not found at ${actionlint}; run: bash scripts/setup.sh`);
        const result = spawnSync(actionlint, ["-no-color", ...workflowFiles.map((file) => path.join(".github", "workflows", file))], {
            cwd: repoRoot,
            encoding: "utf8",
            timeout: 60_000,
        });
        assert.equal(result.error, undefined, `actionlint did not run: ${String(result.error)}`);
        assert.equal(result.status, 0, `actionlint reported:\n${result.stdout}${result.stderr}`);
    });
});

describe("preview workflow", () => {
    const job = preview.workflow.jobs?.preview as Mapping;
    const forkJob = preview.workflow.jobs?.["fork-notice"] as Mapping;
    const pulumiStep = stepUsing(preview.workflow, "pulumi/actions");

    it("runs on pull requests", () => {
        assert.ok("pull_request" in preview.workflow.on);
    });

    it("never uses pull_request_target", () => {
        for (const file of workflowFiles) {
            assert.doesNotMatch(readWorkflow(file).text, /pull_request_target/, file);
        }
    });

    it("runs the tests first", () => {
        assert.equal(preview.workflow.jobs?.test?.uses, "./.github/workflows/test.yml");
        assert.equal(job.needs, "test");
    });

    it("skips the preview for forks", () => {
        assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
    });

    it("writes a notice for forks", () => {
        assert.equal(forkJob.if, "github.event.pull_request.head.repo.full_name != github.repository");
        const notice = (forkJob.steps as Mapping[])[0] as Mapping;
        assert.match(notice.run, /GITHUB_STEP_SUMMARY/);
        assert.match(notice.run, /::notice /);
    });

    it("fork notice has no access", () => {
        assert.deepEqual(forkJob.permissions, {});
        assert.equal(forkJob.environment, undefined);
        assert.doesNotMatch(JSON.stringify(forkJob), /secrets\./);
    });

    it("previews prod with the pack", () => {
        assert.equal(pulumiStep.with?.command, "preview");
        assert.equal(pulumiStep.with?.["stack-name"], "prod");
        assert.equal(pulumiStep.with?.policyPacks, "policy");
    });

    it("updates one pull-request comment", () => {
        assert.equal(pulumiStep.with?.["comment-on-pr"], true);
        assert.equal(pulumiStep.with?.["edit-pr-comment"], true);
        assert.equal(pulumiStep.with?.["always-include-summary"], true);
    });

    it("suppresses stack outputs", () => {
        assert.equal(pulumiStep.with?.["suppress-outputs"], true);
    });

    it("keeps permissions minimal", () => {
        assert.deepEqual(preview.workflow.permissions, { contents: "read" });
        assert.deepEqual(job.permissions, { contents: "read", "pull-requests": "write", "id-token": "write" });
    });

    it("sets up Node with npm cache", () => {
        const setupNode = (job.steps as Mapping[]).find((step) => String(step.uses).startsWith("actions/setup-node@"));
        assert.match(String(setupNode?.with?.["node-version"]), /^20\./);
        assert.equal(setupNode?.with?.cache, "npm");
    });
});

describe("preview trust model", () => {
    const job = preview.workflow.jobs?.preview as Mapping;
    const deployJob = deploy.workflow.jobs?.deploy as Mapping;
    // Variables that hold no credential and name the same backend and tenant for both jobs.
    const sharedVariables = ["ARM_TENANT_ID", "PULUMI_BACKEND_URL"];

    it("uses the preview environment", () => {
        assert.equal(environmentOf(job), "preview");
    });

    it("never names production", () => {
        for (const [name, previewJob] of Object.entries<Mapping>(preview.workflow.jobs ?? {})) {
            assert.doesNotMatch(JSON.stringify(previewJob), /production/i, `preview job ${name}`);
        }
    });

    it("only the preview job reads secrets", () => {
        for (const [name, previewJob] of Object.entries<Mapping>(preview.workflow.jobs ?? {})) {
            if (/secrets\./.test(JSON.stringify(previewJob))) {
                assert.equal(environmentOf(previewJob), "preview", `preview job ${name} reads secrets outside the preview environment`);
            }
        }
    });

    it("deploy keeps production", () => {
        assert.equal(environmentOf(deployJob), "production");
    });

    it("secrets differ from deploy", () => {
        const previewSecrets = namesRead(preview.text, "secrets");
        const deploySecrets = namesRead(deploy.text, "secrets");
        assert.ok(previewSecrets.size > 0, "the preview reads no secret");
        assert.ok(deploySecrets.size > 0, "the deploy reads no secret");
        for (const name of previewSecrets) {
            assert.ok(!deploySecrets.has(name), `secret ${name} is read by both the preview and the deploy`);
        }
    });

    it("preview names are prefixed", () => {
        for (const name of [...namesRead(preview.text, "secrets"), ...namesRead(preview.text, "vars")]) {
            if (!sharedVariables.includes(name)) {
                assert.match(name, /^PREVIEW_/, `preview setting ${name} lacks the PREVIEW_ prefix`);
            }
        }
    });

    it("shares only non-credential vars", () => {
        const deployVariables = namesRead(deploy.text, "vars");
        for (const name of namesRead(preview.text, "vars")) {
            if (deployVariables.has(name)) {
                assert.ok(sharedVariables.includes(name), `variable ${name} is read by both the preview and the deploy`);
            }
        }
    });

    it("deploy reads no preview setting", () => {
        assert.doesNotMatch(deploy.text, /PREVIEW_/);
    });

    it("identities differ", () => {
        const previewEnv = stepUsing(preview.workflow, "pulumi/actions").env as Mapping;
        const deployEnv = stepUsing(deploy.workflow, "pulumi/actions").env as Mapping;
        assert.notEqual(previewEnv.ARM_CLIENT_ID, deployEnv.ARM_CLIENT_ID);
        assert.notEqual(previewEnv.DOCKER_HOST, deployEnv.DOCKER_HOST);
    });

    it("README names the OIDC subjects", () => {
        const section = reviewSection();
        assert.ok(section.includes("repo:<owner>/<repo>:environment:preview"), "README lacks the preview identity's subject");
        assert.ok(section.includes("repo:<owner>/<repo>:environment:production"), "README lacks the deploy identity's subject");
        assert.doesNotMatch(section, /federated[^.]*:pull_request`/, "README federates an identity on the pull_request subject");
    });
});

describe("test workflow", () => {
    it("runs the README test command", () => {
        const runs = stepsOf(test.workflow).map((step) => step.run);
        assert.ok(runs.includes("bash scripts/test.sh"));
    });

    it("is callable only", () => {
        assert.deepEqual(Object.keys(test.workflow.on), ["workflow_call"]);
    });

    it("runs on Debian 12", () => {
        assert.match(String(test.workflow.jobs?.test?.container?.image), /^debian:12\.\d+$/);
    });
});

describe("deploy workflow", () => {
    const job = deploy.workflow.jobs?.deploy as Mapping;
    const pulumiStep = stepUsing(deploy.workflow, "pulumi/actions");

    it("runs on push to main", () => {
        assert.deepEqual(deploy.workflow.on?.push?.branches, ["main"]);
        assert.equal(job.if, "github.ref == 'refs/heads/main'");
    });

    it("uses the production environment", () => {
        assert.equal(job.environment?.name, "production");
    });

    it("never overlaps deploys", () => {
        assert.equal(typeof job.concurrency?.group, "string");
        assert.equal(job.concurrency?.["cancel-in-progress"], false);
    });

    it("runs the tests first", () => {
        assert.equal(deploy.workflow.jobs?.test?.uses, "./.github/workflows/test.yml");
        assert.equal(job.needs, "test");
    });

    it("updates prod with the pack", () => {
        assert.equal(pulumiStep.with?.command, "up");
        assert.equal(pulumiStep.with?.["stack-name"], "prod");
        assert.equal(pulumiStep.with?.policyPacks, "policy");
        assert.equal(pulumiStep.with?.["suppress-outputs"], true);
    });

    it("keeps permissions minimal", () => {
        assert.deepEqual(deploy.workflow.permissions, { contents: "read" });
        assert.deepEqual(job.permissions, { contents: "read", "id-token": "write" });
    });
});

describe("Node.js version", () => {
    const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as Mapping;
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as Mapping;

    /** Returns the major version N of an engines range written as ">=N". */
    function minimumMajor(range: unknown): number {
        const match = /^>=\s*(\d+)(\.\d+)*$/.exec(String(range));
        assert.ok(match, `engines range ${String(range)} is not of the form >=N`);
        return Number(match[1]);
    }

    const engineMajor = minimumMajor(packageJson.engines?.node);

    it("engines require Node 20+", () => {
        assert.equal(engineMajor, 20);
    });

    it("workflows use that major", () => {
        for (const file of workflowFiles) {
            const setupSteps = stepsOf(readWorkflow(file).workflow).filter((step) => String(step.uses).startsWith("actions/setup-node@"));
            for (const step of setupSteps) {
                assert.match(String(step.with?.["node-version"]), new RegExp(`^${engineMajor}\\.\\d+\\.\\d+$`), `${file}: ${step.name}`);
            }
        }
    });

    it("Pulumi SDK supports it", () => {
        const sdk = lock.packages?.["node_modules/@pulumi/pulumi"] as Mapping;
        assert.ok(minimumMajor(sdk.engines?.node) <= engineMajor, `@pulumi/pulumi ${sdk.version} requires Node.js ${sdk.engines?.node}`);
    });
});

describe("workflow credentials", () => {
    const allWorkflows = workflowFiles.map(readWorkflow);

    it("pins every action", () => {
        for (const { workflow } of allWorkflows) {
            for (const step of stepsOf(workflow).filter((candidate) => candidate.uses !== undefined)) {
                assert.match(step.uses, /^[\w.-]+\/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/, `action not pinned: ${step.uses}`);
            }
        }
    });

    it("pins the Pulumi CLI", () => {
        for (const { workflow } of [preview, deploy]) {
            assert.match(String(stepUsing(workflow, "pulumi/actions").with?.["pulumi-version"]), /^\d+\.\d+\.\d+$/);
        }
    });

    it("reads credentials from secrets", () => {
        const credentialName = /TOKEN|PASSPHRASE|PRIVATE_KEY|SECRET|PASSWORD/;
        // The preview reads its own credentials, named like the deploy's with a PREVIEW_ prefix.
        for (const file of workflowFiles) {
            const prefix = file === "preview.yml" ? "PREVIEW_" : "";
            for (const step of stepsOf(readWorkflow(file).workflow)) {
                for (const [name, value] of Object.entries<string>(step.env ?? {})) {
                    if (credentialName.test(name)) {
                        assert.equal(value, `\${{ secrets.${prefix}${name} }}`, `${name} in step "${step.name}" does not come from the secret ${prefix}${name}`);
                    }
                }
            }
        }
    });

    it("authenticates Azure with OIDC", () => {
        for (const { workflow, clientIdVariable } of [
            { workflow: preview.workflow, clientIdVariable: "PREVIEW_ARM_CLIENT_ID" },
            { workflow: deploy.workflow, clientIdVariable: "ARM_CLIENT_ID" },
        ]) {
            const env = stepUsing(workflow, "pulumi/actions").env as Mapping;
            assert.equal(env.ARM_USE_OIDC, "true");
            assert.equal(env.ARM_CLIENT_ID, `\${{ vars.${clientIdVariable} }}`);
            assert.equal(env.ARM_TENANT_ID, "${{ vars.ARM_TENANT_ID }}");
            assert.equal(env.ARM_CLIENT_SECRET, undefined);
        }
    });

    it("contains no secret literal", () => {
        const secretPatterns = [
            /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
            /\bpul-[0-9a-f]{20,}/,
            /\bgh[pousr]_[A-Za-z0-9]{20,}/,
            /\bAKIA[0-9A-Z]{16}\b/,
            /\b[0-9a-f]{40,}\b/,
        ];
        for (const { text } of allWorkflows) {
            // Action pins by commit SHA are 40 hex digits too, so drop them before matching.
            const withoutPins = text.replace(/@[0-9a-f]{40}\b/g, "@pin");
            for (const pattern of secretPatterns) {
                assert.doesNotMatch(withoutPins, pattern);
            }
        }
    });

    it("writes the SSH key privately", () => {
        for (const { workflow, keySecret } of [
            { workflow: preview.workflow, keySecret: "PREVIEW_DOCKER_SSH_PRIVATE_KEY" },
            { workflow: deploy.workflow, keySecret: "DOCKER_SSH_PRIVATE_KEY" },
        ]) {
            const sshStep = stepsOf(workflow).find((step) => step.name === "Configure SSH to the Docker host") as Mapping;
            assert.match(sshStep.run, /umask 077/);
            assert.match(sshStep.run, /chmod 600 ~\/\.ssh\/netos_docker/);
            assert.match(sshStep.run, /StrictHostKeyChecking yes/);
            assert.equal(sshStep.env?.DOCKER_SSH_PRIVATE_KEY, `\${{ secrets.${keySecret} }}`);
        }
    });

    it("documents every secret and variable", () => {
        const section = reviewSection();
        const names = new Set<string>();
        for (const { text } of allWorkflows) {
            for (const name of [...namesRead(text, "secrets"), ...namesRead(text, "vars")]) {
                names.add(name);
            }
        }
        assert.ok(names.size > 0);
        for (const name of names) {
            assert.ok(section.includes(`\`${name}\``), `README section "Pull-request review" does not list ${name}`);
        }
    });
});
