// With JavaScript disabled: the server-rendered pages and plain forms still work.
import { test, expect } from '@playwright/test';
import { admin, login } from './helpers.js';

test('login, projects and prompts render without JavaScript', async ({ page }) => {
  await login(page, admin, '/projects');
  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();
  await page.goto('/projects/xstest/prompts?offset=400');
  await expect(page.getByTestId('page-summary')).toHaveText('401–450 of 450');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});
