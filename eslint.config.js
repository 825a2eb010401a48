// ESLint for the whole repository: the workspace's packages (sources and
// tests), the examples (the external driver-ptp too: it is linted here with
// the same rules, since syntactic rules need none of its dependencies), the
// benchmark, the scripts and these config files.
//
// typescript-eslint's `recommended` set, without type information: the
// type-checked set took ~35 s on a 2-core machine (against ~6 s) and, on
// this code, found nothing but style (async functions without await, `as`
// casts it thought unnecessary, values from JSON typed `any`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/', '**/node_modules/', 'docs/api/', 'coverage/'],
  },
  {
    // A disable comment that no longer silences anything is an error too.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          // `const { hold: _hold, ...rest } = record` is how a field is left out.
          ignoreRestSiblings: true,
          // A parameter a signature needs but the body does not (a driver's
          // options that have no members yet) is named `_options`.
          argsIgnorePattern: '^_',
        },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
);
