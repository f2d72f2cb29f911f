// pkg/ as a package: its package.json and README, and TypeScript declarations that type the
// results (`tsc --strict` accepts a correct use and rejects a misspelt field).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "../../pkg");
const tsc = (file) => {
  try {
    execFileSync(join(here, "node_modules/.bin/tsc"),
      ["--strict", "--noEmit", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler",
        "--lib", "esnext,dom", "--skipLibCheck", "false", join(here, file)], { encoding: "utf8" });
    return "";
  } catch (e) {
    return `${e.stdout}${e.stderr}` || "failed";
  }
};

test("pkg/ is a package: package.json, README, the files it names", () => {
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  assert.equal(manifest.name, "photolink");
  assert.equal(manifest.type, "module");
  assert.equal(manifest.types, "photolink.d.ts");
  assert.match(manifest.version, /^\d+\.\d+\.\d+/);
  for (const file of manifest.files) assert.ok(existsSync(join(pkg, file)), `${file} is missing`);
  assert.match(readFileSync(join(pkg, "README.md"), "utf8"), /Linker\.load/);
});

test("the declarations type every result: a correct use compiles, a misspelt field does not", () => {
  const dts = readFileSync(join(pkg, "photolink.d.ts"), "utf8");
  const linkerClass = dts.slice(dts.indexOf("export class Linker"), dts.indexOf("export function initBackend"));
  assert.doesNotMatch(linkerClass, /\bany\b/, "Linker's methods still take or return `any`");
  assert.equal(tsc("types-example.ts"), "");
  const wrong = tsc("types-wrong.ts");
  assert.match(wrong, /Property 'nmae' does not exist on type 'Match'/, wrong);
  assert.match(wrong, /Property 'length' does not exist on type 'number'/, wrong);
});
