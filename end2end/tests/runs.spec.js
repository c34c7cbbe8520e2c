// The pipeline in the browser: register a model, version a rubric (v1 → v2, diff), start a
// generation run and watch its progress reach 100% live, then a pairwise judge run whose
// inconsistency rate and both orders are shown.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { admin, login, waitForHydration } from './helpers.js';

const tiny = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/tiny');

test('rubric versions, a live generation run and a pairwise judge run', async ({ page }) => {
  test.setTimeout(180_000);
  await login(page, admin);

  await page.goto('/models');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('tiny');
  await page.getByLabel('Directory on the server').fill(tiny);
  await page.getByTestId('register-model').click();
  await expect(page.getByTestId('models')).toContainText('tiny');

  await page.goto('/rubrics');
  await waitForHydration(page);
  await expect(page.getByTestId('rubrics')).toContainText('default@1');
  await page.getByTestId('rubric-name').fill('e2e-3h');
  await page.getByTestId('save-rubric').click();
  await expect(page.getByTestId('rubric-saved')).toHaveText('Saved e2e-3h@1.');
  await page.getByTestId('rubric-base').selectOption('e2e-3h@1');
  await expect(page.getByTestId('rubric-name')).toHaveValue('e2e-3h');
  const spec = await page.getByTestId('rubric-spec').inputValue();
  await page.getByTestId('rubric-spec').fill(spec.replace('"weight": 1.0', '"weight": 2.0'));
  await page.getByTestId('save-rubric').click();
  await expect(page.getByTestId('rubric-saved')).toHaveText('Saved e2e-3h@2.');
  await expect(page.getByTestId('rubrics')).toContainText('e2e-3h@1');
  await expect(page.getByTestId('rubrics')).toContainText('e2e-3h@2');
  await page.getByTestId('diff-a').selectOption('e2e-3h@1');
  await page.getByTestId('diff-b').selectOption('e2e-3h@2');
  await page.getByTestId('rubric-diff').click();
  await expect(page.getByTestId('rubric-diff-result')).toContainText('dimension helpful');
  await expect(page.getByTestId('rubric-diff-result')).toContainText('weight 2');

  // A generation run on 5 prompts; the page is never reloaded: progress arrives as events.
  // The runs page keeps an event stream open (no network idle): wait for its first event.
  await page.goto('/runs');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await page.getByTestId('gen-project').selectOption('gen');
  await page.getByTestId('gen-model').selectOption('tiny');
  await page.getByLabel('Candidates per prompt').fill('4');
  await page.getByLabel('Max new tokens').fill('24');
  await page.getByTestId('gen-limit').fill('5');
  // Presets are editable; a temperature above 1.3 is refused unless confirmed.
  await page.getByText('Decoding presets per path').click();
  const presets = await page.getByTestId('gen-presets').inputValue();
  await page.getByTestId('gen-presets').fill(presets.replace('"temperature": 1.1', '"temperature": 1.5'));
  await page.getByTestId('start-generation').click();
  await expect(page.getByRole('alert')).toContainText('diverse.temperature');
  await page.getByTestId('gen-presets').fill(presets);
  await page.getByTestId('start-generation').click();
  const generation = page.locator('tr[data-kind="generate"]').first();
  await expect(generation.getByTestId('run-progress')).toHaveText('5/5 (100%)', { timeout: 90_000 });
  await expect(generation).toHaveAttribute('data-status', 'done');
  await expect(generation.getByTestId('run-results')).toContainText('20 candidates');
  await expect(generation.locator('progress')).toHaveAttribute('value', '5');
  // No seed was given: a random, non-zero one is drawn and shown on the run.
  await expect(generation.getByTestId('run-seed')).toHaveText(/^seed [1-9][0-9]*$/);

  await page.getByTestId('judge-project').selectOption('gen');
  await page.getByTestId('judge-model').selectOption('tiny');
  await page.getByTestId('judge-rubric').selectOption('e2e-3h@2');
  await page.getByTestId('judge-mode').selectOption('pairwise');
  await page.getByTestId('start-judge').click();
  const judge = page.locator('tr[data-kind="judge"]').first();
  await expect(judge).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  await expect(judge.getByTestId('run-results')).toContainText(/position inconsistency \d+%/);
  await expect(judge.getByTestId('run-results')).toContainText('self-consistency');

  // Both orders of every comparison in the candidate browser, labelled with the rubric version.
  await judge.getByRole('link', { name: 'gen' }).click();
  const first = page.getByTestId('prompt-candidates').first();
  await expect(first.locator('article.candidate')).toHaveCount(4);
  await expect(first.getByTestId('pairwise')).toContainText('e2e-3h@2): A/B →');
  await expect(first.getByTestId('pairwise')).toContainText('B/A →');

  // The rubric version a judgment used is shown as locked.
  await page.goto('/rubrics');
  await expect(page.getByTestId('rubrics').locator('tr', { hasText: 'e2e-3h@2' })).toContainText('locked');

  // The audit log names who started the runs, filtered by action.
  await page.goto('/audit?action=run.');
  const entries = page.getByTestId('audit');
  await expect(entries.locator('tr[data-action="run.generate"]').first()).toContainText('e2e-admin');
  await expect(entries.locator('tr[data-action="run.judge"]').first()).toContainText('e2e-admin');
  await expect(entries.locator('tr[data-action="rubric.save"]')).toHaveCount(0);
});

