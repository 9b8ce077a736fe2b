import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__FORECOURT_TEST_CLUSTER__;
  await state?.cluster?.stop();
  if (state?.directory) rmSync(state.directory, { recursive: true, force: true });
}
