import { decodeSubscription } from '../../lambda/moesif/event';
import { matchesPattern, subscriptionEvent } from '../../local/logs';

describe('subscription deliveries', () => {
  it('encode a batch as CloudWatch Logs does: the forwarder decodes it', () => {
    const events = [{ id: '1'.repeat(56), timestamp: 1, message: '{"a":1}' }];
    const { awslogs } = subscriptionEvent({ owner: '123456789012', logGroup: 'access', logStream: 'local', filters: ['f'], events });
    expect(decodeSubscription(awslogs.data)).toEqual({ messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: 'access', logStream: 'local', subscriptionFilters: ['f'], logEvents: events });
  });

  it('filter every line with an empty pattern, by terms otherwise, and say when a pattern is not emulated', () => {
    expect(matchesPattern('', 'anything')).toBe(true);
    expect(matchesPattern('ERROR "time out"', 'ERROR: time out')).toBe(true);
    expect(matchesPattern('ERROR', 'INFO')).toBe(false);
    expect(matchesPattern('{ $.status = 500 }', '{}')).toBe('unsupported');
  });
});
