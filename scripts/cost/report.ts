import type { CostOptions } from './args';
import type { MeasuredSource } from './measured';
import { baseCost, lambdaAuthorizerCost, moesifForwardingCost, perMillion, sum, type CostInputs, type CostLine } from './model';
import { PRICES, type Price } from './prices';

export const STANDARD_HIT_RATIOS = [0, 0.9, 0.99];

export interface Column {
  label: string;
  /** undefined: native mode. */
  hitRatio?: number;
}

export interface CostReport {
  columns: Column[];
  /** Dollars per million calls, per column, of the gateway and authorizer components. */
  authorizer: { component: string; perMillion: (number | undefined)[] }[];
  authorizerTotals: number[];
  /** Dollars per million calls of the Moesif forwarding path (the same in every mode). */
  moesif: { component: string; perMillion: number }[];
  moesifTotal: number;
  /** The configuration the options name: mode and hit ratio. */
  yours: { label: string; perMillion: number; monthly: number; perMillionWithMoesif: number; monthlyWithMoesif: number };
}

const pct = (r: number) => `${Number((r * 100).toFixed(2))}%`;

/** Every figure of the report, as numbers (the tests check these). */
export function buildReport(opts: CostOptions, source: MeasuredSource): CostReport {
  const inputs: CostInputs = { requests: opts.requests, prices: PRICES[opts.region], measured: source.measured, assumptions: opts.assumptions };
  const pm = (monthly: number) => perMillion(monthly, opts.requests);
  const columns: Column[] = [{ label: 'native' }, ...STANDARD_HIT_RATIOS.map((r) => ({ label: `lambda ${pct(r)}`, hitRatio: r }))];
  if (opts.hitRatio !== undefined && !STANDARD_HIT_RATIOS.includes(opts.hitRatio)) columns.push({ label: `lambda ${pct(opts.hitRatio)}`, hitRatio: opts.hitRatio });

  const base = baseCost(inputs);
  const perColumn: CostLine[][] = columns.map((c) => (c.hitRatio === undefined ? base : [...base, ...lambdaAuthorizerCost(inputs, c.hitRatio)]));
  // Lambda lines have the same labels in every Lambda column; native has none of them.
  const authorizer = perColumn[1].map(({ component }) => ({
    component,
    perMillion: perColumn.map((lines) => {
      const found = lines.find((l) => l.component === component);
      return found ? pm(found.monthly) : undefined;
    }),
  }));
  const moesifLines = moesifForwardingCost(inputs);
  const moesifTotal = pm(sum(moesifLines));

  const yoursLines = opts.mode === 'native' ? base : [...base, ...lambdaAuthorizerCost(inputs, opts.hitRatio ?? 0)];
  const monthly = sum(yoursLines);
  return {
    columns,
    authorizer,
    authorizerTotals: perColumn.map((lines) => pm(sum(lines))),
    moesif: moesifLines.map((l) => ({ component: l.component, perMillion: pm(l.monthly) })),
    moesifTotal,
    yours: {
      label: opts.mode === 'native' ? 'native JWT authorizer' : `Lambda authorizer, ${pct(opts.hitRatio ?? 0)} cache hits`,
      perMillion: pm(monthly),
      monthly,
      perMillionWithMoesif: pm(monthly) + moesifTotal,
      monthlyWithMoesif: monthly + sum(moesifLines),
    },
  };
}

const usd = (v: number | undefined) => (v === undefined ? '—' : `$${v.toFixed(4)}`);
const money = (v: number) => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The report as the CLI prints it. */
export function formatReport(opts: CostOptions, source: MeasuredSource, r: CostReport): string {
  const m = source.measured;
  const prices = PRICES[opts.region];
  const out: string[] = [];
  out.push(`Dollars per million API calls at ${opts.requests.toLocaleString('en-US')} calls a month (${opts.region} on-demand prices, no free tier).`);
  out.push(
    `Measured (${source.from}): ${opts.alg} handler ${m.authorizerWarmMs.toFixed(3)} ms, cold start +${m.authorizerColdMs.toFixed(0)} ms, ` +
      `forwarder ${(m.forwarderMsPerLine * 1000).toFixed(1)} µs/line, access-log line ${Math.round(m.bytesPerLine)} B (stored at ${m.gzipRatio.toFixed(2)}×), ${Math.round(m.bytesPerEventSent)} B/event to Moesif.`,
  );
  out.push('');
  out.push(`| authorizer and gateway | ${r.columns.map((c) => c.label).join(' | ')} |`);
  out.push(`|---|${r.columns.map(() => '---:').join('|')}|`);
  for (const row of r.authorizer) out.push(`| ${row.component} | ${row.perMillion.map(usd).join(' | ')} |`);
  out.push(`| **total** | ${r.authorizerTotals.map((v) => `**${usd(v)}**`).join(' | ')} |`);
  out.push('');
  out.push('| Moesif forwarding path (any mode) | per million calls |');
  out.push('|---|---:|');
  for (const row of r.moesif) out.push(`| ${row.component} | ${usd(row.perMillion)} |`);
  out.push(`| **total** | **${usd(r.moesifTotal)}** |`);
  out.push('');
  out.push(`Your configuration (${r.yours.label}): ${usd(r.yours.perMillion)} per million calls, ${money(r.yours.monthly)} a month; with Moesif forwarding ${usd(r.yours.perMillionWithMoesif)} per million, ${money(r.yours.monthlyWithMoesif)} a month.`);
  out.push('Not included: Moesif\'s own subscription, your integrations behind the routes, data transfer of responses, CloudWatch alarms and metrics.');
  out.push('');
  out.push('Prices:');
  const listed: [string, Price][] = [
    ...prices.httpApiTiers.map((t) => ['API Gateway HTTP API', t.price] as [string, Price]),
    ['Lambda duration', prices.lambdaArmGbSecond],
    ['Lambda requests', prices.lambdaRequest],
    ['CloudWatch Logs ingestion', prices.logsIngestionGb],
    ['CloudWatch Logs storage', prices.logsStorageGbMonth],
    ['Secrets Manager secret', prices.secretMonth],
    ['Secrets Manager API call', prices.secretsApiCall],
    ['DynamoDB on-demand read', prices.dynamoReadUnit],
    ['Data transfer out', prices.dataTransferOutGb],
  ];
  for (const [name, p] of listed) out.push(`  ${name}: $${p.quoted} per ${p.per === 1 ? '' : `${p.per.toLocaleString('en-US')} `}${p.unit} (${p.source}, checked ${p.checked})`);
  return `${out.join('\n')}\n`;
}
