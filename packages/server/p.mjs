import { PGlite } from '@electric-sql/pglite';
let t = Date.now();
const a = new PGlite(); await a.waitReady; console.log('new', Date.now() - t); t = Date.now();
const b = new PGlite(); await b.waitReady; console.log('new2', Date.now() - t); t = Date.now();
console.log(typeof a.clone);
if (a.clone) { const c = await a.clone(); console.log('clone', Date.now() - t); }
