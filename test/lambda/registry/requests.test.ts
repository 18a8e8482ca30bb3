import { InputError } from '../../../lambda/jwt/issue';
import { bumpDue, delaySeconds } from '../../../lambda/registry/bump';
import { readRegistryEnv } from '../../../lambda/registry/env';
import { parseGraceSeconds, parseKeyName, parseListQuery } from '../../../lambda/registry/requests';
import { changedAtOf, changeSortKey, feedTime } from '../../../lambda/registry/schema';

describe('grace', () => {
  it.each([
    [undefined, 0],
    [0, 0],
    ['0', 0],
    ['0s', 0],
    [' 00h ', 0],
    [90, 90],
    ['1h', 3600],
    ['30d', 30 * 86_400],
  ])('reads %j as %i seconds', (value, seconds) => {
    expect(parseGraceSeconds(value, 30 * 86_400)).toBe(seconds);
  });

  it.each([['31d'], [-1], [1.5], ['0x'], ['soon'], [null], [true]])('refuses %j', (value) => {
    expect(() => parseGraceSeconds(value, 30 * 86_400)).toThrow(InputError);
  });
});

describe('list query and name', () => {
  it('defaults the limit to 25 and reads a company listing', () => {
    expect(parseListQuery({ user_id: 'u-1' })).toEqual({ scope: 'user', id: 'u-1', limit: 25 });
    expect(parseListQuery({ company_id: 'c-1', status: 'expired', limit: '100', next: 'abc' })).toEqual({ scope: 'company', id: 'c-1', status: 'expired', limit: 100, next: 'abc' });
  });

  it('takes a name of up to 128 characters', () => {
    expect(parseKeyName({ name: 'n'.repeat(128) })).toHaveLength(128);
    expect(parseKeyName({})).toBeUndefined();
    expect(() => parseKeyName({ name: 'n'.repeat(129) })).toThrow('"name" must have at most 128 characters.');
    expect(() => parseKeyName({ name: '' })).toThrow(InputError);
  });
});

describe('registry environment', () => {
  it('defaults: refresh 5 s, fail closed, enforced, no queue', () => {
    expect(readRegistryEnv({ KEY_REGISTRY_TABLE: 't' })).toEqual({ tableName: 't', refreshSeconds: 5, failMode: 'closed', enforced: true, stageBumpQueueUrl: undefined });
  });

  it.each([
    [{ REVOCATION_REFRESH_SECONDS: '0' }, 'REVOCATION_REFRESH_SECONDS'],
    [{ REVOCATION_REFRESH_SECONDS: '2.5' }, 'REVOCATION_REFRESH_SECONDS'],
    [{ REVOCATION_FAIL_MODE: 'maybe' }, 'REVOCATION_FAIL_MODE'],
    [{ REVOCATION_ENFORCED: 'yes' }, 'REVOCATION_ENFORCED'],
    [{ KEY_REGISTRY_TABLE: '' }, 'KEY_REGISTRY_TABLE'],
  ])('names the variable to fix: %j', (env, name) => {
    expect(() => readRegistryEnv({ KEY_REGISTRY_TABLE: 't', ...env })).toThrow(`Environment variable ${name}`);
  });
});

describe('change feed keys and bump timing', () => {
  it('orders feed times as numbers and reads them back', () => {
    expect(feedTime(999) < feedTime(1000)).toBe(true);
    expect(changeSortKey(1_795_435_200_000, 'KEY#k')).toBe('001795435200000#KEY#k');
    expect(changedAtOf('001795435200000#KEY#k')).toBe(1_795_435_200_000);
    expect(changedAtOf('KEY#k')).toBeUndefined();
  });

  it('schedules the bump refresh + 3 s after the change takes effect, delayed by at most 900 s', () => {
    expect(bumpDue(10_000, 5)).toBe(18_000);
    expect(delaySeconds(18_000, 10_000)).toBe(8);
    expect(delaySeconds(18_001, 10_000)).toBe(9);
    expect(delaySeconds(5000, 10_000)).toBe(0);
    expect(delaySeconds(10_000 + 3_600_000, 10_000)).toBe(900);
  });
});
