import { containerNameFor, imageTag, splitContainerName } from './container-name';

describe('container naming', () => {
  describe(containerNameFor.name, () => {
    it.each([
      ['metacrypt', 'api', 'metacrypt-api'],
      ['mc-proxy', 'mc-proxy', 'mc-proxy'],
      ['mc-proxy', 'admin', 'mc-proxy-admin'],
      ['notes', 'notes', 'notes'],
      ['notes', 'web-ui', 'notes-web-ui'],
    ])('should name service %s component %s as %s', (service, component, expected) => {
      expect(containerNameFor(service, component)).toBe(expected);
    });
  });

  describe(splitContainerName.name, () => {
    const known = ['mc', 'mc-proxy', 'metacrypt', 'notes'];

    it.each([
      ['mc-proxy', known, 'mc-proxy', 'mc-proxy'],
      ['mc-proxy-admin', known, 'mc-proxy', 'admin'],
      ['mc-web', known, 'mc', 'web'],
      ['mc', known, 'mc', 'mc'],
      ['metacrypt-api', known, 'metacrypt', 'api'],
      ['notes-web-ui', known, 'notes', 'web-ui'],
      ['mc-proxy', [], 'mc', 'proxy'],
      ['unknown-thing-x', known, 'unknown', 'thing-x'],
      ['solo', known, 'solo', 'solo'],
      ['solo', [], 'solo', 'solo'],
      ['notes-', known, 'notes-', 'notes-'],
      ['-odd', [], '-odd', '-odd'],
      ['metacryptx-api', known, 'metacryptx', 'api'],
    ])('should split %s with known services %j into (%s, %s)', (name, services, service, component) => {
      expect(splitContainerName(name, services)).toEqual({ service, component });
    });

    it('should prefer the longest known service whatever the iteration order', () => {
      expect(splitContainerName('mc-proxy-admin', new Set(['mc-proxy', 'mc']))).toEqual({
        service: 'mc-proxy',
        component: 'admin',
      });
      expect(splitContainerName('mc-proxy-admin', ['mc', 'mc-proxy'])).toEqual({
        service: 'mc-proxy',
        component: 'admin',
      });
    });

    it('should round-trip every name containerNameFor makes for a known service', () => {
      const pairs: Array<[string, string]> = [
        ['mc-proxy', 'mc-proxy'],
        ['mc-proxy', 'admin'],
        ['mc', 'web-cache'],
        ['notes', 'web-ui'],
      ];
      for (const [service, component] of pairs) {
        expect(splitContainerName(containerNameFor(service, component), ['mc', 'mc-proxy', 'notes'])).toEqual({
          service,
          component,
        });
      }
    });
  });

  describe(imageTag.name, () => {
    const digest = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

    it.each([
      ['localhost/mcp-test/busybox:1.0', '1.0'],
      ['mcr.example.net/metacrypt:v1.2.3', 'v1.2.3'],
      ['127.0.0.1:5000/app:2.0', '2.0'],
      ['127.0.0.1:5000/app', ''],
      ['busybox', ''],
      [`mcr.example.net/app@${digest}`, '0123456789ab'],
      [`mcr.example.net:443/app:1.4@${digest}`, '1.4'],
      ['', ''],
    ])('should give %s the version %j', (image, expected) => {
      expect(imageTag(image)).toBe(expected);
    });
  });
});
