// Creates an empty embedded PGlite cluster in the directory given as argv[2], then exits. store/db.ts runs it as
// its own process on a first start: creating a cluster grows PGlite's WebAssembly memory to ~600 MB, and a
// WebAssembly memory never shrinks, so done in the server it would stay in the server's RSS for its whole life.
// Plain JS so it starts without a TypeScript loader.
import { PGlite } from '@electric-sql/pglite';

// The server forks this with an IPC channel: killed meanwhile, it closes the channel, and this leaves too.
process.on('disconnect', () => process.exit(1));
const dir = process.argv[2];
if (!dir) throw new Error('usage: create-cluster.mjs DIR');
const db = await PGlite.create(dir);
await db.close();
process.exit(0); // the IPC channel would keep this process alive
