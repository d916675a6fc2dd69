import { join } from 'node:path';
import { it } from 'vitest';
import { REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { checkGeneratedRegions } from '../../../tools/test-support/generated-regions.js';
import { weightsTable } from '../../../tools/weights/table.mjs';
import { listWeights } from '../src/index.js';

// The weights table of the README is generated from the registry, never typed; regenerate with
//   UPDATE_DOCS=1 pnpm --filter @resnet/zoo exec vitest run test/readme.test.ts
it('packages/zoo/README.md shows the registry’s weights', () => {
  checkGeneratedRegions(join(REPO_ROOT, 'packages/zoo/README.md'), {
    'weights-table': weightsTable(listWeights()).join('\n'),
  });
});
