import Type, { type Static, type TSchema } from 'typebox';

// The request schemas of the Docker-compatible routes. dockerd's Go decoder
// ignores fields it does not know; these are strict instead, and list every
// field of the API version served (1.43) and of the clients seen sending
// more, so that a typo is refused rather than silently dropped. Go sends a
// nil map or slice as null: those fields accept null.

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const stringMap = nullable(Type.Record(Type.String(), Type.String()));

/** Query of the routes that take dockerd's `filters`. */
export const FiltersQuery = Type.Object({ filters: Type.Optional(Type.String()) }, { additionalProperties: false });

/** `{id}`: a network's name, id, or a unique prefix of its id. */
export const NetworkIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });

/** Query of `GET /networks/{id}`. */
export const InspectQuery = Type.Object(
  { verbose: Type.Optional(Type.String()), scope: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

const IpamConfig = Type.Object(
  {
    Subnet: Type.Optional(Type.String()),
    IPRange: Type.Optional(Type.String()),
    Gateway: Type.Optional(Type.String()),
    AuxiliaryAddresses: Type.Optional(stringMap),
  },
  { additionalProperties: false },
);

/** Body of `POST /networks/create` (Docker's NetworkCreateRequest). */
export const NetworkCreateBody = Type.Object(
  {
    Name: Type.String({ minLength: 1 }),
    CheckDuplicate: Type.Optional(nullable(Type.Boolean())),
    Driver: Type.Optional(Type.String()),
    Scope: Type.Optional(Type.String()),
    EnableIPv4: Type.Optional(nullable(Type.Boolean())),
    EnableIPv6: Type.Optional(nullable(Type.Boolean())),
    IPAM: Type.Optional(
      nullable(
        Type.Object(
          {
            Driver: Type.Optional(Type.String()),
            Config: Type.Optional(nullable(Type.Array(IpamConfig))),
            Options: Type.Optional(stringMap),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    Internal: Type.Optional(Type.Boolean()),
    Attachable: Type.Optional(Type.Boolean()),
    Ingress: Type.Optional(Type.Boolean()),
    ConfigOnly: Type.Optional(Type.Boolean()),
    ConfigFrom: Type.Optional(nullable(Type.Object({ Network: Type.String() }, { additionalProperties: false }))),
    Options: Type.Optional(stringMap),
    Labels: Type.Optional(stringMap),
  },
  { additionalProperties: false },
);
/** The parsed body of `POST /networks/create`. */
export type NetworkCreateBody = Static<typeof NetworkCreateBody>;

/** Docker's EndpointSettings, as the CLI sends it whole with zero values. */
const EndpointConfig = Type.Object(
  {
    IPAMConfig: Type.Optional(
      nullable(
        Type.Object(
          {
            IPv4Address: Type.Optional(Type.String()),
            IPv6Address: Type.Optional(Type.String()),
            LinkLocalIPs: Type.Optional(nullable(Type.Array(Type.String()))),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    Links: Type.Optional(nullable(Type.Array(Type.String()))),
    Aliases: Type.Optional(nullable(Type.Array(Type.String()))),
    DNSNames: Type.Optional(nullable(Type.Array(Type.String()))),
    MacAddress: Type.Optional(Type.String()),
    DriverOpts: Type.Optional(stringMap),
    GwPriority: Type.Optional(Type.Integer()),
    NetworkID: Type.Optional(Type.String()),
    EndpointID: Type.Optional(Type.String()),
    Gateway: Type.Optional(Type.String()),
    IPAddress: Type.Optional(Type.String()),
    IPPrefixLen: Type.Optional(Type.Integer()),
    IPv6Gateway: Type.Optional(Type.String()),
    GlobalIPv6Address: Type.Optional(Type.String()),
    GlobalIPv6PrefixLen: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

/** Body of `POST /networks/{id}/connect`. */
export const NetworkConnectBody = Type.Object(
  { Container: Type.String({ minLength: 1 }), EndpointConfig: Type.Optional(nullable(EndpointConfig)) },
  { additionalProperties: false },
);
/** The parsed body of `POST /networks/{id}/connect`. */
export type NetworkConnectBody = Static<typeof NetworkConnectBody>;

/** Body of `POST /networks/{id}/disconnect`. */
export const NetworkDisconnectBody = Type.Object(
  { Container: Type.String({ minLength: 1 }), Force: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
/** The parsed body of `POST /networks/{id}/disconnect`. */
export type NetworkDisconnectBody = Static<typeof NetworkDisconnectBody>;

/** Query of `GET /events`. */
export const EventsQuery = Type.Object(
  { since: Type.Optional(Type.String()), until: Type.Optional(Type.String()), filters: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

/** dockerd's error body, with netmode's code. */
export const ErrorResponse = Type.Object(
  {
    message: Type.String(),
    code: Type.String({ pattern: '^ERR_' }),
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { description: 'An error: Docker\'s {"message"} with netmode\'s code' },
);
