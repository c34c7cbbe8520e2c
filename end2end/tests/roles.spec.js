// Role checks as a browser sees them: annotators get 403 pages on admin pages.
import { test, expect } from '@playwright/test';
import { annotator, login } from './helpers.js';

test('an annotator gets a 403 page on admin and reviewer pages', async ({ page }) => {
  await login(page, annotator);
  for (const path of ['/users', '/projects']) {
    const response = await page.goto(path);
    expect(response.status()).toBe(403);
    await expect(page.getByTestId('forbidden')).toBeVisible();
  }
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
});

test('pages carry an enforcing CSP and nosniff', async ({ page }) => {
  const response = await page.goto('/login');
  const headers = response.headers();
  expect(headers['content-security-policy']).toContain("script-src 'self' 'nonce-");
  expect(headers['content-security-policy-report-only']).toBeUndefined();
  expect(headers['x-content-type-options']).toBe('nosniff');
});
