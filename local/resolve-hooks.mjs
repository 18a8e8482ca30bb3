// Module resolution hooks for a function's worker. Lambda's Node.js runtime provides the AWS SDK, which
// the project's bundles leave external: a bare specifier the asset folder cannot resolve (a cloud
// assembly outside the project has no node_modules) resolves from the project instead.
let fallbackParent;

export function initialize(data) {
  fallbackParent = data.fallbackParent;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !bare || !fallbackParent) throw err;
    return next(specifier, { ...context, parentURL: fallbackParent });
  }
}
