import Type, { type Static, type TSchema } from 'typebox';

// The request schemas of netmode's own routes: the shapes of
// `@netmode/core`'s model, strict. The manager validates the values
// (addresses, names, ranges) before it changes anything; these keep
// anything it does not know from reaching it.

const stringArray = Type.Array(Type.String());
const labels = Type.Record(Type.String(), Type.String());
const strict = <T extends Record<string, TSchema>>(properties: T, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });

/** A NetnsRef: `{kind:'host'}`, `{kind:'named', name}`, `{kind:'path', path}`. */
export const NetnsRefSchema = Type.Union([
  strict({ kind: Type.Literal('host') }),
  strict({ kind: Type.Literal('named'), name: Type.String() }),
  strict({ kind: Type.Literal('path'), path: Type.String() }),
]);

const PortMappingSchema = strict({
  hostIp: Type.Optional(Type.String()),
  hostPort: Type.Optional(Type.Integer()),
  containerPort: Type.Integer(),
  count: Type.Optional(Type.Integer()),
  protocol: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')])),
});

/** ConnectOptions of `@netmode/core`, name settings included. */
export const ConnectOptionsSchema = strict({
  netns: Type.Optional(NetnsRefSchema),
  ports: Type.Optional(Type.Array(PortMappingSchema)),
  ip: Type.Optional(Type.String()),
  mac: Type.Optional(Type.String()),
  ifname: Type.Optional(Type.String()),
  gwPriority: Type.Optional(Type.Integer()),
  aliases: Type.Optional(stringArray),
  labels: Type.Optional(labels),
  name: Type.Optional(Type.String()),
  hostname: Type.Optional(Type.String()),
  domainname: Type.Optional(Type.String()),
  dns: Type.Optional(stringArray),
  dnsSearch: Type.Optional(stringArray),
  dnsOptions: Type.Optional(stringArray),
  extraHosts: Type.Optional(stringArray),
});

/** `{id}` of the container routes. */
export const ContainerParams = strict({ id: Type.String({ minLength: 1, maxLength: 256 }) });
/** `{name}` of the network routes. */
export const NetworkParams = strict({ name: Type.String({ minLength: 1, maxLength: 256 }) });
/** `?network=N`: which of a container's endpoints. */
export const NetworkQuery = strict({ network: Type.Optional(Type.String({ minLength: 1 })) });

/** Body of `POST /netmode/v1/containers/{id}/connect`. */
export const ConnectBody = strict({ mode: Type.String({ minLength: 1 }), options: Type.Optional(ConnectOptionsSchema) });
/** The parsed body of the connect route. */
export type ConnectBody = Static<typeof ConnectBody>;

/** Body of `POST /netmode/v1/containers/{id}/disconnect`; absent or `{}` disconnects every network. */
export const DisconnectBody = Type.Union([Type.Null(), strict({ network: Type.Optional(Type.String({ minLength: 1 })) })]);
/** The parsed body of the disconnect route. */
export type DisconnectBody = Static<typeof DisconnectBody>;

/** NetworkSpec of `@netmode/core`. */
export const NetworkSpecSchema = strict({
  name: Type.String({ minLength: 1 }),
  driver: Type.String({ minLength: 1 }),
  subnets: Type.Optional(
    Type.Array(strict({ subnet: Type.String(), gateway: Type.Optional(Type.String()), ipRange: Type.Optional(Type.String()) })),
  ),
  internal: Type.Optional(Type.Boolean()),
  dns: Type.Optional(Type.Boolean()),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  labels: Type.Optional(labels),
});
/** The parsed body of `POST /netmode/v1/networks`. */
export type NetworkSpecBody = Static<typeof NetworkSpecSchema>;

/** Body of `POST /netmode/v1/gc`. */
export const GcBody = strict({
  validContainerIds: stringArray,
  listedAt: Type.Optional(Type.String({ format: 'date-time' })),
});
/** The parsed body of the gc route. */
export type GcBody = Static<typeof GcBody>;
