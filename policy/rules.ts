/**
 * The NetOS policy rules, one exported policy per rule, so tests can call each one directly.
 *
 * Each rule matches resources by their type token, not by provider SDK classes, so the
 * pack does not load the provider SDKs and depends on the program only through
 * `services.ts`. Unknown values during `pulumi preview`: unless a rule documents otherwise,
 * reading one throws `UnknownValueError`, which the engine reports as an advisory
 * "can't run during preview" and the rule is enforced at `pulumi up`, once the value is known.
 */
import {
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";

import { serviceUrl } from "../services";
import {
    asArray,
    asRecord,
    isAllInterfacesAddress,
    isImageId,
    isLoopbackAddress,
    parseDurationHours,
    pinImageFix,
    pointsAtLoopback,
    readIfKnown,
    twelveMonthsAfter,
    unpinnedImageReason,
} from "./values";

/** Resource type tokens the rules match, as the providers register them. */
export const resourceTypes = {
    container: "docker:index/container:Container",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    volume: "docker:index/volume:Volume",
    servicePrincipal: "azuread:index/servicePrincipal:ServicePrincipal",
    applicationPassword: "azuread:index/applicationPassword:ApplicationPassword",
    tunnelConfig: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
    dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
    accessPolicy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
    accessApplication: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
} as const;

/** The Docker volume label that marks PostgreSQL and Redis data volumes; the value must be `"true"`. */
export const dataVolumeLabel = "netos.data-volume";

/** The only service a tunnel hostname may route to: OAuth2-Proxy, which signs users in first. */
export const ssoProxyService = serviceUrl("ssoProxy");

/** The service of the final catch-all ingress rule, which returns 404 for every unmatched request. */
export const catchAllService = "http_status:404";

/** The longest allowed `endDateRelative` on the Entra client secret: 365 days. */
export const maxSecretLifetimeHours = 8760;

/** Runs `validate` only on resources whose type token is `type`. */
function validateType(
    type: string,
    validate: (props: Record<string, unknown>, args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidation {
    return (args, reportViolation) => {
        if (args.type === type) {
            validate(args.props, args, reportViolation);
        }
    };
}

// --- Containers -------------------------------------------------------------

/**
 * Containers publish ports only on the Docker host's loopback. A port on every interface,
 * or on a LAN address, would let clients reach a service without passing the tunnel,
 * Cloudflare Access and OAuth2-Proxy.
 */
export const containerPortsLoopbackOnly: ResourceValidationPolicy = {
    name: "container-ports-loopback-only",
    description: "Containers publish ports only on a loopback address (127.0.0.0/8 or ::1), never on all interfaces of the Docker host.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.container, (props, args, reportViolation) => {
        const fix = 'set `ip: "127.0.0.1"` on the port, or remove it: the tunnel reaches the origin over the Docker network';

        for (const port of asArray(props.ports)) {
            const { internal, ip } = asRecord(port);
            if (ip === undefined || (typeof ip === "string" && isAllInterfacesAddress(ip))) {
                const address = ip === undefined ? "no ip, which Docker binds to 0.0.0.0" : `ip "${String(ip)}"`;
                reportViolation(`Container "${args.name}" publishes port ${String(internal)} on all interfaces (${address}). Fix: ${fix}.`);
            } else if (typeof ip !== "string" || !isLoopbackAddress(ip)) {
                reportViolation(`Container "${args.name}" publishes port ${String(internal)} on ip "${String(ip)}", which is not a loopback address. Fix: ${fix}.`);
            }
        }
        if (props.publishAllPorts === true) {
            reportViolation(
                `Container "${args.name}" sets publishAllPorts, which publishes every exposed port on all interfaces. ` +
                    `Fix: remove publishAllPorts and list the needed ports with \`ip: "127.0.0.1"\`.`,
            );
        }
        if (props.networkMode === "host") {
            reportViolation(
                `Container "${args.name}" uses networkMode "host", so every port it listens on is open on the host's interfaces. ` +
                    `Fix: attach it to the stack's Docker network instead.`,
            );
        }
    }),
};

/** No container runs privileged. */
export const containerNotPrivileged: ResourceValidationPolicy = {
    name: "container-not-privileged",
    description: "Containers never run privileged.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.container, (props, args, reportViolation) => {
        if (props.privileged === true) {
            reportViolation(
                `Container "${args.name}" runs privileged, which gives it every capability and the host's devices. ` +
                    `Fix: remove \`privileged: true\`; add only the capabilities it needs under \`capabilities.adds\`.`,
            );
        }
    }),
};

