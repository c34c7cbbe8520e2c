// Iteration rounds and the judge's guard check in the browser: the demo's two rounds side by
// side (generators, evaluation figures, round 2's win rate against round 1 by the pairwise judge
// in both orders), a third round recorded from the page (a bad run id refused by field), a
// comparison started from the page that runs on /runs, and the guard pairs of a version with the
// judge's share preferring each original.
import { test, expect } from '@playwright/test';
import { admin, login, waitForHydration } from './helpers.js';

test('/rounds shows the rounds side by side and compares one with the previous', async ({ page }) => {
  test.setTimeout(180_000);
  await login(page, admin);
  await page.goto('/rounds?project=demo');
  await waitForHydration(page);
  const table = page.getByTestId('rounds');
  await expect(table.getByTestId('round-head')).toHaveCount(2);
  await expect(table.getByTestId('round-generator')).toContainText('tiny-random@');
  await expect(table.getByTestId('round-generator')).toContainText('smollm2-135m@');
  const harmless = table.getByTestId('round-harmlessness').locator('td');
  await expect(harmless.nth(0)).toHaveText(/^\d+\.\d%$/);
  await expect(harmless.nth(1)).toHaveText(/^\d+\.\d%$/);
  const win = table.getByTestId('round-win').locator('td');
  await expect(win.nth(0)).toContainText('first round');
  // Round 2 against round 1 on the 10 benign prompts both evaluations answered.
  await expect(win.nth(1)).toHaveText(/^\d+\.\d% \(\d+–\d+, \d+ split, of 10\)$/);
  await expect(table.getByTestId('round-consistency').locator('td').nth(1)).toHaveText(/^\d+\.\d%$/);
  await page.screenshot({ path: test.info().outputPath('rounds.png'), fullPage: true });

  // Record round 3: a bad evaluation run id is refused by field, then the round is saved.
  await page.getByText('Record the next round').click();
  await page.getByTestId('round-form-generator').selectOption('smollm2-135m-q4');
  await page.getByTestId('round-form-name').fill('judge as generator');
  await page.getByTestId('round-form-eval').fill('abc');
  await page.getByTestId('round-form-save').click();
  await expect(page.getByRole('alert')).toContainText('eval_run');
  await page.getByTestId('round-form-eval').fill('');
  await page.getByTestId('round-form-save').click();
  await expect(page.getByTestId('round-saved')).toHaveText('Round 3 recorded.');
  await expect(table.getByTestId('round-head')).toHaveCount(3);
  await expect(table.getByTestId('round-win').locator('td').nth(2)).toHaveText('not compared');

  // Compare round 2 with round 1 again from the page; the duel runs on /runs.
  await page.getByTestId('compare-round').selectOption('2');
  await page.getByTestId('compare-judge').selectOption('smollm2-135m-q4');
  await page.getByTestId('compare-start').click();
  await expect(page.getByTestId('compare-started')).toContainText('queued');
  await page.goto('/runs');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  const run = page.locator('tr[data-kind="duel"]').first();
  await expect(run.getByTestId('run-progress')).toHaveText('10/10 (100%)', { timeout: 120_000 });
  await expect(run).toHaveAttribute('data-status', 'done');
  await expect(run).toContainText('first answer wins');
});

test('a version report shows the judge check of its guard pairs', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/demo-guards/datasets/v1');
  await waitForHydration(page);
  const guards = page.getByTestId('guards');
  await expect(guards.getByTestId('guard-row')).toHaveCount(5);
  // The demo's check read the first 40 pairs: 8 of each kind.
  const checks = guards.getByTestId('guard-check');
  for (let i = 0; i < 5; i++) {
    await expect(checks.nth(i)).toHaveText(/^\d+\.\d% of 8$/);
  }
  await expect(guards.getByRole('row', { name: /false_premise/ })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('guard-check.png'), fullPage: true });
  await page.getByTestId('guard-check-judge').selectOption('smollm2-135m-q4');
  await page.getByTestId('guard-check-limit').fill('5');
  await page.getByTestId('guard-check-start').click();
  await expect(page.getByTestId('guard-check-started')).toContainText('queued');
});
