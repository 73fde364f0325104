import { ACR_DEFAULT_PAGE, ACR_MAX_PAGE, keysetClause, parseAcrPage, parseAttributesPatch, parseOrderBy } from './acr-params.util';
import { attributeAssignments } from './acr-shapes';

const body = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe(parseOrderBy.name, () => {
  it('reads none, timedesc and timeasc, absent or empty as none', () => {
    expect(parseOrderBy(undefined)).toBe('none');
    expect(parseOrderBy('')).toBe('none');
    expect(parseOrderBy('timedesc')).toBe('timedesc');
    expect(parseOrderBy('TimeAsc')).toBe('timeasc');
    expect(parseOrderBy('none')).toBe('none');
  });

  it('refuses anything else with 400', () => {
    expect(() => parseOrderBy('newest')).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe(parseAcrPage.name, () => {
  it('defaults n, clamps it to the maximum and keeps last', () => {
    expect(parseAcrPage(undefined, undefined)).toEqual({ n: ACR_DEFAULT_PAGE });
    expect(parseAcrPage('5', 'b')).toEqual({ n: 5, last: 'b' });
    expect(parseAcrPage(String(ACR_MAX_PAGE + 1), undefined)).toEqual({ n: ACR_MAX_PAGE });
    expect(parseAcrPage('0', undefined)).toEqual({ n: 0 });
  });

  it('refuses a non-numeric n', () => {
    expect(() => parseAcrPage('-1', undefined)).toThrow(expect.objectContaining({ code: 'PAGINATION_NUMBER_INVALID' }));
    expect(() => parseAcrPage('ten', undefined)).toThrow(expect.objectContaining({ code: 'PAGINATION_NUMBER_INVALID' }));
  });
});

describe(parseAttributesPatch.name, () => {
  it('accepts the changeable attributes as booleans, with or without a JSON Content-Type', () => {
    expect(parseAttributesPatch(body({ writeEnabled: false, listEnabled: true }), 'application/json; charset=utf-8', false)).toEqual({
      writeEnabled: false,
      listEnabled: true,
    });
    expect(parseAttributesPatch(body({ deleteEnabled: false, readEnabled: true }), undefined, false)).toEqual({
      deleteEnabled: false,
      readEnabled: true,
    });
    expect(parseAttributesPatch(body({}), 'application/merge-patch+json', false)).toEqual({});
  });

  it('accepts the quarantine fields only where allowed', () => {
    const q = { quarantineState: 'Passed', quarantineDetails: '{"state":"scan passed"}' };
    expect(parseAttributesPatch(body(q), 'application/json', true)).toEqual(q);
    expect(() => parseAttributesPatch(body(q), 'application/json', false)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseAttributesPatch(body({ quarantineState: 'Maybe' }), undefined, true)).toThrow(
      expect.objectContaining({ status: 400, detail: { field: 'quarantineState' } }),
    );
    expect(() => parseAttributesPatch(body({ quarantineDetails: 5 }), undefined, true)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it.each([
    ['empty body', ''],
    ['invalid JSON', '{"writeEnabled":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"x"'],
    ['a wrong type', '{"writeEnabled":"false"}'],
    ['a number', '{"deleteEnabled":0}'],
    ['an unknown member', '{"writeEnabled":true,"locked":true}'],
    ['a prototype key', '{"__proto__":{"writeEnabled":false}}'],
    ['the nested ARM shape', '{"changeableAttributes":{"writeEnabled":false}}'],
  ])('refuses %s with 400', (_label, raw) => {
    expect(() => parseAttributesPatch(body(raw), 'application/json', true)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('refuses a non-JSON Content-Type with 415', () => {
    expect(() => parseAttributesPatch(body({}), 'text/plain', false)).toThrow(expect.objectContaining({ status: 415 }));
  });
});

describe(keysetClause.name, () => {
  const cols = { key: 't.name', time: 't.updated_at' };
  it('pages by key for none and by (time, key) for the time orders', () => {
    expect(keysetClause('none', cols, '$4', 'SELECT x')).toEqual({ where: '($4::text IS NULL OR t.name > $4)', orderBy: 't.name' });
    expect(keysetClause('timedesc', cols, '$4', 'SELECT x')).toEqual({
      where: '($4::text IS NULL OR (t.updated_at, t.name) < ((SELECT x), $4))',
      orderBy: 't.updated_at DESC, t.name DESC',
    });
    expect(keysetClause('timeasc', cols, '$4', 'SELECT x').orderBy).toBe('t.updated_at ASC, t.name ASC');
  });
});

describe(attributeAssignments.name, () => {
  it('maps only the given members to fixed columns, numbering parameters, and bumps updated_at', () => {
    expect(attributeAssignments({ writeEnabled: false, quarantineState: 'Passed' }, 4)).toEqual({
      sql: 'write_enabled = $4, quarantine_state = $5, updated_at = now()',
      params: [false, 'Passed'],
    });
    expect(attributeAssignments({}, 3)).toEqual({ sql: 'updated_at = now()', params: [] });
  });
});