/**
 * Every container image given as a reference is pinned to one version.
 *
 * An image id (`sha256:<64 hex>`, the `imageId` output of `docker.RemoteImage`) carries no
 * name to check here. The rule `remote-image-pinned` checks the RemoteImage's name, and
 * `container-image-id-from-remote-image` checks that the id comes from a RemoteImage.
 * An image that is unknown during preview is left to that stack rule too.
 */
export const containerImagePinned: ResourceValidationPolicy = {
    name: "container-image-pinned",
    description: "Container images are pinned to a release tag or a digest, never `latest` or no tag.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.container, (props, args, reportViolation) => {
        const image = readIfKnown(props, "image");
        if (!image.known || typeof image.value !== "string" || isImageId(image.value)) {
            return;
        }
        const reason = unpinnedImageReason(image.value);
        if (reason !== undefined) {
            reportViolation(`Container "${args.name}" image "${image.value}" ${reason}. Fix: ${pinImageFix}.`);
        }
    }),
};

/** Every image pulled with `docker.RemoteImage` is pinned to one version. */
export const remoteImagePinned: ResourceValidationPolicy = {
    name: "remote-image-pinned",
    description: "Images pulled with docker.RemoteImage are pinned to a release tag or a digest.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.remoteImage, (props, args, reportViolation) => {
        const name = String(props.name);
        const reason = unpinnedImageReason(name);
        if (reason !== undefined) {
            reportViolation(`RemoteImage "${args.name}" name "${name}" ${reason}. Fix: ${pinImageFix}.`);
        }
    }),
};

/** Returns the RemoteImage resources that a container's `image` input was computed from. */
function remoteImagesBehindImage(container: PolicyResource): PolicyResource[] {
    const sources = container.propertyDependencies.image ?? [];
    return sources.filter((source) => source.type === resourceTypes.remoteImage);
}

/**
 * A container whose image is an id, or unknown during preview, takes it from a
 * `docker.RemoteImage`, so `remote-image-pinned` has checked the name behind the id.
 *
 * This runs as a stack policy because only the stack view carries `propertyDependencies`,
 * which link the container's `image` input to the RemoteImage that produced it. The engine
 * runs stack policies after the preview or update, so during `pulumi up` a violation fails
 * the update only after its changes are applied. The preview is where this rule blocks.
 */
export const containerImageIdFromRemoteImage: StackValidationPolicy = {
    name: "container-image-id-from-remote-image",
    description: "A container that runs an image id takes it from a docker.RemoteImage, whose name is checked.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const container of args.resources.filter((resource) => resource.type === resourceTypes.container)) {
            const image = readIfKnown(container.props, "image");
            const isReference = image.known && typeof image.value === "string" && !isImageId(image.value);
            if (isReference || remoteImagesBehindImage(container).length > 0) {
                continue;
            }

            const imageDescription = image.known ? `"${String(image.value)}"` : "unknown during preview";
            reportViolation(
                `Container "${container.name}" runs image ${imageDescription}, which comes from no docker.RemoteImage, so its version cannot be checked. ` +
                    `Fix: pull the image with a docker.RemoteImage pinned to a release tag or digest and pass its \`imageId\` to the container.`,
                container.urn,
            );
        }
    },
};

// --- Entra ID -----------------------------------------------------------------

/** The Entra service principal admits only users and groups assigned to the application. */
export const servicePrincipalAssignmentRequired: ResourceValidationPolicy = {
    name: "service-principal-assignment-required",
    description: "The Entra service principal requires an app role assignment before Entra ID issues tokens.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.servicePrincipal, (props, args, reportViolation) => {
        if (props.appRoleAssignmentRequired !== true) {
            reportViolation(
                `ServicePrincipal "${args.name}" has appRoleAssignmentRequired ${String(props.appRoleAssignmentRequired)}, ` +
                    `so every account in the tenant can sign in. Fix: set \`appRoleAssignmentRequired: true\` and assign the NetOS groups.`,
            );
        }
    }),
};