// The demo model (SmolLM2-135M, converted by `make setup`): a generation run over demo prompts
// and a probability-weighted judge run, both started and watched in the browser, and ranked pairs
// built from the judge run with a live preview; the leaderboard of the project's generators and
// paths with bootstrap intervals (screenshots under end2end/test-results/).
test('the demo model generates and judges from the browser', async ({ page }) => {
  test.setTimeout(240_000);
  await login(page, admin);
  await page.goto('/runs');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await page.getByTestId('gen-project').selectOption('gen');
  await page.getByTestId('gen-model').selectOption('smollm2');
  await page.getByLabel('Candidates per prompt').fill('3');
  await page.getByLabel('Max new tokens').fill('16');
  await page.getByTestId('gen-limit').fill('2');
  await page.getByTestId('start-generation').click();
  // Rows of this project only: the demo arena's runs (seeded by `pairwise demo`) are listed too.
  const inGen = { has: page.getByRole('link', { name: 'gen', exact: true }) };
  const generation = page.locator('tr[data-kind="generate"]').filter(inGen).first();
  await expect(generation.getByTestId('run-progress')).toHaveText('2/2 (100%)', { timeout: 180_000 });
  await expect(generation).toHaveAttribute('data-status', 'done');
  await expect(generation.getByTestId('run-results')).toContainText('6 candidates');

  await page.getByTestId('judge-project').selectOption('gen');
  await page.getByTestId('judge-model').selectOption('smollm2');
  await page.getByTestId('judge-rubric').selectOption('default@1');
  await page.getByTestId('judge-mode').selectOption('prob');
  await page.getByTestId('start-judge').click();
  // The earlier test's judge run is pairwise; this one is the row marked prob.
  const judge = page.locator('tr[data-kind="judge"]').filter(inGen).filter({ hasText: 'prob' }).first();
  await expect(judge).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  await expect(judge.getByTestId('run-results')).toContainText('parse failures 0%');

  // Pairs from the finished judge run: every change of the form previews what a build would
  // make, and nothing is stored until "Build pairs". The ranked strategy ranks each prompt's
  // candidates by Bradley–Terry over their scores (the run judged every finished generation
  // run's candidates, the first test's too).
  const judgeId = (await judge.getAttribute('data-testid')).replace('run-', '');
  await page.getByTestId('pairs-run').selectOption(judgeId);
  await page.getByTestId('pairs-strategy').selectOption('ranked');
  const preview = page.getByTestId('pairs-preview');
  await expect(preview).toContainText(/Would make [1-5] pairs: [1-5] new, 0 already stored/);
  await expect(preview).toContainText(/ranked from [1-9]\d* score comparisons, 0 judge orders, 0 human votes/);
  await page.getByTestId('pairs-pick').selectOption('adjacent');
  await expect(preview).toContainText(/Would make ([2-9]|[1-9]\d) pairs/);
  await page.getByTestId('pairs-min-margin').fill('lots');
  await expect(page.getByRole('alert')).toContainText('min_margin:');
  await page.getByTestId('pairs-min-margin').fill('');
  await page.getByTestId('build-pairs').click();
  await expect(page.getByTestId('pairs-built')).toContainText(/Built (\d+) pairs: \1 new, 0 already stored/);
  // The preview asks again after the build: every pair is stored now.
  await expect(preview).toContainText(/Would make (\d+) pairs: 0 new, \1 already stored/);

  // The leaderboard: the two generators of the project (the first test's tiny model, the demo
  // model) ranked by Bradley–Terry over the prob run's comparisons, each with its 95% interval.
  await page.goto('/projects/gen/leaderboard');
  await waitForHydration(page);
  const board = page.getByTestId('board-judge');
  await expect(board.getByTestId('board-entry')).toHaveCount(2);
  await expect(board).toContainText('tiny@');
  await expect(board).toContainText('smollm2@');
  await expect(page.getByRole('heading', { name: /Judge \(default@1, [1-9]\d* comparisons\)/ })).toBeVisible();
  await expect(page.getByTestId('board-human')).toContainText('No comparisons');
  await page.screenshot({ path: test.info().outputPath('leaderboard-by-generator.png'), fullPage: true });
  await page.getByRole('link', { name: 'by path' }).click();
  await expect(page.getByTestId('board-judge').getByTestId('board-entry')).toHaveCount(3);
  await page.screenshot({ path: test.info().outputPath('leaderboard-by-path.png'), fullPage: true });
});

