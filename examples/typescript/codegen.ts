// GraphQL Code Generator: types for the documents in src/graphql/, checked against the
// facade's schema. `npm run codegen` writes src/gql/ (generated, not committed), so a schema
// change that breaks one of these documents fails codegen, and one that changes a type this
// client relies on fails `tsc`.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/graphql/**/*.graphql'],
  // No documents is a mistake here, not something to skip quietly.
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // Fragment data is reached through getFragmentData(): a caller sees only the fields
        // its own fragment selects.
        fragmentMasking: { unmaskFunctionName: 'getFragmentData' },
      },
      config: {
        // The schema's custom scalars travel as JSON strings. strictScalars makes codegen
        // fail on a new scalar nobody has mapped, instead of typing it `any`.
        scalars: {
          Date: { input: 'string', output: 'string' },
          DateTime: { input: 'string', output: 'string' },
        },
        strictScalars: true,
        // Enums as string unions ('ACTIVE' | 'ARCHIVED'), so no runtime enum objects.
        enumType: 'string-literal',
        useTypeImports: true,
        // Node's ESM loader needs the extension on relative imports.
        importExtension: '.js',
      },
    },
  },
};

export default config;
