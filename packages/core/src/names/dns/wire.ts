import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Question } from 'dns-packet';

/**
 * DNS messages on the wire, for the embedded server: reading a query with
 * dns-packet, and writing replies that echo the question exactly as it came
 * and never exceed what the asker allows.
 *
 * @module
 */

/** Response codes the server sends. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The classic UDP limit (RFC 1035), when the query advertises no EDNS0 size. */
export const CLASSIC_UDP_SIZE = 512;
/** The largest UDP answer the server sends, whatever the query advertises. */
export const MAX_UDP_SIZE = 4096;
/** The largest message TCP's 2-byte length can frame. */
export const MAX_TCP_SIZE = 65535;

const HEADER_SIZE = 12;
const QR = 1 << 15;
const OPCODE_MASK = 0xf << 11;
const AA = 1 << 10;
const TC = 1 << 9;
const RD = 1 << 8;
const RA = 1 << 7;
const CD = 1 << 4;
const RCODE_MASK = 0xf;
const BADVERS_UPPER_BITS = 1; // BADVERS (16) >> 4, carried in the OPT record.

/** A query the server can act on. */
export interface ParsedQuery {
  /** The asker's message id. */
  readonly id: number;
  /** The query's header flags (opcode, RD, CD are echoed). */
  readonly flags: number;
  /** Its one question, decoded. */
  readonly question: Question;
  /** The question section exactly as it came, for replies and for matching upstream answers. */
  readonly questionBytes: Buffer;
  /** Whether it carried an EDNS0 OPT record (then replies carry one too). */
  readonly edns: boolean;
  /** The largest UDP reply it accepts. */
  readonly udpLimit: number;
}

/** What reading a message gave. */
export type ReadQuery =
  /** Not a query we may answer (too short to hold an id, or a response): no reply. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** A query we answer at once with an error (FORMERR, NOTIMP, BADVERS). */
  | { readonly kind: 'reply'; readonly reply: Buffer; readonly reason: string }
  /** A query to decide on. */
  | { readonly kind: 'query'; readonly query: ParsedQuery };

// dns-packet's codecs for one section are public at runtime but not in its
// types; the question's length on the wire is needed to echo it byte for byte.
const questionCodec = (dnsPacket as unknown as { question: { decode: ((buf: Buffer, offset: number) => Question) & { bytes: number } } })
  .question;

/** Reads one message that arrived at the server. Never throws. */
export function readQuery(message: Buffer): ReadQuery {
  if (message.length < HEADER_SIZE) return { kind: 'drop', reason: `${message.length}-byte message, shorter than a header` };
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  // Answering a response could make two servers talk to each other forever.
  if ((flags & QR) !== 0) return { kind: 'drop', reason: 'a response, not a query' };
  if ((flags & OPCODE_MASK) !== 0)
    return { kind: 'reply', reply: errorReply(id, flags, RCODE.NOTIMP), reason: `opcode ${(flags & OPCODE_MASK) >> 11}` };
  let packet: DecodedPacket;
  let questionBytes: Buffer;
  try {
    packet = dnsPacket.decode(message);
    questionCodec.decode(message, HEADER_SIZE);
    questionBytes = message.subarray(HEADER_SIZE, HEADER_SIZE + questionCodec.decode.bytes);
  } catch (error) {
    return { kind: 'reply', reply: errorReply(id, flags, RCODE.FORMERR), reason: `undecodable: ${(error as Error).message}` };
  }
  const question = packet.questions?.[0];
  if (packet.questions?.length !== 1 || question === undefined) {
    return { kind: 'reply', reply: errorReply(id, flags, RCODE.FORMERR), reason: `${packet.questions?.length ?? 0} questions` };
  }
  const opts = (packet.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  if (opts.length > 1) return { kind: 'reply', reply: errorReply(id, flags, RCODE.FORMERR), reason: 'several OPT records' };
  const opt = opts[0];
  const query: ParsedQuery = {
    id,
    flags,
    question,
    questionBytes: Buffer.from(questionBytes),
    edns: opt !== undefined,
    udpLimit: opt === undefined ? CLASSIC_UDP_SIZE : Math.min(MAX_UDP_SIZE, Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize)),
  };
  if (opt !== undefined && opt.ednsVersion !== 0) {
    return {
      kind: 'reply',
      reply: encodeReply(query, { rcode: RCODE.NOERROR, extendedRcode: BADVERS_UPPER_BITS }, MAX_UDP_SIZE),
      reason: `EDNS version ${opt.ednsVersion}`,
    };
  }
  return { kind: 'query', query };
}

