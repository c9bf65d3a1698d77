import { healthWaitMessage, listeningHintText, listeningPorts } from './health';

describe('health wait messages (#20 item 2)', () => {
  it('should format the wait as "waiting for health (what) elapsed/start_period"', () => {
    expect(healthWaitMessage({ probed: 'tcp 127.0.0.1:21252', elapsedMs: 12_400, startPeriodMs: 60_000 })).toBe('waiting for health (tcp 127.0.0.1:21252) 12s/60s');
    expect(healthWaitMessage({ probed: 'GET /up on 127.0.0.1:8081', elapsedMs: 999, startPeriodMs: 4_000 })).toBe('waiting for health (GET /up on 127.0.0.1:8081) 0s/4s');
    expect(healthWaitMessage({ probed: 'cmd /bin/check', elapsedMs: 100, startPeriodMs: 300 })).toBe('waiting for health (cmd /bin/check) 0s/0.3s');
  });

  it('should read the listening ports of /proc/net/tcp and tcp6 (state 0A only, each once, sorted)', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1',
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(listeningPorts(text)).toEqual([22, 8080]);
    expect(listeningPorts('garbage\n')).toEqual([]);
  });

  it('should name what the container listens on when it is not $PORT, and say nothing when it is', () => {
    expect(listeningHintText({ port: 21252, listening: [8080] })).toBe('nothing listens on $PORT=21252; the container listens on 8080 — does the program read $PORT?');
    expect(listeningHintText({ port: 21252, listening: [22, 8080] })).toBe('nothing listens on $PORT=21252; the container listens on 22, 8080 — does the program read $PORT?');
    expect(listeningHintText({ port: 21252, listening: [] })).toBe('nothing listens on $PORT=21252, nor on any other port in the container');
    expect(listeningHintText({ port: 21252, listening: [21252] })).toBeUndefined();
    expect(listeningHintText({ variable: 'PORT_HTTP', port: 21252, listening: [80] })).toBe('nothing listens on $PORT_HTTP=21252; the container listens on 80 — does the program read $PORT_HTTP?');
  });
});
