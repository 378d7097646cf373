import * as pulumi from "@pulumi/pulumi";
import { CloudflareConfig, readCloudflareConfig } from "./cloudflare";
import { readEntraConfig, EntraConfig } from "./entra";
import { OriginConfig, readOriginConfig } from "./origin";
import { ConfigReader } from "./reader";
import { readRotationConfig, RotationConfig } from "./rotation";

export { ConfigError, ConfigProblem, ConfigReader } from "./reader";
export { CloudflareConfig, CloudflareTarget, lookupCloudflareTarget } from "./cloudflare";
export { EntraConfig } from "./entra";
export { OriginConfig } from "./origin";
export { RotationConfig } from "./rotation";

/** The whole validated stack config, the only config object components see. */
export interface StackConfig {
    /** The Pulumi project name (`netos`). */
    readonly project: string;
    /** The Pulumi stack name, for example `prod`. */
    readonly stack: string;
    /** Entra ID application, roles and public hostname. */
    readonly entra: EntraConfig;
    /** Per-secret rotation values; changing one replaces that secret. */
    readonly rotation: RotationConfig;
    /** Cloudflare Tunnel name and Access settings. */
    readonly cloudflare: CloudflareConfig;
    /** The Docker origin: images, networks, volumes and container settings. */
    readonly origin: OriginConfig;
}

/**
 * Reads and validates every config key of the `netos` namespace. It throws one
 * `ConfigError` listing all problems before the program registers anything.
 */
export function loadConfig(reader: ConfigReader = new ConfigReader("netos")): StackConfig {
    const entra = readEntraConfig(reader);
    const rotation = readRotationConfig(reader);
    const cloudflare = readCloudflareConfig(reader, entra, pulumi.getProject(), pulumi.getStack());
    const origin = readOriginConfig(reader);
    reader.reportUnknownKeys();
    reader.throwIfInvalid();
    return { project: pulumi.getProject(), stack: pulumi.getStack(), entra, rotation, cloudflare, origin };
}
