import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { Clock, ConfigError, PermissionDeniedError } from '@mcp/common';
import { FakeClock } from '../../../test/fakes/fake-clock';
import { FakeMcias, startFakeMcias } from '../../../test/servers/fake-mcias';
import { AuthModule } from './auth.module';
import { CachingIdentityClient } from './caching-identity.client';
import { IdentityClient } from './identity-client';
import { StaticTokenIdentity, writeTokensFile } from './static-token.identity';
import { TokenAuthenticator } from './token-authenticator';

describe(AuthModule.name, () => {
  describe('forRoot', () => {
    it('should refuse mcias mode without a server URL, and static mode without a tokens file', () => {
      expect(() => AuthModule.forRoot({ mode: 'mcias', allowedRoles: ['admin'] })).toThrow(ConfigError);
      expect(() => AuthModule.forRoot({ mode: 'static', allowedRoles: ['admin'] })).toThrow(ConfigError);
    });

    describe('static mode', () => {
      let dir: string;
      let tokensFile: string;

      beforeEach(async () => {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-auth-module-'));
        tokensFile = path.join(dir, 'tokens.toml');
        await writeTokensFile(tokensFile, [
          { token: 'tok-admin', username: 'alice', roles: ['admin'] },
          { token: 'tok-ops', username: 'olga', roles: ['ops'] },
        ]);
      });

      afterEach(async () => {
        await fs.rm(dir, { recursive: true, force: true });
      });

      it('should bind the tokens file and an authenticator using the configured roles', async () => {
        const moduleRef = await Test.createTestingModule({
          imports: [AuthModule.forRoot({ mode: 'static', tokensFile, allowedRoles: ['ops'] })],
        }).compile();

        const sut = moduleRef.get(TokenAuthenticator);

        expect(moduleRef.get(IdentityClient)).toBeInstanceOf(StaticTokenIdentity);
        await expect(sut.authenticate('Bearer tok-ops')).resolves.toMatchObject({ username: 'olga' });
        await expect(sut.authenticate('Bearer tok-admin')).rejects.toBeInstanceOf(PermissionDeniedError);
      });

      it('should fail at start-up when the tokens file is invalid', async () => {
        await fs.writeFile(tokensFile, '[[tokens]]\nsha256 = "nope"\n');

        await expect(
          Test.createTestingModule({
            imports: [AuthModule.forRoot({ mode: 'static', tokensFile, allowedRoles: ['admin'] })],
          }).compile(),
        ).rejects.toBeInstanceOf(ConfigError);
      });
    });

    describe('mcias mode', () => {
      let mcias: FakeMcias;

      beforeAll(async () => {
        mcias = await startFakeMcias({ users: [{ username: 'alice', password: 'pw', roles: ['admin'] }] });
      });

      afterAll(async () => {
        await mcias.close();
      });

      it('should cache MCIAS answers using the injected Clock', async () => {
        const clock = new FakeClock(new Date());
        const moduleRef = await Test.createTestingModule({
          imports: [
            AuthModule.forRoot({
              mode: 'mcias',
              mcias: { serverUrl: mcias.url, caCertPath: mcias.caCertPath, serviceName: 'mcp' },
              allowedRoles: ['admin'],
            }),
          ],
        })
          .overrideProvider(Clock)
          .useValue(clock)
          .compile();
        const sut = moduleRef.get(TokenAuthenticator);
        const token = mcias.tokenFor('alice');
        mcias.resetCalls();

        await sut.authenticate(`Bearer ${token}`);
        await sut.authenticate(`Bearer ${token}`);
        clock.advance(30_000);
        await sut.authenticate(`Bearer ${token}`);

        expect(moduleRef.get(IdentityClient)).toBeInstanceOf(CachingIdentityClient);
        expect(mcias.calls.validate).toBe(2);
      });
    });
  });
});
