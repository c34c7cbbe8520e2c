// Domain builders in the browser: a reviewer uploads GSM8K problems on a project's prompts
// page, the build runs as a queued run with live progress on /runs, and its pairs are stored;
// a bad line is refused before anything is queued, naming the line and field.
import { test, expect } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { admin, login, waitForHydration } from './helpers.js';

const gsm8k = path.resolve(process.cwd(), '../../shared/data/gsm8k/test.jsonl');
const probes = path.resolve(process.cwd(), '../crates/pipeline/data/false_premise_probes.jsonl');

test('a math build is queued from the prompts page and stores its pairs', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await login(page, admin);
  await page.goto('/projects');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('math-build');
  await page.getByTestId('create-project').click();
  await expect(page.getByText('Project math-build created.')).toBeVisible();

  const lines = fs.readFileSync(gsm8k, 'utf8').split('\n').filter(Boolean);
  const bad = testInfo.outputPath('bad.jsonl');
  fs.writeFileSync(bad, `${lines[0]}\n{"question": "How many?"}\n`);
  await page.goto('/projects/math-build/prompts');
  await page.getByText('Build pairs (math, code, agents, guards)').click();
  await page.getByTestId('build-builder').selectOption('math');
  await page.getByTestId('build-file').setInputFiles(bad);
  await page.getByTestId('build-submit').click();
  await expect(page.getByTestId('build-error')).toContainText('line 2');
  await expect(page.getByTestId('build-error')).toContainText('answer');

  const good = testInfo.outputPath('gsm8k-20.jsonl');
  fs.writeFileSync(good, lines.slice(0, 20).join('\n') + '\n');
  await page.getByText('Build pairs (math, code, agents, guards)').click();
  await page.getByTestId('build-builder').selectOption('math');
  await page.getByTestId('build-file').setInputFiles(good);
  await page.getByTestId('build-submit').click();
  await expect(page).toHaveURL(/\/runs\?project=math-build/);
  const run = page.locator('tr[data-kind="build"]').first();
  await expect(run.getByTestId('run-progress')).toHaveText('20/20 (100%)', { timeout: 60_000 });
  await expect(run).toHaveAttribute('data-status', 'done');
  await expect(run.getByTestId('run-results')).toContainText('new stored');
  await expect(run.getByTestId('run-results')).toContainText('calculation_error_propagate');
});

test('a guard build of the false-premise probes stores every kind and the version counts them', async ({ page }) => {
  test.setTimeout(120_000);
  await login(page, admin);
  await page.goto('/projects');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('guard-build');
  await page.getByTestId('create-project').click();
  await expect(page.getByText('Project guard-build created.')).toBeVisible();
  await page.goto('/projects/guard-build/prompts');
  await page.getByText('Build pairs (math, code, agents, guards)').click();
  await page.getByTestId('build-builder').selectOption('guards');
  await page.getByTestId('build-file').setInputFiles(probes);
  await page.getByTestId('build-submit').click();
  await expect(page).toHaveURL(/\/runs\?project=guard-build/);
  const run = page.locator('tr[data-kind="build"]').first();
  await expect(run.getByTestId('run-progress')).toHaveText('20/20 (100%)', { timeout: 60_000 });
  await expect(run).toHaveAttribute('data-status', 'done');
  await expect(run.getByTestId('run-results')).toContainText('100 pairs, 100 new stored');
  await expect(run.getByTestId('run-results')).toContainText('false_premise 20');

  await page.goto('/projects/guard-build/datasets');
  await waitForHydration(page);
  await page.getByLabel('Tag').fill('v1');
  await page.getByTestId('freeze').click();
  await expect(page.getByTestId('frozen')).toHaveText('Froze v1 with 100 pairs.');
  await page.goto('/projects/guard-build/datasets/v1');
  await waitForHydration(page);
  const guards = page.getByTestId('guards');
  await expect(guards.getByTestId('guard-row')).toHaveCount(5);
  for (const kind of ['padding', 'restating', 'hedging', 'empty_list', 'false_premise']) {
    // Each kind: 20 pairs, a fifth of the version, not checked by a judge yet.
    await expect(guards.getByRole('row', { name: `${kind} 20 20.0% not checked` })).toBeVisible();
  }
});
