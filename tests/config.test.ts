import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../config";
import { checkGroupReference, checkGuid, checkHostname, checkRoleValue } from "../config/validators";
import { findResource, runProgram, runProgramSettled } from "./support/mocks";

describe("validators", () => {
    test("hostname accepts bare names", () => {
        assert.equal(checkHostname("netos.xiberian.net"), undefined);
        assert.equal(checkHostname("a-b.c1.example.co.uk"), undefined);
    });

    const badHostnames: [string, string][] = [
        ["https://netos.xiberian.net", "must be a bare DNS name without a scheme such as https://"],
        ["netos.xiberian.net/app", "must be a bare DNS name without a path, query or fragment"],
        ["netos.xiberian.net:443", "must be a bare DNS name without a port"],
        ["NetOS.xiberian.net", "must be written in lower case"],
        ["netos.xiberian.net.", "must not end with a dot"],
        ["localhost", "must be a fully qualified name with at least two labels, like netos.example.com"],
        ["*.xiberian.net", "must be a DNS name of labels made of a-z, 0-9 and inner hyphens, each at most 63 characters"],
        ["-netos.xiberian.net", "must be a DNS name of labels made of a-z, 0-9 and inner hyphens, each at most 63 characters"],
        ["net_os.xiberian.net", "must be a DNS name of labels made of a-z, 0-9 and inner hyphens, each at most 63 characters"],
    ];
    for (const [value, rule] of badHostnames) {
        test(`hostname rejects ${value}`, () => {
            assert.equal(checkHostname(value), rule);
        });
    }

    test("guid accepts either case", () => {
        assert.equal(checkGuid("4944843d-e347-4fe7-a279-4006ce5efc33"), undefined);
        assert.equal(checkGuid("4944843D-E347-4FE7-A279-4006CE5EFC33"), undefined);
    });

    test("guid rejects near misses", () => {
        assert.notEqual(checkGuid("4944843d-e347-4fe7-a279-4006ce5efc3"), undefined);
        assert.notEqual(checkGuid("{4944843d-e347-4fe7-a279-4006ce5efc33}"), undefined);
        assert.notEqual(checkGuid("xiberian.onmicrosoft.com"), undefined);
    });

    test("role value rules", () => {
        assert.equal(checkRoleValue("network_eng"), undefined);
        assert.equal(checkRoleValue("Finance.Read"), undefined);
        assert.notEqual(checkRoleValue("network eng"), undefined);
        assert.notEqual(checkRoleValue(".exec"), undefined);
        assert.notEqual(checkRoleValue(""), undefined);
    });

    test("group reference forms", () => {
        assert.equal(checkGroupReference("NetOS Finance"), undefined);
        assert.equal(checkGroupReference("0c1d2e3f-0000-4000-8000-000000000001"), undefined);
        assert.match(checkGroupReference("0c1d2e3f-0000-4000") ?? "", /mistyped object id/);
        assert.match(checkGroupReference(" NetOS Finance") ?? "", /leading or trailing spaces/);
    });
});

/** Runs the program with a config change and returns the ConfigError it must throw. */
async function expectConfigError(options: Parameters<typeof runProgramSettled>[0]): Promise<{ error: ConfigError; registered: number }> {
    const { run, error } = await runProgramSettled(options);
    // The mock helper loads the program afresh, so its ConfigError class is not this module's: compare by name.
    assert.ok(error instanceof Error, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.name, "ConfigError", `expected a ConfigError, got ${String(error)}`);
    return { error: error as ConfigError, registered: run.resources.length };
}

