import Type, { type Static } from 'typebox';
import { errorMessage } from '../errors.js';
import { validateNetnsRef } from '../model/netns-ref.js';
import type { RecordKind } from '../store/record-schema.js';

/**
 * The schemas of the records the manager keeps, checked whenever one is read
 * (see `store/record-schema.ts`). They describe the stored form: the public
 * `Endpoint` and `NetworkRecord` plus the manager's own bookkeeping fields.
 *
 * @module
 */

const Identity = Type.Object({ pid: Type.Integer({ minimum: 1 }), start: Type.String() });

const Netns = Type.Union([
  Type.Object({ kind: Type.Literal('host') }),
  Type.Object({ kind: Type.Literal('named'), name: Type.String() }),
  Type.Object({ kind: Type.Literal('path'), path: Type.String() }),
]);

const Port = Type.Object({
  hostIp: Type.Optional(Type.String()),
  hostPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  protocol: Type.Optional(Type.Enum(['tcp', 'udp'])),
});

const Interface = Type.Object({
  name: Type.String({ minLength: 1 }),
  side: Type.Enum(['sandbox', 'host']),
  mac: Type.Optional(Type.String()),
  mtu: Type.Optional(Type.Integer()),
});

const Strings = Type.Array(Type.String());
const Labels = Type.Record(Type.String(), Type.String());
const Data = Type.Record(Type.String(), Type.Unknown());

const StoredEndpoint = Type.Object({
  id: Type.String({ minLength: 1 }),
  containerId: Type.String({ minLength: 1 }),
  network: Type.String({ minLength: 1 }),
  networkId: Type.String({ minLength: 1 }),
  driver: Type.String({ minLength: 1 }),
  netns: Netns,
  ownsNetns: Type.Boolean(),
  interfaces: Type.Array(Interface),
  addresses: Strings,
  gateways: Strings,
  ports: Type.Array(Port),
  status: Type.Enum(['attaching', 'attached', 'detaching', 'broken', 'orphaned']),
  labels: Labels,
  driverData: Data,
  createdAt: Type.String(),
  problems: Type.Optional(Strings),
  // Added by state format 2; a record without them reads as gwPriority 0,
  // no aliases, the default route when it has a gateway (one endpoint per
  // container then), and its own sandbox.
  joinedTo: Type.Optional(Type.String({ minLength: 1 })),
  gwPriority: Type.Optional(Type.Integer()),
  defaultRoute: Type.Optional(Type.Boolean()),
  aliases: Type.Optional(Strings),
  // Added without a new state format (absent reads as none): the sandbox's name settings.
  names: Type.Optional(
    Type.Object({
      name: Type.Optional(Type.String()),
      hostname: Type.Optional(Type.String()),
      domainname: Type.Optional(Type.String()),
      dns: Type.Optional(Strings),
      dnsSearch: Type.Optional(Strings),
      dnsOptions: Type.Optional(Strings),
      extraHosts: Type.Optional(Strings),
    }),
  ),
  operator: Type.Optional(Identity),
  hold: Type.Optional(Identity),
});

const StoredNetwork = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.String({ minLength: 1 }),
  driver: Type.String({ minLength: 1 }),
  status: Type.Enum(['creating', 'ready', 'removing']),
  predefined: Type.Boolean(),
  subnets: Type.Array(Type.Object({ subnet: Type.String(), gateway: Type.Optional(Type.String()), ipRange: Type.Optional(Type.String()) })),
  internal: Type.Boolean(),
  // Added without a new state format: absent reads as false (no embedded DNS server).
  dns: Type.Optional(Type.Boolean()),
  options: Data,
  labels: Labels,
  driverData: Data,
  createdAt: Type.String(),
  operator: Type.Optional(Identity),
});

/** An endpoint record as stored under `endpoints/CONTAINER/NETWORK`. */
export const ENDPOINT_RECORD: RecordKind<typeof StoredEndpoint> = {
  what: 'endpoint record',
  schema: StoredEndpoint,
  refine: (record, key) => {
    if (key !== `endpoints/${record.containerId}/${record.network}`) {
      return `it names container ${JSON.stringify(record.containerId)} on network ${JSON.stringify(record.network)}`;
    }
    return validNetns(record);
  },
};

/** An endpoint record of state format 1, as stored under `endpoints/CONTAINER`: read only to migrate it. */
export const FORMAT_1_ENDPOINT_RECORD: RecordKind<typeof StoredEndpoint> = {
  what: 'endpoint record (state format 1)',
  schema: StoredEndpoint,
  refine: (record, key) => {
    if (key !== `endpoints/${record.containerId}`) return `it names container ${JSON.stringify(record.containerId)}`;
    return validNetns(record);
  },
};

/** The namespace name reaches command lines: it must pass the same check as a caller's. */
function validNetns(record: Static<typeof StoredEndpoint>): string | undefined {
  try {
    validateNetnsRef(record.netns, 'netns');
  } catch (error) {
    return errorMessage(error);
  }
  return undefined;
}

/** A network record as stored under `networks/NAME`. */
export const NETWORK_RECORD: RecordKind<typeof StoredNetwork> = {
  what: 'network record',
  schema: StoredNetwork,
  refine: (record, key) => (key === `networks/${record.name}` ? undefined : `it names network ${JSON.stringify(record.name)}`),
};

/** The ids of the containers that joined one sandbox, under `joiners/OWNER`. */
export const JOINERS_RECORD: RecordKind<typeof Strings> = { what: 'list of joiners', schema: Strings };

const Instance = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }), createdAt: Type.String() });

/** The instance's identity, under `instance`. */
export const INSTANCE_RECORD: RecordKind<typeof Instance> = { what: 'instance record', schema: Instance };

const Format = Type.Object({ version: Type.Integer({ minimum: 1 }) });

/** The format of the state directory, under `format`: see `manager/state-format.ts`. */
export const FORMAT_RECORD: RecordKind<typeof Format> = { what: 'state format record', schema: Format };
