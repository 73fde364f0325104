import { matchRoute, pattern } from './arm-route.util';

describe(matchRoute.name, () => {
  const routes = [
    pattern('rg', 'subscriptions/{sub}/resourcegroups/{rg}'),
    pattern(
      'reg',
      'subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{registry}',
    ),
  ];

  it('matches literal segments case-insensitively and keeps parameters as sent', () => {
    expect(matchRoute(routes, '/subscriptions/S1/resourceGroups/My.RG')).toEqual({
      key: 'rg',
      params: { sub: 'S1', rg: 'My.RG' },
    });
    expect(
      matchRoute(routes, '/SUBSCRIPTIONS/s/RESOURCEGROUPS/g/providers/microsoft.containerregistry/REGISTRIES/MyReg'),
    ).toEqual({ key: 'reg', params: { sub: 's', rg: 'g', registry: 'MyReg' } });
  });

  it('decodes parameters and refuses unknown shapes', () => {
    expect(matchRoute(routes, '/subscriptions/s/resourcegroups/a%28b%29')?.params['rg']).toBe('a(b)');
    expect(matchRoute(routes, '/subscriptions/s/resourcegroups')).toBeUndefined();
    expect(matchRoute(routes, '/subscriptions/s/resourcegroups/%E0%A4%A')).toBeUndefined();
  });
});
