// End-to-end tests in Debian's Chromium (no browser download): one project hydrated, one with
// JavaScript disabled for the server-rendered path. The server is started here and awaited.
import { defineConfig } from '@playwright/test';

const port = process.env.E2E_PORT ?? '3100';
const db = process.env.E2E_DB;
if (!db) throw new Error('E2E_DB is not set: run the end-to-end tests with `make e2e`');

const chromium = {
  browserName: 'chromium',
  launchOptions: {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  },
};

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: { baseURL: `http://127.0.0.1:${port}`, trace: 'off', actionTimeout: 15_000 },
  webServer: {
    command: `../target/debug/pairwise --database-url "${db}" serve --addr 127.0.0.1:${port} --site-root ../target/site`,
    url: `http://127.0.0.1:${port}/health`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
  projects: [
    { name: 'hydrated', use: { ...chromium }, testIgnore: /ssr-only/ },
    // Runs after the hydrated project, whose admin test imports the prompts it pages through.
    { name: 'ssr-only', use: { ...chromium, javaScriptEnabled: false }, testMatch: /ssr-only/, dependencies: ['hydrated'] },
  ],
});