/**
 * The Entra client secret expires within 12 months.
 *
 * `endDate` must be at most 12 calendar months after the time the rule runs, and
 * `endDateRelative` at most 8760h. A missing expiry fails because the provider then
 * defaults to two years. An `endDate` that is unknown during preview (e.g. computed from
 * a time resource) throws, so the engine reports an advisory and `pulumi up` enforces it.
 */
export const clientSecretExpiresWithinTwelveMonths: ResourceValidationPolicy = {
    name: "client-secret-expires-within-12-months",
    description: "The Entra client secret (azuread.ApplicationPassword) expires at most 12 months from now.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.applicationPassword, (props, args, reportViolation) => {
        const fix = "set `endDate` to an RFC 3339 time at most 12 months ahead, and replace the resource to rotate the secret";
        const { endDate, endDateRelative } = props;

        if (typeof endDate === "string") {
            const expiry = new Date(endDate);
            const limit = twelveMonthsAfter(new Date());
            if (Number.isNaN(expiry.getTime())) {
                reportViolation(`ApplicationPassword "${args.name}" endDate "${endDate}" is not an RFC 3339 time. Fix: ${fix}.`);
            } else if (expiry > limit) {
                reportViolation(
                    `ApplicationPassword "${args.name}" endDate ${endDate} is more than 12 months ahead (limit ${limit.toISOString()}). Fix: ${fix}.`,
                );
            }
            return;
        }

        if (typeof endDateRelative === "string") {
            const hours = parseDurationHours(endDateRelative);
            if (hours === undefined) {
                reportViolation(`ApplicationPassword "${args.name}" endDateRelative "${endDateRelative}" is not a duration such as "8760h". Fix: ${fix}.`);
            } else if (hours > maxSecretLifetimeHours) {
                reportViolation(
                    `ApplicationPassword "${args.name}" endDateRelative "${endDateRelative}" is ${hours}h, more than ${maxSecretLifetimeHours}h (12 months). Fix: ${fix}.`,
                );
            }
            return;
        }

        reportViolation(`ApplicationPassword "${args.name}" sets neither endDate nor endDateRelative, so the provider makes it valid for two years. Fix: ${fix}.`);
    }),
};

// --- Cloudflare tunnel and DNS ------------------------------------------------

/** Returns true for an ingress rule that matches every request: no hostname (or `*`) and no path. */
function isCatchAll(ingress: Record<string, unknown>): boolean {
    const hostname = ingress.hostname;
    const path = ingress.path;
    return (hostname === undefined || hostname === "" || hostname === "*") && (path === undefined || path === "");
}

/**
 * The tunnel ingress sends every public hostname to OAuth2-Proxy only and ends with a
 * catch-all `http_status:404`, so no request reaches the origin without signing in.
 */
export const tunnelIngressSsoProxyOnly: ResourceValidationPolicy = {
    name: "tunnel-ingress-sso-proxy-only",
    description: `The tunnel ingress routes hostnames only to ${ssoProxyService} and ends with a catch-all ${catchAllService}.`,
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.tunnelConfig, (props, args, reportViolation) => {
        const ingresses = asArray(asRecord(props.config).ingresses).map(asRecord);
        const where = `Tunnel config "${args.name}"`;

        if (ingresses.length === 0) {
            reportViolation(
                `${where} has no ingress rules in config.ingresses. ` +
                    `Fix: route the public hostname to ${ssoProxyService} and end with \`{ service: "${catchAllService}" }\`.`,
            );
            return;
        }

        ingresses.forEach((ingress, index) => {
            const service = String(ingress.service);
            const isLast = index === ingresses.length - 1;
            const label = `config.ingresses[${index}]`;

            if (isCatchAll(ingress)) {
                if (!isLast) {
                    reportViolation(
                        `${where} ${label} has no hostname and no path, so it matches every request and the rules after it never run. ` +
                            `Fix: move the catch-all to the end of config.ingresses.`,
                    );
                } else if (service !== catchAllService) {
                    reportViolation(
                        `${where} catch-all ${label} sends unmatched requests to "${service}". Fix: set its service to "${catchAllService}".`,
                    );
                }
                return;
            }

            if (pointsAtLoopback(service)) {
                reportViolation(
                    `${where} ${label} sends hostname "${String(ingress.hostname)}" to "${service}" on the connector's loopback, which bypasses the SSO proxy. ` +
                        `Fix: set its service to "${ssoProxyService}".`,
                );
            } else if (service !== ssoProxyService) {
                reportViolation(
                    `${where} ${label} sends hostname "${String(ingress.hostname)}" to "${service}" instead of the SSO proxy. ` +
                        `Fix: set its service to "${ssoProxyService}".`,
                );
            }
            if (isLast) {
                reportViolation(
                    `${where} config.ingresses does not end with a catch-all, and cloudflared rejects such a config. ` +
                        `Fix: append \`{ service: "${catchAllService}" }\` with no hostname.`,
                );
            }
        });
    }),
};

