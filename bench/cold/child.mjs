// One cold start, in a fresh Node process: import a module, then (mode "call") invoke its handler once
// with a bearer token, as the Lambda runtime does after its own start-up. Prints one JSON line: the
// times, and the CommonJS files loaded per package (the AWS SDK is CommonJS), counted after the clock stops.
//   node bench/cold/child.mjs <module path> <import|call>
import { createRequire } from 'node:module';
// Before any handler loads, the Lambda runtime's own client has loaded node:http and made a keep-alive
// Agent (aws-lambda-nodejs-runtime-interface-client, src/client/rapid-client.ts); so do we, untimed.
import { Agent } from 'node:http';

new Agent({ keepAlive: true, maxSockets: 1 });

const [file, mode] = process.argv.slice(2);
const t0 = performance.now();
const mod = await import(file);
const t1 = performance.now();
let authorized = null;
if (mode === 'call') {
  const token = process.env.BENCH_TOKEN ?? '';
  const result = await mod.handler({ type: 'REQUEST', routeKey: 'GET /orders', identitySource: [`Bearer ${token}`], headers: { authorization: `Bearer ${token}` }, requestContext: { requestId: 'cold' } });
  authorized = result?.isAuthorized === true;
}
const t2 = performance.now();
const packages = {};
for (const path of Object.keys(createRequire(import.meta.url).cache)) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (match) packages[match[1]] = (packages[match[1]] ?? 0) + 1;
}
process.stdout.write(`${JSON.stringify({ importMs: t1 - t0, callMs: t2 - t1, totalMs: t2 - t0, sinceProcessStartMs: t2, authorized, packages })}\n`);
