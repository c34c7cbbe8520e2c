// An admin's day: log in, create a project, import XSTest, see 450 prompts, use an interactive
// control without reloading, log out.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { admin, login, watchConsole, waitForHydration } from './helpers.js';

const xstest = path.resolve(process.cwd(), '../../shared/data/xstest/xstest_prompts.csv');

test('admin creates a project, imports XSTest and sees 450 prompts', async ({ page }) => {
  const problems = watchConsole(page);
  await login(page, admin);
  await expect(page.getByTestId('home-title')).toHaveText('Welcome, e2e-admin');

  await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel('Name').fill('xstest');
  await page.getByLabel('Description').fill('Over-refusal prompts');
  await page.getByTestId('create-project').click();
  await expect(page.getByText('Project xstest created.')).toBeVisible();
  // The list refreshed in place (server action + resource), no reload.
  await page.getByRole('link', { name: 'xstest' }).click();

  await expect(page.getByRole('heading', { name: 'xstest · prompts' })).toBeVisible();
  await page.getByText('Import prompts').click();
  await page.getByTestId('import-file').setInputFiles(xstest);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-ok')).toHaveText('Imported 450 new prompts (0 duplicates skipped).');
  await expect(page.getByTestId('prompt-count')).toHaveText('450 prompts');
  await expect(page.getByTestId('page-summary')).toHaveText('1–50 of 450');

  // Hydration: the details toggle is client-side only; the URL must not change and no request
  // is needed.
  await waitForHydration(page);
  const url = page.url();
  await page.getByTestId('toggle-details').first().click();
  await expect(page.getByTestId('prompt-details').first()).toContainText('"type"');
  expect(page.url()).toBe(url);

  await page.getByTestId('next-page').click();
  await expect(page.getByTestId('page-summary')).toHaveText('51–100 of 450');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.goto('/projects');
  await expect(page).toHaveURL(/\/login\?next=%2Fprojects/);
  expect(problems).toEqual([]);
});

test('a bad import line stores nothing and names the line', async ({ page }, testInfo) => {
  await login(page, admin);
  await page.goto('/projects/xstest/prompts');
  const bad = testInfo.outputPath('bad.jsonl');
  const fs = await import('node:fs');
  fs.writeFileSync(bad, '{"prompt":"fine"}\n{"prompt":"also fine"}\n{"prompt": 3}\n');
  await page.getByText('Import prompts').click();
  await page.getByTestId('import-file').setInputFiles(bad);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-error')).toContainText('line 3: field `prompt`');
  await expect(page.getByTestId('prompt-count')).toHaveText('450 prompts');
});

test('wrong passwords and default guesses do not log in', async ({ page }) => {
  for (const [name, password] of [['e2e-admin', 'wrong-password'], ['admin', 'admin']]) {
    await page.goto('/login');
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('login-error')).toBeVisible();
  }
});

test('user-editable text cannot break out of the page', async ({ page }) => {
  let dialog = false;
  page.on('dialog', async (d) => { dialog = true; await d.dismiss(); });
  await login(page, admin);
  await page.goto('/projects');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('xss');
  await page.getByLabel('Description').fill('</script><script>alert(1)</script><img src=x onerror=alert(2)>');
  await page.getByTestId('create-project').click();
  await expect(page.getByText('Project xss created.')).toBeVisible();
  await page.reload();
  await expect(page.getByRole('cell', { name: '</script><script>alert(1)</script>' })).toBeVisible();
  expect(dialog).toBe(false);
});
