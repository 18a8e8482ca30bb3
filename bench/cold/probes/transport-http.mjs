// Probe: one GET to the secrets extension with node:http in a fresh process (what the first read costs).
import { request } from 'node:http';

export function handler() {
  const url = `http://${process.env.BENCH_EXTENSION_HOST ?? 'localhost'}:${process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT}/secretsmanager/get?secretId=${encodeURIComponent(process.env.BENCH_SECRET_ARN)}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ isAuthorized: typeof JSON.parse(body).SecretString === 'string' }));
    });
    req.on('error', reject);
    req.end();
  });
}
