/**
 * The batch steps in pipeline order. `trending` runs before `load` so the immutable bundle is
 * written with its trending lists (see trending.ts).
 */
import type { BatchStep, StepName } from './context.ts';
import { csvToDeltaStep } from './csv-to-delta.ts';
import { evaluateStep } from './evaluate.ts';
import { loadStep } from './load.ts';
import { preprocessStep } from './preprocess.ts';
import { refitStep } from './refit.ts';
import { trainAlsStep } from './train-als.ts';
import { trendingStep } from './trending.ts';

export const STEPS: Readonly<Record<StepName, BatchStep>> = {
  'csv-to-delta': csvToDeltaStep,
  preprocess: preprocessStep,
  'train-als': trainAlsStep,
  evaluate: evaluateStep,
  refit: refitStep,
  trending: trendingStep,
  load: loadStep,
};