// The demo as `make run` seeds it (`pairwise demo`): the demo-arena project's generation and
// judge runs are real, so its leaderboard ranks the two demo generator versions and the three
// decoding paths, each with a bootstrap 95% interval (screenshots under end2end/test-results/).
test('the demo arena has a leaderboard with intervals', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/demo-arena/leaderboard');
  await waitForHydration(page);
  const board = page.getByTestId('board-judge');
  await expect(board.getByTestId('board-entry')).toHaveCount(2);
  await expect(board).toContainText('smollm2-135m@');
  await expect(board).toContainText('tiny-random@');
  await expect(board.locator('line.interval')).toHaveCount(2);
  await expect(page.getByRole('heading', { name: /Judge \(default@1, [1-9]\d* comparisons\)/ })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('demo-leaderboard-by-generator.png'), fullPage: true });
  await page.getByRole('link', { name: 'by path' }).click();
  await expect(page.getByTestId('board-judge').getByTestId('board-entry')).toHaveCount(3);
  await page.screenshot({ path: test.info().outputPath('demo-leaderboard-by-path.png'), fullPage: true });
});

test('the demo judge run was also measured against gold, shown on /calibration', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/demo-arena/calibration');
  await waitForHydration(page);
  const table = page.getByTestId('gold-drift');
  const runs = table.getByTestId('gold-drift-run');
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toContainText('default@1');
  await expect(runs.first()).toContainText('prob');
  // The judge by its registered name (and its version).
  await expect(runs.first()).toContainText('smollm2-135m-q4 (');
  // 12 HH-RLHF gold items, every one read (probability-weighted scores always are).
  await expect(runs.first().locator('td').nth(5)).toHaveText('12');
  await expect(runs.first().getByTestId('judge-gold-accuracy')).toHaveText(/^\d+\.\d%$/);
  await expect(table.getByTestId('gold-drift-humans')).toContainText('Annotators');
  const chart = page.getByTestId('gold-drift-chart');
  await expect(chart.locator('g.series circle')).toHaveCount(1);
  await chart.scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('judge-drift.png'), fullPage: true });
  // The run's summary carries the same measurement on /runs.
  await page.goto('/runs');
  await waitForHydration(page);
  await expect(page.getByText(/gold accuracy \d+\.\d% of 12/)).toBeVisible();
});
