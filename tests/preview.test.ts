import assert from "node:assert/strict";
import { test } from "node:test";
import { runProgram } from "./support/mocks";

// pulumi preview shows only what the program registers before outputs are
// known; a resource created inside an apply would be missing from the preview.
test("preview registers same resources", async () => {
    const update = await runProgram({ preview: false });
    const preview = await runProgram({ preview: true });
    const urns = (run: typeof update) => run.resources.map((resource) => resource.urn).sort();
    assert.ok(update.resources.length > 10, `only ${update.resources.length} resources registered`);
    assert.deepEqual(urns(preview), urns(update));
});

test("urns are unique", async () => {
    const run = await runProgram();
    const urns = run.resources.map((resource) => resource.urn);
    assert.equal(new Set(urns).size, urns.length);
});