/**
 * The DNS record that points at the tunnel is proxied, so traffic passes Cloudflare Access.
 *
 * The rule reads `proxied` first: a proxied record passes even while its content is unknown
 * during preview. An unproxied record with unknown content throws, so the engine reports an
 * advisory and `pulumi up` enforces the rule.
 */
export const tunnelDnsRecordProxied: ResourceValidationPolicy = {
    name: "tunnel-dns-record-proxied",
    description: "DNS records that point at a Cloudflare Tunnel (*.cfargotunnel.com) are proxied.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.dnsRecord, (props, args, reportViolation) => {
        if (props.proxied === true) {
            return;
        }
        const content = props.content;
        if (typeof content === "string" && /\.cfargotunnel\.com\.?$/i.test(content)) {
            reportViolation(
                `DnsRecord "${args.name}" points "${String(props.name)}" at the tunnel "${content}" without the Cloudflare proxy, ` +
                    `so requests skip Cloudflare Access. Fix: set \`proxied: true\`.`,
            );
        }
    }),
};

// --- Cloudflare Access --------------------------------------------------------

/**
 * Include selectors that name specific users or groups: a listed email, an email list,
 * an Access group, or a group of an identity provider (Entra ID, Google Workspace, Okta,
 * GitHub organization or team).
 *
 * Every other selector is rejected in an allow policy's `includes`. `everyone` admits
 * anyone, and `anyValidServiceToken` and `serviceToken` admit machines, not people.
 * `emailDomain` admits every present and future account at the domain, guests included,
 * although it may still narrow a policy under `requires`. The remaining selectors match
 * a network, device, login method or claim value rather than a known list of people:
 * `ip`, `ipList`, `geo`, `certificate`, `commonName`, `devicePosture`, `loginMethod`,
 * `authMethod`, `authContext`, `externalEvaluation`, `linkedAppToken`, `oidc`, `saml`,
 * `userRiskScore` and `cloudflareAccountMember`.
 */
export const namedIncludeSelectors: readonly string[] = ["email", "emailList", "group", "azureAd", "gsuite", "okta", "githubOrganization"];

/**
 * Returns the problems of one Access policy, each as a sentence, or an empty list.
 * `decision` defaults to `allow` when missing, as inline application policies allow it.
 */
