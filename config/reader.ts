import * as pulumi from "@pulumi/pulumi";

/** One invalid or missing config value, with what the operator must do about it. */
export interface ConfigProblem {
    /** The fully qualified key, for example `netos:hostname`. */
    readonly key: string;
    /** The rule the value breaks, with the value received (never a secret's value). */
    readonly message: string;
    /** The command or edit that fixes it. */
    readonly fix: string;
}

/**
 * Raised when the stack config is invalid. It lists every problem at once and
 * is a `RunError`, so the CLI prints the message without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: readonly ConfigProblem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

/** Formats problems as one message, one problem a line, each with its fix. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
    const lines = problems.map((problem) => `  - ${problem.key}: ${problem.message}\n    Fix: ${problem.fix}`);
    const noun = problems.length === 1 ? "problem" : "problems";
    return `Invalid stack configuration (${problems.length} ${noun}); no resource was created:\n${lines.join("\n")}`;
}

/** Renders a received value for an error message, quoted and shortened. */
export function describeValue(value: unknown): string {
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Reads one project's config keys and collects every problem instead of
 * stopping at the first, so an operator fixes the whole stack in one pass.
 *
 * Getters return a placeholder of the right type when a value is invalid;
 * callers must call `throwIfInvalid` before using the result.
 */
export class ConfigReader {
    private readonly problems: ConfigProblem[] = [];
    private readonly config: pulumi.Config;
    /** Every key read so far, unqualified; tests compare it with the keys Pulumi.yaml declares. */
    readonly keysRead = new Set<string>();

    constructor(readonly namespace: string) {
        this.config = new pulumi.Config(namespace);
    }

    private get(key: string): string | undefined {
        this.keysRead.add(key.split(".")[0]);
        return this.config.get(key);
    }

    /** Returns the fully qualified key, for example `netos:hostname`. */
    qualify(key: string): string {
        return `${this.namespace}:${key}`;
    }

    /** Returns the `pulumi config set` command that sets a key to a value. */
    setCommand(key: string, example: string, options: { secret?: boolean; path?: boolean } = {}): string {
        const flags = [options.path ? "--path" : "", options.secret ? "--secret" : ""].filter(Boolean).join(" ");
        const quoted = /^[A-Za-z0-9_.:/@=+-]+$/.test(example) ? example : `'${example}'`;
        return `pulumi config set ${flags ? `${flags} ` : ""}${this.qualify(key)} ${quoted}`;
    }

    /** Records a problem with a key of this namespace. */
    report(key: string, message: string, fix: string): void {
        this.reportKey(this.qualify(key), message, fix);
    }

    /** Records a problem with a fully qualified key, such as a provider's `docker:host`. */
    reportKey(qualifiedKey: string, message: string, fix: string): void {
        this.problems.push({ key: qualifiedKey, message, fix });
    }

    /**
     * Reports every key set in this namespace that no reader asked for, with the
     * closest known key, so a typo such as `rotaton` cannot silently skip a setting.
     * Call it after every domain reader has run.
     */
    reportUnknownKeys(): void {
        const prefix = `${this.namespace}:`;
        const known = [...this.keysRead];
        for (const qualified of Object.keys(pulumi.runtime.allConfig()).sort()) {
            if (!qualified.startsWith(prefix)) {
                continue;
            }
            const key = qualified.slice(prefix.length);
            if (this.keysRead.has(key)) {
                continue;
            }
            const suggestion = closestKey(key, known);
            const hint = suggestion ? `; did you mean ${this.qualify(suggestion)}?` : ".";
            const fix = suggestion
                ? `pulumi config rm ${qualified}, then set ${this.qualify(suggestion)} instead`
                : `pulumi config rm ${qualified} (README.md lists every key)`;
            this.report(key, `unknown key: this program reads no such setting${hint}`, fix);
        }
    }

    /** Throws a `ConfigError` listing every recorded problem, if there is one. */
    throwIfInvalid(): void {
        if (this.problems.length > 0) {
            throw new ConfigError(this.problems);
        }
    }

    /** Reads a string; a missing required key is reported with an example value. */
    string(key: string, options: { default?: string; example: string; required?: boolean }): string {
        const raw = this.get(key);
        if (raw === undefined || raw === "") {
            if (options.default !== undefined) {
                return options.default;
            }
            if (options.required) {
                this.report(key, "missing: this key is required and has no default.", this.setCommand(key, options.example));
            }
            return "";
        }
        return raw;
    }

    /** Reads an optional string; an empty string counts as unset. */
    optionalString(key: string): string | undefined {
        const raw = this.get(key);
        return raw === undefined || raw === "" ? undefined : raw;
    }

    /** Reads a boolean written as `true` or `false`. */
    boolean(key: string, defaultValue: boolean): boolean {
        const raw = this.get(key);
        if (raw === undefined || raw === "") {
            return defaultValue;
        }
        if (raw === "true" || raw === "false") {
            return raw === "true";
        }
        this.report(key, `invalid value ${describeValue(raw)}: must be true or false.`, this.setCommand(key, String(defaultValue)));
        return defaultValue;
    }

    /** Reads a whole number within an inclusive range. */
    integer(key: string, options: { default: number; min: number; max: number; unit?: string }): number {
        const raw = this.get(key);
        if (raw === undefined || raw === "") {
            return options.default;
        }
        const value = Number(raw);
        const unit = options.unit ? ` ${options.unit}` : "";
        if (!Number.isInteger(value) || value < options.min || value > options.max) {
            this.report(
                key,
                `invalid value ${describeValue(raw)}: must be a whole number from ${options.min} to ${options.max}${unit}.`,
                this.setCommand(key, String(options.default)),
            );
            return options.default;
        }
        return value;
    }

    /**
     * Reads a structured value (a YAML list or map in the stack file) and checks
     * its JSON shape with `isShape`; `shape` describes the expected form.
     */
    object<T>(key: string, options: { default: T; isShape: (value: unknown) => value is T; shape: string; example: string }): T {
        const raw = this.get(key);
        if (raw === undefined || raw === "") {
            return options.default;
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = raw;
        }
        if (!options.isShape(parsed)) {
            this.report(
                key,
                `invalid value ${describeValue(parsed)}: must be ${options.shape}.`,
                `set it in Pulumi.<stack>.yaml, for example: ${this.setCommand(key, options.example)}`,
            );
            return options.default;
        }
        return parsed;
    }

    /**
     * Reads an optional credential as a secret Output, so it stays encrypted in
     * state and masked in logs even if it was set without `--secret`.
     */
    optionalSecret(key: string): pulumi.Output<string> | undefined {
        this.keysRead.add(key);
        // runtime.getConfig reads the value without the SDK's warning about reading a secret in plain text.
        const raw = pulumi.runtime.getConfig(this.qualify(key));
        return raw === undefined || raw === "" ? undefined : pulumi.secret(raw);
    }
}

/** Returns the known key nearest to `key` by edit distance, if it is close enough to be a typo. */
function closestKey(key: string, known: readonly string[]): string | undefined {
    let best: { key: string; distance: number } | undefined;
    for (const candidate of known) {
        const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
        if (best === undefined || distance < best.distance) {
            best = { key: candidate, distance };
        }
    }
    return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 4)) ? best.key : undefined;
}

/** Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/** Returns whether a value is an array of strings. */
export function isStringArray(value: unknown): value is string[] {
    return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Returns whether a value is a plain object (a YAML map). */
export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
