import { Engine } from "./src/core/engine.ts";
for (const scheme of ["E0", "E4", "E5"]) for (const kind of ["device-private", "device-coherent"] as const) {
  const e = await Engine.create({ scheme });
  const mm = e.mmNew();
  const a = e.mmap(mm, { addr: 0x40000000, length: 1024 * 4096 });
  e.writeRange(mm, a, 1024 * 4096, 0, 1024);
  const fd = e.dmirrorOpen(e.dmirrorNew(kind), mm);
  let r: any; try { r = e.dmirrorMigrateToDev(fd, a, 1024); } catch (x: any) { r = x.message; }
  let k = 0; for (let i = 0; i < 1024; i++) if (e.page(mm, a + i * 4096)!.kind === "system") k++;
  console.log(scheme, kind, r, "system pages left", k, e.driver(0), JSON.stringify(e.stats()).slice(0, 300));
}
