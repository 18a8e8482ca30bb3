// One function's execution environment: a worker thread with its own process.env (the function's
// environment) and its own module instances, running the bundled handler the template points at.
// Plain JavaScript: workers do not inherit tsx, and this file must load the same under jest.
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { file, exportName, fallbackParent, context: ctx } = workerData;
register(new URL('./resolve-hooks.mjs', import.meta.url), { data: { fallbackParent } });

function errorOf(err) {
  if (err instanceof Error) return { errorType: err.name, errorMessage: err.message, trace: (err.stack ?? '').split('\n') };
  return { errorType: 'Error', errorMessage: String(err), trace: [] };
}

let handler;
try {
  const mod = await import(pathToFileURL(file).href);
  handler = mod[exportName] ?? mod.default?.[exportName];
  if (typeof handler !== 'function') throw new Error(`${file} has no exported function "${exportName}" (Runtime.HandlerNotFound).`);
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'init-error', error: errorOf(err) });
}

// Lambda hands the handler a context object; callback-style handlers (three parameters) are supported too.
function invoke(event, context) {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const result = handler(event, context, (err, value) => (err ? reject(err) : resolve(value)));
      if (result && typeof result.then === 'function') result.then(resolve, reject);
    });
  }
  return handler(event, context);
}

parentPort.on('message', async ({ id, payload, requestId, deadline }) => {
  const context = {
    ...ctx,
    awsRequestId: requestId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    // Lambda passes the event and the result as JSON: nothing but JSON crosses either way.
    const result = await invoke(JSON.parse(payload), context);
    parentPort.postMessage({ type: 'result', id, payload: JSON.stringify(result ?? null) });
  } catch (err) {
    parentPort.postMessage({ type: 'error', id, error: errorOf(err) });
  }
});
