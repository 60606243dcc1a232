import { config } from 'zod';

// The server's Content-Security-Policy forbids eval; zod (used by @sohbet/protocol's schemas)
// would otherwise probe `new Function` when each object schema is built, which the browser
// reports as a violation. This module is imported first, before any schema exists.
config({ jitless: true });