function accessPolicyProblems(policy: Record<string, unknown>): string[] {
    const decision = policy.decision === undefined ? "allow" : String(policy.decision);
    if (decision === "deny") {
        return [];
    }
    if (decision !== "allow") {
        return [`has decision "${decision}", which admits requests without identity checks`];
    }

    const includes = asArray(policy.includes).map(asRecord);
    if (includes.length === 0) {
        return ["has no includes, so it names no user or group"];
    }

    const problems: string[] = [];
    includes.forEach((include, index) => {
        const selectors = Object.keys(include).filter((key) => include[key] !== undefined && include[key] !== null);
        const unnamed = selectors.filter((selector) => !namedIncludeSelectors.includes(selector));
        if (selectors.length === 0) {
            problems.push(`includes[${index}] is empty`);
        } else if (unnamed.length > 0) {
            problems.push(`includes[${index}] uses ${unnamed.map((selector) => `\`${selector}\``).join(", ")}, which does not name specific users or groups`);
        }
    });
    return problems;
}

const accessPolicyFix = `include only named users or groups (${namedIncludeSelectors.join(", ")}) with decision "allow"`;

/** Every standalone Access policy admits named groups or users, never everyone. */
export const accessPolicyNamedIdentities: ResourceValidationPolicy = {
    name: "access-policy-named-identities",
    description: "Cloudflare Access allow policies include only named users or groups, never everyone, a domain or service tokens.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.accessPolicy, (props, args, reportViolation) => {
        const problems = accessPolicyProblems(props);
        if (problems.length > 0) {
            reportViolation(`Access policy "${args.name}" ${problems.join("; ")}. Fix: ${accessPolicyFix}.`);
        }
    }),
};

/**
 * Inline policies of an Access application follow the same rule. An entry with only an
 * `id` (and `precedence`) references a standalone policy, which the rule
 * `access-policy-named-identities` checks.
 */
export const accessApplicationPoliciesNamedIdentities: ResourceValidationPolicy = {
    name: "access-application-policies-named-identities",
    description: "Inline policies on a Cloudflare Access application include only named users or groups.",
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.accessApplication, (props, args, reportViolation) => {
        asArray(props.policies)
            .map(asRecord)
            .forEach((policy, index) => {
                const isReference = Object.keys(policy).every((key) => key === "id" || key === "precedence" || policy[key] === undefined);
                if (isReference) {
                    return;
                }
                const problems = accessPolicyProblems(policy);
                if (problems.length > 0) {
                    reportViolation(`Access application "${args.name}" policies[${index}] ${problems.join("; ")}. Fix: ${accessPolicyFix}.`);
                }
            });
    }),
};

// --- Data volumes ---------------------------------------------------------------

/**
 * Returns true for a PostgreSQL or Redis data volume: one labelled `netos.data-volume=true`,
 * or, when the label is absent, one whose resource name or volume name contains
 * `postgres` or `redis`. The label `netos.data-volume=false` opts a volume out.
 */
export function isDataVolume(props: Record<string, unknown>, resourceName: string): boolean {
    const label = asArray(props.labels)
        .map(asRecord)
        .find((entry) => entry.label === dataVolumeLabel);
    if (label !== undefined) {
        return label.value === "true";
    }
    const names = [resourceName, typeof props.name === "string" ? props.name : ""].join(" ").toLowerCase();
    return names.includes("postgres") || names.includes("redis");
}

/** PostgreSQL and Redis data volumes are protected, so no update can delete the data. */
export const dataVolumeProtected: ResourceValidationPolicy = {
    name: "data-volume-protected",
    description: `PostgreSQL and Redis data volumes (label ${dataVolumeLabel}=true) have the protect resource option.`,
    enforcementLevel: "mandatory",
    validateResource: validateType(resourceTypes.volume, (props, args, reportViolation) => {
        if (isDataVolume(props, args.name) && args.opts.protect !== true) {
            reportViolation(
                `Volume "${args.name}" holds PostgreSQL or Redis data but is not protected, so a replace or destroy deletes the data. ` +
                    `Fix: create it with the resource option \`protect: true\`.`,
            );
        }
    }),
};

/** Every resource rule of the pack, in the order the pack registers them. */
export const resourcePolicies: readonly ResourceValidationPolicy[] = [
    containerPortsLoopbackOnly,
    containerNotPrivileged,
    containerImagePinned,
    remoteImagePinned,
    servicePrincipalAssignmentRequired,
    clientSecretExpiresWithinTwelveMonths,
    tunnelIngressSsoProxyOnly,
    tunnelDnsRecordProxied,
    accessPolicyNamedIdentities,
    accessApplicationPoliciesNamedIdentities,
    dataVolumeProtected,
];

/** Every stack rule of the pack. */
export const stackPolicies: readonly StackValidationPolicy[] = [containerImageIdFromRemoteImage];

/** The resource type each rule checks, keyed by rule name, so tests can prove a rule saw its targets. */
export const targetTypeByRule: Readonly<Record<string, string>> = {
    [containerPortsLoopbackOnly.name]: resourceTypes.container,
    [containerNotPrivileged.name]: resourceTypes.container,
    [containerImagePinned.name]: resourceTypes.container,
    [remoteImagePinned.name]: resourceTypes.remoteImage,
    [containerImageIdFromRemoteImage.name]: resourceTypes.container,
    [servicePrincipalAssignmentRequired.name]: resourceTypes.servicePrincipal,
    [clientSecretExpiresWithinTwelveMonths.name]: resourceTypes.applicationPassword,
    [tunnelIngressSsoProxyOnly.name]: resourceTypes.tunnelConfig,
    [tunnelDnsRecordProxied.name]: resourceTypes.dnsRecord,
    [accessPolicyNamedIdentities.name]: resourceTypes.accessPolicy,
    [accessApplicationPoliciesNamedIdentities.name]: resourceTypes.accessApplication,
    [dataVolumeProtected.name]: resourceTypes.volume,
};
