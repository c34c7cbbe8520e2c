// Blind A/B review by three annotators on 20 items (plus silent gold and swapped repeats), by
// keyboard only; then a reviewer reads /calibration and runs the κ gate. Everything the
// annotators' browsers received is checked for model, source, score and gold fields.
import { test, expect } from '@playwright/test';
import { admin, annotators, login, waitForHydration, watchConsole } from './helpers.js';

// Field names and values that must never reach an annotator (JSON keys with their quote).
const FORBIDDEN = ['"gold', 'gold_answer', '"reference', 'reference_label', 'harmless-base', 'answer_x', 'answer_y',
  '"pair_id', '"kind"', '"slot"', 'left_side', '"source"', '"score', '"margin', 'smollm2', '"label"', '"majority'];

// innerText of the prompt (its turns on separate lines), polled until it matches.
const promptText = (page) => page.getByTestId('prompt').innerText();

const itemKey = (s) => `${s.prompt}\u0000${[s.a, s.b].sort().join('\u0000')}`;

async function session(browser, user, policy, extra) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const received = [];
  page.on('response', async (r) => {
    if (['document', 'fetch', 'xhr'].includes(r.request().resourceType())) {
      try { received.push({ url: r.url(), body: await r.text() }); } catch { /* redirects have no body */ }
    }
  });
  await login(page, user);
  await page.goto('/annotate');
  await page.getByRole('link', { name: 'ann', exact: true }).click();
  await expect(page.getByTestId('annotate')).toBeVisible();
  await waitForHydration(page);
  if (extra) await extra(page);
  const showings = [];
  for (let i = 0; i < 80; i++) {
    if (await page.getByTestId('queue-empty').isVisible()) break;
    const s = {
      prompt: await page.getByTestId('prompt').innerText(),
      a: await page.getByTestId('answer-a').locator('pre').innerText(),
      b: await page.getByTestId('answer-b').locator('pre').innerText(),
    };
    showings.push(s);
    const done = Number(await page.getByTestId('done').innerText());
    await page.keyboard.press(policy(s, i));
    await expect(page.getByTestId('done')).toHaveText(String(done + 1));
  }
  await expect(page.getByTestId('queue-empty')).toBeVisible();
  expect(problems).toEqual([]);
  await context.close();
  return { showings, received };
}

test('three annotators review blind by keyboard; calibration shows agreement, gold and repeats', async ({ browser }) => {
  test.setTimeout(300_000);
  const longer = (s) => (s.a.length >= s.b.length ? '1' : '2');
  // The first annotator also checks undo, a rationale that survives a reload, and dimensions.
  const first = await session(browser, annotators[0], longer, async (page) => {
    const prompt = await page.getByTestId('prompt').innerText();
    await page.getByTestId('rationale').fill('the left one is kinder');
    await page.reload();
    await waitForHydration(page);
    await expect.poll(() => promptText(page)).toBe(prompt);
    await expect(page.getByTestId('rationale')).toHaveValue('the left one is kinder');
    await page.getByText('Per dimension (optional)').click();
    await page.getByTestId('dim-harmless').selectOption('a');
    await page.getByTestId('answer-a').click(); // focus leaves the form: keys vote again
    await page.keyboard.press('3');
    await expect(page.getByTestId('done')).toHaveText('1');
    await expect.poll(() => promptText(page)).not.toBe(prompt);
    await page.keyboard.press('u');
    await expect(page.getByTestId('done')).toHaveText('0');
    await expect.poll(() => promptText(page)).toBe(prompt);
    await expect(page.getByTestId('rationale')).toHaveValue('');
  });
  const second = await session(browser, annotators[1], longer);
  const third = await session(browser, annotators[2], (s, i) => ['1', '2', '1', '3'][i % 4]);
  const all = [first, second, third];

  for (const { showings } of all) {
    // 20 items, each once, plus gold and swapped repeats.
    expect(showings.length).toBeGreaterThan(20);
  }
  // A swapped repeat: one annotator saw the same item again with the sides exchanged.
  const repeats = all.flatMap(({ showings }) => {
    const seen = new Map();
    return showings.filter((s) => {
      const k = itemKey(s);
      const before = seen.get(k);
      seen.set(k, s);
      return before && before.a === s.b && before.b === s.a;
    });
  });
  expect(repeats.length).toBeGreaterThan(0);
  // Sides are drawn per showing: some item was shown in both orders across annotators.
  const lefts = new Map();
  for (const { showings } of all) {
    for (const s of showings) {
      const k = itemKey(s);
      lefts.set(k, (lefts.get(k) ?? new Set()).add(s.a));
    }
  }
  expect([...lefts.values()].some((set) => set.size === 2)).toBe(true);

  // Nothing an annotator's browser received names a model, a source, a score or gold.
  for (const { received } of all) {
    expect(received.length).toBeGreaterThan(20);
    for (const { url, body } of received) {
      for (const word of FORBIDDEN) {
        expect(body.includes(word), `${url} contains ${word}`).toBe(false);
      }
    }
  }
});

