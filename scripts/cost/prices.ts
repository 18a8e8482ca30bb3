/**
 * The public prices the cost model uses, each with the page it comes from and the date it was checked
 * (against stored copies of these pages and of summaries quoting them: confirm on the live page before
 * quoting a figure). On-demand list prices of one region, without free tiers, savings plans or taxes.
 * Update a price here (and its date) when its page changes; the tests pin the arithmetic, not these values.
 */
export interface Price {
  /** Dollars per `per` units, as the page quotes it. */
  quoted: number;
  per: number;
  unit: string;
  source: string;
  /** When the price was read on its source page (YYYY-MM-DD). */
  checked: string;
}

export interface RegionPrices {
  /** HTTP API requests, per tier: the first `upTo` requests of a month, then the next tier. */
  httpApiTiers: { upTo: number; price: Price }[];
  lambdaArmGbSecond: Price;
  lambdaRequest: Price;
  logsIngestionGb: Price;
  logsStorageGbMonth: Price;
  secretMonth: Price;
  secretsApiCall: Price;
  dynamoReadUnit: Price;
  dataTransferOutGb: Price;
}

const CHECKED = '2026-12-01';
const page = {
  apiGateway: 'https://aws.amazon.com/api-gateway/pricing/',
  lambda: 'https://aws.amazon.com/lambda/pricing/',
  cloudWatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  secretsManager: 'https://aws.amazon.com/secrets-manager/pricing/',
  dynamoDb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  dataTransfer: 'https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer',
};
const p = (quoted: number, per: number, unit: string, source: string): Price => ({ quoted, per, unit, source, checked: CHECKED });

/** Dollars for one unit. */
export const rate = (price: Price) => price.quoted / price.per;

export const PRICES: Record<string, RegionPrices> = {
  'us-east-1': {
    httpApiTiers: [
      { upTo: 300e6, price: p(1.0, 1e6, 'requests (first 300 million a month)', page.apiGateway) },
      { upTo: Infinity, price: p(0.9, 1e6, 'requests (over 300 million a month)', page.apiGateway) },
    ],
    // Arm, first 7.5 billion GB-s a month. Since 2025-08-01 the INIT phase of a cold start is billed too
    // (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
    lambdaArmGbSecond: p(0.0000133334, 1, 'GB-second (arm64)', page.lambda),
    lambdaRequest: p(0.2, 1e6, 'invocations', page.lambda),
    // Standard log class; API Gateway access logs and Lambda logs land there.
    logsIngestionGb: p(0.5, 1, 'GB ingested', page.cloudWatch),
    logsStorageGbMonth: p(0.03, 1, 'GB-month stored (compressed)', page.cloudWatch),
    secretMonth: p(0.4, 1, 'secret-month', page.secretsManager),
    secretsApiCall: p(0.05, 10_000, 'API calls', page.secretsManager),
    // On-demand, after the price cut of 2024-11-01.
    dynamoReadUnit: p(0.125, 1e6, 'read request units', page.dynamoDb),
    dataTransferOutGb: p(0.09, 1, 'GB out to the internet (first 10 TB a month)', page.dataTransfer),
  },
};

export const REGIONS = Object.keys(PRICES);