/** What a reply of the server's own says. */
export interface LocalReply {
  /** The response code. */
  readonly rcode: number;
  /** Records of the answer section. */
  readonly answers?: readonly Answer[];
  /** Whether the server is the authority for the name (its own names). */
  readonly authoritative?: boolean;
  /** Upper 8 bits of an extended rcode, sent in the OPT record. */
  readonly extendedRcode?: number;
}

/**
 * Writes the server's reply to `query`; when it would exceed `limit` bytes,
 * writes header and question only, with TC set, so the asker retries over
 * TCP.
 */
export function encodeReply(query: ParsedQuery, reply: LocalReply, limit: number): Buffer {
  const answers = reply.answers ?? [];
  const additionals: Answer[] = query.edns
    ? [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: MAX_UDP_SIZE,
          extendedRcode: reply.extendedRcode ?? 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ]
    : [];
  const records = dnsPacket.encode({ answers: [...answers], additionals }).subarray(HEADER_SIZE);
  const flags = QR | (query.flags & (OPCODE_MASK | RD | CD)) | RA | (reply.authoritative === true ? AA : 0) | (reply.rcode & RCODE_MASK);
  if (HEADER_SIZE + query.questionBytes.length + records.length > limit) {
    return Buffer.concat([header(query.id, flags | TC, 1, 0, 0), query.questionBytes]);
  }
  return Buffer.concat([header(query.id, flags, 1, answers.length, additionals.length), query.questionBytes, records]);
}

/** A reply without question, for a query whose question could not be read. */
function errorReply(id: number, queryFlags: number, rcode: number): Buffer {
  return header(id, QR | (queryFlags & (OPCODE_MASK | RD | CD)) | RA | rcode, 0, 0, 0);
}

function header(id: number, flags: number, questions: number, answers: number, additionals: number): Buffer {
  const bytes = Buffer.alloc(HEADER_SIZE);
  bytes.writeUInt16BE(id, 0);
  bytes.writeUInt16BE(flags, 2);
  bytes.writeUInt16BE(questions, 4);
  bytes.writeUInt16BE(answers, 6);
  bytes.writeUInt16BE(0, 8);
  bytes.writeUInt16BE(additionals, 10);
  return bytes;
}

/** `query` as sent to an upstream: the same bytes under a new id. */
export function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  return copy;
}

/**
 * Whether `response` answers the question that went out under `id`: a
 * response, with that id, and the same one question (names compared without
 * regard to case, as resolvers may change it).
 */
export function answersQuestion(response: Buffer, id: number, questionBytes: Buffer): boolean {
  if (response.length < HEADER_SIZE + questionBytes.length) return false;
  if (response.readUInt16BE(0) !== id) return false;
  if ((response.readUInt16BE(2) & QR) === 0) return false;
  if (response.readUInt16BE(4) !== 1) return false;
  // The name's bytes, then type and class (4 bytes), which must match exactly.
  const nameLength = questionBytes.length - 4;
  for (let i = 0; i < questionBytes.length; i++) {
    const sent = questionBytes[i] as number;
    const received = response[HEADER_SIZE + i] as number;
    if (i < nameLength ? lowerAscii(sent) !== lowerAscii(received) : sent !== received) return false;
  }
  return true;
}

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/**
 * An upstream's answer to `query`, relayed as it came under the asker's id;
 * when larger than `limit`, cut to header and question with TC set.
 */
export function relayUpstreamAnswer(response: Buffer, query: ParsedQuery, limit: number): Buffer {
  if (response.length <= limit) return withId(response, query.id);
  const flags = response.readUInt16BE(2) | TC;
  return Buffer.concat([header(query.id, flags, 1, 0, 0), query.questionBytes]);
}
