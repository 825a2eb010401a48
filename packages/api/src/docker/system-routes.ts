import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RouteContext } from '../context.js';

const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** `/_ping`, `/version` and `/info`: what a Docker client asks before anything else. */
export function registerSystemRoutes(server: FastifyInstance, ctx: RouteContext): void {
  const ping = (reply: FastifyReply, body: string) =>
    reply
      .header('Content-Type', 'text/plain; charset=utf-8')
      .header('Cache-Control', 'no-cache, no-store, must-revalidate')
      .header('Pragma', 'no-cache')
      .send(body);
  const pingSchema = { summary: 'Ping: answers OK with the API version in the headers', response: { 200: { type: 'string' } } };
  server.get('/_ping', { config: { docker: true }, schema: { ...pingSchema, operationId: 'SystemPing' } }, (_req, reply) =>
    ping(reply, 'OK'),
  );
  server.head('/_ping', { config: { docker: true }, schema: { ...pingSchema, operationId: 'SystemPingHead' } }, (_req, reply) =>
    ping(reply, ''),
  );

  server.get('/version', { config: { docker: true }, schema: { summary: "The server's versions", operationId: 'SystemVersion' } }, () => {
    const details = {
      ApiVersion: ctx.apiVersion,
      MinAPIVersion: ctx.minApiVersion,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: GO_ARCH[arch()] ?? arch(),
      KernelVersion: release(),
      BuildTime: '',
    };
    return {
      Platform: { Name: 'netmode' },
      Components: [{ Name: 'Engine', Version: ctx.version, Details: details }],
      Version: ctx.version,
      ...details,
    };
  });

  server.get('/info', { config: { docker: true }, schema: { summary: 'System-wide information', operationId: 'SystemInfo' } }, () => {
    const networks = ctx.netmode.drivers;
    return {
      ID: '',
      Containers: 0,
      ContainersRunning: 0,
      ContainersPaused: 0,
      ContainersStopped: 0,
      Images: 0,
      Driver: '',
      DriverStatus: [],
      Plugins: { Volume: [], Network: networks, Authorization: null, Log: [] },
      MemoryLimit: false,
      SwapLimit: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      CPUShares: false,
      CPUSet: false,
      PidsLimit: false,
      IPv4Forwarding: true,
      BridgeNfIptables: true,
      BridgeNfIp6tables: true,
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: '',
      CgroupDriver: '',
      CgroupVersion: '',
      NEventsListener: ctx.streams.size,
      KernelVersion: release(),
      OperatingSystem: 'netmode',
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: '',
      RegistryConfig: null,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: '',
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ctx.version,
      Runtimes: {},
      DefaultRuntime: '',
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '', Expected: '' },
      RuncCommit: { ID: '', Expected: '' },
      InitCommit: { ID: '', Expected: '' },
      SecurityOptions: [],
      Warnings: null,
    };
  });
}
