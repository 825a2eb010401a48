import { Writable } from 'node:stream';
import { Output } from '../../src/output/output.js';

/** An {@link Output} that keeps what it is given, for calling `main` in-process. */
export function captureOutput(): { out: Output; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const out = new Output(
    sink((t) => (stdout += t)),
    sink((t) => (stderr += t)),
  );
  return { out, stdout: () => stdout, stderr: () => stderr };
}
