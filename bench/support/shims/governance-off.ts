/**
 * Bundle-time stand-in for lambda/moesif/governance.ts and client.ts (bench only): governance off and
 * nothing else, to measure what the governance code costs an authorizer that does not use it.
 */
export function parseGovernanceMode(value: string | undefined): 'off' {
  if (value !== undefined && value !== '' && value !== 'off') throw new Error('this bench variant has no governance');
  return 'off';
}
export function parseGovernanceMaxStaleMs(): number {
  return 0;
}
export function createGovernanceSource(): never {
  throw new Error('this bench variant has no governance');
}
export function parseApplicationIdSecret(): never {
  throw new Error('this bench variant has no governance');
}
