/** The command line of dlq:redrive, and the region a queue URL names. */
import { parseArgs as parseNodeArgs } from 'node:util';

/** Bad command line (or nothing to find a region in): exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface RedriveArgs {
  queueUrl: string;
  /** Needed unless dryRun. */
  functionName?: string;
  /** Overrides the queue URL's region. */
  region?: string;
  /** Most messages to handle in this run. @default Infinity */
  max: number;
  dryRun: boolean;
}

export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** node:util's messages ("Option '--queue-url <value>' argument is ambiguous...") said plainly. */
function argumentProblem(err: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option ${quoted.split(' ')[0]} needs a value.`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${quoted}": give every value after its option.`;
    default:
      return err.message;
  }
}

/** Parses the command line; 'help' for -h/--help. */
export function parseArgs(argv: readonly string[]): RedriveArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseNodeArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'queue-url': { type: 'string' },
        function: { type: 'string' },
        region: { type: 'string' },
        max: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(argumentProblem(err as Error & { code?: string }));
  }
  if (values.help) return 'help';
  const text = (name: string) => (typeof values[name] === 'string' && values[name] !== '' ? (values[name] as string) : undefined);
  const queueUrl = text('queue-url');
  const functionName = text('function');
  const region = text('region');
  const dryRun = values['dry-run'] === true;
  if (!queueUrl) throw new UsageError('--queue-url is required (the stack output DeadLetterQueueUrl).');
  if (!isQueueUrl(queueUrl)) throw new UsageError(`--queue-url must be a queue URL such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, got "${queueUrl.slice(0, 200)}".`);
  if (!functionName && !dryRun) throw new UsageError('--function is required (the stack output ForwarderFunctionName), unless --dry-run.');
  if (region !== undefined && !REGION.test(region)) throw new UsageError(`--region must be a region name such as eu-west-2, got "${region.slice(0, 100)}".`);
  let max = Infinity;
  if (values.max !== undefined) {
    max = /^\d+$/.test(String(values.max)) ? Number(values.max) : NaN;
    if (!Number.isSafeInteger(max) || max < 1) throw new UsageError(`--max must be a whole number from 1, got "${String(values.max).slice(0, 100)}".`);
  }
  return { queueUrl, functionName, region, max, dryRun };
}

function isQueueUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && /^\/[^/]+\/[^/]+\/?$/.test(url.pathname);
  } catch {
    return false;
  }
}

/**
 * The region in a queue URL: `sqs.<region>.amazonaws.com` (`.com.cn` in China, `sqs-fips.` for FIPS),
 * dual-stack `sqs.<region>.api.aws`, and the legacy `<region>.queue.amazonaws.com` and
 * `queue.amazonaws.com` (us-east-1). Undefined for any other host (a VPC endpoint, a local stand-in).
 */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return undefined;
  }
  if (host === 'queue.amazonaws.com') return 'us-east-1';
  const match = /^sqs(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$/.exec(host) ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host);
  return match && REGION.test(match[1]) ? match[1] : undefined;
}