describe("invalid stack config", () => {
    const cases: { name: string; config?: Record<string, unknown>; unset?: string[]; key: string; message: string; fix: string }[] = [
        {
            name: "hostname with scheme",
            config: { hostname: "https://netos.xiberian.net" },
            key: "netos:hostname",
            message: 'invalid value "https://netos.xiberian.net": must be a bare DNS name without a scheme such as https://.',
            fix: "pulumi config set netos:hostname netos.xiberian.net",
        },
        {
            name: "hostname with port",
            config: { hostname: "netos.xiberian.net:8443" },
            key: "netos:hostname",
            message: 'invalid value "netos.xiberian.net:8443": must be a bare DNS name without a port.',
            fix: "pulumi config set netos:hostname netos.xiberian.net",
        },
        {
            name: "missing hostname",
            unset: ["hostname"],
            key: "netos:hostname",
            message: "missing: this key is required and has no default.",
            fix: "pulumi config set netos:hostname netos.example.com",
        },
        {
            name: "tenant id not a GUID",
            config: { entraTenantId: "xiberian.onmicrosoft.com" },
            key: "netos:entraTenantId",
            message:
                'invalid value "xiberian.onmicrosoft.com": must be a GUID like 00000000-0000-0000-0000-000000000000. The tenant id is the "Directory (tenant) ID" on the Entra ID overview page.',
            fix: "pulumi config set netos:entraTenantId '<tenant GUID>'",
        },
        {
            name: "missing tenant id",
            unset: ["entraTenantId"],
            key: "netos:entraTenantId",
            message: "missing: this key is required and has no default.",
            fix: "pulumi config set netos:entraTenantId 00000000-0000-0000-0000-000000000000",
        },
        {
            name: "role with a space",
            config: { appRoles: ["exec", "network eng"], roleGroups: { exec: ["NetOS Executives"] } },
            key: "netos:appRoles",
            message: 'invalid role "network eng": must be an identifier: a letter, then up to 119 letters, digits, _, . or -.',
            fix: "rename the role in netos:appRoles in Pulumi.<stack>.yaml",
        },
        {
            name: "duplicate role",
            config: { appRoles: ["exec", "Exec"], roleGroups: { exec: ["NetOS Executives"] } },
            key: "netos:appRoles",
            message: 'duplicate role "Exec": role names must be unique, ignoring case.',
            fix: "remove the duplicate from netos:appRoles in Pulumi.<stack>.yaml",
        },
        {
            name: "group for unknown role",
            config: { roleGroups: { exec: ["NetOS Executives"], admin: ["NetOS Admins"] } },
            key: "netos:roleGroups",
            message: 'unknown role "admin": every key must be one of netos:appRoles (exec, finance, network_eng).',
            fix: "add the role to netos:appRoles or fix the key in netos:roleGroups",
        },
        {
            name: "truncated group id",
            config: { roleGroups: { exec: ["0c1d2e3f-0000-4000"] } },
            key: "netos:roleGroups",
            message: 'invalid group "0c1d2e3f-0000-4000" for role "exec": looks like a truncated or mistyped object id: must be a whole GUID, or a group\'s display name.',
            fix: "copy the group's Object ID or display name from Entra ID > Groups into netos:roleGroups",
        },
        {
            name: "all-zero tenant id",
            config: { entraTenantId: "00000000-0000-0000-0000-000000000000" },
            key: "netos:entraTenantId",
            message:
                'invalid value "00000000-0000-0000-0000-000000000000": must be your tenant\'s id, not the all-zero example GUID. The tenant id is the "Directory (tenant) ID" on the Entra ID overview page.',
            fix: "pulumi config set netos:entraTenantId '<tenant GUID>'",
        },
        {
            name: "internationalized hostname",
            config: { hostname: "nétos.xiberian.net" },
            key: "netos:hostname",
            message: 'invalid value "nétos.xiberian.net": must be a DNS name of labels made of a-z, 0-9 and inner hyphens, each at most 63 characters.',
            fix: "pulumi config set netos:hostname xn--ntos-bpa.xiberian.net",
        },
        {
            name: "group listed twice",
            config: { roleGroups: { exec: ["NetOS Executives", "netos executives"] } },
            key: "netos:roleGroups",
            message: 'duplicate group "netos executives" for role "exec": each group may be assigned to a role once.',
            fix: "remove the duplicate from netos:roleGroups in Pulumi.<stack>.yaml",
        },
        {
            name: "misspelt key",
            config: { rotaton: { cookieSecret: "2026-12-04" } },
            key: "netos:rotaton",
            message: "unknown key: this program reads no such setting; did you mean netos:rotation?",
            fix: "pulumi config rm netos:rotaton, then set netos:rotation instead",
        },
        {
            name: "unknown key",
            config: { replicas: "2" },
            key: "netos:replicas",
            message: "unknown key: this program reads no such setting.",
            fix: "pulumi config rm netos:replicas (README.md lists every key)",
        },
        {
            name: "secret lifetime over a year",
            config: { clientSecretValidityDays: "400" },
            key: "netos:clientSecretValidityDays",
            message: 'invalid value "400": must be a whole number from 1 to 365 days.',
            fix: "pulumi config set netos:clientSecretValidityDays 180",
        },
        {
            name: "unknown rotation name",
            config: { rotation: { cookiesecret: "2026-12-04" } },
            key: "netos:rotation",
            message:
                'unknown secret "cookiesecret": must be one of cookieSecret, clientSecret, accessClientSecret, tunnelSecret, postgresPassword, redisPassword.',
            fix: "fix the name: pulumi config set --path 'netos:rotation.<secret>' \"$(date +%F)\"",
        },
    ];

    for (const testCase of cases) {
        test(testCase.name, async () => {
            const { error, registered } = await expectConfigError({ config: testCase.config, unset: testCase.unset });
            const problem = error.problems.find((candidate) => candidate.key === testCase.key);
            assert.ok(problem, `no problem reported for ${testCase.key}: ${error.message}`);
            assert.equal(problem.message, testCase.message);
            assert.equal(problem.fix, testCase.fix);
            assert.equal(registered, 0, "no resource may be registered when the config is invalid");
        });
    }

    test("upper-case tenant id normalized", async () => {
        const run = await runProgram({ config: { entraTenantId: "4944843D-E347-4FE7-A279-4006CE5EFC33" } });
        const provider = findResource(run, "pulumi:providers:azuread", "entra");
        assert.equal(provider.inputs.tenantId, "4944843d-e347-4fe7-a279-4006ce5efc33");
        const ssoProxy = run.resources.find((resource) => resource.type === "docker:index/container:Container" && resource.name.endsWith("sso-proxy-container"));
        assert.ok(ssoProxy, "no sso-proxy container registered");
        const issuerFlag = (ssoProxy.inputs.command as string[]).find((arg) => arg.startsWith("--oidc-issuer-url="));
        assert.equal(issuerFlag, "--oidc-issuer-url=https://login.microsoftonline.com/4944843d-e347-4fe7-a279-4006ce5efc33/v2.0");
    });

    test("docker host required", async () => {
        const saved = process.env["DOCKER_HOST"];
        delete process.env["DOCKER_HOST"];
        try {
            const { error, registered } = await expectConfigError({ unset: ["docker:host"] });
            const problem = error.problems.find((candidate) => candidate.key === "docker:host");
            assert.ok(problem, error.message);
            assert.equal(
                problem.message,
                "missing: neither docker:host nor the DOCKER_HOST environment variable is set, so the Docker provider would use this machine's local Docker.",
            );
            assert.match(problem.fix, /^pulumi config set docker:host ssh:\/\/<user>@<docker host>, or export DOCKER_HOST/);
            assert.equal(registered, 0);
        } finally {
            if (saved !== undefined) {
                process.env["DOCKER_HOST"] = saved;
            }
        }
    });

    test("DOCKER_HOST satisfies docker host", async () => {
        const saved = process.env["DOCKER_HOST"];
        process.env["DOCKER_HOST"] = "ssh://deploy@origin.netos.test";
        try {
            const run = await runProgram({ unset: ["docker:host"] });
            const provider = findResource(run, "pulumi:providers:docker", "docker");
            // The Docker SDK fills an unset host from DOCKER_HOST.
            assert.equal(provider.inputs.host, "ssh://deploy@origin.netos.test");
        } finally {
            if (saved === undefined) {
                delete process.env["DOCKER_HOST"];
            } else {
                process.env["DOCKER_HOST"] = saved;
            }
        }
    });

    test("all problems reported at once", async () => {
        const { error, registered } = await expectConfigError({
            config: { hostname: "http://netos.xiberian.net/", entraTenantId: "tenant", clientSecretValidityDays: "0" },
        });
        assert.deepEqual(
            error.problems.map((problem) => problem.key),
            ["netos:hostname", "netos:entraTenantId", "netos:clientSecretValidityDays"],
        );
        assert.equal(registered, 0);
    });

    test("message names key, value and fix", async () => {
        const { error } = await expectConfigError({ config: { hostname: "https://netos.xiberian.net" } });
        assert.match(error.message, /^Invalid stack configuration \(1 problem\); no resource was created:/);
        assert.match(error.message, /netos:hostname: invalid value "https:\/\/netos\.xiberian\.net"/);
        assert.match(error.message, /Fix: pulumi config set netos:hostname netos\.xiberian\.net/);
    });
});
