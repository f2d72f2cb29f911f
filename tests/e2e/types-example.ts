// Compiled by types.test.mjs with `tsc --strict --noEmit` against pkg/photolink.d.ts: the package's
// results are typed (a wrong field name or type fails to compile), not `any`.
import init, { Linker, initBackend } from "../../pkg/photolink.js";
import type { BackendInfo, BundleInfo, EmbeddedSubject, Match, Subject } from "../../pkg/photolink.js";

export async function example(bytes: Uint8Array): Promise<string[]> {
  await init();
  const linker: Linker = await Linker.load("bundles/persons/", {
    backend: "auto",
    onProgress: (p) => console.log(p.phase, p.loadedBytes / p.totalBytes, p.entities),
  });
  const info: BundleInfo = linker.info();
  const chosen: "measured" | "asked" | "only" = info.backendTiming.chosenBy;
  const backend: BackendInfo = await initBackend();
  const kind: "gpu" | "cpu" = backend.kind;
  const subjects: Subject[] = await linker.link(bytes, { k: 3, box: [0, 0, 10, 10], acceptDamaged: false });
  const vectors: EmbeddedSubject[] = await linker.embed(bytes);
  const width: number = vectors[0].box.x2 - vectors[0].box.x1 + vectors[0].vector.length;
  return subjects.map((s: Subject) => {
    const best: Match = s.matches[0];
    const url: string | undefined = best.url;
    return `${chosen} ${kind} ${width} ${s.known ? best.name : "unknown"} ${best.score.toFixed(3)} ${url ?? ""}`;
  });
}
