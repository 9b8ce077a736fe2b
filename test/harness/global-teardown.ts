export default async function globalTeardown(): Promise<void> {
  await globalThis.__FORECOURT_TEST_CLUSTER__?.cluster?.stop();
}
