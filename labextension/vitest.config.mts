import { defineConfig } from 'vitest/config';

// No-DOM unit tests beside the sources; the browser side is covered by tests/e2e (Playwright).
export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts'],
    environment: 'node'
  }
});
