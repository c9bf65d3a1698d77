import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@mcp/common';
import { podmanSecretName, ServiceSecrets } from '@mcp/deployer';
import type { ServiceRegistry } from '@mcp/registry';
import { FakeRuntime } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support/test-config';
import { SecretsService } from './secrets.service';

describe('SecretsService.readForMove (SPEC §15 --copy-secrets)', () => {
  const admin = { subject: 'a', username: 'alice', roles: ['admin'] };
  let runtime: FakeRuntime;
  let sut: SecretsService;

  beforeEach(async () => {
    runtime = new FakeRuntime();
    const registry = { getService: async (name: string) => (name === 'shop' ? { name: 'shop', components: [] } : null) } as unknown as ServiceRegistry;
    const config = makeTestConfig({ agent: { ...makeTestConfig().agent, nodeName: 'alpha' } });
    sut = new SecretsService(runtime, registry, new ServiceSecrets(runtime), config);
    await runtime.createSecret({ name: podmanSecretName('shop', 'token'), value: Buffer.from('v4lue') });
  });

  it('should give an admin the value of a secret of a service this node has, for another node', async () => {
    expect((await sut.readForMove({ service: 'shop', name: 'token', toNode: 'beta', caller: admin })).toString()).toBe('v4lue');
  });

  it('should refuse any caller without the admin role, before reading anything', async () => {
    runtime.clearCalls();
    await expect(sut.readForMove({ service: 'shop', name: 'token', toNode: 'beta', caller: { ...admin, roles: ['operator'] } })).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(sut.readForMove({ service: 'shop', name: 'token', toNode: 'beta', caller: undefined })).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(runtime.calls.filter((c) => c.method === 'readSecret')).toEqual([]);
  });

  it('should refuse a move to this node or to no node, a service this node does not have, and a secret not set', async () => {
    await expect(sut.readForMove({ service: 'shop', name: 'token', toNode: 'alpha', caller: admin })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sut.readForMove({ service: 'shop', name: 'token', toNode: '', caller: admin })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sut.readForMove({ service: 'blog', name: 'token', toNode: 'beta', caller: admin })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(sut.readForMove({ service: 'shop', name: 'other', toNode: 'beta', caller: admin })).rejects.toBeInstanceOf(NotFoundError);
  });
});
