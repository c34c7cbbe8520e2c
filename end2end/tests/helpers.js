// Shared steps: logging in through the real form, and catching console errors.
import { expect } from '@playwright/test';

export const admin = { name: 'e2e-admin', password: process.env.E2E_ADMIN_PASSWORD };
export const annotator = { name: 'e2e-annotator', password: process.env.E2E_ANNOTATOR_PASSWORD };
// Three more annotator accounts for the blind-review test (same password).
export const annotators = [1, 2, 3].map((i) => ({ name: `e2e-ann${i}`, password: process.env.E2E_ANNOTATOR_PASSWORD }));

export async function login(page, user, next) {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
  await page.getByLabel('Username').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

// Collects console errors and failed requests; tests assert the list stays empty.
export function watchConsole(page) {
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

// The page's lazily loaded part is fetched and compiled before hydration, which can outlast a
// quiet network on a loaded machine; the app marks <html data-hydrated> once it is interactive.
export async function waitForHydration(page) {
  await page.waitForLoadState('networkidle');
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}
