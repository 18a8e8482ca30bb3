// Probe: one GET to the secrets extension with fetch in a fresh process (what the first read costs).
export async function handler() {
  const url = `http://${process.env.BENCH_EXTENSION_HOST ?? 'localhost'}:${process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT}/secretsmanager/get?secretId=${encodeURIComponent(process.env.BENCH_SECRET_ARN)}`;
  const res = await fetch(url, { headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN } });
  return { isAuthorized: typeof (await res.json()).SecretString === 'string' };
}
