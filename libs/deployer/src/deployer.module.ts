import { Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { CertificateAuthority } from '@mcp/acme';
import { AcmeCertificateProvider, CertificateProvider, ExistingCertificateProvider } from './certificate-provider';
import { ComponentDeployer } from './component-deployer';
import { ContainerOps } from './container-ops';
import { DeployRecovery } from './deploy-recovery';
import { ImagePruner } from './image-pruner';
import { DeployerOptions, type DeployerOptionsData } from './deployer-options';
import { DriftDetail } from './drift-detail';
import { HealthProber, HealthStates, NetworkProbe, NodeNetworkProbe } from './health';
import { KeyedMutex } from './keyed-mutex';
import { HostPortProbe, NetHostPortProbe, PortAllocator } from './port-allocator';
import { RouteService } from './route.service';
import { ServiceChanges } from './service-changes';
import { ServiceSecrets } from './service-secrets';

/** The deployer's providers, for a module of one's own (unit tests list them beside fakes). */
export function deployerProviders(options: DeployerOptionsData): Provider[] {
  return [
    { provide: DeployerOptions, useValue: new DeployerOptions(options) },
    { provide: HostPortProbe, useClass: NetHostPortProbe },
    {
      // ACME when the app provides a CertificateAuthority (`[acme]` configured), else the files must exist.
      provide: CertificateProvider,
      inject: [DeployerOptions, { token: CertificateAuthority, optional: true }],
      useFactory: (deployerOptions: DeployerOptions, authority?: CertificateAuthority) =>
        authority ? new AcmeCertificateProvider(authority) : new ExistingCertificateProvider(deployerOptions),
    },
    KeyedMutex,
    PortAllocator,
    RouteService,
    ContainerOps,
    { provide: NetworkProbe, useClass: NodeNetworkProbe },
    HealthProber,
    HealthStates,
    ServiceSecrets,
    ComponentDeployer,
    DeployRecovery,
    ImagePruner,
    DriftDetail,
    ServiceChanges,
  ];
}

/**
 * Logic the agent's features share. Needs ServiceRegistry, ContainerRuntime, RouteRegistrar
 * and Failpoints, and takes RegistryAuth and CertificateAuthority when given: `imports` are
 * the modules that provide them. Not global: the application makes one module object, which
 * every feature module using the deployer imports, so they share one PortAllocator and one
 * per-service KeyedMutex.
 */
@Module({})
export class DeployerModule {
  static forRoot(options: DeployerOptionsData, imports: ModuleMetadata['imports'] = []): DynamicModule {
    const providers = deployerProviders(options);
    return {
      module: DeployerModule,
      imports,
      providers,
      exports: [DeployerOptions, HostPortProbe, CertificateProvider, KeyedMutex, PortAllocator, RouteService, ContainerOps, ServiceSecrets, NetworkProbe, HealthProber, HealthStates, ComponentDeployer, DeployRecovery, ImagePruner, DriftDetail, ServiceChanges],
    };
  }
}
