import { Test } from '@nestjs/testing';
import { GrpcRouteRegistrar } from './grpc-route-registrar';
import { McproxyModule } from './mcproxy.module';
import { NoopRouteRegistrar } from './noop-route-registrar';
import { RouteRegistrar } from './route-registrar';

describe(McproxyModule.name, () => {
  describe('forRoot', () => {
    it('should bind the gRPC registrar when a socket is configured', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [McproxyModule.forRoot({ socket: '/run/mc-proxy/admin.sock' })],
      }).compile();

      const sut = moduleRef.get(RouteRegistrar);

      expect(sut).toBeInstanceOf(GrpcRouteRegistrar);
      expect((sut as GrpcRouteRegistrar).socketPath).toBe('/run/mc-proxy/admin.sock');
      await moduleRef.close();
    });

    it.each([[undefined], ['']])('should bind the no-op registrar when the socket is %p', async (socket) => {
      const moduleRef = await Test.createTestingModule({ imports: [McproxyModule.forRoot({ socket })] }).compile();

      expect(moduleRef.get(RouteRegistrar)).toBeInstanceOf(NoopRouteRegistrar);
      expect(moduleRef.get(RouteRegistrar).enabled).toBe(false);
    });
  });
});
