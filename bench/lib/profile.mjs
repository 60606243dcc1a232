/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by package, and
 * inclusive time of the server's own functions, so a report can say where the CPU goes.
 */
import path from 'node:path';

export function analyzeProfile(prof, root) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const where = (cf) => {
    const url = cf.url || '';
    if (!url) return '(native/V8)';
    if (url.startsWith('node:')) return 'node internals';
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) {
      const rest = url.slice(nm + 13).split('/');
      return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    }
    const p = url.replace(/^file:\/\//, '');
    return path.relative(root, p) || p;
  };
  const key = (cf) => `${cf.functionName || '(anonymous)'} ${where(cf)}:${cf.lineNumber + 1}`;
  const fnSelf = new Map();
  const pkgSelf = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const k = n.callFrame.url ? key(n.callFrame) : n.callFrame.functionName || '(unknown)';
    fnSelf.set(k, (fnSelf.get(k) ?? 0) + us);
    const pk = n.callFrame.url ? where(n.callFrame) : n.callFrame.functionName || '(unknown)';
    const group = pk.startsWith('packages/server/') ? 'packages/server (Sohbet code)' : pk.startsWith('packages/') ? pk.split('/').slice(0, 2).join('/') : pk;
    pkgSelf.set(group, (pkgSelf.get(group) ?? 0) + us);
  }
  // Inclusive time for Sohbet's own functions (each counted once per stack).
  const incl = new Map();
  const subtotal = new Map();
  const sub = (n) => {
    if (subtotal.has(n.id)) return subtotal.get(n.id);
    let t = self.get(n.id) ?? 0;
    for (const c of n.children ?? []) t += sub(byId.get(c));
    subtotal.set(n.id, t);
    return t;
  };
  const rootNode = prof.nodes[0];
  const walk = (n, onStack) => {
    const isOurs = (n.callFrame.url || '').includes('/packages/server/src/');
    const k = isOurs ? key(n.callFrame) : null;
    let added = false;
    if (k && !onStack.has(k)) {
      incl.set(k, (incl.get(k) ?? 0) + sub(n));
      onStack.add(k);
      added = true;
    }
    for (const c of n.children ?? []) walk(byId.get(c), onStack);
    if (added) onStack.delete(k);
  };
  walk(rootNode, new Set());
  const top = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }));
  const idle = (fnSelf.get('(idle)') ?? 0) / total;
  return {
    totalMs: Math.round(total / 1000),
    idlePct: Math.round(idle * 1000) / 10,
    topSelf: top(fnSelf, 25),
    byPackage: top(pkgSelf, 15),
    sohbetInclusive: top(incl, 15),
  };
}