test('a reviewer reads calibration and runs the κ gate', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/ann/calibration');
  await waitForHydration(page);
  for (const a of annotators) {
    const row = page.getByTestId(`annotator-${a.name}`);
    await expect(row).toBeVisible();
    await expect(row.getByTestId('gold-accuracy')).toHaveText(/%$/);
    await expect(row.getByTestId('kappa-gold')).not.toHaveText('');
  }
  // The two annotators with the same policy agree perfectly.
  await expect(page.getByTestId('kappa-heatmap').locator('rect')).toHaveCount(9);
  await expect(page.getByTestId('kappa-heatmap')).toContainText('1.000');
  await expect(page.getByTestId('fleiss')).not.toHaveText('—');
  await expect(page.getByTestId('bars-gold').locator('rect')).toHaveCount(3);
  const repeats = await page.getByTestId('repeats').allInnerTexts();
  expect(repeats.map(Number).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  await page.getByTestId('run-gate').click();
  await expect(page.getByTestId('gate-result')).toHaveText(/^\d+ quarantined\.$/);

  // Human pairs from the page: the majority of the counted votes (quarantined ones included
  // here: the gate may have quarantined enough to leave no item decided); a second build finds
  // every pair already stored.
  await page.getByLabel('include quarantined votes').check();
  await page.getByTestId('build-human').click();
  await expect(page.getByTestId('human-result')).toHaveText(/^Decided \d+ items: \d+ new pairs, \d+ already stored \(\d+ brought up to date\); \d+ quarantined and \d+ reviewed-out votes left out\.$/);
  const first = await page.getByTestId('human-result').textContent();
  const decided = Number(first.match(/^Decided (\d+) items/)[1]);
  expect(decided).toBeGreaterThan(0);
  await page.getByTestId('build-human').click();
  await expect(page.getByTestId('human-result')).toContainText(`0 new pairs, ${decided} already stored`);
});

