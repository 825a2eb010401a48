import { spawn, type ChildProcess } from 'node:child_process';
import { netnsPath, type NetnsRef } from '@netmode/core';

// Test helpers: Node processes inside namespaces, started with nsenter (which
// execs node, so the PID we hold is node's) and stopped by that PID only.

const NSENTER = '/usr/bin/nsenter';

/** A Node process running a script inside a namespace. */
export interface NodeInNetns {
  /** Resolves with its standard output once it exits with status 0; rejects otherwise. */
  readonly done: Promise<string>;
  /** Kills it (by its PID) if it is still running, and waits for it to end. */
  stop(): Promise<void>;
}

/**
 * Starts `node -e script` inside `netns`. When `readyLine` is given, resolves
 * once the process has printed that line (a server listening); otherwise at once.
 */
export async function nodeIn(netns: NetnsRef, script: string, readyLine?: string, timeoutMs = 15_000): Promise<NodeInNetns> {
  const child: ChildProcess = spawn(NSENTER, [`--net=${netnsPath(netns)}`, '--', process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid), timeoutMs);
  const done = exited.then((code) => {
    clearTimeout(timer);
    if (code !== 0) throw new Error(`node in ${netnsPath(netns)} exited with ${code}: ${stderr.trim()}`);
    return stdout;
  });
  done.catch(() => undefined);
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid);
    await exited;
  };
  if (readyLine !== undefined) {
    await new Promise<void>((resolve, reject) => {
      const look = () => stdout.split('\n').includes(readyLine) && (resolve(), true);
      child.stdout?.on('data', look);
      exited.then(() => reject(new Error(`node in ${netnsPath(netns)} ended before "${readyLine}": ${stderr.trim()}`)), reject);
    });
  }
  return { done, stop };
}

/** A TCP server on `host:port` that answers one message in upper case and prints the peer's address as JSON. */
export const tcpUpperServer = (host: string, port: number) => `
const server = require('node:net').createServer((socket) => {
  socket.once('data', (data) => {
    console.log(JSON.stringify({ from: socket.remoteAddress }));
    socket.end(String(data).toUpperCase(), () => server.close());
  });
});
server.listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'));`;

/** A TCP client that sends `message` to `host:port` and prints the reply and its own address as JSON. */
export const tcpClient = (host: string, port: number, message: string) => `
const socket = require('node:net').connect(${port}, ${JSON.stringify(host)});
let reply = '';
let local;
socket.on('connect', () => { local = socket.localAddress; socket.write(${JSON.stringify(message)}); });
socket.on('data', (data) => (reply += data));
socket.on('end', () => console.log(JSON.stringify({ reply, local })));`;

/** A UDP server on `host:port` that answers one datagram in upper case and prints the sender's address as JSON. */
export const udpUpperServer = (host: string, port: number) => `
const socket = require('node:dgram').createSocket('udp4');
socket.on('message', (message, peer) => {
  socket.send(String(message).toUpperCase(), peer.port, peer.address, () => {
    console.log(JSON.stringify({ from: peer.address }));
    socket.close();
  });
});
socket.bind(${port}, ${JSON.stringify(host)}, () => console.log('ready'));`;

/** A UDP client that sends `message` to `host:port` and prints the reply as JSON. */
export const udpClient = (host: string, port: number, message: string) => `
const socket = require('node:dgram').createSocket('udp4');
socket.on('message', (reply) => { console.log(JSON.stringify({ reply: String(reply) })); socket.close(); });
socket.send(${JSON.stringify(message)}, ${port}, ${JSON.stringify(host)});`;

/** The last line of `output`, parsed as JSON. */
export function lastJson<T>(output: string): T {
  const lines = output.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null') as T;
}
