/**
 * The NetOS policy pack, run by `pulumi preview --policy-pack policy` and
 * `pulumi up --policy-pack policy`. Every rule is mandatory: a violation fails the command.
 */
import { PolicyPack } from "@pulumi/policy";

import { resourcePolicies, stackPolicies } from "./rules";

new PolicyPack("netos-infra", {
    description: "Keeps NetOS behind single sign-on: no open ports, pinned images, assigned-only sign-in, tunnel and Access locked to named users, protected data.",
    enforcementLevel: "mandatory",
    policies: [...resourcePolicies, ...stackPolicies],
});
