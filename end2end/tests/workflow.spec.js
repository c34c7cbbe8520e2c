// The whole workflow in the browser, no command line: a new project, HH-RLHF pairs uploaded
// through the page (gzip, with its progress), the annotation queue filled and two annotators
// voting blind, human pairs built, a version frozen with a length-balance rule, and its TRL
// JSONL downloaded. A broken upload names its line and stores nothing; a gold set is uploaded
// on /calibration.
import { test, expect } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { admin, annotators, login, waitForHydration, watchConsole } from './helpers.js';

const hh = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/hh-rlhf/harmless-base-test.jsonl.gz');

// An annotator votes on every item of `project`, always for the shorter answer.
async function voteShorter(browser, user, project) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await login(page, user);
  await page.goto(`/annotate/${project}`);
  await expect(page.getByTestId('annotate')).toBeVisible();
  await waitForHydration(page);
  let votes = 0;
  for (let i = 0; i < 20; i++) {
    if (await page.getByTestId('queue-empty').isVisible()) break;
    const a = await page.getByTestId('answer-a').locator('pre').innerText();
    const b = await page.getByTestId('answer-b').locator('pre').innerText();
    const done = Number(await page.getByTestId('done').innerText());
    await page.keyboard.press(a.length <= b.length ? '1' : '2');
    await expect(page.getByTestId('done')).toHaveText(String(done + 1));
    votes += 1;
  }
  await expect(page.getByTestId('queue-empty')).toBeVisible();
  expect(problems).toEqual([]);
  await context.close();
  return votes;
}

test('from an empty project to a downloaded TRL file, all in the browser', async ({ browser, page }) => {
  test.setTimeout(180_000);
  const problems = watchConsole(page);
  await login(page, admin);

  // A new project and its two annotators.
  await page.goto('/projects');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('walk');
  await page.getByTestId('create-project').click();
  await expect(page.getByTestId('projects')).toContainText('walk');
  await page.goto('/projects/walk/members');
  await waitForHydration(page);
  for (const a of annotators.slice(0, 2)) {
    await page.getByTestId('member-username').fill(a.name);
    await page.getByTestId('member-role').selectOption('annotator');
    await page.getByTestId('add-member').click();
    await expect(page.getByTestId('members')).toContainText(a.name);
  }

  // Pairs from a file: a broken line stores nothing and is named; the real file (gzip) goes in.
  await page.goto('/projects/walk/datasets');
  await waitForHydration(page);
  const broken = test.info().outputPath('broken.jsonl');
  fs.writeFileSync(broken, '{"prompt": "q", "chosen": "a", "rejected": "b"}\n{"prompt": "q2", "chosen": 7, "rejected": "b"}\n');
  await page.getByTestId('pairs-import').locator('summary').click();
  await page.getByTestId('pairs-format').selectOption('trl');
  await page.getByTestId('pairs-file').setInputFiles(broken);
  await page.getByTestId('pairs-submit').click();
  await expect(page.getByTestId('pairs-import-error')).toContainText('line 2');
  await expect(page.getByTestId('pairs-import-error')).toContainText('chosen');
  await expect(page.getByTestId('pair-count')).toHaveText('0 pairs in the project');
  await waitForHydration(page);
  await page.getByTestId('pairs-import').locator('summary').click();
  await page.getByTestId('pairs-format').selectOption('hh-rlhf');
  await page.getByTestId('pairs-file').setInputFiles(hh);
  await page.getByTestId('pairs-submit').click();
  await expect(page.getByTestId('pairs-import-ok')).toHaveText('Imported 2312 new pairs from 2312 rows (0 already stored).', { timeout: 60_000 });
  await expect(page.getByTestId('pair-count')).toHaveText('2312 pairs in the project');

  // The queue: two annotators per item, no repeats or gold, six pairs.
  await page.goto('/projects/walk/calibration');
  await waitForHydration(page);
  await page.locator('summary', { hasText: 'Queue settings' }).click();
  await page.getByLabel('Annotators per item (k)').fill('2');
  await page.getByLabel('Swapped repeats').fill('0');
  await page.getByLabel('Gold rate').fill('0');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByLabel('Annotators per item (k)')).toHaveValue('2');
  await page.getByTestId('fill-limit').fill('6');
  await page.getByTestId('fill-queue').click();
  await expect(page.getByTestId('fill-result')).toContainText('and 6 from pairs');

  // Two annotators vote blind, both for the shorter answer: every item is decided.
  for (const a of annotators.slice(0, 2)) expect(await voteShorter(browser, a, 'walk')).toBe(6);

  await page.goto('/projects/walk/calibration');
  await waitForHydration(page);
  await page.getByTestId('build-human').click();
  await expect(page.getByTestId('human-result')).toContainText('Decided 6 items:');
  const built = (await page.getByTestId('human-result').textContent()).match(/(\d+) new pairs, (\d+) already stored/);
  expect(Number(built[1]) + Number(built[2])).toBe(6);

  // Freeze with the length-balance rule, then download the TRL file.
  await page.goto('/projects/walk/datasets');
  await waitForHydration(page);
  await page.getByLabel('Tag').fill('v1');
  await page.getByTestId('curation-fields').locator('summary').click();
  await page.getByLabel('Chosen longer share').fill('0.5');
  await page.getByLabel('± tolerance').fill('0.05');
  await page.getByTestId('freeze').click();
  await expect(page.getByTestId('frozen')).toHaveText(/^Froze v1 with \d+ pairs\.$/);
  const kept = Number((await page.getByTestId('frozen').textContent()).match(/with (\d+) pairs/)[1]);
  expect(kept).toBeGreaterThan(1900);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('versions').getByRole('link', { name: 'trl', exact: true }).click(),
  ]);
  const file = await download.path();
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(rows.length).toBe(kept);
  for (const r of rows) {
    expect(typeof r.prompt).toBe('string');
    expect(typeof r.chosen).toBe('string');
    expect(typeof r.rejected).toBe('string');
  }
  const longer = rows.filter((r) => r.chosen.length > r.rejected.length).length / rows.length;
  expect(longer).toBeGreaterThanOrEqual(0.45);
  expect(longer).toBeLessThanOrEqual(0.55);

  // A gold set from a file on /calibration.
  const gold = test.info().outputPath('gold.jsonl');
  fs.writeFileSync(gold, '{"prompt": "Is water wet?", "chosen": "It makes things wet.", "rejected": "No."}\n{"prompt": "2+2?", "chosen": "4", "rejected": "5"}\n');
  await page.goto('/projects/walk/calibration');
  await waitForHydration(page);
  await page.getByTestId('gold-import').locator('summary').click();
  await page.getByTestId('gold-file').setInputFiles(gold);
  await page.getByTestId('gold-submit').click();
  await expect(page.getByTestId('gold-import-ok')).toHaveText('Imported 2 new gold items from 2 rows (0 already stored).');
  expect(problems).toEqual([]);
});