// The review step on the votes of the first test: filter by annotator, reject a vote (a reason
// is required), requeue another (its slot reopens), then find the rejected vote by its state.
test('a reviewer rejects and requeues votes on /review', async ({ page }) => {
  const problems = watchConsole(page);
  await login(page, admin);
  await page.goto('/projects/ann/review');
  await waitForHydration(page);
  await expect(page.getByTestId('review-counts')).toContainText('0 rejected');
  const who = annotators[0].name;
  await page.getByTestId('filter-annotator').selectOption(who);
  await page.getByTestId('filter-apply').click();
  await expect(page).toHaveURL(new RegExp(`annotator=${who}`));
  await waitForHydration(page);
  const rows = page.getByTestId('review-row');
  await expect(rows.first()).toBeVisible();
  for (const text of await rows.locator('td:nth-child(2)').allInnerTexts()) expect(text).toBe(who);

  const first = rows.first();
  const vote = await first.getAttribute('data-vote');
  await first.getByTestId('reject').click();
  await expect(page.getByRole('alert')).toContainText('reason');
  await page.getByTestId('review-reason').fill('picked without reading');
  await page.locator(`[data-vote="${vote}"]`).getByTestId('reject').click();
  await expect(page.getByTestId('review-result')).toHaveText('1 votes changed, 0 already so, 0 slots reopened.');
  const rejected = page.locator(`[data-vote="${vote}"]`);
  await expect(rejected).toHaveAttribute('data-state', 'rejected');
  await expect(rejected.getByTestId('review-state')).toContainText('picked without reading');

  const main = page.locator(`[data-testid=review-row][data-state=unreviewed]:has([data-testid=requeue]:enabled)`).first();
  const requeued = await main.getAttribute('data-vote');
  await main.getByTestId('requeue').click();
  await expect(page.getByTestId('review-result')).toHaveText('1 votes changed, 0 already so, 1 slots reopened.');
  const row = page.locator(`[data-vote="${requeued}"]`);
  await expect(row).toHaveAttribute('data-state', 'requeued');
  await expect(row.getByTestId('accept')).toBeDisabled();
  await expect(page.getByTestId('review-counts')).toContainText('1 rejected · 1 requeued');
  await page.screenshot({ path: test.info().outputPath('review.png'), fullPage: true });

  await page.goto('/projects/ann/review?state=rejected');
  await waitForHydration(page);
  await expect(page.getByTestId('review-row')).toHaveCount(1);
  await expect(page.getByTestId('review-row')).toHaveAttribute('data-vote', vote);
  // The one refusal (a rejection without a reason) is a 422 the browser logs; nothing else.
  expect(problems.filter((p) => !p.includes('422'))).toEqual([]);
});

test('hostile answers render inert as text and as Markdown', async ({ page }) => {
  const dialogs = [];
  const outbound = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.hostname !== '127.0.0.1' || url.pathname === '/x') outbound.push(r.url());
  });
  await login(page, annotators[0]);
  await page.goto('/annotate/hostile');
  await waitForHydration(page);
  await expect(page.getByTestId('content-warning')).toBeVisible();
  for (let i = 0; i < 3; i++) {
    const prompt = await page.getByTestId('prompt').innerText();
    // Text view: the markup is shown as the characters it is.
    await expect(page.getByTestId('answer-a').locator('pre')).toBeVisible();
    const text = `${await page.getByTestId('answer-a').innerText()} ${await page.getByTestId('answer-b').innerText()}`;
    expect(text).toMatch(/<img|<svg|<iframe|<script|javascript:|!\[pixel\]/);
    // Markdown view: parsed, sanitized; nothing active survives.
    await page.keyboard.press('m');
    await expect(page.getByTestId('answer-a').locator('.md')).toBeVisible();
    const answers = page.locator('.answers');
    await expect(answers.locator('script, img, svg, iframe, object, embed, math, style')).toHaveCount(0);
    for (const href of await answers.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
      expect(href ?? '').not.toMatch(/^javascript:/i);
    }
    for (const rel of await answers.locator('a[href]').evaluateAll((as) => as.map((a) => a.rel))) {
      expect(rel).toBe('noopener noreferrer');
    }
    await page.keyboard.press('m');
    await page.keyboard.press('1');
    if (i < 2) await expect.poll(() => promptText(page)).not.toBe(prompt);
  }
  await expect(page.getByTestId('queue-empty')).toBeVisible();
  await page.waitForTimeout(500);
  expect(dialogs).toEqual([]);
  expect(outbound).toEqual([]);
});

// The queue from the browser: a reviewer queues ten of the HH-RLHF pairs and makes three of them
// silent gold on /calibration, without the CLI.
test('a reviewer fills the queue and makes gold from pairs on /calibration', async ({ page }) => {
  await login(page, admin);
  await page.goto('/projects/hh/calibration');
  await waitForHydration(page);
  await page.getByTestId('fill-limit').fill('10');
  await page.getByTestId('fill-queue').click();
  await expect(page.getByTestId('fill-result')).toHaveText(
    'Queued 0 items from inconsistent judge verdicts and 10 from pairs (0 already queued; 0 red-team).');
  await page.getByTestId('gold-n').fill('3');
  await page.getByTestId('make-gold').click();
  await expect(page.getByTestId('gold-result')).toHaveText('3 items are gold now.');
  await expect(page.getByTestId('calibration-summary')).toContainText('10 (3 gold)');
});
