// A vote whose request or whose answer is lost on the network is sent again by the page, with the
// same showing: nothing is lost and nothing is counted twice (the server's votes are idempotent
// per showing).
import { test, expect } from '@playwright/test';
import { annotator, login, waitForHydration } from './helpers.js';

test('votes lost on the way or on the way back are retried and stored once', async ({ page }) => {
  await login(page, annotator);
  await page.goto('/annotate/drop');
  await waitForHydration(page);
  await expect(page.getByTestId('prompt')).toBeVisible();
  let calls = 0;
  await page.route('**/api/annotate/vote', async (route) => {
    calls += 1;
    if (calls === 1) {
      // The first vote never reaches the server.
      await route.abort('connectionreset');
    } else if (calls === 3) {
      // The second vote is stored, but its answer never reaches the page.
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  const first = await page.getByTestId('prompt').innerText();
  await page.keyboard.press('1');
  await expect.poll(() => page.getByTestId('prompt').innerText()).not.toBe(first);
  await expect.poll(() => calls, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('vote-retrying')).toHaveCount(0, { timeout: 15_000 });
  await page.keyboard.press('2');
  await expect.poll(() => calls, { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
  await expect(page.getByTestId('vote-retrying')).toHaveCount(0, { timeout: 15_000 });
  await page.unroute('**/api/annotate/vote');
  // What the server stored: two votes, not one and not three.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('done')).toHaveText('2');
});
