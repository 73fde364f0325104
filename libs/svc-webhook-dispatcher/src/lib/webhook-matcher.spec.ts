import { scopeMatches, webhookMatches, type WebhookRule } from './webhook-matcher';

describe('scopeMatches (ACR semantics)', () => {
  it.each([
    ['', 'anything', 'v1', true],
    ['', 'anything', undefined, true],
    ['foo:*', 'foo', 'v1', true],
    ['foo:*', 'foo', undefined, true],
    ['foo:*', 'foobar', 'v1', false],
    ['foo:*', 'bar/foo', 'v1', false],
    ['foo:bar', 'foo', 'bar', true],
    ['foo:bar', 'foo', 'baz', false],
    ['foo:bar', 'foo', undefined, false],
    ['foo', 'foo', 'latest', true],
    ['foo', 'foo', 'v1', false],
    ['foo', 'foo', undefined, false],
    ['team/*:*', 'team/app', 'v1', true],
    ['team/*:*', 'team/a/b', 'v1', true],
    ['team/*:*', 'other/app', 'v1', false],
    ['*:v*', 'x', 'v2', true],
    ['*:v*', 'x', 'latest', false],
    ['a.b:1.0', 'aXb', '1.0', false],
  ])('scope %j, repository %s, tag %s → %s', (scope, repo, tag, expected) => {
    expect(scopeMatches(scope, repo, tag)).toBe(expected);
  });
});

describe('webhookMatches', () => {
  const base: WebhookRule = { status: 'enabled', actions: ['push'], scope: '', location: 'eastus' };
  const push = { action: 'push', repository: 'hello', tag: 'v1' };

  it('matches an enabled webhook subscribed to the action', () => {
    expect(webhookMatches(base, push, 'eastus')).toBe(true);
  });
  it('skips disabled webhooks and other actions', () => {
    expect(webhookMatches({ ...base, status: 'disabled' }, push, 'eastus')).toBe(false);
    expect(webhookMatches(base, { ...push, action: 'delete' }, 'eastus')).toBe(false);
    expect(
      webhookMatches(
        { ...base, actions: ['delete', 'chart_push'] },
        { action: 'chart_push', repository: 'c', tag: 'x.tgz' },
        'eastus',
      ),
    ).toBe(true);
  });
  it('applies the scope', () => {
    expect(webhookMatches({ ...base, scope: 'hello:*' }, push, 'eastus')).toBe(true);
    expect(webhookMatches({ ...base, scope: 'other:*' }, push, 'eastus')).toBe(false);
  });
  it('matches the home region to webhooks located there or nowhere, not to replica-region webhooks', () => {
    expect(webhookMatches({ ...base, location: 'EastUS' }, push, 'eastus')).toBe(true);
    expect(webhookMatches({ ...base, location: '' }, push, 'eastus')).toBe(true);
    expect(webhookMatches({ ...base, location: 'westeurope' }, push, 'eastus')).toBe(false);
    expect(webhookMatches({ ...base, location: 'westeurope' }, { ...push, region: 'westeurope' }, 'eastus')).toBe(true);
    expect(webhookMatches({ ...base, location: '' }, { ...push, region: 'westeurope' }, 'eastus')).toBe(false);
  });
});
