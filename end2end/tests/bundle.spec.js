// The browser bundle is split by route (app::lazy_parts!): a page loads the main module and the
// chunks of its own part, nothing of the other parts, and hydrates; a client-side navigation to
// a page of another part fetches that part's chunks then.
import { test, expect } from '@playwright/test';
import { admin, annotator, login, waitForHydration, watchConsole } from './helpers.js';

// The wasm files a page requests, by file name.
function wasmRequests(page) {
  const files = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.endsWith('.wasm')) files.push(path.split('/').pop());
  });
  return files;
}

// The chunks of one part, from the split manifest the build wrote (`{ "<part>_<hash>": [stems] }`).
async function partChunks(page, part) {
  const manifest = await (await page.request.get('/pkg/__wasm_split_manifest.json')).json();
  const keys = Object.keys(manifest).filter((k) => k.startsWith(`${part}_`));
  expect(keys).toHaveLength(1);
  return manifest[keys[0]].map((stem) => `${stem}.wasm`);
}

test('an annotator loads the main module and the annotate part only, and the page is interactive', async ({ page }) => {
  const problems = watchConsole(page);
  await login(page, annotator);
  const files = wasmRequests(page);
  await page.goto('/annotate/drop');
  await waitForHydration(page);
  await expect(page.locator('head meta[name="pairwise-part"]')).toHaveAttribute('content', 'annotate_part');
  const chunks = await partChunks(page, 'annotate_part');
  expect(chunks.length).toBeGreaterThan(0);
  // Every chunk of the part (the main module may come from the cache of the sign-in page's load).
  for (const chunk of chunks) expect(files).toContain(chunk);
  for (const file of files) expect(['pairwise_bg.wasm', ...chunks]).toContain(file);
  // Hydrated: the keyboard switches the answers to the Markdown view and back.
  await expect(page.getByTestId('answer-a').locator('pre')).toBeVisible();
  await page.keyboard.press('m');
  await expect(page.getByTestId('answer-a').locator('.md')).toBeVisible();
  await page.keyboard.press('m');
  await expect(page.getByTestId('answer-a').locator('pre')).toBeVisible();
  expect(problems).toEqual([]);
});

test('a client-side navigation to another part loads its chunks', async ({ page }) => {
  const problems = watchConsole(page);
  await login(page, admin);
  await page.goto('/projects');
  await waitForHydration(page);
  const adminChunks = await partChunks(page, 'admin_part');
  const files = wasmRequests(page);
  await page.getByRole('link', { name: 'Models', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Models', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/models$/);
  // Only the admin part's chunks not already loaded with the projects part are fetched.
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) expect(adminChunks).toContain(file);
  await expect(page.locator('head meta[name="pairwise-part"]')).toHaveAttribute('content', 'admin_part');
  expect(problems).toEqual([]);
});

// A link clicked before the page hydrated is an ordinary navigation: the next page must still
// carry a CSP that allows its own inline scripts (their nonce), or it never hydrates. Lazily
// loaded routes once lost the header set during the render on such responses.
test('a link clicked before hydration leads to a page that hydrates, with its nonce in its CSP', async ({ page }) => {
  const problems = watchConsole(page);
  await login(page, annotator);
  // The document now shown (after a client-side navigation, the one it started from).
  let shown;
  page.on('response', (r) => { if (r.request().resourceType() === 'document' && r.status() === 200) shown = r; });
  for (let i = 0; i < 3; i++) {
    await page.goto('/annotate');
    await page.getByRole('link', { name: 'drop', exact: true }).click();
    await expect(page).toHaveURL(/\/annotate\/drop$/);
    await waitForHydration(page);
    const csp = (await shown.allHeaders())['content-security-policy'];
    const nonce = await page.evaluate(() => [...document.scripts].map((s) => s.nonce).find(Boolean));
    expect(nonce).toBeTruthy();
    expect(csp).toContain(`'nonce-${nonce}'`);
  }
  expect(problems).toEqual([]);
});
