import { checkApiVersion, REGISTRY_API_VERSIONS } from './api-version.util';
import { ArmError } from './arm-error';
import { TAGS, arr, bool, int, obj, parseBody, readonly, str } from './body-shape.util';

const SHAPE = obj(
  {
    id: readonly,
    location: str({ minLength: 1 }),
    tags: TAGS,
    properties: obj({
      enabled: bool,
      mode: str({ enum: ['NoForce', 'Force'] }),
      days: int(0, 365),
      list: arr(str(), 2),
    }),
  },
  ['location'],
);

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (e) {
    return e instanceof ArmError ? `${e.status} ${e.code} ${e.target ?? ''}`.trim() : 'not an ArmError';
  }
  return undefined;
}

describe(parseBody.name, () => {
  it('keeps known properties, drops read-only ones and canonicalises enums and property names', () => {
    expect(
      parseBody(SHAPE, { id: 'x', Location: 'eastus', properties: { mode: 'force', enabled: true, days: null } }),
    ).toEqual({
      location: 'eastus',
      properties: { mode: 'Force', enabled: true },
    });
  });

  it.each([
    ['a missing body', undefined, '400 InvalidRequestContent'],
    ['a non-object', [], '400 InvalidRequestContent'],
    ['a missing required property', { tags: {} }, '400 InvalidRequestContent location'],
    ['an unknown property', { location: 'x', colour: 1 }, '400 InvalidRequestContent colour'],
    [
      'an unknown nested property',
      { location: 'x', properties: { nope: 1 } },
      '400 InvalidRequestContent properties.nope',
    ],
    ['a wrong type', { location: 'x', properties: { enabled: 'yes' } }, '400 InvalidRequestContent properties.enabled'],
    [
      'an enum value outside the set',
      { location: 'x', properties: { mode: 'Sometimes' } },
      '400 InvalidRequestContent properties.mode',
    ],
    [
      'an integer out of range',
      { location: 'x', properties: { days: 400 } },
      '400 InvalidRequestContent properties.days',
    ],
    [
      'too many items',
      { location: 'x', properties: { list: ['a', 'b', 'c'] } },
      '400 InvalidRequestContent properties.list',
    ],
    ['a non-string tag', { location: 'x', tags: { a: 1 } }, '400 InvalidRequestContent tags.a'],
  ])('refuses %s', (_what, body, expected) => {
    expect(codeOf(() => parseBody(SHAPE, body))).toBe(expected);
  });
});

describe(checkApiVersion.name, () => {
  it('accepts the served range, and any well-formed version without a range', () => {
    expect(checkApiVersion('2023-07-01', 'registries', REGISTRY_API_VERSIONS)).toBe('2023-07-01');
    expect(checkApiVersion('2025-11-01', 'registries', REGISTRY_API_VERSIONS)).toBe('2025-11-01');
    expect(checkApiVersion('2024-11-01-preview', 'registries', REGISTRY_API_VERSIONS)).toBe('2024-11-01-preview');
    expect(checkApiVersion('2019-05-01', 'resourceGroups', null)).toBe('2019-05-01');
  });

  it.each([
    [undefined, '400 MissingApiVersionParameter'],
    ['', '400 MissingApiVersionParameter'],
    ['latest', '400 InvalidApiVersionParameter'],
    ['2023-13-45', '400 InvalidApiVersionParameter'],
    ['2023-06-30', '400 NoRegisteredProviderFound'],
    ['2025-11-02', '400 NoRegisteredProviderFound'],
  ])('refuses %s', (value, expected) => {
    expect(codeOf(() => checkApiVersion(value, 'registries', REGISTRY_API_VERSIONS))).toBe(expected);
  });
});
