import { formatTable } from './table.js';

const SPINNER = ['|', '/', '-', '\\'];

/**
 * Where commands write: results to stdout (a table or JSON), warnings and
 * progress to stderr. The progress line appears only on a terminal and only
 * for work that takes more than a moment, so pipes and tests see clean output.
 */
export class Output {
  readonly #stdout: NodeJS.WritableStream;
  readonly #stderr: NodeJS.WritableStream & { isTTY?: boolean };
  #progressShown = false;

  constructor(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr) {
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  /** One line of output. */
  line(text = ''): void {
    this.#clearProgress();
    this.#stdout.write(`${text}\n`);
  }

  /** A value as indented JSON. */
  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  /** Aligned columns. */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    this.line(formatTable(header, rows));
  }

  /** A line on stderr. */
  note(text: string): void {
    this.#clearProgress();
    this.#stderr.write(`${text}\n`);
  }

  /** A warning on stderr. */
  warn(text: string): void {
    this.note(`warning: ${text}`);
  }

  /**
   * Runs `work`; if it takes more than 250 ms and stderr is a terminal, shows
   * `label` with a spinner and the elapsed time until it ends.
   */
  async progress<T>(label: string, work: () => Promise<T>): Promise<T> {
    if (!this.#stderr.isTTY) return work();
    const started = performance.now();
    let frame = 0;
    const draw = () => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      this.#stderr.write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length]} ${label} ${seconds}s`);
      this.#progressShown = true;
    };
    let timer: NodeJS.Timeout | undefined;
    const delay = setTimeout(() => {
      draw();
      timer = setInterval(draw, 100);
    }, 250);
    try {
      return await work();
    } finally {
      clearTimeout(delay);
      if (timer) clearInterval(timer);
      this.#clearProgress();
    }
  }

  #clearProgress(): void {
    if (!this.#progressShown) return;
    this.#stderr.write('\r\x1b[K');
    this.#progressShown = false;
  }
}
