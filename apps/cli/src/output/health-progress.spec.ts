import { healthProgressLine } from './health-progress';

describe('healthProgressLine (#20 item 2)', () => {
  const waiting = { component: 'web', health: 'starting', healthDetail: 'waiting for health (tcp 127.0.0.1:21252) 12s/60s' };

  it('should show each component waiting on its health gate as "component: detail"', () => {
    expect(healthProgressLine([waiting])).toBe('web: waiting for health (tcp 127.0.0.1:21252) 12s/60s');
    expect(healthProgressLine([waiting, { component: 'api', health: 'starting', healthDetail: 'waiting for health (GET /up on 127.0.0.1:9) 1s/4s' }])).toBe(
      'web: waiting for health (tcp 127.0.0.1:21252) 12s/60s; api: waiting for health (GET /up on 127.0.0.1:9) 1s/4s',
    );
  });

  it('should leave out components not waiting (healthy, starting before the gate) and others than the one deployed', () => {
    expect(healthProgressLine([{ component: 'db', health: 'healthy', healthDetail: 'running' }])).toBeUndefined();
    expect(healthProgressLine([{ component: 'db', health: 'starting', healthDetail: 'deploying release 3' }])).toBeUndefined();
    expect(healthProgressLine([{ component: 'db' }])).toBeUndefined();
    expect(healthProgressLine([waiting], 'api')).toBeUndefined();
    expect(healthProgressLine([waiting], 'web')).toBe('web: waiting for health (tcp 127.0.0.1:21252) 12s/60s');
  });
});
