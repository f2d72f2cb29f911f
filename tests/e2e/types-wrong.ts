// Must NOT compile (types.test.mjs checks that it fails): were the results `any`, it would.
import { Linker } from "../../pkg/photolink.js";

export async function wrong(linker: Linker, bytes: Uint8Array): Promise<number> {
  const subjects = await linker.link(bytes, { k: 3 });
  return subjects[0].matches[0].nmae.length + linker.info().entities.length;
}
