// Constitutional AI in the browser: the demo's critique → revision loop over 10 red-team
// prompts (seeded by `pairwise demo`) with every critique, revision and the pairs' provenance;
// constitution versions (save, lock by use, diff); and a loop started from the runs page on the
// new version.
import { test, expect } from '@playwright/test';
import { admin, login, waitForHydration } from './helpers.js';

test('the demo loop shows every critique, revision and pair with its provenance', async ({ page }) => {
  await login(page, admin);
  await page.goto('/runs');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  const run = page.locator('tr[data-kind="critique"][data-status="done"]').last();
  await expect(run.getByTestId('run-results')).toContainText(/\d+ pairs/);
  await run.getByTestId('run-loops').click();
  await expect(page).toHaveURL(/\/runs\/\d+\/critiques$/);
  await waitForHydration(page);
  await expect(page.getByTestId('loop-run')).toContainText('constitution default@1');
  await expect(page.getByTestId('loop-run')).toContainText('critic smollm2-135m-q4');
  await expect(page.getByTestId('loop-summary')).toContainText('10 prompts');
  const loops = page.getByTestId('loop');
  await expect(loops).toHaveCount(10);
  // A loop that made a pair: its original (rejected), each round's critique and revision, and
  // the final answer (chosen), with the models, parameters and seeds.
  const paired = page.locator('[data-testid="loop"]:has([data-testid="loop-pair"])').first();
  await expect(paired).toBeVisible();
  await paired.locator('summary').first().click();
  await expect(paired.getByTestId('loop-step').first()).toContainText('Round 1: critique against');
  await expect(paired.getByTestId('loop-original')).toBeVisible();
  await expect(paired.getByTestId('loop-final')).toBeVisible();
  await paired.getByText('Provenance').click();
  const provenance = paired.getByTestId('loop-provenance');
  for (const key of ['"generator"', '"critic"', '"reviser"', '"principle"', '"constitution": "default@1"', '"temperature": 0.3', '"answer_seed"']) {
    await expect(provenance).toContainText(key);
  }
  await page.screenshot({ path: test.info().outputPath('critique-loops.png'), fullPage: true });
});

test('constitution versions: locked by use, saved, diffed, and a loop on the new version', async ({ page }) => {
  test.setTimeout(180_000);
  await login(page, admin);
  await page.goto('/constitutions');
  await waitForHydration(page);
  const table = page.getByTestId('constitutions');
  await expect(table.getByTestId('constitution-default@1')).toContainText('locked');
  await expect(table.getByTestId('constitution-default@1')).toContainText('constructive-refusal');
  await page.getByTestId('constitution-name').fill('e2e-principles');
  const spec = await page.getByTestId('constitution-spec').inputValue();
  // A bad spec is refused with the principle and field named; nothing is saved.
  await page.getByTestId('constitution-spec').fill(spec.replace('"revision": "Rewrite the response so that it is helpful, honest and harmless."', '"revision": ""'));
  await page.getByTestId('save-constitution').click();
  await expect(page.getByRole('alert')).toContainText('principles[0].revision');
  await page.getByTestId('constitution-spec').fill(spec.replace('Rewrite the response so that it is helpful, honest and harmless.', 'Rewrite the response to be kind, truthful and safe.'));
  await page.getByTestId('save-constitution').click();
  await expect(page.getByTestId('constitution-saved')).toHaveText('Saved e2e-principles@1.');
  await expect(table.getByTestId('constitution-e2e-principles@1')).not.toContainText('locked');
  await page.getByTestId('diff-a').selectOption('default@1');
  await page.getByTestId('diff-b').selectOption('e2e-principles@1');
  await page.getByTestId('constitution-diff').click();
  const diff = page.getByTestId('constitution-diff-result');
  await expect(diff).toContainText('principle helpful-honest-harmless: revision');
  await expect(diff).toContainText('kind, truthful and safe');

  // A loop on the new version from the runs page: two XSTest prompts, one round.
  await page.goto('/runs');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await page.getByText('Critique → revision loop (Constitutional AI)').click();
  await page.getByTestId('loop-project').selectOption('gen');
  await page.getByTestId('loop-generator').selectOption('smollm2');
  await page.getByTestId('loop-critic').selectOption('smollm2-135m-q4');
  await page.getByTestId('loop-constitution').selectOption('e2e-principles@1');
  await page.getByTestId('loop-rounds').fill('1');
  await page.getByTestId('loop-split').selectOption('all');
  await page.getByTestId('loop-limit').fill('2');
  await page.getByTestId('loop-max-new-tokens').fill('8');
  await page.getByTestId('start-critique').click();
  const run = page.locator('tr[data-kind="critique"]').first();
  await expect(run.getByTestId('run-progress')).toHaveText('2/2 (100%)', { timeout: 120_000 });
  await expect(run).toHaveAttribute('data-status', 'done');
  await run.getByTestId('run-loops').click();
  await waitForHydration(page);
  await expect(page.getByTestId('loop')).toHaveCount(2);
  await expect(page.getByTestId('loop-run')).toContainText('constitution e2e-principles@1');
  await page.goto('/constitutions');
  await waitForHydration(page);
  await expect(page.getByTestId('constitutions').getByTestId('constitution-e2e-principles@1')).toContainText('locked');
});
