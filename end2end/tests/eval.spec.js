// Safety evaluation in the browser: the demo's two evaluated models as points of the Pareto plot
// (harmlessness against 1 − over-refusal, or against the judge's helpfulness), the frontier
// highlighted, the table of figures, and an evaluation started from the page.
import { test, expect } from '@playwright/test';
import { admin, login, waitForHydration } from './helpers.js';

test('/eval plots the evaluated models with the Pareto frontier', async ({ page }) => {
  test.setTimeout(180_000);
  await login(page, admin);
  await page.goto('/eval');
  await waitForHydration(page);
  const rows = page.getByTestId('eval-row');
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('evals')).toContainText('smollm2-135m@');
  await expect(page.getByTestId('evals')).toContainText('tiny-random@');
  await expect(rows.first().getByTestId('eval-harmlessness')).toHaveText(/^\d+\.\d%$/);
  const plot = page.getByTestId('pareto');
  await expect(plot.getByTestId('pareto-point')).toHaveCount(2);
  // At least one point is on the frontier, drawn larger and in the frontier colour.
  await expect(plot.locator('[data-testid="pareto-point"][data-frontier="true"]').first()).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('pareto-compliance.png'), fullPage: true });
  // The judge scored the benign answers: the helpfulness axis is offered and plots both.
  await page.getByTestId('pareto-axis').selectOption('helpfulness');
  await expect(plot.getByTestId('pareto-point')).toHaveCount(2);
  await expect(plot).toContainText('helpfulness');
  await page.screenshot({ path: test.info().outputPath('pareto-helpfulness.png'), fullPage: true });

  // A third evaluation from the page: it runs on /runs and becomes a third point.
  await page.getByText('Evaluate a model').click();
  await page.getByTestId('eval-project').selectOption('demo');
  await page.getByTestId('eval-model').selectOption('smollm2-135m-q4');
  await page.getByTestId('eval-limit').fill('3');
  await page.getByTestId('eval-max-new-tokens').fill('8');
  await page.getByTestId('start-eval').click();
  await expect(page.getByTestId('eval-started')).toContainText('queued');
  await page.goto('/runs');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  const run = page.locator('tr[data-kind="eval"]').first();
  await expect(run.getByTestId('run-progress')).toHaveText('6/6 (100%)', { timeout: 120_000 });
  await expect(run).toHaveAttribute('data-status', 'done');
  await page.goto('/eval');
  await waitForHydration(page);
  await expect(page.getByTestId('eval-row')).toHaveCount(3);
  await expect(page.getByTestId('pareto').getByTestId('pareto-point')).toHaveCount(3);
});

test('/eval shows the refusal classifier against human labels', async ({ page }) => {
  await login(page, admin);
  await page.goto('/eval');
  await waitForHydration(page);
  const checks = page.getByTestId('refusal-checks');
  // The rules on both XSTest completion files, and the rules with the 4-bit judge on 40 answers.
  await expect(checks.locator('[data-classifier="rules"]')).toHaveCount(3);
  await expect(checks.locator('[data-classifier="judge"]')).toHaveCount(1);
  await expect(checks).toContainText('xstest_v2_completions_gpt4.csv');
  await expect(checks).toContainText('xstest_v2_completions_mistralinstruct.csv');
  await expect(checks.locator('[data-classifier="judge"]')).toContainText('rules + judge smollm2-135m-q4@');
  await expect(checks.getByTestId('check-accuracy').first()).toHaveText(/^\d+\.\d%$/);
  await expect(checks.getByTestId('check-kappa').first()).toHaveText(/^-?\d\.\d{3}$/);
  await page.screenshot({ path: test.info().outputPath('refusal-checks.png'), fullPage: true });
});
