import { vectorIndexConformance } from '../conformance/vector-index.ts';
import { EmbeddedVectorIndex } from './vector-index.ts';

vectorIndexConformance('embedded', async () => {
  const index = new EmbeddedVectorIndex();
  await index.start();
  return index;
});
