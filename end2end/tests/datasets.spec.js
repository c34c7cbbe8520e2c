// A reviewer freezes a dataset version in the browser, compares it, and downloads an export.
import { test, expect } from '@playwright/test';
import { admin, login, waitForHydration } from './helpers.js';

test('freeze a version, compare and download it', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/hh/datasets');
  await expect(page.getByTestId('pair-count')).toHaveText('2312 pairs in the project');
  await waitForHydration(page);
  await page.getByLabel('Tag').fill('v1');
  await page.getByTestId('freeze').click();
  await expect(page.getByTestId('frozen')).toHaveText('Froze v1 with 2312 pairs.');
  await expect(page.getByTestId('versions')).toContainText('v1');

  // The same tag again is refused: a frozen version never changes.
  await page.getByLabel('Tag').fill('v1');
  await page.getByTestId('freeze').click();
  await expect(page.getByRole('alert')).toContainText('already exists');

  await page.getByTestId('diff').click();
  await expect(page.getByTestId('diff-result')).toContainText('+0 added, −0 removed, 2312 unchanged');
  await expect(page.getByTestId('diff-stats')).toContainText('strategy: imported');
  await expect(page.getByTestId('diff-stats')).toContainText('share where chosen is longer');

  // The pair browser pages on the server and searches prompts.
  await expect(page.getByTestId('pair-summary')).toHaveText('1–25 of 2312');
  await page.getByTestId('next-pairs').click();
  await expect(page.getByTestId('pair-summary')).toHaveText('26–50 of 2312');
  await page.getByLabel('Prompt contains').fill('pranks with a pen');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('pair-summary')).toHaveText(/^1–\d+ of \d+$/);
  await expect(page.getByTestId('pairs')).toContainText('turns');
  await page.getByLabel('Prompt contains').fill('');
  await page.getByLabel('Chosen is').selectOption('longer');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('pair-summary')).toHaveText('1–25 of 1025');

  const href = await page.getByRole('link', { name: 'hh-rlhf', exact: true }).getAttribute('href');
  const response = await page.request.get(href);
  expect(response.status()).toBe(200);
  const lines = (await response.text()).trim().split('\n');
  expect(lines.length).toBe(2312);
  expect(JSON.parse(lines[0]).chosen.startsWith('\n\nHuman: ')).toBe(true);

  // The version page: provenance and the quality report with its charts.
  await page.getByTestId('versions').getByRole('link', { name: 'v1', exact: true }).click();
  await expect(page.getByTestId('version-pairs')).toHaveText('2312');
  await expect(page.getByTestId('length-characters')).toContainText('chosen is longer in 44.3%');
  await expect(page.getByTestId('histogram-characters').locator('rect')).toHaveCount(20);
  await expect(page.getByTestId('templated')).toContainText('of 2312 chosen answers');
  await expect(page.getByTestId('contamination')).toContainText('splits: 0 of 0 prompts');

  // A version with an eval split, browsed by split: the two splits add up to the version.
  await page.getByRole('link', { name: 'Browse its pairs' }).click();
  await expect(page.getByTestId('pair-summary')).toHaveText('1–25 of 2312');
  await page.goto('/projects/hh/datasets');
  await waitForHydration(page);
  await page.getByLabel('Tag').fill('v2');
  await page.getByLabel('Eval share').fill('0.2');
  await page.getByTestId('freeze').click();
  await expect(page.getByTestId('frozen')).toHaveText('Froze v2 with 2312 pairs.');
  const total = async (split) => {
    await page.goto(`/projects/hh/datasets?version=v2&split=${split}`);
    await expect(page.getByTestId('browse-split')).toHaveValue(split);
    const text = await page.getByTestId('pair-summary').textContent();
    return Number(text.match(/of (\d+)$/)[1]);
  };
  const evalPairs = await total('eval');
  const trainPairs = await total('train');
  expect(evalPairs + trainPairs).toBe(2312);
  expect(evalPairs).toBeGreaterThan(300);
  expect(evalPairs).toBeLessThan(620);
});

// Curation in the freeze form: a length balance of 0.5 ± 0.05 over HH-RLHF (chosen longer in
// 44.3%) drops the fewest pairs of the over-represented side, and the version page shows the
// selection before and after side by side with what the rule dropped.
test('freeze with a length balance and see the curation before and after', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/hh/datasets');
  await waitForHydration(page);
  await page.getByLabel('Tag').fill('balanced');
  await page.getByTestId('curation-fields').locator('summary').click();
  await page.getByLabel('Chosen longer share').fill('0.5');
  await page.getByLabel('± tolerance').fill('0.05');
  await page.getByTestId('freeze').click();
  await expect(page.getByTestId('frozen')).toHaveText('Froze balanced with 2277 pairs.');

  // A cap given as a non-number is refused by field before anything is frozen.
  await page.getByLabel('Tag').fill('bad-gap');
  await page.getByLabel('Max length gap (chars)').fill('-3');
  await page.getByTestId('freeze').click();
  await expect(page.getByRole('alert')).toContainText('max_length_gap');

  await page.goto('/projects/hh/datasets/balanced');
  await expect(page.getByTestId('version-pairs')).toHaveText('2277');
  await expect(page.getByTestId('curation-dropped')).toContainText('Dropped 35: length balance');
  await expect(page.getByTestId('curation-before')).toContainText('Before: 2312 pairs');
  await expect(page.getByTestId('curation-before')).toContainText('chosen is longer in 44.3%');
  await expect(page.getByTestId('curation-after')).toContainText('After: 2277 pairs');
  await expect(page.getByTestId('curation-after')).toContainText('chosen is longer in 45.0%');
  await expect(page.getByTestId('curation-after').locator('svg rect')).toHaveCount(20);
  await expect(page.getByTestId('quality-report').getByTestId('length-characters')).toContainText('chosen is longer in 45.0%');
});
