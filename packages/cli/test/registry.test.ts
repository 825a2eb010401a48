import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/declarations/index.js';
import { main } from '../src/main.js';
import { defineCommand, eachCommand } from '../src/registry/command-spec.js';
import { commandHelp, groupHelp, topHelp } from '../src/registry/help-text.js';
import { NO_OPERANDS } from '../src/registry/operand-spec.js';
import { optionTable, parseCommand } from '../src/registry/parse-command.js';
import { captureOutput } from './support/capture.js';

const globals = { stateDir: '/nonexistent/netmode-registry-test', debug: false };

/** A command of these tests, with an option of two spellings and a repeatable one of three. */
const paint = defineCommand({
  name: 'paint',
  summary: 'a command of this test',
  options: {
    colour: { type: 'string', arg: 'C', aliases: ['color'], help: 'a colour' },
    layer: { type: 'string', short: 'l', arg: 'L', aliases: ['coat'], multiple: true, help: 'a layer' },
  },
  operands: NO_OPERANDS,
  handler: () => Promise.reject(new Error('not run')),
});

/** The rows of a help text's `Options:` section: each flag's spellings, and whether it takes a value. */
function helpOptions(help: string): { spellings: string[]; takesValue: boolean }[] {
  const section = help.split('\n\nOptions:\n')[1]?.split('\n\n')[0];
  if (section === undefined) throw new Error(`no Options: section in\n${help}`);
  return section
    .split('\n')
    .filter((line) => /^ {2}-/.test(line))
    .map((line) => {
      const flags = (line.trim().split(/ {2,}/)[0] as string).split(/,? /);
      return { spellings: flags.filter((f) => f.startsWith('-')), takesValue: !(flags.at(-1) as string).startsWith('-') };
    });
}

/** Every spelling the command's parser accepts: `--long`, `-s`, aliases. */
function parserSpellings(table: ReturnType<typeof optionTable>): string[] {
  return Object.entries(table).flatMap(([long, o]) => [`--${long}`, ...(o.short ? [`-${o.short}`] : [])]);
}

async function helpThroughMain(words: readonly string[]): Promise<string> {
  const { out, stdout } = captureOutput();
  expect(await main([...words, '--help'], {}, out)).toBe(0);
  return stdout();
}

describe('the command registry', () => {
  it.each(eachCommand(COMMANDS))('netmode %s --help lists exactly the options its parser accepts', async (path, spec) => {
    const help = await helpThroughMain(path.split(' '));
    expect(help).toMatch(new RegExp(`^Usage: netmode ${path}\\b`));
    const listed = helpOptions(help);
    expect(listed.flatMap((o) => o.spellings).sort()).toEqual(parserSpellings(optionTable(spec)).sort());
    // And the parser takes each listed spelling as listed: with a value if
    // the help shows one (--help after it asks for help, before any value
    // is converted or operand counted).
    for (const { spellings, takesValue } of listed) {
      for (const flag of spellings) {
        expect(parseCommand(spec, path, [flag, ...(takesValue ? ['x'] : []), '--help'], globals), `${path} ${flag}`).toEqual({
          help: true,
        });
      }
    }
    expect(() => parseCommand(spec, path, ['--no-such-option'], globals)).toThrow(`netmode ${path}: Unknown option '--no-such-option'`);
  });

  it('netmode --help lists every command, and every read command under --json', async () => {
    const help = await helpThroughMain([]);
    expect(help).toBe(`${topHelp(COMMANDS)}\n`);
    const commands = help
      .split('\nCommands:\n')[1]
      ?.split('\n\n')[0]
      ?.split('\n')
      .map((line) => line.trim().split(/\s+/)[0]);
    expect(commands).toEqual(COMMANDS.map((d) => d.name));
    const json = eachCommand(COMMANDS)
      .filter(([, spec]) => 'json' in spec.options)
      .map(([path]) => path);
    expect(help).toContain(`Read commands (${json.join(', ')}) take --json.`);
  });

  it('netmode GROUP --help lists every command of the group', async () => {
    for (const group of COMMANDS.filter((d) => d.kind === 'group')) {
      const help = await helpThroughMain([group.name]);
      expect(help).toBe(`${groupHelp(group)}\n`);
      const rows = help
        .split('\nCommands:\n')[1]
        ?.split('\n')
        .filter(Boolean)
        .map((line) => line.trim().split(/\s+/)[0]);
      expect(rows).toEqual(group.commands.map((c) => c.name));
    }
  });

  it('netmode help WORDS… prints what WORDS --help prints', async () => {
    for (const [path] of eachCommand(COMMANDS)) {
      const { out, stdout } = captureOutput();
      expect(await main(['help', ...path.split(' ')], {}, out)).toBe(0);
      expect(stdout()).toBe(await helpThroughMain(path.split(' ')));
    }
  });

  it('takes an alias of an option as the option, and refuses two different values', () => {
    expect(parseCommand(paint, 'paint', ['--color', 'red', '--colour', 'red'], globals)).toMatchObject({
      help: false,
      input: { options: { colour: 'red' } },
    });
    expect(() => parseCommand(paint, 'paint', ['--colour', 'red', '--color', 'blue'], globals)).toThrow(
      'netmode paint: --colour and --color are one option, given different values ("red", "blue")',
    );
  });

  it('keeps the values of a repeatable option in command-line order, whichever spelling gave them', () => {
    const parsed = parseCommand(paint, 'paint', ['--layer', 'a', '--coat', 'b', '--layer=c', '-l', 'd'], globals);
    expect(parsed).toMatchObject({ help: false, input: { options: { layer: ['a', 'b', 'c', 'd'] } } });
  });

  it('gives a fixed list of operands to the handler by name, and refuses another count', () => {
    const move = defineCommand({
      name: 'move',
      summary: 'a command of this test',
      options: {},
      operands: {
        kind: 'fixed',
        names: [
          { key: 'from', name: 'FROM', what: 'place' },
          { key: 'to', name: 'TO', what: 'destination' },
        ],
      },
      handler: () => Promise.reject(new Error('not run')),
    });
    expect(parseCommand(move, 'move', ['here', 'there'], globals)).toEqual({
      help: false,
      input: { options: {}, from: 'here', to: 'there' },
    });
    for (const operands of [[], ['here'], ['here', 'there', 'beyond']]) {
      expect(() => parseCommand(move, 'move', operands, globals)).toThrow('netmode move: give FROM TO: a place, then a destination');
    }
    expect(commandHelp('move', move)).toMatch(/^Usage: netmode move FROM TO\n/);
  });
});
